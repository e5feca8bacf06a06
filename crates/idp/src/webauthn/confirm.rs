//! Confirmation: an assertion with one of the account's keys before a factor change.

use axum::Json;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use webauthn_rs::prelude::PublicKeyCredential;

use super::login::verify_assertion;
use super::{CeremonyRequest, begin, checked, passkeys, problem, session_ceremony};
use crate::audit::{self, Origin};
use crate::session::current_session;
use crate::state::IdpState;

/// `POST /account/confirm/start`: a WebAuthn challenge over the account's own keys, to confirm
/// the citizen before a factor change.
pub async fn confirm_start(
    State(idp): State<IdpState>,
    headers: HeaderMap,
    Json(body): Json<CeremonyRequest>,
) -> Response {
    let rp = match checked(&idp, &headers, &body.csrf) {
        Ok(rp) => rp,
        Err(r) => return r,
    };
    let Ok(Some(session)) = current_session(&idp, &headers).await else {
        return problem(StatusCode::UNAUTHORIZED, "login required");
    };
    let credentials = match idp.store.webauthn_credentials(&session.account_id).await {
        Ok(found) => found,
        Err(e) => return crate::web::internal(&e),
    };
    let passkeys = passkeys(&credentials);
    if passkeys.is_empty() {
        return problem(
            StatusCode::BAD_REQUEST,
            "this account has no key to confirm with",
        );
    }
    let (options, state) = match rp.start_passkey_authentication(&passkeys) {
        Ok(started) => started,
        Err(e) => return crate::web::internal(&e),
    };
    let account = Some(session.account_id.clone());
    match begin(&idp, "confirm", session.handle, account, &state, json!({})).await {
        Ok(ceremony) => Json(json!({"ceremony": ceremony, "options": options})).into_response(),
        Err(r) => r,
    }
}

/// `POST /account/confirm/finish`: verifies the assertion (this session's ceremony, one of
/// the account's keys; counter and clone checks as at login) and records the confirmation.
pub async fn confirm_finish(
    State(idp): State<IdpState>,
    extensions: Extensions,
    headers: HeaderMap,
    Json(body): Json<CeremonyRequest>,
) -> Response {
    let (rp, session, ceremony) = match session_ceremony(&idp, &headers, &body, "confirm").await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let now = idp.now();
    let Ok(assertion) = serde_json::from_value::<PublicKeyCredential>(body.credential) else {
        return problem(StatusCode::BAD_REQUEST, "malformed credential");
    };
    let origin = Origin::of(&extensions, &headers);
    if let Err(r) = verify_assertion(
        &idp,
        rp,
        &origin,
        &ceremony,
        &assertion,
        &session.account_id,
    )
    .await
    {
        return r;
    }
    if let Err(e) = idp.store.confirm_session(&session.handle, now).await {
        return crate::web::internal(&e);
    }
    let detail = json!({"action": "confirmed", "method": "webauthn"});
    audit::record(
        &idp,
        &origin,
        "factor",
        Some(&session.account_id),
        None,
        detail,
    )
    .await;
    Json(json!({"redirect": "/account?confirmed=1"})).into_response()
}
