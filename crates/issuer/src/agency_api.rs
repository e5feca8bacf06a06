//! The agency API: an agency's own systems, authenticated with OAuth 2.0 client credentials
//! scoped to that agency, create offers, approve deferred issuances, list what was issued and
//! revoke, suspend or unsuspend (always with a reason). Every call is in the audit trail.
//!
//! A token of agency A presented on agency B's path is refused before anything is read: an
//! agency can neither see nor touch another's credentials.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Extensions, HeaderMap, header};
use axum::response::Response;
use llavero_platform::Origin;
use llavero_platform::Run;
use llavero_platform::params::basic_credentials;
use llavero_store::{CredentialStatus, IssuedCredential, StatusChange, hash_secret, hashes_equal};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, no_store};
use crate::metadata::agency;
use crate::offers::{self, OfferRequest};
use crate::state::{Issuer, IssuerState};

/// `POST /agency/token`: the client credentials grant (RFC 6749 §4.4) for agency systems.
pub async fn token(
    State(issuer): State<IssuerState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Parsed as the provider's token endpoint parses: a repeated parameter is refused
    // (RFC 6749 §3.2), so a proxy and this service cannot read different values.
    let form = llavero_platform::params::parse_params(&body)
        .map_err(|e| ApiError::bad("invalid_request", e))?;
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
        .ok_or_else(invalid_client)?;
    let client = issuer
        .platform
        .store
        .agency_client(&id)
        .await?
        .filter(|c| hashes_equal(&c.secret_hash, &hash_secret(&secret)))
        .ok_or_else(invalid_client)?;
    let token = llavero_platform::random::token();
    let expires_in = issuer.config.agency_token_secs;
    issuer
        .platform
        .store
        .put_agency_token(&hash_secret(&token), &client, issuer.now() + expires_in)
        .await?;
    Ok(no_store(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": format!("agency:{}", client.agency_id),
    })))
}

fn invalid_client() -> ApiError {
    ApiError {
        status: axum::http::StatusCode::UNAUTHORIZED,
        error: "invalid_client",
        description: "client authentication failed".into(),
    }
}

/// The agency a request may act for: its token's, which must be the one in the path.
async fn acting_agency(
    issuer: &Issuer,
    headers: &HeaderMap,
    path_agency: &str,
) -> Result<(String, llavero_store::Agency), ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::invalid_token("an agency access token is required"))?;
    let (client, agency_id) = issuer
        .platform
        .store
        .agency_token(&hash_secret(token.trim()), issuer.now())
        .await?
        .ok_or_else(|| ApiError::invalid_token("unknown or expired agency token"))?;
    if agency_id != path_agency {
        return Err(ApiError::forbidden(
            "access_denied",
            "the token belongs to another agency",
        ));
    }
    Ok((client, agency(issuer, path_agency).await?))
}

async fn audit(
    issuer: &Issuer,
    extensions: &Extensions,
    headers: &HeaderMap,
    kind: &str,
    run: i64,
    client: &str,
    mut detail: Value,
) {
    if let Some(obj) = detail.as_object_mut() {
        obj.insert("agency_client".into(), client.into());
    }
    crate::audit::record(issuer, &Origin::of(extensions, headers), kind, run, detail).await;
}

/// `POST /{agency}/api/offers`.
pub async fn create_offer(
    State(issuer): State<IssuerState>,
    Path(path_agency): Path<String>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (client, agency) = acting_agency(&issuer, &headers, &path_agency).await?;
    let request: OfferRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad("invalid_request", e.to_string()))?;
    let created = offers::create(&issuer, &agency, &request).await?;
    let run = created.run;
    audit(
        &issuer,
        &extensions,
        &headers,
        "credential_offer.created",
        run,
        &client,
        json!({"agency": agency.id, "offer": created.id,
               "credential_configuration_ids": request.credential_configuration_ids}),
    )
    .await;
    let base = format!("{}/offers/{}", issuer.agency_url(&agency.id), created.id);
    Ok(no_store(json!({
        "id": created.id,
        "credential_offer": created.offer,
        "credential_offer_uri": created.uri_by_reference,
        "credential_offer_by_value": created.uri_by_value,
        "tx_code": created.tx_code,
        "qr_svg": format!("{base}/qr.svg"),
        "qr_png": format!("{base}/qr.png"),
    })))
}

/// Filters of the credential listing.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Only this citizen's.
    pub run: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
}

fn credential_json(issuer: &Issuer, c: &IssuedCredential) -> Value {
    let run = u32::try_from(c.credential.run)
        .ok()
        .and_then(|n| Run::from_number(n).ok())
        .map(|r| r.to_string());
    let number = c
        .list_id
        .rsplit('/')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    json!({
        "id": c.credential.id,
        "run": run,
        "credential_configuration_id": c.credential.configuration_id,
        "format": c.credential.format,
        "issued_at": c.credential.issued_at,
        "expires_at": c.credential.expires_at,
        "status": c.status.as_str(),
        "status_reason": c.status_reason,
        "status_changed_at": c.status_changed_at,
        "status_list": {"uri": crate::issue::token_list_uri(issuer, &c.credential.agency_id, number), "idx": c.idx},
        "wallet_event": c.wallet_event,
    })
}

/// `GET /{agency}/api/credentials?run=…&limit=…`.
pub async fn list_credentials(
    State(issuer): State<IssuerState>,
    Path(path_agency): Path<String>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, agency) = acting_agency(&issuer, &headers, &path_agency).await?;
    let run = query
        .run
        .as_deref()
        .map(|r| r.parse::<Run>().map(|r| i64::from(r.number())))
        .transpose()
        .map_err(|e| ApiError::bad("invalid_request", format!("run: {e}")))?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let found = issuer
        .platform
        .store
        .issued_credentials(&agency.id, run, limit)
        .await?;
    let items: Vec<Value> = found.iter().map(|c| credential_json(&issuer, c)).collect();
    Ok(Json(json!({"credentials": items})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusRequest {
    reason: String,
}

/// `POST /{agency}/api/credentials/{id}/{revoke|suspend|unsuspend}` with `{"reason": …}`.
pub async fn change_status(
    State(issuer): State<IssuerState>,
    Path((path_agency, id, action)): Path<(String, String, String)>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let (client, agency) = acting_agency(&issuer, &headers, &path_agency).await?;
    let status = match action.as_str() {
        "revoke" => CredentialStatus::Revoked,
        "suspend" => CredentialStatus::Suspended,
        "unsuspend" => CredentialStatus::Valid,
        _ => {
            return Err(ApiError::not_found(
                "action is revoke, suspend or unsuspend",
            ));
        }
    };
    let request: StatusRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad(
            "invalid_request",
            format!("expected {{\"reason\": …}}: {e}"),
        )
    })?;
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::bad(
            "invalid_request",
            "reason: 1 to 500 characters",
        ));
    }
    let change = issuer
        .platform
        .store
        .set_credential_status(&agency.id, &id, status, reason, issuer.now())
        .await?;
    let changed = match change {
        StatusChange::NotFound => {
            return Err(ApiError::not_found("no such credential of this agency"));
        }
        StatusChange::AlreadyRevoked => {
            return Err(ApiError::bad(
                "invalid_request",
                "the credential is revoked: revocation is final",
            ));
        }
        StatusChange::NotApplicable(current) => {
            return Err(ApiError::bad(
                "invalid_request",
                format!("cannot {action} a credential that is {}", current.as_str()),
            ));
        }
        StatusChange::Changed(changed) => changed,
    };
    audit(
        &issuer,
        &extensions,
        &headers,
        &format!(
            "credential.{}",
            match status {
                CredentialStatus::Revoked => "revoked",
                CredentialStatus::Suspended => "suspended",
                CredentialStatus::Valid => "unsuspended",
            }
        ),
        changed.credential.run,
        &client,
        json!({"agency": agency.id, "credential": id, "reason": reason}),
    )
    .await;
    Ok(Json(credential_json(&issuer, &changed)))
}

/// `POST /{agency}/api/deferred/{id}/approve`.
pub async fn approve_deferred(
    State(issuer): State<IssuerState>,
    Path((path_agency, id)): Path<(String, String)>,
    extensions: Extensions,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (client, agency) = acting_agency(&issuer, &headers, &path_agency).await?;
    let run = issuer
        .platform
        .store
        .approve_deferred(&agency.id, &id, issuer.now())
        .await?
        .ok_or_else(|| ApiError::not_found("no pending deferred issuance with that id"))?;
    audit(
        &issuer,
        &extensions,
        &headers,
        "credential.approved",
        run,
        &client,
        json!({"agency": agency.id, "deferred": id}),
    )
    .await;
    Ok(Json(json!({"approved": id})))
}

/// `GET /{agency}/api/deferred`: pending deferred issuances awaiting approval.
pub async fn pending_deferred(
    State(issuer): State<IssuerState>,
    Path(path_agency): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, agency) = acting_agency(&issuer, &headers, &path_agency).await?;
    let pending = issuer.platform.store.pending_deferred(&agency.id).await?;
    let items: Vec<Value> = pending
        .iter()
        .map(|d| json!({"id": d.id, "credential_configuration_id": d.configuration_id,
                        "created_at": d.created_at, "run": u32::try_from(d.run).ok().and_then(|n| Run::from_number(n).ok()).map(|r| r.to_string())}))
        .collect();
    Ok(Json(json!({"deferred": items})))
}
