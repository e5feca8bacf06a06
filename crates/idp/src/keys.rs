//! The provider's ID token signing keys: sealed in the database under the master key, cached in
//! memory for a minute so every instance picks up a rotation. A retired key stays in the JWKS
//! until every ID token it signed has expired.

use std::sync::{Arc, RwLock};

use llavero_credentials::crypto::{self, Signer};
use llavero_credentials::jwk::{Jwk, PrivateJwk};
use llavero_store::{Store, StoreError, StoredKey};

use crate::seal::{MasterKey, SealError};

/// Why keys could not be loaded or made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Database failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed key did not open (wrong master key, or tampered).
    #[error("signing key {kid}: {source}")]
    Seal {
        /// The key.
        kid: String,
        /// Why.
        source: SealError,
    },
    /// Key generation or parsing failed.
    #[error("signing key: {0}")]
    Key(String),
    /// No key exists yet.
    #[error("no signing key")]
    Missing,
}

struct Loaded {
    at: i64,
    signer: Arc<dyn Signer>,
    published: Vec<Jwk>,
}

/// The signing key in use and the keys published in the JWKS.
pub struct KeyRing {
    cache: RwLock<Option<Loaded>>,
    /// How long a retired key stays published.
    keep_retired_secs: i64,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyRing(..)")
    }
}

const CACHE_SECS: i64 = 60;

impl KeyRing {
    /// An empty ring; `keep_retired_secs` should exceed the ID token lifetime.
    #[must_use]
    pub fn new(keep_retired_secs: i64) -> Self {
        Self {
            cache: RwLock::new(None),
            keep_retired_secs,
        }
    }

    fn cached<T>(&self, now: i64, f: impl Fn(&Loaded) -> T) -> Option<T> {
        let guard = self.cache.read().ok()?;
        guard.as_ref().filter(|l| now - l.at < CACHE_SECS).map(f)
    }

    async fn load(&self, store: &Store, master: &MasterKey, now: i64) -> Result<(), KeyError> {
        let keys = store.signing_keys().await?;
        let active = keys
            .iter()
            .find(|k| k.retired_at.is_none())
            .ok_or(KeyError::Missing)?;
        let opened = master
            .open(&active.kid, &active.sealed_private_key)
            .map_err(|source| KeyError::Seal {
                kid: active.kid.clone(),
                source,
            })?;
        let text = std::str::from_utf8(&opened).map_err(|e| KeyError::Key(e.to_string()))?;
        let private = PrivateJwk::from_json(text).map_err(|e| KeyError::Key(e.to_string()))?;
        let signer: Arc<dyn Signer> =
            Arc::from(crypto::signer_from_jwk(&private).map_err(|e| KeyError::Key(e.to_string()))?);
        let published = keys
            .iter()
            .filter(|k| {
                k.retired_at
                    .is_none_or(|r| r + self.keep_retired_secs > now)
            })
            .filter_map(|k| {
                serde_json::from_str(&k.public_jwk)
                    .ok()
                    .and_then(|v| Jwk::from_value(&v).ok())
            })
            .collect();
        if let Ok(mut guard) = self.cache.write() {
            *guard = Some(Loaded {
                at: now,
                signer,
                published,
            });
        }
        Ok(())
    }

    /// The key to sign with now.
    pub async fn signer(
        &self,
        store: &Store,
        master: &MasterKey,
        now: i64,
    ) -> Result<Arc<dyn Signer>, KeyError> {
        if let Some(s) = self.cached(now, |l| Arc::clone(&l.signer)) {
            return Ok(s);
        }
        self.load(store, master, now).await?;
        self.cached(now, |l| Arc::clone(&l.signer))
            .ok_or(KeyError::Missing)
    }

    /// The public keys to publish (and to check `id_token_hint` against).
    pub async fn published(
        &self,
        store: &Store,
        master: &MasterKey,
        now: i64,
    ) -> Result<Vec<Jwk>, KeyError> {
        if let Some(p) = self.cached(now, |l| l.published.clone()) {
            return Ok(p);
        }
        self.load(store, master, now).await?;
        self.cached(now, |l| l.published.clone())
            .ok_or(KeyError::Missing)
    }

    /// Forgets the cache (after a rotation in this process).
    pub fn invalidate(&self) {
        if let Ok(mut guard) = self.cache.write() {
            *guard = None;
        }
    }
}

/// Generates a new P-256 key, seals it and makes it the active one; the previous key is
/// retired (and stays published for a while). Returns the new `kid`.
pub async fn rotate(store: &Store, master: &MasterKey, now: i64) -> Result<String, KeyError> {
    let suffix: String = crate::random::id().chars().take(6).collect();
    let kid = format!("idp-{now}-{suffix}");
    let private =
        crypto::generate_p256(Some(kid.clone())).map_err(|e| KeyError::Key(e.to_string()))?;
    let secret = private.to_secret_value();
    let sealed = master
        .seal(&kid, secret.as_bytes())
        .map_err(|source| KeyError::Seal {
            kid: kid.clone(),
            source,
        })?;
    let public = private.public().with_alg("ES256");
    let stored = StoredKey {
        kid: kid.clone(),
        sealed_private_key: sealed,
        public_jwk: public.to_value().to_string(),
        created_at: now,
        retired_at: None,
    };
    store.rotate_signing_key(&stored, now).await?;
    Ok(kid)
}

/// Makes sure a signing key exists (first start).
pub async fn ensure(store: &Store, master: &MasterKey, now: i64) -> Result<(), KeyError> {
    if store
        .signing_keys()
        .await?
        .iter()
        .all(|k| k.retired_at.is_some())
    {
        rotate(store, master, now).await?;
    }
    Ok(())
}
