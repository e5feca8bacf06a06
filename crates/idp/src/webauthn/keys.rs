//! The account's keys: the rows the account page shows, removing and renaming.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use llavero_store::WebauthnCredential;
use serde::Deserialize;
use serde_json::{Value, json};

use super::may_change_factors;
use super::record_factor;
use crate::error::IdpError;
use crate::extract::{CsrfForm, CsrfToken, RequestOrigin, SignedIn};
use crate::state::{Idp, IdpState};
use crate::web::see_other;

/// What every key-changing form checks after the CSRF token and the session: a fresh
/// confirmation, which it spends (see [`may_change_factors`]).
pub(super) async fn fresh_confirmation(
    idp: &Idp,
    session: &llavero_store::Session,
    locale: crate::web::pages::Locale,
) -> Result<(), IdpError> {
    if may_change_factors(idp, session).await? {
        Ok(())
    } else {
        Err(IdpError::page(idp.pages.error(
            StatusCode::FORBIDDEN,
            locale,
            "reauth_needed",
        )))
    }
}

impl CsrfToken for RemoveForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl CsrfToken for RenameForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The remove form.
#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    pub(super) csrf: String,
    #[serde(default)]
    credential: String,
}

/// `POST /account/webauthn/remove`: removes an authenticator, never the last one.
pub async fn remove(
    State(idp): State<IdpState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    CsrfForm(form): CsrfForm<RemoveForm>,
) -> Result<Response, IdpError> {
    let locale = crate::web::pages::Locale::choose(None, &headers);
    fresh_confirmation(&idp, &session, locale).await?;
    let removed = idp
        .store
        .remove_webauthn_credential(&session.account_id, &form.credential)
        .await?;
    if !removed {
        return Err(IdpError::page(idp.pages.error(
            StatusCode::BAD_REQUEST,
            locale,
            "key_last",
        )));
    }
    let detail = json!({"action": "removed"});
    record_factor(&idp, &origin, &session.account_id, detail).await;
    Ok(see_other("/account?changed=1"))
}

/// The account page's rows for the account's authenticators.
pub fn key_rows(
    idp: &Idp,
    locale: crate::web::pages::Locale,
    credentials: &[WebauthnCredential],
    when: impl Fn(i64) -> String,
) -> Vec<Value> {
    credentials
        .iter()
        .map(|c| {
            json!({
                "id": c.credential_id,
                "name": c.name,
                "kind": idp.pages.message(locale, if c.synced { "key_synced" } else { "key_device" }),
                "created": when(c.created_at),
                "used": c.last_used_at.map(&when).unwrap_or_default(),
                "flagged": c.flagged_at.is_some(),
                "attested": c.attestation.as_ref().is_some_and(|a| idp.config.webauthn_attestation.as_ref().is_some_and(|p| p.allows(a))),
            })
        })
        .collect()
}

/// The rename form.
#[derive(Debug, Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    credential: String,
    #[serde(default)]
    name: String,
}

/// `POST /account/webauthn/rename`.
pub async fn rename(
    State(idp): State<IdpState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    CsrfForm(form): CsrfForm<RenameForm>,
) -> Result<Response, IdpError> {
    let locale = crate::web::pages::Locale::choose(None, &headers);
    fresh_confirmation(&idp, &session, locale).await?;
    let name: String = form
        .name
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(60)
        .collect();
    if name.is_empty() {
        return Ok(see_other("/account"));
    }
    idp.store
        .rename_webauthn_credential(&session.account_id, &form.credential, &name)
        .await?;
    let detail = json!({"action": "renamed", "name": name});
    record_factor(&idp, &origin, &session.account_id, detail).await;
    Ok(see_other("/account"))
}
