//! WebAuthn (security keys and passkeys) with `webauthn-rs`: enrolment from the account page,
//! the second factor after the password, and passkey-only login with user verification.
//!
//! Ceremony state is serialized into the database (single use, expiring with the ceremony
//! timeout) and bound to the session (enrolment) or the browser (login) that started it, so any
//! instance can finish it. Endpoints speak JSON to the page's script; the form's CSRF token
//! travels in the body.

use axum::Json;
use axum::extract::State;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use llavero_store::{Ceremony, WebauthnCredential};
use serde::Deserialize;
use serde_json::{Value, json};
use webauthn_rs::prelude::{
    AttestedPasskey, AttestedPasskeyAuthentication, AttestedPasskeyRegistration, Credential,
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
    WebauthnError,
};

use crate::audit::{self, Origin};
use crate::factors::{ACR_HIGH, Factor};
use crate::oidc::authorize::{current_session, resume_after_login};
use crate::state::{Idp, IdpState};
use crate::web::{CsrfSecret, csrf_valid};

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

/// After a correct password, for an account with authenticators: the second-factor ceremony
/// (its state stored, bound to this browser). Returns the ceremony id and the options.
pub async fn second_factor(
    idp: &Idp,
    csrf: &CsrfSecret,
    account_id: &str,
    request: &str,
) -> Result<Option<(String, Value)>, Response> {
    let Some(rp) = idp.webauthn.as_ref() else {
        return Ok(None);
    };
    let credentials = idp
        .store
        .webauthn_credentials(account_id)
        .await
        .map_err(|e| crate::web::internal(&e))?;
    let passkeys = passkeys(&credentials);
    if passkeys.is_empty() {
        return Ok(None);
    }
    // A request that needs high asks only for the attested keys, with user verification; an
    // account without one does the ordinary ceremony and falls short (access_denied).
    let attested: Vec<AttestedPasskey> = if requires_high(idp, request).await {
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
            .map_err(|e| crate::web::internal(&e))?;
        let context = json!({"request": request, "factors": ["pwd"]});
        let id = begin(idp, "second_factor", binding, account, &state, context).await?;
        (id, serde_json::to_value(options))
    } else {
        let (options, state) = rp
            .start_attested_passkey_authentication(&attested)
            .map_err(|e| crate::web::internal(&e))?;
        let context = json!({"request": request, "factors": ["pwd"], "attested": true});
        let id = begin(idp, "second_factor", binding, account, &state, context).await?;
        (id, serde_json::to_value(options))
    };
    Ok(Some((ceremony, options.unwrap_or_default())))
}

/// Whether the pending authorization request `request` needs `…/LoA/high`.
async fn requires_high(idp: &Idp, request: &str) -> bool {
    if request.is_empty() || idp.config.webauthn_attestation.is_none() {
        return false;
    }
    let Ok(Some(pending)) = idp.store.authorization_request(request, idp.now()).await else {
        return false;
    };
    serde_json::from_value::<crate::oidc::request::AuthParams>(pending.params)
        .is_ok_and(|params| params.acr == ACR_HIGH)
}

/// Whether a stored credential's attestation is on the allow-list as configured now.
fn attested_now(idp: &Idp, credential: &WebauthnCredential) -> bool {
    match (&idp.config.webauthn_attestation, &credential.attestation) {
        (Some(policy), Some(attestation)) => policy.allows(attestation),
        _ => false,
    }
}

/// `POST /login/passkey/start`: a passkey-only login (discoverable credential, user
/// verification required).
pub async fn passkey_start(
    State(idp): State<IdpState>,
    headers: HeaderMap,
    Json(body): Json<CeremonyRequest>,
) -> Response {
    let rp = match checked(&idp, &headers, &body.csrf) {
        Ok(rp) => rp,
        Err(r) => return r,
    };
    let csrf = CsrfSecret::from_request(&idp, &headers);
    let (mut options, state) = match rp.start_discoverable_authentication() {
        Ok(started) => started,
        Err(e) => return crate::web::internal(&e),
    };
    // A button press, not autofill: ask for the passkey directly.
    options.mediation = None;
    let context = json!({"request": body.request, "factors": []});
    match begin(
        &idp,
        "passkey",
        csrf.browser_binding(),
        None,
        &state,
        context,
    )
    .await
    {
        Ok(ceremony) => Json(json!({"ceremony": ceremony, "options": options})).into_response(),
        Err(r) => r,
    }
}

/// `POST /login/webauthn/finish`: verifies the assertion of a second-factor or passkey
/// ceremony, updates the credential (counter, backup state), starts the session and answers
/// where the browser goes next.
pub async fn login_finish(
    State(idp): State<IdpState>,
    extensions: Extensions,
    headers: HeaderMap,
    Json(body): Json<CeremonyRequest>,
) -> Response {
    let rp = match checked(&idp, &headers, &body.csrf) {
        Ok(rp) => rp,
        Err(r) => return r,
    };
    let origin = Origin::of(&extensions, &headers);
    let binding = CsrfSecret::from_request(&idp, &headers).browser_binding();
    let ceremony = match take_login_ceremony(&idp, &body.ceremony, &binding).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(assertion) = serde_json::from_value::<PublicKeyCredential>(body.credential) else {
        return problem(StatusCode::BAD_REQUEST, "malformed credential");
    };
    let account_id = match whose(&idp, rp, &ceremony, &assertion).await {
        Ok(account) => account,
        Err(r) => return r,
    };
    let (result, attested) =
        match verify_assertion(&idp, rp, &origin, &ceremony, &assertion, &account_id).await {
            Ok(verified) => verified,
            Err(r) => return r,
        };
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
    as_json_redirect(
        resume_after_login(&idp, &headers, &origin, account_id, &factors, &request).await,
    )
}

/// Takes this browser's second-factor or passkey ceremony (single use, unexpired).
async fn take_login_ceremony(idp: &Idp, id: &str, binding: &str) -> Result<Ceremony, Response> {
    for kind in ["second_factor", "passkey"] {
        if let Some(c) = idp
            .store
            .take_ceremony(id, kind, binding, idp.now())
            .await
            .map_err(|e| crate::web::internal(&e))?
        {
            return Ok(c);
        }
    }
    Err(problem(
        StatusCode::BAD_REQUEST,
        "unknown, used or expired ceremony",
    ))
}

/// Whose credential: the account of a second-factor ceremony, or the one whose user handle
/// the passkey returned.
async fn whose(
    idp: &Idp,
    rp: &Webauthn,
    ceremony: &Ceremony,
    assertion: &PublicKeyCredential,
) -> Result<String, Response> {
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
    found.ok_or_else(|| problem(StatusCode::UNAUTHORIZED, "unknown passkey"))
}

/// Verifies the assertion against the account's stored credential; on success stores the
/// updated counter and backup state, on a counter regression flags the credential. Also says
/// whether the credential's attestation is on the allow-list.
async fn verify_assertion(
    idp: &Idp,
    rp: &Webauthn,
    origin: &Origin,
    ceremony: &Ceremony,
    assertion: &PublicKeyCredential,
    account_id: &str,
) -> Result<(webauthn_rs::prelude::AuthenticationResult, bool), Response> {
    let now = idp.now();
    let asserted_id = credential_id(&assertion.raw_id);
    let credentials = idp
        .store
        .webauthn_credentials(account_id)
        .await
        .map_err(|e| crate::web::internal(&e))?;
    let stored = credentials
        .iter()
        .find(|c| c.credential_id == asserted_id)
        .ok_or_else(|| problem(StatusCode::UNAUTHORIZED, "unknown authenticator"))?;
    let mut passkey: Passkey =
        serde_json::from_str(&stored.passkey).map_err(|e| crate::web::internal(&e))?;
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
            let message = if cloned {
                "this authenticator may have been cloned; it is flagged"
            } else {
                "the authenticator's answer did not verify"
            };
            return Err(problem(StatusCode::UNAUTHORIZED, message));
        }
    };
    passkey.update_credential(&result);
    let serialized = serde_json::to_string(&passkey).map_err(|e| crate::web::internal(&e))?;
    idp.store
        .used_webauthn_credential(
            &stored.credential_id,
            &serialized,
            result.backup_eligible(),
            now,
        )
        .await
        .map_err(|e| crate::web::internal(&e))?;
    Ok((result, attested_now(idp, stored)))
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

/// `GET /static/webauthn.js`.
pub async fn script() -> Response {
    let mut response = include_str!("../static/webauthn.js").into_response();
    crate::web::pages::secure_headers(response.headers_mut(), "text/javascript; charset=utf-8");
    response
}

/// What every key-changing form checks first: the CSRF token, a live session, and a fresh
/// confirmation, which it spends (see [`may_change_factors`]). `Err` is the page to answer
/// with.
async fn key_change_session(
    idp: &Idp,
    headers: &HeaderMap,
    csrf: &str,
    locale: crate::web::pages::Locale,
) -> Result<llavero_store::Session, Response> {
    if !csrf_valid(idp, headers, csrf) {
        return Err(idp.pages.error(StatusCode::FORBIDDEN, locale, "error_csrf"));
    }
    let Ok(Some(session)) = current_session(idp, headers).await else {
        return Err(crate::oidc::authorize::see_other("/login"));
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
    csrf: String,
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
            crate::oidc::authorize::see_other("/account?changed=1")
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
pub async fn recovery_login(
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
            let response = resume_after_login(
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

/// Points a redirect elsewhere, keeping its cookies.
fn with_location(mut response: Response, location: &'static str) -> Response {
    if response.status() == StatusCode::SEE_OTHER {
        response
            .headers_mut()
            .insert(LOCATION, axum::http::HeaderValue::from_static(location));
    }
    response
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
        return crate::oidc::authorize::see_other("/account");
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
            crate::oidc::authorize::see_other("/account")
        }
        Err(e) => crate::web::internal(&e),
    }
}
