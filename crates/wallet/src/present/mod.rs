//! Presenting credentials (OpenID4VP 1.0, wallet side, as HAIP 1.0 profiles it).
//!
//! ```text
//!  /wallet/authorize?client_id&request_uri   (same device: the relying party redirects here)
//!  POST /wallet/authorize  request=openid4vp://…   (cross device: pasted or opened link)
//!      └─► request: fetch (GET, or POST with wallet_metadata + wallet_nonce) and verify the
//!          signed request (typ, ES256, x5c to a trusted root, x509_hash / x509_san_dns)
//!      └─► parties: the relying party's registered name from the signed list; beyond it?
//!      └─► consent: the held credentials (still presentable) that answer the DCQL query
//!      └─► pending (database: this citizen, this login, minutes, one use)
//!  GET /wallet/present/{id}            consent page: who, what, from which document
//!  POST /wallet/present/{id}/share     fresh second factor (CitizenSessions::confirm), then
//!      └─► respond: presentations with the sealed holder keys, vp_token, direct_post(.jwt)
//!      └─► audit trail: to whom, which claims, when (never a value); the verifier's redirect
//!  POST /wallet/present/{id}/decline   access_denied to the verifier
//! ```

pub mod chain;
pub mod consent;
pub mod parties;
pub mod request;
pub mod respond;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use llavero_holder::dcql::DcqlQuery;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::WalletError;
use crate::extract::SignedIn;
use crate::pages::PageQuery;
use crate::pages::{Locale, claim_label, display_name, render};
use crate::session::{Citizen, Confirmation};
use crate::state::{Wallet, WalletState};

use self::consent::Item;
use self::request::VerifiedRequest;

/// The kind of pending state a presentation request is kept as.
const KIND: &str = "presentation";

/// A request awaiting the citizen's answer (kept server-side, never in the page).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingPresentation {
    /// The verified request.
    pub request: VerifiedRequest,
    /// The relying party's registered name, if a trusted list registers it.
    pub party: Option<String>,
    /// What it asks beyond its registration (claim paths or documents).
    pub beyond: Vec<String>,
    /// The credentials that answer, or `None` when the wallet holds none that can.
    pub items: Option<Vec<Item>>,
}

/// The presentation routes.
pub(crate) fn routes() -> Router<WalletState> {
    Router::new()
        .route("/wallet/authorize", get(authorize).post(authorize_pasted))
        .route("/wallet/present.js", get(script))
        .route("/wallet/present/{id}", get(consent_page))
        .route("/wallet/present/{id}/share", post(share))
        .route("/wallet/present/{id}/decline", post(decline))
}

/// Resolves and verifies a request, matches it and keeps it for the citizen's answer.
/// Returns the pending id.
pub async fn open(
    wallet: &Wallet,
    citizen: &Citizen,
    params: &Map<String, Value>,
) -> Result<String, WalletError> {
    let request = request::resolve(wallet, params).await?;
    let query = DcqlQuery::parse(&request.dcql_query.to_string())
        .map_err(|e| WalletError::Refused(e.to_string()))?;
    let registered = parties::find(wallet, &request.client_id).await;
    let beyond = registered
        .as_ref()
        .map(|r| parties::beyond(r, &query))
        .unwrap_or_default();
    let items = consent::matching(wallet, &citizen.account_id, &query).await?;
    let pending = PendingPresentation {
        request,
        party: registered.map(|r| r.name),
        beyond,
        items,
    };
    let id = Wallet::random_id()?;
    let now = wallet.now();
    wallet
        .store
        .insert_session_pending(
            &llavero_store::WalletPending {
                id: id.clone(),
                account_id: citizen.account_id.clone(),
                kind: KIND.into(),
                body: serde_json::to_string(&pending)
                    .map_err(|e| WalletError::Internal(e.to_string()))?,
                expires_at: now + wallet.config.pending_secs,
            },
            &citizen.session,
            now,
        )
        .await?;
    Ok(id)
}

fn pending_of(row: &llavero_store::WalletPending) -> Result<PendingPresentation, WalletError> {
    serde_json::from_str(&row.body).map_err(|e| WalletError::Internal(e.to_string()))
}

/// `GET /wallet/authorize?client_id=…&request_uri=…` (same device).
pub async fn authorize(
    State(wallet): State<WalletState>,
    SignedIn(citizen): SignedIn,
    RawQuery(query): RawQuery,
) -> Result<Response, WalletError> {
    let params = request::link_parameters(query.as_deref().unwrap_or(""))?;
    let id = open(&wallet, &citizen, &params).await?;
    Ok(Redirect::to(&format!("/wallet/present/{id}")).into_response())
}

/// A pasted request link.
#[derive(Debug, Deserialize)]
pub struct PastedRequest {
    csrf: String,
    request: String,
}

/// `POST /wallet/authorize`: an `openid4vp://` link pasted or scanned (cross device).
pub async fn authorize_pasted(
    State(wallet): State<WalletState>,
    SignedIn(citizen): SignedIn,
    axum::Form(form): axum::Form<PastedRequest>,
) -> Result<Response, WalletError> {
    wallet.check_csrf(&citizen, &form.csrf)?;
    let params = request::link_parameters(&form.request)?;
    let id = open(&wallet, &citizen, &params).await?;
    Ok(Redirect::to(&format!("/wallet/present/{id}")).into_response())
}

/// `GET /wallet/present.js`: runs the second-factor confirmation before the share form goes.
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("../../static/present.js"),
    )
        .into_response()
}

/// What the consent page shows of one item.
fn shown_item(
    index: usize,
    item: &Item,
    held: &llavero_store::HeldCredential,
    locale: Locale,
) -> Value {
    let display: Value = serde_json::from_str(&held.display).unwrap_or(Value::Null);
    let name = display_name(display.get("type").unwrap_or(&Value::Null), locale)
        .unwrap_or_else(|| held.configuration_id.clone());
    let issuer = display_name(display.get("issuer").unwrap_or(&Value::Null), locale)
        .unwrap_or_else(|| held.credential_issuer.clone());
    let metadata = display.get("claims").unwrap_or(&Value::Null);
    let claims: Vec<Value> = item
        .offered()
        .into_iter()
        .map(|(claim, optional)| {
            let path = serde_json::to_value(&claim.path).unwrap_or(Value::Null);
            json!({
                "label": claim_label(metadata, &path, locale),
                "key": format!("{index}:{}", claim.id.clone().unwrap_or_default()),
                "optional": optional,
            })
        })
        .collect();
    json!({
        "index": index,
        "name": name,
        "issuer": issuer,
        "optional": item.optional,
        "whole": !held.credential.contains('~'),
        "claims": claims,
    })
}

/// `GET /wallet/present/{id}`: who asks, for what, from which document.
pub async fn consent_page(
    State(wallet): State<WalletState>,
    SignedIn(citizen): SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, WalletError> {
    let locale = Locale::choose(query.lang.as_deref(), &headers);
    let row = wallet
        .store
        .session_pending(
            &citizen.account_id,
            &citizen.session,
            KIND,
            &id,
            wallet.now(),
        )
        .await?
        .ok_or(WalletError::NotFound)?;
    let pending = pending_of(&row)?;
    let mut items = Vec::new();
    for (index, item) in pending.items.iter().flatten().enumerate() {
        let held = wallet
            .store
            .held_credential(&citizen.account_id, &item.credential_id)
            .await?
            .ok_or(WalletError::NotFound)?;
        items.push(shown_item(index, item, &held, locale));
    }
    let (confirm_csrf, cookie) = wallet.sessions.confirmation_csrf(&headers);
    let request = &pending.request;
    let mut response = render(
        StatusCode::OK,
        locale,
        "request.html",
        json!({
            "id": id,
            "csrf": wallet.csrf_token(&citizen),
            "confirm_csrf": confirm_csrf,
            "party": pending.party,
            "certificate_name": request.certificate_name,
            "client_id": request.client_id,
            "signed": request.signed,
            "beyond": pending.beyond,
            "purpose": request.purpose,
            "items": items,
            "no_match": pending.items.is_none(),
        }),
    );
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The share form: the anti-CSRF token, the optional claims kept (`keep=<item>:<claim id>`)
/// and the optional documents kept (`document=<item>`).
struct ShareForm {
    csrf: String,
    keep: Vec<String>,
    documents: Vec<String>,
}

fn share_form(body: &[u8]) -> ShareForm {
    let mut form = ShareForm {
        csrf: String::new(),
        keep: Vec::new(),
        documents: Vec::new(),
    };
    for (name, value) in form_urlencoded::parse(body) {
        match name.as_ref() {
            "csrf" => form.csrf = value.into_owned(),
            "keep" => form.keep.push(value.into_owned()),
            "document" => form.documents.push(value.into_owned()),
            _ => {}
        }
    }
    form
}

/// `POST /wallet/present/{id}/share`: with a fresh second factor, the presentation is built,
/// sent and recorded; the citizen follows the verifier's redirect (same device) or sees that
/// it is done.
pub async fn share(
    State(wallet): State<WalletState>,
    SignedIn(citizen): SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, WalletError> {
    let form = share_form(&body);
    wallet.check_csrf(&citizen, &form.csrf)?;
    wallet
        .store
        .session_pending(
            &citizen.account_id,
            &citizen.session,
            KIND,
            &id,
            wallet.now(),
        )
        .await?
        .ok_or(WalletError::NotFound)?;
    match wallet
        .sessions
        .confirm(&citizen)
        .await
        .map_err(|e| WalletError::Internal(e.to_string()))?
    {
        Confirmation::Confirmed => {}
        Confirmation::Needed => return Err(WalletError::ConfirmFirst),
    }
    let row = wallet
        .store
        .take_session_pending(
            &citizen.account_id,
            &citizen.session,
            KIND,
            &id,
            wallet.now(),
        )
        .await?
        .ok_or(WalletError::NotFound)?;
    let pending = pending_of(&row)?;
    let delivered = present(&wallet, &citizen, &headers, &pending, &form).await?;
    Ok(finish(delivered, "shared_notice"))
}

fn finish(delivered: respond::Delivered, notice: &str) -> Response {
    match delivered.redirect_uri {
        Some(uri) => Redirect::to(&uri).into_response(),
        None => Redirect::to(&format!("/wallet?notice={notice}")).into_response(),
    }
}

/// Builds, sends and records the presentation of the citizen's choice.
async fn present(
    wallet: &Wallet,
    citizen: &Citizen,
    headers: &HeaderMap,
    pending: &PendingPresentation,
    form: &ShareForm,
) -> Result<respond::Delivered, WalletError> {
    let items = pending
        .items
        .as_ref()
        .ok_or_else(|| WalletError::Refused("no document of yours answers this request".into()))?;
    let mut held_items = Vec::new();
    for (index, item) in items.iter().enumerate() {
        if item.optional && !form.documents.contains(&index.to_string()) {
            continue;
        }
        let held = wallet
            .store
            .held_credential(&citizen.account_id, &item.credential_id)
            .await?
            .ok_or(WalletError::NotFound)?;
        let standing = crate::status::refresh(wallet, &held).await;
        if !standing.presentable() {
            return Err(WalletError::Refused(format!(
                "this document is {} and cannot be shared",
                standing.as_str()
            )));
        }
        let dropped: Vec<String> = item
            .offered()
            .into_iter()
            .filter(|(claim, optional)| {
                *optional
                    && !form
                        .keep
                        .contains(&format!("{index}:{}", claim.id.clone().unwrap_or_default()))
            })
            .filter_map(|(claim, _)| claim.id.clone())
            .collect();
        let chosen = item.chosen(&dropped).ok_or_else(|| {
            WalletError::Refused("the request cannot be answered without those claims".into())
        })?;
        let disclose: Vec<_> = chosen.iter().flat_map(|c| c.disclose.clone()).collect();
        held_items.push((item.query_id.clone(), held, disclose));
    }
    if held_items.is_empty() {
        return Err(WalletError::Refused("nothing was chosen to share".into()));
    }
    let chosen: Vec<respond::Chosen<'_>> = held_items
        .iter()
        .map(|(query_id, held, disclose)| respond::Chosen {
            query_id,
            held,
            disclose: disclose.clone(),
        })
        .collect();
    let request = &pending.request;
    let vp_token = respond::vp_token(wallet, &citizen.account_id, request, &chosen).await?;
    let mut parameters = Map::new();
    parameters.insert("vp_token".into(), vp_token);
    let delivered = respond::post(wallet, request, parameters).await?;
    let shared: Vec<Value> = chosen
        .iter()
        .map(|c| {
            json!({
                "credential": c.held.id,
                "type": c.held.configuration_id,
                "issuer": c.held.credential_issuer,
                "claims": c.disclose.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })
        })
        .collect();
    wallet
        .sessions
        .record(
            citizen,
            headers,
            "wallet.presented",
            json!({
                "client_id": request.client_id,
                "relying_party": pending.party,
                "credentials": shared,
                "at": wallet.now(),
            }),
        )
        .await;
    Ok(delivered)
}

/// A form with only its anti-CSRF token.
#[derive(Debug, Deserialize)]
pub struct DeclineForm {
    csrf: String,
}

/// `POST /wallet/present/{id}/decline`: the verifier hears `access_denied`.
pub async fn decline(
    State(wallet): State<WalletState>,
    SignedIn(citizen): SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<DeclineForm>,
) -> Result<Response, WalletError> {
    wallet.check_csrf(&citizen, &form.csrf)?;
    let row = wallet
        .store
        .take_session_pending(
            &citizen.account_id,
            &citizen.session,
            KIND,
            &id,
            wallet.now(),
        )
        .await?
        .ok_or(WalletError::NotFound)?;
    let pending = pending_of(&row)?;
    let delivered = respond::decline(&wallet, &pending.request).await?;
    wallet
        .sessions
        .record(
            &citizen,
            &headers,
            "wallet.declined",
            json!({"client_id": pending.request.client_id, "relying_party": pending.party}),
        )
        .await;
    Ok(finish(delivered, "declined_notice"))
}
