//! The provider's ID token signing keys: one active ES256 key, and one RS256 key once a client
//! registered with RS256 needs it ([`rsa`]). Each is sealed in the database under the master
//! key and cached in memory for a minute so every instance picks up a rotation. A retired key
//! stays in the JWKS until every ID token it signed has expired.

pub mod rsa;

use std::sync::{Arc, RwLock};

use llavero_credentials::crypto::{self, Signer};
use llavero_credentials::jwk::{Jwk, PrivateJwk};
use llavero_credentials::jws::{self, AlgorithmPolicy, DecodedJws, Header};
use llavero_store::{SigningAlg, Store, StoreError, StoredKey};
use serde_json::Value;

use self::rsa::{RsaKeyError, RsaSigner};
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
    /// The RSA key failed.
    #[error(transparent)]
    Rsa(#[from] RsaKeyError),
    /// No key of this algorithm exists yet.
    #[error("no {0} signing key")]
    Missing(&'static str),
}

/// The key that signs a client's ID tokens.
#[derive(Clone)]
pub enum IdTokenSigner {
    /// The ES256 key.
    Es256(Arc<dyn Signer>),
    /// The RS256 key.
    Rs256(Arc<RsaSigner>),
}

impl IdTokenSigner {
    /// Signs `claims` as a JWT (`typ` JWT) with this key's `kid`.
    pub fn sign_json(&self, claims: &Value) -> Result<String, KeyError> {
        match self {
            Self::Es256(signer) => {
                let mut header = Header::new("JWT");
                header.kid = signer.public_jwk().kid().map(str::to_owned);
                jws::sign_json(header, claims, signer.as_ref())
                    .map_err(|e| KeyError::Key(e.to_string()))
            }
            Self::Rs256(signer) => Ok(signer.sign_json(claims)?),
        }
    }
}

struct Loaded {
    at: i64,
    es256: Arc<dyn Signer>,
    rs256: Option<Arc<RsaSigner>>,
    published: Vec<Value>,
}

/// The signing keys in use and the keys published in the JWKS.
pub struct KeyRing {
    cache: RwLock<Option<Arc<Loaded>>>,
    /// How long a retired key stays published.
    keep_retired_secs: i64,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyRing(..)")
    }
}

const CACHE_SECS: i64 = 60;

fn open(master: &MasterKey, key: &StoredKey) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError> {
    master
        .open(&key.kid, &key.sealed_private_key)
        .map_err(|source| KeyError::Seal {
            kid: key.kid.clone(),
            source,
        })
}

fn es256_signer(master: &MasterKey, key: &StoredKey) -> Result<Arc<dyn Signer>, KeyError> {
    let opened = open(master, key)?;
    let text = std::str::from_utf8(&opened).map_err(|e| KeyError::Key(e.to_string()))?;
    let private = PrivateJwk::from_json(text).map_err(|e| KeyError::Key(e.to_string()))?;
    Ok(Arc::from(
        crypto::signer_from_jwk(&private).map_err(|e| KeyError::Key(e.to_string()))?,
    ))
}

/// A stored public JWK as the JWKS publishes it: with `use` and the key's `alg`.
fn published_jwk(key: &StoredKey) -> Option<Value> {
    let mut jwk: Value = serde_json::from_str(&key.public_jwk).ok()?;
    let obj = jwk.as_object_mut()?;
    obj.insert("use".into(), "sig".into());
    obj.insert("alg".into(), key.alg.as_str().into());
    Some(jwk)
}

impl KeyRing {
    /// An empty ring; `keep_retired_secs` should exceed the ID token lifetime.
    #[must_use]
    pub fn new(keep_retired_secs: i64) -> Self {
        Self {
            cache: RwLock::new(None),
            keep_retired_secs,
        }
    }

    async fn loaded(
        &self,
        store: &Store,
        master: &MasterKey,
        now: i64,
    ) -> Result<Arc<Loaded>, KeyError> {
        if let Ok(guard) = self.cache.read()
            && let Some(loaded) = guard.as_ref().filter(|l| now - l.at < CACHE_SECS)
        {
            return Ok(Arc::clone(loaded));
        }
        let keys = store.signing_keys().await?;
        let active = |alg| keys.iter().find(|k| k.alg == alg && k.retired_at.is_none());
        let es256 = es256_signer(
            master,
            active(SigningAlg::Es256).ok_or(KeyError::Missing("ES256"))?,
        )?;
        let rs256 = match active(SigningAlg::Rs256) {
            Some(key) => Some(Arc::new(RsaSigner::from_pkcs8(
                &key.kid,
                &open(master, key)?,
            )?)),
            None => None,
        };
        let published = keys
            .iter()
            .filter(|k| {
                k.retired_at
                    .is_none_or(|r| r + self.keep_retired_secs > now)
            })
            .filter_map(published_jwk)
            .collect();
        let loaded = Arc::new(Loaded {
            at: now,
            es256,
            rs256,
            published,
        });
        if let Ok(mut guard) = self.cache.write() {
            *guard = Some(Arc::clone(&loaded));
        }
        Ok(loaded)
    }

    /// The ES256 key to sign with now (ES256 ID tokens, audit checkpoints).
    pub async fn signer(
        &self,
        store: &Store,
        master: &MasterKey,
        now: i64,
    ) -> Result<Arc<dyn Signer>, KeyError> {
        Ok(Arc::clone(&self.loaded(store, master, now).await?.es256))
    }

    /// The key that signs ID tokens of algorithm `alg` now.
    pub async fn id_token_signer(
        &self,
        store: &Store,
        master: &MasterKey,
        alg: SigningAlg,
        now: i64,
    ) -> Result<IdTokenSigner, KeyError> {
        let mut loaded = self.loaded(store, master, now).await?;
        if alg == SigningAlg::Rs256 && loaded.rs256.is_none() {
            // Made since the cache was filled (a client registered from the CLI, or on
            // another instance): read again rather than fail for up to a minute.
            self.invalidate();
            loaded = self.loaded(store, master, now).await?;
        }
        match alg {
            SigningAlg::Es256 => Ok(IdTokenSigner::Es256(Arc::clone(&loaded.es256))),
            SigningAlg::Rs256 => loaded
                .rs256
                .as_ref()
                .map(|s| IdTokenSigner::Rs256(Arc::clone(s)))
                .ok_or(KeyError::Missing("RS256")),
        }
    }

    /// The public keys to publish, each with `kid`, `use` and `alg`.
    pub async fn published(
        &self,
        store: &Store,
        master: &MasterKey,
        now: i64,
    ) -> Result<Vec<Value>, KeyError> {
        Ok(self.loaded(store, master, now).await?.published.clone())
    }

    /// The payload of `compact` if one of the published keys signed it (an `id_token_hint`):
    /// the key is chosen by `kid`, and the header's `alg` must be that key's.
    pub async fn verified_payload(
        &self,
        store: &Store,
        master: &MasterKey,
        now: i64,
        compact: &str,
    ) -> Option<Vec<u8>> {
        let jws = DecodedJws::decode(compact).ok()?;
        let loaded = self.loaded(store, master, now).await.ok()?;
        let kid = jws.header().kid.as_deref()?;
        let key = loaded
            .published
            .iter()
            .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))?;
        let verified = match key.get("alg").and_then(Value::as_str) {
            Some("RS256") => rsa::verifies(key, compact),
            Some("ES256") => Jwk::from_value(key).is_ok_and(|jwk| {
                jws.verify(
                    crypto::default_backend(),
                    &jwk,
                    &AlgorithmPolicy::es256_only(),
                )
                .is_ok()
            }),
            _ => false,
        };
        verified.then(|| jws.unverified_payload().to_vec())
    }

    /// Forgets the cache (after a rotation in this process).
    pub fn invalidate(&self) {
        if let Ok(mut guard) = self.cache.write() {
            *guard = None;
        }
    }
}

fn new_kid(now: i64) -> String {
    let suffix: String = crate::random::id().chars().take(6).collect();
    format!("idp-{now}-{suffix}")
}

async fn store_key(
    store: &Store,
    master: &MasterKey,
    kid: String,
    alg: SigningAlg,
    secret: &[u8],
    public: &Value,
    now: i64,
) -> Result<String, KeyError> {
    let sealed = master.seal(&kid, secret).map_err(|source| KeyError::Seal {
        kid: kid.clone(),
        source,
    })?;
    let stored = StoredKey {
        kid: kid.clone(),
        alg,
        sealed_private_key: sealed,
        public_jwk: public.to_string(),
        created_at: now,
        retired_at: None,
    };
    store.rotate_signing_key(&stored, now).await?;
    Ok(kid)
}

/// Generates a new P-256 key, seals it and makes it the active ES256 one; the previous key is
/// retired (and stays published for a while). Returns the new `kid`.
pub async fn rotate(store: &Store, master: &MasterKey, now: i64) -> Result<String, KeyError> {
    let kid = new_kid(now);
    let private =
        crypto::generate_p256(Some(kid.clone())).map_err(|e| KeyError::Key(e.to_string()))?;
    let secret = private.to_secret_value();
    let public = private.public().with_alg("ES256").to_value();
    store_key(
        store,
        master,
        kid,
        SigningAlg::Es256,
        secret.as_bytes(),
        &public,
        now,
    )
    .await
}

/// Generates a new RSA key ([`rsa::RSA_BITS`]), seals its PKCS#8 form and makes it the active
/// RS256 one; the previous RS256 key is retired like an ES256 key. Returns the new `kid`.
pub async fn rotate_rs256(store: &Store, master: &MasterKey, now: i64) -> Result<String, KeyError> {
    let kid = new_kid(now);
    let der = rsa::generate()?;
    let public = RsaSigner::from_pkcs8(&kid, &der)?.public_jwk();
    store_key(store, master, kid, SigningAlg::Rs256, &der, &public, now).await
}

async fn has_active(store: &Store, alg: SigningAlg) -> Result<bool, KeyError> {
    Ok(store
        .signing_keys()
        .await?
        .iter()
        .any(|k| k.alg == alg && k.retired_at.is_none()))
}

/// Makes sure an ES256 signing key exists (first start).
pub async fn ensure(store: &Store, master: &MasterKey, now: i64) -> Result<(), KeyError> {
    if !has_active(store, SigningAlg::Es256).await? {
        rotate(store, master, now).await?;
    }
    Ok(())
}

/// Makes sure an RS256 signing key exists: done when a client registers with RS256, so the
/// key is in the JWKS before any token it signs (and an RSA key, slow to generate, is made
/// only for providers that need one).
pub async fn ensure_rs256(store: &Store, master: &MasterKey, now: i64) -> Result<(), KeyError> {
    if !has_active(store, SigningAlg::Rs256).await? {
        rotate_rs256(store, master, now).await?;
    }
    Ok(())
}

/// Whether an RS256 key is in use (so `llavero keys rotate` rotates it too).
pub async fn has_rs256(store: &Store) -> Result<bool, KeyError> {
    has_active(store, SigningAlg::Rs256).await
}
