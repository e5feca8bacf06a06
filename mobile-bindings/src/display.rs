//! What a wallet shows about a held credential: its type and issuer, display names in Spanish
//! and English from the type definition (`specs/credential-types/`, SD-JWT VC type metadata),
//! its claims, validity, and which claims the holder can choose to disclose.

use llavero_credentials::crypto::default_backend;
use llavero_credentials::sd_jwt::{ClaimPath, SdJwt};
use llavero_credentials::time::parse_datetime;
use llavero_credentials::vc_jwt::DecodedVcJwt;
use serde_json::Value;

use crate::errors::CredentialError;
use crate::guard;

/// The type definitions shipped with the library.
const TYPE_DEFINITIONS: [&str; 4] = [
    include_str!("../../specs/credential-types/birth-certificate.json"),
    include_str!("../../specs/credential-types/identity-card.json"),
    include_str!("../../specs/credential-types/driving-licence.json"),
    include_str!("../../specs/credential-types/criminal-record.json"),
];

/// A claim with its display names.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ClaimDisplay {
    /// The claim path as a JSON array (`["address","locality"]`).
    pub path: String,
    /// Spanish label, if the type defines one.
    pub label_es: Option<String>,
    /// English label, if the type defines one.
    pub label_en: Option<String>,
    /// The value, as JSON.
    pub value_json: String,
    /// Whether the holder may leave it out of a presentation.
    pub selectively_disclosable: bool,
}

/// A held credential, read for display (not verified: it is the holder's own).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HeldCredential {
    /// `dc+sd-jwt` or `vc+jwt`.
    pub format: String,
    /// The `vct`, or the W3C type.
    pub credential_type: String,
    /// The issuer identifier.
    pub issuer: String,
    /// Spanish name of the type.
    pub name_es: Option<String>,
    /// English name of the type.
    pub name_en: Option<String>,
    /// Issuance or start of validity.
    pub valid_from: Option<i64>,
    /// Expiry.
    pub valid_until: Option<i64>,
    /// Every claim, with labels.
    pub claims: Vec<ClaimDisplay>,
}

fn localized(display: Option<&Value>, locale: &str, member: &str) -> Option<String> {
    display?
        .as_array()?
        .iter()
        .find(|d| d.get("locale").and_then(Value::as_str) == Some(locale))?
        .get(member)?
        .as_str()
        .map(str::to_owned)
}

fn definition(credential_type: &str) -> Option<Value> {
    TYPE_DEFINITIONS
        .iter()
        .filter_map(|text| serde_json::from_str::<Value>(text).ok())
        .find(|d| d.get("vct").and_then(Value::as_str) == Some(credential_type))
}

/// Leaf claims of `value` with their paths (objects are walked; arrays are leaves).
fn leaves(value: &Value, path: &mut Vec<Value>, out: &mut Vec<(Value, Value)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                path.push(k.clone().into());
                leaves(v, path, out);
                path.pop();
            }
        }
        other => out.push((Value::Array(path.clone()), other.clone())),
    }
}

const ENVELOPE: [&str; 9] = [
    "iss",
    "vct",
    "iat",
    "nbf",
    "exp",
    "cnf",
    "status",
    "sub",
    "vct#integrity",
];

/// What both formats yield for display.
struct Parts {
    format: &'static str,
    subject: Value,
    credential_type: String,
    issuer: String,
    valid_from: Option<i64>,
    valid_until: Option<i64>,
    disclosable: Vec<Value>,
}

fn malformed(e: &dyn std::fmt::Display) -> CredentialError {
    CredentialError::Malformed {
        reason: e.to_string(),
    }
}

fn read_sd_jwt(credential: &str) -> Result<Parts, CredentialError> {
    let sd_jwt = SdJwt::parse(credential).map_err(|e| malformed(&e))?;
    let revealed = llavero_credentials::sd_jwt::reveal(
        sd_jwt.unverified_payload().clone(),
        sd_jwt.disclosures(),
        default_backend(),
    )
    .map_err(|e| malformed(&e))?;
    let claims = revealed.claims;
    let text = |n: &str| {
        claims
            .get(n)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let subject = claims
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !ENVELOPE.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Parts {
        format: "dc+sd-jwt",
        credential_type: text("vct"),
        issuer: text("iss"),
        valid_from: claims.get("iat").and_then(Value::as_i64),
        valid_until: claims.get("exp").and_then(Value::as_i64),
        subject: Value::Object(subject),
        disclosable: revealed.paths.iter().map(ClaimPath::to_value).collect(),
    })
}

fn read_vc_jwt(credential: &str) -> Result<Parts, CredentialError> {
    let vc = DecodedVcJwt::decode(credential).map_err(|e| malformed(&e))?;
    let doc = vc.unverified_credential();
    let time = |n: &str| doc.get(n).and_then(Value::as_str).and_then(parse_datetime);
    let credential_type = match doc.get("type") {
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "VerifiableCredential")
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    };
    Ok(Parts {
        format: "vc+jwt",
        credential_type,
        issuer: vc.issuer().to_owned(),
        valid_from: time("validFrom"),
        valid_until: time("validUntil"),
        subject: doc.get("credentialSubject").cloned().unwrap_or(Value::Null),
        disclosable: Vec::new(),
    })
}

/// Reads a held credential (SD-JWT VC or `vc+jwt`) for display.
#[uniffi::export]
pub fn describe_credential(credential: String) -> Result<HeldCredential, CredentialError> {
    guard(
        |reason| CredentialError::Internal { reason },
        || {
            let credential = credential.trim();
            let parts = if credential.contains('~') {
                read_sd_jwt(credential)?
            } else {
                read_vc_jwt(credential)?
            };
            let definition = definition(&parts.credential_type);
            let display = definition.as_ref().and_then(|d| d.get("display"));
            let claim_defs = definition
                .as_ref()
                .and_then(|d| d.get("claims"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut flat = Vec::new();
            leaves(&parts.subject, &mut Vec::new(), &mut flat);
            let claims = flat
                .into_iter()
                .map(|(path, value)| {
                    let labels = claim_defs
                        .iter()
                        .find(|d| d.get("path") == Some(&path))
                        .and_then(|d| d.get("display"));
                    ClaimDisplay {
                        label_es: localized(labels, "es", "name"),
                        label_en: localized(labels, "en", "name"),
                        selectively_disclosable: parts.disclosable.iter().any(|p| {
                            p.as_array()
                                .zip(path.as_array())
                                .is_some_and(|(p, q)| q.starts_with(p))
                        }),
                        path: path.to_string(),
                        value_json: value.to_string(),
                    }
                })
                .collect();
            Ok(HeldCredential {
                format: parts.format.into(),
                name_es: localized(display, "es", "name"),
                name_en: localized(display, "en", "name"),
                credential_type: parts.credential_type,
                issuer: parts.issuer,
                valid_from: parts.valid_from,
                valid_until: parts.valid_until,
                claims,
            })
        },
    )
}
