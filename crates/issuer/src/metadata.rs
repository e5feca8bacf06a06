//! What an agency publishes: its OpenID4VCI credential issuer metadata, its keys as SD-JWT VC
//! issuer metadata (`/.well-known/jwt-vc-issuer/<agency>`) and as a `did:web` document.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use llavero_store::Agency;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::{Issuer, IssuerState};
use crate::types::{CredentialType, Format};

/// How long an agency read from the database is used before reading it again.
const AGENCY_CACHE_SECS: i64 = 60;

/// The agency named in a path, or 404.
pub async fn agency(issuer: &Issuer, id: &str) -> Result<Agency, ApiError> {
    let now = issuer.now();
    if let Ok(cache) = issuer.agencies.read()
        && let Some((at, agency)) = cache.get(id)
        && (0..AGENCY_CACHE_SECS).contains(&(now - at))
    {
        return Ok(agency.clone());
    }
    let agency = issuer
        .platform
        .store
        .agency(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no agency {id:?}")))?;
    if let Ok(mut cache) = issuer.agencies.write() {
        cache.insert(id.to_owned(), (now, agency.clone()));
    }
    Ok(agency)
}

fn configuration(credential_type: &CredentialType, format: Format) -> Value {
    let id = credential_type.configuration_id(format);
    let claims: Vec<Value> = credential_type
        .claims
        .iter()
        .map(|c| json!({"path": c.path, "mandatory": c.mandatory, "display": c.display}))
        .collect();
    let display: Vec<Value> = credential_type
        .display
        .iter()
        .map(|d| {
            json!({"name": d.get("name"), "locale": d.get("locale"), "description": d.get("description")})
        })
        .collect();
    let mut config = json!({
        "format": format.as_str(),
        "scope": id,
        "cryptographic_binding_methods_supported": ["jwk"],
        "credential_signing_alg_values_supported": ["ES256"],
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
        "credential_metadata": {"display": display, "claims": claims},
    });
    if let Some(obj) = config.as_object_mut() {
        match format {
            Format::SdJwtVc => {
                obj.insert("vct".into(), credential_type.vct.clone().into());
            }
            Format::VcJwt => {
                obj.insert(
                    "credential_definition".into(),
                    json!({"type": ["VerifiableCredential", credential_type.issuance.w3c_type]}),
                );
            }
        }
    }
    config
}

/// The credential issuer metadata of an agency (OpenID4VCI 1.0 §12.2).
#[must_use]
pub fn credential_issuer_metadata(issuer: &Issuer, agency: &Agency) -> Value {
    let url = issuer.agency_url(&agency.id);
    let mut configurations = serde_json::Map::new();
    for credential_type in agency
        .credential_types
        .iter()
        .filter_map(|t| issuer.catalog.get(t))
    {
        for format in &credential_type.issuance.formats {
            configurations.insert(
                credential_type.configuration_id(*format),
                configuration(credential_type, *format),
            );
        }
    }
    json!({
        "credential_issuer": url,
        "authorization_servers": [issuer.base()],
        "credential_endpoint": format!("{url}/credential"),
        "nonce_endpoint": format!("{url}/nonce"),
        "deferred_credential_endpoint": format!("{url}/deferred-credential"),
        "notification_endpoint": format!("{url}/notification"),
        "batch_credential_issuance": {"batch_size": issuer.config.batch_size},
        "display": [{"name": agency.name, "locale": "es"}, {"name": agency.name, "locale": "en"}],
        "credential_configurations_supported": configurations,
    })
}

/// The signed form's `typ` (OpenID4VCI 1.0 §12.2.3).
pub const SIGNED_METADATA_TYP: &str = "openidvci-issuer-metadata+jwt";

/// `GET /.well-known/openid-credential-issuer/{agency}` (and the drafts' path,
/// `/{agency}/.well-known/openid-credential-issuer`): JSON, or with `Accept:
/// application/jwt` the same metadata signed by the agency's key (every member a top-level
/// claim, plus `sub` = the credential issuer, `iat` and `exp`; the key in the header).
pub async fn openid_credential_issuer(
    State(issuer): State<IssuerState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let agency = agency(&issuer, &id).await?;
    let metadata = credential_issuer_metadata(&issuer, &agency);
    let wants_jwt = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/jwt"));
    if !wants_jwt {
        return Ok(Json(metadata).into_response());
    }
    let now = issuer.now();
    let keys = issuer.agency_keys(&agency.id).await?;
    let mut claims = metadata;
    if let Some(obj) = claims.as_object_mut() {
        obj.insert("sub".into(), issuer.agency_url(&agency.id).into());
        obj.insert("iat".into(), now.into());
        obj.insert("exp".into(), (now + 86_400).into());
    }
    let mut header = llavero_credentials::jws::Header::new(SIGNED_METADATA_TYP);
    header.kid = Some(keys.kid.clone());
    header.jwk = Some(keys.signer.public_jwk().to_value());
    let jwt = llavero_credentials::jws::sign_json(header, &claims, keys.signer.as_ref())
        .map_err(|e| ApiError::server(&e))?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/jwt")], jwt).into_response())
}

/// `GET /.well-known/jwt-vc-issuer/{agency}`: SD-JWT VC issuer metadata with inline keys.
pub async fn jwt_vc_issuer(
    State(issuer): State<IssuerState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let agency = agency(&issuer, &id).await?;
    let keys = issuer.agency_keys(&agency.id).await?;
    let jwks: Vec<Value> = keys
        .published
        .iter()
        .map(llavero_credentials::jwk::Jwk::to_value)
        .collect();
    Ok(Json(json!({
        "issuer": issuer.agency_url(&agency.id),
        "jwks": {"keys": jwks},
    })))
}

/// The `did:web` of an agency URL (`https://host:port/agency` → `did:web:host%3Aport:agency`).
#[must_use]
pub fn did_web(agency_url: &str) -> String {
    let rest = agency_url
        .strip_prefix("https://")
        .or_else(|| agency_url.strip_prefix("http://"))
        .unwrap_or(agency_url);
    let mut segments = rest.split('/');
    let host = segments.next().unwrap_or_default().replace(':', "%3A");
    std::iter::once(host)
        .chain(segments.map(str::to_owned))
        .fold(String::from("did:web"), |did, s| format!("{did}:{s}"))
}

/// `GET /{agency}/did.json`: the agency's keys as a DID document.
pub async fn did_document(
    State(issuer): State<IssuerState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let agency = agency(&issuer, &id).await?;
    let keys = issuer.agency_keys(&agency.id).await?;
    let did = did_web(&issuer.agency_url(&agency.id));
    let methods: Vec<Value> = keys
        .published
        .iter()
        .map(|k| {
            json!({
                "id": format!("{did}#{}", k.kid().unwrap_or_default()),
                "type": "JsonWebKey",
                "controller": did,
                "publicKeyJwk": k.to_value(),
            })
        })
        .collect();
    let ids: Vec<Value> = methods
        .iter()
        .filter_map(|m| m.get("id").cloned())
        .collect();
    let document = json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/jwk/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
    });
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/did+json")],
        document.to_string(),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::did_web;

    #[test]
    fn did_web_encodes_the_port_and_keeps_the_path() {
        assert_eq!(
            did_web("https://llavero.cl/registro-civil"),
            "did:web:llavero.cl:registro-civil"
        );
        assert_eq!(
            did_web("http://localhost:8080/transito"),
            "did:web:localhost%3A8080:transito"
        );
    }
}
