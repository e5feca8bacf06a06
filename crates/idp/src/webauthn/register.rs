//! Registration: a new key or passkey from the account page (attested for staff accounts).

use axum::Json;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use llavero_store::{Ceremony, WebauthnCredential};
use serde_json::{Value, json};
use webauthn_rs::prelude::{
    AttestedPasskeyRegistration, Passkey, PasskeyRegistration, RegisterPublicKeyCredential, Uuid,
    Webauthn,
};

use super::{
    CONFIRM_FIRST, CeremonyRequest, begin, checked, credential_id, may_change_factors, passkeys,
    problem, session_ceremony,
};
use crate::audit::{self, Origin};
use crate::session::current_session;
use crate::state::IdpState;

/// `POST /account/webauthn/register/start`: options for a new authenticator.
pub async fn register_start(
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
    match may_change_factors(&idp, &session).await {
        Ok(true) => {}
        Ok(false) => return problem(StatusCode::FORBIDDEN, CONFIRM_FIRST),
        Err(e) => return crate::web::internal(&e),
    }
    let result = async {
        let user_id = idp
            .store
            .webauthn_user_id(&session.account_id, &Uuid::new_v4().to_string())
            .await?;
        let existing = idp.store.webauthn_credentials(&session.account_id).await?;
        let account = idp.store.account(&session.account_id).await?;
        Ok::<_, llavero_store::StoreError>((user_id, existing, account))
    }
    .await;
    let (user_id, existing, account) = match result {
        Ok(found) => found,
        Err(e) => return crate::web::internal(&e),
    };
    let Ok(user) = Uuid::parse_str(&user_id) else {
        return crate::web::internal(&"bad webauthn user id");
    };
    let exclude: Vec<_> = passkeys(&existing)
        .iter()
        .map(|p| p.cred_id().clone())
        .collect();
    let run_label = account.map(|a| a.run.to_string()).unwrap_or_default();
    let staff = match idp.store.is_staff(&session.account_id).await {
        Ok(staff) => staff,
        Err(e) => return crate::web::internal(&e),
    };
    let policy = idp.config.webauthn_attestation.as_ref();
    let binding = session.handle.clone();
    let account_id = Some(session.account_id.clone());
    let started = match (policy, staff) {
        (None, true) => return problem(StatusCode::FORBIDDEN, STAFF_NEEDS_ATTESTATION),
        // Staff: `webauthn-rs`'s attested registration (direct attestation, user verification
        // required, synced authenticators refused, chain and AAGUID checked at finish).
        (Some(policy), true) => match rp.start_attested_passkey_registration(
            user,
            &run_label,
            &run_label,
            Some(exclude),
            policy.ca_list().clone(),
            None,
        ) {
            Ok((options, state)) => {
                let context = json!({"attested": true});
                begin(&idp, "register", binding, account_id, &state, context)
                    .await
                    .map(|ceremony| (ceremony, json!(options)))
            }
            Err(e) => return crate::web::internal(&e),
        },
        // The public: an ordinary registration, asking for attestation when a list is
        // configured (classified at finish; a key off the list is still a second factor).
        (policy, false) => {
            match rp.start_passkey_registration(user, &run_label, &run_label, Some(exclude)) {
                Ok((options, state)) => {
                    let mut options = json!(options);
                    if policy.is_some()
                        && let Some(public_key) =
                            options.get_mut("publicKey").and_then(Value::as_object_mut)
                    {
                        public_key.insert("attestation".into(), json!("direct"));
                    }
                    begin(&idp, "register", binding, account_id, &state, json!({}))
                        .await
                        .map(|ceremony| (ceremony, options))
                }
                Err(e) => return crate::web::internal(&e),
            }
        }
    };
    match started {
        Ok((ceremony, options)) => {
            Json(json!({"ceremony": ceremony, "options": options})).into_response()
        }
        Err(r) => r,
    }
}

/// What a staff account is told when its authenticator is not on the allow-list.
const STAFF_NEEDS_ATTESTATION: &str = "staff accounts can register only a security key on the attestation allow-list (device-bound, with a PIN or biometric)";

/// Finishes a registration: the attested ceremony of a staff account or the ordinary one.
#[allow(clippy::result_large_err)] // the error is the answer itself, sent at once
fn finish_registration(
    rp: &Webauthn,
    ceremony: &Ceremony,
    credential: &RegisterPublicKeyCredential,
) -> Result<Passkey, Response> {
    let attested = ceremony
        .context
        .get("attested")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let malformed = || problem(StatusCode::BAD_REQUEST, "malformed credential");
    let finished = if attested {
        let state = serde_json::from_str::<AttestedPasskeyRegistration>(&ceremony.state)
            .map_err(|_| malformed())?;
        rp.finish_attested_passkey_registration(credential, &state)
            .map(Passkey::from)
    } else {
        let state = serde_json::from_str::<PasskeyRegistration>(&ceremony.state)
            .map_err(|_| malformed())?;
        rp.finish_passkey_registration(credential, &state)
    };
    finished.map_err(|e| {
        tracing::info!(error = %e, "webauthn registration refused");
        if attested {
            problem(StatusCode::BAD_REQUEST, STAFF_NEEDS_ATTESTATION)
        } else {
            problem(
                StatusCode::BAD_REQUEST,
                "the authenticator's answer did not verify",
            )
        }
    })
}

/// `POST /account/webauthn/register/finish`: verifies the attestation and stores the credential.
pub async fn register_finish(
    State(idp): State<IdpState>,
    extensions: Extensions,
    headers: HeaderMap,
    Json(body): Json<CeremonyRequest>,
) -> Response {
    // The start spent a confirmation; the ceremony (this session's, single use, expiring) is
    // that permission.
    let (rp, session, ceremony) = match session_ceremony(&idp, &headers, &body, "register").await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let now = idp.now();
    let Ok(credential) = serde_json::from_value::<RegisterPublicKeyCredential>(body.credential)
    else {
        return problem(StatusCode::BAD_REQUEST, "malformed credential");
    };
    let passkey = match finish_registration(rp, &ceremony, &credential) {
        Ok(passkey) => passkey,
        Err(r) => return r,
    };
    let attestation = idp
        .config
        .webauthn_attestation
        .as_ref()
        .and_then(|policy| policy.classify(&passkey));
    // Checked again at finish: the account may have become staff during the ceremony.
    match idp.store.is_staff(&session.account_id).await {
        Ok(true) if attestation.is_none() => {
            audit::record(
                &idp,
                &Origin::of(&extensions, &headers),
                "factor",
                Some(&session.account_id),
                None,
                json!({"action": "refused", "reason": "staff account: attestation not on the allow-list"}),
            )
            .await;
            return problem(StatusCode::BAD_REQUEST, STAFF_NEEDS_ATTESTATION);
        }
        Ok(_) => {}
        Err(e) => return crate::web::internal(&e),
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
        passkey: match serde_json::to_string(&passkey) {
            Ok(serialized) => serialized,
            Err(e) => return crate::web::internal(&e),
        },
        synced: false,
        created_at: now,
        last_used_at: None,
        flagged_at: None,
        attestation,
    };
    if let Err(e) = idp.store.add_webauthn_credential(&stored).await {
        return crate::web::internal(&e);
    }
    let detail = match &stored.attestation {
        Some(a) => {
            json!({"action": "added", "name": stored.name, "attested": true, "aaguid": a.aaguid})
        }
        None => json!({"action": "added", "name": stored.name}),
    };
    audit::record(
        &idp,
        &Origin::of(&extensions, &headers),
        "factor",
        Some(&session.account_id),
        None,
        detail,
    )
    .await;
    (
        StatusCode::CREATED,
        Json(json!({"id": stored.credential_id, "name": stored.name, "attested": stored.attestation.is_some()})),
    )
        .into_response()
}
