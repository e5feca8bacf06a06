"""Llavero's SD-JWT VCs and presentations verified by the SD-JWT reference implementation
(PyPI `sd-jwt`): python theirs_verify.py CASEDIR"""

import json
import sys
from pathlib import Path

from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier


def check(case: dict) -> None:
    issuer_key = JWK.from_json(json.dumps(case["issuer_jwk"]))

    def issuer_key_for(issuer, header):
        if issuer != case["issuer"]:
            raise ValueError(f"unknown issuer {issuer}")
        return issuer_key

    verifier = SDJWTVerifier(
        case["credential"], issuer_key_for, case.get("aud"), case.get("nonce"),
    )
    claims = verifier.get_verified_payload()
    if claims != case["expected_claims"]:
        raise ValueError(f"claims differ:\n theirs {claims}\n ours   {case['expected_claims']}")


def main(directory: Path) -> int:
    passed = failed = 0
    for path in sorted(directory.glob("*.json")):
        case = json.loads(path.read_text())
        if case["format"] != "dc+sd-jwt" or "expect_error" in case:
            continue  # the reference implementation checks no status lists
        try:
            check(case)
            print(f"ok   python {case['name']}")
            passed += 1
        except Exception as e:  # any failure of the independent verifier is a finding
            print(f"FAIL python {case['name']}: {e}")
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
