//! The verifier's side (RFC 9901 §7.1, §7.3).

use serde_json::Value;
use subtle::ConstantTimeEq as _;

use super::present::KeyBindingClaims;
use super::reveal::{Revealed, reveal_owned};
use super::{KB_JWT_TYP, SdJwt, SdJwtError};
use crate::crypto::CryptoBackend;
use crate::jwk::Jwk;
use crate::jws::{AlgorithmPolicy, DecodedJws, Header};
use crate::time::UnixTime;

/// The verifier's key-binding policy. Never inferred from whether a KB-JWT is present (§7.3).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyBinding {
    /// A bare credential is acceptable; a KB-JWT, if sent, is ignored.
    NotRequired,
    /// A KB-JWT for this audience and nonce is required.
    Required {
        /// The verifier's identifier, compared exactly with `aud`.
        audience: String,
        /// The nonce the verifier issued.
        nonce: String,
        /// Verifier time.
        now: UnixTime,
        /// Tolerated clock difference, seconds.
        skew: i64,
        /// Oldest acceptable `iat`, seconds before `now`.
        max_age: i64,
    },
}

/// A verified SD-JWT.
///
/// Only verification builds one; a struct literal outside the crate does not compile:
///
/// ```compile_fail,E0451
/// use llavero_credentials::jws::Header;
/// let forged = llavero_credentials::sd_jwt::VerifiedSdJwt {
///     header: Header::new("dc+sd-jwt"),
///     claims: serde_json::Value::Null,
///     disclosed: Vec::new(),
///     holder_key: None,
///     key_binding: None,
/// };
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedSdJwt {
    /// The issuer JWT's header.
    pub(crate) header: Header,
    /// The processed claims (disclosed claims in place, `_sd`/`_sd_alg` removed).
    pub(crate) claims: Value,
    /// Where each presented disclosure was revealed.
    pub(crate) disclosed: Vec<super::ClaimPath>,
    /// `cnf.jwk`, the holder's key, when the issuer bound one.
    pub(crate) holder_key: Option<Jwk>,
    /// The verified key-binding claims, when key binding was required.
    pub(crate) key_binding: Option<KeyBindingClaims>,
}

impl VerifiedSdJwt {
    /// The issuer JWT's header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The processed claims (disclosed claims in place, `_sd`/`_sd_alg` removed).
    #[must_use]
    pub fn claims(&self) -> &Value {
        &self.claims
    }

    /// The processed claims, by value.
    #[must_use]
    pub fn into_claims(self) -> Value {
        self.claims
    }

    /// Where each presented disclosure was revealed.
    #[must_use]
    pub fn disclosed(&self) -> &[super::ClaimPath] {
        &self.disclosed
    }

    /// `cnf.jwk`, the holder's key, when the issuer bound one.
    #[must_use]
    pub fn holder_key(&self) -> Option<&Jwk> {
        self.holder_key.as_ref()
    }

    /// The verified key-binding claims, when key binding was required.
    #[must_use]
    pub fn key_binding(&self) -> Option<&KeyBindingClaims> {
        self.key_binding.as_ref()
    }
}

impl SdJwt {
    /// Verifies the issuer signature with `issuer_key`, processes the disclosures under every
    /// rule of §7.1, and checks key binding as `key_binding` requires. Consumes the SD-JWT: its
    /// parsed payload becomes the result without a copy.
    pub fn verify(
        mut self,
        crypto: &dyn CryptoBackend,
        issuer_key: &Jwk,
        algorithms: &AlgorithmPolicy,
        key_binding: &KeyBinding,
    ) -> Result<VerifiedSdJwt, SdJwtError> {
        self.issuer_jws.verify(crypto, issuer_key, algorithms)?;
        let holder_key = holder_key(&self.payload)?;
        let payload = std::mem::take(&mut self.payload);
        // The disclosures' values move into the claims; only their text is needed after this.
        let values = self
            .disclosures
            .iter_mut()
            .map(super::Disclosure::take_value)
            .collect();
        let Revealed { claims, paths } = reveal_owned(payload, &self.disclosures, values, crypto)?;
        let key_binding = match key_binding {
            KeyBinding::NotRequired => None,
            KeyBinding::Required {
                audience,
                nonce,
                now,
                skew,
                max_age,
            } => {
                let holder = holder_key.as_ref().ok_or(SdJwtError::NoHolderKey)?;
                let kb = self
                    .key_binding_jwt
                    .as_deref()
                    .ok_or(SdJwtError::KeyBindingMissing)?;
                Some(self.check_key_binding(
                    kb,
                    holder,
                    crypto,
                    algorithms,
                    (audience, nonce),
                    (*now, *skew, *max_age),
                )?)
            }
        };
        Ok(VerifiedSdJwt {
            header: self.issuer_jws.into_header(),
            claims,
            disclosed: paths,
            holder_key,
            key_binding,
        })
    }

    fn check_key_binding(
        &self,
        kb: &str,
        holder: &Jwk,
        crypto: &dyn CryptoBackend,
        algorithms: &AlgorithmPolicy,
        (audience, nonce): (&str, &str),
        (now, skew, max_age): (UnixTime, i64, i64),
    ) -> Result<KeyBindingClaims, SdJwtError> {
        let invalid = |e: &dyn std::fmt::Display| SdJwtError::KeyBindingInvalid(e.to_string());
        let jws = DecodedJws::decode(kb).map_err(|e| invalid(&e))?;
        jws.header()
            .expect_typ(&[KB_JWT_TYP])
            .map_err(|e| invalid(&e))?;
        jws.verify(crypto, holder, algorithms)
            .map_err(|e| invalid(&e))?;
        // RFC 9901 §4.3: `aud` is a single string, so the claims parse straight into the struct.
        let claims: KeyBindingClaims = jws.unverified_claims().map_err(|e| invalid(&e))?;
        if claims.aud != audience {
            return Err(SdJwtError::WrongAudience {
                expected: audience.to_owned(),
                found: Some(claims.aud),
            });
        }
        if !bool::from(claims.nonce.as_bytes().ct_eq(nonce.as_bytes())) {
            return Err(SdJwtError::WrongNonce);
        }
        if claims.iat > now.saturating_add(skew) || claims.iat < now.saturating_sub(max_age + skew)
        {
            return Err(SdJwtError::KeyBindingStale {
                iat: claims.iat,
                now,
            });
        }
        let expected = self.sd_hash(crypto);
        if !bool::from(claims.sd_hash.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(SdJwtError::SdHashMismatch);
        }
        Ok(claims)
    }
}

/// `cnf.jwk` of the issuer-signed payload (RFC 7800 §3.2), if present.
fn holder_key(payload: &Value) -> Result<Option<Jwk>, SdJwtError> {
    match payload.get("cnf").and_then(|c| c.get("jwk")) {
        None => Ok(None),
        Some(jwk) => Jwk::from_value(jwk)
            .map(Some)
            .map_err(|e| SdJwtError::Malformed(format!("cnf.jwk: {e}"))),
    }
}
