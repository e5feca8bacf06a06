//! SD-JWT-based Verifiable Credentials (draft-ietf-oauth-sd-jwt-vc): an SD-JWT with
//! `typ: dc+sd-jwt`, a `vct` naming the credential type, registered JWT claims that are never
//! selectively disclosable, an optional holder key (`cnf.jwk`) and an optional status
//! (`status.status_list`, IETF Token Status List).

use serde_json::{Map, Value};

use crate::crypto::{CryptoBackend, SecureRandom, Signer};
use crate::jwk::Jwk;
use crate::jws::AlgorithmPolicy;
use crate::jwt::{TimeClaims, ValidityError};
use crate::sd_jwt::{
    self, ClaimPath, IssueOptions, KeyBinding, KeyBindingClaims, PathElement, SdJwt, SdJwtError,
};
use crate::status::StatusListReference;
use crate::time::UnixTime;

/// The `typ` Llavero issues (§3.2.1).
pub const TYP: &str = "dc+sd-jwt";

/// The earlier `typ`, accepted on input only.
pub const LEGACY_TYP: &str = "vc+sd-jwt";

/// Claims that must always be plain, so a verifier can read them without disclosures (§3.2.2).
pub const NEVER_DISCLOSABLE: [&str; 7] =
    ["iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status"];

/// Why an SD-JWT VC was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdJwtVcError {
    /// The SD-JWT layer failed.
    #[error(transparent)]
    SdJwt(#[from] SdJwtError),
    /// `typ` is not `dc+sd-jwt` (or the legacy `vc+sd-jwt`).
    #[error("typ {0:?} is not dc+sd-jwt")]
    WrongType(Option<String>),
    /// A required claim is absent or not a string.
    #[error("missing or invalid claim {0:?}")]
    MissingClaim(&'static str),
    /// A claim that must be plain was made (or arrived) selectively disclosable.
    #[error("claim {0:?} must never be selectively disclosable")]
    NeverDisclosable(String),
    /// The subject's claims try to set a claim the envelope owns (`iss`, `vct`, `iat`, …).
    #[error("claim {0:?} is set by the issuer's envelope, not by the subject's claims")]
    ReservedClaim(String),
    /// Outside the validity window.
    #[error(transparent)]
    Validity(#[from] ValidityError),
    /// `status` is not `{"status_list": {"idx", "uri"}}`.
    #[error("invalid status claim: {0}")]
    BadStatus(String),
}

/// What the issuer states about an SD-JWT VC, besides the subject's claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// `iss`: the issuer identifier (an https URL).
    pub issuer: String,
    /// `vct`: the credential type.
    pub vct: String,
    /// `iat`.
    pub issued_at: Option<UnixTime>,
    /// `nbf`.
    pub not_before: Option<UnixTime>,
    /// `exp`.
    pub expires_at: Option<UnixTime>,
    /// `cnf.jwk`: the holder key the credential is bound to.
    pub holder_key: Option<Jwk>,
    /// `status.status_list`.
    pub status: Option<StatusListReference>,
}

/// Issues an SD-JWT VC: the envelope's claims in plain, the subject's `claims` with
/// `disclosable` paths concealed. Refuses to conceal any of [`NEVER_DISCLOSABLE`].
#[allow(clippy::too_many_arguments)]
pub fn issue(
    envelope: &Envelope,
    claims: &Map<String, Value>,
    disclosable: &[ClaimPath],
    kid: Option<&str>,
    decoys_per_object: usize,
    signer: &dyn Signer,
    rng: &dyn SecureRandom,
    crypto: &dyn CryptoBackend,
) -> Result<String, SdJwtVcError> {
    for path in disclosable {
        if let Some(PathElement::Key(first)) = path.0.first()
            && path.0.len() == 1
            && NEVER_DISCLOSABLE.contains(&first.as_str())
        {
            return Err(SdJwtVcError::NeverDisclosable(first.clone()));
        }
    }
    // The envelope owns these: a subject claim of the same name is a mistake, never dropped
    // silently and never allowed to override what the issuer states.
    if let Some(name) = claims
        .keys()
        .find(|k| NEVER_DISCLOSABLE.contains(&k.as_str()) || k.as_str() == "iat")
    {
        return Err(SdJwtVcError::ReservedClaim(name.clone()));
    }
    let mut all = claims.clone();
    all.insert("iss".into(), envelope.issuer.clone().into());
    all.insert("vct".into(), envelope.vct.clone().into());
    let times = [
        ("iat", envelope.issued_at),
        ("nbf", envelope.not_before),
        ("exp", envelope.expires_at),
    ];
    for (name, time) in times {
        if let Some(t) = time {
            all.insert(name.into(), t.into());
        }
    }
    if let Some(key) = &envelope.holder_key {
        all.insert("cnf".into(), serde_json::json!({ "jwk": key }));
    }
    if let Some(status) = &envelope.status {
        all.insert(
            "status".into(),
            serde_json::json!({ "status_list": status }),
        );
    }
    let options = IssueOptions {
        typ: TYP.into(),
        kid: kid.map(str::to_owned),
        decoys_per_object,
    };
    Ok(sd_jwt::issue_owned(
        all,
        disclosable,
        &options,
        signer,
        rng,
        crypto,
    )?)
}

/// What a verifier reads before it knows which key to use. Not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unverified {
    /// `iss`.
    pub issuer: String,
    /// `vct`.
    pub vct: String,
    /// The header `kid`.
    pub kid: Option<String>,
}

/// Reads `iss`, `vct` and `kid` to choose the issuer key, checking `typ` on the way.
pub fn peek(sd_jwt: &SdJwt) -> Result<Unverified, SdJwtVcError> {
    check_typ(sd_jwt)?;
    let header = sd_jwt.issuer_jws().header();
    let payload = sd_jwt.unverified_payload();
    let text = |name: &'static str| {
        payload
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(SdJwtVcError::MissingClaim(name))
    };
    Ok(Unverified {
        issuer: text("iss")?,
        vct: text("vct")?,
        kid: header.kid.clone(),
    })
}

fn check_typ(sd_jwt: &SdJwt) -> Result<(), SdJwtVcError> {
    let header = sd_jwt.issuer_jws().header();
    header
        .expect_typ(&[TYP, LEGACY_TYP])
        .map_err(|_| SdJwtVcError::WrongType(header.typ.clone()))
}

/// A verified SD-JWT VC.
///
/// Only verification builds one; a struct literal outside the crate does not compile:
///
/// ```compile_fail,E0451
/// use llavero_credentials::sd_jwt_vc::{Envelope, VerifiedSdJwtVc};
/// let envelope = Envelope {
///     issuer: "https://registro.llavero.cl".into(),
///     vct: "https://llavero.cl/vct/birth-certificate".into(),
///     issued_at: None, not_before: None, expires_at: None, holder_key: None, status: None,
/// };
/// let forged = VerifiedSdJwtVc {
///     envelope,
///     claims: serde_json::json!({"given_name": "Ana"}),
///     disclosed: Vec::new(),
///     key_binding: None,
/// };
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedSdJwtVc {
    /// The envelope.
    pub(crate) envelope: Envelope,
    /// Every processed claim (envelope and disclosed claims together).
    pub(crate) claims: Value,
    /// Where each presented disclosure was revealed.
    pub(crate) disclosed: Vec<ClaimPath>,
    /// The key-binding claims, when key binding was required.
    pub(crate) key_binding: Option<KeyBindingClaims>,
}

impl VerifiedSdJwtVc {
    /// The envelope.
    #[must_use]
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// Every processed claim (envelope and disclosed claims together).
    #[must_use]
    pub fn claims(&self) -> &Value {
        &self.claims
    }

    /// Where each presented disclosure was revealed.
    #[must_use]
    pub fn disclosed(&self) -> &[ClaimPath] {
        &self.disclosed
    }

    /// The key-binding claims, when key binding was required.
    #[must_use]
    pub fn key_binding(&self) -> Option<&KeyBindingClaims> {
        self.key_binding.as_ref()
    }

    /// The envelope and the claims, by value.
    #[must_use]
    pub fn into_parts(self) -> (Envelope, Value) {
        (self.envelope, self.claims)
    }
}

/// Verifies an SD-JWT VC: `typ`, issuer signature and disclosures (RFC 9901), key binding as
/// required, the plain-only claims, `vct`, the validity window at `now` (when key binding is
/// required its `now` is used; otherwise `now` here).
pub fn verify(
    sd_jwt: SdJwt,
    crypto: &dyn CryptoBackend,
    issuer_key: &Jwk,
    algorithms: &AlgorithmPolicy,
    key_binding: &KeyBinding,
    now: UnixTime,
    skew: i64,
) -> Result<VerifiedSdJwtVc, SdJwtVcError> {
    check_typ(&sd_jwt)?;
    let verified = sd_jwt.verify(crypto, issuer_key, algorithms, key_binding)?;
    for path in &verified.disclosed {
        if let Some(PathElement::Key(first)) = path.0.first()
            && path.0.len() == 1
            && NEVER_DISCLOSABLE.contains(&first.as_str())
        {
            return Err(SdJwtVcError::NeverDisclosable(first.clone()));
        }
    }
    let claims = verified.claims;
    let times = TimeClaims::from_claims(&claims)?;
    times.check(now, skew)?;
    let text = |name: &'static str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(SdJwtVcError::MissingClaim(name))
    };
    let status = match claims.get("status") {
        None => None,
        Some(status) => {
            let list = status
                .get("status_list")
                .ok_or_else(|| SdJwtVcError::BadStatus("no status_list".into()))?;
            Some(
                // Read from the claims in place: no copy of the claim to consume.
                <StatusListReference as serde::Deserialize>::deserialize(list)
                    .map_err(|e| SdJwtVcError::BadStatus(e.to_string()))?,
            )
        }
    };
    Ok(VerifiedSdJwtVc {
        envelope: Envelope {
            issuer: text("iss")?,
            vct: text("vct")?,
            issued_at: times.iat,
            not_before: times.nbf,
            expires_at: times.exp,
            holder_key: verified.holder_key,
            status,
        },
        claims,
        disclosed: verified.disclosed,
        key_binding: verified.key_binding,
    })
}
