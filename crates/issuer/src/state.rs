//! What every issuer handler shares.

use std::sync::Arc;

use llavero_platform::Platform;
use llavero_store::Agency;

use crate::keys::KeyCache;
use crate::status::ListCache;
use crate::types::Catalog;

/// Settings of the issuer service.
#[derive(Debug, Clone)]
pub struct IssuerConfig {
    /// Entries per status list (131,072, the W3C minimum that hides a holder in a crowd).
    pub list_size: i64,
    /// `ttl` of published status lists, and how long a published list is cached.
    pub status_ttl_secs: i64,
    /// Status lists expire this long after they are signed.
    pub status_validity_secs: i64,
    /// Most credentials (proofs) in one request.
    pub batch_size: usize,
    /// Lifetime of a pre-authorized code.
    pub offer_secs: i64,
    /// Lifetime of an access token of the pre-authorized code flow.
    pub token_secs: i64,
    /// Lifetime of a `c_nonce`.
    pub nonce_secs: i64,
    /// Oldest proof `iat` accepted.
    pub proof_max_age_secs: i64,
    /// Wrong transaction codes before an offer dies.
    pub max_tx_failures: i64,
    /// How long a wallet may take to collect a deferred credential.
    pub deferred_secs: i64,
    /// Seconds a wallet should wait between deferred polls.
    pub deferred_interval_secs: i64,
    /// Lifetime of an agency API token.
    pub agency_token_secs: i64,
}

impl Default for IssuerConfig {
    fn default() -> Self {
        Self {
            list_size: 131_072,
            status_ttl_secs: 300,
            status_validity_secs: 86_400,
            batch_size: 10,
            offer_secs: 86_400,
            token_secs: 300,
            nonce_secs: 300,
            proof_max_age_secs: 300,
            max_tx_failures: 5,
            deferred_secs: 30 * 86_400,
            deferred_interval_secs: 60,
            agency_token_secs: 600,
        }
    }
}

/// The issuer service: settings, the platform it shares with the other services (store,
/// master key, clock, audit trail), the credential types, cached keys and lists. It holds no
/// other service: the identity provider answers its pre-authorized grant through
/// [`crate::token::PreAuthorizedGrant`], which the server hands the provider when assembling it.
#[derive(Debug)]
pub struct Issuer {
    /// Settings.
    pub config: IssuerConfig,
    /// The shared platform.
    pub platform: Platform,
    /// Credential types.
    pub catalog: Catalog,
    /// Agency keys.
    pub keys: KeyCache,
    pub(crate) lists: ListCache,
    /// Agencies by id, with when they were read: every wallet request names one, and they
    /// change only by operator command (seen by every instance within a minute).
    pub(crate) agencies: std::sync::RwLock<std::collections::HashMap<String, (i64, Agency)>>,
}

/// The handle handlers receive.
pub type IssuerState = Arc<Issuer>;

impl Issuer {
    /// Assembles the service.
    #[must_use]
    pub fn new(config: IssuerConfig, platform: Platform, catalog: Catalog) -> IssuerState {
        Arc::new(Self {
            config,
            platform,
            catalog,
            keys: KeyCache::default(),
            lists: ListCache::default(),
            agencies: std::sync::RwLock::default(),
        })
    }

    /// Now, in Unix seconds.
    #[must_use]
    pub fn now(&self) -> i64 {
        self.platform.now()
    }

    /// The service's base URL (the platform's).
    #[must_use]
    pub fn base(&self) -> &str {
        self.platform.base_url.trim_end_matches('/')
    }

    /// The agency's keys as of now (cached).
    pub async fn agency_keys(
        &self,
        agency: &str,
    ) -> Result<crate::keys::AgencyKeys, crate::keys::KeyError> {
        self.keys
            .get(
                &self.platform.store,
                &self.platform.master,
                agency,
                self.now(),
            )
            .await
    }

    /// An agency's credential issuer identifier.
    #[must_use]
    pub fn agency_url(&self, agency: &str) -> String {
        format!("{}/{agency}", self.base())
    }
}
