//! `GET|POST /userinfo` (OIDC Core §5.3) and `POST /revoke` (RFC 7009).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use llavero_store::hash_secret;

use super::client_auth::ClientAuth;
use super::request::parse_params;
use super::{ErrorCode, OAuthError, claims, no_store};
use crate::error::IdpError;
use crate::extract::{Bearer, RequestOrigin};
use crate::state::IdpState;

/// An `invalid_token` refusal (RFC 6750 §3.1).
fn invalid_token() -> IdpError {
    IdpError::Bearer {
        status: StatusCode::UNAUTHORIZED,
        code: Some(ErrorCode::InvalidToken),
    }
}

/// `GET|POST /userinfo`: the bearer token in the `Authorization` header, or (POST) in the
/// form body; not both.
pub async fn userinfo(
    State(idp): State<IdpState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, IdpError> {
    let from_header = Bearer::from_headers(&headers).map(|Bearer(token)| token);
    let form_encoded = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let from_body = if method == Method::POST && form_encoded {
        parse_params(&body)
            .ok()
            .and_then(|f| f.get("access_token").cloned())
    } else {
        None
    };
    let token = match (from_header, from_body) {
        (Some(t), None) | (None, Some(t)) => t,
        (Some(_), Some(_)) => {
            return Err(IdpError::Bearer {
                status: StatusCode::BAD_REQUEST,
                code: Some(ErrorCode::InvalidRequest),
            });
        }
        (None, None) => {
            return Err(IdpError::Bearer {
                status: StatusCode::UNAUTHORIZED,
                code: None,
            });
        }
    };
    let access = idp
        .store
        .access_grant(&hash_secret(&token), idp.now())
        .await
        .map_err(OAuthError::server)?
        .ok_or_else(invalid_token)?;
    let client = idp
        .client(&access.grant.client_id)
        .await
        .map_err(OAuthError::server)?
        .ok_or_else(invalid_token)?;
    let scopes: Vec<&str> = access.grant.scope.split(' ').collect();
    let sub = claims::subject(
        &idp,
        &client.id,
        client.subject_type,
        &access.grant.account_id,
    );
    let mut response = Json(claims::userinfo(sub, &scopes, &access.person)).into_response();
    no_store(&mut response);
    Ok(response)
}

/// `POST /revoke`: revokes an access token, or a refresh token with its whole grant. Unknown
/// or foreign tokens answer 200 as well (RFC 7009 §2.2).
pub async fn revoke(
    State(idp): State<IdpState>,
    RequestOrigin(origin): RequestOrigin,
    ClientAuth { form, client }: ClientAuth,
) -> Result<StatusCode, IdpError> {
    let token = form
        .get("token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::bad(ErrorCode::InvalidRequest, "token is required"))?;
    idp.store
        .revoke_token(&client.id, &hash_secret(token), idp.now())
        .await
        .map_err(OAuthError::server)?;
    crate::audit::record(
        &idp,
        &origin,
        "token.revoked",
        None,
        Some(&client.id),
        serde_json::json!({"by": "client"}),
    )
    .await;
    Ok(StatusCode::OK)
}
