//! Wiring of the presentation service: built on the shared platform (store, master key, clock,
//! base URL, audit trail), with the trust it verifies against kept current from the
//! issuer's agencies (their published keys and signed status lists), and a demo relying party.

use std::sync::Arc;

use llavero_credentials::crypto;
use llavero_issuer::IssuerState;
use llavero_presentations::registration::{PRESETS, Registration};
use llavero_presentations::{Presentations, PresentationsConfig, PresentationsState, Trust};
use llavero_verifier::{Verifier, VerifierOptions};

use llavero_verifier::bundle::{BundledStatusList, OfflineBundle};
use llavero_verifier::trust_list::TrustListClaims;

/// How often trust (agencies' keys, status lists) is rebuilt: within the lists' `ttl`.
const TRUST_REFRESH_SECS: u64 = 60;

/// A verifier trusting every agency of the issuer, with their current status lists. The
/// trust list is signed by a key that lives only in this process: it is never published.
pub async fn agency_verifier(issuer: &IssuerState) -> anyhow::Result<Verifier> {
    let now = issuer.now();
    let issuers = llavero_issuer::agencies::trusted_issuers(issuer).await?;
    let lists = llavero_issuer::status::publish_all(issuer)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {}", e.error, e.description))?;
    let anchor = crypto::generate_p256(Some("presentations".into()))?;
    let trust_list = TrustListClaims {
        iss: "https://trust.llavero.cl".into(),
        iat: now,
        exp: Some(now + 86_400),
        sequence: 1,
        issuers,
    }
    .sign(crypto::signer_from_jwk(&anchor)?.as_ref())?;
    let bundle = OfflineBundle {
        version: 1,
        built_at: now,
        trust_list,
        status_lists: lists
            .into_iter()
            .map(|l| BundledStatusList {
                uri: l.uri,
                token: l.token,
                fetched_at: now,
            })
            .collect(),
    };
    Ok(Verifier::from_bundle(
        &serde_json::to_string(&bundle)?,
        &[anchor.public()],
        now,
        VerifierOptions::default(),
    )?)
}

/// Builds the presentation service on the issuer's platform (the one every service shares).
pub async fn build(
    config: &crate::config::Config,
    issuer: &IssuerState,
) -> anyhow::Result<PresentationsState> {
    let source = Arc::clone(issuer);
    let refresh: llavero_presentations::state::Refresh = Box::new(move || {
        let issuer = Arc::clone(&source);
        Box::pin(async move { agency_verifier(&issuer).await.ok() })
    });
    let trust = Arc::new(Trust::refreshing(agency_verifier(issuer).await?, refresh));
    let settings = PresentationsConfig {
        dangerous_allow_redirect_uri_client_ids: config
            .verifier_dangerous_allow_redirect_uri_client_ids,
        ..PresentationsConfig::default()
    };
    if settings.dangerous_allow_redirect_uri_client_ids {
        tracing::warn!(
            "the presentation service accepts redirect_uri client identifiers: unsigned requests, for development only"
        );
    }
    Ok(Presentations::new(settings, issuer.platform.clone(), trust).await?)
}

/// Rebuilds trust every minute, so new agencies, rotated keys and revocations are seen.
pub async fn refresh_trust(service: PresentationsState, issuer: IssuerState) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(TRUST_REFRESH_SECS));
    loop {
        every.tick().await;
        match agency_verifier(&issuer).await {
            Ok(verifier) => service.trust.replace(verifier),
            Err(e) => {
                tracing::error!(error = %e, "refreshing the presentation service's trust failed");
            }
        }
        match llavero_presentations::audit::purge(&service).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "purged expired presentation transactions"),
            Err(e) => tracing::error!(error = %e, "purging presentation transactions failed"),
        }
    }
}

/// Adds the demo relying party (every preset) if it is missing, and prints an API client.
pub async fn seed_demo(service: &Presentations) -> anyhow::Result<()> {
    use llavero_presentations::demo::DEMO_PARTY;
    if service.store.relying_party(DEMO_PARTY).await?.is_some() {
        return Ok(());
    }
    let presets: Vec<String> = PRESETS.iter().map(|p| (*p).to_owned()).collect();
    let mut registration = Registration::from_presets(&presets)?;
    registration
        .redirect_uris
        .push(service.url(llavero_presentations::demo::RETURN_PATH));
    llavero_presentations::parties::add(
        service,
        DEMO_PARTY,
        "Verificador de demostración",
        None,
        &registration,
    )
    .await?;
    let (client_id, secret) =
        llavero_presentations::parties::add_client(service, DEMO_PARTY).await?;
    println!(
        "Demo relying party {}: API client {client_id}  secret {secret}  (page {})",
        DEMO_PARTY,
        service.url("/verifier/demo")
    );
    Ok(())
}
