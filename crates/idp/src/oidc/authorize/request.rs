//! The request stage: `/par` and `/authorize` check the relying party's request and store it
//! as pending.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use llavero_store::AuthorizationRequest;
use serde_json::json;

use super::{Fresh, proceed};
use crate::error::IdpError;
use crate::oidc::client_auth::ClientAuth;
use crate::oidc::request::{AuthParams, RequestError, error_redirect, parse_params, validate};
use crate::oidc::{ErrorCode, OAuthError, no_store};
use crate::session::current_session;
use crate::state::{Idp, IdpState};
use crate::web::CsrfSecret;
use crate::web::pages::Locale;

const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How long a pushed request may wait for `/authorize` (RFC 9126 suggests a short time).
const PAR_LIFETIME: i64 = 90;

/// `POST /par` (RFC 9126).
pub async fn par(
    State(idp): State<IdpState>,
    ClientAuth { form, client }: ClientAuth,
) -> Result<Response, IdpError> {
    if form.contains_key("request_uri") {
        return Err(OAuthError::bad(
            ErrorCode::InvalidRequest,
            "request_uri is not allowed at the PAR endpoint",
        )
        .into());
    }
    let params = validate(&client, &form).map_err(|e| match e {
        RequestError::Untrusted => OAuthError::bad(
            ErrorCode::InvalidRequest,
            "redirect_uri is missing or not registered",
        ),
        RequestError::Redirect {
            error, description, ..
        }
        | RequestError::Direct { error, description } => OAuthError::bad(error, description),
    })?;
    let now = idp.now();
    let id = crate::random::token();
    let request = AuthorizationRequest {
        id: id.clone(),
        client_id: client.id.clone(),
        params: json!(params),
        pushed: true,
        expires_at: now + PAR_LIFETIME,
    };
    idp.store
        .put_authorization_request(&request, now)
        .await
        .map_err(OAuthError::server)?;
    let mut response = (
        StatusCode::CREATED,
        Json(
            json!({"request_uri": format!("{REQUEST_URI_PREFIX}{id}"), "expires_in": PAR_LIFETIME}),
        ),
    )
        .into_response();
    no_store(&mut response);
    Ok(response)
}

/// `GET|POST /authorize`.
pub async fn authorize(
    State(idp): State<IdpState>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: Bytes,
) -> Response {
    let raw = if method == Method::POST {
        body.to_vec()
    } else {
        uri.query().unwrap_or("").as_bytes().to_vec()
    };
    let csrf = CsrfSecret::from_request(&idp, &headers);
    let locale = Locale::choose(None, &headers);
    let mut response = start(&idp, &raw, &headers, &csrf)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    if response.status().is_client_error() || response.status().is_server_error() {
        return if response.status() == StatusCode::INTERNAL_SERVER_ERROR {
            response
        } else {
            idp.pages.error(response.status(), locale, "error_client")
        };
    }
    csrf.attach(&idp, &mut response);
    response
}

async fn start(
    idp: &Idp,
    raw: &[u8],
    headers: &HeaderMap,
    csrf: &CsrfSecret,
) -> Result<Response, IdpError> {
    let form = parse_params(raw).map_err(|_| IdpError::BadRequest)?;
    let client_id = form.get("client_id").ok_or(IdpError::BadRequest)?;
    let client = idp
        .store
        .client(client_id)
        .await?
        .ok_or(IdpError::BadRequest)?;
    let now = idp.now();
    let id = crate::random::id();
    let session = current_session(idp, headers).await?;
    let prior_session = session.as_ref().map(|s| s.handle.clone());
    let params = if let Some(request_uri) = form.get("request_uri") {
        let pushed_id = request_uri
            .strip_prefix(REQUEST_URI_PREFIX)
            .ok_or(IdpError::BadRequest)?;
        let pushed = idp
            .store
            .authorization_request(pushed_id, now)
            .await?
            .filter(|r| r.pushed && r.client_id == client.id)
            .ok_or(IdpError::BadRequest)?;
        let mut params: AuthParams =
            serde_json::from_value(pushed.params).map_err(IdpError::internal)?;
        params.browser = Some(csrf.browser_binding());
        params.requested_at = now;
        params.prior_session.clone_from(&prior_session);
        let next = AuthorizationRequest {
            id: id.clone(),
            client_id: client.id.clone(),
            params: json!(params),
            pushed: true,
            expires_at: now + idp.config.request_secs,
        };
        if !idp.store.take_pushed_request(pushed_id, &next, now).await? {
            return Err(IdpError::BadRequest);
        }
        params
    } else {
        let mut params = validate(&client, &form).map_err(|e| match e {
            RequestError::Untrusted | RequestError::Direct { .. } => IdpError::BadRequest,
            RequestError::Redirect {
                redirect_uri,
                state,
                error,
                description,
            } => IdpError::ToClient {
                location: error_redirect(
                    &redirect_uri,
                    state.as_deref(),
                    &idp.config.issuer,
                    error,
                    description,
                ),
            },
        })?;
        params.browser = Some(csrf.browser_binding());
        params.requested_at = now;
        params.prior_session.clone_from(&prior_session);
        let request = AuthorizationRequest {
            id: id.clone(),
            client_id: client.id.clone(),
            params: json!(params),
            pushed: false,
            expires_at: now + idp.config.request_secs,
        };
        idp.store.put_authorization_request(&request, now).await?;
        params
    };

    proceed(
        idp,
        &id,
        &params,
        &client,
        session.as_ref(),
        Fresh::default(),
    )
    .await
}
