//! The citizen's login session: the session behind the request's cookie, a new one when the
//! factors of a login are done, and where the browser goes then.
//!
//! Factor modules ([`crate::webauthn`], recovery codes) end a login here and hand the browser
//! to a [`Continuation`]: the authorization stage implements it, and the router wires it into
//! the factor handlers, so a factor never calls back into the authorization code (the layers
//! stay one way: `oidc::authorize` → `webauthn` → `session`).

use std::future::Future;

use axum::http::HeaderMap;
use axum::http::header::{SET_COOKIE, USER_AGENT};
use axum::response::{IntoResponse, Response};
use llavero_store::{NewSession, Session, hash_secret};
use serde_json::json;

use crate::audit::{self, Origin};
use crate::error::IdpError;
use crate::factors::{Factor, acr_for, amr_for};
use crate::state::Idp;
use crate::web::{CookieName, cookie, see_other, set_cookie};

/// The live session behind the request's cookie.
pub async fn current_session(
    idp: &Idp,
    headers: &HeaderMap,
) -> Result<Option<Session>, llavero_store::StoreError> {
    match cookie(idp, headers, CookieName::Session) {
        Some(value) => {
            idp.store
                .session(&hash_secret(&value), idp.session_limits(), idp.now())
                .await
        }
        None => Ok(None),
    }
}

/// Creates a session for `account_id` once its factors are complete: a new id at every login
/// (against session fixation); the session the browser had, if any, ends. Returns the session
/// and the cookie value.
pub async fn start_session(
    idp: &Idp,
    headers: &HeaderMap,
    account_id: String,
    factors: &[Factor],
) -> Result<(Session, String), llavero_store::StoreError> {
    let now = idp.now();
    let value = crate::random::token();
    let new = NewSession {
        id_hash: hash_secret(&value),
        handle: crate::random::id(),
        account_id,
        auth_time: now,
        acr: acr_for(factors).to_owned(),
        amr: amr_for(factors),
        user_agent: headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(200)
            .collect(),
        // A login with WebAuthn or a recovery code is itself a fresh confirmation for one
        // factor change (enrolling the new key after a recovery, typically).
        confirmed_at: factors
            .iter()
            .any(|f| matches!(f, Factor::WebAuthn { .. } | Factor::RecoveryCode))
            .then_some(now),
    };
    let old = cookie(idp, headers, CookieName::Session).map(|v| hash_secret(&v));
    idp.store.create_session(&new, old.as_deref(), now).await?;
    let session = Session {
        handle: new.handle,
        account_id: new.account_id,
        created_at: now,
        last_seen_at: now,
        auth_time: now,
        acr: new.acr,
        amr: new.amr,
        user_agent: new.user_agent,
    };
    Ok((session, value))
}
/// Where a finished login goes on: the pending authorization request the login was for.
pub trait Continuation: Send + Sync + 'static {
    /// The answer that continues pending request `request` for the new `session` (a redirect to
    /// the next stage or to the relying party).
    fn resume(
        idp: &Idp,
        headers: &HeaderMap,
        session: &Session,
        request: &str,
    ) -> impl Future<Output = Result<Response, IdpError>> + Send;
}

/// Once every factor is done: a new session, then the pending authorization request (or the
/// account page when the login was for no request), with the session cookie set. `Err` only
/// when the session cannot be stored.
pub async fn finish_login<C: Continuation>(
    idp: &Idp,
    headers: &HeaderMap,
    origin: &Origin,
    account_id: String,
    factors: &[Factor],
    request: &str,
) -> Result<Response, IdpError> {
    let (session, value) = start_session(idp, headers, account_id, factors).await?;
    let detail =
        json!({"result": "success", "acr": session.acr, "amr": session.amr, "sid": session.handle});
    audit::record(
        idp,
        origin,
        "session.started",
        Some(&session.account_id),
        None,
        detail,
    )
    .await;
    let mut response = if request.is_empty() {
        see_other("/account")
    } else {
        // A refusal of the request (back to the client with `error`) is where this login
        // goes on too: the session it made stays.
        C::resume(idp, headers, &session, request)
            .await
            .unwrap_or_else(IntoResponse::into_response)
    };
    response.headers_mut().append(
        SET_COOKIE,
        set_cookie(idp, CookieName::Session, &value, None),
    );
    Ok(response)
}
