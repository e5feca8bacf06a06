//! Wiring of the identity provider: the store, the master key, the signing keys, demo data.

use std::sync::Arc;

use anyhow::Context as _;
use llavero_credentials::time::Clock;
use llavero_idp::{Idp, IdpConfig, IdpState};
use llavero_platform::MasterKey;
use llavero_platform::Platform;
use llavero_platform::Run;
use llavero_store::{Backend, Store};

use crate::config::Config;
use crate::files;

/// Opens (creating and migrating) the configured database, waiting up to
/// `database_connect_retry_secs` for a PostgreSQL server that cannot be reached yet.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let url = config.database_url();
    if Backend::from_url(&url)? == Backend::Sqlite {
        files::private_dir(&config.data_dir)?;
    }
    let retry_for = std::time::Duration::from_secs(config.database_connect_retry_secs.into());
    Store::connect_retrying(&url, retry_for)
        .await
        .context("opening the database")
}

/// The master key: configured, or for the embedded SQLite default generated once into
/// `data_dir/master.key` (mode 0600).
pub fn master_key(config: &Config, store: &Store) -> anyhow::Result<MasterKey> {
    if let Some(text) = &config.master_key {
        return MasterKey::from_base64(text).context("master_key");
    }
    anyhow::ensure!(
        store.backend() == Backend::Sqlite,
        "with PostgreSQL every instance needs the same master key: set LLAVERO_MASTER_KEY (32 bytes, base64url)"
    );
    let path = config.data_dir.join("master.key");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        return MasterKey::from_base64(&text).with_context(|| format!("{}", path.display()));
    }
    let key = MasterKey::generate();
    files::write_secret(&path, &key.to_base64())?;
    tracing::info!(path = %path.display(), "generated the master key");
    Ok(key)
}

/// The provider's settings from the service configuration; refuses an admin token too weak
/// to guard the admin API.
pub fn idp_config(config: &Config) -> anyhow::Result<IdpConfig> {
    let mut idp = IdpConfig::new(config.issuer());
    if let Some(secure) = config.secure_cookies {
        idp.secure_cookies = secure;
    }
    idp.admin_token_hash = config
        .admin_token
        .as_deref()
        .map(llavero_idp::admin::admin_token_hash)
        .transpose()
        .context("LLAVERO_ADMIN_TOKEN / admin_token")?;
    idp.login_rate_per_minute = config.login_rate_per_minute;
    idp.client_rate_per_minute = config.client_rate_per_minute;
    idp.refresh_grace_secs = i64::from(config.refresh_grace_secs);
    idp.webauthn_rp_id.clone_from(&config.webauthn_rp_id);
    idp.webauthn_origins.clone_from(&config.webauthn_origins);
    idp.require_enrolment = config.require_enrolment;
    if let Some(zone) = &config.time_zone {
        idp.time_zone = llavero_idp::web::display::LocalZone::named(zone)
            .context("LLAVERO_TIME_ZONE / time_zone")?;
    }
    idp.trusted_proxies.clone_from(&config.trusted_proxies);
    if let Some(workers) = config.password_hash_workers {
        idp.password_hash_workers = workers;
        idp.password_hash_queue = workers
            .get()
            .saturating_mul(llavero_idp::hashing::QUEUE_PER_WORKER);
    }
    if let Some(queue) = config.password_hash_queue {
        idp.password_hash_queue = queue;
    }
    Ok(idp)
}

/// The platform every service shares, over an open store: the master key (created on first
/// start), the first signing key if needed, and the audit trail the provider signs. Also the
/// provider's settings, which the platform's base URL and trusted proxies come from.
pub async fn platform(
    config: &Config,
    store: Store,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(Platform, IdpConfig)> {
    let master = master_key(config, &store)?;
    llavero_idp::keys::ensure(&store, &master, clock.now())
        .await
        .context("signing keys")?;
    let mut settings = idp_config(config)?;
    settings.webauthn_attestation = attestation_policy(config)?;
    let platform = llavero_idp::audit::platform(&settings, store, Arc::new(master), clock);
    Ok((platform, settings))
}

/// Builds the provider alone over an open store (the commands that need no other service).
pub async fn build(
    config: &Config,
    store: Store,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<IdpState> {
    let (platform, settings) = platform(config, store, clock).await?;
    Idp::on(&platform, settings, None).context("compiling page templates")
}

/// The attestation allow-list: each configured CA file read and parsed with its AAGUIDs.
pub fn attestation_policy(
    config: &Config,
) -> anyhow::Result<Option<llavero_idp::attestation::AttestationPolicy>> {
    if config.webauthn_attestation.is_empty() {
        return Ok(None);
    }
    let entries = config
        .webauthn_attestation
        .iter()
        .map(|entry| {
            let ca_pem = std::fs::read_to_string(&entry.ca)
                .with_context(|| format!("reading attestation CA {}", entry.ca.display()))?;
            Ok(llavero_idp::attestation::AttestationTrust {
                ca_pem,
                aaguids: entry.aaguids.clone(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    llavero_idp::attestation::AttestationPolicy::new(&entries)
        .map(Some)
        .context("webauthn_attestation")
}

/// The demo citizen printed at start.
pub const DEMO_RUN: &str = "11.111.111-1";

/// Seeds an empty registry with synthetic people, a demo citizen with an account, and prints
/// how to log in.
pub async fn seed_demo(idp: &Idp) -> anyhow::Result<()> {
    if idp.store.people_count().await? > 0 {
        return Ok(());
    }
    let mut people = Vec::new();
    llavero_idp::registry::demo::write(&mut people, 1_000, 2026, false)?;
    let demo_person = serde_json::json!({
        "run": DEMO_RUN, "given_names": "Ana María", "paternal_surname": "Pérez", "maternal_surname": "Soto",
        "birth_date": "1985-06-15", "sex": "F", "nationality": "CL", "document_serial": "A111111111",
        "status": "active", "updated_at": "2026-01-01T00:00:00Z",
    });
    people.extend_from_slice(format!("{demo_person}\n").as_bytes());
    let report = llavero_idp::registry::import::import(
        &idp.store,
        people.as_slice(),
        llavero_idp::registry::import::ImportFormat::JsonLines,
        idp.now(),
        |_| {},
    )
    .await?;
    let run: Run = DEMO_RUN.parse()?;
    let code = llavero_idp::accounts::issue_activation_code(idp, run).await?;
    let password = format!("demo-{}", llavero_platform::random::id());
    let activated = llavero_idp::accounts::activate(
        idp,
        DEMO_RUN,
        &code.code,
        "A111111111",
        &password,
        &password,
    )
    .await?;
    anyhow::ensure!(activated.is_ok(), "activating the demo account failed");
    tracing::info!(people = report.written, "seeded a demo civil registry");
    println!(
        "Demo account: RUN {DEMO_RUN}  password {password}  (log in at {}/account)",
        idp.config.issuer
    );
    Ok(())
}

/// Truncates audit-trail IPs older than the retention period, now and every hour.
pub async fn truncate_audit_ips(idp: IdpState, retention_days: i64) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_hours(1));
    loop {
        every_hour.tick().await;
        match idp
            .store
            .truncate_audit_ips(idp.now() - retention_days * 86_400)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(entries = n, "truncated audit IPs past retention"),
            Err(e) => tracing::error!(error = %e, "truncating audit IPs failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_weak_admin_token_stops_the_start_with_a_clear_message() {
        let config = Config {
            admin_token: Some("a".into()),
            ..Config::default()
        };
        let error = format!("{:#}", idp_config(&config).unwrap_err());
        assert!(error.contains("admin_token is too weak"), "{error}");
        let config = Config {
            admin_token: Some("0f1e2d3c4b5a69788796a5b4c3d2e1f0".into()),
            ..Config::default()
        };
        assert!(idp_config(&config).unwrap().admin_token_hash.is_some());
        assert!(
            idp_config(&Config::default())
                .unwrap()
                .admin_token_hash
                .is_none()
        );
    }
}
