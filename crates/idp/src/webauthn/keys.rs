//! The account's keys: the rows the account page shows, removing and renaming.

use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use llavero_store::WebauthnCredential;
use serde::Deserialize;
use serde_json::{Value, json};

use super::may_change_factors;
use crate::audit::{self, Origin};
use crate::session::current_session;
use crate::state::{Idp, IdpState};
use crate::web::csrf_valid;
use crate::web::see_other;

/// What every key-changing form checks first: the CSRF token, a live session, and a fresh
/// confirmation, which it spends (see [`may_change_factors`]). `Err` is the page to answer
/// with.
pub(super) async fn key_change_session(
    idp: &Idp,
    headers: &HeaderMap,
    csrf: &str,
    locale: crate::web::pages::Locale,
) -> Result<llavero_store::Session, Response> {
    if !csrf_valid(idp, headers, csrf) {
        return Err(idp.pages.error(StatusCode::FORBIDDEN, locale, "error_csrf"));
    }
    let Ok(Some(session)) = current_session(idp, headers).await else {
        return Err(see_other("/login"));
    };
    match may_change_factors(idp, &session).await {
        Ok(true) => Ok(session),
        Ok(false) => Err(idp
            .pages
            .error(StatusCode::FORBIDDEN, locale, "reauth_needed")),
        Err(e) => Err(crate::web::internal(&e)),
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
    extensions: Extensions,
    headers: HeaderMap,
    axum::Form(form): axum::Form<RemoveForm>,
) -> Response {
    let locale = crate::web::pages::Locale::choose(None, &headers);
    let session = match key_change_session(&idp, &headers, &form.csrf, locale).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    match idp
        .store
        .remove_webauthn_credential(&session.account_id, &form.credential)
        .await
    {
        Ok(true) => {
            let detail = json!({"action": "removed"});
            audit::record(
                &idp,
                &Origin::of(&extensions, &headers),
                "factor",
                Some(&session.account_id),
                None,
                detail,
            )
            .await;
            see_other("/account?changed=1")
        }
        Ok(false) => idp.pages.error(StatusCode::BAD_REQUEST, locale, "key_last"),
        Err(e) => crate::web::internal(&e),
    }
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
    extensions: Extensions,
    headers: HeaderMap,
    axum::Form(form): axum::Form<RenameForm>,
) -> Response {
    let locale = crate::web::pages::Locale::choose(None, &headers);
    let session = match key_change_session(&idp, &headers, &form.csrf, locale).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let name: String = form
        .name
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(60)
        .collect();
    if name.is_empty() {
        return see_other("/account");
    }
    match idp
        .store
        .rename_webauthn_credential(&session.account_id, &form.credential, &name)
        .await
    {
        Ok(_) => {
            let detail = json!({"action": "renamed", "name": name});
            audit::record(
                &idp,
                &Origin::of(&extensions, &headers),
                "factor",
                Some(&session.account_id),
                None,
                detail,
            )
            .await;
            see_other("/account")
        }
        Err(e) => crate::web::internal(&e),
    }
}
