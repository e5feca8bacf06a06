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
pub use register::{register_finish, register_start};

use axum::Json;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use llavero_store::{Ceremony, WebauthnCredential};
use serde::Deserialize;
use serde_json::{Value, json};
use webauthn_rs::prelude::{Passkey, Url, Webauthn, WebauthnBuilder};

use crate::session::current_session;
use crate::state::Idp;
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

/// The relying party from the configuration: RP id and origins as configured, by default the
/// issuer's host and the issuer.
pub fn relying_party(config: &crate::IdpConfig) -> Result<Webauthn, String> {
    let issuer = Url::parse(&config.issuer).map_err(|e| e.to_string())?;
    let origins = if config.webauthn_origins.is_empty() {
        vec![issuer.clone()]
    } else {
        config
            .webauthn_origins
            .iter()
            .map(|o| Url::parse(o).map_err(|e| format!("{o}: {e}")))
            .collect::<Result<_, _>>()?
    };
    let rp_id = match &config.webauthn_rp_id {
        Some(id) => id.clone(),
        None => issuer
            .host_str()
            .ok_or("the issuer has no host")?
            .to_owned(),
    };
    let (first, rest) = origins.split_first().ok_or("no WebAuthn origin")?;
    let mut builder = WebauthnBuilder::new(&rp_id, first)
        .map_err(|e| e.to_string())?
        .rp_name("Llavero");
    for origin in rest {
        builder = builder.append_allowed_origin(origin);
    }
    builder.build().map_err(|e| e.to_string())
}

fn credential_id(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn problem(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"error": error}))).into_response()
}

/// What every ceremony endpoint checks first: WebAuthn is configured and the CSRF token is
/// this browser's.
#[allow(clippy::result_large_err)] // the error is the answer itself, sent at once
fn checked<'a>(idp: &'a Idp, headers: &HeaderMap, csrf: &str) -> Result<&'a Webauthn, Response> {
    let rp = idp.webauthn.as_ref().ok_or_else(not_configured)?;
    if !csrf_valid(idp, headers, csrf) {
        return Err(problem(StatusCode::FORBIDDEN, "csrf"));
    }
    Ok(rp)
}

fn not_configured() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "webauthn is not configured for this issuer",
    )
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
) -> Result<String, Response> {
    let state = serde_json::to_string(state).map_err(|e| crate::web::internal(&e))?;
    let ceremony = Ceremony {
        id: crate::random::token(),
        kind: kind.to_owned(),
        binding,
        account_id,
        state,
        context,
        expires_at: idp.now() + CEREMONY_SECS,
    };
    idp.store
        .put_ceremony(&ceremony)
        .await
        .map_err(|e| crate::web::internal(&e))?;
    Ok(ceremony.id)
}

/// What finishing an account-page ceremony of `kind` checks first: the CSRF token, a live
/// session, and that the ceremony is this session's (single use, unexpired; taken here). `Err`
/// is the answer.
async fn session_ceremony<'a>(
    idp: &'a Idp,
    headers: &HeaderMap,
    body: &CeremonyRequest,
    kind: &str,
) -> Result<(&'a Webauthn, llavero_store::Session, Ceremony), Response> {
    let rp = checked(idp, headers, &body.csrf)?;
    let Ok(Some(session)) = current_session(idp, headers).await else {
        return Err(problem(StatusCode::UNAUTHORIZED, "login required"));
    };
    match idp
        .store
        .take_ceremony(&body.ceremony, kind, &session.handle, idp.now())
        .await
    {
        Ok(Some(ceremony)) => Ok((rp, session, ceremony)),
        Ok(None) => Err(problem(
            StatusCode::BAD_REQUEST,
            "unknown, used or expired ceremony",
        )),
        Err(e) => Err(crate::web::internal(&e)),
    }
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
fn as_json_redirect(response: Response) -> Response {
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
    let mut json = Json(json!({"redirect": location})).into_response();
    for cookie in cookies {
        json.headers_mut().append(SET_COOKIE, cookie);
    }
    json
}

/// Answer to a factor change without a fresh confirmation.
const CONFIRM_FIRST: &str = "confirm with one of your keys first (or log in again)";

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
