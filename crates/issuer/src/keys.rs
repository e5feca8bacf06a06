//! Each agency's ES256 signing keys: sealed in the database under the master key, cached per
//! agency for a minute so every instance follows a rotation.
//!
//! Rotation has an overlap: the new key is published at once but signs only from
//! `activates_at`, so verifiers that refresh their trust list within the overlap know it before
//! they meet a credential it signed; a superseded key stays published until the last credential
//! it may have signed expires.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use llavero_credentials::crypto::{self, Signer};
use llavero_credentials::jwk::{Jwk, PrivateJwk};
use llavero_platform::MasterKey;
use llavero_store::{AgencyKey, Store, StoreError};

/// Why keys could not be loaded or made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Database failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed key did not open (wrong master key, or tampered).
    #[error("agency key {kid}: {reason}")]
    Sealed {
        /// The key.
        kid: String,
        /// Why.
        reason: String,
    },
    /// Generation or parsing failed.
    #[error("agency key: {0}")]
    Key(String),
    /// The agency has no key that signs now.
    #[error("agency {0} has no active signing key")]
    Missing(String),
}

/// The key that signs now, and the keys to publish.
#[derive(Clone)]
pub struct AgencyKeys {
    /// Signs now.
    pub signer: Arc<dyn Signer>,
    /// Its key id.
    pub kid: String,
    /// Every published public key (with `kid`, `alg`, `use`).
    pub published: Vec<Jwk>,
}

impl std::fmt::Debug for AgencyKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgencyKeys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

const CACHE_SECS: i64 = 60;

fn label(agency: &str, kid: &str) -> String {
    format!("agency {agency} key {kid}")
}

/// Agency keys, cached.
#[derive(Default)]
pub struct KeyCache {
    loaded: RwLock<HashMap<String, (i64, AgencyKeys)>>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyCache(..)")
    }
}

impl KeyCache {
    /// The agency's keys as of `now`.
    pub async fn get(
        &self,
        store: &Store,
        master: &MasterKey,
        agency: &str,
        now: i64,
    ) -> Result<AgencyKeys, KeyError> {
        if let Ok(loaded) = self.loaded.read()
            && let Some((at, keys)) = loaded.get(agency)
            && now - at < CACHE_SECS
            && now >= *at
        {
            return Ok(keys.clone());
        }
        let keys = load(store, master, agency, now).await?;
        if let Ok(mut loaded) = self.loaded.write() {
            loaded.insert(agency.to_owned(), (now, keys.clone()));
        }
        Ok(keys)
    }

    /// Forgets cached keys (after a rotation by this process).
    pub fn invalidate(&self) {
        if let Ok(mut loaded) = self.loaded.write() {
            loaded.clear();
        }
    }
}

async fn load(
    store: &Store,
    master: &MasterKey,
    agency: &str,
    now: i64,
) -> Result<AgencyKeys, KeyError> {
    let stored = store.agency_keys(agency).await?;
    let active = stored
        .iter()
        .find(|k| k.activates_at <= now)
        .ok_or_else(|| KeyError::Missing(agency.to_owned()))?;
    let opened = master
        .open(&label(agency, &active.kid), &active.sealed_private_key)
        .map_err(|e| KeyError::Sealed {
            kid: active.kid.clone(),
            reason: e.to_string(),
        })?;
    let text = std::str::from_utf8(&opened).map_err(|e| KeyError::Key(e.to_string()))?;
    let private = PrivateJwk::from_json(text).map_err(|e| KeyError::Key(e.to_string()))?;
    let signer: Arc<dyn Signer> =
        Arc::from(crypto::signer_from_jwk(&private).map_err(|e| KeyError::Key(e.to_string()))?);
    let published = stored
        .iter()
        .filter(|k| k.publish_until.is_none_or(|until| until > now))
        .map(|k| {
            let value: serde_json::Value = serde_json::from_str(&k.public_jwk)
                .map_err(|e| KeyError::Key(format!("stored public key {}: {e}", k.kid)))?;
            Jwk::from_value(&value).map_err(|e| KeyError::Key(e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    Ok(AgencyKeys {
        signer,
        kid: active.kid.clone(),
        published,
    })
}

/// A new sealed key for `agency` that signs from `activates_at`.
pub fn new_key(
    master: &MasterKey,
    agency: &str,
    now: i64,
    activates_at: i64,
) -> Result<AgencyKey, KeyError> {
    let suffix: String = llavero_platform::random::id().chars().take(6).collect();
    let kid = format!("{agency}-{now}-{suffix}");
    let private =
        crypto::generate_p256(Some(kid.clone())).map_err(|e| KeyError::Key(e.to_string()))?;
    let sealed = master
        .seal(&label(agency, &kid), private.to_secret_value().as_bytes())
        .map_err(|e| KeyError::Sealed {
            kid: kid.clone(),
            reason: e.to_string(),
        })?;
    let mut public = private.public().with_alg("ES256").to_value();
    if let Some(obj) = public.as_object_mut() {
        obj.insert("use".into(), "sig".into());
    }
    Ok(AgencyKey {
        kid,
        agency_id: agency.to_owned(),
        sealed_private_key: sealed,
        public_jwk: public.to_string(),
        created_at: now,
        activates_at,
        publish_until: None,
    })
}

/// Rotates `agency`'s key: the new one is published now and signs after `overlap_secs`; the
/// ones it supersedes stay published until `max_validity_secs` after that. Returns the new kid.
pub async fn rotate(
    store: &Store,
    master: &MasterKey,
    agency: &str,
    now: i64,
    overlap_secs: i64,
    max_validity_secs: i64,
) -> Result<String, KeyError> {
    let activates_at = now + overlap_secs.max(0);
    let key = new_key(master, agency, now, activates_at)?;
    store
        .add_agency_key(&key, activates_at + max_validity_secs + CACHE_SECS)
        .await?;
    Ok(key.kid)
}
