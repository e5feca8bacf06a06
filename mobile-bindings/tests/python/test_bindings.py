"""Llavero's verifier and holder through the generated Python bindings, the way a phone app
uses them."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

import llavero_mobile as lm
from conftest import BIRTH, ISSUER, STATUS

AUD = "https://rp.example"


def test_valid_sd_jwt_vc_and_vc_jwt_verify_from_the_bundle(world):
    verifier = world.verifier()
    result = verifier.verify(world.sd_jwt_vc, world.now)
    assert result.format() == "dc+sd-jwt" and result.credential_count() == 1
    credential = result.credentials()[0]
    assert credential.issuer == ISSUER and credential.issuer_name == "Registro Civil"
    assert credential.credential_type == BIRTH
    assert json.loads(credential.claims_json)["given_name"] == "Ana María"
    assert credential.status == "valid"
    assert json.loads(result.claims_json(0)) == json.loads(credential.claims_json)
    assert result.claims_json(1) is None and result.warnings() == []
    vc = verifier.verify(world.vc_jwt, world.now)
    assert vc.format() == "vc+jwt" and vc.credentials()[0].credential_type == "IdentityCardCredential"


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda w: w.revoked, lm.VerifyError.Revoked),
        (lambda w: w.suspended, lm.VerifyError.Suspended),
        (lambda w: w.sd_jwt_vc.replace("~", "~WyJzYWx0IiwibmFtZSIsInZhbHVlIl0~", 1), lm.VerifyError.DigestMismatch),
        (lambda w: "not a credential", lm.VerifyError.Malformed),
        (lambda w: "x" * 70_000, lm.VerifyError.TooLarge),
    ],
)
def test_each_rejection_is_a_typed_error(world, make, error):
    with pytest.raises(error):
        world.verifier().verify(make(world), world.now)


def test_verify_bytes_takes_the_credential_as_utf8_bytes(world):
    verifier = world.verifier()
    result = verifier.verify_bytes(world.sd_jwt_vc.encode(), world.now)
    assert result.format() == "dc+sd-jwt"
    assert json.loads(result.claims_json(0))["given_name"] == "Ana María"
    assert verifier.verify_bytes(world.vc_jwt.encode(), world.now).format() == "vc+jwt"
    with pytest.raises(lm.VerifyError.Revoked):
        verifier.verify_bytes(world.revoked.encode(), world.now)
    tampered = world.sd_jwt_vc.replace("~", "~WyJzYWx0IiwibmFtZSIsInZhbHVlIl0~", 1)
    with pytest.raises(lm.VerifyError.DigestMismatch):
        verifier.verify_bytes(tampered.encode(), world.now)
    # Not UTF-8 (a Latin-1 "ñ", a lone continuation byte): the typed error for malformed input.
    for bad in (world.sd_jwt_vc.encode()[:40] + b"\xf1" + world.sd_jwt_vc.encode()[40:], b"\x80", b""):
        with pytest.raises(lm.VerifyError.Malformed):
            verifier.verify_bytes(bad, world.now)
    with pytest.raises(TypeError):
        verifier.verify_bytes(world.sd_jwt_vc, world.now)


def test_request_verify_bytes_checks_key_binding_as_verify_does(world):
    presentation = lm.create_presentation(world.sd_jwt_vc, ["given_name"], AUD, "n-b", world.now, world.holder)
    request = world.verifier().presentation_request(AUD, "n-b")
    result = request.verify_bytes(presentation.encode(), world.now)
    assert result.credentials()[0].key_binding_verified
    with pytest.raises(lm.VerifyError.WrongNonce):
        world.verifier().presentation_request(AUD, "n-c").verify_bytes(presentation.encode(), world.now)
    revoked = lm.create_presentation(world.revoked, ["given_name"], AUD, "n-b", world.now, world.holder)
    with pytest.raises(lm.VerifyError.Revoked):
        request.verify_bytes(revoked.encode(), world.now)
    with pytest.raises(lm.VerifyError.Malformed):
        request.verify_bytes(presentation.encode().replace(b"~", b"~\xff", 1), world.now)


def test_expired_and_missing_key_binding(world):
    with pytest.raises(lm.VerifyError.Expired):
        world.verifier().verify(world.sd_jwt_vc, world.now + 400 * 86400)
    with pytest.raises(lm.VerifyError.MissingKeyBinding):
        world.verifier().presentation_request(AUD, "n-1").verify(world.sd_jwt_vc, world.now)


def test_bundle_signed_by_another_anchor_is_refused(world):
    other = json.dumps({"kty": "EC", "crv": "P-256", "kid": "anchor-1", **json.loads(world.holder.public_jwk())})
    with pytest.raises(lm.BundleError.Invalid):
        lm.OfflineVerifier(world.bundle, [other], world.now)


def test_bundle_freshness(world):
    fresh = world.verifier().freshness(world.now)
    assert fresh.age_seconds < 600 and fresh.stale_lists == [] and fresh.skipped_lists == []
    later = world.verifier().freshness(world.now + 7200)
    assert later.stale_lists == [STATUS]


def test_presentation_signed_by_a_python_keystore_verifies_and_binds(world):
    presentation = lm.create_presentation(world.sd_jwt_vc, ["given_name", '["birthdate"]'], AUD, "n-42",
                                          world.now, world.holder)
    result = world.verifier().presentation_request(AUD, "n-42").verify(presentation, world.now)
    claims = json.loads(result.claims_json(0))
    assert claims["given_name"] == "Ana María" and claims["birthdate"] == "1990-05-01"
    assert "family_name" not in claims and "run" not in claims
    assert result.credentials()[0].key_binding_verified
    with pytest.raises(lm.VerifyError.WrongNonce):
        world.verifier().presentation_request(AUD, "n-43").verify(presentation, world.now)
    with pytest.raises(lm.VerifyError.WrongAudience):
        world.verifier().presentation_request("https://other.example", "n-42").verify(presentation, world.now)
    world.presentation = presentation


def test_presentation_verifies_with_npm_sd_jwt_vc(world, tmp_path):
    if not hasattr(world, "presentation"):
        test_presentation_signed_by_a_python_keystore_verifies_and_binds(world)
    interop = Path(os.environ["LLAVERO_INTEROP_DIR"])
    view = world.verifier().presentation_request(AUD, "n-42").verify(world.presentation, world.now)
    ours = json.loads(view.claims_json(0))
    base = {"issuer": ISSUER, "issuer_jwk": world.issuer_jwk}
    (tmp_path / "presentation.json").write_text(json.dumps({
        **base, "name": "python-signer-presentation", "format": "dc+sd-jwt", "credential": world.presentation,
        "aud": AUD, "nonce": "n-42", "expected_claims": ours}))
    (tmp_path / "status.json").write_text(json.dumps({
        **base, "name": "status-list", "format": "statuslist+jwt", "credential": world.status_list,
        "uri": STATUS, "expected_statuses": {"3": 0, "7": 1, "8": 2}}))
    out = subprocess.run(["node", str(interop / "theirs_verify.mjs"), str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed, 0 failed" in out.stdout


def test_vc_jwt_presentation_with_the_python_signer(world):
    vp = lm.create_presentation(world.vc_jwt, [], AUD, "n-7", world.now, world.holder)
    result = world.verifier().presentation_request(AUD, "n-7").verify(vp, world.now)
    assert result.format() == "vp+jwt" and result.credentials()[0].key_binding_verified


def test_proof_jwt_verifies_with_cryptography(world):
    import base64

    jwt = lm.create_proof_jwt(ISSUER, "c-nonce-1", world.now, None, world.holder)
    header_b64, payload_b64, sig_b64 = jwt.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    header = json.loads(base64.urlsafe_b64decode(pad(header_b64)))
    payload = json.loads(base64.urlsafe_b64decode(pad(payload_b64)))
    assert header["typ"] == "openid4vci-proof+jwt" and header["alg"] == "ES256"
    assert header["jwk"]["x"] == world.holder.jwk["x"] and "d" not in header["jwk"]
    assert payload == {"aud": ISSUER, "iat": world.now, "nonce": "c-nonce-1"}
    raw = base64.urlsafe_b64decode(pad(sig_b64))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    world.holder.key.public_key().verify(der, f"{header_b64}.{payload_b64}".encode(), ec.ECDSA(hashes.SHA256()))


class FailingSigner(lm.HolderSigner):
    def __init__(self, jwk, mode):
        self.jwk, self.mode = jwk, mode

    def public_jwk(self):
        return self.jwk

    def sign(self, message):
        if self.mode == "refuse":
            raise lm.SignerError.Failed("user cancelled")
        return b"\x01" * 64


@pytest.mark.parametrize("mode", ["refuse", "garbage"])
def test_signer_failures_are_typed_errors(world, mode):
    with pytest.raises(lm.HolderError.Signing):
        lm.create_presentation(world.sd_jwt_vc, ["given_name"], AUD, "n", world.now,
                               FailingSigner(world.holder.public_jwk(), mode))


def test_a_rust_panic_is_an_exception_not_a_crash():
    with pytest.raises(lm.VerifyError.Internal):
        lm.diagnostics_contained_panic()


def test_describe_credential_with_display_names(world):
    held = lm.describe_credential(world.sd_jwt_vc)
    assert held.format == "dc+sd-jwt" and held.credential_type == BIRTH and held.issuer == ISSUER
    assert held.name_es == "Certificado de nacimiento" and held.name_en == "Birth certificate"
    labels = {c.path: (c.label_es, c.selectively_disclosable) for c in held.claims}
    assert labels['["given_name"]'] == ("Nombres", True)
    assert held.valid_until > held.valid_from
    vc = lm.describe_credential(world.vc_jwt)
    assert vc.format == "vc+jwt" and vc.credential_type == "IdentityCardCredential"
    with pytest.raises(lm.CredentialError.Malformed):
        lm.describe_credential("garbage")


def test_parse_credential_offer():
    offer = {"credential_issuer": ISSUER, "credential_configuration_ids": ["birth_certificate_sd_jwt"],
             "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code": {
                 "pre-authorized_code": "abc", "tx_code": {"length": 6, "input_mode": "numeric"}}}}
    from urllib.parse import quote

    parsed = lm.parse_credential_offer("openid-credential-offer://?credential_offer=" + quote(json.dumps(offer)))
    assert parsed.credential_issuer == ISSUER and parsed.pre_authorized_code == "abc"
    assert parsed.tx_code.length == 6 and parsed.tx_code.input_mode == "numeric"
    by_ref = lm.parse_credential_offer("openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fx.example%2Fo%2F1")
    assert by_ref.offer_uri == "https://x.example/o/1" and by_ref.credential_issuer is None
    with pytest.raises(lm.HolderError.Malformed):
        lm.parse_credential_offer("openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fx")


def test_dcql_query_is_answered_and_presented(world):
    query = json.dumps({"credentials": [{
        "id": "birth", "format": "dc+sd-jwt", "meta": {"vct_values": [BIRTH]},
        "claims": [{"path": ["given_name"]}, {"path": ["birthdate"]}],
    }]})
    matches = lm.match_dcql_query(query, [world.vc_jwt, world.sd_jwt_vc])
    assert [(m.query_id, m.credential_index) for m in matches] == [("birth", 1)]
    assert matches[0].disclose == ['["given_name"]', '["birthdate"]']
    presentation = lm.create_presentation(world.sd_jwt_vc, matches[0].disclose, AUD, "n-dcql", world.now, world.holder)
    claims = json.loads(world.verifier().presentation_request(AUD, "n-dcql").verify(presentation, world.now).claims_json(0))
    assert claims["given_name"] == "Ana María" and "family_name" not in claims
    unanswerable = json.dumps({"credentials": [{"id": "x", "format": "dc+sd-jwt", "meta": {"vct_values": ["https://other"]}}]})
    with pytest.raises(lm.HolderError.NotAnswerable):
        lm.match_dcql_query(unanswerable, [world.sd_jwt_vc])
    with pytest.raises(lm.HolderError.Malformed):
        lm.match_dcql_query('{"credentials": []}', [world.sd_jwt_vc])


def kinds(batch):
    """Each item's outcome in a batch: "ok" or the rejection's class."""
    outcomes = [batch.outcome(i) for i in range(batch.len())]
    return [type(o.reason) if o.is_rejected() else "ok" for o in outcomes]


def test_verify_batch_gives_each_credential_its_own_outcome(world):
    tampered = world.sd_jwt_vc.replace("~", "~WyJzYWx0IiwibmFtZSIsInZhbHVlIl0~", 1).encode()
    latin1 = world.sd_jwt_vc.encode()[:40] + b"\xf1" + world.sd_jwt_vc.encode()[41:]
    items = [world.sd_jwt_vc.encode(), world.revoked.encode(), tampered, latin1, b"", world.vc_jwt.encode()]
    batch = world.verifier().verify_batch(b"\n".join(items), world.now)
    assert batch.len() == 6 and not batch.is_empty()
    assert kinds(batch) == ["ok", lm.VerifyError.Revoked, lm.VerifyError.DigestMismatch,
                            lm.VerifyError.Malformed, lm.VerifyError.Malformed, "ok"]
    valid, vc = batch.outcome(0), batch.outcome(5)
    assert valid.is_verified() and json.loads(valid.result.claims_json(0))["given_name"] == "Ana María"
    assert vc.is_verified() and vc.result.format() == "vc+jwt"
    assert "UTF-8" in str(batch.outcome(3).reason)
    # The one call an app makes to flag credentials: the rejected items, by index.
    assert [(r.index, type(r.reason)) for r in batch.rejections()] == [
        (1, lm.VerifyError.Revoked), (2, lm.VerifyError.DigestMismatch),
        (3, lm.VerifyError.Malformed), (4, lm.VerifyError.Malformed)]
    assert batch.outcome(6) is None
    # Each item is verified as verify_bytes verifies it alone (surrounding whitespace ignored).
    crlf = world.verifier().verify_batch(world.vc_jwt.encode() + b"\r\n" + world.vc_jwt.encode(), world.now)
    assert kinds(crlf) == ["ok", "ok"] and world.verifier().verify_bytes(world.vc_jwt.encode() + b"\r", world.now)


def test_an_empty_batch_has_no_items(world):
    batch = world.verifier().verify_batch(b"", world.now)
    assert batch.len() == 0 and batch.is_empty() and batch.rejections() == [] and batch.outcome(0) is None
    request = world.verifier().presentation_request(AUD, "n-empty")
    assert request.verify_batch(b"", world.now).is_empty()


def test_a_batch_of_valid_credentials_has_no_rejections(world):
    batch = world.verifier().verify_batch("\n".join([world.sd_jwt_vc, world.vc_jwt] * 10).encode(), world.now)
    assert batch.len() == 20 and batch.rejections() == []


def test_a_line_feed_inside_an_item_shows_in_len(world):
    # Not a credential, but a caller joining untrusted strings sees the shift in len().
    batch = world.verifier().verify_batch("\n".join(["garbage\ngarbage", world.vc_jwt]).encode(), world.now)
    assert batch.len() == 3 and kinds(batch) == [lm.VerifyError.Malformed, lm.VerifyError.Malformed, "ok"]


def test_presentation_request_verify_batch(world):
    request = world.verifier().presentation_request(AUD, "n-batch")
    assert request.audience() == AUD and request.nonce() == "n-batch"
    good = lm.create_presentation(world.sd_jwt_vc, ["given_name"], AUD, "n-batch", world.now, world.holder)
    revoked = lm.create_presentation(world.revoked, ["given_name"], AUD, "n-batch", world.now, world.holder)
    replayed = lm.create_presentation(world.sd_jwt_vc, ["given_name"], AUD, "n-other", world.now, world.holder)
    tampered = good.replace("~", "~WyJzYWx0IiwibmFtZSIsInZhbHVlIl0~", 1)
    vp = lm.create_presentation(world.vc_jwt, [], AUD, "n-batch", world.now, world.holder)
    items = [x.encode() for x in (good, revoked, replayed, world.sd_jwt_vc, tampered)]
    items += [good.encode().replace(b"~", b"~\xff", 1), vp.encode()]
    batch = request.verify_batch(b"\n".join(items), world.now)
    assert kinds(batch) == ["ok", lm.VerifyError.Revoked, lm.VerifyError.WrongNonce, lm.VerifyError.MissingKeyBinding,
                            lm.VerifyError.DigestMismatch, lm.VerifyError.Malformed, "ok"]
    assert [r.index for r in batch.rejections()] == [1, 2, 3, 4, 5]
    assert batch.outcome(0).result.credentials()[0].key_binding_verified
    assert batch.outcome(6).result.format() == "vp+jwt"
    with pytest.raises(TypeError):
        request.verify_batch([good], world.now)
