//! The wallet-facing OpenID4VCI 1.0 endpoints of an agency: nonce (§7), credential (§8),
//! deferred credential (§9) and notification (§11).
//!
//! The access token is either a pre-authorized-flow token of this agency (the offer says which
//! configurations and which agency-supplied claims) or an identity provider access token whose
//! scope names the configuration (the authorization code flow: the citizen logged in, the
//! registry supplies the claims).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use llavero_credentials::crypto;
use llavero_credentials::jwk::Jwk;
use llavero_platform::Origin;
use llavero_platform::authorization::DETAILS_PREFIX;
use llavero_platform::levels::{ACR_SUBSTANTIAL, acr_satisfies};
use llavero_store::{Agency, Deferred, Person, hash_secret};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, no_store};
use crate::issue::{IssueError, IssueRequest, claims_for, issue};
use crate::metadata::agency;
use crate::proof::{ProofRules, verify_proof};
use crate::state::{Issuer, IssuerState};
use crate::types::CredentialType;

/// Largest credential request accepted (a full batch of proofs fits well within).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// `POST /{agency}/nonce`: a fresh single-use `c_nonce`.
pub async fn nonce(
    State(issuer): State<IssuerState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    agency(&issuer, &id).await?;
    let nonce = crate::nonce::issue(&issuer);
    Ok(no_store(
        json!({"c_nonce": nonce, "c_nonce_expires_in": issuer.config.nonce_secs}),
    ))
}

/// What an access token lets the wallet obtain.
struct Authorized {
    run: i64,
    person: Option<Person>,
    configurations: Vec<String>,
    /// `credential_identifier`s the token covers (authorization code flow with
    /// `authorization_details`): each is the configuration id of its one dataset.
    identifiers: Vec<String>,
    offer: Option<llavero_store::Offer>,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

async fn authorize(
    issuer: &Issuer,
    agency: &Agency,
    headers: &HeaderMap,
) -> Result<Authorized, ApiError> {
    let token = bearer(headers)
        .ok_or_else(|| ApiError::invalid_token("a Bearer access token is required"))?;
    let hash = hash_secret(token);
    let now = issuer.now();
    let store = &issuer.platform.store;
    if let Some(granted) = store.issuance_token(&hash, now).await? {
        if granted.agency_id != agency.id {
            return Err(ApiError::invalid_token(
                "the token was issued for another agency",
            ));
        }
        return Ok(Authorized {
            run: granted.run,
            person: None,
            configurations: granted.configuration_ids,
            identifiers: Vec::new(),
            offer: store.offer(&granted.offer_id).await?,
        });
    }
    let access = store
        .access_grant(&hash, now)
        .await?
        .ok_or_else(|| ApiError::invalid_token("unknown, expired or revoked access token"))?;
    // A credential of the citizen's own identity needs two factors (or a passkey with user
    // verification): the password alone is not enough to put an identity document in a wallet.
    if !acr_satisfies(&access.grant.acr, ACR_SUBSTANTIAL) {
        return Err(ApiError::forbidden(
            "insufficient_authentication",
            "issuance needs a login with two factors (acr substantial)",
        ));
    }
    let scope = &access.grant.scope;
    let identifiers: Vec<String> = scope
        .split_whitespace()
        .filter_map(|s| s.strip_prefix(DETAILS_PREFIX))
        .map(str::to_owned)
        .collect();
    Ok(Authorized {
        run: access.person.run,
        configurations: scope
            .split_whitespace()
            .map(|s| s.strip_prefix(DETAILS_PREFIX).unwrap_or(s).to_owned())
            .collect(),
        identifiers,
        person: Some(access.person),
        offer: None,
    })
}

#[derive(Debug, Deserialize)]
struct Proofs {
    jwt: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct CredentialRequest {
    credential_configuration_id: Option<String>,
    credential_identifier: Option<String>,
    proofs: Option<Proofs>,
    proof: Option<Value>,
    credential_response_encryption: Option<Value>,
}

fn invalid_request(why: impl Into<String>) -> ApiError {
    ApiError::bad("invalid_credential_request", why)
}

/// The checked holder keys of a request's proofs and their shared `c_nonce`, checked (hash and
/// expiry; the caller spends it, in the issuance transaction when there is one).
fn holder_keys(
    issuer: &Issuer,
    agency_url: &str,
    proofs: &[String],
) -> Result<(Vec<Jwk>, (String, i64)), ApiError> {
    if proofs.is_empty() || proofs.len() > issuer.config.batch_size {
        return Err(invalid_request(format!(
            "send 1 to {} proofs",
            issuer.config.batch_size
        )));
    }
    let rules = ProofRules {
        audience: agency_url,
        now: issuer.now(),
        max_age: issuer.config.proof_max_age_secs,
        skew: 60,
    };
    let mut keys: Vec<Jwk> = Vec::with_capacity(proofs.len());
    let mut nonce: Option<String> = None;
    for jwt in proofs {
        let proven = verify_proof(jwt, &rules, crypto::default_backend())
            .map_err(|e| ApiError::bad(e.code(), e.to_string()))?;
        if nonce.as_ref().is_some_and(|n| *n != proven.nonce) {
            return Err(ApiError::bad(
                "invalid_nonce",
                "every proof must carry the same c_nonce",
            ));
        }
        if keys.contains(&proven.key) {
            return Err(ApiError::bad(
                "invalid_proof",
                "each proof must use a different key",
            ));
        }
        nonce = Some(proven.nonce);
        keys.push(proven.key);
    }
    let nonce = nonce.unwrap_or_default();
    let expires_at = crate::nonce::check(issuer, &nonce).ok_or_else(|| {
        ApiError::bad(
            "invalid_nonce",
            "c_nonce unknown or expired: get a fresh one from the nonce endpoint",
        )
    })?;
    Ok((keys, (hash_secret(&nonce), expires_at)))
}

fn issue_error(e: IssueError) -> ApiError {
    match e {
        IssueError::NotAllowed { .. }
        | IssueError::PersonNotActive
        | IssueError::Type(_)
        | IssueError::RegistryClaim(_) => ApiError::bad("credential_request_denied", e.to_string()),
        IssueError::Nonce => ApiError::bad("invalid_nonce", e.to_string()),
        other => ApiError::server(&other),
    }
}

fn agency_claims(
    offer: Option<&llavero_store::Offer>,
    credential_type: &CredentialType,
) -> Map<String, Value> {
    offer
        .and_then(|o| o.claims.get(&credential_type.id))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

async fn person(issuer: &Issuer, authorized: &Authorized) -> Result<Person, ApiError> {
    match &authorized.person {
        Some(person) => Ok(person.clone()),
        None => issuer
            .platform
            .store
            .person(authorized.run)
            .await?
            .ok_or_else(|| {
                ApiError::bad(
                    "credential_request_denied",
                    "the person is not in the civil registry",
                )
            }),
    }
}

fn credentials_body(issued: &[crate::issue::Issued], notification_id: &str) -> Value {
    let credentials: Vec<Value> = issued
        .iter()
        .map(|c| json!({"credential": c.credential}))
        .collect();
    json!({"credentials": credentials, "notification_id": notification_id})
}

/// The configuration a credential request names, checked against the agency and the token.
fn requested_configuration<'a>(
    issuer: &'a Issuer,
    agency: &Agency,
    authorized: &Authorized,
    request: &CredentialRequest,
) -> Result<(String, &'a CredentialType, crate::types::Format), ApiError> {
    if request.credential_response_encryption.is_some() {
        return Err(ApiError::bad(
            "invalid_encryption_parameters",
            "this issuer does not encrypt credential responses",
        ));
    }
    if request.proof.is_some() {
        return Err(invalid_request("use proofs, not proof (OpenID4VCI 1.0)"));
    }
    let configuration_id = match (
        &request.credential_configuration_id,
        &request.credential_identifier,
    ) {
        (Some(id), None) => id.clone(),
        (None, Some(identifier)) => {
            if !authorized.identifiers.contains(identifier) {
                return Err(ApiError::bad(
                    "unknown_credential_identifier",
                    "the access token covers no such credential_identifier",
                ));
            }
            identifier.clone()
        }
        _ => {
            return Err(invalid_request(
                "send exactly one of credential_configuration_id and credential_identifier",
            ));
        }
    };
    let (credential_type, format) = issuer
        .catalog
        .configuration(&configuration_id)
        .filter(|(t, _)| agency.credential_types.contains(&t.id))
        .ok_or_else(|| {
            ApiError::bad(
                "unknown_credential_configuration",
                format!("{configuration_id:?} is not offered here"),
            )
        })?;
    if !authorized.configurations.contains(&configuration_id) {
        return Err(ApiError::forbidden(
            "insufficient_scope",
            format!("the access token does not cover {configuration_id}"),
        ));
    }
    Ok((configuration_id, credential_type, format))
}

/// `POST /{agency}/credential`.
pub async fn credential(
    State(issuer): State<IssuerState>,
    Path(id): Path<String>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let agency = agency(&issuer, &id).await?;
    let authorized = authorize(&issuer, &agency, &headers).await?;
    let request: CredentialRequest = serde_json::from_slice(&body)
        .map_err(|e| invalid_request(format!("the body is not a credential request: {e}")))?;
    let (configuration_id, credential_type, format) =
        requested_configuration(&issuer, &agency, &authorized, &request)?;
    let proofs = request.proofs.ok_or_else(|| {
        invalid_request("proofs are required: the credential is bound to your key")
    })?;
    let (keys, (nonce_hash, nonce_expiry)) =
        holder_keys(&issuer, &issuer.agency_url(&agency.id), &proofs.jwt)?;
    let person = person(&issuer, &authorized).await?;
    let claims = claims_for(
        credential_type,
        &person,
        &agency_claims(authorized.offer.as_ref(), credential_type),
    )
    .map_err(issue_error)?;
    let origin = Origin::of(&extensions, &headers);
    if credential_type.issuance.deferred {
        if !issuer
            .platform
            .store
            .spend_nonce(&nonce_hash, nonce_expiry)
            .await?
        {
            return Err(issue_error(IssueError::Nonce));
        }
        return defer(
            &issuer,
            &agency,
            &authorized,
            &configuration_id,
            &keys,
            &origin,
        )
        .await;
    }
    let notification_id = llavero_platform::random::id();
    let request = IssueRequest {
        agency: &agency,
        credential_type,
        format,
        person: &person,
        claims: &claims,
        holder_keys: &keys,
        offer_id: authorized.offer.as_ref().map(|o| o.id.as_str()),
        deferred_id: None,
        nonce: Some((&nonce_hash, nonce_expiry)),
    };
    let issued = issue(&issuer, &request, &notification_id)
        .await
        .map_err(issue_error)?;
    audit_issued(
        &issuer,
        &origin,
        &agency,
        &configuration_id,
        person.run,
        &issued,
    )
    .await;
    Ok(no_store(credentials_body(&issued, &notification_id)))
}

async fn audit_issued(
    issuer: &Issuer,
    origin: &Origin,
    agency: &Agency,
    configuration_id: &str,
    run: i64,
    issued: &[crate::issue::Issued],
) {
    let ids: Vec<&str> = issued.iter().map(|c| c.id.as_str()).collect();
    crate::audit::record(
        issuer,
        origin,
        "credential.issued",
        run,
        json!({"agency": agency.id, "credential_configuration_id": configuration_id, "credentials": ids}),
    )
    .await;
}

async fn defer(
    issuer: &Issuer,
    agency: &Agency,
    authorized: &Authorized,
    configuration_id: &str,
    keys: &[Jwk],
    origin: &Origin,
) -> Result<Response, ApiError> {
    let transaction_id = llavero_platform::random::token();
    let now = issuer.now();
    let deferred = Deferred {
        id: llavero_platform::random::id(),
        transaction_hash: hash_secret(&transaction_id),
        agency_id: agency.id.clone(),
        run: authorized.run,
        offer_id: authorized
            .offer
            .as_ref()
            .map(|o| o.id.clone())
            .unwrap_or_default(),
        configuration_id: configuration_id.to_owned(),
        holder_keys: Value::Array(keys.iter().map(Jwk::to_value).collect()),
        created_at: now,
        expires_at: now + issuer.config.deferred_secs,
        approved_at: None,
        collected_at: None,
    };
    issuer.platform.store.create_deferred(&deferred).await?;
    crate::audit::record(
        issuer,
        origin,
        "credential.deferred",
        authorized.run,
        json!({"agency": agency.id, "credential_configuration_id": configuration_id, "deferred": deferred.id}),
    )
    .await;
    let mut response = no_store(json!({
        "transaction_id": transaction_id,
        "interval": issuer.config.deferred_interval_secs,
    }));
    *response.status_mut() = StatusCode::ACCEPTED;
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct DeferredRequest {
    transaction_id: String,
}

/// `POST /{agency}/deferred-credential`.
pub async fn deferred_credential(
    State(issuer): State<IssuerState>,
    Path(id): Path<String>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: DeferredRequest = serde_json::from_slice(&body)
        .map_err(|e| invalid_request(format!("expected {{\"transaction_id\": …}}: {e}")))?;
    let agency = agency(&issuer, &id).await?;
    let authorized = authorize(&issuer, &agency, &headers).await?;
    let now = issuer.now();
    let deferred = issuer
        .platform
        .store
        .deferred(&hash_secret(&request.transaction_id))
        .await?
        .filter(|d| d.agency_id == agency.id && d.run == authorized.run)
        .filter(|d| d.collected_at.is_none() && d.expires_at > now)
        .ok_or_else(|| {
            ApiError::bad(
                "invalid_transaction_id",
                "unknown, collected or expired transaction_id",
            )
        })?;
    if deferred.approved_at.is_none() {
        return Err(ApiError::bad(
            "issuance_pending",
            "the agency has not approved the credential yet",
        ));
    }
    let (credential_type, format) = issuer
        .catalog
        .configuration(&deferred.configuration_id)
        .ok_or_else(|| ApiError::server(&"a deferred issuance names an unknown configuration"))?;
    let keys: Vec<Jwk> = deferred
        .holder_keys
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter_map(|k| Jwk::from_value(k).ok())
                .collect()
        })
        .unwrap_or_default();
    let person = person(&issuer, &authorized).await?;
    let offer = match deferred.offer_id.as_str() {
        "" => None,
        id => issuer.platform.store.offer(id).await?,
    };
    let claims = claims_for(
        credential_type,
        &person,
        &agency_claims(offer.as_ref(), credential_type),
    )
    .map_err(issue_error)?;
    let notification_id = llavero_platform::random::id();
    let issue_request = IssueRequest {
        agency: &agency,
        credential_type,
        format,
        person: &person,
        claims: &claims,
        holder_keys: &keys,
        offer_id: offer.as_ref().map(|o| o.id.as_str()),
        deferred_id: Some(&deferred.id),
        nonce: None,
    };
    let issued = issue(&issuer, &issue_request, &notification_id)
        .await
        .map_err(issue_error)?;
    let origin = Origin::of(&extensions, &headers);
    audit_issued(
        &issuer,
        &origin,
        &agency,
        &deferred.configuration_id,
        person.run,
        &issued,
    )
    .await;
    Ok(no_store(credentials_body(&issued, &notification_id)))
}

#[derive(Debug, Deserialize)]
#[allow(clippy::struct_field_names)] // the member names are OpenID4VCI's
struct Notification {
    notification_id: String,
    event: String,
    #[serde(default)]
    #[allow(dead_code)] // accepted as the spec allows; not stored (free text from the wallet)
    event_description: Option<String>,
}

/// `POST /{agency}/notification`: the wallet says what became of the credentials.
pub async fn notification(
    State(issuer): State<IssuerState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let agency = agency(&issuer, &id).await?;
    authorize(&issuer, &agency, &headers).await?;
    let notification: Notification = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad("invalid_notification_request", e.to_string()))?;
    if ![
        "credential_accepted",
        "credential_failure",
        "credential_deleted",
    ]
    .contains(&notification.event.as_str())
    {
        return Err(ApiError::bad(
            "invalid_notification_request",
            "unknown event",
        ));
    }
    if !issuer
        .platform
        .store
        .record_wallet_event(
            &agency.id,
            &notification.notification_id,
            &notification.event,
        )
        .await?
    {
        return Err(ApiError::bad(
            "invalid_notification_id",
            "unknown notification_id",
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
