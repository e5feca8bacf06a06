//! The VC Data Model 2.0 rules (`vectors/vcdm-rules.json`), each case checked three ways: the
//! rule check alone, issuance (nothing non-conforming is signed) and verification (a
//! non-conforming document signed by someone else is refused with the rule's code).

use std::path::Path;

use llavero_credentials::crypto::{DangerousSeededRandom, default_backend, signer_from_jwk};
use llavero_credentials::jwk::PrivateJwk;
use llavero_credentials::jws::{self, AlgorithmPolicy, Header};
use llavero_credentials::vc_jwt::{self, DecodedVcJwt, DecodedVpJwt, VcJwtError};
use llavero_credentials::vcdm::{self, NonConforming, Rule};
use serde_json::Value;

/// Inside the base credential's validity window.
const IN_2026: i64 = 1_780_000_000;

fn vectors() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/vcdm-rules.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn issuer() -> PrivateJwk {
    PrivateJwk::generate_p256(&DangerousSeededRandom::new(31), Some("vcdm".into())).unwrap()
}

/// The base document with the case's members set (`null` removes one).
fn document(base: &Value, case: &Value) -> Value {
    let mut doc = base.clone();
    for (name, value) in case["set"].as_object().unwrap() {
        let members = doc.as_object_mut().unwrap();
        if value.is_null() {
            members.remove(name);
        } else {
            members.insert(name.clone(), value.clone());
        }
    }
    doc
}

fn expected(case: &Value) -> Option<Rule> {
    case["rule"]
        .as_str()
        .map(|code| Rule::from_code(code).unwrap_or_else(|| panic!("{code} is not a rule")))
}

fn rule_of(result: Result<(), NonConforming>) -> Option<Rule> {
    result.err().map(|e| e.rule())
}

fn rule_of_jwt<T>(result: Result<T, VcJwtError>, name: &str) -> Option<Rule> {
    match result {
        Ok(_) => None,
        Err(VcJwtError::NonConforming(e)) => Some(e.rule()),
        Err(other) => panic!("{name}: {other}"),
    }
}

/// Signs whatever it is given, as a non-conforming issuer would.
fn sign_raw(typ: &str, doc: &Value) -> String {
    let signer = signer_from_jwk(&issuer()).unwrap();
    jws::sign_json(Header::new(typ), doc, signer.as_ref()).unwrap()
}

#[test]
fn every_rule_has_a_case() {
    let vectors = vectors();
    let covered: Vec<Rule> = ["credential_cases", "presentation_cases"]
        .iter()
        .flat_map(|group| {
            vectors[group]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(expected)
        })
        .collect();
    for rule in Rule::ALL {
        if *rule != Rule::DOCUMENT_OBJECT {
            assert!(covered.contains(rule), "no case for {rule}");
        }
    }
}

#[test]
fn credential_cases_are_checked_at_issuance_and_verification() {
    let vectors = vectors();
    let signer = signer_from_jwk(&issuer()).unwrap();
    for case in vectors["credential_cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let doc = document(&vectors["credential"], case);
        let want = expected(case);
        assert_eq!(rule_of(vcdm::check_credential(&doc)), want, "check: {name}");
        let issued = vc_jwt::issue_credential(&doc, signer.as_ref(), Some("vcdm"));
        assert_eq!(rule_of_jwt(issued, name), want, "issue: {name}");
        let verified = DecodedVcJwt::decode(&sign_raw(vc_jwt::VC_TYP, &doc)).and_then(|d| {
            d.verify(
                default_backend(),
                &issuer().public(),
                &AlgorithmPolicy::default(),
                IN_2026,
                0,
            )
        });
        assert_eq!(rule_of_jwt(verified, name), want, "verify: {name}");
    }
}

#[test]
fn presentation_cases_are_checked_at_verification() {
    let vectors = vectors();
    for case in vectors["presentation_cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let doc = document(&vectors["presentation"], case);
        let want = expected(case);
        assert_eq!(
            rule_of(vcdm::check_presentation(&doc)),
            want,
            "check: {name}"
        );
        let verified = DecodedVpJwt::decode(&sign_raw(vc_jwt::VP_TYP, &doc)).and_then(|d| {
            d.verify(
                default_backend(),
                &issuer().public(),
                &AlgorithmPolicy::default(),
                None,
            )
        });
        assert_eq!(rule_of_jwt(verified, name), want, "verify: {name}");
    }
}

#[test]
fn a_tampered_non_conforming_credential_is_a_bad_signature_first() {
    // Conformance is judged on what the issuer signed: a forgery is reported as one.
    let vectors = vectors();
    let mut doc = vectors["credential"].clone();
    doc["credentialSubject"] = serde_json::json!({});
    let other = PrivateJwk::generate_p256(&DangerousSeededRandom::new(32), None).unwrap();
    let jwt = jws::sign_json(
        Header::new(vc_jwt::VC_TYP),
        &doc,
        signer_from_jwk(&other).unwrap().as_ref(),
    )
    .unwrap();
    let err = DecodedVcJwt::decode(&jwt)
        .unwrap()
        .verify(
            default_backend(),
            &issuer().public(),
            &AlgorithmPolicy::default(),
            IN_2026,
            0,
        )
        .unwrap_err();
    assert_eq!(err, VcJwtError::Jws(jws::JwsError::BadSignature));
}
