//! Every way a holder or an attacker might bend an SD-JWT, each a named test that must be
//! refused with the reason named.

use llavero_credentials::b64;
use llavero_credentials::crypto::{DangerousSeededRandom, default_backend, signer_from_jwk};
use llavero_credentials::jwk::PrivateJwk;
use llavero_credentials::jws::{self, AlgorithmPolicy, Header, JwsError};
use llavero_credentials::sd_jwt::{ClaimPath, Disclosure, KeyBinding, SdJwt, SdJwtError};
use llavero_credentials::sd_jwt_vc::{self, Envelope, SdJwtVcError};
use serde_json::{Value, json};

const NOW: i64 = 1_800_000_000;

fn key(seed: u64) -> PrivateJwk {
    PrivateJwk::generate_p256(&DangerousSeededRandom::new(seed), Some(format!("k{seed}"))).unwrap()
}

fn envelope() -> Envelope {
    Envelope {
        issuer: "https://registro.llavero.cl".into(),
        vct: "https://llavero.cl/vct/birth-certificate".into(),
        issued_at: Some(NOW - 100),
        not_before: None,
        expires_at: Some(NOW + 1000),
        holder_key: Some(key(2).public()),
        status: None,
    }
}

fn issue() -> String {
    let claims = json!({"given_name": "Ana", "family_name": "Rojas", "birthdate": "1990-01-01",
        "nationalities": ["CL", "AR"]});
    let paths: Vec<ClaimPath> = ["given_name", "family_name", "birthdate", "nationalities.*"]
        .iter()
        .map(|p| ClaimPath::parse_dotted(p).unwrap())
        .collect();
    let signer = signer_from_jwk(&key(1)).unwrap();
    sd_jwt_vc::issue(
        &envelope(),
        claims.as_object().unwrap(),
        &paths,
        Some("k1"),
        3,
        signer.as_ref(),
        &DangerousSeededRandom::new(5),
        default_backend(),
    )
    .unwrap()
}

fn required() -> KeyBinding {
    KeyBinding::Required {
        audience: "https://rp.example".into(),
        nonce: "n-123".into(),
        now: NOW,
        skew: 5,
        max_age: 300,
    }
}

fn present(sd_jwt: &SdJwt, aud: &str, nonce: &str, iat: i64, holder: u64) -> String {
    let signer = signer_from_jwk(&key(holder)).unwrap();
    sd_jwt
        .with_key_binding(aud, nonce, iat, signer.as_ref(), default_backend())
        .unwrap()
}

fn verify(text: &str, kb: &KeyBinding) -> Result<sd_jwt_vc::VerifiedSdJwtVc, SdJwtVcError> {
    let parsed = SdJwt::parse(text).map_err(SdJwtVcError::SdJwt)?;
    sd_jwt_vc::verify(
        parsed,
        default_backend(),
        &key(1).public(),
        &AlgorithmPolicy::default(),
        kb,
        NOW,
        5,
    )
}

fn sd_err(text: &str, kb: &KeyBinding) -> SdJwtError {
    match verify(text, kb) {
        Err(SdJwtVcError::SdJwt(e)) => e,
        other => panic!("expected an SD-JWT error, got {other:?}"),
    }
}

#[test]
fn honest_presentation_verifies_with_only_what_was_chosen() {
    let parsed = SdJwt::parse(&issue()).unwrap();
    let chosen = parsed
        .select(
            &[
                ClaimPath::claim("given_name"),
                ClaimPath::parse_dotted("nationalities.1").unwrap(),
            ],
            default_backend(),
        )
        .unwrap();
    assert_eq!(chosen.disclosures().len(), 2);
    let verified = verify(
        &present(&chosen, "https://rp.example", "n-123", NOW, 2),
        &required(),
    )
    .unwrap();
    assert_eq!(verified.claims()["given_name"], "Ana");
    assert_eq!(verified.claims()["nationalities"], json!(["AR"]));
    assert!(verified.claims().get("family_name").is_none());
    assert!(verified.claims().get("_sd").is_none() && verified.claims().get("_sd_alg").is_none());
}

#[test]
fn alg_none_issuer_jwt_is_refused() {
    let text = issue();
    let (jwt, rest) = text.split_once('~').unwrap();
    let payload = jwt.split('.').nth(1).unwrap();
    let header = b64::encode(r#"{"alg":"none","typ":"dc+sd-jwt"}"#);
    let forged = format!("{header}.{payload}.~{rest}");
    assert_eq!(
        sd_err(&forged, &KeyBinding::NotRequired),
        SdJwtError::Jws(JwsError::AlgorithmNone)
    );
}

#[test]
fn issuer_jwt_signed_by_another_key_is_refused() {
    let text = issue();
    let parsed = SdJwt::parse(&text).unwrap();
    let payload: Value = parsed.issuer_jws().unverified_claims().unwrap();
    let other = signer_from_jwk(&key(9)).unwrap();
    let jwt = jws::sign_json(Header::new("dc+sd-jwt"), &payload, other.as_ref()).unwrap();
    let forged = format!("{jwt}~{}", text.split_once('~').unwrap().1);
    assert_eq!(
        sd_err(&forged, &KeyBinding::NotRequired),
        SdJwtError::Jws(JwsError::BadSignature)
    );
}

#[test]
fn tampered_disclosure_is_a_digest_mismatch() {
    let text = issue();
    let parsed = SdJwt::parse(&text).unwrap();
    let original = parsed.disclosures().first().unwrap();
    let mut array: Value =
        serde_json::from_slice(&b64::decode(original.encoded()).unwrap()).unwrap();
    let last = array.as_array().unwrap().len() - 1;
    array[last] = json!("Mallory");
    let tampered = b64::encode(array.to_string());
    let forged = text.replacen(original.encoded(), &tampered, 1);
    assert!(matches!(
        sd_err(&forged, &KeyBinding::NotRequired),
        SdJwtError::UnreferencedDisclosure(_)
    ));
}

#[test]
fn foreign_disclosure_is_refused() {
    let foreign = Disclosure::new(
        Some("is_over_18"),
        json!(true),
        &DangerousSeededRandom::new(77),
    )
    .unwrap();
    let forged = format!("{}{}~", issue(), foreign.encoded());
    assert!(matches!(
        sd_err(&forged, &KeyBinding::NotRequired),
        SdJwtError::UnreferencedDisclosure(_)
    ));
}

#[test]
fn duplicate_disclosure_is_refused() {
    let text = issue();
    let first = SdJwt::parse(&text)
        .unwrap()
        .disclosures()
        .first()
        .unwrap()
        .encoded()
        .to_owned();
    let forged = format!("{text}{first}~");
    assert_eq!(
        sd_err(&forged, &KeyBinding::NotRequired),
        SdJwtError::DuplicateDisclosure
    );
}

/// Signs a hand-made payload with the issuer key, followed by `disclosures`.
fn craft(payload: &Value, disclosures: &[&Disclosure]) -> String {
    let signer = signer_from_jwk(&key(1)).unwrap();
    let mut header = Header::new("dc+sd-jwt");
    header.kid = Some("k1".into());
    let jwt = jws::sign_json(header, payload, signer.as_ref()).unwrap();
    let mut out = format!("{jwt}~");
    for d in disclosures {
        out.push_str(d.encoded());
        out.push('~');
    }
    out
}

fn base_payload() -> Value {
    json!({"iss": "https://registro.llavero.cl", "vct": "https://llavero.cl/vct/birth-certificate",
           "iat": NOW - 10, "exp": NOW + 100, "_sd_alg": "sha-256"})
}

#[test]
fn duplicate_digest_in_payload_is_refused() {
    let d = Disclosure::new(
        Some("given_name"),
        json!("Ana"),
        &DangerousSeededRandom::new(1),
    )
    .unwrap();
    let digest = d.digest(default_backend());
    let mut payload = base_payload();
    payload["_sd"] = json!([digest, digest]);
    assert!(matches!(
        sd_err(&craft(&payload, &[&d]), &KeyBinding::NotRequired),
        SdJwtError::DuplicateDigest(_)
    ));
}

#[test]
fn reserved_claim_names_cannot_be_disclosed() {
    let rng = DangerousSeededRandom::new(3);
    for name in ["_sd", "..."] {
        let d = Disclosure::new(Some(name), json!("x"), &rng).unwrap();
        let mut payload = base_payload();
        payload["_sd"] = json!([d.digest(default_backend())]);
        assert_eq!(
            sd_err(&craft(&payload, &[&d]), &KeyBinding::NotRequired),
            SdJwtError::ForbiddenClaimName(name.into())
        );
    }
}

#[test]
fn disclosed_name_colliding_with_plain_claim_is_refused() {
    let d = Disclosure::new(Some("iat"), json!(1), &DangerousSeededRandom::new(4)).unwrap();
    let mut payload = base_payload();
    payload["_sd"] = json!([d.digest(default_backend())]);
    assert_eq!(
        sd_err(&craft(&payload, &[&d]), &KeyBinding::NotRequired),
        SdJwtError::ClaimNameCollision("iat".into())
    );
}

#[test]
fn wrong_disclosure_arity_is_refused() {
    let element = Disclosure::new(None, json!("CL"), &DangerousSeededRandom::new(5)).unwrap();
    let mut payload = base_payload();
    payload["_sd"] = json!([element.digest(default_backend())]);
    assert_eq!(
        sd_err(&craft(&payload, &[&element]), &KeyBinding::NotRequired),
        SdJwtError::DisclosureArity
    );
    let property = Disclosure::new(Some("x"), json!("CL"), &DangerousSeededRandom::new(6)).unwrap();
    let mut payload = base_payload();
    payload["nationalities"] = json!([{"...": property.digest(default_backend())}]);
    assert_eq!(
        sd_err(&craft(&payload, &[&property]), &KeyBinding::NotRequired),
        SdJwtError::DisclosureArity
    );
}

#[test]
fn never_disclosable_claims_are_refused_at_issuance_and_verification() {
    let signer = signer_from_jwk(&key(1)).unwrap();
    for name in ["iss", "vct", "cnf", "status", "exp", "nbf"] {
        let err = sd_jwt_vc::issue(
            &envelope(),
            json!({"a": 1}).as_object().unwrap(),
            &[ClaimPath::claim(name)],
            None,
            0,
            signer.as_ref(),
            &DangerousSeededRandom::new(1),
            default_backend(),
        )
        .unwrap_err();
        assert_eq!(err, SdJwtVcError::NeverDisclosable(name.into()));
    }
    let d = Disclosure::new(
        Some("status"),
        json!({"status_list": {"idx": 1, "uri": "https://x"}}),
        &DangerousSeededRandom::new(8),
    )
    .unwrap();
    let mut payload = base_payload();
    payload["_sd"] = json!([d.digest(default_backend())]);
    assert_eq!(
        verify(&craft(&payload, &[&d]), &KeyBinding::NotRequired).unwrap_err(),
        SdJwtVcError::NeverDisclosable("status".into())
    );
}

#[test]
fn missing_key_binding_is_refused_when_required() {
    assert_eq!(sd_err(&issue(), &required()), SdJwtError::KeyBindingMissing);
}

#[test]
fn key_binding_for_another_audience_is_refused() {
    let parsed = SdJwt::parse(&issue()).unwrap();
    let text = present(&parsed, "https://evil.example", "n-123", NOW, 2);
    assert!(matches!(
        sd_err(&text, &required()),
        SdJwtError::WrongAudience { .. }
    ));
}

#[test]
fn replayed_key_binding_with_old_nonce_is_refused() {
    let parsed = SdJwt::parse(&issue()).unwrap();
    let text = present(&parsed, "https://rp.example", "n-OLD", NOW, 2);
    assert_eq!(sd_err(&text, &required()), SdJwtError::WrongNonce);
}

#[test]
fn stale_or_future_key_binding_is_refused() {
    let parsed = SdJwt::parse(&issue()).unwrap();
    for iat in [NOW - 1000, NOW + 100] {
        let text = present(&parsed, "https://rp.example", "n-123", iat, 2);
        assert!(
            matches!(
                sd_err(&text, &required()),
                SdJwtError::KeyBindingStale { .. }
            ),
            "{iat}"
        );
    }
}

#[test]
fn disclosure_removed_after_key_binding_breaks_sd_hash() {
    let parsed = SdJwt::parse(&issue()).unwrap();
    let text = present(&parsed, "https://rp.example", "n-123", NOW, 2);
    let first = parsed.disclosures().first().unwrap().encoded();
    let stripped = text.replacen(&format!("{first}~"), "", 1);
    assert_eq!(sd_err(&stripped, &required()), SdJwtError::SdHashMismatch);
}

#[test]
fn key_binding_signed_by_another_key_than_cnf_is_refused() {
    let parsed = SdJwt::parse(&issue()).unwrap();
    let text = present(&parsed, "https://rp.example", "n-123", NOW, 3);
    assert!(matches!(
        sd_err(&text, &required()),
        SdJwtError::KeyBindingInvalid(_)
    ));
}

#[test]
fn key_binding_with_wrong_typ_is_refused() {
    let parsed = SdJwt::parse(&issue()).unwrap();
    let signer = signer_from_jwk(&key(2)).unwrap();
    let payload = json!({"iat": NOW, "aud": "https://rp.example", "nonce": "n-123",
        "sd_hash": parsed.sd_hash(default_backend())});
    let kb = jws::sign_json(Header::new("JWT"), &payload, signer.as_ref()).unwrap();
    let text = format!("{}{kb}", parsed.without_key_binding());
    assert!(matches!(
        sd_err(&text, &required()),
        SdJwtError::KeyBindingInvalid(_)
    ));
}

#[test]
fn expired_credential_is_refused() {
    let parsed = SdJwt::parse(&issue()).unwrap();
    let err = sd_jwt_vc::verify(
        parsed,
        default_backend(),
        &key(1).public(),
        &AlgorithmPolicy::default(),
        &KeyBinding::NotRequired,
        NOW + 5000,
        5,
    )
    .unwrap_err();
    assert!(matches!(err, SdJwtVcError::Validity(_)));
}

#[test]
fn oversized_and_overfull_inputs_are_refused_before_parsing() {
    let huge = format!("{}{}~", issue(), "A".repeat(70_000));
    assert!(matches!(SdJwt::parse(&huge), Err(SdJwtError::TooLarge(_))));
    let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let d = b64::encode(deep);
    assert!(matches!(
        SdJwt::parse(&format!("{}{d}~", issue())),
        Err(SdJwtError::Malformed(_))
    ));
}

#[test]
fn wrong_typ_is_refused() {
    let d = Disclosure::new(Some("a"), json!(1), &DangerousSeededRandom::new(1)).unwrap();
    let signer = signer_from_jwk(&key(1)).unwrap();
    let jwt = jws::sign_json(Header::new("JWT"), &base_payload(), signer.as_ref()).unwrap();
    let text = format!("{jwt}~{}~", d.encoded());
    assert!(matches!(
        verify(&text, &KeyBinding::NotRequired),
        Err(SdJwtVcError::WrongType(_))
    ));
}

#[test]
fn json_serialization_is_the_same_sd_jwt() {
    let compact = issue();
    let (jwt, rest) = compact.split_once('~').unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let disclosures: Vec<&str> = rest.split('~').filter(|d| !d.is_empty()).collect();
    let flattened = json!({"protected": parts[0], "payload": parts[1], "signature": parts[2],
        "header": {"disclosures": disclosures}});
    let parsed = SdJwt::parse_json(&flattened.to_string()).unwrap();
    assert_eq!(parsed.serialize(), compact);
    let general = json!({"payload": parts[1], "signatures": [{"protected": parts[0], "signature": parts[2],
        "header": {"disclosures": disclosures}}]});
    assert_eq!(
        SdJwt::parse_json(&general.to_string()).unwrap().serialize(),
        compact
    );
    assert!(SdJwt::parse_json(r#"{"payload": "e30"}"#).is_err());
}

#[test]
fn subject_claims_cannot_set_what_the_envelope_states() {
    let signer = signer_from_jwk(&key(1)).unwrap();
    for name in ["iss", "vct", "iat", "exp", "cnf", "status"] {
        let claims = json!({ name: "forged", "given_name": "Ana" });
        let err = sd_jwt_vc::issue(
            &envelope(),
            claims.as_object().unwrap(),
            &[],
            None,
            0,
            signer.as_ref(),
            &DangerousSeededRandom::new(1),
            default_backend(),
        )
        .unwrap_err();
        assert_eq!(err, SdJwtVcError::ReservedClaim(name.into()));
    }
}
