//! The holder's side (RFC 9901 §4.3, §6): choose which disclosures to send, then bind the
//! presentation to one verifier and one transaction with a key-binding JWT.

use serde::{Deserialize, Serialize};

use super::path::ClaimPath;
use super::reveal::reveal;
use super::{KB_JWT_TYP, SdJwt, SdJwtError};
use crate::b64;
use crate::crypto::{CryptoBackend, Signer};
use crate::jws::{self, Header};
use crate::time::UnixTime;

/// The payload of a key-binding JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyBindingClaims {
    /// When the holder signed.
    pub iat: UnixTime,
    /// The verifier it is meant for.
    pub aud: String,
    /// The verifier's nonce.
    pub nonce: String,
    /// base64url(SHA-256(`<jwt>~<disclosures>~`)): binds the KB-JWT to exactly this presentation.
    pub sd_hash: String,
}

impl SdJwt {
    /// A presentation revealing the claims at `paths` and nothing else: the disclosures of
    /// those claims, of everything inside them, and of the parents they need to be reachable.
    pub fn select(
        &self,
        paths: &[ClaimPath],
        crypto: &dyn CryptoBackend,
    ) -> Result<Self, SdJwtError> {
        let revealed = reveal(self.payload.clone(), &self.disclosures, crypto)?;
        let disclosures = self
            .disclosures
            .iter()
            .zip(&revealed.paths)
            .filter(|(_, at)| {
                paths
                    .iter()
                    .any(|wanted| wanted.selects_prefix_of(at) || wanted.descends_from(at))
            })
            .map(|(d, _)| d.clone())
            .collect();
        Ok(Self {
            issuer_jwt: self.issuer_jwt.clone(),
            issuer_jws: self.issuer_jws.clone(),
            payload: self.payload.clone(),
            disclosures,
            key_binding_jwt: None,
            presented: None,
        })
    }

    /// `sd_hash` of this SD-JWT as presented (§4.3.1).
    #[must_use]
    pub fn sd_hash(&self, crypto: &dyn CryptoBackend) -> String {
        match &self.presented {
            Some(text) => b64::encode(crypto.sha256(text.as_bytes())),
            None => b64::encode(crypto.sha256(self.without_key_binding().as_bytes())),
        }
    }

    /// Appends a key-binding JWT signed by the holder key, returning the presentation.
    pub fn with_key_binding(
        &self,
        audience: &str,
        nonce: &str,
        iat: UnixTime,
        holder: &dyn Signer,
        crypto: &dyn CryptoBackend,
    ) -> Result<String, SdJwtError> {
        let presented = self.without_key_binding();
        let claims = KeyBindingClaims {
            iat,
            aud: audience.to_owned(),
            nonce: nonce.to_owned(),
            sd_hash: b64::encode(crypto.sha256(presented.as_bytes())),
        };
        let payload =
            serde_json::to_vec(&claims).map_err(|e| SdJwtError::Malformed(e.to_string()))?;
        let kb = jws::sign(Header::new(KB_JWT_TYP), &payload, holder)?;
        Ok(presented + &kb)
    }
}
