//! What every request handler shares.

use std::sync::Arc;

use llavero_credentials::time::Clock;
use llavero_platform::authorization::ExtraGrant;
use llavero_platform::{Audit, Platform, TrustedProxies};
use llavero_store::{SessionLimits, Store, StoreError};

use crate::config::IdpConfig;
use crate::keys::KeyRing;
use crate::pages::Pages;
use crate::seal::MasterKey;

/// The identity provider: configuration, database, keys, pages, clock.
pub struct Idp {
    /// Settings.
    pub config: IdpConfig,
    /// The database (shared by every instance).
    pub store: Store,
    /// Seals signing keys; derives the CSRF and pairwise-subject keys.
    pub master: Arc<MasterKey>,
    /// Signing keys.
    pub keys: KeyRing,
    /// HTML pages.
    pub pages: Pages,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Argon2id hashing, bounded in concurrency and memory.
    pub hasher: crate::hashing::PasswordHasher,
    /// Group commit for audit entries and refresh-token rotations (none outside a tokio
    /// runtime: direct writes); the audit recorder's queue.
    pub writes: Option<crate::write_queue::WriteQueue>,
    /// The audit trail every service records into.
    pub audit: Audit,
    /// The WebAuthn relying party (none if the issuer's host cannot be an RP id).
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
    /// A grant type another service handles at this provider's token endpoint (the issuer's
    /// pre-authorized code), given when the server assembles the provider.
    pub extra_grant: Option<Arc<dyn ExtraGrant>>,
    pub(crate) trusted_proxies: Arc<TrustedProxies>,
    pub(crate) client_limiter: crate::limiter::LocalLimiter,
    pub(crate) clients: crate::client_cache::ClientCache,
    pub(crate) refresh_grants: crate::refresh_grants::RefreshGrants,
    pub(crate) csrf_key: ring::hmac::Key,
    pub(crate) pairwise_key: ring::hmac::Key,
}

impl std::fmt::Debug for Idp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idp")
            .field("issuer", &self.config.issuer)
            .finish_non_exhaustive()
    }
}

/// The handle handlers receive.
pub type IdpState = Arc<Idp>;

impl Idp {
    /// Assembles the provider on a platform of its own (tools and tests; the server shares
    /// one platform between services: [`Idp::on`]). Signing keys must exist
    /// ([`crate::keys::ensure`]).
    pub fn new(
        config: IdpConfig,
        store: Store,
        master: MasterKey,
        clock: Arc<dyn Clock>,
    ) -> Result<IdpState, minijinja::Error> {
        let platform = crate::checkpoints::platform(&config, store, Arc::new(master), clock);
        Self::on(&platform, config, None)
    }

    /// Assembles the provider on the shared `platform`, answering `extra_grant` at its token
    /// endpoint. Signing keys must exist ([`crate::keys::ensure`]).
    pub fn on(
        platform: &Platform,
        config: IdpConfig,
        extra_grant: Option<Arc<dyn ExtraGrant>>,
    ) -> Result<IdpState, minijinja::Error> {
        let keys = KeyRing::new(config.id_token_secs + 300);
        let webauthn = crate::relying_party::from_config(&config)
            .map(Arc::new)
            .map_err(|e| tracing::warn!(error = %e, "WebAuthn disabled: the issuer cannot be a relying party"))
            .ok();
        let master = Arc::clone(&platform.master);
        Ok(Arc::new(Self {
            csrf_key: master.derive("llavero csrf v1"),
            pairwise_key: master.derive("llavero pairwise subject v1"),
            pages: Pages::new()?,
            hasher: crate::hashing::PasswordHasher::new(config.hashing_limits()),
            writes: platform.audit.writes().cloned(),
            audit: platform.audit.clone(),
            client_limiter: crate::limiter::LocalLimiter::default(),
            clients: crate::client_cache::ClientCache::default(),
            refresh_grants: crate::refresh_grants::RefreshGrants::default(),
            webauthn,
            extra_grant,
            trusted_proxies: Arc::clone(&platform.trusted_proxies),
            keys,
            config,
            store: platform.store.clone(),
            master,
            clock: Arc::clone(&platform.clock),
        }))
    }

    /// Now, in Unix seconds.
    #[must_use]
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The registered client `id` (cached: see [`crate::client_cache::ClientCache`]).
    pub async fn client(&self, id: &str) -> Result<Option<llavero_store::Client>, StoreError> {
        self.clients.get(&self.store, id, self.now()).await
    }

    /// Session limits from the configuration.
    #[must_use]
    pub fn session_limits(&self) -> SessionLimits {
        SessionLimits {
            idle: self.config.session_idle_secs,
            absolute: self.config.session_absolute_secs,
        }
    }
}
