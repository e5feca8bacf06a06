//! `llavero load sign`: the cryptographic ceiling of one core. Signs birth certificates with
//! the same call, claims, disclosures and envelope the issuer's `issue::sign` uses, then checks
//! wallet proofs with the issuer's own `verify_proof`; every credential the service issues
//! costs one of each, so `1 / (1/sign + 1/verify)` is what a core could issue if HTTP, the
//! database and everything else were free.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use llavero_credentials::crypto::{self, Signer};
use llavero_credentials::sd_jwt_vc::{self, Envelope};
use llavero_credentials::status::StatusListReference;
use llavero_credentials::time::{Clock as _, SystemClock};
use llavero_issuer::proof::{ProofRules, verify_proof};
use llavero_issuer::types::Catalog;
use serde_json::{Map, Value, json};

/// A status list's size, as the issuer's default.
const LIST_SIZE: u64 = 131_072;
const ISSUER: &str = "http://127.0.0.1:8080/registro-civil";

/// Measures signing for `duration`, then proof checks for `duration`, on this thread.
pub(super) fn run(duration: Duration) -> anyhow::Result<Value> {
    let catalog = Catalog::builtin()?;
    let credential_type = catalog
        .get("birth-certificate")
        .context("the built-in catalog has no birth-certificate")?;
    let mut agency_claims = Map::new();
    agency_claims.insert("birth_place".into(), "Santiago".into());
    let claims =
        llavero_issuer::issue::claims_for(credential_type, &demo_person(), &agency_claims)?;
    let disclosable = credential_type.disclosable_in(&claims);
    let issuer_key = crypto::generate_p256(Some("load-baseline".into()))?;
    let signer = crypto::signer_from_jwk(&issuer_key)?;
    let holder = crypto::generate_p256(None)?.public();
    let now = SystemClock.now();
    let mut envelope = Envelope {
        issuer: ISSUER.into(),
        vct: credential_type.vct.clone(),
        issued_at: Some(now),
        not_before: None,
        expires_at: Some(now + credential_type.issuance.validity_days * 86_400),
        holder_key: Some(holder),
        status: None,
    };
    let sign_one = |envelope: &Envelope| {
        sd_jwt_vc::issue(
            envelope,
            &claims,
            &disclosable,
            Some("load-baseline"),
            0,
            signer.as_ref(),
            crypto::system_random(),
            crypto::default_backend(),
        )
    };
    let started = Instant::now();
    let mut signed: u64 = 0;
    while started.elapsed() < duration {
        envelope.status = Some(StatusListReference {
            idx: (signed * 7919) % LIST_SIZE,
            uri: format!("{ISSUER}/status/1"),
        });
        sign_one(&envelope)?;
        signed += 1;
    }
    let sign_rate = rate(signed, started.elapsed());
    let verify_rate = proof_checks(duration, signer.as_ref(), now)?;
    let combined = 1.0 / (1.0 / sign_rate.max(f64::EPSILON) + 1.0 / verify_rate.max(f64::EPSILON));
    eprintln!(
        "sign: {sign_rate:.0} SD-JWT VCs/s, {verify_rate:.0} proof checks/s on one thread \
         (both per credential: {combined:.0}/s)"
    );
    Ok(json!({
        "command": "sign",
        "unit": "credentials",
        "per_sec": round(sign_rate),
        "proof_checks_per_sec": round(verify_rate),
        "sign_and_check_per_sec": round(combined),
        "threads": 1,
    }))
}

/// Proof JWTs checked per second (the proofs are made beforehand, off the clock).
fn proof_checks(duration: Duration, signer: &dyn Signer, now: i64) -> anyhow::Result<f64> {
    let proofs: Vec<String> = (0..64)
        .map(|i| {
            llavero_holder::proof::proof_jwt(signer, ISSUER, Some(&format!("n-{i}")), now, None)
        })
        .collect::<Result<_, _>>()?;
    let rules = ProofRules {
        audience: ISSUER,
        now,
        max_age: 300,
        skew: 60,
    };
    let started = Instant::now();
    let mut checked: u64 = 0;
    while started.elapsed() < duration {
        for proof in &proofs {
            verify_proof(proof, &rules, crypto::default_backend())?;
        }
        checked += proofs.len() as u64;
    }
    Ok(rate(checked, started.elapsed()))
}

/// The demo citizen, as `llavero serve` seeds it.
fn demo_person() -> llavero_store::Person {
    llavero_store::Person {
        run: 11_111_111,
        given_names: "Ana María".into(),
        paternal_surname: "Pérez".into(),
        maternal_surname: "Soto".into(),
        birth_date: "1985-06-15".into(),
        sex: "F".into(),
        nationality: "CL".into(),
        document_serial: "A111111111".into(),
        status: llavero_store::PersonStatus::Active,
        registry_updated_at: 0,
    }
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn rate(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(f64::EPSILON)
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
