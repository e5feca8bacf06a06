//! The relying-party API: an access token by OAuth 2.0 client credentials scoped to one
//! relying party, transactions created and read with it; and the public documents wallets
//! use to trust relying parties (the authority's root and the signed list of registrations).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use llavero_credentials::jws::{self, Header};
use llavero_platform::Origin;
use llavero_platform::params::basic_credentials;
use llavero_store::{hash_secret, hashes_equal};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, no_store};
use crate::parties::{self, ClientIdPrefix, Party};
use crate::state::{Presentations, PresentationsState, random_token};
use crate::transactions::{self, CreateRequest};

/// Parses a form body with the platform's parser: a repeated parameter is refused (RFC 6749
/// §3.2), so a proxy and this service cannot read different values.
pub fn parse_form(body: &[u8]) -> Result<BTreeMap<String, String>, ApiError> {
    llavero_platform::params::parse_params(body).map_err(|e| ApiError::bad("invalid_request", e))
}

/// `POST /verifier/token`: the client credentials grant (RFC 6749 §4.4).
pub async fn token(
    State(service): State<PresentationsState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = parse_form(&body)?;
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return Err(ApiError::bad(
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        ));
    }
    let (id, secret) = basic_credentials(&headers)
        .or_else(|| {
            Some((
                form.get("client_id")?.clone(),
                form.get("client_secret")?.clone(),
            ))
        })
        .ok_or_else(ApiError::invalid_client)?;
    let client = service
        .store
        .relying_party_client(&id)
        .await?
        .filter(|c| hashes_equal(&c.secret_hash, &hash_secret(&secret)))
        .ok_or_else(ApiError::invalid_client)?;
    let token = random_token();
    let expires_in = service.config.token_secs;
    service
        .store
        .put_relying_party_token(&hash_secret(&token), &client, service.now() + expires_in)
        .await?;
    Ok(no_store(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": format!("relying_party:{}", client.party_id),
    })))
}

/// The relying party a bearer token acts for.
async fn acting_party(
    service: &Presentations,
    headers: &HeaderMap,
) -> Result<std::sync::Arc<parties::Ready>, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::invalid_token("a relying-party access token is required"))?;
    let (_client, party) = service
        .store
        .relying_party_token(&hash_secret(token.trim()), service.now())
        .await?
        .ok_or_else(|| ApiError::invalid_token("unknown or expired token"))?;
    parties::ready(service, &party)
        .await
        .map_err(|e| ApiError::server(&e))
}

/// `POST /verifier/api/transactions`.
pub async fn create(
    State(service): State<PresentationsState>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let party = acting_party(&service, &headers).await?;
    let request: CreateRequest = llavero_credentials::json::from_slice(&body)
        .map_err(|e| ApiError::bad("invalid_request", e.to_string()))?;
    let origin = Origin::of(&extensions, &headers);
    let created = transactions::create(&service, &origin, &party.party, request).await?;
    let mut response = no_store(serde_json::to_value(&created).map_err(|e| ApiError::server(&e))?);
    *response.status_mut() = axum::http::StatusCode::CREATED;
    Ok(response)
}

/// `?response_code=` after a same-device redirect.
#[derive(Debug, Default, Deserialize)]
pub struct ResultQuery {
    /// The code the wallet's redirect carried.
    pub response_code: Option<String>,
}

/// The outcome of a transaction for its relying party: `pending`, or the result (deleted as it
/// is read: a result is read once).
pub async fn read_result(
    service: &Presentations,
    party: &str,
    id: &str,
    response_code: Option<&str>,
) -> Result<Value, ApiError> {
    let transaction = service
        .store
        .presentation_transaction(id, service.now())
        .await?
        .filter(|t| t.party_id == party)
        .ok_or_else(|| ApiError::not_found("unknown, read or expired transaction"))?;
    let answered = transaction.responded_at.is_some();
    let Some(result) = transaction.result.as_ref().filter(|_| answered) else {
        // Open: a refused attempt (its codes and description) is shown, the wait goes on.
        let refusal = transaction
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str::<Value>(r).ok());
        let mut pending = serde_json::Map::new();
        pending.insert("status".into(), "pending".into());
        pending.insert("expires_at".into(), transaction.expires_at.into());
        if let Some(refusal) = refusal {
            pending.insert("last_refusal".into(), refusal);
        }
        return Ok(Value::Object(pending));
    };
    if let Some(expected) = &transaction.response_code_hash
        && !response_code.is_some_and(|c| hashes_equal(expected, &hash_secret(c)))
    {
        return Err(ApiError::forbidden(
            "invalid_response_code",
            "this same-device transaction is read with the response_code of its redirect",
        ));
    }
    if !service.store.delete_presentation_transaction(id).await? {
        return Err(ApiError::not_found("unknown, read or expired transaction"));
    }
    serde_json::from_str(result).map_err(|e| ApiError::server(&e))
}

/// `GET /verifier/api/transactions/{id}`.
pub async fn result(
    State(service): State<PresentationsState>,
    Path(id): Path<String>,
    Query(query): Query<ResultQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let party = acting_party(&service, &headers).await?;
    Ok(no_store(
        read_result(
            &service,
            &party.party.row.id,
            &id,
            query.response_code.as_deref(),
        )
        .await?,
    ))
}

async fn authorization_request(service: &Presentations, id: &str) -> Result<String, ApiError> {
    let transaction = service
        .store
        .presentation_transaction(id, service.now())
        .await?
        .ok_or_else(|| ApiError::not_found("unknown or expired transaction"))?;
    let request = transactions::stored(&transaction)?;
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let mut uri = format!(
        "openid4vp://?client_id={}&request_uri={}",
        encode(&request.client_id),
        encode(&service.url(&format!("/verifier/requests/{id}")))
    );
    if request.request_uri_method == "post" {
        uri.push_str("&request_uri_method=post");
    }
    Ok(uri)
}

/// `GET /verifier/api/transactions/{id}/qr.svg`: the request's QR code (it holds only the
/// request URI, which anyone who sees the screen can read anyway).
pub async fn qr_svg(
    State(service): State<PresentationsState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let uri = authorization_request(&service, &id).await?;
    let svg = crate::qr::svg(&uri).map_err(|e| ApiError::server(&e))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// `GET /verifier/api/transactions/{id}/qr.png`.
pub async fn qr_png(
    State(service): State<PresentationsState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let uri = authorization_request(&service, &id).await?;
    let png = crate::qr::png(&uri).map_err(|e| ApiError::server(&e))?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

/// `GET /verifier/ca.pem`: the presentation authority's root, for wallets to pin.
pub async fn ca_pem(State(service): State<PresentationsState>) -> Response {
    let mut response = service.authority.pem().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pem-certificate-chain"),
    );
    response
}

/// The signed list of relying parties (`specs/relying-parties.md`): who they are, their
/// client identifiers and certificates, what each may ask for. Signed by the authority's root,
/// whose certificate is in `x5c` so a wallet holding the root can check it offline.
pub async fn party_list_jwt(service: &Presentations) -> Result<String, ApiError> {
    let now = service.now();
    let mut entries = Vec::new();
    for row in service.store.relying_parties().await? {
        let party = Party::from_row(row).map_err(|e| ApiError::server(&e))?;
        let client_ids: Vec<String> = [ClientIdPrefix::X509Hash, ClientIdPrefix::X509SanDns]
            .into_iter()
            .filter_map(|p| party.client_id(p))
            .collect();
        entries.push(json!({
            "id": party.row.id,
            "name": party.row.name,
            "client_ids": client_ids,
            "x5c": [STANDARD.encode(&party.row.certificate)],
            "credentials": party.registration.credentials,
        }));
    }
    let claims = json!({
        "iss": service.url("/verifier"),
        "iat": now,
        "exp": now + service.config.list_secs,
        "relying_parties": entries,
    });
    let mut header = Header::new("rp-list+jwt");
    header.x5c = Some(vec![STANDARD.encode(service.authority.certificate())]);
    Ok(jws::sign_json(header, &claims, service.authority.signer())?)
}

/// `GET /verifier/relying-parties.jwt`.
pub async fn party_list(State(service): State<PresentationsState>) -> Result<Response, ApiError> {
    let jwt = party_list_jwt(&service).await?;
    let mut response = jwt.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/rp-list+jwt"),
    );
    Ok(response)
}
