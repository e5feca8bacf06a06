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
use serde_json::{Value, json};

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

/// Claim paths as `credential present` takes them: dotted, or a JSON array.
fn parse_paths(paths: &[String]) -> anyhow::Result<Vec<ClaimPath>> {
    paths
        .iter()
        .map(|p| {
            if p.starts_with('[') {
                json_array_path(p)
            } else {
                ClaimPath::parse_dotted(p).with_context(|| format!("claim path {p:?}"))
            }
        })
        .collect()
}

fn json_array_path(text: &str) -> anyhow::Result<ClaimPath> {
    let value: Value =
        serde_json::from_str(text).with_context(|| format!("claim path {text:?} is not JSON"))?;
    ClaimPath::from_value(&value).with_context(|| format!("claim path {text:?}"))
}

/// `--disclose` of `credential issue`: a JSON pointer into `claims` (`/is_over/18`), a JSON
/// array (`["is_over","18"]`) or a top-level claim name taken as it is. Unlike a dotted path,
/// none of these reads `18` as an array index where the claims hold an object key.
fn disclosable_path(text: &str, claims: &Value) -> anyhow::Result<ClaimPath> {
    if text.starts_with('/') {
        ClaimPath::from_json_pointer(text, claims).with_context(|| format!("claim path {text:?}"))
    } else if text.starts_with('[') {
        json_array_path(text)
    } else {
        anyhow::ensure!(!text.is_empty(), "empty claim path");
        Ok(ClaimPath::claim(text))
    }
}

/// Issues a credential as the arguments describe, at `now`.
pub fn issue(args: &IssueArgs, now: i64) -> anyhow::Result<String> {
    let key = files::read_private_key(&args.key)?;
    let signer = signer_from_jwk(&key)?;
    if let Some(path) = &args.credential {
        anyhow::ensure!(
            args.format == Format::VcJwt,
            "--credential takes a whole W3C credential: use it with --format vc-jwt"
        );
        let credential = files::read_json(path)?;
        return vc_jwt::issue_credential(&credential, signer.as_ref(), key.public().kid())
            .with_context(|| format!("{} cannot be issued", path.display()));
    }
    // clap requires these without --credential.
    let (Some(claims_path), Some(credential_type), Some(issuer)) =
        (&args.claims, &args.credential_type, &args.issuer)
    else {
        anyhow::bail!("--claims, --type and --issuer are required without --credential");
    };
    let claims_value = files::read_json(claims_path)?;
    let claims = claims_value
        .as_object()
        .with_context(|| format!("{} must hold a JSON object", claims_path.display()))?;
    let holder = args
        .holder_key
        .as_deref()
        .map(files::read_public_key)
        .transpose()?;
    let expires = now + args.valid_days * DAY;
    match args.format {
        Format::SdJwtVc => {
            let disclosable = if args.no_disclose {
                Vec::new()
            } else if args.disclose.is_empty() {
                claims.keys().map(|k| ClaimPath::claim(k)).collect()
            } else {
                args.disclose
                    .iter()
                    .map(|p| disclosable_path(p, &claims_value))
                    .collect::<anyhow::Result<_>>()?
            };
            let envelope = Envelope {
                issuer: issuer.clone(),
                vct: credential_type.clone(),
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
                "type": ["VerifiableCredential", credential_type],
                "issuer": issuer,
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
    Ok(llavero_holder::present::present(
        &credential,
        &parse_paths(&args.disclose)?,
        &args.aud,
        &args.nonce,
        now,
        signer.as_ref(),
        default_backend(),
    )?)
}
