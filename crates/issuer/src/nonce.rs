//! `c_nonce`s that cost no database write to hand out: a nonce is its expiry, 128 random bits
//! and an HMAC of both under a key derived from the master key, so any instance can check it.
//! Single use is enforced where it matters, when a nonce is spent: its hash goes into the
//! used-nonce table in the issuance transaction, and a second insert finds it there. Used
//! nonces are kept only until they expire (after that the expiry refuses them anyway).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::state::Issuer;

const TAG_LEN: usize = 16;
const BODY_LEN: usize = 8 + 16;

fn key(issuer: &Issuer) -> ring::hmac::Key {
    issuer.platform.master.derive("llavero c_nonce v1")
}

/// A fresh nonce valid for `issuer.config.nonce_secs`.
#[must_use]
pub fn issue(issuer: &Issuer) -> String {
    let expires_at = issuer.now() + issuer.config.nonce_secs;
    let mut bytes = Vec::with_capacity(BODY_LEN + TAG_LEN);
    bytes.extend_from_slice(&expires_at.to_be_bytes());
    bytes.extend_from_slice(&llavero_platform::random::bytes::<16>());
    let tag = ring::hmac::sign(&key(issuer), &bytes);
    bytes.extend_from_slice(tag.as_ref().get(..TAG_LEN).unwrap_or_default());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The expiry of a nonce this service issued that has not expired, or `None` (forged,
/// malformed or expired). Whether it was already used is the store's to say.
#[must_use]
pub fn check(issuer: &Issuer, nonce: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(nonce).ok()?;
    if bytes.len() != BODY_LEN + TAG_LEN {
        return None;
    }
    let (body, tag) = bytes.split_at(BODY_LEN);
    let expected = ring::hmac::sign(&key(issuer), body);
    let matches = expected
        .as_ref()
        .get(..TAG_LEN)
        .is_some_and(|e| subtle::ConstantTimeEq::ct_eq(e, tag).into());
    let expires_at = i64::from_be_bytes(body.get(..8)?.try_into().ok()?);
    (matches && expires_at > issuer.now()).then_some(expires_at)
}
