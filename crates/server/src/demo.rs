//! Demo material for a fresh machine: a trust anchor, the civil registry as an issuer, a
//! holder, signed status lists, the offline bundle and sample credentials, so `llavero serve`
//! verifies something real on first start. Keys are created once and kept; the signed
//! documents are rebuilt at every start so they never expire under a running demo.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use llavero_credentials::crypto;
use llavero_credentials::jwk::PrivateJwk;
use llavero_verifier::trust_list::{Jwks, TrustedIssuer};
use serde_json::json;

use crate::cli::{Format, IssueArgs, StatusListKind};
use crate::commands::{credential, trust};
use crate::files;

/// The demo issuer: the civil registry.
pub const REGISTRO: &str = "https://registro.llavero.cl";
/// The demo birth certificate type.
pub const BIRTH_CERTIFICATE: &str = "https://llavero.cl/vct/birth-certificate";
/// The demo token status list.
pub const TOKEN_LIST: &str = "https://registro.llavero.cl/status/1";
/// The demo W3C revocation list.
pub const BITSTRING_LIST: &str = "https://registro.llavero.cl/status/w3c/1";

/// Where the demo material is.
#[derive(Debug)]
pub struct Demo {
    /// The demo directory.
    pub dir: PathBuf,
    /// The offline bundle.
    pub bundle: PathBuf,
    /// The trust anchor's public key.
    pub anchor: PathBuf,
}

fn key(dir: &Path, name: &str, kid: &str) -> anyhow::Result<PrivateJwk> {
    let path = dir.join(format!("{name}.jwk"));
    if path.exists() {
        return files::read_private_key(&path);
    }
    let key = crypto::generate_p256(Some(kid.to_owned()))?;
    files::write_secret(&path, &key.to_secret_value())?;
    files::write_text(
        &dir.join(format!("{name}.pub.jwk")),
        &key.public().to_value().to_string(),
    )?;
    Ok(key)
}

/// Creates (or refreshes) the demo material under `data_dir/demo`.
pub fn ensure(data_dir: &Path, now: i64) -> anyhow::Result<Demo> {
    files::private_dir(data_dir)?;
    let dir = data_dir.join("demo");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let anchor = key(&dir, "anchor", "anchor-1")?;
    let registro = key(&dir, "registro", "registro-1")?;
    key(&dir, "holder", "holder-1")?;

    let issuers = vec![TrustedIssuer {
        id: REGISTRO.into(),
        name: Some("Servicio de Registro Civil e Identificación".into()),
        jwks: Jwks {
            keys: vec![registro.public()],
        },
        credential_types: vec![
            BIRTH_CERTIFICATE.into(),
            "https://llavero.cl/vct/identity-card".into(),
            "IdentityCardCredential".into(),
        ],
        valid_from: None,
        valid_until: None,
    }];
    let trust_list =
        trust::build_trust_list(issuers, &anchor, "https://trust.llavero.cl", now, 30, 1)?;
    let token = trust::build_status_list(
        StatusListKind::Token,
        TOKEN_LIST,
        REGISTRO,
        &registro,
        1024,
        &[7],
        &[8],
        "revocation",
        3600,
        now,
    )?;
    let bitstring = trust::build_status_list(
        StatusListKind::Bitstring,
        BITSTRING_LIST,
        REGISTRO,
        &registro,
        131_072,
        &[7],
        &[],
        "revocation",
        3600,
        now,
    )?;
    let bundle = dir.join("bundle.json");
    files::write_text(
        &bundle,
        &trust::build_bundle(trust_list.clone(), vec![token, bitstring], now)?,
    )?;
    files::write_text(&dir.join("trust-list.jwt"), &trust_list)?;

    let claims = dir.join("claims.json");
    files::write_text(
        &claims,
        &json!({"given_name": "Ana María", "family_name": "Rojas Soto", "birthdate": "1990-05-01",
                "birth_place": "Valparaíso", "run": "12.345.678-5"})
        .to_string(),
    )?;
    let sample = |credential_type: &str, format: Format, status_uri: &str, index: u64| IssueArgs {
        credential_type: Some(credential_type.into()),
        issuer: Some(REGISTRO.into()),
        claims: Some(claims.clone()),
        credential: None,
        key: dir.join("registro.jwk"),
        holder_key: Some(dir.join("holder.pub.jwk")),
        format,
        disclose: Vec::new(),
        no_disclose: false,
        valid_days: 365,
        status_uri: Some(status_uri.into()),
        status_index: Some(index),
    };
    let samples = [
        (
            "birth-certificate.sd-jwt",
            sample(BIRTH_CERTIFICATE, Format::SdJwtVc, TOKEN_LIST, 3),
        ),
        (
            "revoked.sd-jwt",
            sample(BIRTH_CERTIFICATE, Format::SdJwtVc, TOKEN_LIST, 7),
        ),
        (
            "identity-card.vc-jwt",
            sample("IdentityCardCredential", Format::VcJwt, BITSTRING_LIST, 3),
        ),
    ];
    for (name, args) in samples {
        files::write_text(&dir.join(name), &credential::issue(&args, now)?)?;
    }
    Ok(Demo {
        anchor: dir.join("anchor.pub.jwk"),
        bundle,
        dir,
    })
}
