//! Recovery codes: generating them, and logging in with one instead of the key.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::keys::{RemoveForm, fresh_confirmation};
use super::record_factor;
use super::with_location;
use crate::audit;
use crate::error::IdpError;
use crate::extract::{CsrfForm, CsrfToken, RequestOrigin, SignedIn};
use crate::factors::Factor;
use crate::session::{Continuation, finish_login};
use crate::state::IdpState;
use crate::web::CsrfSecret;

/// `POST /account/recovery-codes`: ten new one-time recovery codes (replacing earlier ones),
/// shown once and stored hashed.
pub async fn new_recovery_codes(
    State(idp): State<IdpState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    CsrfForm(_form): CsrfForm<RemoveForm>,
) -> Result<Response, IdpError> {
    let locale = crate::web::pages::Locale::choose(None, &headers);
    fresh_confirmation(&idp, &session, locale).await?;
    let codes: Vec<String> = (0..10).map(|_| crate::random::activation_code()).collect();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| llavero_store::hash_secret(&crate::random::normalize_code(c)))
        .collect();
    idp.store
        .replace_recovery_codes(&session.account_id, &hashes, idp.now())
        .await?;
    let detail = json!({"action": "recovery codes generated"});
    record_factor(&idp, &origin, &session.account_id, detail).await;
    Ok(idp.pages.render(
        StatusCode::OK,
        "recovery_codes.html",
        locale,
        json!({"codes": codes}),
    ))
}

/// The recovery form on the second-factor page.
#[derive(Debug, Deserialize)]
pub struct RecoveryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    code: String,
}

impl CsrfToken for RecoveryForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /login/recovery`: instead of the authenticator, a recovery code. The session reaches
/// only the low level and goes to the account page to enrol a new authenticator.
pub async fn recovery_login<C: Continuation>(
    State(idp): State<IdpState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<RecoveryForm>,
) -> Result<Response, IdpError> {
    let locale = crate::web::pages::Locale::choose(None, &headers);
    let unknown = || {
        IdpError::page(
            idp.pages
                .error(StatusCode::BAD_REQUEST, locale, "error_request"),
        )
    };
    let binding = CsrfSecret::from_request(&idp, &headers).browser_binding();
    let ceremony = idp
        .store
        .take_ceremony(&form.ceremony, "second_factor", &binding, idp.now())
        .await?
        .ok_or_else(unknown)?;
    let account_id = ceremony.account_id.ok_or_else(unknown)?;
    let code_hash = llavero_store::hash_secret(&crate::random::normalize_code(&form.code));
    let used = idp
        .store
        .use_recovery_code(&account_id, &code_hash, idp.now())
        .await?;
    let result = if used { "success" } else { "failure" };
    audit::record(
        &idp,
        &origin,
        "login.recovery_code",
        Some(&account_id),
        None,
        json!({"result": result}),
    )
    .await;
    if !used {
        return Ok(idp
            .pages
            .error(StatusCode::UNAUTHORIZED, locale, "bad_recovery_code"));
    }
    let response = finish_login::<C>(
        &idp,
        &headers,
        &origin,
        account_id,
        &[Factor::Password, Factor::RecoveryCode],
        "",
    )
    .await?;
    Ok(with_location(response, "/account?enrol=1"))
}
