//! What a successful verification returns.

use llavero_credentials::jwk::Jwk;
use llavero_credentials::time::UnixTime;
use serde::Serialize;
use serde_json::Value;

/// The format a credential or presentation arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum Format {
    /// IETF SD-JWT VC (`dc+sd-jwt`), possibly with a key-binding JWT.
    #[serde(rename = "dc+sd-jwt")]
    SdJwtVc,
    /// W3C VC 2.0 secured with JOSE.
    #[serde(rename = "vc+jwt")]
    VcJwt,
    /// W3C VP 2.0 secured with JOSE, with enveloped credentials.
    #[serde(rename = "vp+jwt")]
    VpJwt,
}

/// The revocation status found for a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
#[non_exhaustive]
pub enum CredentialStatus {
    /// The credential references no status list.
    NotTracked,
    /// The issuer's list says the credential is valid.
    Valid {
        /// The list's URI.
        uri: String,
        /// The credential's index in it.
        index: u64,
    },
}

/// One verified credential.
///
/// Only verification builds one; a struct literal outside the crate does not compile:
///
/// ```compile_fail,E0451
/// use llavero_verifier::{CredentialStatus, Format, VerifiedCredential};
/// let forged = VerifiedCredential {
///     format: Format::VcJwt,
///     issuer: "https://registro.llavero.cl".into(),
///     issuer_name: None,
///     credential_type: "IdentityCardCredential".into(),
///     claims: serde_json::json!({"given_name": "Ana"}),
///     holder_key: None,
///     key_binding_verified: true,
///     status: CredentialStatus::NotTracked,
///     issued_at: None,
///     expires_at: None,
/// };
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifiedCredential {
    /// Its format.
    pub(crate) format: Format,
    /// The issuer identifier (checked against the trust list).
    pub(crate) issuer: String,
    /// The issuer's display name from the trust list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) issuer_name: Option<String>,
    /// The credential type the issuer was allowed to issue (`vct` or W3C type).
    pub(crate) credential_type: String,
    /// The claims the holder disclosed (SD-JWT VC: processed claims without `_sd`; VC-JWT: the
    /// credential).
    pub(crate) claims: Value,
    /// The key the credential is bound to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) holder_key: Option<Jwk>,
    /// Whether the holder proved possession of that key to this verifier (KB-JWT or a signed
    /// presentation checked for audience and nonce).
    pub(crate) key_binding_verified: bool,
    /// Revocation status.
    pub(crate) status: CredentialStatus,
    /// Issuance time, if stated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) issued_at: Option<UnixTime>,
    /// Expiry, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) expires_at: Option<UnixTime>,
    /// Key identifiers (base64url SKI and AKI) of the issuer's certificate chain, root
    /// included, when its key came from `x5c`: what DCQL `trusted_authorities` of type `aki`
    /// match against. Empty for an issuer on the trust list.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) authority_key_ids: Vec<String>,
}

impl VerifiedCredential {
    /// Its format.
    #[must_use]
    pub fn format(&self) -> Format {
        self.format
    }

    /// The issuer identifier (checked against the trust list).
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The issuer's display name from the trust list.
    #[must_use]
    pub fn issuer_name(&self) -> Option<&str> {
        self.issuer_name.as_deref()
    }

    /// The credential type the issuer was allowed to issue (`vct` or W3C type).
    #[must_use]
    pub fn credential_type(&self) -> &str {
        &self.credential_type
    }

    /// The claims the holder disclosed (SD-JWT VC: processed claims without `_sd`; VC-JWT: the
    /// credential).
    #[must_use]
    pub fn claims(&self) -> &Value {
        &self.claims
    }

    /// The key the credential is bound to, if any.
    #[must_use]
    pub fn holder_key(&self) -> Option<&Jwk> {
        self.holder_key.as_ref()
    }

    /// Whether the holder proved possession of that key to this verifier.
    #[must_use]
    pub fn key_binding_verified(&self) -> bool {
        self.key_binding_verified
    }

    /// Revocation status.
    #[must_use]
    pub fn status(&self) -> &CredentialStatus {
        &self.status
    }

    /// Issuance time, if stated.
    #[must_use]
    pub fn issued_at(&self) -> Option<UnixTime> {
        self.issued_at
    }

    /// Expiry, if any.
    #[must_use]
    pub fn expires_at(&self) -> Option<UnixTime> {
        self.expires_at
    }

    /// Key identifiers (base64url SKI and AKI) of the issuer's `x5c` chain, root included;
    /// empty when the issuer's key came from the trust list.
    #[must_use]
    pub fn authority_key_ids(&self) -> &[String] {
        &self.authority_key_ids
    }
}

/// Something the relying party should know although verification succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "warning")]
#[non_exhaustive]
pub enum Warning {
    /// The status list used is older than its `ttl`: the bundle should be refreshed.
    StatusListStale {
        /// The list.
        uri: String,
        /// Seconds since it was fetched.
        age_secs: i64,
        /// Its time to live in seconds.
        ttl_secs: u64,
    },
    /// The credential carries no expiry.
    NoExpiry,
}

/// The result of a successful verification.
///
/// Only verification builds one; a struct literal outside the crate does not compile:
///
/// ```compile_fail,E0451
/// use llavero_verifier::{Format, Verification};
/// let forged = Verification {
///     format: Format::VcJwt,
///     credentials: Vec::new(),
///     holder_key: None,
///     warnings: Vec::new(),
/// };
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// The outer format (a presentation, or a single credential).
    pub(crate) format: Format,
    /// The credentials, each verified.
    pub(crate) credentials: Vec<VerifiedCredential>,
    /// The presentation holder's key, when a presentation was verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) holder_key: Option<Jwk>,
    /// Warnings.
    pub(crate) warnings: Vec<Warning>,
}

impl Verification {
    /// The outer format (a presentation, or a single credential).
    #[must_use]
    pub fn format(&self) -> Format {
        self.format
    }

    /// The credentials, each verified.
    #[must_use]
    pub fn credentials(&self) -> &[VerifiedCredential] {
        &self.credentials
    }

    /// The presentation holder's key, when a presentation was verified.
    #[must_use]
    pub fn holder_key(&self) -> Option<&Jwk> {
        self.holder_key.as_ref()
    }

    /// Warnings.
    #[must_use]
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }
}
