//! The front channel: `/par`, `/authorize`, and the login and consent steps between them.
//!
//! A pending request lives in the database under a random id, bound to the browser that
//! continued it (a hash of its CSRF cookie), so any instance can serve any step and a link to
//! someone else's pending request leads nowhere. The login is a sequence of factors
//! ([`crate::factors`]); the request proceeds once the session reaches the `acr` it needs.

mod consent;
mod login;
mod request;

pub use consent::{ConsentForm, consent, consent_form};
pub use login::{LoginForm, login, login_form};
pub use request::{authorize, par};

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use llavero_store::{Client, IssuedCode, NewGrant, Session, hash_secret};
use serde::Deserialize;
use subtle::ConstantTimeEq as _;

use super::request::{AuthParams, error_redirect, join_query};
use crate::error::{ErrorCode, IdpError};
use crate::factors::acr_satisfies;
use crate::session::Continuation;
use crate::state::Idp;
use crate::web::CsrfSecret;
use crate::web::pages::Locale;
use crate::web::see_other;

/// Whether the citizen consented in this very request, so `prompt=consent` is satisfied once
/// rather than forever.
#[derive(Debug, Default, Clone, Copy)]
struct Fresh {
    consent: bool,
}

/// The authorization refused: back to the client's redirect URI with `error`.
fn to_client(idp: &Idp, params: &AuthParams, error: ErrorCode, description: &str) -> IdpError {
    IdpError::ToClient {
        location: error_redirect(
            &params.redirect_uri,
            params.state.as_deref(),
            &idp.config.issuer,
            error,
            description,
        ),
    }
}

/// Decides the next step of a pending request: log in, consent, or the code.
async fn proceed(
    idp: &Idp,
    id: &str,
    params: &AuthParams,
    client: &Client,
    session: Option<&Session>,
    fresh: Fresh,
) -> Result<Response, IdpError> {
    let now = idp.now();
    let prompt = |p: &str| params.prompt.iter().any(|x| x == p);
    let too_old = |s: &Session| params.max_age.is_some_and(|max| now - s.auth_time > max);
    // A login during this request satisfies prompt=login and max_age.
    let logged_in_now = |s: &Session| {
        s.created_at >= params.requested_at
            && params.prior_session.as_deref() != Some(s.handle.as_str())
    };
    let session = session.filter(|s| logged_in_now(s) || (!prompt("login") && !too_old(s)));
    let Some(session) = session else {
        if prompt("none") {
            let _ = idp.store.consume_authorization_request(id, now).await;
            return Err(to_client(
                idp,
                params,
                ErrorCode::LoginRequired,
                "the citizen is not logged in",
            ));
        }
        return Ok(see_other(&format!("/login?request={id}")));
    };
    if idp.config.require_enrolment
        && session.acr == crate::factors::ACR_LOW
        && idp
            .store
            .webauthn_credentials(&session.account_id)
            .await?
            .is_empty()
    {
        // The key registered now finishes this login: the registration returns here.
        crate::webauthn::return_after_enrolment(idp, session, id).await?;
        return Ok(see_other("/account?enrol=required"));
    }
    if !acr_satisfies(&session.acr, &params.acr) {
        // Step-up: a session from before this request logs in again (with every factor the
        // account has); one made for this request that still falls short cannot be served.
        if logged_in_now(session) || prompt("none") {
            let _ = idp.store.consume_authorization_request(id, now).await;
            return Err(to_client(
                idp,
                params,
                ErrorCode::AccessDenied,
                "the required authentication level was not reached",
            ));
        }
        return Ok(see_other(&format!("/login?request={id}")));
    }
    let consented = idp.store.consent(&session.account_id, &client.id).await?;
    let covered = consented.is_some_and(|c| params.scopes.iter().all(|s| c.contains(s)));
    if !fresh.consent && (!covered || prompt("consent")) {
        if prompt("none") {
            let _ = idp.store.consume_authorization_request(id, now).await;
            return Err(to_client(
                idp,
                params,
                ErrorCode::ConsentRequired,
                "the citizen has not consented",
            ));
        }
        return Ok(see_other(&format!("/consent?request={id}")));
    }
    issue_code(idp, id, params, session).await
}

async fn issue_code(
    idp: &Idp,
    id: &str,
    params: &AuthParams,
    session: &Session,
) -> Result<Response, IdpError> {
    let now = idp.now();
    let grant = NewGrant {
        id: crate::random::id(),
        account_id: session.account_id.clone(),
        client_id: params.client_id.clone(),
        session_handle: session.handle.clone(),
        scope: params.scopes.join(" "),
        auth_time: session.auth_time,
        acr: session.acr.clone(),
        amr: session.amr.clone(),
    };
    let code = crate::random::token();
    let issued = IssuedCode {
        grant: grant.clone(),
        redirect_uri: params.redirect_uri.clone(),
        code_challenge: params.code_challenge.clone(),
        nonce: params.nonce.clone(),
        expires_at: now + idp.config.code_secs,
    };
    let issued_now = idp
        .store
        .issue_code(id, &grant, &hash_secret(&code), &issued, now)
        .await?;
    if !issued_now {
        return Err(IdpError::page(idp.pages.error(
            StatusCode::BAD_REQUEST,
            Locale::choose(params.ui_locales.as_deref(), &HeaderMap::new()),
            "error_request",
        )));
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("code", &code);
    if let Some(state) = &params.state {
        query.append_pair("state", state);
    }
    query.append_pair("iss", &idp.config.issuer);
    Ok(see_other(&join_query(
        &params.redirect_uri,
        &query.finish(),
    )))
}

/// A pending request this browser may continue.
struct Pending {
    params: AuthParams,
    client: Client,
}

async fn pending(
    idp: &Idp,
    id: &str,
    csrf: &CsrfSecret,
) -> Result<Option<Pending>, llavero_store::StoreError> {
    let Some(request) = idp.store.authorization_request(id, idp.now()).await? else {
        return Ok(None);
    };
    let Ok(params) = serde_json::from_value::<AuthParams>(request.params) else {
        return Ok(None);
    };
    let bound = params
        .browser
        .as_deref()
        .is_some_and(|b| bool::from(b.as_bytes().ct_eq(csrf.browser_binding().as_bytes())));
    if !bound {
        return Ok(None);
    }
    let Some(client) = idp.client(&request.client_id).await? else {
        return Ok(None);
    };
    Ok(Some(Pending { params, client }))
}

/// Query of the login and consent pages.
#[derive(Debug, Deserialize)]
pub struct StepQuery {
    #[serde(default)]
    request: String,
    /// Set by the activation page's redirect: the login page says the account is ready.
    #[serde(default)]
    activated: Option<String>,
}

/// The authorization stage as the [`Continuation`] of a login: the pending request this browser
/// started goes on to its next stage (the account page if there is none any more).
#[derive(Debug, Clone, Copy)]
pub struct Resume;

impl Continuation for Resume {
    async fn resume(
        idp: &Idp,
        headers: &HeaderMap,
        session: &Session,
        request: &str,
    ) -> Result<Response, IdpError> {
        let csrf = CsrfSecret::from_request(idp, headers);
        match pending(idp, request, &csrf).await.ok().flatten() {
            Some(p) => {
                proceed(
                    idp,
                    request,
                    &p.params,
                    &p.client,
                    Some(session),
                    Fresh::default(),
                )
                .await
            }
            None => Ok(see_other("/account")),
        }
    }
}
