//! Wiring of the issuer service: built over the identity provider (its store, master key, clock
//! and audit trail), registered as the handler of the pre-authorized code grant at the
//! provider's token endpoint, and seeded with demo agencies.

use std::sync::Arc;

use llavero_idp::IdpState;
use llavero_issuer::token::PreAuthorizedGrant;
use llavero_issuer::types::Catalog;
use llavero_issuer::{Issuer, IssuerConfig, IssuerState};

use crate::config::Config;

/// The demo agencies: id, name, credential types.
pub const DEMO_AGENCIES: [(&str, &str, &[&str]); 2] = [
    (
        "registro-civil",
        "Servicio de Registro Civil e Identificación",
        &["birth-certificate", "identity-card", "criminal-record"],
    ),
    ("transito", "Dirección de Tránsito", &["driving-licence"]),
];

/// Builds the issuer over the provider and hands it the pre-authorized code grant.
pub fn build(config: &Config, idp: &IdpState) -> anyhow::Result<IssuerState> {
    let catalog = match &config.credential_types_dir {
        Some(dir) => Catalog::with_dir(dir)?,
        None => Catalog::builtin()?,
    };
    let issuer = Issuer::new(IssuerConfig::default(), Arc::clone(idp), catalog);
    if idp
        .extra_grant
        .set(Arc::new(PreAuthorizedGrant(Arc::clone(&issuer))))
        .is_err()
    {
        anyhow::bail!("the provider already has a pre-authorized code handler");
    }
    Ok(issuer)
}

/// Adds the demo agencies if there are none, and prints an API client of each.
pub async fn seed_demo(issuer: &Issuer) -> anyhow::Result<()> {
    if !issuer.idp.store.agencies().await?.is_empty() {
        return Ok(());
    }
    for (id, name, types) in DEMO_AGENCIES {
        let types: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
        llavero_issuer::agencies::add(issuer, id, name, &types).await?;
        let (client_id, secret) = llavero_issuer::agencies::add_client(issuer, id).await?;
        println!(
            "Demo agency {}: API client {client_id}  secret {secret}",
            issuer.agency_url(id)
        );
    }
    Ok(())
}

/// Deletes expired nonces and agency tokens, now and every hour.
pub async fn purge_expired(issuer: IssuerState) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_hours(1));
    loop {
        every_hour.tick().await;
        match issuer.idp.store.purge_issuance_state(issuer.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "purged expired issuance state"),
            Err(e) => tracing::error!(error = %e, "purging expired issuance state failed"),
        }
    }
}
