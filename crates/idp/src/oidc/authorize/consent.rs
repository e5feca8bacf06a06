//! The consent stage: what the relying party asks for, and the citizen's answer.

use axum::extract::{Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use llavero_store::Session;
use serde::Deserialize;
use serde_json::json;

use super::to_client;
use super::{Fresh, Pending, StepQuery, pending, proceed};
use crate::audit::{self, Origin};
use crate::session::current_session;
use crate::state::{Idp, IdpState};
use crate::web::pages::{Locale, allow_form_targets};
use crate::web::see_other;
use crate::web::{CsrfSecret, csrf_valid};

/// `GET /consent`.
pub async fn consent_form(
    State(idp): State<IdpState>,
    headers: HeaderMap,
    Query(query): Query<StepQuery>,
) -> Response {
    let csrf = CsrfSecret::from_request(&idp, &headers);
    let fallback = Locale::choose(None, &headers);
    let (p, _session) = match consent_context(&idp, &headers, &query.request, &csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let locale = Locale::choose(p.params.ui_locales.as_deref(), &headers);
    let _ = fallback;
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
    response
}

async fn consent_context(
    idp: &Idp,
    headers: &HeaderMap,
    request: &str,
    csrf: &CsrfSecret,
) -> Result<(Pending, Session), Response> {
    let locale = Locale::choose(None, headers);
    let p = match pending(idp, request, csrf).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return Err(idp
                .pages
                .error(StatusCode::BAD_REQUEST, locale, "error_request"));
        }
        Err(e) => return Err(crate::web::internal(&e)),
    };
    match current_session(idp, headers).await {
        Ok(Some(session)) => Ok((p, session)),
        Ok(None) => Err(see_other(&format!("/login?request={request}"))),
        Err(e) => Err(crate::web::internal(&e)),
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
    extensions: Extensions,
    headers: HeaderMap,
    axum::Form(form): axum::Form<ConsentForm>,
) -> Response {
    let csrf = CsrfSecret::from_request(&idp, &headers);
    if !csrf_valid(&idp, &headers, &form.csrf) {
        return idp.pages.error(
            StatusCode::FORBIDDEN,
            Locale::choose(None, &headers),
            "error_csrf",
        );
    }
    let (p, session) = match consent_context(&idp, &headers, &form.request, &csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let now = idp.now();
    let origin = Origin::of(&extensions, &headers);
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
        return to_client(
            &idp,
            &p.params,
            "access_denied",
            "the citizen did not consent",
        );
    }
    if let Err(e) = idp
        .store
        .put_consent(&session.account_id, &p.client.id, &p.params.scopes, now)
        .await
    {
        return crate::web::internal(&e);
    }
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
