//! WebAuthn (security keys and passkeys) with `webauthn-rs`: enrolment from the account page,
//! the second factor after the password, and passkey-only login with user verification.
//!
//! Ceremony state is serialized into the database (single use, expiring with the ceremony
//! timeout) and bound to the session (enrolment) or the browser (login) that started it, so any
//! instance can finish it. Endpoints speak JSON to the page's script; the form's CSRF token
//! travels in the body.

mod confirm;
mod keys;
mod login;
mod recovery;
mod register;

pub use confirm::{confirm_finish, confirm_start};
pub use keys::{RemoveForm, RenameForm, key_rows, remove, rename};
pub use login::{login_finish, passkey_start, second_factor};
pub use recovery::{RecoveryForm, new_recovery_codes, recovery_login};
pub use register::{register_finish, register_start, return_after_enrolment};

pub use crate::relying_party::from_config as relying_party;

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use llavero_store::{Ceremony, Session, WebauthnCredential};
use serde::Deserialize;
use serde_json::{Value, json};
use webauthn_rs::prelude::{Passkey, Webauthn};

use crate::audit::{self, Origin};
use crate::error::{CeremonyError, IdpError};
use crate::session::current_session;
use crate::state::{Idp, IdpState};
use crate::web::csrf_valid;

/// How long a ceremony may take (the WebAuthn recommended timeout).
pub const CEREMONY_SECS: i64 = 300;

/// Enrolling the first authenticator needs a login at most this old (the citizen logs in again
/// otherwise): with no key yet, the password is the strongest confirmation there is.
pub const FRESH_LOGIN_SECS: i64 = 600;

/// A confirmation (a WebAuthn assertion on the account page, or a login with WebAuthn or a
/// recovery code) allows one factor change within this time.
pub const CONFIRMATION_SECS: i64 = 300;

/// Whether session `session` may change a factor now, spending its confirmation if so. An
/// account with authenticators needs a fresh confirmation for each change; one without any
/// (first enrolment) a recent login.
async fn may_change_factors(
    idp: &Idp,
    session: &llavero_store::Session,
) -> Result<bool, llavero_store::StoreError> {
    let now = idp.now();
    if idp
        .store
        .webauthn_credentials(&session.account_id)
        .await?
        .is_empty()
    {
        return Ok(now - session.auth_time <= FRESH_LOGIN_SECS);
    }
    idp.store
        .spend_confirmation(&session.handle, now - CONFIRMATION_SECS)
        .await
}

fn credential_id(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A ceremony call from the page's script: WebAuthn is configured (404 otherwise) and the
/// body's CSRF token is this browser's (403 otherwise).
pub struct CeremonyCall {
    /// The relying party.
    pub(super) rp: Arc<Webauthn>,
    /// The request.
    pub(super) body: CeremonyRequest,
}

impl FromRequest<IdpState> for CeremonyCall {
    type Rejection = IdpError;

    async fn from_request(request: Request, idp: &IdpState) -> Result<Self, IdpError> {
        let headers = request.headers().clone();
        let Json(body) = Json::<CeremonyRequest>::from_request(request, idp).await?;
        let rp = idp.webauthn.clone().ok_or(CeremonyError::NotConfigured)?;
        if !csrf_valid(idp, &headers, &body.csrf) {
            return Err(CeremonyError::Csrf.into());
        }
        Ok(Self { rp, body })
    }
}

/// A ceremony of the account page: a [`CeremonyCall`] by a signed-in citizen (401
/// otherwise).
pub struct AccountCeremonyCall {
    /// The relying party.
    pub(super) rp: Arc<Webauthn>,
    /// The citizen's session.
    pub(super) session: Session,
    /// The request.
    pub(super) body: CeremonyRequest,
}

impl FromRequest<IdpState> for AccountCeremonyCall {
    type Rejection = IdpError;

    async fn from_request(request: Request, idp: &IdpState) -> Result<Self, IdpError> {
        let headers = request.headers().clone();
        let CeremonyCall { rp, body } = CeremonyCall::from_request(request, idp).await?;
        let session = current_session(idp, &headers)
            .await
            .ok()
            .flatten()
            .ok_or(CeremonyError::LoginRequired)?;
        Ok(Self { rp, session, body })
    }
}

impl std::fmt::Debug for CeremonyCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CeremonyCall")
            .field("ceremony", &self.body.ceremony)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for AccountCeremonyCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountCeremonyCall")
            .field("ceremony", &self.body.ceremony)
            .finish_non_exhaustive()
    }
}

/// Records a change to the account's factors (a key added, removed, renamed, refused; a
/// confirmation; new recovery codes) in the audit trail.
async fn record_factor(idp: &Idp, origin: &Origin, account_id: &str, detail: Value) {
    audit::record(idp, origin, "factor", Some(account_id), None, detail).await;
}

/// The JSON bodies of the ceremony endpoints.
#[derive(Debug, Deserialize)]
pub struct CeremonyRequest {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    credential: Value,
}

/// The stored credentials as `webauthn-rs` passkeys (a row that does not parse is skipped: it
/// cannot answer a ceremony).
fn passkeys(credentials: &[WebauthnCredential]) -> Vec<Passkey> {
    credentials
        .iter()
        .filter_map(|c| serde_json::from_str(&c.passkey).ok())
        .collect()
}

/// Stores a new ceremony's state; returns its id.
async fn begin(
    idp: &Idp,
    kind: &str,
    binding: String,
    account_id: Option<String>,
    state: &impl serde::Serialize,
    context: Value,
) -> Result<String, IdpError> {
    let state = serde_json::to_string(state).map_err(IdpError::internal)?;
    let ceremony = Ceremony {
        id: crate::random::token(),
        kind: kind.to_owned(),
        binding,
        account_id,
        state,
        context,
        expires_at: idp.now() + CEREMONY_SECS,
    };
    idp.store.put_ceremony(&ceremony).await?;
    Ok(ceremony.id)
}

/// The account-page ceremony `id` of `kind` that `session` started (single use, unexpired;
/// taken here).
async fn session_ceremony(
    idp: &Idp,
    session: &Session,
    id: &str,
    kind: &str,
) -> Result<Ceremony, IdpError> {
    idp.store
        .take_ceremony(id, kind, &session.handle, idp.now())
        .await?
        .ok_or_else(|| CeremonyError::UnknownCeremony.into())
}

/// Whether a stored credential's attestation is on the allow-list as configured now.
fn attested_now(idp: &Idp, credential: &WebauthnCredential) -> bool {
    match (&idp.config.webauthn_attestation, &credential.attestation) {
        (Some(policy), Some(attestation)) => policy.allows(attestation),
        _ => false,
    }
}

/// Turns the 303 the login flow answers into `{"redirect": …}` for the page's script, keeping
/// the session cookie.
fn as_json_redirect(response: Response, mut body: Value) -> Response {
    if response.status() != StatusCode::SEE_OTHER {
        return response;
    }
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("/account")
        .to_owned();
    let cookies: Vec<_> = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    if let Some(members) = body.as_object_mut() {
        members.insert("redirect".into(), json!(location));
    } else {
        body = json!({"redirect": location});
    }
    let mut json = Json(body).into_response();
    for cookie in cookies {
        json.headers_mut().append(SET_COOKIE, cookie);
    }
    json
}

/// `GET /static/webauthn.js`.
pub async fn script() -> Response {
    let mut response = include_str!("../../static/webauthn.js").into_response();
    crate::web::pages::secure_headers(response.headers_mut(), "text/javascript; charset=utf-8");
    response
}

/// Points a redirect elsewhere, keeping its cookies.
fn with_location(mut response: Response, location: &'static str) -> Response {
    if response.status() == StatusCode::SEE_OTHER {
        response
            .headers_mut()
            .insert(LOCATION, axum::http::HeaderValue::from_static(location));
    }
    response
}
