//! The offline bundle: the signed trust list and the signed status lists a relying party
//! downloads once, and the status snapshot built from it.
//!
//! Loading checks every signature before anything is believed: the trust list against the
//! pinned anchor keys, each status list against the key of an issuer on that trust list.
//! A list that fails is not loaded, and the reason is reported; credentials pointing at it
//! are then rejected as `status_unavailable`, never accepted as valid.

use std::collections::HashMap;

use llavero_credentials::crypto::CryptoBackend;
use llavero_credentials::jwk::Jwk;
use llavero_credentials::jws::{AlgorithmPolicy, DecodedJws};
use llavero_credentials::status::bitstring::{BitstringStatusList, StatusListCredential};
use llavero_credentials::status::token::{self, StatusList};
use llavero_credentials::status::{MAX_LIST_DOCUMENT_LEN, StatusListError};
use llavero_credentials::time::UnixTime;
use serde::{Deserialize, Serialize};

use crate::trust_list::{TrustList, TrustListError};

/// The largest bundle accepted: a trust list plus a few hundred status lists.
pub const MAX_BUNDLE_BYTES: usize = 32 * 1024 * 1024;

/// The bundle file (`specs/offline-bundle/offline-bundle.schema.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineBundle {
    /// Format version, 1.
    pub version: u32,
    /// When the bundle was built.
    pub built_at: UnixTime,
    /// The signed trust list.
    pub trust_list: String,
    /// The signed status lists.
    pub status_lists: Vec<BundledStatusList>,
}

/// One status list as fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundledStatusList {
    /// The URI credentials reference.
    pub uri: String,
    /// The signed list (`statuslist+jwt` or a `vc+jwt` Bitstring Status List credential).
    pub token: String,
    /// When it was fetched.
    pub fetched_at: UnixTime,
}

/// Why a bundle could not be loaded at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Not a bundle file.
    #[error("malformed bundle: {0}")]
    Malformed(String),
    /// Larger than [`MAX_BUNDLE_BYTES`].
    #[error("bundle is {0} bytes, more than allowed")]
    TooLarge(usize),
    /// The trust list does not verify.
    #[error(transparent)]
    TrustList(#[from] TrustListError),
}

/// A status list skipped while loading, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedList {
    /// The list's URI.
    pub uri: String,
    /// Why it was not loaded.
    pub reason: String,
}

/// The statuses of one verified list.
#[derive(Debug, Clone)]
pub(crate) enum ListEntries {
    /// IETF Token Status List: 0 valid, 1 invalid, 2 suspended.
    Token(StatusList),
    /// W3C Bitstring Status List with its purpose.
    Bitstring {
        purpose: String,
        list: BitstringStatusList,
    },
}

/// A verified status list in the snapshot.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotList {
    /// The issuer whose key signed it: it may only speak for that issuer's credentials.
    pub(crate) issuer: String,
    pub(crate) entries: ListEntries,
    pub(crate) fetched_at: UnixTime,
    pub(crate) ttl_secs: Option<u64>,
    pub(crate) expires_at: Option<UnixTime>,
}

/// The status lists of a bundle, verified, by URI.
#[derive(Debug, Clone, Default)]
pub struct StatusSnapshot {
    pub(crate) lists: HashMap<String, SnapshotList>,
}

impl StatusSnapshot {
    /// The number of lists loaded.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    /// Whether no list was loaded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// URIs of lists older than their `ttl` at `now`.
    #[must_use]
    pub fn stale_lists(&self, now: UnixTime) -> Vec<String> {
        let mut stale: Vec<String> = self
            .lists
            .iter()
            .filter(|(_, l)| is_stale(l, now))
            .map(|(uri, _)| uri.clone())
            .collect();
        stale.sort();
        stale
    }
}

pub(crate) fn is_stale(list: &SnapshotList, now: UnixTime) -> bool {
    list.ttl_secs
        .and_then(|ttl| i64::try_from(ttl).ok())
        .is_some_and(|ttl| now.saturating_sub(list.fetched_at) > ttl)
}

impl OfflineBundle {
    /// Parses a bundle file.
    pub fn parse(text: &str) -> Result<Self, BundleError> {
        if text.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge(text.len()));
        }
        let bundle: Self =
            serde_json::from_str(text).map_err(|e| BundleError::Malformed(e.to_string()))?;
        if bundle.version != 1 {
            return Err(BundleError::Malformed(format!(
                "unsupported bundle version {}",
                bundle.version
            )));
        }
        Ok(bundle)
    }

    /// Verifies the trust list against `anchors` and every status list against its issuer's
    /// keys. Lists that fail are reported in the second value and left out.
    pub fn verify(
        &self,
        anchors: &[Jwk],
        crypto: &dyn CryptoBackend,
        now: UnixTime,
        skew: i64,
    ) -> Result<(TrustList, StatusSnapshot, Vec<SkippedList>), BundleError> {
        let trust = TrustList::verify(&self.trust_list, anchors, crypto, now, skew)?;
        let mut snapshot = StatusSnapshot::default();
        let mut skipped = Vec::new();
        for bundled in &self.status_lists {
            match load_list(bundled, &trust, crypto, now, skew) {
                Ok(list) => {
                    snapshot.lists.insert(bundled.uri.clone(), list);
                }
                Err(reason) => skipped.push(SkippedList {
                    uri: bundled.uri.clone(),
                    reason,
                }),
            }
        }
        Ok((trust, snapshot, skipped))
    }
}

/// Finds the trusted issuer whose key signed `bundled` and verifies the list with it.
fn load_list(
    bundled: &BundledStatusList,
    trust: &TrustList,
    crypto: &dyn CryptoBackend,
    now: UnixTime,
    skew: i64,
) -> Result<SnapshotList, String> {
    let jws = DecodedJws::decode_with_limit(&bundled.token, MAX_LIST_DOCUMENT_LEN)
        .map_err(|e| e.to_string())?;
    let kid = jws.header().kid.as_deref();
    let typ = jws.header().typ.clone().unwrap_or_default();
    let policy = AlgorithmPolicy::default();
    let candidates = trust.claims().issuers.iter().filter_map(|issuer| {
        issuer
            .key(kid)
            .filter(|key| jws.verify(crypto, key, &policy).is_ok())
            .map(|key| (issuer, key))
    });
    let mut last_error = format!("no trusted issuer key {kid:?} verifies the list");
    for (issuer, key) in candidates {
        let loaded = if typ.eq_ignore_ascii_case(token::STATUS_LIST_TYP) {
            token::verify_status_list_token(
                &bundled.token,
                key,
                crypto,
                &policy,
                &bundled.uri,
                now,
                skew,
            )
            .map(|v| SnapshotList {
                issuer: issuer.id.clone(),
                ttl_secs: v.ttl(),
                expires_at: v.exp(),
                entries: ListEntries::Token(v.into_list()),
                fetched_at: bundled.fetched_at,
            })
            .map_err(|e| e.to_string())
        } else {
            StatusListCredential::verify(&bundled.token, key, crypto, &policy, now, skew)
                .and_then(|v| {
                    if v.id == bundled.uri && v.issuer == issuer.id {
                        Ok(v)
                    } else {
                        Err(StatusListError::Malformed(format!(
                            "list {} by {} does not match bundle entry {}",
                            v.id, v.issuer, bundled.uri
                        )))
                    }
                })
                .map(|v| SnapshotList {
                    issuer: issuer.id.clone(),
                    ttl_secs: v.ttl_ms.map(|ms| ms / 1000),
                    expires_at: v.valid_until,
                    entries: ListEntries::Bitstring {
                        purpose: v.purpose,
                        list: v.list,
                    },
                    fetched_at: bundled.fetched_at,
                })
                .map_err(|e| e.to_string())
        };
        match loaded {
            Ok(list) => return Ok(list),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}
