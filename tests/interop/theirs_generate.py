"""Credentials issued by the SD-JWT reference implementation (PyPI `sd-jwt`, its
`sd-jwt-generate`) over the shared language-neutral test cases, written as case files for
Llavero's verifier.

    python theirs_generate.py VECTORS_DIR OUTDIR
"""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml


def main(vectors: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    settings = yaml.safe_load((vectors / "rfc9901-examples" / "settings.yml").read_text())
    keys = settings["key_settings"]
    # This release of sd-jwt-generate reads one `issuer_key`; the shared file lists `issuer_keys`.
    keys["issuer_key"] = keys["issuer_keys"][0]
    issuer_public = {k: v for k, v in keys["issuer_key"].items() if k != "d"}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cases = sorted(p.parent for p in (vectors / "sd-jwt-python-testcases").glob("*/specification.yml"))
        for case in cases:
            shutil.copytree(case, work / case.name)
        (work / "settings.yml").write_text(yaml.safe_dump(settings))
        subprocess.run(
            [str(Path(sys.executable).parent / "sd-jwt-generate"), "testcase"],
            cwd=work, check=True, stdout=subprocess.DEVNULL,
        )
        written = 0
        for case in cases:
            generated = work / case.name
            presentation = next(generated.glob("sd_jwt_presentation.*"))
            text = presentation.read_text()
            if presentation.suffix == ".json":
                # The generator writes the JSON serialization as a JSON string holding the JSON.
                decoded = json.loads(text)
                text = decoded if isinstance(decoded, str) else json.dumps(decoded)
            kb = (generated / "kb_jwt_payload.json").exists()
            record = {
                "name": f"python-{case.name}",
                "format": "sd-jwt",
                "serialization": "json" if presentation.suffix == ".json" else "compact",
                "credential": text if presentation.suffix == ".json" else "".join(text.split()),
                "issuer": settings["identifiers"]["issuer"],
                "issuer_jwk": issuer_public,
                "expected_claims": json.loads((generated / "verified_contents.json").read_text()),
                "now": settings["iat"] + 10,
                "expect": "valid",
            }
            if kb and presentation.suffix == ".json":
                # sd-jwt 0.10.4 hashes its whole JSON document into sd_hash (and its own
                # verifier skips the check), not the compact equivalent RFC 9901 §8.1 defines:
                # the issuer signature and disclosures are checked, the KB-JWT is not required.
                record["note"] = "KB-JWT sd_hash of this release is not RFC 9901 §8.1; not required"
            elif kb:
                record["aud"] = settings["identifiers"]["verifier"]
                record["nonce"] = settings["key_binding_nonce"]
                kb_payload = json.loads((generated / "kb_jwt_payload.json").read_text())
                record["now"] = kb_payload["iat"]
            (out / f"{record['name']}.json").write_text(json.dumps(record, indent=2))
            written += 1
    print(f"wrote {written} cases to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
