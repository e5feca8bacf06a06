//! Recovery codes: generating them, and logging in with one instead of the key.

use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::keys::{RemoveForm, key_change_session};
use super::with_location;
use crate::audit::{self, Origin};
use crate::factors::Factor;
use crate::session::{Continuation, finish_login};
use crate::state::IdpState;
use crate::web::{CsrfSecret, csrf_valid};

/// `POST /account/recovery-codes`: ten new one-time recovery codes (replacing earlier ones),
/// shown once and stored hashed.
pub async fn new_recovery_codes(
    State(idp): State<IdpState>,
    extensions: Extensions,
    headers: HeaderMap,
    axum::Form(form): axum::Form<RemoveForm>,
) -> Response {
    let locale = crate::web::pages::Locale::choose(None, &headers);
    let session = match key_change_session(&idp, &headers, &form.csrf, locale).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let codes: Vec<String> = (0..10).map(|_| crate::random::activation_code()).collect();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| llavero_store::hash_secret(&crate::random::normalize_code(c)))
        .collect();
    if let Err(e) = idp
        .store
        .replace_recovery_codes(&session.account_id, &hashes, idp.now())
        .await
    {
        return crate::web::internal(&e);
    }
    let detail = json!({"action": "recovery codes generated"});
    audit::record(
        &idp,
        &Origin::of(&extensions, &headers),
        "factor",
        Some(&session.account_id),
        None,
        detail,
    )
    .await;
    idp.pages.render(
        StatusCode::OK,
        "recovery_codes.html",
        locale,
        json!({"codes": codes}),
    )
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

/// `POST /login/recovery`: instead of the authenticator, a recovery code. The session reaches
/// only the low level and goes to the account page to enrol a new authenticator.
pub async fn recovery_login<C: Continuation>(
    State(idp): State<IdpState>,
    extensions: Extensions,
    headers: HeaderMap,
    axum::Form(form): axum::Form<RecoveryForm>,
) -> Response {
    let locale = crate::web::pages::Locale::choose(None, &headers);
    if !csrf_valid(&idp, &headers, &form.csrf) {
        return idp.pages.error(StatusCode::FORBIDDEN, locale, "error_csrf");
    }
    let binding = CsrfSecret::from_request(&idp, &headers).browser_binding();
    let ceremony = match idp
        .store
        .take_ceremony(&form.ceremony, "second_factor", &binding, idp.now())
        .await
    {
        Ok(Some(c)) => c,
        Ok(None) => {
            return idp
                .pages
                .error(StatusCode::BAD_REQUEST, locale, "error_request");
        }
        Err(e) => return crate::web::internal(&e),
    };
    let Some(account_id) = ceremony.account_id else {
        return idp
            .pages
            .error(StatusCode::BAD_REQUEST, locale, "error_request");
    };
    let origin = Origin::of(&extensions, &headers);
    let code_hash = llavero_store::hash_secret(&crate::random::normalize_code(&form.code));
    match idp
        .store
        .use_recovery_code(&account_id, &code_hash, idp.now())
        .await
    {
        Ok(true) => {
            audit::record(
                &idp,
                &origin,
                "login.recovery_code",
                Some(&account_id),
                None,
                json!({"result": "success"}),
            )
            .await;
            let response = finish_login::<C>(
                &idp,
                &headers,
                &origin,
                account_id,
                &[Factor::Password, Factor::RecoveryCode],
                "",
            )
            .await;
            with_location(response, "/account?enrol=1")
        }
        Ok(false) => {
            audit::record(
                &idp,
                &origin,
                "login.recovery_code",
                Some(&account_id),
                None,
                json!({"result": "failure"}),
            )
            .await;
            idp.pages
                .error(StatusCode::UNAUTHORIZED, locale, "bad_recovery_code")
        }
        Err(e) => crate::web::internal(&e),
    }
}
