//! What wallets call: the request URI (`GET`, or `POST` with `wallet_metadata` and
//! `wallet_nonce`, OpenID4VP 1.0 §5.10) and the response URI.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use llavero_platform::Origin;

use crate::api::parse_form;
use crate::error::{ApiError, no_store};
use crate::parties;
use crate::response::{self, ResponseForm};
use crate::state::PresentationsState;
use crate::transactions;

/// The longest `wallet_nonce` accepted.
const MAX_WALLET_NONCE: usize = 256;

async fn signed_request(
    service: &PresentationsState,
    id: &str,
    wallet_nonce: Option<&str>,
) -> Result<Response, ApiError> {
    let transaction = service
        .store
        .presentation_transaction(id, service.now())
        .await?
        .filter(|t| t.responded_at.is_none())
        .ok_or_else(|| ApiError::not_found("unknown, answered or expired request"))?;
    let ready = parties::ready(service, &transaction.party_id)
        .await
        .map_err(|e| ApiError::server(&e))?;
    let jwt = transactions::request_object(service, &ready, &transaction, wallet_nonce)?;
    let mut response = jwt.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/oauth-authz-req+jwt"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /verifier/requests/{id}`.
pub async fn request_get(
    State(service): State<PresentationsState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    signed_request(&service, &id, None).await
}

/// `POST /verifier/requests/{id}` (`request_uri_method=post`): the wallet's nonce goes into
/// the signed request, proving it is fresh; its metadata is read for what it can take.
pub async fn request_post(
    State(service): State<PresentationsState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = parse_form(&body)?;
    let nonce = form.get("wallet_nonce").map(String::as_str);
    if nonce.is_some_and(|n| n.is_empty() || n.len() > MAX_WALLET_NONCE) {
        return Err(ApiError::bad("invalid_request", "wallet_nonce"));
    }
    if let Some(metadata) = form.get("wallet_metadata") {
        let metadata: serde_json::Value =
            llavero_credentials::json::from_slice(metadata.as_bytes())
                .map_err(|_| ApiError::bad("invalid_request", "wallet_metadata is not JSON"))?;
        let algs = metadata.get("request_object_signing_alg_values_supported");
        if let Some(algs) = algs.and_then(|a| a.as_array())
            && !algs.iter().any(|a| a == "ES256")
        {
            return Err(ApiError::bad(
                "invalid_request",
                "the wallet does not accept ES256 request objects",
            ));
        }
    }
    signed_request(&service, &id, nonce).await
}

/// `POST /verifier/responses/{id}`: the wallet's answer.
pub async fn response(
    State(service): State<PresentationsState>,
    Path(id): Path<String>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut form = parse_form(&body)?;
    let answer = ResponseForm {
        response: form.remove("response"),
        vp_token: form.remove("vp_token"),
        state: form.remove("state"),
        error: form.remove("error"),
        error_description: form.remove("error_description"),
    };
    Ok(no_store(
        response::answer(&service, &Origin::of(&extensions, &headers), &id, answer).await?,
    ))
}
