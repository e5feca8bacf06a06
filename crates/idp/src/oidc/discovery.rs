//! Provider metadata (OIDC Discovery 1.0, RFC 8414) and the JWKS.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::OAuthError;
use crate::error::IdpError;
use crate::factors::{ACR_HIGH, ACR_VALUES};
use crate::oidc::claims::CLAIM_SCOPES;
use crate::state::IdpState;

/// The metadata document, the same at both well-known paths.
#[must_use]
pub fn metadata(idp: &crate::state::Idp) -> Value {
    let url = |p: &str| idp.config.url(p);
    let mut scopes = vec!["openid"];
    scopes.extend(CLAIM_SCOPES);
    // High needs an attested key, so it is offered only with an attestation allow-list.
    let acr_values: Vec<&str> = ACR_VALUES
        .into_iter()
        .filter(|acr| *acr != ACR_HIGH || idp.config.webauthn_attestation.is_some())
        .collect();
    let mut metadata = json!({
        "issuer": idp.config.issuer,
        "authorization_endpoint": url("/authorize"),
        "pushed_authorization_request_endpoint": url("/par"),
        "token_endpoint": url("/token"),
        "userinfo_endpoint": url("/userinfo"),
        "jwks_uri": url("/jwks"),
        "revocation_endpoint": url("/revoke"),
        "end_session_endpoint": url("/logout"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "RolUnico", "name", "given_name", "family_name", "birthdate"],
        "acr_values_supported": acr_values,
        "prompt_values_supported": ["none", "login", "consent"],
        "ui_locales_supported": ["es", "en"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": true,
        "require_request_uri_registration": true,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    });
    if let (Some(extra), Some(obj)) = (idp.extra_grant.as_deref(), metadata.as_object_mut()) {
        obj.extend(extra.metadata());
        if let Some(Value::Array(grants)) = obj.get_mut("grant_types_supported") {
            grants.push(extra.grant_type().into());
        }
    }
    metadata
}

/// `GET /.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.
pub async fn configuration(State(idp): State<IdpState>) -> Json<Value> {
    Json(metadata(&idp))
}

/// `GET /jwks`: the active keys (ES256, and RS256 once a client uses it) and retired keys
/// whose tokens may still be valid, each with `kid`, `use` and `alg`.
pub async fn jwks(State(idp): State<IdpState>) -> Result<Json<Value>, IdpError> {
    let keys = idp
        .keys
        .published(&idp.store, &idp.master, idp.now())
        .await
        .map_err(OAuthError::server)?;
    Ok(Json(json!({"keys": keys})))
}
