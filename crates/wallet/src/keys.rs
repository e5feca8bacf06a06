//! Holder keys: one P-256 key per credential (one per credential of a batch, so two
//! presentations of the same document cannot be linked by key), generated and used only inside
//! the service. [`HolderKeys`] is the seam a hardware security module can take over; the
//! default, [`SealedKeys`], keeps each private key in the database sealed (AES-256-GCM) under
//! the citizen's own data key, which the master key wraps. A stolen database reveals no key;
//! deleting a citizen's data key crypto-shreds all of theirs.

use std::sync::Arc;

use llavero_credentials::crypto::{Signer, signer_from_jwk, system_random};
use llavero_credentials::jwk::{Jwk, PrivateJwk};
use llavero_platform::MasterKey;
use llavero_store::{Store, WalletKey};
use zeroize::Zeroizing;

use crate::boxed::BoxFuture;

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] llavero_store::StoreError),
    /// No such key for this citizen.
    #[error("no such holder key")]
    Unknown,
    /// A sealed value did not open (tampered, another row's, another master key).
    #[error("a sealed wallet key does not open")]
    Open,
    /// Generating or loading a key failed.
    #[error("key: {0}")]
    Crypto(String),
}

/// Wraps and unwraps the citizens' data keys: the master key (or an HSM) on the server's side.
pub trait KeyWrap: Send + Sync {
    /// Seals `plaintext`, bound to `label`.
    fn wrap(&self, label: &str, plaintext: &[u8]) -> Result<Vec<u8>, KeyError>;
    /// Opens what [`KeyWrap::wrap`] sealed with the same label.
    fn unwrap(&self, label: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError>;
}

/// A new holder key: its id and public JWK.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// The key's id (what a held credential refers to).
    pub id: String,
    /// Its public key.
    pub public: Jwk,
}

/// The holder keys of every citizen.
pub trait HolderKeys: Send + Sync {
    /// Creates `count` fresh keys for the citizen.
    fn generate<'a>(
        &'a self,
        account_id: &'a str,
        count: usize,
        now: i64,
    ) -> BoxFuture<'a, Result<Vec<NewKey>, KeyError>>;

    /// A signer over one of the citizen's keys (another citizen's id is [`KeyError::Unknown`]).
    fn signer<'a>(
        &'a self,
        account_id: &'a str,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn Signer>, KeyError>>;
}

/// Keys sealed in the database under per-citizen data keys.
pub struct SealedKeys {
    store: Store,
    wrap: Arc<dyn KeyWrap>,
}

impl std::fmt::Debug for SealedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedKeys(..)")
    }
}

fn data_key_label(account_id: &str) -> String {
    format!("wallet-data-key:{account_id}")
}

fn key_label(account_id: &str, key_id: &str) -> String {
    format!("wallet-key:{account_id}:{key_id}")
}

fn random_id() -> Result<String, KeyError> {
    let mut bytes = [0u8; 16];
    system_random()
        .fill(&mut bytes)
        .map_err(|e| KeyError::Crypto(e.to_string()))?;
    Ok(llavero_credentials::b64::encode(bytes))
}

impl SealedKeys {
    /// Over the store, with the master key's wrapping.
    #[must_use]
    pub fn new(store: Store, wrap: Arc<dyn KeyWrap>) -> Self {
        Self { store, wrap }
    }

    /// The citizen's data key (an AES-256-GCM sealing key of the platform's kind), created on
    /// first use.
    async fn data_key(&self, account_id: &str, now: i64) -> Result<MasterKey, KeyError> {
        let label = data_key_label(account_id);
        let sealed = if let Some(sealed) = self.store.wallet_data_key(account_id).await? {
            sealed
        } else {
            let fresh = MasterKey::generate();
            let sealed = self.wrap.wrap(&label, fresh.to_base64().as_bytes())?;
            self.store
                .create_wallet_data_key(account_id, &sealed, now)
                .await?
        };
        let text = self.wrap.unwrap(&label, &sealed)?;
        let text = std::str::from_utf8(&text).map_err(|_| KeyError::Open)?;
        MasterKey::from_base64(text).map_err(|_| KeyError::Open)
    }
}

impl HolderKeys for SealedKeys {
    fn generate<'a>(
        &'a self,
        account_id: &'a str,
        count: usize,
        now: i64,
    ) -> BoxFuture<'a, Result<Vec<NewKey>, KeyError>> {
        Box::pin(async move {
            let data_key = self.data_key(account_id, now).await?;
            let mut keys = Vec::with_capacity(count);
            for _ in 0..count {
                let id = random_id()?;
                let private = PrivateJwk::generate_p256(system_random(), None)
                    .map_err(|e| KeyError::Crypto(e.to_string()))?;
                let public = private.public();
                let sealed = data_key
                    .seal(
                        &key_label(account_id, &id),
                        private.to_secret_value().as_bytes(),
                    )
                    .map_err(|_| KeyError::Open)?;
                self.store
                    .insert_wallet_key(&WalletKey {
                        id: id.clone(),
                        account_id: account_id.to_owned(),
                        public_jwk: public.to_value().to_string(),
                        sealed_private_key: sealed,
                        created_at: now,
                    })
                    .await?;
                keys.push(NewKey { id, public });
            }
            Ok(keys)
        })
    }

    fn signer<'a>(
        &'a self,
        account_id: &'a str,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn Signer>, KeyError>> {
        Box::pin(async move {
            let stored = self
                .store
                .wallet_key(account_id, key_id)
                .await?
                .ok_or(KeyError::Unknown)?;
            let data_key = self.data_key(account_id, stored.created_at).await?;
            let secret = data_key
                .open(&key_label(account_id, key_id), &stored.sealed_private_key)
                .map_err(|_| KeyError::Open)?;
            let text = std::str::from_utf8(&secret).map_err(|_| KeyError::Open)?;
            let private =
                PrivateJwk::from_json(text).map_err(|e| KeyError::Crypto(e.to_string()))?;
            signer_from_jwk(&private).map_err(|e| KeyError::Crypto(e.to_string()))
        })
    }
}
