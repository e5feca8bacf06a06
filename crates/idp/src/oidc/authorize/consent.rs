//! The consent stage: what the relying party asks for, and the citizen's answer.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use llavero_store::Session;
use serde::Deserialize;
use serde_json::json;

use super::to_client;
use super::{Fresh, Pending, StepQuery, pending, proceed};
use crate::audit;
use crate::error::{ErrorCode, IdpError};
use crate::extract::{CsrfForm, CsrfToken, RequestOrigin};
use crate::session::current_session;
use crate::state::{Idp, IdpState};
use crate::web::CsrfSecret;
use crate::web::pages::{Locale, allow_form_targets};

/// `GET /consent`.
pub async fn consent_form(
    State(idp): State<IdpState>,
    headers: HeaderMap,
    Query(query): Query<StepQuery>,
) -> Result<Response, IdpError> {
    let csrf = CsrfSecret::from_request(&idp, &headers);
    let (p, _session) = consent_context(&idp, &headers, &query.request, &csrf).await?;
    let locale = Locale::choose(p.params.ui_locales.as_deref(), &headers);
    let items: Vec<String> = p
        .params
        .scopes
        .iter()
        .map(|s| {
            if crate::oidc::credentials::is_identity_scope(s) {
                idp.pages.message(locale, &format!("scope_{s}"))
            } else {
                let id = s
                    .strip_prefix(crate::oidc::credentials::DETAILS_PREFIX)
                    .unwrap_or(s);
                idp.pages
                    .message(locale, "scope_credential")
                    .replace("{}", id)
            }
        })
        .collect();
    let mut response = idp.pages.render(
        StatusCode::OK,
        "consent.html",
        locale,
        json!({"csrf": csrf.form_token(&idp), "request": query.request, "client_name": p.client.name, "items": items}),
    );
    allow_form_targets(
        &mut response,
        p.client.redirect_uris.iter().map(String::as_str),
    );
    csrf.attach(&idp, &mut response);
    Ok(response)
}

/// What both consent steps need: the pending request this browser may continue (an error
/// page if there is none) and a signed-in citizen (the login page for the request if not).
async fn consent_context(
    idp: &Idp,
    headers: &HeaderMap,
    request: &str,
    csrf: &CsrfSecret,
) -> Result<(Pending, Session), IdpError> {
    let Some(p) = pending(idp, request, csrf).await? else {
        let locale = Locale::choose(None, headers);
        return Err(IdpError::page(idp.pages.error(
            StatusCode::BAD_REQUEST,
            locale,
            "error_request",
        )));
    };
    let session = current_session(idp, headers)
        .await?
        .ok_or_else(|| IdpError::SignInFirst {
            location: format!("/login?request={request}"),
        })?;
    Ok((p, session))
}

impl CsrfToken for ConsentForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The consent form's fields.
#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    decision: String,
}

/// `POST /consent`.
pub async fn consent(
    State(idp): State<IdpState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<ConsentForm>,
) -> Result<Response, IdpError> {
    let csrf = CsrfSecret::from_request(&idp, &headers);
    let (p, session) = consent_context(&idp, &headers, &form.request, &csrf).await?;
    let now = idp.now();
    let allowed = form.decision == "allow";
    let detail =
        json!({"scopes": p.params.scopes, "result": if allowed { "given" } else { "denied" }});
    audit::record(
        &idp,
        &origin,
        "consent",
        Some(&session.account_id),
        Some(&p.client.id),
        detail,
    )
    .await;
    if !allowed {
        let _ = idp
            .store
            .consume_authorization_request(&form.request, now)
            .await;
        return Err(to_client(
            &idp,
            &p.params,
            ErrorCode::AccessDenied,
            "the citizen did not consent",
        ));
    }
    idp.store
        .put_consent(&session.account_id, &p.client.id, &p.params.scopes, now)
        .await?;
    proceed(
        &idp,
        &form.request,
        &p.params,
        &p.client,
        Some(&session),
        Fresh { consent: true },
    )
    .await
}
