//! Wiring of the issuer service: built on the shared platform (store, master key, clock, audit
//! trail), handed to the identity provider as the handler of the pre-authorized code grant at
//! its token endpoint when the provider is assembled, and seeded with demo agencies.

use std::sync::Arc;

use anyhow::Context as _;
use llavero_credentials::time::Clock;
use llavero_idp::{Idp, IdpState};
use llavero_issuer::token::PreAuthorizedGrant;
use llavero_issuer::types::Catalog;
use llavero_issuer::{Issuer, IssuerConfig, IssuerState};
use llavero_platform::Platform;
use llavero_store::Store;

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

/// Builds the issuer on the shared platform.
pub fn build(config: &Config, platform: Platform) -> anyhow::Result<IssuerState> {
    let catalog = match &config.credential_types_dir {
        Some(dir) => Catalog::with_dir(dir)?,
        None => Catalog::builtin()?,
    };
    Ok(Issuer::new(IssuerConfig::default(), platform, catalog))
}

/// The provider and the issuer on one platform, the provider answering the issuer's
/// pre-authorized code grant: each built once, neither holding the other's state.
pub async fn with_provider(
    config: &Config,
    store: Store,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(IdpState, IssuerState)> {
    let (platform, settings) = crate::identity::platform(config, store, clock).await?;
    let issuer = build(config, platform.clone())?;
    let grant = Arc::new(PreAuthorizedGrant(Arc::clone(&issuer)));
    let idp = Idp::on(&platform, settings, Some(grant)).context("compiling page templates")?;
    Ok((idp, issuer))
}

/// Adds the demo agencies if there are none, and prints an API client of each.
pub async fn seed_demo(issuer: &Issuer) -> anyhow::Result<()> {
    if !issuer.platform.store.agencies().await?.is_empty() {
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
        match issuer
            .platform
            .store
            .purge_issuance_state(issuer.now())
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "purged expired issuance state"),
            Err(e) => tracing::error!(error = %e, "purging expired issuance state failed"),
        }
    }
}
