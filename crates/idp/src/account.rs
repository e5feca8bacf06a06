//! The citizen's own pages: activation (also password reset) and the account page (registry
//! profile, connected services with revoke, open sessions with "end session", password change).

use axum::extract::{Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;
use serde_json::json;

use crate::accounts::{self, ActivationFailure};
use crate::audit::{self, Origin};
use crate::extract::{CsrfForm, CsrfToken, SignedIn};
use crate::password::PasswordError;
use crate::registry::Run;
use crate::session::current_session;
use crate::state::{Idp, IdpState};
use crate::web::pages::Locale;
use crate::web::{ClientAddress, CsrfSecret, RateClass, csrf_valid, rate_limit, see_other};

fn password_message(e: PasswordError) -> &'static str {
    match e {
        PasswordError::TooShort => "password_too_short",
        PasswordError::TooLong => "password_too_long",
        PasswordError::Common => "password_common",
        PasswordError::Mismatch => "password_mismatch",
        PasswordError::Hashing => "bad_activation",
    }
}

fn activate_page(
    idp: &Idp,
    status: StatusCode,
    headers: &HeaderMap,
    typed: &ActivateForm,
    error: Option<&str>,
) -> Response {
    let locale = Locale::choose(None, headers);
    let csrf = CsrfSecret::from_request(idp, headers);
    // What the citizen typed stays in the form (never the passwords), so a failed attempt
    // costs only the fix, not copying the code and serial again.
    let mut response = idp.pages.render(
        status,
        "activate.html",
        locale,
        json!({"csrf": csrf.form_token(idp), "run": typed.run, "code": typed.code, "serial": typed.serial, "error": error.map(|k| idp.pages.message(locale, k))}),
    );
    csrf.attach(idp, &mut response);
    response
}

/// `GET /activate`.
pub async fn activate_form(State(idp): State<IdpState>, headers: HeaderMap) -> Response {
    activate_page(
        &idp,
        StatusCode::OK,
        &headers,
        &ActivateForm::default(),
        None,
    )
}

/// The activation form.
#[derive(Debug, Default, Deserialize)]
pub struct ActivateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    run: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    serial: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

/// `POST /activate`.
pub async fn activate(
    State(idp): State<IdpState>,
    extensions: Extensions,
    headers: HeaderMap,
    axum::Form(form): axum::Form<ActivateForm>,
) -> Response {
    if !csrf_valid(&idp, &headers, &form.csrf) {
        return idp.pages.error(
            StatusCode::FORBIDDEN,
            Locale::choose(None, &headers),
            "error_csrf",
        );
    }
    if let Err(limited) = rate_limit(&idp, RateClass::Login, &ClientAddress::of(&extensions)).await
    {
        return limited.into_response();
    }
    match accounts::activate(
        &idp,
        &form.run,
        &form.code,
        &form.serial,
        &form.password,
        &form.password_confirm,
    )
    .await
    {
        Ok(Ok(account_id)) => {
            audit::record(
                &idp,
                &Origin::of(&extensions, &headers),
                "account.activated",
                Some(&account_id),
                None,
                json!({}),
            )
            .await;
            see_other("/login?activated=1")
        }
        Ok(Err(ActivationFailure::BadRun)) => activate_page(
            &idp,
            StatusCode::BAD_REQUEST,
            &headers,
            &form,
            Some(crate::web::pages::run_error_key(&form.run)),
        ),
        Ok(Err(ActivationFailure::Password(e))) => activate_page(
            &idp,
            StatusCode::BAD_REQUEST,
            &headers,
            &form,
            Some(password_message(e)),
        ),
        Ok(Err(ActivationFailure::Mismatch)) => activate_page(
            &idp,
            StatusCode::BAD_REQUEST,
            &headers,
            &form,
            Some("bad_activation"),
        ),
        Ok(Err(ActivationFailure::Busy)) => crate::web::busy(&headers, |status| {
            activate_page(&idp, status, &headers, &form, Some("busy"))
        }),
        Err(e) => crate::web::internal(&e),
    }
}

async fn account_page(
    idp: &Idp,
    headers: &HeaderMap,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let locale = Locale::choose(None, headers);
    let session = match current_session(idp, headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return see_other("/login"),
        Err(e) => return crate::web::internal(&e),
    };
    let now = idp.now();
    let loaded = async {
        let account = idp.store.account(&session.account_id).await?;
        let person = match &account {
            Some(a) => idp.store.person(a.run).await?,
            None => None,
        };
        let consents = idp.store.consents_of(&session.account_id).await?;
        let sessions = idp
            .store
            .sessions_of(&session.account_id, idp.session_limits(), now)
            .await?;
        let history = idp.store.audit_of_account(&session.account_id, 50).await?;
        let keys = idp.store.webauthn_credentials(&session.account_id).await?;
        Ok::<_, llavero_store::StoreError>((person, consents, sessions, history, keys))
    }
    .await;
    let (person, consents, sessions, history, keys) = match loaded {
        Ok((Some(person), consents, sessions, history, keys)) => {
            (person, consents, sessions, history, keys)
        }
        Ok((None, ..)) => return see_other("/login"),
        Err(e) => return crate::web::internal(&e),
    };
    let run = u32::try_from(person.run)
        .ok()
        .and_then(|n| Run::from_number(n).ok())
        .map(|r| r.to_string())
        .unwrap_or_default();
    let names = client_names(idp, &consents, &history).await;
    let consents: Vec<_> = consents
        .iter()
        .map(|c| {
            let scopes: Vec<String> = c.scopes.iter().filter(|s| *s != "openid").map(|s| idp.pages.message(locale, &format!("scope_{s}"))).collect();
            json!({"client_id": c.client_id, "client_name": c.client_name, "scopes": scopes.join(", ")})
        })
        .collect();
    let sessions: Vec<_> = sessions
        .iter()
        .map(|s| json!({"handle": s.handle, "created": idp.config.time_zone.format(s.created_at), "device": crate::web::display::device(&idp.pages, locale, Some(&s.user_agent)), "current": s.handle == session.handle}))
        .collect();
    let history = history_rows(idp, locale, &history, &names);
    let csrf = CsrfSecret::from_request(idp, headers);
    let mut response = idp.pages.render(
        status,
        "account.html",
        locale,
        json!({
            "csrf": csrf.form_token(idp),
            "notice": notice.map(|k| idp.pages.message(locale, k)),
            "offer_end_others": notice == Some("factor_changed"),
            "error": error.map(|k| idp.pages.message(locale, k)),
            "run": run,
            "given_names": person.given_names,
            "surnames": format!("{} {}", person.paternal_surname, person.maternal_surname).trim(),
            "birth_date": person.birth_date,
            "nationality": person.nationality,
            "consents": consents,
            "sessions": sessions,
            "history": history,
            "keys": crate::webauthn::key_rows(idp, locale, &keys, |t| idp.config.time_zone.format(t)),
            "time_zone": idp.config.time_zone.name(),
            "recovery_left": idp.store.recovery_codes_left(&session.account_id).await.unwrap_or(0),
        }),
    );
    csrf.attach(idp, &mut response);
    response
}

/// Display names of the clients in the consents and the history.
async fn client_names(
    idp: &Idp,
    consents: &[llavero_store::Consent],
    history: &[llavero_store::AuditEntry],
) -> std::collections::HashMap<String, String> {
    let mut names: std::collections::HashMap<String, String> = consents
        .iter()
        .map(|c| (c.client_id.clone(), c.client_name.clone()))
        .collect();
    for entry in history {
        let unknown = entry
            .client_id
            .as_deref()
            .filter(|c| !names.contains_key(*c));
        if let Some(client) = unknown
            && let Ok(Some(found)) = idp.client(client).await
        {
            names.insert(found.id, found.name);
        }
    }
    names
}

/// "Where your identity was used": one row per audit entry, in the citizen's language.
fn history_rows(
    idp: &Idp,
    locale: Locale,
    history: &[llavero_store::AuditEntry],
    names: &std::collections::HashMap<String, String>,
) -> Vec<serde_json::Value> {
    history
        .iter()
        .map(|e| {
            let scopes = e.detail.get("scopes").and_then(serde_json::Value::as_array).map(|list| {
                list.iter()
                    .filter_map(serde_json::Value::as_str)
                    .filter(|s| *s != "openid")
                    .map(|s| idp.pages.message(locale, &format!("scope_{s}")))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            let result = e.detail.get("result").and_then(serde_json::Value::as_str).unwrap_or("");
            json!({
                "when": idp.config.time_zone.format(e.at),
                "what": event_label(idp, locale, &e.kind, result),
                "service": e.client_id.as_deref().and_then(|c| names.get(c)).cloned().unwrap_or_default(),
                "shared": scopes.unwrap_or_default(),
                "device": crate::web::display::device(&idp.pages, locale, e.user_agent.as_deref()),
                "from": e.ip.clone().unwrap_or_default(),
            })
        })
        .collect()
}

/// The citizen's words for an audit event: `event_<kind>_<result>`, else `event_<kind>`.
fn event_label(idp: &Idp, locale: Locale, kind: &str, result: &str) -> String {
    let base = format!("event_{}", kind.replace('.', "_"));
    let specific = format!("{base}_{result}");
    let messages = idp.pages.messages(locale);
    let key = if !result.is_empty() && messages.get(&specific).is_some() {
        specific
    } else {
        base
    };
    idp.pages.message(locale, &key)
}

/// `GET /account`.
pub async fn account(
    State(idp): State<IdpState>,
    headers: HeaderMap,
    Query(query): Query<AccountQuery>,
) -> Response {
    let notice = if query.enrol.as_deref() == Some("required") {
        Some("enrol_required")
    } else if query.enrol.is_some() {
        Some("enrol_now")
    } else if query.confirmed.is_some() {
        Some("factor_confirmed")
    } else {
        query.changed.is_some().then_some("factor_changed")
    };
    account_page(&idp, &headers, notice, None, StatusCode::OK).await
}

/// `?enrol=1` after a login with a recovery code, `?enrol=required` when the provider requires a
/// second factor and the account has none.
#[derive(Debug, Deserialize)]
pub struct AccountQuery {
    #[serde(default)]
    enrol: Option<String>,
    #[serde(default)]
    changed: Option<String>,
    /// After a confirmation with a key (one factor change allowed).
    #[serde(default)]
    confirmed: Option<String>,
}

/// `POST /account/sessions/end-others`: after a factor change, ends every other session.
pub async fn end_other_sessions(
    State(idp): State<IdpState>,
    extensions: Extensions,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    CsrfForm(_form): CsrfForm<AccountForm>,
) -> Response {
    match idp
        .store
        .end_other_sessions(&session.account_id, &session.handle, idp.now())
        .await
    {
        Ok(ended) => {
            let detail = json!({"by": "account page", "other_sessions": ended});
            audit::record(
                &idp,
                &Origin::of(&extensions, &headers),
                "session.ended",
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

/// Forms on the account page.
#[derive(Debug, Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    handle: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

impl CsrfToken for AccountForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /account/consents/revoke`: withdraws a consent and revokes that client's tokens.
pub async fn revoke_consent(
    State(idp): State<IdpState>,
    extensions: Extensions,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    CsrfForm(form): CsrfForm<AccountForm>,
) -> Response {
    if let Err(e) = idp
        .store
        .revoke_consent(&session.account_id, &form.client_id, idp.now())
        .await
    {
        return crate::web::internal(&e);
    }
    let detail = json!({"result": "revoked"});
    audit::record(
        &idp,
        &Origin::of(&extensions, &headers),
        "consent",
        Some(&session.account_id),
        Some(&form.client_id),
        detail,
    )
    .await;
    see_other("/account")
}

/// `POST /account/sessions/end`: ends one of the account's sessions.
pub async fn end_session(
    State(idp): State<IdpState>,
    extensions: Extensions,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    CsrfForm(form): CsrfForm<AccountForm>,
) -> Response {
    if let Err(e) = idp
        .store
        .end_session(&session.account_id, &form.handle, idp.now())
        .await
    {
        return crate::web::internal(&e);
    }
    let detail = json!({"by": "account page", "sid": form.handle});
    audit::record(
        &idp,
        &Origin::of(&extensions, &headers),
        "session.ended",
        Some(&session.account_id),
        None,
        detail,
    )
    .await;
    see_other(if form.handle == session.handle {
        "/login"
    } else {
        "/account"
    })
}

/// `POST /account/password`.
pub async fn change_password(
    State(idp): State<IdpState>,
    extensions: Extensions,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    CsrfForm(form): CsrfForm<AccountForm>,
) -> Response {
    if let Err(limited) = rate_limit(&idp, RateClass::Login, &ClientAddress::of(&extensions)).await
    {
        return limited.into_response();
    }
    match accounts::change_password(
        &idp,
        &session.account_id,
        &form.current,
        &form.password,
        &form.password_confirm,
    )
    .await
    {
        Ok(Ok(())) => {
            audit::record(
                &idp,
                &Origin::of(&extensions, &headers),
                "password.changed",
                Some(&session.account_id),
                None,
                json!({}),
            )
            .await;
            account_page(
                &idp,
                &headers,
                Some("password_changed"),
                None,
                StatusCode::OK,
            )
            .await
        }
        Ok(Err(ActivationFailure::Password(e))) => {
            account_page(
                &idp,
                &headers,
                None,
                Some(password_message(e)),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Ok(Err(ActivationFailure::Busy)) => {
            let page = account_page(
                &idp,
                &headers,
                None,
                Some("busy"),
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await;
            crate::web::busy(&headers, |_| page)
        }
        Ok(Err(_)) => {
            account_page(
                &idp,
                &headers,
                None,
                Some("bad_credentials"),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => crate::web::internal(&e),
    }
}

/// `GET /account/history.json`: the citizen's own audit history, to keep.
pub async fn history_json(State(idp): State<IdpState>, SignedIn(session): SignedIn) -> Response {
    match idp
        .store
        .audit_of_account(&session.account_id, 10_000)
        .await
    {
        Ok(entries) => {
            let mut response =
                axum::Json(json!({"account": session.account_id, "events": entries}))
                    .into_response();
            response.headers_mut().insert(
                axum::http::header::CONTENT_DISPOSITION,
                axum::http::HeaderValue::from_static(
                    "attachment; filename=\"llavero-history.json\"",
                ),
            );
            response.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            response
        }
        Err(e) => crate::web::internal(&e),
    }
}
