//! Registration: a new key or passkey from the account page (attested for staff accounts).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use llavero_store::{Ceremony, WebauthnCredential};
use serde_json::{Value, json};
use webauthn_rs::prelude::{
    AttestedPasskeyRegistration, Passkey, PasskeyRegistration, RegisterPublicKeyCredential, Uuid,
    Webauthn,
};

use super::{
    AccountCeremonyCall, as_json_redirect, attested_now, begin, credential_id, may_change_factors,
    passkeys, record_factor, session_ceremony,
};
use crate::audit::Origin;
use crate::error::{CeremonyError, IdpError};
use crate::extract::RequestOrigin;
use crate::factors::Factor;
use crate::session::{Continuation, finish_login};
use crate::state::{Idp, IdpState};
use llavero_store::StoreError;
use webauthn_rs::prelude::Credential;

/// `POST /account/webauthn/register/start`: options for a new authenticator.
pub async fn register_start(
    State(idp): State<IdpState>,
    AccountCeremonyCall { rp, session, .. }: AccountCeremonyCall,
) -> Result<Json<Value>, IdpError> {
    if !may_change_factors(&idp, &session).await? {
        return Err(CeremonyError::ConfirmFirst.into());
    }
    let user_id = idp
        .store
        .webauthn_user_id(&session.account_id, &Uuid::new_v4().to_string())
        .await?;
    let existing = idp.store.webauthn_credentials(&session.account_id).await?;
    let account = idp.store.account(&session.account_id).await?;
    let user = Uuid::parse_str(&user_id)
        .map_err(|e| IdpError::internal(format!("bad webauthn user id: {e}")))?;
    let exclude: Vec<_> = passkeys(&existing)
        .iter()
        .map(|p| p.cred_id().clone())
        .collect();
    let run_label = account.map(|a| a.run.to_string()).unwrap_or_default();
    let staff = idp.store.is_staff(&session.account_id).await?;
    let policy = idp.config.webauthn_attestation.as_ref();
    let binding = session.handle.clone();
    let account_id = Some(session.account_id.clone());
    let (ceremony, options) = match (policy, staff) {
        (None, true) => return Err(CeremonyError::StaffWithoutAllowList.into()),
        // Staff: `webauthn-rs`'s attested registration (direct attestation, user verification
        // required, synced authenticators refused, chain and AAGUID checked at finish).
        (Some(policy), true) => {
            let (options, state) = rp
                .start_attested_passkey_registration(
                    user,
                    &run_label,
                    &run_label,
                    Some(exclude),
                    policy.ca_list().clone(),
                    None,
                )
                .map_err(IdpError::internal)?;
            let context = json!({"attested": true});
            let ceremony = begin(&idp, "register", binding, account_id, &state, context).await?;
            (ceremony, json!(options))
        }
        // The public: an ordinary registration, asking for attestation when a list is
        // configured (classified at finish; a key off the list is still a second factor).
        (policy, false) => {
            let (options, state) = rp
                .start_passkey_registration(user, &run_label, &run_label, Some(exclude))
                .map_err(IdpError::internal)?;
            let mut options = json!(options);
            if let Some(public_key) = options.get_mut("publicKey").and_then(Value::as_object_mut) {
                // A discoverable credential where the authenticator can make one, so the key
                // added here also serves the passkey login (which sends no allow-list).
                // `webauthn-rs` asks for `discouraged` and does not check the answer, so
                // preferring it is safe.
                if let Some(selection) = public_key
                    .get_mut("authenticatorSelection")
                    .and_then(Value::as_object_mut)
                {
                    selection.insert("residentKey".into(), json!("preferred"));
                }
                if policy.is_some() {
                    public_key.insert("attestation".into(), json!("direct"));
                }
            }
            let ceremony = begin(&idp, "register", binding, account_id, &state, json!({})).await?;
            (ceremony, options)
        }
    };
    Ok(Json(json!({"ceremony": ceremony, "options": options})))
}

/// Finishes a registration: the attested ceremony of a staff account or the ordinary one.
fn finish_registration(
    rp: &Webauthn,
    ceremony: &Ceremony,
    credential: &RegisterPublicKeyCredential,
) -> Result<Passkey, IdpError> {
    let attested = ceremony
        .context
        .get("attested")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let finished = if attested {
        let state = serde_json::from_str::<AttestedPasskeyRegistration>(&ceremony.state)
            .map_err(|_| CeremonyError::MalformedCredential)?;
        rp.finish_attested_passkey_registration(credential, &state)
            .map(Passkey::from)
    } else {
        let state = serde_json::from_str::<PasskeyRegistration>(&ceremony.state)
            .map_err(|_| CeremonyError::MalformedCredential)?;
        rp.finish_passkey_registration(credential, &state)
    };
    finished.map_err(|e| {
        tracing::info!(error = %e, "webauthn registration refused");
        if attested {
            CeremonyError::NotOnAllowList.into()
        } else {
            CeremonyError::RegistrationNotVerified.into()
        }
    })
}

/// `POST /account/webauthn/register/finish`: verifies the attestation and stores the credential.
pub async fn register_finish<C: Continuation>(
    State(idp): State<IdpState>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    AccountCeremonyCall { rp, session, body }: AccountCeremonyCall,
) -> Result<Response, IdpError> {
    // The start spent a confirmation; the ceremony (this session's, single use, expiring) is
    // that permission.
    let ceremony = session_ceremony(&idp, &session, &body.ceremony, "register").await?;
    let now = idp.now();
    let credential = serde_json::from_value::<RegisterPublicKeyCredential>(body.credential)
        .map_err(|_| CeremonyError::MalformedCredential)?;
    let passkey = finish_registration(&rp, &ceremony, &credential)?;
    let attestation = idp
        .config
        .webauthn_attestation
        .as_ref()
        .and_then(|policy| policy.classify(&passkey));
    // Checked again at finish: the account may have become staff during the ceremony.
    let staff = idp.store.is_staff(&session.account_id).await?;
    if staff && attestation.is_none() {
        record_factor(&idp, &origin, &session.account_id, json!({"action": "refused", "reason": "staff account: attestation not on the allow-list"})).await;
        return Err(CeremonyError::NotOnAllowList.into());
    }
    let name: String = body.name.trim().chars().take(60).collect();
    let stored = WebauthnCredential {
        credential_id: credential_id(passkey.cred_id().as_ref()),
        account_id: session.account_id.clone(),
        name: if name.is_empty() {
            "Llave de seguridad".to_owned()
        } else {
            name
        },
        passkey: serde_json::to_string(&passkey).map_err(IdpError::internal)?,
        synced: false,
        created_at: now,
        last_used_at: None,
        flagged_at: None,
        attestation,
    };
    idp.store.add_webauthn_credential(&stored).await?;
    let detail = match &stored.attestation {
        Some(a) => {
            json!({"action": "added", "name": stored.name, "attested": true, "aaguid": a.aaguid})
        }
        None => json!({"action": "added", "name": stored.name}),
    };
    record_factor(&idp, &origin, &session.account_id, detail).await;
    let created = json!({"id": stored.credential_id, "name": stored.name, "attested": stored.attestation.is_some()});
    let Some(request) = enrolment_return(&idp, &session).await? else {
        return Ok((StatusCode::CREATED, Json(created)).into_response());
    };
    let key = (passkey, attested_now(&idp, &stored));
    let resumed =
        resume_with_new_key::<C>(&idp, &headers, &origin, &session, key, &request).await?;
    Ok(with_status(
        as_json_redirect(resumed, created),
        StatusCode::CREATED,
    ))
}

/// The pending authorization `session` returns to after its enrolment, if it was sent to
/// enrol in the middle of one (taken: single use).
async fn enrolment_return(
    idp: &Idp,
    session: &llavero_store::Session,
) -> Result<Option<String>, StoreError> {
    let enrolment = idp
        .store
        .take_ceremony(
            &enrolment_id(&session.handle),
            ENROLMENT,
            &session.handle,
            idp.now(),
        )
        .await?;
    Ok(enrolment
        .as_ref()
        .and_then(|c| c.context.get("request"))
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .map(str::to_owned))
}

/// Enrolment in the middle of an authorization: the registration proved possession of the new
/// key (with user presence, and verification when the key did it), so it is this login's
/// second factor, after the password the session was made with. `key`: the new passkey and
/// whether its attestation is on the allow-list.
async fn resume_with_new_key<C: Continuation>(
    idp: &Idp,
    headers: &HeaderMap,
    origin: &Origin,
    session: &llavero_store::Session,
    key: (Passkey, bool),
    request: &str,
) -> Result<Response, IdpError> {
    let (passkey, attested) = key;
    let credential = Credential::from(passkey);
    let synced = credential.backup_eligible;
    let mut factors = Vec::new();
    if session.amr.iter().any(|m| m == "pwd") {
        factors.push(Factor::Password);
    }
    factors.push(Factor::WebAuthn {
        synced,
        user_verified: credential.user_verified,
        attested: !synced && attested,
    });
    finish_login::<C>(
        idp,
        headers,
        origin,
        session.account_id.clone(),
        &factors,
        request,
    )
    .await
}

/// The ceremony kind that remembers, for a session sent to enrol in the middle of an
/// authorization, the request to return to once a key is registered.
const ENROLMENT: &str = "enrolment";

/// One return per session, found by its handle.
fn enrolment_id(session_handle: &str) -> String {
    llavero_store::hash_secret(&format!("enrolment:{session_handle}"))
}

/// Remembers that `session`, sent to enrol its first key, returns to pending authorization
/// `request` once the key is registered (a later request replaces an earlier one).
pub async fn return_after_enrolment(
    idp: &Idp,
    session: &llavero_store::Session,
    request: &str,
) -> Result<(), StoreError> {
    let id = enrolment_id(&session.handle);
    let now = idp.now();
    idp.store
        .take_ceremony(&id, ENROLMENT, &session.handle, now)
        .await?;
    idp.store
        .put_ceremony(&Ceremony {
            id,
            kind: ENROLMENT.to_owned(),
            binding: session.handle.clone(),
            account_id: Some(session.account_id.clone()),
            state: String::new(),
            context: json!({"request": request}),
            expires_at: now + idp.config.request_secs,
        })
        .await
}

fn with_status(mut response: Response, status: StatusCode) -> Response {
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}
