//! Proof-of-possession JWTs (OpenID4VCI 1.0 Appendix F.1): the wallet proves it holds the key
//! a credential will be bound to, for this issuer, recently, and for a nonce the issuer handed
//! out. This module checks everything but the nonce's freshness, which needs the database: it
//! returns the nonce for the caller to consume.

use llavero_credentials::crypto::CryptoBackend;
use llavero_credentials::jwk::Jwk;
use llavero_credentials::jws::{AlgorithmPolicy, DecodedJws};
use serde_json::Value;

/// The proof JWT `typ`.
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// A proof is at most this long: a header key and a handful of claims.
pub const MAX_PROOF_LEN: usize = 8 * 1024;

/// Why a proof was refused. Each maps to `invalid_proof`, except a bad nonce (`invalid_nonce`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// Not a JWS, too long, or bad JSON.
    #[error("proof is not a well-formed JWT: {0}")]
    Malformed(String),
    /// `typ` is not `openid4vci-proof+jwt`.
    #[error("proof typ must be openid4vci-proof+jwt")]
    WrongType,
    /// `alg` is `none`, symmetric, or anything but ES256.
    #[error("proof algorithm {0:?} is not accepted (ES256 only)")]
    Algorithm(String),
    /// The key is not given as exactly one public `jwk` (not `kid`, not `x5c`, no private part).
    #[error("proof key: {0}")]
    Key(String),
    /// The signature does not verify with the header's key.
    #[error("proof signature does not verify with the key it carries")]
    Signature,
    /// `aud` is not this credential issuer.
    #[error("proof aud {found:?} is not this credential issuer ({expected})")]
    Audience {
        /// This issuer.
        expected: String,
        /// What the proof says.
        found: Option<String>,
    },
    /// `iat` missing, too old or in the future.
    #[error("proof iat {0:?} is missing, older than allowed or in the future")]
    IssuedAt(Option<i64>),
    /// No `nonce`, or proofs of one request carrying different nonces.
    #[error("proof nonce missing or not the same in every proof")]
    Nonce,
}

impl ProofError {
    /// The OpenID4VCI error code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Nonce => "invalid_nonce",
            _ => "invalid_proof",
        }
    }
}

/// What a verified proof yields.
#[derive(Debug, Clone, PartialEq)]
pub struct Proven {
    /// The holder key to bind the credential to.
    pub key: Jwk,
    /// The `c_nonce` it answers (to consume).
    pub nonce: String,
}

/// What a proof must match.
#[derive(Debug, Clone)]
pub struct ProofRules<'a> {
    /// This credential issuer's identifier (`aud`).
    pub audience: &'a str,
    /// Now.
    pub now: i64,
    /// Oldest accepted `iat` is `now - max_age`.
    pub max_age: i64,
    /// Tolerated clock skew for an `iat` in the future.
    pub skew: i64,
}

/// Verifies one proof JWT.
pub fn verify_proof(
    jwt: &str,
    rules: &ProofRules<'_>,
    crypto: &dyn CryptoBackend,
) -> Result<Proven, ProofError> {
    let jws = DecodedJws::decode_with_limit(jwt, MAX_PROOF_LEN)
        .map_err(|e| ProofError::Malformed(e.to_string()))?;
    let header = jws.header();
    if header.typ.as_deref() != Some(PROOF_TYP) {
        return Err(ProofError::WrongType);
    }
    let policy = AlgorithmPolicy::es256_only();
    policy
        .check(&header.alg)
        .map_err(|_| ProofError::Algorithm(header.alg.clone()))?;
    if header.kid.is_some() || header.x5c.is_some() {
        return Err(ProofError::Key(
            "give the key as jwk only (kid and x5c are not accepted)".into(),
        ));
    }
    let key = header
        .jwk
        .as_ref()
        .ok_or_else(|| ProofError::Key("the header carries no jwk".into()))
        .and_then(|value| Jwk::from_value(value).map_err(|e| ProofError::Key(e.to_string())))?;
    jws.verify(crypto, &key, &policy)
        .map_err(|_| ProofError::Signature)?;
    let claims: Value = jws
        .unverified_value()
        .map_err(|e| ProofError::Malformed(e.to_string()))?;
    let aud = claims.get("aud");
    let aud_matches = match aud {
        Some(Value::String(s)) => s == rules.audience,
        Some(Value::Array(items)) => items.iter().any(|a| a.as_str() == Some(rules.audience)),
        _ => false,
    };
    if !aud_matches {
        return Err(ProofError::Audience {
            expected: rules.audience.to_owned(),
            found: aud.map(Value::to_string),
        });
    }
    let iat = claims.get("iat").and_then(Value::as_i64);
    match iat {
        Some(t) if t >= rules.now - rules.max_age && t <= rules.now + rules.skew => {}
        _ => return Err(ProofError::IssuedAt(iat)),
    }
    let nonce = claims
        .get("nonce")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or(ProofError::Nonce)?;
    Ok(Proven {
        key,
        nonce: nonce.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use llavero_credentials::crypto::{DangerousSeededRandom, default_backend, signer_from_jwk};
    use llavero_credentials::jwk::PrivateJwk;
    use llavero_credentials::jws::{self, Header};
    use serde_json::json;

    use super::*;

    const ISSUER: &str = "https://llavero.example/registro-civil";
    const NOW: i64 = 1_800_000_000;

    fn rules() -> ProofRules<'static> {
        ProofRules {
            audience: ISSUER,
            now: NOW,
            max_age: 300,
            skew: 60,
        }
    }

    fn key(seed: u64) -> PrivateJwk {
        PrivateJwk::generate_p256(&DangerousSeededRandom::new(seed), None).unwrap()
    }

    fn proof(signing: &PrivateJwk, header_key: &PrivateJwk, claims: &Value) -> String {
        let mut header = Header::new(PROOF_TYP);
        header.jwk = Some(header_key.public().to_value());
        jws::sign_json(header, claims, signer_from_jwk(signing).unwrap().as_ref()).unwrap()
    }

    fn good_claims() -> Value {
        json!({"aud": ISSUER, "iat": NOW - 5, "nonce": "n-1"})
    }

    #[test]
    fn a_good_proof_yields_its_key_and_nonce() {
        let holder = key(1);
        let proven = verify_proof(
            &proof(&holder, &holder, &good_claims()),
            &rules(),
            default_backend(),
        )
        .unwrap();
        assert_eq!(proven.key, holder.public());
        assert_eq!(proven.nonce, "n-1");
    }

    #[test]
    fn a_proof_signed_by_another_key_than_it_claims_is_refused() {
        let jwt = proof(&key(1), &key(2), &good_claims());
        assert_eq!(
            verify_proof(&jwt, &rules(), default_backend()),
            Err(ProofError::Signature)
        );
    }

    #[test]
    fn wrong_audience_stale_or_future_iat_and_missing_nonce_are_refused() {
        let holder = key(1);
        let check = |claims: Value| {
            verify_proof(
                &proof(&holder, &holder, &claims),
                &rules(),
                default_backend(),
            )
        };
        assert!(matches!(
            check(json!({"aud": "https://other.example", "iat": NOW, "nonce": "n"})),
            Err(ProofError::Audience { .. })
        ));
        assert_eq!(
            check(json!({"aud": ISSUER, "iat": NOW - 301, "nonce": "n"})),
            Err(ProofError::IssuedAt(Some(NOW - 301)))
        );
        assert_eq!(
            check(json!({"aud": ISSUER, "iat": NOW + 120, "nonce": "n"})),
            Err(ProofError::IssuedAt(Some(NOW + 120)))
        );
        let missing = check(json!({"aud": ISSUER, "iat": NOW}));
        assert_eq!(missing, Err(ProofError::Nonce));
        assert_eq!(missing.unwrap_err().code(), "invalid_nonce");
    }

    #[test]
    fn alg_none_wrong_typ_and_kid_keys_are_refused() {
        let holder = key(1);
        let header = URL_SAFE_NO_PAD.encode(
            json!({"alg": "none", "typ": PROOF_TYP, "jwk": holder.public().to_value()}).to_string(),
        );
        let payload = URL_SAFE_NO_PAD.encode(good_claims().to_string());
        assert_eq!(
            verify_proof(&format!("{header}.{payload}."), &rules(), default_backend()),
            Err(ProofError::Algorithm("none".into()))
        );

        let mut jwt_header = Header::new("JWT");
        jwt_header.jwk = Some(holder.public().to_value());
        let signer = signer_from_jwk(&holder).unwrap();
        let wrong_typ = jws::sign_json(jwt_header, &good_claims(), signer.as_ref()).unwrap();
        assert_eq!(
            verify_proof(&wrong_typ, &rules(), default_backend()),
            Err(ProofError::WrongType)
        );

        let mut kid_header = Header::new(PROOF_TYP);
        kid_header.kid = Some("did:example:123#key-1".into());
        let by_kid = jws::sign_json(kid_header, &good_claims(), signer.as_ref()).unwrap();
        assert!(matches!(
            verify_proof(&by_kid, &rules(), default_backend()),
            Err(ProofError::Key(_))
        ));
    }

    #[test]
    fn a_private_key_in_the_header_or_an_oversized_proof_is_refused() {
        let holder = key(1);
        let mut header = Header::new(PROOF_TYP);
        header.jwk = Some(serde_json::from_str(&holder.to_secret_value()).unwrap());
        let signer = signer_from_jwk(&holder).unwrap();
        let leaked = jws::sign_json(header, &good_claims(), signer.as_ref()).unwrap();
        assert!(matches!(
            verify_proof(&leaked, &rules(), default_backend()),
            Err(ProofError::Key(_))
        ));
        let huge = "a".repeat(MAX_PROOF_LEN + 1);
        assert!(matches!(
            verify_proof(&huge, &rules(), default_backend()),
            Err(ProofError::Malformed(_))
        ));
    }
}
