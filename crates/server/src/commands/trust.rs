//! `trust-list build`, `status-list build`, `bundle build`: the documents a relying party
//! downloads to verify offline.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use llavero_credentials::crypto::signer_from_jwk;
use llavero_credentials::jws::DecodedJws;
use llavero_credentials::status::Status;
use llavero_credentials::status::bitstring::{BitstringStatusList, StatusListCredential};
use llavero_credentials::status::token::{
    StatusList, StatusListTokenClaims, sign_status_list_token,
};
use llavero_credentials::time::{Clock, SystemClock};
use llavero_verifier::bundle::{BundledStatusList, OfflineBundle};
use llavero_verifier::trust_list::{Jwks, TrustListClaims, TrustedIssuer};
use serde::Deserialize;

use crate::cli::{BundleCommand, StatusListCommand, StatusListKind, TrustListCommand};
use crate::files;

/// One issuer in the `--issuers` file: keys inline (`jwks`) or as files (`key_files`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerEntry {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    jwks: Option<Jwks>,
    #[serde(default)]
    key_files: Vec<std::path::PathBuf>,
    credential_types: Vec<String>,
    #[serde(default)]
    valid_from: Option<i64>,
    #[serde(default)]
    valid_until: Option<i64>,
}

const DAY: i64 = 86_400;

/// Builds the issuer entries of a trust list, reading key files relative to `base`.
fn issuers_from(entries: Vec<IssuerEntry>, base: &Path) -> anyhow::Result<Vec<TrustedIssuer>> {
    entries
        .into_iter()
        .map(|entry| {
            let mut jwks = entry.jwks.unwrap_or_default();
            for file in &entry.key_files {
                jwks.keys.push(files::read_public_key(&base.join(file))?);
            }
            anyhow::ensure!(!jwks.keys.is_empty(), "issuer {} has no keys", entry.id);
            Ok(TrustedIssuer {
                id: entry.id,
                name: entry.name,
                jwks,
                credential_types: entry.credential_types,
                valid_from: entry.valid_from,
                valid_until: entry.valid_until,
            })
        })
        .collect()
}

/// Signs a trust list.
pub fn build_trust_list(
    issuers: Vec<TrustedIssuer>,
    anchor_key: &llavero_credentials::jwk::PrivateJwk,
    anchor_id: &str,
    now: i64,
    valid_days: i64,
    sequence: u64,
) -> anyhow::Result<String> {
    let claims = TrustListClaims {
        iss: anchor_id.to_owned(),
        iat: now,
        exp: Some(now + valid_days * DAY),
        sequence,
        issuers,
    };
    Ok(claims.sign(signer_from_jwk(anchor_key)?.as_ref())?)
}

/// `llavero trust-list …`
pub fn trust_list(
    config: &crate::config::Config,
    command: TrustListCommand,
) -> anyhow::Result<ExitCode> {
    let (issuers, anchor_key, anchor_id, valid_days, sequence, out) = match command {
        TrustListCommand::Build {
            issuers,
            anchor_key,
            anchor_id,
            valid_days,
            sequence,
            out,
        } => (issuers, anchor_key, anchor_id, valid_days, sequence, out),
        TrustListCommand::Publish {
            anchor_key,
            anchor_id,
            valid_days,
            sequence,
            out,
        } => {
            return super::issuer::publish_trust_list(
                config,
                &anchor_key,
                &anchor_id,
                valid_days,
                sequence,
                &out,
            );
        }
    };
    let entries: Vec<IssuerEntry> = serde_json::from_value(files::read_json(&issuers)?)
        .with_context(|| format!("{} is not a list of issuers", issuers.display()))?;
    let base = issuers.parent().unwrap_or(Path::new("."));
    let anchor = files::read_private_key(&anchor_key)?;
    let jwt = build_trust_list(
        issuers_from(entries, base)?,
        &anchor,
        &anchor_id,
        SystemClock.now(),
        valid_days,
        sequence,
    )?;
    files::write_text(&out, &jwt)?;
    Ok(ExitCode::SUCCESS)
}

/// Signs a status list with `revoked` and `suspended` entries set.
#[allow(clippy::too_many_arguments)]
pub fn build_status_list(
    kind: StatusListKind,
    uri: &str,
    issuer: &str,
    key: &llavero_credentials::jwk::PrivateJwk,
    size: usize,
    revoked: &[usize],
    suspended: &[usize],
    purpose: &str,
    ttl: u64,
    now: i64,
) -> anyhow::Result<String> {
    let signer = signer_from_jwk(key)?;
    match kind {
        StatusListKind::Token => {
            let mut list = StatusList::new(size, 2)?;
            for &i in revoked {
                list.set(i, Status::Invalid.value())?;
            }
            for &i in suspended {
                list.set(i, Status::Suspended.value())?;
            }
            let claims = StatusListTokenClaims {
                uri: uri.to_owned(),
                iat: now,
                exp: Some(now + 30 * DAY),
                ttl: Some(ttl),
                iss: Some(issuer.to_owned()),
            };
            Ok(sign_status_list_token(&list, &claims, signer.as_ref())?)
        }
        StatusListKind::Bitstring => {
            anyhow::ensure!(
                suspended.is_empty(),
                "a bitstring list has one purpose: use --purpose suspension with --revoked for its set entries"
            );
            let mut list = BitstringStatusList::new(size)?;
            for &i in revoked {
                list.set(i, true)?;
            }
            let credential = StatusListCredential {
                id: uri.to_owned(),
                issuer: issuer.to_owned(),
                purpose: purpose.to_owned(),
                valid_from: Some(now),
                valid_until: Some(now + 30 * DAY),
                ttl_ms: Some(ttl * 1000),
                list,
            };
            Ok(credential.sign(signer.as_ref())?)
        }
    }
}

/// `llavero status-list …`
pub fn status_list(command: StatusListCommand) -> anyhow::Result<ExitCode> {
    let StatusListCommand::Build {
        kind,
        uri,
        issuer,
        key,
        size,
        revoked,
        suspended,
        purpose,
        ttl,
        out,
    } = command;
    let key = files::read_private_key(&key)?;
    let jwt = build_status_list(
        kind,
        &uri,
        &issuer,
        &key,
        size,
        &revoked,
        &suspended,
        &purpose,
        ttl,
        SystemClock.now(),
    )?;
    files::write_text(&out, &jwt)?;
    Ok(ExitCode::SUCCESS)
}

/// The URI a signed status list declares: `sub` of a Token Status List, `id` of a bitstring
/// credential. Read unverified: the relying party verifies it when it loads the bundle.
fn list_uri(token: &str) -> anyhow::Result<String> {
    let jws = DecodedJws::decode(token)?;
    let claims: serde_json::Value = jws.unverified_claims()?;
    claims
        .get("sub")
        .or_else(|| claims.get("id"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .context("status list has neither sub nor id")
}

/// Assembles an offline bundle.
pub fn build_bundle(trust_list: String, lists: Vec<String>, now: i64) -> anyhow::Result<String> {
    let status_lists = lists
        .into_iter()
        .map(|token| {
            Ok(BundledStatusList {
                uri: list_uri(&token)?,
                token,
                fetched_at: now,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let bundle = OfflineBundle {
        version: 1,
        built_at: now,
        trust_list,
        status_lists,
    };
    Ok(serde_json::to_string_pretty(&bundle)?)
}

/// `llavero bundle …`
pub fn bundle(config: &crate::config::Config, command: BundleCommand) -> anyhow::Result<ExitCode> {
    let BundleCommand::Build {
        trust_list,
        status_lists,
        from_database,
        out,
    } = command;
    let trust = files::read_text(&trust_list)?.trim().to_owned();
    let mut lists = status_lists
        .iter()
        .map(|p| files::read_text(p).map(|t| t.trim().to_owned()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if from_database {
        lists.extend(super::issuer::current_status_lists(config)?);
    }
    files::write_text(&out, &build_bundle(trust, lists, SystemClock.now())?)?;
    Ok(ExitCode::SUCCESS)
}
