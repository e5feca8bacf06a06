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
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
    WebauthnError,
};

use crate::audit::{self, Origin};
use crate::factors::Factor;
use crate::oidc::authorize::{current_session, resume_after_login};
use crate::state::{Idp, IdpState};
use crate::web::{CsrfSecret, csrf_valid};

/// How long a ceremony may take (the WebAuthn recommended timeout).
pub const CEREMONY_SECS: i64 = 300;

/// The relying party for the provider's issuer: RP id = the issuer's host, origin = the issuer.
pub fn relying_party(issuer: &str) -> Result<Webauthn, String> {
    let origin = Url::parse(issuer).map_err(|e| e.to_string())?;
    let rp_id = origin
        .host_str()
        .ok_or("the issuer has no host")?
        .to_owned();
    WebauthnBuilder::new(&rp_id, &origin)
        .and_then(|b| b.rp_name("Llavero").build())
        .map_err(|e| e.to_string())
}

fn credential_id(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn problem(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"error": error}))).into_response()
}

fn rp(idp: &Idp) -> Result<&Webauthn, Response> {
    idp.webauthn.as_ref().ok_or_else(|| {
        problem(
            StatusCode::NOT_FOUND,
            "webauthn is not configured for this issuer",
        )
    })
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

fn new_ceremony(
    kind: &str,
    binding: String,
    account_id: Option<String>,
    state: &impl serde::Serialize,
    context: Value,
    now: i64,
) -> Result<Ceremony, Response> {
    let state = serde_json::to_string(state).map_err(|e| crate::web::internal(&e))?;
    Ok(Ceremony {
        id: crate::random::token(),
        kind: kind.to_owned(),
        binding,
        account_id,
        state,
        context,
        expires_at: now + CEREMONY_SECS,
    })
}

/// `POST /account/webauthn/register/start`: options for a new authenticator.
pub async fn register_start(
    State(idp): State<IdpState>,
    headers: HeaderMap,
    Json(body): Json<CeremonyRequest>,
) -> Response {
    let rp = match rp(&idp) {
        Ok(rp) => rp,
        Err(r) => return r,
    };
    if !csrf_valid(&idp, &headers, &body.csrf) {
        return problem(StatusCode::FORBIDDEN, "csrf");
    }
    let Ok(Some(session)) = current_session(&idp, &headers).await else {
        return problem(StatusCode::UNAUTHORIZED, "login required");
    };
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
    let exclude: Vec<_> = existing
        .iter()
        .filter_map(|c| serde_json::from_str::<Passkey>(&c.passkey).ok())
        .map(|p| p.cred_id().clone())
        .collect();
    let run_label = account.map(|a| a.run.to_string()).unwrap_or_default();
    let (options, state) =
        match rp.start_passkey_registration(user, &run_label, &run_label, Some(exclude)) {
            Ok(started) => started,
            Err(e) => return crate::web::internal(&e),
        };
    let ceremony = match new_ceremony(
        "register",
        session.handle.clone(),
        Some(session.account_id.clone()),
        &state,
        json!({}),
        idp.now(),
    ) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(e) = idp.store.put_ceremony(&ceremony).await {
        return crate::web::internal(&e);
    }
    Json(json!({"ceremony": ceremony.id, "options": options})).into_response()
}

/// `POST /account/webauthn/register/finish`: verifies the attestation and stores the credential.
pub async fn register_finish(
    State(idp): State<IdpState>,
    extensions: Extensions,
    headers: HeaderMap,
    Json(body): Json<CeremonyRequest>,
) -> Response {
    let rp = match rp(&idp) {
        Ok(rp) => rp,
        Err(r) => return r,
    };
    if !csrf_valid(&idp, &headers, &body.csrf) {
        return problem(StatusCode::FORBIDDEN, "csrf");
    }
    let Ok(Some(session)) = current_session(&idp, &headers).await else {
        return problem(StatusCode::UNAUTHORIZED, "login required");
    };
    let now = idp.now();
    let ceremony = match idp
        .store
        .take_ceremony(&body.ceremony, "register", &session.handle, now)
        .await
    {
        Ok(Some(c)) => c,
        Ok(None) => return problem(StatusCode::BAD_REQUEST, "unknown, used or expired ceremony"),
        Err(e) => return crate::web::internal(&e),
    };
    let (Ok(state), Ok(credential)) = (
        serde_json::from_str::<PasskeyRegistration>(&ceremony.state),
        serde_json::from_value::<RegisterPublicKeyCredential>(body.credential),
    ) else {
        return problem(StatusCode::BAD_REQUEST, "malformed credential");
    };
    let passkey = match rp.finish_passkey_registration(&credential, &state) {
        Ok(passkey) => passkey,
        Err(e) => {
            tracing::info!(error = %e, "webauthn registration refused");
            return problem(
                StatusCode::BAD_REQUEST,
                "the authenticator's answer did not verify",
            );
        }
    };
    let name: String = body.name.trim().chars().take(60).collect();
    let stored = WebauthnCredential {
        credential_id: credential_id(passkey.cred_id().as_ref()),
        account_id: session.account_id.clone(),
        name: if name.is_empty() {
            "Llave de seguridad".to_owned()
        } else {
            name
        },
        passkey: serde_json::to_string(&passkey).unwrap_or_default(),
        synced: false,
        created_at: now,
        last_used_at: None,
        flagged_at: None,
    };
    if let Err(e) = idp.store.add_webauthn_credential(&stored).await {
        return crate::web::internal(&e);
    }
    let detail = json!({"action": "added", "name": stored.name});
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
        Json(json!({"id": stored.credential_id, "name": stored.name})),
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
    let passkeys: Vec<Passkey> = credentials
        .iter()
        .filter_map(|c| serde_json::from_str(&c.passkey).ok())
        .collect();
    if passkeys.is_empty() {
        return Ok(None);
    }
    let (options, state) = rp
        .start_passkey_authentication(&passkeys)
        .map_err(|e| crate::web::internal(&e))?;
    let ceremony = new_ceremony(
        "second_factor",
        csrf.browser_binding(),
        Some(account_id.to_owned()),
        &state,
        json!({"request": request, "factors": ["pwd"]}),
        idp.now(),
    )?;
    idp.store
        .put_ceremony(&ceremony)
        .await
        .map_err(|e| crate::web::internal(&e))?;
    Ok(Some((
        ceremony.id,
        serde_json::to_value(options).unwrap_or_default(),
    )))
}

/// `POST /login/passkey/start`: a passkey-only login (discoverable credential, user
/// verification required).
pub async fn passkey_start(
    State(idp): State<IdpState>,
    headers: HeaderMap,
    Json(body): Json<CeremonyRequest>,
) -> Response {
    let rp = match rp(&idp) {
        Ok(rp) => rp,
        Err(r) => return r,
    };
    if !csrf_valid(&idp, &headers, &body.csrf) {
        return problem(StatusCode::FORBIDDEN, "csrf");
    }
    let csrf = CsrfSecret::from_request(&idp, &headers);
    let (mut options, state) = match rp.start_discoverable_authentication() {
        Ok(started) => started,
        Err(e) => return crate::web::internal(&e),
    };
    // A button press, not autofill: ask for the passkey directly.
    options.mediation = None;
    let ceremony = match new_ceremony(
        "passkey",
        csrf.browser_binding(),
        None,
        &state,
        json!({"request": body.request, "factors": []}),
        idp.now(),
    ) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(e) = idp.store.put_ceremony(&ceremony).await {
        return crate::web::internal(&e);
    }
    Json(json!({"ceremony": ceremony.id, "options": options})).into_response()
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
    let rp = match rp(&idp) {
        Ok(rp) => rp,
        Err(r) => return r,
    };
    if !csrf_valid(&idp, &headers, &body.csrf) {
        return problem(StatusCode::FORBIDDEN, "csrf");
    }
    let origin = Origin::of(&extensions, &headers);
    let binding = CsrfSecret::from_request(&idp, &headers).browser_binding();
    let now = idp.now();
    let mut ceremony = None;
    for kind in ["second_factor", "passkey"] {
        match idp
            .store
            .take_ceremony(&body.ceremony, kind, &binding, now)
            .await
        {
            Ok(Some(c)) => {
                ceremony = Some(c);
                break;
            }
            Ok(None) => {}
            Err(e) => return crate::web::internal(&e),
        }
    }
    let Some(ceremony) = ceremony else {
        return problem(StatusCode::BAD_REQUEST, "unknown, used or expired ceremony");
    };
    let Ok(assertion) = serde_json::from_value::<PublicKeyCredential>(body.credential) else {
        return problem(StatusCode::BAD_REQUEST, "malformed credential");
    };
    let asserted_id = credential_id(&assertion.raw_id);
    // Whose credential: the account of the second-factor ceremony, or the user handle the
    // passkey returned.
    let account_id = match (&ceremony.account_id, ceremony.kind.as_str()) {
        (Some(account), _) => account.clone(),
        (None, _) => {
            let handle = rp
                .identify_discoverable_authentication(&assertion)
                .ok()
                .map(|(uuid, _)| uuid.to_string());
            let found = match handle {
                Some(h) => idp.store.account_by_webauthn_user(&h).await.ok().flatten(),
                None => None,
            };
            let Some(found) = found else {
                return problem(StatusCode::UNAUTHORIZED, "unknown passkey");
            };
            found
        }
    };
    let credentials = match idp.store.webauthn_credentials(&account_id).await {
        Ok(c) => c,
        Err(e) => return crate::web::internal(&e),
    };
    let Some(stored) = credentials.iter().find(|c| c.credential_id == asserted_id) else {
        return problem(StatusCode::UNAUTHORIZED, "unknown authenticator");
    };
    let Ok(mut passkey) = serde_json::from_str::<Passkey>(&stored.passkey) else {
        return crate::web::internal(&"stored passkey unreadable");
    };
    let verified = if ceremony.kind == "passkey" {
        serde_json::from_str::<DiscoverableAuthentication>(&ceremony.state)
            .map_err(|_| WebauthnError::InvalidUserUniqueId)
            .and_then(|state| rp.finish_discoverable_authentication_v2(&assertion, state, &passkey))
    } else {
        serde_json::from_str::<PasskeyAuthentication>(&ceremony.state)
            .map_err(|_| WebauthnError::InvalidUserUniqueId)
            .and_then(|state| rp.finish_passkey_authentication(&assertion, &state))
    };
    let result = match verified {
        Ok(result) => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            let _ = idp
                .store
                .flag_webauthn_credential(&stored.credential_id, now)
                .await;
            let detail = json!({"result": "failure", "reason": "counter went backwards: the authenticator may be cloned", "name": stored.name});
            audit::record(
                &idp,
                &origin,
                "login.webauthn",
                Some(&account_id),
                None,
                detail,
            )
            .await;
            return problem(
                StatusCode::UNAUTHORIZED,
                "this authenticator may have been cloned; it is flagged",
            );
        }
        Err(e) => {
            tracing::info!(error = %e, "webauthn assertion refused");
            audit::record(
                &idp,
                &origin,
                "login.webauthn",
                Some(&account_id),
                None,
                json!({"result": "failure"}),
            )
            .await;
            return problem(
                StatusCode::UNAUTHORIZED,
                "the authenticator's answer did not verify",
            );
        }
    };
    passkey.update_credential(&result);
    if let Err(e) = idp
        .store
        .used_webauthn_credential(
            &stored.credential_id,
            &serde_json::to_string(&passkey).unwrap_or_default(),
            result.backup_eligible(),
            now,
        )
        .await
    {
        return crate::web::internal(&e);
    }
    let mut factors = Vec::new();
    if ceremony
        .context
        .get("factors")
        .and_then(Value::as_array)
        .is_some_and(|f| f.iter().any(|x| x == "pwd"))
    {
        factors.push(Factor::Password);
    }
    factors.push(Factor::WebAuthn {
        synced: result.backup_eligible(),
        user_verified: result.user_verified(),
    });
    let request = ceremony
        .context
        .get("request")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let response =
        resume_after_login(&idp, &headers, &origin, account_id, &factors, &request).await;
    as_json_redirect(response)
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

/// `GET /static/webauthn.js`.
pub async fn script() -> Response {
    let mut response = include_str!("../static/webauthn.js").into_response();
    crate::web::pages::secure_headers(response.headers_mut(), "text/javascript; charset=utf-8");
    response
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
    if !csrf_valid(&idp, &headers, &form.csrf) {
        return idp.pages.error(StatusCode::FORBIDDEN, locale, "error_csrf");
    }
    let Ok(Some(session)) = current_session(&idp, &headers).await else {
        return crate::oidc::authorize::see_other("/login");
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
            crate::oidc::authorize::see_other("/account")
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
            })
        })
        .collect()
}
