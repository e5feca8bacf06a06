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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifiedCredential {
    /// Its format.
    pub format: Format,
    /// The issuer identifier (checked against the trust list).
    pub issuer: String,
    /// The issuer's display name from the trust list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_name: Option<String>,
    /// The credential type the issuer was allowed to issue (`vct` or W3C type).
    pub credential_type: String,
    /// The claims the holder disclosed (SD-JWT VC: processed claims without `_sd`; VC-JWT: the
    /// credential).
    pub claims: Value,
    /// The key the credential is bound to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder_key: Option<Jwk>,
    /// Whether the holder proved possession of that key to this verifier (KB-JWT or a signed
    /// presentation checked for audience and nonce).
    pub key_binding_verified: bool,
    /// Revocation status.
    pub status: CredentialStatus,
    /// Issuance time, if stated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<UnixTime>,
    /// Expiry, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<UnixTime>,
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// The outer format (a presentation, or a single credential).
    pub format: Format,
    /// The credentials, each verified.
    pub credentials: Vec<VerifiedCredential>,
    /// The presentation holder's key, when a presentation was verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder_key: Option<Jwk>,
    /// Warnings.
    pub warnings: Vec<Warning>,
}
