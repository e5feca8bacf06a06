//! Confirmation: an assertion with one of the account's keys before a factor change.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use webauthn_rs::prelude::PublicKeyCredential;

use super::login::verify_assertion;
use super::{AccountCeremonyCall, begin, passkeys, record_factor, session_ceremony};
use crate::error::{CeremonyError, IdpError};
use crate::extract::RequestOrigin;
use crate::state::IdpState;

/// `POST /account/confirm/start`: a WebAuthn challenge over the account's own keys, to confirm
/// the citizen before a factor change.
pub async fn confirm_start(
    State(idp): State<IdpState>,
    AccountCeremonyCall { rp, session, .. }: AccountCeremonyCall,
) -> Result<Json<Value>, IdpError> {
    let credentials = idp.store.webauthn_credentials(&session.account_id).await?;
    let passkeys = passkeys(&credentials);
    if passkeys.is_empty() {
        return Err(CeremonyError::NoKeyToConfirm.into());
    }
    let (options, state) = rp
        .start_passkey_authentication(&passkeys)
        .map_err(IdpError::internal)?;
    let account = Some(session.account_id.clone());
    let ceremony = begin(&idp, "confirm", session.handle, account, &state, json!({})).await?;
    Ok(Json(json!({"ceremony": ceremony, "options": options})))
}

/// `POST /account/confirm/finish`: verifies the assertion (this session's ceremony, one of
/// the account's keys; counter and clone checks as at login) and records the confirmation.
pub async fn confirm_finish(
    State(idp): State<IdpState>,
    RequestOrigin(origin): RequestOrigin,
    AccountCeremonyCall { rp, session, body }: AccountCeremonyCall,
) -> Result<Json<Value>, IdpError> {
    let ceremony = session_ceremony(&idp, &session, &body.ceremony, "confirm").await?;
    let now = idp.now();
    let assertion = serde_json::from_value::<PublicKeyCredential>(body.credential)
        .map_err(|_| CeremonyError::MalformedCredential)?;
    verify_assertion(
        &idp,
        &rp,
        &origin,
        &ceremony,
        &assertion,
        &session.account_id,
    )
    .await?;
    idp.store.confirm_session(&session.handle, now).await?;
    let detail = json!({"action": "confirmed", "method": "webauthn"});
    record_factor(&idp, &origin, &session.account_id, detail).await;
    Ok(Json(json!({"redirect": "/account?confirmed=1"})))
}
