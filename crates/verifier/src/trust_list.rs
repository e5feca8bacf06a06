//! The trust list: which issuers a relying party trusts, with their keys and the credential
//! types each may issue, signed by a trust anchor.
//!
//! Wire format (`specs/trust-list/`): a compact JWS, header `typ: trust-list+jwt`, payload
//!
//! ```json
//! { "iss": "<anchor id>", "iat": 1767225600, "exp": 1798761600, "sequence": 7,
//!   "issuers": [ { "id": "https://registro.llavero.cl", "name": "Registro Civil",
//!                  "jwks": { "keys": [ { "kty": "EC", "crv": "P-256", "kid": "rc-2026", ... } ] },
//!                  "credential_types": ["https://llavero.cl/vct/birth-certificate"],
//!                  "valid_from": 1767225600, "valid_until": 1830297600 } ] }
//! ```
//!
//! The anchor key is never taken from the list itself: the caller pins it.

use std::collections::HashMap;

use llavero_credentials::crypto::{CryptoBackend, Signer};
use llavero_credentials::jwk::Jwk;
use llavero_credentials::jws::{self, AlgorithmPolicy, DecodedJws, Header, JwsError};
use llavero_credentials::jwt::{TimeClaims, ValidityError};
use llavero_credentials::time::UnixTime;
use llavero_credentials::vcdm::is_url;
use serde::{Deserialize, Serialize};

/// The `typ` of a signed trust list.
pub const TRUST_LIST_TYP: &str = "trust-list+jwt";

/// The most issuers one list may name; a national list has dozens, not thousands.
pub const MAX_ISSUERS: usize = 10_000;

/// Why a trust list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustListError {
    /// The JWS is malformed or its signature does not verify with any pinned anchor key.
    #[error("trust list signature: {0}")]
    Signature(#[from] JwsError),
    /// The list is outside its validity window.
    #[error("trust list is not valid now: {0}")]
    Validity(#[from] ValidityError),
    /// The payload is not a trust list.
    #[error("malformed trust list: {0}")]
    Malformed(String),
    /// No pinned anchor key has the list's `kid` (or none was pinned).
    #[error("trust list signed by unknown anchor key {0:?}")]
    UnknownAnchor(Option<String>),
    /// An issuer id is not a URL: credentials name their issuer by URL (`iss`, VCDM 2.0 §4.7
    /// `issuer`), so such an entry could never match a conforming credential.
    #[error("issuer id {0:?} is not a URL")]
    IssuerIdNotUrl(String),
}

/// One trusted issuer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustedIssuer {
    /// The issuer identifier as it appears in credentials (`iss`, or the VC `issuer` id).
    pub id: String,
    /// A human-readable name for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The issuer's public keys.
    pub jwks: Jwks,
    /// The credential types (SD-JWT VC `vct` values, or W3C `type` values) it may issue.
    pub credential_types: Vec<String>,
    /// Start of trust, in seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<UnixTime>,
    /// End of trust, in seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<UnixTime>,
}

impl TrustedIssuer {
    /// The key with `kid`, or the only key when the token names none.
    #[must_use]
    pub fn key(&self, kid: Option<&str>) -> Option<&Jwk> {
        match kid {
            Some(kid) => self.jwks.keys.iter().find(|k| k.kid() == Some(kid)),
            None if self.jwks.keys.len() == 1 => self.jwks.keys.first(),
            None => None,
        }
    }

    /// Whether the issuer may issue `credential_type`.
    #[must_use]
    pub fn may_issue(&self, credential_type: &str) -> bool {
        self.credential_types.iter().any(|t| t == credential_type)
    }

    /// Whether trust in the issuer holds at `now`.
    #[must_use]
    pub fn trusted_at(&self, now: UnixTime) -> bool {
        self.valid_from.is_none_or(|f| now >= f) && self.valid_until.is_none_or(|u| now < u)
    }
}

/// A JWK Set (RFC 7517 §5).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// The payload of a trust list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustListClaims {
    /// The trust anchor's identifier.
    pub iss: String,
    /// Issuance time.
    pub iat: UnixTime,
    /// Expiry: after it the list must be refreshed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<UnixTime>,
    /// A number that grows with every publication, to spot rollbacks.
    #[serde(default)]
    pub sequence: u64,
    /// The trusted issuers.
    pub issuers: Vec<TrustedIssuer>,
}

impl TrustListClaims {
    fn check_issuer_ids(&self) -> Result<(), TrustListError> {
        match self.issuers.iter().find(|i| !is_url(&i.id)) {
            Some(bad) => Err(TrustListError::IssuerIdNotUrl(bad.id.clone())),
            None => Ok(()),
        }
    }

    /// Signs the list with the anchor key, after checking every issuer id is a URL.
    pub fn sign(&self, anchor: &dyn Signer) -> Result<String, TrustListError> {
        self.check_issuer_ids()?;
        let mut header = Header::new(TRUST_LIST_TYP);
        header.kid = anchor.public_jwk().kid().map(str::to_owned);
        let payload =
            serde_json::to_value(self).map_err(|e| TrustListError::Malformed(e.to_string()))?;
        Ok(jws::sign_json(header, &payload, anchor)?)
    }
}

/// A trust list whose signature and validity have been checked. Only [`TrustList::verify`]
/// builds one.
#[derive(Debug, Clone)]
pub struct TrustList {
    claims: TrustListClaims,
    by_id: HashMap<String, usize>,
}

impl TrustList {
    /// Verifies a signed trust list against the pinned anchor keys at `now`.
    pub fn verify(
        compact: &str,
        anchors: &[Jwk],
        crypto: &dyn CryptoBackend,
        now: UnixTime,
        skew: i64,
    ) -> Result<Self, TrustListError> {
        let jws = DecodedJws::decode(compact)?;
        jws.header().expect_typ(&[TRUST_LIST_TYP])?;
        let kid = jws.header().kid.as_deref();
        let anchor = match kid {
            Some(kid) => anchors.iter().find(|a| a.kid() == Some(kid)),
            None if anchors.len() == 1 => anchors.first(),
            None => None,
        }
        .ok_or_else(|| TrustListError::UnknownAnchor(kid.map(str::to_owned)))?;
        jws.verify(crypto, anchor, &AlgorithmPolicy::default())?;
        let raw: serde_json::Value = jws.unverified_claims()?;
        TimeClaims::from_claims(&raw)?.check(now, skew)?;
        let claims: TrustListClaims =
            serde_json::from_value(raw).map_err(|e| TrustListError::Malformed(e.to_string()))?;
        if claims.issuers.len() > MAX_ISSUERS {
            return Err(TrustListError::Malformed(format!(
                "{} issuers, more than {MAX_ISSUERS}",
                claims.issuers.len()
            )));
        }
        claims.check_issuer_ids()?;
        let mut by_id = HashMap::with_capacity(claims.issuers.len());
        for (i, issuer) in claims.issuers.iter().enumerate() {
            if by_id.insert(issuer.id.clone(), i).is_some() {
                return Err(TrustListError::Malformed(format!(
                    "issuer {} listed twice",
                    issuer.id
                )));
            }
        }
        Ok(Self { claims, by_id })
    }

    /// The issuer with identifier `id`.
    #[must_use]
    pub fn issuer(&self, id: &str) -> Option<&TrustedIssuer> {
        self.by_id.get(id).and_then(|&i| self.claims.issuers.get(i))
    }

    /// The verified payload.
    #[must_use]
    pub fn claims(&self) -> &TrustListClaims {
        &self.claims
    }
}

#[cfg(test)]
mod tests {
    use llavero_credentials::crypto::{DangerousSeededRandom, default_backend, signer_from_jwk};
    use llavero_credentials::jwk::PrivateJwk;

    use super::*;

    fn anchor() -> PrivateJwk {
        PrivateJwk::generate_p256(&DangerousSeededRandom::new(100), Some("anchor-1".into()))
            .unwrap()
    }

    fn list() -> TrustListClaims {
        let issuer_key =
            PrivateJwk::generate_p256(&DangerousSeededRandom::new(101), Some("rc-1".into()))
                .unwrap();
        TrustListClaims {
            iss: "https://trust.llavero.cl".into(),
            iat: 1000,
            exp: Some(5000),
            sequence: 1,
            issuers: vec![TrustedIssuer {
                id: "https://registro.llavero.cl".into(),
                name: Some("Registro Civil".into()),
                jwks: Jwks {
                    keys: vec![issuer_key.public()],
                },
                credential_types: vec!["https://llavero.cl/vct/birth-certificate".into()],
                valid_from: None,
                valid_until: Some(4000),
            }],
        }
    }

    #[test]
    fn signed_list_verifies_and_answers_lookups() {
        let signer = signer_from_jwk(&anchor()).unwrap();
        let jwt = list().sign(signer.as_ref()).unwrap();
        let trust =
            TrustList::verify(&jwt, &[anchor().public()], default_backend(), 2000, 0).unwrap();
        let issuer = trust.issuer("https://registro.llavero.cl").unwrap();
        assert!(issuer.may_issue("https://llavero.cl/vct/birth-certificate"));
        assert!(!issuer.may_issue("https://llavero.cl/vct/driving-licence"));
        assert!(issuer.key(Some("rc-1")).is_some());
        assert!(issuer.key(Some("other")).is_none());
        assert!(issuer.trusted_at(3999) && !issuer.trusted_at(4000));
        assert!(trust.issuer("https://evil.example").is_none());
    }

    #[test]
    fn list_signed_by_another_key_or_expired_is_refused() {
        let impostor =
            PrivateJwk::generate_p256(&DangerousSeededRandom::new(7), Some("anchor-1".into()))
                .unwrap();
        let jwt = list()
            .sign(signer_from_jwk(&impostor).unwrap().as_ref())
            .unwrap();
        assert_eq!(
            TrustList::verify(&jwt, &[anchor().public()], default_backend(), 2000, 0).unwrap_err(),
            TrustListError::Signature(JwsError::BadSignature)
        );
        let good = list()
            .sign(signer_from_jwk(&anchor()).unwrap().as_ref())
            .unwrap();
        assert!(matches!(
            TrustList::verify(&good, &[anchor().public()], default_backend(), 6000, 0),
            Err(TrustListError::Validity(ValidityError::Expired { .. }))
        ));
        assert!(matches!(
            TrustList::verify(&good, &[], default_backend(), 2000, 0),
            Err(TrustListError::UnknownAnchor(_))
        ));
    }

    #[test]
    fn an_issuer_id_that_is_not_a_url_is_neither_signed_nor_trusted() {
        let anchor = anchor();
        let signer = signer_from_jwk(&anchor).unwrap();
        let mut bad = list();
        bad.issuers[0].id = "fake-issuer".into();
        assert_eq!(
            bad.sign(signer.as_ref()).unwrap_err(),
            TrustListError::IssuerIdNotUrl("fake-issuer".into())
        );
        // A list signed by other software is refused the same way.
        let payload = serde_json::to_value(&bad).unwrap();
        let mut header = Header::new(TRUST_LIST_TYP);
        header.kid = Some("anchor-1".into());
        let jwt = jws::sign_json(header, &payload, signer.as_ref()).unwrap();
        assert_eq!(
            TrustList::verify(&jwt, &[anchor.public()], default_backend(), 2000, 0).unwrap_err(),
            TrustListError::IssuerIdNotUrl("fake-issuer".into())
        );
    }
}
