//! Verification speed, each figure reported against raw ring ES256 verification of a 1 KiB
//! message measured in the same run (the machine is shared; ratios are what compare).
//! Every benchmark measures the CPU time of its thread ([`CpuTime`]), not wall time, so the
//! ratios hold while other processes load the machine.
//!
//! Each benchmark's batches alternate with as many raw verifications ([`paired`]), so its ratio
//! compares CPU times taken under the same load.
//!
//! Run: `cargo bench -p llavero-verifier`. The summary at the end prints each ratio
//! (operations per second relative to one raw verification) next to its target.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    unreachable_pub,
    dead_code,
    reason = "benchmark fixtures"
)]

#[path = "support/birth_certificate.rs"]
mod birth_certificate;
#[path = "support/cpu_time.rs"]
mod cpu_time;
#[path = "support/estimates.rs"]
mod estimates;
#[path = "../tests/fixture.rs"]
mod fixture;
#[path = "support/paired.rs"]
mod paired;

use std::hint::black_box;

use cpu_time::CpuTime;
use criterion::{Criterion, criterion_group};
use fixture::{
    AUD, BIRTH, NONCE, NOW, REGISTRO, REVOCATION_URI, TOKEN_URI, holder, present, registro, vc_jwt,
    verifier,
};
use llavero_credentials::crypto::{
    DangerousSeededRandom, default_backend, signer_from_jwk, system_random,
};
use llavero_credentials::sd_jwt::ClaimPath;
use llavero_credentials::sd_jwt_vc::{self, Envelope};
use llavero_credentials::status::StatusListReference;
use llavero_credentials::status::token::{EncodedStatusList, StatusList};
use llavero_verifier::Expectations;
use ring::signature::{self, KeyPair as _};
use serde_json::json;

const RAW: &str = "raw ring ES256 verify (1 KiB)";
const VC_JWT: &str = "VC-JWT full verification";
const VC_JWT_NESTED: &str = "VC-JWT full verification, nested birth certificate (1.7 KB)";
const SD_JWT_VC: &str = "SD-JWT VC, 8 disclosures + KB, full verification";
const ISSUE: &str = "SD-JWT VC issuance, 8 disclosable claims";
const STATUS_1M: &str = "decode 1,000,000-entry status list (1 bit)";

/// Raw ring ES256 verification of a 1 KiB message: the unit every ratio is expressed in.
fn raw_verification() -> impl Fn() {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 =
        signature::EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
    let pair = signature::EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8.as_ref(),
        &rng,
    )
    .unwrap();
    let message = vec![0x5a_u8; 1024];
    let sig = pair.sign(&rng, &message).unwrap();
    let public = pair.public_key().as_ref().to_vec();
    move || {
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, black_box(&public))
            .verify(black_box(&message), black_box(sig.as_ref()))
            .unwrap();
    }
}

fn raw_verify(c: &mut Criterion<CpuTime>) {
    let raw = raw_verification();
    c.bench_function(RAW, |b| b.iter(&raw));
}

fn claims() -> (serde_json::Map<String, serde_json::Value>, Vec<ClaimPath>) {
    let claims = json!({"given_name": "Ana María", "family_name": "Rojas Soto", "birthdate": "1990-05-01",
        "birth_place": "Valparaíso", "nationality": "CL", "sex": "F", "run": "12.345.678-5",
        "document_number": "A123456789"});
    let paths = claims
        .as_object()
        .unwrap()
        .keys()
        .map(|k| ClaimPath::claim(k))
        .collect();
    (claims.as_object().unwrap().clone(), paths)
}

fn envelope() -> Envelope {
    Envelope {
        issuer: REGISTRO.into(),
        vct: BIRTH.into(),
        issued_at: Some(NOW - 100),
        not_before: None,
        expires_at: Some(NOW + 1000),
        holder_key: Some(holder().public()),
        status: Some(StatusListReference {
            idx: 3,
            uri: TOKEN_URI.into(),
        }),
    }
}

fn full_verification(c: &mut Criterion<CpuTime>) {
    let verifier = verifier();
    let vc = vc_jwt(
        &["IdentityCardCredential"],
        Some(("revocation", REVOCATION_URI, 4)),
        "2030-01-01T00:00:00Z",
    );
    let none = Expectations::default();
    verifier.verify(&vc, NOW, &none).unwrap();
    let raw = raw_verification();
    paired::bench(c, VC_JWT, &raw, || {
        verifier.verify(black_box(&vc), NOW, &none).unwrap()
    });

    let nested = birth_certificate::token();
    verifier.verify(&nested, NOW, &none).unwrap();
    paired::bench(c, VC_JWT_NESTED, &raw, || {
        verifier.verify(black_box(&nested), NOW, &none).unwrap()
    });

    let (claims, paths) = claims();
    let signer = signer_from_jwk(&registro()).unwrap();
    let issued = sd_jwt_vc::issue(
        &envelope(),
        &claims,
        &paths,
        Some("registro-2026"),
        0,
        signer.as_ref(),
        &DangerousSeededRandom::new(1),
        default_backend(),
    )
    .unwrap();
    let all: Vec<&str> = claims.keys().map(String::as_str).collect();
    let presentation = present(&issued, &all, AUD, NONCE, NOW);
    let bound = Expectations::key_binding(AUD, NONCE);
    let verified = verifier.verify(&presentation, NOW, &bound).unwrap();
    assert_eq!(
        verified.credentials()[0]
            .claims()
            .as_object()
            .unwrap()
            .len(),
        8 + 6
    );
    paired::bench(c, SD_JWT_VC, &raw, || {
        verifier
            .verify(black_box(&presentation), NOW, &bound)
            .unwrap()
    });
}

fn issuance(c: &mut Criterion<CpuTime>) {
    let (claims, paths) = claims();
    let signer = signer_from_jwk(&registro()).unwrap();
    let envelope = envelope();
    let raw = raw_verification();
    paired::bench(c, ISSUE, &raw, || {
        sd_jwt_vc::issue(
            &envelope,
            black_box(&claims),
            &paths,
            Some("registro-2026"),
            0,
            signer.as_ref(),
            system_random(),
            default_backend(),
        )
        .unwrap()
    });
}

fn status_decode(c: &mut Criterion<CpuTime>) {
    let mut list = StatusList::new(1_000_000, 1).unwrap();
    let rng = DangerousSeededRandom::new(5);
    for _ in 0..10_000 {
        let i = llavero_credentials::crypto::random_below(&rng, 1_000_000).unwrap();
        list.set(usize::try_from(i).unwrap(), 1).unwrap();
    }
    let encoded: EncodedStatusList = list.encode().unwrap();
    c.bench_function(STATUS_1M, |b| {
        b.iter(|| StatusList::decode(black_box(&encoded)).unwrap());
    });
}

criterion_group!(
    name = benches;
    config = Criterion::default().with_measurement(CpuTime);
    targets = raw_verify, full_verification, issuance, status_decode
);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    let median =
        |name| estimates::criterion_home().and_then(|home| estimates::median_ns(&home, name));
    let Some(raw) = median(RAW) else {
        println!("\nNo result of {RAW:?} in criterion's output directory: no summary.");
        return;
    };
    println!(
        "\nSpeed relative to one raw ES256 verification ({:.1} µs CPU), each ratio taken over \
         raw verifications timed batch for batch with the benchmark:",
        raw / 1000.0
    );
    for (name, target) in [
        (VC_JWT, 0.95),
        (VC_JWT_NESTED, 0.95),
        (SD_JWT_VC, 0.46),
        (ISSUE, 2.5),
    ] {
        if let (Some(ratio), Some(ns)) = (paired::ratio(name), median(name)) {
            let verdict = if ratio >= target { "meets" } else { "BELOW" };
            println!(
                "  {name}: {ratio:.2}x (target >= {target}x, {verdict}), {:.1} µs",
                ns / 1000.0
            );
        }
    }
    if let Some(ns) = median(STATUS_1M) {
        println!("  {STATUS_1M}: {:.2} ms (target < 20 ms)", ns / 1e6);
    }
}
