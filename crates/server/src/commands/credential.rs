//! `credential issue` and `credential present`.

use std::process::ExitCode;

use anyhow::Context as _;
use llavero_credentials::crypto::{default_backend, signer_from_jwk, system_random};
use llavero_credentials::did;
use llavero_credentials::sd_jwt::ClaimPath;
use llavero_credentials::sd_jwt_vc::{self, Envelope};
use llavero_credentials::status::StatusListReference;
use llavero_credentials::status::bitstring::BitstringStatusListEntry;
use llavero_credentials::time::{Clock, SystemClock, format_datetime};
use llavero_credentials::vc_jwt;
use serde_json::json;

use crate::cli::{CredentialCommand, Format, IssueArgs, PresentArgs};
use crate::files;

const DAY: i64 = 86_400;
/// Decoy digests per `_sd` array: hides how many claims a credential has.
const DECOYS: usize = 2;

/// `llavero credential …`
pub fn run(command: CredentialCommand) -> anyhow::Result<ExitCode> {
    let out = match command {
        CredentialCommand::Issue(args) => issue(&args, SystemClock.now())?,
        CredentialCommand::Present(args) => present(&args, SystemClock.now())?,
    };
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn parse_paths(paths: &[String]) -> anyhow::Result<Vec<ClaimPath>> {
    paths
        .iter()
        .map(|p| ClaimPath::parse_dotted(p).with_context(|| format!("claim path {p:?}")))
        .collect()
}

/// Issues a credential as the arguments describe, at `now`.
pub fn issue(args: &IssueArgs, now: i64) -> anyhow::Result<String> {
    let claims = files::read_json(&args.claims)?;
    let claims = claims
        .as_object()
        .with_context(|| format!("{} must hold a JSON object", args.claims.display()))?;
    let key = files::read_private_key(&args.key)?;
    let signer = signer_from_jwk(&key)?;
    let holder = args
        .holder_key
        .as_deref()
        .map(files::read_public_key)
        .transpose()?;
    let expires = now + args.valid_days * DAY;
    match args.format {
        Format::SdJwtVc => {
            let disclosable = if args.disclose.is_empty() {
                claims.keys().map(|k| ClaimPath::claim(k)).collect()
            } else {
                parse_paths(&args.disclose)?
            };
            let envelope = Envelope {
                issuer: args.issuer.clone(),
                vct: args.credential_type.clone(),
                issued_at: Some(now),
                not_before: None,
                expires_at: Some(expires),
                holder_key: holder,
                status: args
                    .status_uri
                    .clone()
                    .zip(args.status_index)
                    .map(|(uri, idx)| StatusListReference { idx, uri }),
            };
            Ok(sd_jwt_vc::issue(
                &envelope,
                claims,
                &disclosable,
                key.public().kid(),
                DECOYS,
                signer.as_ref(),
                system_random(),
                default_backend(),
            )?)
        }
        Format::VcJwt => {
            let mut subject = claims.clone();
            if let Some(holder) = &holder {
                subject.insert("id".into(), did::did_jwk(holder).into());
            }
            let mut credential = json!({
                "@context": [vc_jwt::CREDENTIALS_V2],
                "type": ["VerifiableCredential", args.credential_type],
                "issuer": args.issuer,
                "validFrom": format_datetime(now),
                "validUntil": format_datetime(expires),
                "credentialSubject": subject,
            });
            if let (Some(uri), Some(index), Some(obj)) = (
                &args.status_uri,
                args.status_index,
                credential.as_object_mut(),
            ) {
                obj.insert(
                    "credentialStatus".into(),
                    serde_json::to_value(BitstringStatusListEntry::new("revocation", index, uri))?,
                );
            }
            Ok(vc_jwt::issue_credential(
                &credential,
                signer.as_ref(),
                key.public().kid(),
            )?)
        }
    }
}

/// Builds a presentation of a held credential for one verifier.
pub fn present(args: &PresentArgs, now: i64) -> anyhow::Result<String> {
    let credential = files::read_text(&args.credential)?;
    let holder = files::read_private_key(&args.holder_key)?;
    let signer = signer_from_jwk(&holder)?;
    Ok(llavero_wallet::present::present(
        &credential,
        &parse_paths(&args.disclose)?,
        &args.aud,
        &args.nonce,
        now,
        signer.as_ref(),
        default_backend(),
    )?)
}
