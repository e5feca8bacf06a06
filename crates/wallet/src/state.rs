//! What every wallet handler shares.

use std::sync::Arc;

use llavero_credentials::time::Clock;
use llavero_store::Store;

use crate::fetch::{Fetch, UrlPolicy};
use crate::keys::HolderKeys;
use crate::session::CitizenSessions;

/// Settings of the wallet service.
#[derive(Debug, Clone)]
pub struct WalletConfig {
    /// The service's base URL (`https://llavero.cl`): the wallet lives under `/wallet`.
    pub base_url: String,
    /// Which URLs the wallet may reach.
    pub urls: UrlPolicy,
    /// Credentials asked for per offered type when the issuer issues batches (one key each).
    pub batch_size: usize,
    /// How long an offer or a presentation request waits for the citizen.
    pub pending_secs: i64,
    /// A status read from a list counts as current this long when the list gives no `ttl`.
    pub status_ttl_secs: i64,
    /// The roots (DER) a verifier's request-signing certificate must chain to: the
    /// presentation authorities the operator trusts (Llavero's own relying-party CA).
    pub trusted_roots: Vec<Vec<u8>>,
    /// Signed relying-party lists (`…/verifier/relying-parties.jwt`) that name who asks.
    pub relying_party_lists: Vec<String>,
    /// Development only: answer unsigned requests of `redirect_uri:` client identifiers
    /// (anyone can claim any name with them). Off by default.
    pub dangerous_allow_unsigned_requests: bool,
}

impl WalletConfig {
    /// Defaults for a wallet at `base_url`.
    #[must_use]
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            urls: UrlPolicy {
                dangerous_allow_http: false,
            },
            batch_size: 3,
            pending_secs: 600,
            status_ttl_secs: 300,
            trusted_roots: Vec::new(),
            relying_party_lists: Vec::new(),
            dangerous_allow_unsigned_requests: false,
        }
    }
}

/// The wallet service.
pub struct Wallet {
    /// Settings.
    pub config: WalletConfig,
    /// The database.
    pub store: Store,
    /// The identity provider's sessions, confirmation and audit trail.
    pub sessions: Arc<dyn CitizenSessions>,
    /// Holder keys.
    pub keys: Arc<dyn HolderKeys>,
    /// Outbound HTTP.
    pub fetch: Arc<dyn Fetch>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Signs this wallet's anti-CSRF tokens (derived from the master key by the server).
    pub(crate) csrf_key: ring::hmac::Key,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet")
            .field("base_url", &self.config.base_url)
            .finish_non_exhaustive()
    }
}

/// The handle handlers receive.
pub type WalletState = Arc<Wallet>;

/// The parts the server provides.
pub struct WalletParts {
    /// The database.
    pub store: Store,
    /// The provider's sessions.
    pub sessions: Arc<dyn CitizenSessions>,
    /// Holder keys.
    pub keys: Arc<dyn HolderKeys>,
    /// Outbound HTTP.
    pub fetch: Arc<dyn Fetch>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// 32 bytes derived from the master key for this wallet's CSRF tokens.
    pub csrf_secret: [u8; 32],
}

impl Wallet {
    /// Assembles the service.
    #[must_use]
    pub fn new(config: WalletConfig, parts: WalletParts) -> WalletState {
        Arc::new(Self {
            config,
            store: parts.store,
            sessions: parts.sessions,
            keys: parts.keys,
            fetch: parts.fetch,
            clock: parts.clock,
            csrf_key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &parts.csrf_secret),
        })
    }

    /// Now, in Unix seconds.
    #[must_use]
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The anti-CSRF token of a citizen's session: an HMAC of the provider's session handle,
    /// so a form is good for this login only.
    #[must_use]
    pub fn csrf_token(&self, citizen: &crate::session::Citizen) -> String {
        llavero_credentials::b64::encode(
            ring::hmac::sign(&self.csrf_key, citizen.session.as_bytes()).as_ref(),
        )
    }

    /// Checks a submitted anti-CSRF token in constant time.
    pub fn check_csrf(
        &self,
        citizen: &crate::session::Citizen,
        submitted: &str,
    ) -> Result<(), crate::error::WalletError> {
        let Ok(tag) = llavero_credentials::b64::decode(submitted) else {
            return Err(crate::error::WalletError::Csrf);
        };
        ring::hmac::verify(&self.csrf_key, citizen.session.as_bytes(), &tag)
            .map_err(|_| crate::error::WalletError::Csrf)
    }

    /// A random identifier (128 bits, base64url).
    pub fn random_id() -> Result<String, crate::error::WalletError> {
        let mut bytes = [0u8; 16];
        llavero_credentials::crypto::system_random()
            .fill(&mut bytes)
            .map_err(|e| crate::error::WalletError::Internal(e.to_string()))?;
        Ok(llavero_credentials::b64::encode(bytes))
    }
}
