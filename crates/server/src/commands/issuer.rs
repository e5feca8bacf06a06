//! `issuer …`, `trust-list publish` and `bundle build --from-database`: the issuer's operator
//! commands, on the configured database (so they run beside live instances).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use llavero_credentials::time::{Clock, SystemClock};
use llavero_issuer::IssuerState;
use serde_json::json;

use super::identity::block_on;
use crate::cli::IssuerCommand;
use crate::config::Config;
use crate::{files, identity, issuance};

async fn open(config: &Config) -> anyhow::Result<IssuerState> {
    let store = identity::open_store(config).await?;
    let (platform, _) = identity::platform(config, store, Arc::new(SystemClock)).await?;
    issuance::build(config, platform)
}

/// `llavero issuer …`
pub fn run(config: &Config, command: IssuerCommand) -> anyhow::Result<ExitCode> {
    block_on(async {
        let issuer = open(config).await?;
        match command {
            IssuerCommand::Add { id, name, types } => {
                let new = llavero_issuer::agencies::add(&issuer, &id, &name, &types).await?;
                let url = issuer.agency_url(&id);
                let mut out = json!({
                    "agency": id,
                    "credential_issuer": url,
                    "did": llavero_issuer::metadata::did_web(&url),
                    "updated": !new,
                });
                if new {
                    let (client_id, secret) =
                        llavero_issuer::agencies::add_client(&issuer, &id).await?;
                    if let Some(obj) = out.as_object_mut() {
                        obj.insert("client_id".into(), client_id.into());
                        obj.insert("client_secret".into(), secret.into());
                    }
                }
                println!("{out}");
            }
            IssuerCommand::Client { id } => {
                anyhow::ensure!(
                    issuer.platform.store.agency(&id).await?.is_some(),
                    "no agency {id}"
                );
                let (client_id, secret) =
                    llavero_issuer::agencies::add_client(&issuer, &id).await?;
                println!(
                    "{}",
                    json!({"client_id": client_id, "client_secret": secret})
                );
            }
            IssuerCommand::RotateKey { id, overlap_days } => {
                let agency = issuer
                    .platform
                    .store
                    .agency(&id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no agency {id}"))?;
                let kid = llavero_issuer::keys::rotate(
                    &issuer.platform.store,
                    &issuer.platform.master,
                    &id,
                    issuer.now(),
                    overlap_days * 86_400,
                    llavero_issuer::agencies::max_validity_secs(&issuer, &agency),
                )
                .await?;
                println!(
                    "{}",
                    json!({"agency": id, "kid": kid, "signs_from": issuer.now() + overlap_days * 86_400})
                );
            }
            IssuerCommand::List => {
                for agency in issuer.platform.store.agencies().await? {
                    let keys = issuer.platform.store.agency_keys(&agency.id).await?;
                    let kids: Vec<_> = keys
                        .iter()
                        .map(|k| json!({"kid": k.kid, "activates_at": k.activates_at, "publish_until": k.publish_until}))
                        .collect();
                    println!(
                        "{}",
                        json!({"agency": agency.id, "name": agency.name,
                               "credential_issuer": issuer.agency_url(&agency.id),
                               "credential_types": agency.credential_types, "keys": kids})
                    );
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `llavero trust-list publish`: every agency, signed by the trust anchor.
pub fn publish_trust_list(
    config: &Config,
    anchor_key: &Path,
    anchor_id: &str,
    valid_days: i64,
    sequence: Option<u64>,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let anchor = files::read_private_key(anchor_key)?;
    let now = SystemClock.now();
    let issuers = block_on(async {
        let issuer = open(config).await?;
        Ok(llavero_issuer::agencies::trusted_issuers(&issuer).await?)
    })?;
    let sequence = sequence.unwrap_or_else(|| u64::try_from(now).unwrap_or_default());
    let jwt =
        super::trust::build_trust_list(issuers, &anchor, anchor_id, now, valid_days, sequence)?;
    files::write_text(out, &jwt)?;
    Ok(ExitCode::SUCCESS)
}

/// Every agency's status lists, signed now.
pub fn current_status_lists(config: &Config) -> anyhow::Result<Vec<String>> {
    block_on(async {
        let issuer = open(config).await?;
        let lists = llavero_issuer::status::publish_all(&issuer)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {}", e.error, e.description))?;
        Ok(lists.into_iter().map(|l| l.token).collect())
    })
}
