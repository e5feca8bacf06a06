//! `llavero verify`: offline verification from the command line.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use llavero_credentials::time::{Clock, SystemClock};
use llavero_verifier::{Expectations, Rejection, Verifier, VerifierOptions};
use serde_json::json;

use crate::cli::VerifyArgs;
use crate::config::Config;
use crate::files;

/// Loads a bundle, checking it against the pinned anchor key.
pub fn load_verifier(
    bundle: &Path,
    anchor: &Path,
    config: &Config,
    now: i64,
) -> anyhow::Result<Verifier> {
    let anchor = files::read_public_key(anchor)?;
    let mut options = VerifierOptions::default();
    options.clock_skew_secs = config.clock_skew_secs;
    let verifier = Verifier::from_bundle(&files::read_text(bundle)?, &[anchor], now, options)
        .with_context(|| format!("loading bundle {}", bundle.display()))?;
    for skipped in verifier.skipped_lists() {
        tracing::warn!(uri = %skipped.uri, reason = %skipped.reason, "status list not loaded");
    }
    Ok(verifier)
}

/// `llavero verify`.
pub fn run(config: &Config, args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let anchor = args
        .anchor
        .as_deref()
        .or(config.trust_anchor.as_deref())
        .context("no trust anchor: pass --anchor or configure trust_anchor")?;
    let now = args.at.unwrap_or_else(|| SystemClock.now());
    let verifier = load_verifier(&args.bundle, anchor, config, now)?;
    let input = files::read_text(&args.input)?;
    let mut expect = Expectations::default();
    expect.audience.clone_from(&args.aud);
    expect.nonce.clone_from(&args.nonce);
    match verifier.verify(&input, now, &expect) {
        Ok(verification) => {
            println!("{}", serde_json::to_string_pretty(&verification)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(rejection) => {
            let mut error = json!({"code": rejection.code(), "message": rejection.to_string()});
            if let (Rejection::NonConforming { rule, .. }, Some(fields)) =
                (&rejection, error.as_object_mut())
            {
                fields.insert("rule".into(), rule.code().into());
            }
            let body = json!({"verified": false, "error": error});
            println!("{}", serde_json::to_string_pretty(&body)?);
            eprintln!("rejected: {rejection}");
            Ok(ExitCode::from(1))
        }
    }
}
