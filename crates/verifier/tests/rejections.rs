//! The verifier's one entry point: each accepted shape, and a test per rejection reason, each
//! with a crafted or tampered input.

use llavero_credentials::b64;
use llavero_credentials::sd_jwt::SdJwt;
use llavero_verifier::{
    CredentialStatus, Expectations, Format, Rejection, Verifier, VerifierOptions, Warning,
};

use crate::fixture::*;

fn bound() -> Expectations {
    Expectations::key_binding(AUD, NONCE)
}

fn reject(input: &str, expect: &Expectations) -> Rejection {
    verifier().verify(input, NOW, expect).unwrap_err()
}

#[test]
fn sd_jwt_vc_presentation_verifies_with_only_the_chosen_claims() {
    let presentation = present(
        &sd_jwt_vc(SdJwtSpec::default()),
        &["given_name", "birthdate"],
        AUD,
        NONCE,
        NOW,
    );
    let v = verifier().verify(&presentation, NOW, &bound()).unwrap();
    assert_eq!(v.format(), Format::SdJwtVc);
    let c = &v.credentials()[0];
    assert_eq!(c.issuer(), REGISTRO);
    assert_eq!(c.issuer_name(), Some("Registro Civil"));
    assert_eq!(c.credential_type(), BIRTH);
    assert_eq!(c.claims()["given_name"], "Ana María");
    assert!(c.claims().get("family_name").is_none() && c.claims().get("run").is_none());
    assert!(c.key_binding_verified());
    assert_eq!(c.holder_key().unwrap().key(), holder().public().key());
    assert_eq!(
        c.status(),
        &CredentialStatus::Valid {
            uri: TOKEN_URI.into(),
            index: 3
        }
    );
    assert!(v.warnings().is_empty(), "{:?}", v.warnings());
}

#[test]
fn bare_credential_verifies_when_no_key_binding_is_expected() {
    let v = verifier()
        .verify(
            &sd_jwt_vc(SdJwtSpec::default()),
            NOW,
            &Expectations::default(),
        )
        .unwrap();
    assert_eq!(claims_of(&v)["run"], "12.345.678-5");
    assert!(!v.credentials()[0].key_binding_verified());
}

#[test]
fn bad_signature() {
    let forged = sd_jwt_vc(SdJwtSpec {
        signer: key(99, "registro-2026"),
        ..SdJwtSpec::default()
    });
    assert_eq!(
        reject(&forged, &Expectations::default()),
        Rejection::BadSignature
    );
}

#[test]
fn untrusted_issuer() {
    let rogue = sd_jwt_vc(SdJwtSpec {
        issuer: "https://evil.example",
        ..SdJwtSpec::default()
    });
    assert_eq!(
        reject(&rogue, &Expectations::default()),
        Rejection::UntrustedIssuer("https://evil.example".into())
    );
}

#[test]
fn unknown_issuer_key() {
    let other_kid = sd_jwt_vc(SdJwtSpec {
        signer: key(2, "registro-2019"),
        ..SdJwtSpec::default()
    });
    assert!(matches!(
        reject(&other_kid, &Expectations::default()),
        Rejection::UnknownIssuerKey { .. }
    ));
}

#[test]
fn issuer_not_allowed_for_type() {
    let licence_by_registry = sd_jwt_vc(SdJwtSpec {
        vct: LICENCE,
        ..SdJwtSpec::default()
    });
    assert_eq!(
        reject(&licence_by_registry, &Expectations::default()),
        Rejection::IssuerNotAllowedForType {
            issuer: REGISTRO.into(),
            credential_type: LICENCE.into()
        }
    );
}

#[test]
fn expired() {
    let old = sd_jwt_vc(SdJwtSpec {
        exp: NOW - 3600,
        ..SdJwtSpec::default()
    });
    assert!(matches!(
        reject(&old, &Expectations::default()),
        Rejection::Expired { .. }
    ));
}

#[test]
fn not_yet_valid() {
    let mut options = VerifierOptions::default();
    options.clock_skew_secs = 0;
    let early = NOW - 200; // the credential's iat is NOW - 100
    let v = Verifier::from_bundle(
        &bundle_with(early, &registro()),
        &[anchor().public()],
        NOW,
        options,
    )
    .unwrap();
    let err = v
        .verify(
            &sd_jwt_vc(SdJwtSpec::default()),
            early,
            &Expectations::default(),
        )
        .unwrap_err();
    assert!(matches!(err, Rejection::NotYetValid { .. }), "{err:?}");
}

#[test]
fn revoked_and_suspended() {
    let revoked = sd_jwt_vc(SdJwtSpec {
        status_idx: Some(7),
        ..SdJwtSpec::default()
    });
    assert_eq!(
        reject(&revoked, &Expectations::default()),
        Rejection::Revoked
    );
    let suspended = sd_jwt_vc(SdJwtSpec {
        status_idx: Some(8),
        ..SdJwtSpec::default()
    });
    assert_eq!(
        reject(&suspended, &Expectations::default()),
        Rejection::Suspended
    );
}

#[test]
fn status_unavailable_when_the_list_is_out_of_range_or_signed_by_another_issuer() {
    let beyond = sd_jwt_vc(SdJwtSpec {
        status_idx: Some(1_000_000),
        ..SdJwtSpec::default()
    });
    assert!(matches!(
        reject(&beyond, &Expectations::default()),
        Rejection::StatusUnavailable(_)
    ));
    // The licensing authority publishes a list at the registry's URI: it must not count.
    let hijacked = Verifier::from_bundle(
        &bundle_with(NOW - 100, &licencias()),
        &[anchor().public()],
        NOW,
        VerifierOptions::default(),
    )
    .unwrap();
    let err = hijacked
        .verify(
            &sd_jwt_vc(SdJwtSpec::default()),
            NOW,
            &Expectations::default(),
        )
        .unwrap_err();
    assert!(matches!(err, Rejection::StatusUnavailable(_)), "{err:?}");
}

#[test]
fn stale_status_list_is_a_warning() {
    let v = Verifier::from_bundle(
        &bundle_with(NOW - 7200, &registro()),
        &[anchor().public()],
        NOW,
        VerifierOptions::default(),
    )
    .unwrap();
    let ok = v
        .verify(
            &sd_jwt_vc(SdJwtSpec::default()),
            NOW,
            &Expectations::default(),
        )
        .unwrap();
    assert!(
        ok.warnings()
            .iter()
            .any(|w| matches!(w, Warning::StatusListStale { ttl_secs: 3600, .. }))
    );
}

#[test]
fn digest_mismatch() {
    let credential = sd_jwt_vc(SdJwtSpec::default());
    let first = SdJwt::parse(&credential).unwrap().disclosures()[0]
        .encoded()
        .to_owned();
    let mut array: serde_json::Value =
        serde_json::from_slice(&b64::decode(&first).unwrap()).unwrap();
    array[2] = serde_json::json!("Mallory");
    let tampered = credential.replacen(&first, &b64::encode(array.to_string()), 1);
    assert!(matches!(
        reject(&tampered, &Expectations::default()),
        Rejection::DigestMismatch(_)
    ));
}

#[test]
fn duplicate_disclosure() {
    let credential = sd_jwt_vc(SdJwtSpec::default());
    let first = SdJwt::parse(&credential).unwrap().disclosures()[0]
        .encoded()
        .to_owned();
    assert_eq!(
        reject(&format!("{credential}{first}~"), &Expectations::default()),
        Rejection::DuplicateDisclosure
    );
}

#[test]
fn missing_key_binding() {
    assert_eq!(
        reject(&sd_jwt_vc(SdJwtSpec::default()), &bound()),
        Rejection::MissingKeyBinding
    );
}

#[test]
fn wrong_audience() {
    let p = present(
        &sd_jwt_vc(SdJwtSpec::default()),
        &["given_name"],
        "https://other.example",
        NONCE,
        NOW,
    );
    assert!(matches!(
        reject(&p, &bound()),
        Rejection::WrongAudience { .. }
    ));
}

#[test]
fn wrong_nonce_replay() {
    let p = present(
        &sd_jwt_vc(SdJwtSpec::default()),
        &["given_name"],
        AUD,
        "previous-nonce",
        NOW,
    );
    assert_eq!(reject(&p, &bound()), Rejection::WrongNonce);
}

#[test]
fn invalid_key_binding() {
    let p = present(
        &sd_jwt_vc(SdJwtSpec::default()),
        &["given_name", "birthdate"],
        AUD,
        NONCE,
        NOW,
    );
    let first = SdJwt::parse(&p).unwrap().disclosures()[0]
        .encoded()
        .to_owned();
    let stripped = p.replacen(&format!("{first}~"), "", 1);
    assert!(matches!(
        reject(&stripped, &bound()),
        Rejection::InvalidKeyBinding(_)
    ));
}

#[test]
fn unsupported_algorithm() {
    let credential = sd_jwt_vc(SdJwtSpec::default());
    let (jwt, rest) = credential.split_once('~').unwrap();
    let payload = jwt.split('.').nth(1).unwrap();
    let header = b64::encode(r#"{"alg":"none","typ":"dc+sd-jwt","kid":"registro-2026"}"#);
    assert_eq!(
        reject(
            &format!("{header}.{payload}.~{rest}"),
            &Expectations::default()
        ),
        Rejection::UnsupportedAlgorithm("none".into())
    );
    let hs = b64::encode(r#"{"alg":"HS256","typ":"dc+sd-jwt","kid":"registro-2026"}"#);
    assert_eq!(
        reject(
            &format!("{hs}.{payload}.AAAA~{rest}"),
            &Expectations::default()
        ),
        Rejection::UnsupportedAlgorithm("HS256".into())
    );
}

#[test]
fn malformed_and_too_large() {
    for garbage in ["", "hello", "a.b.c", "{\"@context\":[]}"] {
        assert!(
            matches!(
                reject(garbage, &Expectations::default()),
                Rejection::Malformed(_) | Rejection::UnsupportedFormat(_)
            ),
            "{garbage:?}"
        );
    }
    let huge = "a".repeat(70 * 1024);
    assert!(matches!(
        reject(&huge, &Expectations::default()),
        Rejection::TooLarge { .. }
    ));
}

#[test]
fn vc_jwt_with_bitstring_status() {
    let good = vc_jwt(
        &["IdentityCardCredential"],
        Some(("revocation", REVOCATION_URI, 4)),
        "2030-01-01T00:00:00Z",
    );
    let v = verifier()
        .verify(&good, NOW, &Expectations::default())
        .unwrap();
    assert_eq!(v.format(), Format::VcJwt);
    assert_eq!(
        v.credentials()[0].credential_type(),
        "IdentityCardCredential"
    );
    assert_eq!(
        v.credentials()[0].status(),
        &CredentialStatus::Valid {
            uri: REVOCATION_URI.into(),
            index: 4
        }
    );
    let revoked = vc_jwt(
        &["IdentityCardCredential"],
        Some(("revocation", REVOCATION_URI, 5)),
        "2030-01-01T00:00:00Z",
    );
    assert_eq!(
        reject(&revoked, &Expectations::default()),
        Rejection::Revoked
    );
    let suspended = vc_jwt(
        &["IdentityCardCredential"],
        Some(("suspension", SUSPENSION_URI, 6)),
        "2030-01-01T00:00:00Z",
    );
    assert_eq!(
        reject(&suspended, &Expectations::default()),
        Rejection::Suspended
    );
    let expired = vc_jwt(&["IdentityCardCredential"], None, "2026-06-01T00:00:00Z");
    assert!(matches!(
        reject(&expired, &Expectations::default()),
        Rejection::Expired { .. }
    ));
    let not_allowed = vc_jwt(&["DrivingLicenceCredential"], None, "2030-01-01T00:00:00Z");
    assert!(matches!(
        reject(&not_allowed, &Expectations::default()),
        Rejection::IssuerNotAllowedForType { .. }
    ));
    assert_eq!(reject(&good, &bound()), Rejection::MissingKeyBinding);
}

/// A `vc+jwt` the trusted issuer signed without the data model's checks (other software).
fn non_conforming_vc_jwt(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut vc = serde_json::json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "IdentityCardCredential"],
        "issuer": REGISTRO,
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2030-01-01T00:00:00Z",
        "credentialSubject": {"given_name": "Ana María"}
    });
    edit(&mut vc);
    let mut header = llavero_credentials::jws::Header::new("vc+jwt");
    header.kid = Some("registro-2026".into());
    llavero_credentials::jws::sign_json(
        header,
        &vc,
        llavero_credentials::crypto::signer_from_jwk(&registro())
            .unwrap()
            .as_ref(),
    )
    .unwrap()
}

fn rule_of(rejection: Rejection) -> &'static str {
    match rejection {
        Rejection::NonConforming { rule, .. } => rule.code(),
        other => panic!("expected non_conforming, got {other:?}"),
    }
}

#[test]
fn non_conforming_vc_jwt_from_a_trusted_issuer_is_refused_naming_the_rule() {
    let expect = Expectations::default();
    let no_subject = non_conforming_vc_jwt(|vc| {
        vc.as_object_mut().unwrap().remove("credentialSubject");
    });
    let rejection = reject(&no_subject, &expect);
    assert_eq!(rejection.code(), "non_conforming");
    assert_eq!(rule_of(rejection), "vcdm.credentialSubject.missing");
    let empty = non_conforming_vc_jwt(|vc| vc["credentialSubject"] = serde_json::json!({}));
    assert_eq!(
        rule_of(reject(&empty, &expect)),
        "vcdm.credentialSubject.empty"
    );
    let array_id = non_conforming_vc_jwt(|vc| {
        vc["credentialSubject"]["id"] = serde_json::json!(["did:example:a", "did:example:b"]);
    });
    assert_eq!(
        rule_of(reject(&array_id, &expect)),
        "vcdm.credentialSubject.id"
    );
    let local_time = non_conforming_vc_jwt(|vc| vc["validUntil"] = "2030-01-01T00:00:00".into());
    assert_eq!(
        rule_of(reject(&local_time, &expect)),
        "vcdm.validUntil.dateTimeStamp"
    );
    // Enveloped in a presentation, the credential is refused the same way.
    let vp = vp_jwt(&[empty], AUD, NONCE);
    assert_eq!(
        rule_of(reject(&vp, &bound())),
        "vcdm.credentialSubject.empty"
    );
    // The conforming base document verifies.
    let fine = non_conforming_vc_jwt(|_| {});
    assert!(verifier().verify(&fine, NOW, &expect).is_ok());
}

#[test]
fn vp_jwt_presentation() {
    let credential = vc_jwt(&["IdentityCardCredential"], None, "2030-01-01T00:00:00Z");
    let vp = vp_jwt(std::slice::from_ref(&credential), AUD, NONCE);
    let v = verifier().verify(&vp, NOW, &bound()).unwrap();
    assert_eq!(v.format(), Format::VpJwt);
    assert!(v.credentials()[0].key_binding_verified());
    assert_eq!(
        reject(
            &vp_jwt(std::slice::from_ref(&credential), AUD, "old"),
            &bound()
        ),
        Rejection::WrongNonce
    );
    assert!(matches!(
        reject(&vp_jwt(&[credential], "https://x", NONCE), &bound()),
        Rejection::WrongAudience { .. }
    ));
}

#[test]
fn trust_list_signed_by_another_anchor_is_refused() {
    let impostor = key(50, "anchor-1");
    let err = Verifier::from_bundle(
        &bundle(),
        &[impostor.public()],
        NOW,
        VerifierOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("signature"), "{err}");
}

#[test]
fn openid4vp_vector_through_the_verifier() {
    use llavero_credentials::jwk::PrivateJwk;
    use llavero_verifier::trust_list::{Jwks, TrustListClaims, TrustedIssuer};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/vectors/sd-jwt-vc-openid4vp-example");
    let issuer_key = PrivateJwk::from_value(&serde_json::json!({"kty":"EC","crv":"P-256",
        "d":"Ur2bNKuBPOrAaxsRnbSH6hIhmNTxSGXshDSUD1a1y7g",
        "x":"b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ","y":"Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"})).unwrap();
    let at = 1_744_743_394;
    let trust = TrustListClaims {
        iss: "https://trust.example".into(),
        iat: at - 10,
        exp: None,
        sequence: 1,
        issuers: vec![TrustedIssuer {
            id: "https://issuer.example.com".into(),
            name: None,
            jwks: Jwks {
                keys: vec![issuer_key.public()],
            },
            credential_types: vec!["https://credentials.example.com/example_credential".into()],
            valid_from: None,
            valid_until: None,
        }],
    }
    .sign(
        llavero_credentials::crypto::signer_from_jwk(&anchor())
            .unwrap()
            .as_ref(),
    )
    .unwrap();
    let bundle =
        serde_json::json!({"version": 1, "built_at": at, "trust_list": trust, "status_lists": []})
            .to_string();
    let v = Verifier::from_bundle(
        &bundle,
        &[anchor().public()],
        at,
        VerifierOptions::default(),
    )
    .unwrap();
    let text: String = std::fs::read_to_string(dir.join("01/sd_jwt_presentation.txt"))
        .unwrap()
        .split_whitespace()
        .collect();
    let ok = v
        .verify(
            &text,
            at,
            &Expectations::key_binding("https://verifier.example.org", "1234567890"),
        )
        .unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("01/verified_contents.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(claims_of(&ok), &expected);
}

#[test]
fn presentation_of_someone_elses_credential_is_refused() {
    use llavero_credentials::crypto::signer_from_jwk;
    use llavero_credentials::{did, vc_jwt};
    // The credential is about `holder()`; a thief presents it with their own DID and key.
    let credential = vc_jwt(&["IdentityCardCredential"], None, "2030-01-01T00:00:00Z");
    let thief = key(77, "thief");
    let thief_did = did::did_jwk(&thief.public());
    let vp = vc_jwt::issue_presentation(
        signer_from_jwk(&thief).unwrap().as_ref(),
        &thief_did,
        Some(&format!("{thief_did}#0")),
        &[credential],
        Some(AUD),
        Some(NONCE),
        NOW,
    )
    .unwrap();
    assert!(matches!(
        reject(&vp, &bound()),
        Rejection::InvalidKeyBinding(_)
    ));
}

#[test]
fn a_key_carried_in_the_header_is_never_trusted() {
    use llavero_credentials::crypto::signer_from_jwk;
    use llavero_credentials::jws::{self, Header};
    // An attacker signs a credential claiming the registry as issuer and ships their own key
    // in the header (`jwk`), as if it were the issuer's.
    let attacker = key(66, "registro-2026");
    let mut header = Header::new("dc+sd-jwt");
    header.kid = Some("registro-2026".into());
    header.jwk = Some(attacker.public().to_value());
    let payload = serde_json::json!({"iss": REGISTRO, "vct": BIRTH, "iat": NOW - 10, "exp": NOW + 100,
        "given_name": "Mallory"});
    let jwt = jws::sign_json(
        header,
        &payload,
        signer_from_jwk(&attacker).unwrap().as_ref(),
    )
    .unwrap();
    assert_eq!(
        reject(&format!("{jwt}~"), &Expectations::default()),
        Rejection::BadSignature
    );
}

#[test]
fn the_trust_list_example_in_specs_matches_the_format() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../specs/trust-list/example.json");
    let example: llavero_verifier::trust_list::TrustListClaims =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(example.issuers[0].jwks.keys[0].kid(), Some("registro-2026"));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../specs/trust-list/trust-list.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    // Every required member of the schema is present in the example.
    for required in schema["required"].as_array().unwrap() {
        assert!(
            serde_json::to_value(&example)
                .unwrap()
                .get(required.as_str().unwrap())
                .is_some(),
            "{required}"
        );
    }
}
