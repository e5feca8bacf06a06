//! What every Llavero service stands on.
//!
//! The identity provider, the issuer, the presentation service and the citizen's wallet are
//! peers: none depends on another. What they share lives here — the civil registry's [`run::Run`],
//! randomness, the master key that seals keys at rest, the eIDAS levels of assurance, the
//! caller's address behind trusted proxies, form parameters as OAuth reads them, and the audit
//! trail's recorder with its group-commit write queue — gathered in one [`Platform`] handle
//! the server builds once and gives to each service.

#![forbid(unsafe_code)]

pub mod api_error;
pub mod audit;
pub mod authorization;
pub mod client_address;
pub mod levels;
pub mod params;
pub mod random;
pub mod run;
pub mod seal;
pub mod write_queue;

use std::sync::Arc;

pub use llavero_credentials::time::Clock;
use llavero_store::Store;

pub use audit::{Audit, Origin};
pub use client_address::{ClientAddress, TrustedProxies};
pub use run::{Run, RunError};
pub use seal::MasterKey;

/// The shared ground of every service: cheap to clone.
#[derive(Clone)]
pub struct Platform {
    /// The database every instance shares.
    pub store: Store,
    /// Seals keys at rest and derives per-purpose keys.
    pub master: Arc<MasterKey>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The public base URL every service answers under (no trailing slash).
    pub base_url: Arc<str>,
    /// Proxies whose forwarding headers are believed.
    pub trusted_proxies: Arc<TrustedProxies>,
    /// The audit trail.
    pub audit: Audit,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Platform {
    /// Now, in Unix seconds.
    #[must_use]
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
