//! Login: the second factor after the password, and the passkey alone (discoverable
//! credential, user verification).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use llavero_store::Ceremony;
use serde_json::{Value, json};
use webauthn_rs::prelude::{
    AttestedPasskey, AttestedPasskeyAuthentication, Credential, DiscoverableAuthentication,
    Passkey, PasskeyAuthentication, PublicKeyCredential, Webauthn, WebauthnError,
};

use super::{CeremonyCall, as_json_redirect, attested_now, begin, credential_id, passkeys};
use crate::audit::{self, Origin};
use crate::error::{CeremonyError, IdpError};
use crate::extract::RequestOrigin;
use crate::factors::Factor;
use crate::session::{Continuation, finish_login};
use crate::state::{Idp, IdpState};
use crate::web::CsrfSecret;

/// After a correct password, for an account with authenticators: the second-factor ceremony
/// (its state stored, bound to this browser). `high`: the pending request needs `…/LoA/high`,
/// so only keys whose attestation is on the allow-list are asked for. Returns the ceremony id
/// and the options.
pub async fn second_factor(
    idp: &Idp,
    csrf: &CsrfSecret,
    account_id: &str,
    request: &str,
    high: bool,
) -> Result<Option<(String, Value)>, IdpError> {
    let Some(rp) = idp.webauthn.as_ref() else {
        return Ok(None);
    };
    let credentials = idp.store.webauthn_credentials(account_id).await?;
    let passkeys = passkeys(&credentials);
    if passkeys.is_empty() {
        return Ok(None);
    }
    // A request that needs high asks only for the attested keys, with user verification; an
    // account without one does the ordinary ceremony and falls short (access_denied).
    let attested: Vec<AttestedPasskey> = if high && idp.config.webauthn_attestation.is_some() {
        credentials
            .iter()
            .filter(|c| attested_now(idp, c))
            .filter_map(|c| serde_json::from_str::<Passkey>(&c.passkey).ok())
            .map(|p| AttestedPasskey::from(Credential::from(p)))
            .collect()
    } else {
        Vec::new()
    };
    let binding = csrf.browser_binding();
    let account = Some(account_id.to_owned());
    let (ceremony, options) = if attested.is_empty() {
        let (options, state) = rp
            .start_passkey_authentication(&passkeys)
            .map_err(IdpError::internal)?;
        let context = json!({"request": request, "factors": ["pwd"]});
        let id = begin(idp, "second_factor", binding, account, &state, context).await?;
        (id, serde_json::to_value(options))
    } else {
        let (options, state) = rp
            .start_attested_passkey_authentication(&attested)
            .map_err(IdpError::internal)?;
        let context = json!({"request": request, "factors": ["pwd"], "attested": true});
        let id = begin(idp, "second_factor", binding, account, &state, context).await?;
        (id, serde_json::to_value(options))
    };
    Ok(Some((ceremony, options.unwrap_or_default())))
}

/// `POST /login/passkey/start`: a passkey-only login (discoverable credential, user
/// verification required).
pub async fn passkey_start(
    State(idp): State<IdpState>,
    headers: HeaderMap,
    CeremonyCall { rp, body }: CeremonyCall,
) -> Result<Json<Value>, IdpError> {
    let csrf = CsrfSecret::from_request(&idp, &headers);
    let (mut options, state) = rp
        .start_discoverable_authentication()
        .map_err(IdpError::internal)?;
    // A button press, not autofill: ask for the passkey directly.
    options.mediation = None;
    let context = json!({"request": body.request, "factors": []});
    let binding = csrf.browser_binding();
    let ceremony = begin(&idp, "passkey", binding, None, &state, context).await?;
    Ok(Json(json!({"ceremony": ceremony, "options": options})))
}

/// `POST /login/webauthn/finish`: verifies the assertion of a second-factor or passkey
/// ceremony, updates the credential (counter, backup state), starts the session and answers
/// where the browser goes next.
pub async fn login_finish<C: Continuation>(
    State(idp): State<IdpState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    CeremonyCall { rp, body }: CeremonyCall,
) -> Result<Response, IdpError> {
    let binding = CsrfSecret::from_request(&idp, &headers).browser_binding();
    let ceremony = take_login_ceremony(&idp, &body.ceremony, &binding).await?;
    let assertion = serde_json::from_value::<PublicKeyCredential>(body.credential)
        .map_err(|_| CeremonyError::MalformedCredential)?;
    let account_id = whose(&idp, &rp, &ceremony, &assertion).await?;
    let (result, attested) =
        verify_assertion(&idp, &rp, &origin, &ceremony, &assertion, &account_id).await?;
    let mut factors = Vec::new();
    let after_password = ceremony
        .context
        .get("factors")
        .and_then(Value::as_array)
        .is_some_and(|f| f.iter().any(|x| x == "pwd"));
    if after_password {
        factors.push(Factor::Password);
    }
    factors.push(Factor::WebAuthn {
        synced: result.backup_eligible(),
        user_verified: result.user_verified(),
        attested: attested && !result.backup_eligible(),
    });
    let request = ceremony
        .context
        .get("request")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let next = finish_login::<C>(&idp, &headers, &origin, account_id, &factors, &request).await?;
    Ok(as_json_redirect(next, json!({})))
}

/// Takes this browser's second-factor or passkey ceremony (single use, unexpired).
async fn take_login_ceremony(idp: &Idp, id: &str, binding: &str) -> Result<Ceremony, IdpError> {
    for kind in ["second_factor", "passkey"] {
        if let Some(c) = idp
            .store
            .take_ceremony(id, kind, binding, idp.now())
            .await?
        {
            return Ok(c);
        }
    }
    Err(CeremonyError::UnknownCeremony.into())
}

/// Whose credential: the account of a second-factor ceremony, or the one whose user handle
/// the passkey returned.
async fn whose(
    idp: &Idp,
    rp: &Webauthn,
    ceremony: &Ceremony,
    assertion: &PublicKeyCredential,
) -> Result<String, IdpError> {
    if let Some(account) = &ceremony.account_id {
        return Ok(account.clone());
    }
    let handle = rp
        .identify_discoverable_authentication(assertion)
        .ok()
        .map(|(uuid, _)| uuid.to_string());
    let found = match handle {
        Some(h) => idp.store.account_by_webauthn_user(&h).await.ok().flatten(),
        None => None,
    };
    found.ok_or_else(|| CeremonyError::UnknownPasskey.into())
}

/// Verifies the assertion against the account's stored credential; on success stores the
/// updated counter and backup state, on a counter regression flags the credential. Also says
/// whether the credential's attestation is on the allow-list.
pub(super) async fn verify_assertion(
    idp: &Idp,
    rp: &Webauthn,
    origin: &Origin,
    ceremony: &Ceremony,
    assertion: &PublicKeyCredential,
    account_id: &str,
) -> Result<(webauthn_rs::prelude::AuthenticationResult, bool), IdpError> {
    let now = idp.now();
    let asserted_id = credential_id(&assertion.raw_id);
    let credentials = idp.store.webauthn_credentials(account_id).await?;
    let stored = credentials
        .iter()
        .find(|c| c.credential_id == asserted_id)
        .ok_or(CeremonyError::UnknownAuthenticator)?;
    let mut passkey: Passkey = serde_json::from_str(&stored.passkey).map_err(IdpError::internal)?;
    let attested_ceremony = ceremony
        .context
        .get("attested")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let verified = if ceremony.kind == "passkey" {
        serde_json::from_str::<DiscoverableAuthentication>(&ceremony.state)
            .map_err(|_| WebauthnError::InvalidUserUniqueId)
            .and_then(|state| rp.finish_discoverable_authentication_v2(assertion, state, &passkey))
    } else if attested_ceremony {
        serde_json::from_str::<AttestedPasskeyAuthentication>(&ceremony.state)
            .map_err(|_| WebauthnError::InvalidUserUniqueId)
            .and_then(|state| rp.finish_attested_passkey_authentication(assertion, &state))
    } else {
        serde_json::from_str::<PasskeyAuthentication>(&ceremony.state)
            .map_err(|_| WebauthnError::InvalidUserUniqueId)
            .and_then(|state| rp.finish_passkey_authentication(assertion, &state))
    };
    let result = match verified {
        Ok(result) => result,
        Err(e) => {
            let cloned = matches!(e, WebauthnError::CredentialPossibleCompromise);
            let detail = if cloned {
                let _ = idp
                    .store
                    .flag_webauthn_credential(&stored.credential_id, now)
                    .await;
                json!({"result": "failure", "reason": "counter went backwards: the authenticator may be cloned", "name": stored.name})
            } else {
                tracing::info!(error = %e, "webauthn assertion refused");
                json!({"result": "failure"})
            };
            audit::record(
                idp,
                origin,
                "login.webauthn",
                Some(account_id),
                None,
                detail,
            )
            .await;
            return Err(if cloned {
                CeremonyError::PossiblyCloned.into()
            } else {
                CeremonyError::AssertionNotVerified.into()
            });
        }
    };
    passkey.update_credential(&result);
    let serialized = serde_json::to_string(&passkey).map_err(IdpError::internal)?;
    idp.store
        .used_webauthn_credential(
            &stored.credential_id,
            &serialized,
            result.backup_eligible(),
            now,
        )
        .await?;
    Ok((result, attested_now(idp, stored)))
}
