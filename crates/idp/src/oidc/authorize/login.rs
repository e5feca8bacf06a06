//! The login stage: the login page and the password factor (the second factor, when the
//! account has a key, is [`crate::webauthn`]'s).

use axum::extract::{Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use llavero_store::Client;
use serde::Deserialize;
use serde_json::json;

use super::{Pending, Resume, StepQuery, pending};
use crate::accounts::LoginOutcome;
use crate::audit::{self, Origin};
use crate::error::IdpError;
use crate::extract::{CsrfForm, CsrfToken};
use crate::factors::Factor;
use crate::oidc::token::peer;
use crate::session::finish_login;
use crate::state::{Idp, IdpState};
use crate::web::pages::{Locale, allow_form_targets, run_error_key};
use crate::web::{CsrfSecret, RateClass, rate_limit};

/// What the login page shows besides the form.
#[derive(Default)]
struct LoginView<'a> {
    request: &'a str,
    client: Option<&'a Client>,
    run: &'a str,
    error: Option<&'a str>,
    /// A message key shown as a notice (the account was just activated).
    notice: Option<&'a str>,
}

fn login_page(
    idp: &Idp,
    status: StatusCode,
    locale: Locale,
    csrf: &CsrfSecret,
    view: &LoginView<'_>,
) -> Response {
    let mut response = idp.pages.render(
        status,
        "login.html",
        locale,
        json!({
            "csrf": csrf.form_token(idp),
            "request": view.request,
            "client_name": view.client.map(|c| c.name.clone()),
            "run": view.run,
            "error": view.error.map(|k| idp.pages.message(locale, k)),
            "notice": view.notice.map(|k| idp.pages.message(locale, k)),
        }),
    );
    if let Some(client) = view.client {
        allow_form_targets(
            &mut response,
            client.redirect_uris.iter().map(String::as_str),
        );
    }
    csrf.attach(idp, &mut response);
    response
}

/// A page of a relying party's flow: its forms may end in a redirect to the party's
/// registered redirect URIs (`form-action`).
fn flow_page(
    idp: &Idp,
    template: &str,
    locale: Locale,
    context: serde_json::Value,
    client: Option<&Client>,
) -> Response {
    let mut response = idp.pages.render(StatusCode::OK, template, locale, context);
    if let Some(client) = client {
        allow_form_targets(
            &mut response,
            client.redirect_uris.iter().map(String::as_str),
        );
    }
    response
}

/// `GET /login`.
pub async fn login_form(
    State(idp): State<IdpState>,
    headers: HeaderMap,
    Query(query): Query<StepQuery>,
) -> Result<Response, IdpError> {
    let csrf = CsrfSecret::from_request(&idp, &headers);
    if query.request.is_empty() {
        let view = LoginView {
            notice: query.activated.as_ref().map(|_| "activated"),
            ..LoginView::default()
        };
        return Ok(login_page(
            &idp,
            StatusCode::OK,
            Locale::choose(None, &headers),
            &csrf,
            &view,
        ));
    }
    let p = pending_or_page(&idp, &query.request, &csrf, &headers).await?;
    let locale = Locale::choose(p.params.ui_locales.as_deref(), &headers);
    let view = LoginView {
        request: &query.request,
        client: Some(&p.client),
        ..LoginView::default()
    };
    Ok(login_page(&idp, StatusCode::OK, locale, &csrf, &view))
}

/// The pending request `request` this browser may continue, or the error page that says it
/// cannot.
async fn pending_or_page(
    idp: &Idp,
    request: &str,
    csrf: &CsrfSecret,
    headers: &HeaderMap,
) -> Result<Pending, IdpError> {
    pending(idp, request, csrf).await?.ok_or_else(|| {
        IdpError::page(idp.pages.error(
            StatusCode::BAD_REQUEST,
            Locale::choose(None, headers),
            "error_request",
        ))
    })
}

impl CsrfToken for LoginForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    run: String,
    #[serde(default)]
    password: String,
}

/// `POST /login`: the password factor.
pub async fn login(
    State(idp): State<IdpState>,
    extensions: Extensions,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, IdpError> {
    let csrf = CsrfSecret::from_request(&idp, &headers);
    let mut locale = Locale::choose(None, &headers);
    rate_limit(&idp, RateClass::Login, &peer(&extensions)).await?;
    let pending = if form.request.is_empty() {
        None
    } else {
        Some(pending_or_page(&idp, &form.request, &csrf, &headers).await?)
    };
    if let Some(p) = &pending {
        locale = Locale::choose(p.params.ui_locales.as_deref(), &headers);
    }
    let client = pending.as_ref().map(|p| &p.client);
    let page = |status, error| {
        let view = LoginView {
            request: &form.request,
            client,
            run: &form.run,
            error: Some(error),
            notice: None,
        };
        login_page(&idp, status, locale, &csrf, &view)
    };
    let outcome = crate::accounts::authenticate(&idp, &form.run, &form.password)
        .await
        .map_err(IdpError::internal)?;
    let origin = Origin::of(&extensions, &headers);
    let client_id = client.map(|c| c.id.as_str());
    let account_id = match outcome {
        LoginOutcome::Success { account_id } => account_id,
        LoginOutcome::BadRun => {
            return Ok(page(StatusCode::BAD_REQUEST, run_error_key(&form.run)));
        }
        LoginOutcome::Failed { account_id } => {
            audit::record(
                &idp,
                &origin,
                "login.password",
                account_id.as_deref(),
                client_id,
                json!({"result": "failure"}),
            )
            .await;
            return Ok(page(StatusCode::UNAUTHORIZED, "bad_credentials"));
        }
        LoginOutcome::Locked => return Ok(page(StatusCode::FORBIDDEN, "locked")),
        LoginOutcome::Busy => {
            return Ok(crate::web::busy(&headers, |status| page(status, "busy")));
        }
        LoginOutcome::Wait { retry_after } => {
            return Ok(crate::web::with_retry_after(
                page(StatusCode::TOO_MANY_REQUESTS, "wait"),
                retry_after,
            ));
        }
    };
    audit::record(
        &idp,
        &origin,
        "login.password",
        Some(&account_id),
        client_id,
        json!({"result": "success"}),
    )
    .await;
    // With an authenticator enrolled, the password is only the first factor.
    let high = pending
        .as_ref()
        .is_some_and(|p| p.params.acr == crate::factors::ACR_HIGH);
    match crate::webauthn::second_factor(&idp, &csrf, &account_id, &form.request, high).await? {
        Some((ceremony, options)) => {
            let context = json!({"csrf": csrf.form_token(&idp), "ceremony": ceremony, "options": options.to_string()});
            let mut response = flow_page(&idp, "second_factor.html", locale, context, client);
            csrf.attach(&idp, &mut response);
            Ok(response)
        }
        None => {
            finish_login::<Resume>(
                &idp,
                &headers,
                &origin,
                account_id,
                &[Factor::Password],
                &form.request,
            )
            .await
        }
    }
}
