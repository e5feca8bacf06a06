//! `llavero verifier …`: the presentation service's operator commands, on the configured
//! database (so they run beside live instances).

use std::process::ExitCode;
use std::sync::Arc;

use llavero_credentials::sd_jwt::{ClaimPath, PathElement};
use llavero_credentials::time::SystemClock;
use llavero_presentations::parties::{self, ClientIdPrefix, Party};
use llavero_presentations::registration::{Allowed, Registration};
use serde_json::json;

use super::identity::block_on;
use crate::cli::VerifierCommand;
use crate::config::Config;
use crate::{identity, issuance, presentations};

/// `FORMAT TYPE CLAIM…`, claim paths dot-separated (`credentialSubject.run`).
fn allowed(entry: &str) -> anyhow::Result<Allowed> {
    let mut words = entry.split_whitespace();
    let (Some(format), Some(credential_type)) = (words.next(), words.next()) else {
        anyhow::bail!("--allow takes FORMAT TYPE CLAIM…, got {entry:?}");
    };
    let claims: Vec<ClaimPath> = words
        .map(|path| {
            ClaimPath(
                path.split('.')
                    .map(|k| PathElement::Key(k.to_owned()))
                    .collect(),
            )
        })
        .collect();
    anyhow::ensure!(!claims.is_empty(), "--allow {entry:?} names no claim");
    Ok(Allowed {
        format: format.to_owned(),
        types: vec![credential_type.to_owned()],
        claims,
    })
}

/// `llavero verifier …`
pub fn run(config: &Config, command: VerifierCommand) -> anyhow::Result<ExitCode> {
    block_on(async {
        let store = identity::open_store(config).await?;
        let (platform, _) = identity::platform(config, store, Arc::new(SystemClock)).await?;
        let issuer = issuance::build(config, platform)?;
        let service = presentations::build(config, &issuer).await?;
        let describe = |party: &Party| {
            let client_ids: Vec<String> = [ClientIdPrefix::X509Hash, ClientIdPrefix::X509SanDns]
                .into_iter()
                .filter_map(|p| party.client_id(p))
                .collect();
            json!({
                "relying_party": party.row.id,
                "name": party.row.name,
                "client_ids": client_ids,
                "credentials": party.registration.credentials,
                "presets": party.registration.presets.keys().collect::<Vec<_>>(),
            })
        };
        match command {
            VerifierCommand::Add {
                id,
                name,
                dns_name,
                redirect_uri,
                query_preset,
                allow,
            } => {
                let mut registration = Registration::from_presets(&query_preset)?;
                registration.redirect_uris = redirect_uri;
                for entry in allow {
                    registration.credentials.push(allowed(&entry)?);
                }
                let party =
                    parties::add(&service, &id, &name, dns_name.as_deref(), &registration).await?;
                let (client_id, secret) = parties::add_client(&service, &id).await?;
                let mut out = describe(&party);
                if let Some(obj) = out.as_object_mut() {
                    obj.insert("client_id".into(), client_id.into());
                    obj.insert("client_secret".into(), secret.into());
                }
                println!("{out}");
            }
            VerifierCommand::Client { id } => {
                let (client_id, secret) = parties::add_client(&service, &id).await?;
                println!(
                    "{}",
                    json!({"client_id": client_id, "client_secret": secret})
                );
            }
            VerifierCommand::List => {
                for row in service.store.relying_parties().await? {
                    println!("{}", describe(&Party::from_row(row)?));
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
