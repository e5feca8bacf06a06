//! What every handler shares: settings, the store, sealing, the clock, the trust the
//! presentations are verified against, and the presentation authority.

use std::sync::{Arc, RwLock};

use llavero_platform::Platform;
use llavero_store::Store;
use llavero_verifier::Verifier;

use crate::authority::Authority;
pub use crate::seal::{SealFailed, Sealer};

/// Settings of the presentation service.
#[derive(Debug, Clone)]
pub struct PresentationsConfig {
    /// How long a transaction waits for a wallet (and its result for the relying party).
    pub transaction_secs: i64,
    /// Lifetime of a relying-party API token.
    pub token_secs: i64,
    /// Validity of a relying party's certificate.
    pub certificate_days: i64,
    /// Validity of the signed relying-party list.
    pub list_secs: i64,
    /// Accepts `redirect_uri` client identifiers (unsigned requests, OpenID4VP 1.0 §5.9.3):
    /// nothing then proves to a wallet who is asking, so this is for development only and off
    /// by default.
    pub dangerous_allow_redirect_uri_client_ids: bool,
}

impl Default for PresentationsConfig {
    fn default() -> Self {
        Self {
            transaction_secs: 600,
            token_secs: 600,
            certificate_days: 365,
            list_secs: 86_400,
            dangerous_allow_redirect_uri_client_ids: false,
        }
    }
}

/// Rebuilds the verifier (fresh trust list and status lists), or `None` if it cannot now.
pub type Refresh = Box<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<Verifier>> + Send>>
        + Send
        + Sync,
>;

/// The verifier presentations are checked with: a trust list and status lists, replaced as a
/// whole when the caller refreshes them (status lists are refetched within their `ttl`), and
/// rebuilt at once when a presentation names a list or key not seen yet (a list an issuer
/// created since), at most every few seconds.
pub struct Trust {
    current: RwLock<Arc<Verifier>>,
    refresh: Option<Refresh>,
    refreshed_at: std::sync::Mutex<Option<std::time::Instant>>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust").finish_non_exhaustive()
    }
}

/// The shortest time between two rebuilds on a miss.
const MIN_REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

impl Trust {
    /// Trust in `verifier`.
    #[must_use]
    pub fn new(verifier: Verifier) -> Self {
        Self {
            current: RwLock::new(Arc::new(verifier)),
            refresh: None,
            refreshed_at: std::sync::Mutex::new(None),
        }
    }

    /// Trust in `verifier`, rebuilt by `refresh` on a miss.
    #[must_use]
    pub fn refreshing(verifier: Verifier, refresh: Refresh) -> Self {
        Self {
            refresh: Some(refresh),
            ..Self::new(verifier)
        }
    }

    /// The current verifier.
    #[must_use]
    pub fn current(&self) -> Arc<Verifier> {
        match self.current.read() {
            Ok(v) => Arc::clone(&v),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the verifier (a refreshed trust list or status lists).
    pub fn replace(&self, verifier: Verifier) {
        let mut guard = match self.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(verifier);
    }

    /// Rebuilds the verifier after a miss, unless it was rebuilt moments ago; whether it was.
    pub async fn refresh_on_miss(&self) -> bool {
        let Some(refresh) = &self.refresh else {
            return false;
        };
        {
            let mut last = match self.refreshed_at.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            if last.is_some_and(|t| t.elapsed() < MIN_REFRESH) {
                return false;
            }
            *last = Some(std::time::Instant::now());
        }
        match refresh().await {
            Some(verifier) => {
                self.replace(verifier);
                true
            }
            None => false,
        }
    }
}

/// The presentation service.
pub struct Presentations {
    /// Settings.
    pub config: PresentationsConfig,
    /// The shared platform: store, master key (it seals the service's secrets), clock, base
    /// URL and audit trail.
    pub platform: Platform,
    /// The shared database (the platform's).
    pub store: Store,
    /// The public base URL (`https://llavero.cl`, no trailing slash).
    pub base: String,
    /// What presentations are verified against.
    pub trust: Arc<Trust>,
    /// The certificate authority of relying parties.
    pub authority: Authority,
    /// Relying parties with their opened signing keys, read within the last minute.
    pub(crate) parties: crate::cache::TimedCache,
}

impl std::fmt::Debug for Presentations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presentations")
            .field("base", &self.platform.base_url)
            .finish_non_exhaustive()
    }
}

/// The handle handlers receive.
pub type PresentationsState = Arc<Presentations>;

impl Presentations {
    /// Assembles the service on the shared platform, creating the presentation authority's
    /// root on first start.
    pub async fn new(
        config: PresentationsConfig,
        platform: Platform,
        trust: Arc<Trust>,
    ) -> Result<PresentationsState, crate::authority::AuthorityError> {
        let authority =
            Authority::load_or_create(&platform.store, platform.master.as_ref(), platform.now())
                .await?;
        Ok(Arc::new(Self {
            config,
            store: platform.store.clone(),
            base: platform.base_url.trim_end_matches('/').to_owned(),
            platform,
            trust,
            authority,
            parties: crate::cache::TimedCache::default(),
        }))
    }

    /// Seals the service's secrets at rest: the platform's master key.
    #[must_use]
    pub fn sealer(&self) -> &dyn Sealer {
        self.platform.master.as_ref()
    }

    /// Now, in Unix seconds.
    #[must_use]
    pub fn now(&self) -> i64 {
        self.platform.now()
    }

    /// A URL of this service.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// A 256-bit random token, base64url: ids, nonces, secrets (the platform's randomness).
#[must_use]
pub fn random_token() -> String {
    llavero_platform::random::token()
}

/// A member of a JSON object, or `null` (never a panic on an unexpected shape).
pub(crate) fn field<'a>(value: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    value.get(name).unwrap_or(&serde_json::Value::Null)
}
