//! A small world for verifier tests: a trust anchor, two issuers, a holder, signed status
//! lists and the offline bundle built from them, at a fixed time.

use llavero_credentials::crypto::{DangerousSeededRandom, default_backend, signer_from_jwk};
use llavero_credentials::did;
use llavero_credentials::jwk::PrivateJwk;
use llavero_credentials::sd_jwt::{ClaimPath, SdJwt};
use llavero_credentials::sd_jwt_vc::{self, Envelope};
use llavero_credentials::status::StatusListReference;
use llavero_credentials::status::bitstring::{
    BitstringStatusList, BitstringStatusListEntry, MIN_ENTRIES, StatusListCredential,
};
use llavero_credentials::status::token::{
    StatusList, StatusListTokenClaims, sign_status_list_token,
};
use llavero_credentials::vc_jwt;
use llavero_verifier::bundle::{BundledStatusList, OfflineBundle};
use llavero_verifier::trust_list::{Jwks, TrustListClaims, TrustedIssuer};
use llavero_verifier::{Verifier, VerifierOptions};
use serde_json::{Value, json};

pub const NOW: i64 = 1_790_000_000;
pub const REGISTRO: &str = "https://registro.llavero.cl";
pub const LICENCIAS: &str = "https://licencias.llavero.cl";
pub const BIRTH: &str = "https://llavero.cl/vct/birth-certificate";
pub const LICENCE: &str = "https://llavero.cl/vct/driving-licence";
pub const TOKEN_URI: &str = "https://registro.llavero.cl/status/1";
pub const REVOCATION_URI: &str = "https://registro.llavero.cl/status/w3c/revocation";
pub const SUSPENSION_URI: &str = "https://registro.llavero.cl/status/w3c/suspension";
pub const AUD: &str = "https://rp.example";
pub const NONCE: &str = "n-0S6_WzA2Mj";

pub fn key(seed: u64, kid: &str) -> PrivateJwk {
    PrivateJwk::generate_p256(&DangerousSeededRandom::new(seed), Some(kid.into())).unwrap()
}

pub fn anchor() -> PrivateJwk {
    key(1, "anchor-1")
}
pub fn registro() -> PrivateJwk {
    key(2, "registro-2026")
}
pub fn licencias() -> PrivateJwk {
    key(3, "licencias-2026")
}
pub fn holder() -> PrivateJwk {
    key(4, "holder")
}

pub fn trust_list() -> String {
    let issuer = |id: &str, name: &str, k: PrivateJwk, types: &[&str]| TrustedIssuer {
        id: id.into(),
        name: Some(name.into()),
        jwks: Jwks {
            keys: vec![k.public()],
        },
        credential_types: types.iter().map(|t| (*t).to_owned()).collect(),
        valid_from: None,
        valid_until: None,
    };
    TrustListClaims {
        iss: "https://trust.llavero.cl".into(),
        iat: NOW - 1000,
        exp: Some(NOW + 86_400),
        sequence: 1,
        issuers: vec![
            issuer(
                REGISTRO,
                "Registro Civil",
                registro(),
                &[BIRTH, "IdentityCardCredential"],
            ),
            issuer(LICENCIAS, "Licencias", licencias(), &[LICENCE]),
        ],
    }
    .sign(signer_from_jwk(&anchor()).unwrap().as_ref())
    .unwrap()
}

/// Token list: 7 revoked, 8 suspended. W3C lists: 5 revoked, 6 suspended.
pub fn bundle_with(fetched_at: i64, signer_of_token_list: &PrivateJwk) -> String {
    let mut token = StatusList::new(1024, 2).unwrap();
    token.set(7, 1).unwrap();
    token.set(8, 2).unwrap();
    let token_jwt = sign_status_list_token(
        &token,
        &StatusListTokenClaims {
            uri: TOKEN_URI.into(),
            iat: NOW - 500,
            exp: Some(NOW + 86_400),
            ttl: Some(3600),
            iss: None,
        },
        signer_from_jwk(signer_of_token_list).unwrap().as_ref(),
    )
    .unwrap();
    let w3c = |uri: &str, purpose: &str, index: usize| {
        let mut list = BitstringStatusList::new(MIN_ENTRIES).unwrap();
        list.set(index, true).unwrap();
        StatusListCredential {
            id: uri.into(),
            issuer: REGISTRO.into(),
            purpose: purpose.into(),
            valid_from: Some(NOW - 500),
            valid_until: Some(NOW + 86_400),
            ttl_ms: Some(3_600_000),
            list,
        }
        .sign(signer_from_jwk(&registro()).unwrap().as_ref())
        .unwrap()
    };
    let bundle = OfflineBundle {
        version: 1,
        built_at: fetched_at,
        trust_list: trust_list(),
        status_lists: vec![
            BundledStatusList {
                uri: TOKEN_URI.into(),
                token: token_jwt,
                fetched_at,
            },
            BundledStatusList {
                uri: REVOCATION_URI.into(),
                token: w3c(REVOCATION_URI, "revocation", 5),
                fetched_at,
            },
            BundledStatusList {
                uri: SUSPENSION_URI.into(),
                token: w3c(SUSPENSION_URI, "suspension", 6),
                fetched_at,
            },
        ],
    };
    serde_json::to_string(&bundle).unwrap()
}

pub fn bundle() -> String {
    bundle_with(NOW - 100, &registro())
}

pub fn verifier() -> Verifier {
    Verifier::from_bundle(
        &bundle(),
        &[anchor().public()],
        NOW,
        VerifierOptions::default(),
    )
    .unwrap()
}

pub struct SdJwtSpec {
    pub issuer: &'static str,
    pub signer: PrivateJwk,
    pub vct: &'static str,
    pub status_idx: Option<u64>,
    pub exp: i64,
}

impl Default for SdJwtSpec {
    fn default() -> Self {
        Self {
            issuer: REGISTRO,
            signer: registro(),
            vct: BIRTH,
            status_idx: Some(3),
            exp: NOW + 1000,
        }
    }
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "struct-update syntax at call sites reads best by value"
)]
pub fn sd_jwt_vc(spec: SdJwtSpec) -> String {
    let envelope = Envelope {
        issuer: spec.issuer.into(),
        vct: spec.vct.into(),
        issued_at: Some(NOW - 100),
        not_before: None,
        expires_at: Some(spec.exp),
        holder_key: Some(holder().public()),
        status: spec.status_idx.map(|idx| StatusListReference {
            idx,
            uri: TOKEN_URI.into(),
        }),
    };
    let claims = json!({"given_name": "Ana María", "family_name": "Rojas", "birthdate": "1990-05-01",
        "run": "12.345.678-5"});
    let paths: Vec<ClaimPath> = ["given_name", "family_name", "birthdate", "run"]
        .iter()
        .map(|p| ClaimPath::claim(p))
        .collect();
    sd_jwt_vc::issue(
        &envelope,
        claims.as_object().unwrap(),
        &paths,
        spec.signer.public().kid(),
        2,
        signer_from_jwk(&spec.signer).unwrap().as_ref(),
        &DangerousSeededRandom::new(9),
        default_backend(),
    )
    .unwrap()
}

pub fn present(credential: &str, disclose: &[&str], aud: &str, nonce: &str, iat: i64) -> String {
    let paths: Vec<ClaimPath> = disclose.iter().map(|p| ClaimPath::claim(p)).collect();
    SdJwt::parse(credential)
        .unwrap()
        .select(&paths, default_backend())
        .unwrap()
        .with_key_binding(
            aud,
            nonce,
            iat,
            signer_from_jwk(&holder()).unwrap().as_ref(),
            default_backend(),
        )
        .unwrap()
}

pub fn vc_jwt(types: &[&str], status: Option<(&str, &str, u64)>, valid_until: &str) -> String {
    let mut vc = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": std::iter::once("VerifiableCredential").chain(types.iter().copied()).collect::<Vec<_>>(),
        "issuer": REGISTRO,
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": valid_until,
        "credentialSubject": {"id": did::did_jwk(&holder().public()), "given_name": "Ana María"}
    });
    if let Some((purpose, uri, idx)) = status {
        vc["credentialStatus"] =
            serde_json::to_value(BitstringStatusListEntry::new(purpose, idx, uri)).unwrap();
    }
    vc_jwt::issue_credential(
        &vc,
        signer_from_jwk(&registro()).unwrap().as_ref(),
        Some("registro-2026"),
    )
    .unwrap()
}

pub fn vp_jwt(credentials: &[String], aud: &str, nonce: &str) -> String {
    let did = did::did_jwk(&holder().public());
    vc_jwt::issue_presentation(
        signer_from_jwk(&holder()).unwrap().as_ref(),
        &did,
        Some(&format!("{did}#0")),
        credentials,
        Some(aud),
        Some(nonce),
        NOW,
    )
    .unwrap()
}

pub fn claims_of(v: &llavero_verifier::Verification) -> &Value {
    v.credentials()[0].claims()
}
