"""A world for the binding tests, built with the `llavero` CLI: a trust anchor, the civil
registry as issuer, signed status lists (index 7 revoked), the offline bundle, and a holder
whose key lives in Python (`cryptography`), standing in for a phone's keystore."""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

import llavero_mobile as lm

ISSUER = "https://registro.llavero.cl"
BIRTH = "https://llavero.cl/vct/birth-certificate"
STATUS = "https://registro.llavero.cl/status/1"


def b64u(n: int) -> str:
    import base64

    return base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()


class KeystoreSigner(lm.HolderSigner):
    """A `HolderSigner` over a P-256 key held by `cryptography`, returning DER signatures as
    Android Keystore and the Secure Enclave do."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.key.public_key().public_numbers()
        self.jwk = {"kty": "EC", "crv": "P-256", "x": b64u(numbers.x), "y": b64u(numbers.y)}
        self.calls = 0

    def public_jwk(self) -> str:
        return json.dumps(self.jwk)

    def sign(self, message: bytes) -> bytes:
        self.calls += 1
        return self.key.sign(message, ec.ECDSA(hashes.SHA256()))


class World:
    def __init__(self, directory: Path):
        self.dir = directory
        self.bin = os.environ["LLAVERO_BIN"]
        self.now = int(time.time())
        for name in ("anchor", "issuer"):
            public = self.run("keys", "generate", "--out", f"{name}.jwk", "--kid", f"{name}-1")
            (directory / f"{name}.pub.jwk").write_text(public)
        self.anchor = (directory / "anchor.pub.jwk").read_text()
        self.issuer_jwk = json.loads((directory / "issuer.pub.jwk").read_text())
        self.holder = KeystoreSigner()
        (directory / "holder.pub.jwk").write_text(self.holder.public_jwk())
        (directory / "issuers.json").write_text(json.dumps([{
            "id": ISSUER, "name": "Registro Civil", "key_files": ["issuer.pub.jwk"],
            "credential_types": [BIRTH, "IdentityCardCredential"],
        }]))
        self.run("trust-list", "build", "--issuers", "issuers.json", "--anchor-key", "anchor.jwk",
                 "--out", "trust-list.jwt")
        self.status_list = self.run("status-list", "build", "--uri", STATUS, "--issuer", ISSUER,
                                    "--key", "issuer.jwk", "--size", "1024", "--revoked", "7",
                                    "--suspended", "8")
        (directory / "status.jwt").write_text(self.status_list)
        self.bundle = self.run("bundle", "build", "--trust-list", "trust-list.jwt",
                               "--status-list", "status.jwt")
        (directory / "claims.json").write_text(json.dumps({
            "given_name": "Ana María", "family_name": "Rojas", "birthdate": "1990-05-01",
            "birth_place": "Valparaíso", "run": "12.345.678-5"}))
        self.sd_jwt_vc = self.issue(3)
        self.revoked = self.issue(7)
        self.suspended = self.issue(8)
        self.vc_jwt = self.run("credential", "issue", "--format", "vc-jwt", "--type", "IdentityCardCredential",
                               "--issuer", ISSUER, "--key", "issuer.jwk", "--claims", "claims.json",
                               "--holder-key", "holder.pub.jwk")

    def run(self, *args: str) -> str:
        return subprocess.run([self.bin, *args], cwd=self.dir, check=True, capture_output=True,
                              text=True).stdout.strip()

    def issue(self, index: int) -> str:
        return self.run("credential", "issue", "--type", BIRTH, "--issuer", ISSUER, "--key", "issuer.jwk",
                        "--claims", "claims.json", "--holder-key", "holder.pub.jwk",
                        "--status-uri", STATUS, "--status-index", str(index))

    def verifier(self) -> "lm.OfflineVerifier":
        return lm.OfflineVerifier(self.bundle, [self.anchor], self.now)


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> World:
    return World(tmp_path_factory.mktemp("world"))
