//! Errors as they cross the FFI boundary: one enum per call family, each variant carrying a
//! human-readable `reason`: the Rust error's text (not `message`, which Kotlin's `Throwable` owns).

use llavero_verifier::Rejection;

/// Why a credential or presentation was rejected (one variant per [`Rejection`] code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
#[allow(
    missing_docs,
    reason = "each variant is the Rejection of the same name"
)]
pub enum VerifyError {
    #[error("{reason}")]
    Malformed { reason: String },
    #[error("{reason}")]
    TooLarge { reason: String },
    #[error("{reason}")]
    UnsupportedFormat { reason: String },
    #[error("{reason}")]
    UnsupportedAlgorithm { reason: String },
    #[error("{reason}")]
    BadSignature { reason: String },
    #[error("{reason}")]
    UntrustedIssuer { reason: String },
    #[error("{reason}")]
    UnknownIssuerKey { reason: String },
    #[error("{reason}")]
    IssuerNotAllowedForType { reason: String },
    #[error("{reason}")]
    Expired { reason: String },
    #[error("{reason}")]
    NotYetValid { reason: String },
    #[error("{reason}")]
    Revoked { reason: String },
    #[error("{reason}")]
    Suspended { reason: String },
    #[error("{reason}")]
    StatusUnavailable { reason: String },
    #[error("{reason}")]
    DigestMismatch { reason: String },
    #[error("{reason}")]
    DuplicateDisclosure { reason: String },
    #[error("{reason}")]
    InvalidDisclosure { reason: String },
    #[error("{reason}")]
    MissingKeyBinding { reason: String },
    #[error("{reason}")]
    InvalidKeyBinding { reason: String },
    #[error("{reason}")]
    WrongAudience { reason: String },
    #[error("{reason}")]
    WrongNonce { reason: String },
    /// A bug: Rust panicked; the call had no effect.
    #[error("internal error: {reason}")]
    Internal { reason: String },
    /// A W3C credential or presentation breaks a VC Data Model 2.0 rule; `rule` is its code
    /// (`vcdm.credentialSubject.empty`).
    #[error("{reason}")]
    NonConforming { reason: String, rule: String },
}

impl From<Rejection> for VerifyError {
    fn from(r: Rejection) -> Self {
        let reason = r.to_string();
        if let Rejection::NonConforming { rule, .. } = &r {
            return Self::NonConforming {
                reason,
                rule: rule.code().to_owned(),
            };
        }
        match r.code() {
            "too_large" => Self::TooLarge { reason },
            "unsupported_format" => Self::UnsupportedFormat { reason },
            "unsupported_algorithm" => Self::UnsupportedAlgorithm { reason },
            "bad_signature" => Self::BadSignature { reason },
            "untrusted_issuer" => Self::UntrustedIssuer { reason },
            "unknown_issuer_key" => Self::UnknownIssuerKey { reason },
            "issuer_not_allowed_for_type" => Self::IssuerNotAllowedForType { reason },
            "expired" => Self::Expired { reason },
            "not_yet_valid" => Self::NotYetValid { reason },
            "revoked" => Self::Revoked { reason },
            "suspended" => Self::Suspended { reason },
            "status_unavailable" => Self::StatusUnavailable { reason },
            "digest_mismatch" => Self::DigestMismatch { reason },
            "duplicate_disclosure" => Self::DuplicateDisclosure { reason },
            "invalid_disclosure" => Self::InvalidDisclosure { reason },
            "missing_key_binding" => Self::MissingKeyBinding { reason },
            "invalid_key_binding" => Self::InvalidKeyBinding { reason },
            "wrong_audience" => Self::WrongAudience { reason },
            "wrong_nonce" => Self::WrongNonce { reason },
            _ => Self::Malformed { reason },
        }
    }
}

/// Why a bundle could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The bundle, or a trust anchor key, is malformed or does not verify.
    #[error("{reason}")]
    Invalid {
        /// Why.
        reason: String,
    },
    /// A bug: Rust panicked.
    #[error("internal error: {reason}")]
    Internal {
        /// The panic message.
        reason: String,
    },
}

/// Why a held credential could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// Not a credential in a supported format.
    #[error("{reason}")]
    Malformed {
        /// Why.
        reason: String,
    },
    /// A bug: Rust panicked.
    #[error("internal error: {reason}")]
    Internal {
        /// The panic message.
        reason: String,
    },
}

/// Why a holder operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum HolderError {
    /// The input (credential, offer, claim path, key) is malformed.
    #[error("{reason}")]
    Malformed {
        /// Why.
        reason: String,
    },
    /// The held credentials cannot answer the verifier's query.
    #[error("{reason}")]
    NotAnswerable {
        /// Which part of the query is unanswered.
        reason: String,
    },
    /// The app's signer failed or returned something that is not a P-256 signature.
    #[error("{reason}")]
    Signing {
        /// Why.
        reason: String,
    },
    /// A bug: Rust panicked.
    #[error("internal error: {reason}")]
    Internal {
        /// The panic message.
        reason: String,
    },
}

/// What an app's [`crate::HolderSigner`] reports when it cannot sign (user cancelled, key
/// invalidated, hardware error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum SignerError {
    /// The signer refused or failed.
    #[error("{reason}")]
    Failed {
        /// Why.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for SignerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed { reason: e.reason }
    }
}
