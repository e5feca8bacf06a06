//! `GET|POST /userinfo` (OIDC Core §5.3) and `POST /revoke` (RFC 7009).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use llavero_store::hash_secret;

use super::client_auth::ClientAuth;
use super::request::parse_params;
use super::{OAuthError, claims, no_store};
use crate::extract::{Bearer, RequestOrigin};
use crate::state::IdpState;

fn bearer_error(status: StatusCode, error: &'static str) -> Response {
    let mut response = status.into_response();
    let value = format!("Bearer error=\"{error}\"");
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    response
}

/// `GET|POST /userinfo`: the bearer token in the `Authorization` header, or (POST) in the
/// form body; not both.
pub async fn userinfo(
    State(idp): State<IdpState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
        (Some(_), Some(_)) => return bearer_error(StatusCode::BAD_REQUEST, "invalid_request"),
        (None, None) => {
            let mut response = StatusCode::UNAUTHORIZED.into_response();
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    };
    let found = match idp
        .store
        .access_grant(&hash_secret(&token), idp.now())
        .await
    {
        Ok(found) => found,
        Err(e) => return OAuthError::server(&e).into_response(),
    };
    let Some(access) = found else {
        return bearer_error(StatusCode::UNAUTHORIZED, "invalid_token");
    };
    let client = match idp.client(&access.grant.client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => return bearer_error(StatusCode::UNAUTHORIZED, "invalid_token"),
        Err(e) => return OAuthError::server(&e).into_response(),
    };
    let scopes: Vec<&str> = access.grant.scope.split(' ').collect();
    let sub = claims::subject(
        &idp,
        &client.id,
        client.subject_type,
        &access.grant.account_id,
    );
    let mut response = Json(claims::userinfo(sub, &scopes, &access.person)).into_response();
    no_store(&mut response);
    response
}

/// `POST /revoke`: revokes an access token, or a refresh token with its whole grant. Unknown
/// or foreign tokens answer 200 as well (RFC 7009 §2.2).
pub async fn revoke(
    State(idp): State<IdpState>,
    RequestOrigin(origin): RequestOrigin,
    ClientAuth { form, client }: ClientAuth,
) -> Response {
    let Some(token) = form.get("token").filter(|t| !t.is_empty()) else {
        return OAuthError::bad("invalid_request", "token is required").into_response();
    };
    match idp
        .store
        .revoke_token(&client.id, &hash_secret(token), idp.now())
        .await
    {
        Ok(()) => {
            crate::audit::record(
                &idp,
                &origin,
                "token.revoked",
                None,
                Some(&client.id),
                serde_json::json!({"by": "client"}),
            )
            .await;
            StatusCode::OK.into_response()
        }
        Err(e) => OAuthError::server(&e).into_response(),
    }
}
