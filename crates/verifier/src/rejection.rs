//! Why a credential or presentation was rejected: one variant per reason a relying party, a
//! citizen or an auditor needs to tell apart. [`Rejection::code`] is the stable identifier used
//! in HTTP error bodies, CLI output and the FFI bindings.

use llavero_credentials::time::UnixTime;
use llavero_credentials::vcdm::Rule;

/// A typed rejection. The message says why in plain words; [`Rejection::code`] is for machines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The input is not a credential or presentation in a supported shape.
    #[error("malformed input: {0}")]
    Malformed(String),
    /// The input exceeds a size limit (checked before parsing).
    #[error("input is {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A format this verifier does not handle (from `typ` or shape).
    #[error("unsupported format {0:?}")]
    UnsupportedFormat(String),
    /// `alg: none`, HMAC, or any algorithm outside the allow-list.
    #[error("unsupported or forbidden algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// The issuer's signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// The issuer is not on the trust list (or trust has lapsed).
    #[error("issuer {0:?} is not trusted")]
    UntrustedIssuer(String),
    /// The issuer's `x5c` chain does not lead to a configured root (HAIP X.509 key resolution).
    #[error("issuer certificate chain refused: {0}")]
    UntrustedChain(crate::x509::ChainError),
    /// The issuer is trusted but has no key with the token's `kid`.
    #[error("issuer {issuer:?} has no trusted key {kid:?}")]
    UnknownIssuerKey {
        /// The issuer.
        issuer: String,
        /// The `kid` in the token.
        kid: Option<String>,
    },
    /// The issuer is trusted, but not for this credential type.
    #[error("issuer {issuer:?} is not allowed to issue {credential_type:?}")]
    IssuerNotAllowedForType {
        /// The issuer.
        issuer: String,
        /// The credential type.
        credential_type: String,
    },
    /// Past its expiry.
    #[error("expired at {exp} (now {now})")]
    Expired {
        /// Expiry.
        exp: UnixTime,
        /// Verifier time.
        now: UnixTime,
    },
    /// Before its start of validity (or issued in the future).
    #[error("not valid until {nbf} (now {now})")]
    NotYetValid {
        /// Start of validity.
        nbf: UnixTime,
        /// Verifier time.
        now: UnixTime,
    },
    /// The issuer revoked it.
    #[error("revoked")]
    Revoked,
    /// The issuer suspended it.
    #[error("suspended")]
    Suspended,
    /// Its status list is not in the bundle, or the bundle's copy is no longer valid.
    #[error("status unavailable: {0}")]
    StatusUnavailable(String),
    /// A disclosure whose digest the issuer did not sign (tampered or foreign).
    #[error("disclosure digest mismatch: {0}")]
    DigestMismatch(String),
    /// The same disclosure or digest appears twice.
    #[error("duplicate disclosure or digest")]
    DuplicateDisclosure,
    /// A disclosure breaks RFC 9901's rules (name collision, reserved name, arity).
    #[error("invalid disclosure: {0}")]
    InvalidDisclosure(String),
    /// Key binding is required and absent.
    #[error("key binding required but missing")]
    MissingKeyBinding,
    /// The key binding (KB-JWT or presentation signature) is invalid.
    #[error("invalid key binding: {0}")]
    InvalidKeyBinding(String),
    /// The key binding was made for another verifier.
    #[error("wrong audience: expected {expected:?}, found {found:?}")]
    WrongAudience {
        /// The verifier's identifier.
        expected: String,
        /// What the holder signed.
        found: Option<String>,
    },
    /// The key binding answers another challenge (a replay).
    #[error("wrong nonce")]
    WrongNonce,
    /// A W3C credential or presentation breaks a rule of the VC Data Model 2.0 (§1.3: a
    /// conforming verifier reports non-conforming documents). `rule` names it
    /// (`vcdm.credentialSubject.empty`).
    #[error("non-conforming document ({rule}): {detail}")]
    NonConforming {
        /// The rule broken.
        rule: Rule,
        /// What in the document breaks it.
        detail: String,
    },
}

impl Rejection {
    /// A stable `snake_case` code for the reason.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::TooLarge { .. } => "too_large",
            Self::UnsupportedFormat(_) => "unsupported_format",
            Self::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Self::BadSignature => "bad_signature",
            Self::UntrustedIssuer(_) => "untrusted_issuer",
            Self::UnknownIssuerKey { .. } => "unknown_issuer_key",
            Self::UntrustedChain(_) => "untrusted_certificate_chain",
            Self::IssuerNotAllowedForType { .. } => "issuer_not_allowed_for_type",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::Revoked => "revoked",
            Self::Suspended => "suspended",
            Self::StatusUnavailable(_) => "status_unavailable",
            Self::DigestMismatch(_) => "digest_mismatch",
            Self::DuplicateDisclosure => "duplicate_disclosure",
            Self::InvalidDisclosure(_) => "invalid_disclosure",
            Self::MissingKeyBinding => "missing_key_binding",
            Self::InvalidKeyBinding(_) => "invalid_key_binding",
            Self::WrongAudience { .. } => "wrong_audience",
            Self::WrongNonce => "wrong_nonce",
            Self::NonConforming { .. } => "non_conforming",
        }
    }
}
