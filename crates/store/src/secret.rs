//! Hashing of high-entropy secrets (codes, tokens, session ids, client secrets) before they are
//! stored or looked up.
//!
//! These secrets carry at least 128 bits of randomness, so a fast hash is enough to make a
//! stolen database useless for presenting them; passwords, which are low-entropy, use Argon2id
//! in the identity provider instead. Lookups go by hash, so no secret is ever compared
//! byte-by-byte in application code.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `base64url(SHA-256(secret))`.
#[must_use]
pub fn hash_secret(secret: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

pub(crate) fn json_list(
    column: &'static str,
    text: &str,
) -> Result<Vec<String>, crate::StoreError> {
    serde_json::from_str(text).map_err(|e| crate::StoreError::corrupt(column, e))
}

pub(crate) fn to_json_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

/// Compares two stored hashes without leaking, through timing, how much of them matched.
#[must_use]
pub fn hashes_equal(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
