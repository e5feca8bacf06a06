//! The grant behind each refresh token this instance handed out, remembered until the token
//! comes back.
//!
//! A rotation is committed together with the audit entry recording it, and that entry (the
//! grant's account, scopes and session) is built before the rotation is queued
//! (`llavero_store::Rotation::entry`). Reading the grant for it would cost every token request
//! a statement of its own; a grant's fields never change, so the instance remembers them for the
//! refresh tokens it issues and reads the database only on a miss: a token issued by another
//! instance, before a restart, or forgotten to keep the memory bounded. Whether the token may
//! still be spent is decided by the database, in the rotation itself, whatever is remembered here.

use std::sync::Mutex;

use hashlink::LruCache;
use llavero_store::Grant;

/// Refresh tokens remembered at most (the least recently issued are forgotten first); about
/// 400 bytes each.
const CAPACITY: usize = 16_384;

/// Grants by refresh-token hash.
#[derive(Debug)]
pub struct RefreshGrants(Mutex<LruCache<String, Grant>>);

impl Default for RefreshGrants {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl RefreshGrants {
    fn with_capacity(capacity: usize) -> Self {
        Self(Mutex::new(LruCache::new(capacity)))
    }

    /// Remembers that the refresh token hashed `token_hash` belongs to `grant`.
    pub fn remember(&self, token_hash: String, grant: Grant) {
        if let Ok(mut grants) = self.0.lock() {
            grants.insert(token_hash, grant);
        }
    }

    /// The grant of the refresh token hashed `token_hash`, if remembered and `client_id`'s; it
    /// is forgotten either way, since a token is spent once.
    pub fn take(&self, token_hash: &str, client_id: &str) -> Option<Grant> {
        let grant = self.0.lock().ok()?.remove(token_hash)?;
        (grant.client_id == client_id).then_some(grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(id: &str) -> Grant {
        Grant {
            id: id.into(),
            account_id: "acct".into(),
            client_id: "rp".into(),
            session_handle: "sid".into(),
            scope: "openid".into(),
            auth_time: 0,
            acr: "aal1".into(),
            amr: vec!["pwd".into()],
        }
    }

    #[test]
    fn a_token_is_taken_once_and_by_its_client_only() {
        let grants = RefreshGrants::default();
        grants.remember("a".into(), grant("g1"));
        grants.remember("b".into(), grant("g2"));
        assert_eq!(grants.take("a", "rp").map(|g| g.id), Some("g1".into()));
        assert!(grants.take("a", "rp").is_none(), "taken already");
        assert!(grants.take("b", "other-rp").is_none(), "another client's");
        assert!(grants.take("b", "rp").is_none(), "forgotten when presented");
    }

    #[test]
    fn memory_is_bounded_by_forgetting_the_oldest() {
        let grants = RefreshGrants::with_capacity(2);
        for token in ["a", "b", "c"] {
            grants.remember(token.into(), grant(token));
        }
        assert!(grants.take("a", "rp").is_none());
        assert!(grants.take("b", "rp").is_some());
        assert!(grants.take("c", "rp").is_some());
    }
}
