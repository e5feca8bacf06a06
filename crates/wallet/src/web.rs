//! The wallet's pages and forms: "Mis documentos", an offer, one document, delete, export.
//! Each handler extracts the signed-in citizen, checks the form's anti-CSRF token, calls one
//! flow function and renders or redirects.

use axum::Json;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::WalletError;
use crate::extract::SignedIn;
use crate::pages::{Locale, PageQuery, claim_label, display_name, render};
use crate::session::Citizen;
use crate::state::WalletState;
use crate::status::{self, Standing};

/// A form with only its anti-CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// The notices a redirect may ask for (anything else is ignored).
const NOTICES: [&str; 4] = [
    "received_notice",
    "deleted_notice",
    "shared_notice",
    "declined_notice",
];

/// A JSON object's member, or null.
fn member<'a>(value: &'a Value, name: &str) -> &'a Value {
    value.get(name).unwrap_or(&Value::Null)
}

/// One credential as the list and detail pages show it.
fn summary(held: &llavero_store::HeldCredential, standing: Standing, locale: Locale) -> Value {
    let display: Value = serde_json::from_str(&held.display).unwrap_or(Value::Null);
    let name = display_name(member(&display, "type"), locale)
        .unwrap_or_else(|| held.configuration_id.clone());
    let issuer = display_name(member(&display, "issuer"), locale)
        .unwrap_or_else(|| held.credential_issuer.clone());
    json!({"id": held.id, "name": name, "issuer": issuer, "status": standing.as_str()})
}

/// `GET /wallet`: the citizen's documents.
pub async fn home(
    State(wallet): State<WalletState>,
    SignedIn(citizen): SignedIn,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Result<Response, WalletError> {
    let locale = Locale::choose(query.lang.as_deref(), &headers);
    let mut credentials = Vec::new();
    for held in wallet.store.held_credentials(&citizen.account_id).await? {
        let standing = status::refresh(&wallet, &held).await;
        credentials.push(summary(&held, standing, locale));
    }
    let notice = query.notice.filter(|n| NOTICES.contains(&n.as_str()));
    Ok(render(
        StatusCode::OK,
        locale,
        "wallet.html",
        json!({"credentials": credentials, "csrf": wallet.csrf_token(&citizen), "notice": notice}),
    ))
}

/// `GET /wallet/credentials/{id}`.
pub async fn credential(
    State(wallet): State<WalletState>,
    SignedIn(citizen): SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, WalletError> {
    let locale = Locale::choose(query.lang.as_deref(), &headers);
    let held = wallet
        .store
        .held_credential(&citizen.account_id, &id)
        .await?
        .ok_or(WalletError::NotFound)?;
    let standing = status::refresh(&wallet, &held).await;
    let mut context = summary(&held, standing, locale);
    let display: Value = serde_json::from_str(&held.display).unwrap_or(Value::Null);
    let claims = status::claims_of(&held);
    let subject = claims.get("credentialSubject").unwrap_or(&claims);
    let shown: Vec<Value> = subject
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, _)| !ENVELOPE.contains(&name.as_str()))
        .map(|(name, value)| {
            let label = claim_label(member(&display, "claims"), &json!([name]), locale);
            let value = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            json!({"label": label, "value": value})
        })
        .collect();
    if let Value::Object(map) = &mut context {
        map.insert("claims".into(), Value::Array(shown));
        map.insert("csrf".into(), json!(wallet.csrf_token(&citizen)));
    }
    Ok(render(StatusCode::OK, locale, "credential.html", context))
}

/// Claims of the issuer's envelope, not the citizen's data.
const ENVELOPE: [&str; 12] = [
    "iss",
    "iat",
    "nbf",
    "exp",
    "cnf",
    "vct",
    "vct#integrity",
    "status",
    "_sd_alg",
    "id",
    "type",
    "sub",
];

/// `POST /wallet/credentials/{id}/delete`: the credential and its key go.
pub async fn delete(
    State(wallet): State<WalletState>,
    SignedIn(citizen): SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<CsrfOnly>,
) -> Result<Response, WalletError> {
    wallet.check_csrf(&citizen, &form.csrf)?;
    if !wallet
        .store
        .delete_held_credential(&citizen.account_id, &id)
        .await?
    {
        return Err(WalletError::NotFound);
    }
    wallet
        .sessions
        .record(
            &citizen,
            &headers,
            "wallet.deleted",
            json!({"credential": id}),
        )
        .await;
    Ok(Redirect::to("/wallet?notice=deleted_notice").into_response())
}

/// `GET /wallet/export.json`: every credential as issued, with its status (never a key).
pub async fn export(
    State(wallet): State<WalletState>,
    SignedIn(citizen): SignedIn,
) -> Result<Response, WalletError> {
    let mut credentials = Vec::new();
    for held in wallet.store.held_credentials(&citizen.account_id).await? {
        let standing = status::refresh(&wallet, &held).await;
        credentials.push(json!({
            "id": held.id,
            "format": held.format,
            "credential_issuer": held.credential_issuer,
            "credential_configuration_id": held.configuration_id,
            "credential": held.credential,
            "status": standing.as_str(),
            "received_at": held.received_at,
            "expires_at": held.expires_at,
        }));
    }
    let mut response =
        Json(json!({"run": citizen.run, "credentials": credentials})).into_response();
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        header::HeaderValue::from_static("attachment; filename=\"mis-documentos.json\""),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// The pasted offer.
#[derive(Debug, Deserialize)]
pub struct OfferForm {
    csrf: String,
    offer: String,
}

/// `GET /wallet/offer?credential_offer_uri=…` (the wallet's `credential_offer_endpoint`).
pub async fn offer_endpoint(
    State(wallet): State<WalletState>,
    SignedIn(citizen): SignedIn,
    RawQuery(query): RawQuery,
) -> Result<Response, WalletError> {
    let (id, _) =
        crate::receive::open_offer(&wallet, &citizen, query.as_deref().unwrap_or("")).await?;
    Ok(Redirect::to(&format!("/wallet/offer/{id}")).into_response())
}

/// `POST /wallet/offer`: a pasted offer.
pub async fn offer_pasted(
    State(wallet): State<WalletState>,
    SignedIn(citizen): SignedIn,
    axum::Form(form): axum::Form<OfferForm>,
) -> Result<Response, WalletError> {
    wallet.check_csrf(&citizen, &form.csrf)?;
    let (id, _) = crate::receive::open_offer(&wallet, &citizen, &form.offer).await?;
    Ok(Redirect::to(&format!("/wallet/offer/{id}")).into_response())
}

/// `GET /wallet/offer/{id}`: who offers what, and the `tx_code` field.
pub async fn offer_page(
    State(wallet): State<WalletState>,
    SignedIn(citizen): SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, WalletError> {
    let locale = Locale::choose(query.lang.as_deref(), &headers);
    let pending = crate::receive::pending_offer(&wallet, &citizen, &id).await?;
    let issuer = display_name(
        pending.metadata.get("display").unwrap_or(&Value::Null),
        locale,
    )
    .unwrap_or_else(|| pending.offer.credential_issuer.clone());
    let names: Vec<String> = pending
        .offer
        .credential_configuration_ids
        .iter()
        .map(|config| {
            let configuration = member(
                member(&pending.metadata, "credential_configurations_supported"),
                config,
            );
            let display = configuration
                .pointer("/credential_metadata/display")
                .or_else(|| configuration.get("display"))
                .unwrap_or(&Value::Null);
            display_name(display, locale).unwrap_or_else(|| config.clone())
        })
        .collect();
    let tx_code = pending
        .offer
        .grants
        .pre_authorized_code
        .as_ref()
        .and_then(|g| g.tx_code.as_ref());
    Ok(render(
        StatusCode::OK,
        locale,
        "offer.html",
        json!({"id": id, "issuer": issuer, "names": names, "tx_code": tx_code, "csrf": wallet.csrf_token(&citizen)}),
    ))
}

/// The citizen's answer to an offer.
#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    csrf: String,
    #[serde(default)]
    tx_code: Option<String>,
}

/// `POST /wallet/offer/{id}/accept`.
pub async fn offer_accept(
    State(wallet): State<WalletState>,
    SignedIn(citizen): SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<AcceptForm>,
) -> Result<Response, WalletError> {
    wallet.check_csrf(&citizen, &form.csrf)?;
    let stored =
        crate::receive::accept_offer(&wallet, &citizen, &id, form.tx_code.as_deref()).await?;
    record_received(&wallet, &citizen, &headers, &stored).await;
    Ok(Redirect::to("/wallet?notice=received_notice").into_response())
}

async fn record_received(
    wallet: &crate::state::Wallet,
    citizen: &Citizen,
    headers: &HeaderMap,
    ids: &[String],
) {
    wallet
        .sessions
        .record(
            citizen,
            headers,
            "wallet.received",
            json!({"credentials": ids}),
        )
        .await;
}

/// `GET /wallet/metadata`: what an issuer needs to reach this wallet, and what a verifier
/// needs (its authorization endpoint and the OpenID4VP `wallet_metadata`).
pub async fn metadata(State(wallet): State<WalletState>) -> Response {
    let base = &wallet.config.base_url;
    let mut document = json!({
        "credential_offer_endpoint": format!("{base}/wallet/offer"),
        "credential_offer_schemes_supported": ["openid-credential-offer"],
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
        "authorization_endpoint": format!("{base}/wallet/authorize"),
    });
    if let (Value::Object(doc), Value::Object(vp)) =
        (&mut document, crate::present::request::wallet_metadata())
    {
        doc.extend(vp);
    }
    let mut response = Json(document).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("max-age=3600"),
    );
    response
}
