//! Decentralized identifiers resolved without a network: `did:jwk` and `did:key` carry the key
//! in the identifier itself; `did:web` is only mapped to the URL of its document (fetching is
//! I/O, done by the caller, and an offline verifier uses a cached copy).

use serde_json::Value;

use crate::b64;
use crate::jwk::{Jwk, PublicKey};

/// Multicodec prefix of a P-256 public key (`p256-pub`, 0x1200) as an unsigned varint.
const P256_PREFIX: [u8; 2] = [0x80, 0x24];
/// Multicodec prefix of an Ed25519 public key (`ed25519-pub`, 0xed).
const ED25519_PREFIX: [u8; 2] = [0xed, 0x01];
/// The longest DID accepted: a did:jwk of a P-384 key is about 250 characters.
pub const MAX_DID_LEN: usize = 2048;

/// Why a DID could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DidError {
    /// Not `did:<method>:<id>`.
    #[error("malformed DID: {0}")]
    Malformed(String),
    /// A method this library cannot resolve offline.
    #[error("DID method {0:?} cannot be resolved offline")]
    UnsupportedMethod(String),
    /// The key inside is of an unsupported type.
    #[error("unsupported key in DID: {0}")]
    UnsupportedKey(String),
}

/// Resolves a `did:jwk` or `did:key` (optionally a DID URL with a fragment naming its one
/// verification method) to its public key.
pub fn resolve_offline(did_url: &str) -> Result<Jwk, DidError> {
    if did_url.len() > MAX_DID_LEN {
        return Err(DidError::Malformed("too long".into()));
    }
    let (did, fragment) = did_url.split_once('#').unwrap_or((did_url, ""));
    let rest = did
        .strip_prefix("did:")
        .ok_or_else(|| DidError::Malformed("missing did: prefix".into()))?;
    let (method, id) = rest
        .split_once(':')
        .ok_or_else(|| DidError::Malformed("missing method-specific id".into()))?;
    match method {
        "jwk" => {
            if !fragment.is_empty() && fragment != "0" {
                return Err(DidError::Malformed(format!(
                    "did:jwk has no method #{fragment}"
                )));
            }
            let bytes = b64::decode(id).map_err(|e| DidError::Malformed(e.to_string()))?;
            let value: Value =
                crate::json::from_slice(&bytes).map_err(|e| DidError::Malformed(e.to_string()))?;
            Jwk::from_value(&value).map_err(|e| DidError::UnsupportedKey(e.to_string()))
        }
        "key" => {
            if !fragment.is_empty() && fragment != id {
                return Err(DidError::Malformed(format!(
                    "did:key has no method #{fragment}"
                )));
            }
            let encoded = id
                .strip_prefix('z')
                .ok_or_else(|| DidError::Malformed("did:key must be base58btc (z…)".into()))?;
            let bytes = bs58::decode(encoded)
                .into_vec()
                .map_err(|e| DidError::Malformed(e.to_string()))?;
            let key = match bytes.split_at_checked(2) {
                Some((prefix, point)) if prefix == P256_PREFIX => PublicKey::p256_from_sec1(point)
                    .map_err(|e| DidError::UnsupportedKey(e.to_string()))?,
                Some((prefix, raw)) if prefix == ED25519_PREFIX => PublicKey::Ed25519(
                    raw.try_into()
                        .map_err(|_| DidError::UnsupportedKey("Ed25519 key length".into()))?,
                ),
                _ => {
                    return Err(DidError::UnsupportedKey(
                        "multicodec not P-256 or Ed25519".into(),
                    ));
                }
            };
            Ok(Jwk::new(key))
        }
        other => Err(DidError::UnsupportedMethod(other.to_owned())),
    }
}

/// `did:key` of a P-256 or Ed25519 key (compressed point for P-256).
pub fn did_key(jwk: &Jwk) -> Result<String, DidError> {
    let mut bytes = Vec::with_capacity(35);
    match jwk.key() {
        key @ PublicKey::P256(_) => {
            bytes.extend_from_slice(&P256_PREFIX);
            bytes.extend_from_slice(&key.p256_compressed().unwrap_or([0; 33]));
        }
        PublicKey::Ed25519(raw) => {
            bytes.extend_from_slice(&ED25519_PREFIX);
            bytes.extend_from_slice(raw);
        }
        other => return Err(DidError::UnsupportedKey(other.kind().into())),
    }
    Ok(format!("did:key:z{}", bs58::encode(bytes).into_string()))
}

/// `did:jwk` of a key: base64url of its public JWK (without `kid`, so the DID is the key).
#[must_use]
pub fn did_jwk(jwk: &Jwk) -> String {
    let plain = Jwk::new(jwk.key().clone());
    format!("did:jwk:{}", b64::encode(plain.to_value().to_string()))
}

/// The URL of a `did:web` document (did:web method §3.2): `did:web:example.com` →
/// `https://example.com/.well-known/did.json`; `did:web:example.com:user:alice` →
/// `https://example.com/user/alice/did.json`; a port is written `%3A`.
pub fn did_web_url(did: &str) -> Result<String, DidError> {
    let id = did
        .strip_prefix("did:web:")
        .ok_or_else(|| DidError::UnsupportedMethod(did.split(':').nth(1).unwrap_or("").into()))?;
    let mut segments = id.split(':');
    let host = segments
        .next()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| DidError::Malformed("did:web without a host".into()))?
        .replace("%3A", ":")
        .replace("%3a", ":");
    if host.contains(['/', '?', '#', '@']) {
        return Err(DidError::Malformed(format!("invalid host {host:?}")));
    }
    let path: Vec<&str> = segments.collect();
    if path
        .iter()
        .any(|s| s.is_empty() || s.contains(['/', '?', '#']) || *s == "..")
    {
        return Err(DidError::Malformed("invalid path segment".into()));
    }
    Ok(if path.is_empty() {
        format!("https://{host}/.well-known/did.json")
    } else {
        format!("https://{host}/{}/did.json", path.join("/"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_web_mapping_from_the_method_spec() {
        assert_eq!(
            did_web_url("did:web:w3c-ccg.github.io").unwrap(),
            "https://w3c-ccg.github.io/.well-known/did.json"
        );
        assert_eq!(
            did_web_url("did:web:w3c-ccg.github.io:user:alice").unwrap(),
            "https://w3c-ccg.github.io/user/alice/did.json"
        );
        assert_eq!(
            did_web_url("did:web:example.com%3A3000").unwrap(),
            "https://example.com:3000/.well-known/did.json"
        );
        for bad in ["did:web:", "did:web:a/b", "did:web:a::b", "did:key:z6Mk"] {
            assert!(did_web_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn did_jwk_round_trip_and_refusals() {
        let jwk = Jwk::from_value(&serde_json::json!({"kty":"EC","crv":"P-256",
            "x":"acbIQiuMs3i8_uszEjJ2tpTtRM4EU3yz91PH6CdH2V0",
            "y":"_KcyLj9vWMptnmKtm46GqDz8wf74I5LKgrl2GzH3nSE"}))
        .unwrap();
        let did = did_jwk(&jwk);
        // The did:jwk spec's P-256 example.
        assert_eq!(
            did,
            "did:jwk:eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6ImFjYklRaXVNczNpOF91c3pFakoydHBUdFJNNEVVM3l6OTFQSDZDZEgyVjAiLCJ5IjoiX0tjeUxqOXZXTXB0bm1LdG00NkdxRHo4d2Y3NEk1TEtncmwyR3pIM25TRSJ9"
        );
        assert_eq!(resolve_offline(&format!("{did}#0")).unwrap(), jwk);
        assert!(resolve_offline(&format!("{did}#1")).is_err());
        assert!(matches!(
            resolve_offline("did:web:example.com"),
            Err(DidError::UnsupportedMethod(_))
        ));
        for bad in [
            "did:jwk:%%%",
            "did:key:abc",
            "did:key:z1111",
            "nope",
            "did:jwk",
        ] {
            assert!(resolve_offline(bad).is_err(), "{bad}");
        }
    }
}
