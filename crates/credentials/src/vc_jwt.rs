//! W3C Verifiable Credentials Data Model 2.0 secured with JOSE (VC-JOSE-COSE §3.1): the JWS
//! payload *is* the credential or presentation, `typ` is `vc+jwt` or `vp+jwt`, and a
//! presentation carries credentials as `EnvelopedVerifiableCredential`s whose `id` is a
//! `data:application/vc+jwt,<jws>` URL.
//!
//! Trap avoided: the JWT-VC 1.1 shape with `vc`/`vp` wrapper claims is refused, as the
//! VC-JOSE-COSE test suite requires.

use serde_json::{Map, Value, json};

use crate::crypto::{CryptoBackend, Signer};
use crate::jwk::Jwk;
use crate::jws::{self, AlgorithmPolicy, DecodedJws, Header, JwsError};
use crate::jwt::{ValidityError, check_window};
use crate::status::bitstring::BitstringStatusListEntry;
use crate::time::{UnixTime, datetime_member};
use crate::vcdm::{self, NonConforming};

/// The base context every VC 2.0 document starts with.
pub const CREDENTIALS_V2: &str = "https://www.w3.org/ns/credentials/v2";
/// Credential `typ`.
pub const VC_TYP: &str = "vc+jwt";
/// Presentation `typ`.
pub const VP_TYP: &str = "vp+jwt";
/// The most credentials one presentation may envelope.
pub const MAX_ENVELOPED: usize = 16;

/// Top-level credential terms the VC 2.0 base context defines. An issuer that signs anything
/// else signs terms no verifier can interpret; claims belong in `credentialSubject`.
const KNOWN_TERMS: [&str; 18] = [
    "@context",
    "id",
    "type",
    "issuer",
    "validFrom",
    "validUntil",
    "credentialSubject",
    "credentialStatus",
    "credentialSchema",
    "evidence",
    "termsOfUse",
    "refreshService",
    "name",
    "description",
    "relatedResource",
    "renderMethod",
    "confidenceMethod",
    "proof",
];

/// Why a `vc+jwt` or `vp+jwt` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VcJwtError {
    /// The JWS layer failed (signature, algorithm, `typ`, size).
    #[error(transparent)]
    Jws(#[from] JwsError),
    /// Not a VC 2.0 document.
    #[error("malformed credential: {0}")]
    Malformed(String),
    /// The document breaks a rule of the VC Data Model 2.0 (checked before signing and after
    /// verifying).
    #[error("non-conforming document: {0}")]
    NonConforming(#[from] NonConforming),
    /// `iss` differs from `issuer`.
    #[error("iss {iss:?} differs from issuer {issuer:?}")]
    IssuerMismatch {
        /// The JWT claim.
        iss: String,
        /// The credential's issuer.
        issuer: String,
    },
    /// `vc` or `vp` wrapper claims (JWT-VC 1.1) are not VC 2.0.
    #[error("vc/vp wrapper claims are not allowed in VC-JOSE-COSE")]
    WrappedClaims,
    /// A top-level term the base context does not define (issuance only).
    #[error("unknown top-level term {0:?}")]
    UnknownTerm(String),
    /// Outside `validFrom`/`validUntil` (or `nbf`/`exp`).
    #[error(transparent)]
    Validity(#[from] ValidityError),
    /// The presentation is for another audience.
    #[error("presentation audience {found:?}, expected {expected:?}")]
    WrongAudience {
        /// Expected.
        expected: String,
        /// Found.
        found: Option<String>,
    },
    /// The presentation answers another nonce.
    #[error("presentation nonce does not match")]
    WrongNonce,
    /// An enveloped credential is not a `data:application/vc+jwt,` URL.
    #[error("bad enveloped credential: {0}")]
    BadEnvelope(String),
}

/// JWT-VC 1.1 wrapper claims are not VC 2.0 (VC-JOSE-COSE §3.1.1).
fn check_unwrapped(doc: &Value) -> Result<(), VcJwtError> {
    if doc.get("vc").is_some() || doc.get("vp").is_some() {
        return Err(VcJwtError::WrappedClaims);
    }
    Ok(())
}

/// The issuer's id, which chooses the verification key: a URL, or an object with a URL `id`
/// (VCDM 2.0 §4.7).
fn issuer_id(credential: &Value) -> Result<String, VcJwtError> {
    Ok(vcdm::issuer_id(credential)?.to_owned())
}

fn types(doc: &Value) -> Vec<String> {
    match doc.get("type") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Signs a VC 2.0 credential as a `vc+jwt`. The credential is checked first: every data model
/// rule ([`vcdm::check_credential`]) and only top-level terms the base context defines.
pub fn issue_credential(
    credential: &Value,
    signer: &dyn Signer,
    kid: Option<&str>,
) -> Result<String, VcJwtError> {
    vcdm::check_credential(credential)?;
    check_unwrapped(credential)?;
    let obj = credential
        .as_object()
        .ok_or_else(|| VcJwtError::Malformed("not an object".into()))?;
    if let Some(unknown) = obj.keys().find(|k| !KNOWN_TERMS.contains(&k.as_str())) {
        return Err(VcJwtError::UnknownTerm(unknown.clone()));
    }
    let mut header = Header::new(VC_TYP);
    header.cty = Some("vc".into());
    header.kid = kid.map(str::to_owned);
    Ok(jws::sign_json(header, credential, signer)?)
}

/// A `vc+jwt` decoded, its shape checked, its signature not yet verified.
#[derive(Debug, Clone)]
pub struct DecodedVcJwt {
    jws: DecodedJws,
    credential: Value,
    issuer: String,
}

/// A verified credential.
///
/// Only verification builds one; a struct literal outside the crate does not compile:
///
/// ```compile_fail,E0451
/// let forged = llavero_credentials::vc_jwt::VerifiedVc {
///     issuer: "https://registro.llavero.cl".into(),
///     types: vec!["VerifiableCredential".into()],
///     credential: serde_json::Value::Null,
///     subject_id: None,
///     valid_from: None,
///     valid_until: None,
///     statuses: Vec::new(),
/// };
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedVc {
    /// The issuer identifier.
    pub(crate) issuer: String,
    /// The `type` values.
    pub(crate) types: Vec<String>,
    /// The whole credential.
    pub(crate) credential: Value,
    /// `credentialSubject.id`, if any.
    pub(crate) subject_id: Option<String>,
    /// `validFrom`.
    pub(crate) valid_from: Option<UnixTime>,
    /// `validUntil`.
    pub(crate) valid_until: Option<UnixTime>,
    /// `credentialStatus` entries of type `BitstringStatusListEntry`.
    pub(crate) statuses: Vec<BitstringStatusListEntry>,
}

impl VerifiedVc {
    /// The issuer identifier.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `type` values.
    #[must_use]
    pub fn types(&self) -> &[String] {
        &self.types
    }

    /// The whole credential.
    #[must_use]
    pub fn credential(&self) -> &Value {
        &self.credential
    }

    /// The whole credential, by value.
    #[must_use]
    pub fn into_credential(self) -> Value {
        self.credential
    }

    /// `credentialSubject.id`, if any.
    #[must_use]
    pub fn subject_id(&self) -> Option<&str> {
        self.subject_id.as_deref()
    }

    /// `validFrom`.
    #[must_use]
    pub fn valid_from(&self) -> Option<UnixTime> {
        self.valid_from
    }

    /// `validUntil`.
    #[must_use]
    pub fn valid_until(&self) -> Option<UnixTime> {
        self.valid_until
    }

    /// `credentialStatus` entries of type `BitstringStatusListEntry`.
    #[must_use]
    pub fn statuses(&self) -> &[BitstringStatusListEntry] {
        &self.statuses
    }
}

impl DecodedVcJwt {
    /// Decodes and checks what choosing the key needs: `typ` (`vc+jwt`), no wrapper claims, an
    /// issuer, `iss` equal to it when present. The data model rules are checked by
    /// [`DecodedVcJwt::verify`], once the document is known to come from its issuer.
    pub fn decode(compact: &str) -> Result<Self, VcJwtError> {
        Self::from_jws(DecodedJws::decode(compact)?)
    }

    /// As [`DecodedVcJwt::decode`], from an already decoded JWS.
    pub fn from_jws(jws: DecodedJws) -> Result<Self, VcJwtError> {
        jws.header().expect_typ(&[VC_TYP, "vc+ld+jwt"])?;
        let credential = jws.unverified_value()?;
        check_unwrapped(&credential)?;
        let issuer = issuer_id(&credential)?;
        if let Some(iss) = credential.get("iss") {
            let iss = iss.as_str().unwrap_or_default();
            if iss != issuer {
                return Err(VcJwtError::IssuerMismatch {
                    iss: iss.to_owned(),
                    issuer,
                });
            }
        }
        Ok(Self {
            jws,
            credential,
            issuer,
        })
    }

    /// The (unverified) issuer, to choose the key.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The header `kid`.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.jws.header().kid.as_deref()
    }

    /// The credential, **not yet authenticated** (for a holder displaying its own credential).
    #[must_use]
    pub fn unverified_credential(&self) -> &Value {
        &self.credential
    }

    /// Verifies the signature with the issuer's key, the data model rules
    /// ([`vcdm::check_credential`]) and the validity window at `now`.
    pub fn verify(
        self,
        crypto: &dyn CryptoBackend,
        key: &Jwk,
        algorithms: &AlgorithmPolicy,
        now: UnixTime,
        skew: i64,
    ) -> Result<VerifiedVc, VcJwtError> {
        self.jws.verify(crypto, key, algorithms)?;
        let vc = self.credential;
        vcdm::check_credential(&vc)?;
        let time = |name: &str| datetime_member(&vc, name).map_err(VcJwtError::Malformed);
        // JWT `nbf`/`exp`, when numeric, narrow the window further. (`iat` is informative;
        // the W3C test suite's credentials even carry it as a string.)
        let numeric = |name: &str| vc.get(name).and_then(Value::as_i64);
        let valid_from = time("validFrom")?;
        let valid_until = time("validUntil")?;
        let start = valid_from.into_iter().chain(numeric("nbf")).max();
        let end = valid_until.into_iter().chain(numeric("exp")).min();
        check_window(start, end, now, skew)?;
        let statuses = match vc.get("credentialStatus") {
            None => Vec::new(),
            Some(Value::Array(items)) => items.iter().filter_map(status_entry).collect(),
            Some(one) => status_entry(one).into_iter().collect(),
        };
        Ok(VerifiedVc {
            issuer: self.issuer,
            types: types(&vc),
            subject_id: vc
                .get("credentialSubject")
                .and_then(|s| s.get("id"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            valid_from,
            valid_until,
            statuses,
            credential: vc,
        })
    }
}

fn status_entry(value: &Value) -> Option<BitstringStatusListEntry> {
    <BitstringStatusListEntry as serde::Deserialize>::deserialize(value)
        .ok()
        .filter(|e| e.entry_type == "BitstringStatusListEntry")
}

/// Signs a VC 2.0 presentation as a `vp+jwt`, enveloping each `vc+jwt` credential. `aud` and
/// `nonce` bind it to one verifier and one request.
pub fn issue_presentation(
    holder: &dyn Signer,
    holder_id: &str,
    kid: Option<&str>,
    credentials: &[String],
    audience: Option<&str>,
    nonce: Option<&str>,
    issued_at: UnixTime,
) -> Result<String, VcJwtError> {
    let enveloped: Vec<Value> = credentials
        .iter()
        .map(|c| {
            json!({
                "@context": CREDENTIALS_V2,
                "type": "EnvelopedVerifiableCredential",
                "id": format!("data:application/vc+jwt,{c}"),
            })
        })
        .collect();
    let mut vp = Map::new();
    vp.insert("@context".into(), json!([CREDENTIALS_V2]));
    vp.insert("type".into(), json!(["VerifiablePresentation"]));
    vp.insert("holder".into(), holder_id.into());
    vp.insert("verifiableCredential".into(), Value::Array(enveloped));
    vp.insert("iat".into(), issued_at.into());
    if let Some(aud) = audience {
        vp.insert("aud".into(), aud.into());
    }
    if let Some(nonce) = nonce {
        vp.insert("nonce".into(), nonce.into());
    }
    let vp = Value::Object(vp);
    vcdm::check_presentation(&vp)?;
    let mut header = Header::new(VP_TYP);
    header.cty = Some("vp".into());
    header.kid = kid.map(str::to_owned);
    Ok(jws::sign_json(header, &vp, holder)?)
}

/// A credential enveloped in a presentation: the media type of its `data:` URL and the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopedCredential {
    /// `application/vc+jwt`, `application/dc+sd-jwt`, …
    pub media_type: String,
    /// The credential as carried (compact serialization for JOSE media types).
    pub data: String,
}

impl EnvelopedCredential {
    /// Parses `data:<media type>,<data>` (VC-JOSE-COSE §3.2).
    pub fn from_data_url(url: &str) -> Result<Self, VcJwtError> {
        let (media_type, data) = url
            .strip_prefix("data:")
            .and_then(|rest| rest.split_once(','))
            .ok_or_else(|| VcJwtError::BadEnvelope(format!("{url:.40} is not a data: URL")))?;
        if media_type.is_empty() || data.is_empty() {
            return Err(VcJwtError::BadEnvelope("empty data: URL".into()));
        }
        Ok(Self {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        })
    }
}

/// A `vp+jwt` decoded and its shape checked, signature not yet verified.
#[derive(Debug, Clone)]
pub struct DecodedVpJwt {
    jws: DecodedJws,
    presentation: Value,
    credentials: Vec<EnvelopedCredential>,
}

/// A verified presentation.
///
/// Only verification builds one; a struct literal outside the crate does not compile:
///
/// ```compile_fail,E0451
/// let forged = llavero_credentials::vc_jwt::VerifiedVp {
///     holder: None,
///     credentials: Vec::new(),
///     presentation: serde_json::Value::Null,
/// };
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedVp {
    /// `holder`, if stated.
    pub(crate) holder: Option<String>,
    /// The enveloped credentials, still to be verified with their issuers' keys.
    pub(crate) credentials: Vec<EnvelopedCredential>,
    /// The whole presentation.
    pub(crate) presentation: Value,
}

impl VerifiedVp {
    /// `holder`, if stated.
    #[must_use]
    pub fn holder(&self) -> Option<&str> {
        self.holder.as_deref()
    }

    /// The enveloped credentials, still to be verified with their issuers' keys.
    #[must_use]
    pub fn credentials(&self) -> &[EnvelopedCredential] {
        &self.credentials
    }

    /// The whole presentation.
    #[must_use]
    pub fn presentation(&self) -> &Value {
        &self.presentation
    }
}

impl DecodedVpJwt {
    /// Decodes and checks the shape, extracting the enveloped credentials.
    pub fn decode(compact: &str) -> Result<Self, VcJwtError> {
        Self::from_jws(DecodedJws::decode(compact)?)
    }

    /// As [`DecodedVpJwt::decode`], from an already decoded JWS.
    pub fn from_jws(jws: DecodedJws) -> Result<Self, VcJwtError> {
        jws.header().expect_typ(&[VP_TYP, "vp+ld+jwt"])?;
        let presentation = jws.unverified_value()?;
        check_unwrapped(&presentation)?;
        let items = match presentation.get("verifiableCredential") {
            None => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(one) => vec![one.clone()],
        };
        if items.len() > MAX_ENVELOPED {
            return Err(VcJwtError::BadEnvelope(format!(
                "more than {MAX_ENVELOPED} credentials"
            )));
        }
        let credentials = items
            .iter()
            .map(|item| {
                if !item.is_object() {
                    return Err(vcdm::check_presentation(&presentation).err().map_or_else(
                        || VcJwtError::BadEnvelope("not an object".into()),
                        VcJwtError::NonConforming,
                    ));
                }
                if item.get("type").and_then(Value::as_str) != Some("EnvelopedVerifiableCredential")
                {
                    return Err(VcJwtError::BadEnvelope(
                        "not an EnvelopedVerifiableCredential".into(),
                    ));
                }
                item.get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        VcJwtError::BadEnvelope("enveloped credential without id".into())
                    })
                    .and_then(EnvelopedCredential::from_data_url)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            jws,
            presentation,
            credentials,
        })
    }

    /// The header `kid` (a DID URL for a DID-identified holder).
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.jws.header().kid.as_deref()
    }

    /// The `holder` member.
    #[must_use]
    pub fn holder(&self) -> Option<&str> {
        self.presentation.get("holder").and_then(Value::as_str)
    }

    /// Verifies the holder's signature and, when given, the audience and nonce.
    pub fn verify(
        self,
        crypto: &dyn CryptoBackend,
        holder_key: &Jwk,
        algorithms: &AlgorithmPolicy,
        expected: Option<(&str, &str)>,
    ) -> Result<VerifiedVp, VcJwtError> {
        self.jws.verify(crypto, holder_key, algorithms)?;
        let vp = self.presentation;
        vcdm::check_presentation(&vp)?;
        if let Some((audience, nonce)) = expected {
            let found = match vp.get("aud") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Array(a)) if a.len() == 1 => {
                    a.first().and_then(Value::as_str).map(str::to_owned)
                }
                _ => None,
            };
            if found.as_deref() != Some(audience) {
                return Err(VcJwtError::WrongAudience {
                    expected: audience.to_owned(),
                    found,
                });
            }
            if vp.get("nonce").and_then(Value::as_str) != Some(nonce) {
                return Err(VcJwtError::WrongNonce);
            }
        }
        Ok(VerifiedVp {
            holder: vp.get("holder").and_then(Value::as_str).map(str::to_owned),
            credentials: self.credentials,
            presentation: vp,
        })
    }
}
