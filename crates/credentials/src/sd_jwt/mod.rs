//! Selective Disclosure for JWTs (RFC 9901).
//!
//! ```text
//! issuer:   claims + disclosable paths ──issue──▶ "<jwt>~<d1>~…~<dn>~"
//! holder:   SdJwt::parse ──present(paths)──▶ with_key_binding(aud, nonce) ──▶ "<jwt>~<di>~…~<kb-jwt>"
//! verifier: SdJwt::parse ──verify(issuer key, KeyBinding policy)──▶ VerifiedSdJwt (claims(), holder_key())
//! ```
//!
//! The digest of a disclosure is computed over its base64url text as received (§4.2.3), so
//! [`Disclosure`] keeps that text. Whether a key-binding JWT is *required* is the verifier's
//! policy ([`KeyBinding`]), never inferred from its presence (§7.3).
//!
//! ```
//! use llavero_credentials::crypto::{default_backend, generate_p256, signer_from_jwk, system_random};
//! use llavero_credentials::jws::AlgorithmPolicy;
//! use llavero_credentials::sd_jwt::{self, ClaimPath, IssueOptions, KeyBinding, SdJwt};
//!
//! let (issuer, holder) = (generate_p256(None)?, generate_p256(None)?);
//! let claims = serde_json::json!({
//!     "given_name": "Ana", "family_name": "Rojas", "cnf": {"jwk": holder.public()}
//! });
//! let disclosable = [ClaimPath::claim("given_name"), ClaimPath::claim("family_name")];
//! let issued = sd_jwt::issue(claims.as_object().unwrap_or(&Default::default()), &disclosable,
//!     &IssueOptions::default(), signer_from_jwk(&issuer)?.as_ref(), system_random(), default_backend())?;
//!
//! // The holder reveals the given name only, bound to one verifier and one nonce.
//! let presentation = SdJwt::parse(&issued)?
//!     .select(&[ClaimPath::claim("given_name")], default_backend())?
//!     .with_key_binding("https://rp.example", "n-1", 1_800_000_000, signer_from_jwk(&holder)?.as_ref(), default_backend())?;
//!
//! let policy = KeyBinding::Required {
//!     audience: "https://rp.example".into(), nonce: "n-1".into(), now: 1_800_000_000, skew: 60, max_age: 300,
//! };
//! let verified = SdJwt::parse(&presentation)?
//!     .verify(default_backend(), &issuer.public(), &AlgorithmPolicy::default(), &policy)?;
//! assert_eq!(verified.claims()["given_name"], "Ana");
//! assert!(verified.claims().get("family_name").is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod disclosure;
mod issue;
mod path;
mod present;
mod reveal;
mod verify;

pub use disclosure::{Disclosure, SALT_BYTES};
pub(crate) use issue::issue_owned;
pub use issue::{IssueOptions, issue};
pub use path::{ClaimPath, ClaimPathError, PathElement};
pub use present::KeyBindingClaims;
pub use reveal::{Revealed, reveal};
pub use verify::{KeyBinding, VerifiedSdJwt};

use crate::crypto::CryptoError;
use crate::jws::{DecodedJws, JwsError};

/// The largest SD-JWT accepted (issuer JWT, disclosures and KB-JWT together).
pub const MAX_SD_JWT_LEN: usize = 64 * 1024;

/// The most disclosures one SD-JWT may carry: real credentials carry tens.
pub const MAX_DISCLOSURES: usize = 512;

/// The `typ` of a key-binding JWT (RFC 9901 §4.3).
pub const KB_JWT_TYP: &str = "kb+jwt";

/// Why an SD-JWT was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdJwtError {
    /// Not an SD-JWT.
    #[error("malformed SD-JWT: {0}")]
    Malformed(String),
    /// Longer than [`MAX_SD_JWT_LEN`].
    #[error("SD-JWT is {0} bytes, more than allowed")]
    TooLarge(usize),
    /// More than [`MAX_DISCLOSURES`] disclosures.
    #[error("SD-JWT carries {0} disclosures, more than allowed")]
    TooManyDisclosures(usize),
    /// The issuer JWT (or KB-JWT, wrapped in `KeyBindingInvalid`) failed JWS checks.
    #[error("issuer JWT: {0}")]
    Jws(#[from] JwsError),
    /// `_sd_alg` names a hash other than `sha-256`.
    #[error("unsupported _sd_alg {0:?}")]
    UnsupportedHashAlgorithm(String),
    /// A digest appears more than once in the payload and disclosures (§7.1 step 4).
    #[error("digest {0} appears more than once")]
    DuplicateDigest(String),
    /// The same disclosure was sent twice.
    #[error("a disclosure is repeated")]
    DuplicateDisclosure,
    /// A disclosure no digest in the issuer-signed payload refers to: tampered, or foreign.
    #[error("disclosure {0} is not referenced by the issuer-signed payload")]
    UnreferencedDisclosure(String),
    /// A disclosed name already exists in its object (§7.1 step 3.2.4).
    #[error("disclosed claim {0:?} collides with an existing claim")]
    ClaimNameCollision(String),
    /// A disclosure names `_sd` or `...`, or an issuer asked to disclose one.
    #[error("claim name {0:?} cannot be selectively disclosed")]
    ForbiddenClaimName(String),
    /// A disclosure with the wrong number of elements for where its digest is (§7.1).
    #[error("disclosure has the wrong number of elements for its position")]
    DisclosureArity,
    /// `_sd` is not an array of strings, or `...` not a string.
    #[error("invalid digest container: {0}")]
    InvalidDigests(String),
    /// A path given at issuance names no claim.
    #[error("no claim at path {0}")]
    PathNotFound(String),
    /// Key binding is required and there is no KB-JWT.
    #[error("key binding JWT required but missing")]
    KeyBindingMissing,
    /// Key binding is required and the credential has no `cnf.jwk`.
    #[error("credential has no holder key (cnf.jwk)")]
    NoHolderKey,
    /// The KB-JWT is malformed, has the wrong `typ`, or its signature fails.
    #[error("invalid key binding JWT: {0}")]
    KeyBindingInvalid(String),
    /// The KB-JWT names another audience.
    #[error("key binding JWT audience {found:?}, expected {expected:?}")]
    WrongAudience {
        /// The expected audience.
        expected: String,
        /// What the KB-JWT says.
        found: Option<String>,
    },
    /// The KB-JWT answers another nonce.
    #[error("key binding JWT nonce does not match")]
    WrongNonce,
    /// `sd_hash` does not cover exactly the presented SD-JWT.
    #[error("key binding JWT sd_hash does not match the presentation")]
    SdHashMismatch,
    /// The KB-JWT's `iat` is outside the accepted window.
    #[error("key binding JWT issued at {iat}, outside the accepted window at {now}")]
    KeyBindingStale {
        /// Its `iat`.
        iat: i64,
        /// Verifier time.
        now: i64,
    },
    /// Randomness or signing failed.
    #[error(transparent)]
    Crypto(CryptoError),
}

/// A parsed SD-JWT: the issuer JWT (decoded, not verified), the disclosures and an optional
/// key-binding JWT.
#[derive(Debug, Clone)]
pub struct SdJwt {
    issuer_jwt: String,
    issuer_jws: DecodedJws,
    /// The issuer JWT's payload, parsed once (not yet authenticated).
    payload: serde_json::Value,
    /// `<jwt>~<disclosures>~` as received, when parsed from text (saves rebuilding it).
    presented: Option<String>,
    disclosures: Vec<Disclosure>,
    key_binding_jwt: Option<String>,
}

impl SdJwt {
    /// Parses the compact serialization `<jwt>~<d1>~…~<dn>~[<kb-jwt>]` (RFC 9901 §4).
    pub fn parse(text: &str) -> Result<Self, SdJwtError> {
        let text = text.trim();
        if text.len() > MAX_SD_JWT_LEN {
            return Err(SdJwtError::TooLarge(text.len()));
        }
        let mut parts: Vec<&str> = text.split('~').collect();
        if parts.len() < 2 {
            return Err(SdJwtError::Malformed(
                "expected <jwt>~…~ (an SD-JWT ends with ~ or a key-binding JWT)".into(),
            ));
        }
        if parts.len() > MAX_DISCLOSURES + 2 {
            return Err(SdJwtError::TooManyDisclosures(parts.len() - 2));
        }
        let last = parts.pop().unwrap_or_default();
        // `sd_hash` covers the text up to and including the last `~`, exactly as received.
        let presented = text
            .get(..text.len() - last.len())
            .unwrap_or_default()
            .to_owned();
        let key_binding_jwt = (!last.is_empty()).then(|| last.to_owned());
        let mut parts = parts.into_iter();
        let issuer_jwt = parts.next().unwrap_or_default().to_owned();
        let issuer_jws = DecodedJws::decode(&issuer_jwt)?;
        let payload = issuer_jws.unverified_value()?;
        let disclosures = parts
            .map(|d| {
                if d.is_empty() {
                    Err(SdJwtError::Malformed("empty disclosure".into()))
                } else {
                    Disclosure::parse(d)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            issuer_jwt,
            issuer_jws,
            payload,
            disclosures,
            key_binding_jwt,
            presented: Some(presented),
        })
    }

    /// Parses the JSON serialization (RFC 9901 §8), flattened or general, by rebuilding the
    /// equivalent compact form (the KB-JWT's `sd_hash` is defined over that form, §8.1). In
    /// the general form the first signature is used.
    pub fn parse_json(text: &str) -> Result<Self, SdJwtError> {
        use serde_json::Value;
        if text.len() > MAX_SD_JWT_LEN {
            return Err(SdJwtError::TooLarge(text.len()));
        }
        let doc: Value = crate::json::from_slice(text.as_bytes())
            .map_err(|e| SdJwtError::Malformed(e.to_string()))?;
        let signature = match doc.get("signatures").and_then(Value::as_array) {
            Some(all) => all
                .first()
                .ok_or_else(|| SdJwtError::Malformed("no signatures".into()))?,
            None => &doc,
        };
        let field = |v: &Value, name: &str| -> Result<String, SdJwtError> {
            v.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| SdJwtError::Malformed(format!("JSON serialization without {name}")))
        };
        let mut compact = format!(
            "{}.{}.{}~",
            field(signature, "protected")?,
            field(&doc, "payload")?,
            field(signature, "signature")?
        );
        // RFC 9901 §8.1 puts `disclosures` and `kb_jwt` in the unprotected header; earlier
        // drafts (and the reference implementation's 0.10 release) put them at the top level.
        let member = |name: &str| {
            signature
                .get("header")
                .and_then(|h| h.get(name))
                .or_else(|| doc.get(name))
        };
        let disclosures = member("disclosures")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for d in disclosures {
            compact.push_str(
                d.as_str()
                    .ok_or_else(|| SdJwtError::Malformed("disclosure is not a string".into()))?,
            );
            compact.push('~');
        }
        if let Some(kb) = member("kb_jwt").and_then(Value::as_str) {
            compact.push_str(kb);
        }
        Self::parse(&compact)
    }

    /// The issuer-signed JWT, decoded but not verified: read `iss` and `kid` from it to choose
    /// the issuer key.
    #[must_use]
    pub fn issuer_jws(&self) -> &DecodedJws {
        &self.issuer_jws
    }

    /// The issuer JWT's payload, **not yet authenticated** (digests in place of concealed
    /// claims): read `iss`, `vct` from it to choose the key, nothing else.
    #[must_use]
    pub fn unverified_payload(&self) -> &serde_json::Value {
        &self.payload
    }

    /// The disclosures, in the order received.
    #[must_use]
    pub fn disclosures(&self) -> &[Disclosure] {
        &self.disclosures
    }

    /// The key-binding JWT, if one was appended.
    #[must_use]
    pub fn key_binding_jwt(&self) -> Option<&str> {
        self.key_binding_jwt.as_deref()
    }

    /// `<jwt>~<d1>~…~<dn>~`: the SD-JWT without key binding, which `sd_hash` covers (§4.3.1).
    #[must_use]
    pub fn without_key_binding(&self) -> String {
        if let Some(presented) = &self.presented {
            return presented.clone();
        }
        let capacity = self.issuer_jwt.len()
            + self
                .disclosures
                .iter()
                .map(|d| d.encoded().len() + 1)
                .sum::<usize>()
            + 1;
        let mut out = String::with_capacity(capacity);
        out.push_str(&self.issuer_jwt);
        out.push('~');
        for d in &self.disclosures {
            out.push_str(d.encoded());
            out.push('~');
        }
        out
    }

    /// The full compact serialization, with the key-binding JWT if any.
    #[must_use]
    pub fn serialize(&self) -> String {
        let mut out = self.without_key_binding();
        if let Some(kb) = &self.key_binding_jwt {
            out.push_str(kb);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_garbage_without_panicking() {
        for bad in ["", "~", "abc", "a.b.c", "e30.e30.AA~%%~", "e30.e30.AA~~"] {
            assert!(SdJwt::parse(bad).is_err(), "{bad:?}");
        }
        let many = format!("e30.e30.AA{}~", "~WyJhIiwiYiJd".repeat(MAX_DISCLOSURES + 1));
        assert!(matches!(
            SdJwt::parse(&many),
            Err(SdJwtError::TooManyDisclosures(_))
        ));
        let huge = "a".repeat(MAX_SD_JWT_LEN + 1);
        assert!(matches!(SdJwt::parse(&huge), Err(SdJwtError::TooLarge(_))));
    }
}
