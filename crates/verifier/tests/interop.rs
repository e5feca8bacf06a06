//! Credentials issued by independent implementations, verified by Llavero.
//!
//! Not part of `cargo test --workspace`: `tests/interop/run` first has npm `@sd-jwt/sd-jwt-vc`,
//! `jose` and PyPI `sd-jwt` write case files, then runs this target with
//! `LLAVERO_INTEROP_CASES` pointing at them. Each case names its issuer key, what our verifier
//! must conclude (`valid` and the exact claims, or a rejection code).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "a test harness over generated fixtures"
)]

use std::path::{Path, PathBuf};

use llavero_credentials::crypto::{DangerousSeededRandom, default_backend, signer_from_jwk};
use llavero_credentials::jwk::{Jwk, PrivateJwk};
use llavero_credentials::jws::AlgorithmPolicy;
use llavero_credentials::sd_jwt::{KeyBinding, SdJwt};
use llavero_verifier::trust_list::{Jwks, TrustListClaims, TrustedIssuer};
use llavero_verifier::{Expectations, Verifier, VerifierOptions};
use serde_json::Value;

fn case_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            case_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// Our verdict on one case: `Ok(claims)` or `Err(rejection code)`.
fn verdict(case: &Value) -> Result<Value, String> {
    let now = case["now"].as_i64().unwrap();
    let issuer_key = Jwk::from_value(&case["issuer_jwk"]).map_err(|e| e.to_string())?;
    let (aud, nonce) = (case["aud"].as_str(), case["nonce"].as_str());
    if case["format"] == "sd-jwt" {
        // Plain RFC 9901 SD-JWT (the reference implementation's test cases carry no `vct`).
        let text = case["credential"].as_str().unwrap();
        let sd_jwt = if case["serialization"] == "json" {
            SdJwt::parse_json(text)
        } else {
            SdJwt::parse(text)
        }
        .map_err(|e| e.to_string())?;
        let kb = match (aud, nonce) {
            (Some(audience), Some(nonce)) => KeyBinding::Required {
                audience: audience.into(),
                nonce: nonce.into(),
                now,
                skew: 60,
                max_age: 600,
            },
            _ => KeyBinding::NotRequired,
        };
        return sd_jwt
            .verify(
                default_backend(),
                &issuer_key,
                &AlgorithmPolicy::default(),
                &kb,
            )
            .map(llavero_credentials::sd_jwt::VerifiedSdJwt::into_claims)
            .map_err(|e| e.to_string());
    }
    let anchor = PrivateJwk::generate_p256(
        &DangerousSeededRandom::new(1),
        Some("interop-anchor".into()),
    )
    .unwrap();
    let trust = TrustListClaims {
        iss: "https://trust.interop.example".into(),
        iat: now - 10,
        exp: None,
        sequence: 1,
        issuers: vec![TrustedIssuer {
            id: case["issuer"].as_str().unwrap().into(),
            name: None,
            jwks: Jwks {
                keys: vec![issuer_key],
            },
            credential_types: vec![case["credential_type"].as_str().unwrap().into()],
            valid_from: None,
            valid_until: None,
        }],
    }
    .sign(signer_from_jwk(&anchor).unwrap().as_ref())
    .unwrap();
    let bundle =
        serde_json::json!({"version": 1, "built_at": now, "trust_list": trust, "status_lists": []});
    let verifier = Verifier::from_bundle(
        &bundle.to_string(),
        &[anchor.public()],
        now,
        VerifierOptions::default(),
    )
    .unwrap();
    let mut expect = Expectations::default();
    expect.audience = aud.map(str::to_owned);
    expect.nonce = nonce.map(str::to_owned);
    verifier
        .verify(case["credential"].as_str().unwrap(), now, &expect)
        .map(|v| v.credentials()[0].claims().clone())
        .map_err(|r| r.code().to_owned())
}

#[test]
fn independent_implementations_verify_with_ours() {
    let dir = std::env::var("LLAVERO_INTEROP_CASES")
        .expect("set LLAVERO_INTEROP_CASES to the cases written by tests/interop/run");
    let mut files = Vec::new();
    case_files(Path::new(&dir), &mut files);
    files.sort();
    assert!(
        files.len() >= 20,
        "expected the node and python cases, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let name = case["name"].as_str().unwrap().to_owned();
        let expected = case["expect"].as_str().unwrap();
        let outcome = verdict(&case);
        let ok = match (&outcome, expected) {
            (Ok(claims), "valid") => claims == &case["expected_claims"],
            (Err(code), reason) => code == reason,
            _ => false,
        };
        println!("{} {name}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            failures.push(format!(
                "{name}: expected {expected}, got {outcome:?} (wanted claims {})",
                case["expected_claims"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
