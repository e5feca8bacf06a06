//! The provider's part of the shared audit trail: it signs the trail's checkpoints, and the
//! platform it shares with the services beside it is assembled here.

use std::sync::Arc;

use llavero_credentials::jws::{self, Header};
use llavero_credentials::time::Clock;
use llavero_platform::audit::{BoxFuture, CheckpointSigner};
use llavero_platform::{Audit, Platform};
use llavero_store::Store;
use serde_json::json;

use crate::config::IdpConfig;
use crate::keys::KeyRing;
use crate::seal::MasterKey;

/// Signs checkpoints with the provider's current signing key: the provider's part of the
/// shared audit trail.
pub struct CheckpointKeys {
    store: Store,
    master: Arc<MasterKey>,
    issuer: String,
    keys: KeyRing,
}

impl CheckpointKeys {
    /// Signs with the keys in `store` (sealed under `master`), as `issuer`.
    #[must_use]
    pub fn new(store: Store, master: Arc<MasterKey>, issuer: &str) -> Self {
        Self {
            store,
            master,
            issuer: issuer.to_owned(),
            keys: KeyRing::new(300),
        }
    }
}

impl CheckpointSigner for CheckpointKeys {
    fn sign(&self, seq: i64, hash: String, now: i64) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(async move {
            let signer = self
                .keys
                .signer(&self.store, &self.master, now)
                .await
                .map_err(|e| e.to_string())?;
            let mut header = Header::new("audit-checkpoint+jwt");
            header.kid = signer.public_jwk().kid().map(str::to_owned);
            jws::sign_json(
                header,
                &json!({"iss": self.issuer, "seq": seq, "hash": hash, "iat": now}),
                signer.as_ref(),
            )
            .map_err(|e| e.to_string())
        })
    }
}

/// The platform a provider shares with the services beside it: its store, master key and
/// clock, and an audit trail whose checkpoints the provider signs.
#[must_use]
pub fn platform(
    config: &IdpConfig,
    store: Store,
    master: Arc<MasterKey>,
    clock: Arc<dyn Clock>,
) -> Platform {
    let signer = Arc::new(CheckpointKeys::new(
        store.clone(),
        Arc::clone(&master),
        &config.issuer,
    ));
    Platform {
        audit: Audit::new(store.clone(), Arc::clone(&clock), signer),
        store,
        master,
        clock,
        base_url: config.issuer.as_str().into(),
        trusted_proxies: Arc::new(config.trusted_proxies.clone()),
    }
}
