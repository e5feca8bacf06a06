//! The citizen's own pages: activation (also password reset) and the carpeta ciudadana at
//! `/account`: their registry data, **Mis documentos** (a summary of the wallet, counted
//! through the store: the provider does not depend on the wallet service), **Dónde usé mi
//! identidad y mis documentos** (the hash-chained audit trail, wallet events included),
//! **Permisos** (services with standing OpenID Connect consent, withdrawn after a confirmation,
//! and the relying parties the citizen presented documents to) and **Seguridad** (keys,
//! recovery codes, open sessions, password).

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

/// Everything the carpeta shows, read for the signed-in citizen only.
struct Carpeta {
    person: llavero_store::Person,
    consents: Vec<llavero_store::Consent>,
    sessions: Vec<llavero_store::Session>,
    history: Vec<llavero_store::AuditEntry>,
    keys: Vec<llavero_store::WebauthnCredential>,
    documents: usize,
    recovery_left: i64,
}

/// How many audit entries the carpeta reads: the newest [`HISTORY_SHOWN`] are listed, and all of
/// them are searched for the relying parties the citizen presented documents to.
const HISTORY_READ: i64 = 500;
/// How many entries "where I used my identity" lists at first, so that the sections after it
/// stay a short scroll away on a phone.
const HISTORY_SHORT: usize = 10;
/// How many it lists on request (`?historial=todo`; the JSON download has them all).
const HISTORY_SHOWN: usize = 50;

async fn load_carpeta(
    idp: &Idp,
    session: &llavero_store::Session,
) -> Result<Option<Carpeta>, llavero_store::StoreError> {
    let account_id = &session.account_id;
    let Some(account) = idp.store.account(account_id).await? else {
        return Ok(None);
    };
    let Some(person) = idp.store.person(account.run).await? else {
        return Ok(None);
    };
    Ok(Some(Carpeta {
        person,
        consents: idp.store.consents_of(account_id).await?,
        sessions: idp
            .store
            .sessions_of(account_id, idp.session_limits(), idp.now())
            .await?,
        history: idp.store.audit_of_account(account_id, HISTORY_READ).await?,
        keys: idp.store.webauthn_credentials(account_id).await?,
        documents: idp.store.held_credentials(account_id).await?.len(),
        recovery_left: idp.store.recovery_codes_left(account_id).await?,
    }))
}

/// The carpeta with the short history.
async fn account_page(
    idp: &Idp,
    headers: &HeaderMap,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    carpeta_page(idp, headers, (notice, error), status, HISTORY_SHORT).await
}

/// The carpeta ciudadana (`/account`): the citizen's data, their documents, where they used
/// their identity (the newest `history_shown` entries), the permissions they gave, and their
/// security.
async fn carpeta_page(
    idp: &Idp,
    headers: &HeaderMap,
    (notice, error): (Option<&str>, Option<&str>),
    status: StatusCode,
    history_shown: usize,
) -> Response {
    let locale = Locale::choose(None, headers);
    let session = match current_session(idp, headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return see_other("/login"),
        Err(e) => return crate::web::internal(&e),
    };
    let carpeta = match load_carpeta(idp, &session).await {
        Ok(Some(carpeta)) => carpeta,
        Ok(None) => return see_other("/login"),
        Err(e) => return crate::web::internal(&e),
    };
    let person = &carpeta.person;
    let run = u32::try_from(person.run)
        .ok()
        .and_then(|n| Run::from_number(n).ok())
        .map(|r| r.to_string())
        .unwrap_or_default();
    let names = client_names(idp, &carpeta.consents, &carpeta.history).await;
    let consents = consent_rows(idp, locale, &carpeta.consents);
    let sessions: Vec<_> = carpeta
        .sessions
        .iter()
        .map(|s| json!({"handle": s.handle, "created": idp.config.time_zone.format(s.created_at), "device": crate::web::display::device(&idp.pages, locale, Some(&s.user_agent)), "current": s.handle == session.handle}))
        .collect();
    let shown = carpeta
        .history
        .get(..history_shown)
        .unwrap_or(&carpeta.history);
    let more_history = carpeta.history.len() > shown.len() && history_shown < HISTORY_SHOWN;
    let history = history_rows(idp, locale, shown, &names);
    let presented = presented_to(idp, locale, &carpeta.history);
    let documents = idp
        .pages
        .message(
            locale,
            match carpeta.documents {
                0 => "documents_none",
                1 => "documents_one",
                _ => "documents_many",
            },
        )
        .replace("{n}", &carpeta.documents.to_string());
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
            "documents": documents,
            "consents": consents,
            "presented": presented,
            "sessions": sessions,
            "history": history,
            "more_history": more_history,
            "keys": crate::webauthn::key_rows(idp, locale, &carpeta.keys, |t| idp.config.time_zone.format(t)),
            "time_zone": idp.config.time_zone.name(),
            "recovery_left": carpeta.recovery_left,
        }),
    );
    csrf.attach(idp, &mut response);
    response
}

/// The scopes of a consent in the citizen's words (`openid` goes without saying).
fn scope_labels(idp: &Idp, locale: Locale, scopes: &[String]) -> String {
    scopes
        .iter()
        .filter(|s| *s != "openid")
        .map(|s| idp.pages.message(locale, &format!("scope_{s}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "Permisos": the services with standing consent, what they may read, since when.
fn consent_rows(
    idp: &Idp,
    locale: Locale,
    consents: &[llavero_store::Consent],
) -> Vec<serde_json::Value> {
    consents
        .iter()
        .map(|c| {
            json!({
                "client_id": c.client_id,
                "client_name": c.client_name,
                "scopes": scope_labels(idp, locale, &c.scopes),
                "since": idp.config.time_zone.format(c.granted_at),
            })
        })
        .collect()
}

/// Whom a wallet event was about: the relying party's name as the wallet recorded it
/// (`verifier`, `relying_party` or `client_name`, a string or an object with a `name`).
fn wallet_party(detail: &serde_json::Value) -> Option<String> {
    ["verifier", "relying_party", "client_name", "to"]
        .iter()
        .filter_map(|key| detail.get(*key))
        .find_map(|v| {
            v.as_str()
                .or_else(|| v.get("name").and_then(serde_json::Value::as_str))
                .or_else(|| v.get("client_id").and_then(serde_json::Value::as_str))
                .map(str::to_owned)
        })
        .filter(|name| !name.trim().is_empty())
}

/// What a wallet event shared: the labels (or names) of the claims the citizen disclosed,
/// and the documents they came from, as the wallet recorded them.
fn wallet_shared(detail: &serde_json::Value) -> Option<String> {
    let words = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(list) => list
                .iter()
                .filter_map(|item| {
                    item.as_str()
                        .or_else(|| item.get("label").and_then(serde_json::Value::as_str))
                        .or_else(|| item.get("name").and_then(serde_json::Value::as_str))
                        .map(str::to_owned)
                })
                .collect(),
            _ => Vec::new(),
        }
    };
    let shared: Vec<String> = ["claims", "shared", "disclosed"]
        .iter()
        .filter_map(|key| detail.get(*key))
        .flat_map(words)
        .collect();
    let documents: Vec<String> = ["documents", "credential_types", "types"]
        .iter()
        .filter_map(|key| detail.get(*key))
        .flat_map(words)
        .collect();
    match (shared.is_empty(), documents.is_empty()) {
        (true, true) => None,
        (false, true) => Some(shared.join(", ")),
        (true, false) => Some(documents.join(", ")),
        (false, false) => Some(format!("{} ({})", shared.join(", "), documents.join(", "))),
    }
}

/// "Permisos", second half: the relying parties the citizen presented documents to, read from
/// the audit trail (the wallet records each presentation there), newest first, one row each.
fn presented_to(
    idp: &Idp,
    locale: Locale,
    history: &[llavero_store::AuditEntry],
) -> Vec<serde_json::Value> {
    let mut seen: Vec<(String, i64, String, usize)> = Vec::new();
    for entry in history.iter().filter(|e| e.kind.starts_with("wallet.")) {
        let Some(party) = wallet_party(&entry.detail) else {
            continue;
        };
        if let Some(row) = seen.iter_mut().find(|row| row.0 == party) {
            row.3 += 1;
        } else {
            let shared = wallet_shared(&entry.detail).unwrap_or_default();
            seen.push((party, entry.at, shared, 1));
        }
    }
    seen.into_iter()
        .map(|(party, at, shared, times)| {
            json!({
                "party": party,
                "last": idp.config.time_zone.format(at),
                "shared": shared,
                "times": idp.pages.message(locale, "presented_times").replace("{n}", &times.to_string()),
            })
        })
        .collect()
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

/// "Where I used my identity and my documents": one row per audit entry, in the citizen's
/// language. Wallet entries name the relying party and what was shared from their own detail.
fn history_rows(
    idp: &Idp,
    locale: Locale,
    history: &[llavero_store::AuditEntry],
    names: &std::collections::HashMap<String, String>,
) -> Vec<serde_json::Value> {
    history
        .iter()
        .map(|e| {
            let scopes = e
                .detail
                .get("scopes")
                .and_then(serde_json::Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(serde_json::Value::as_str)
                        .filter(|s| *s != "openid")
                        .map(|s| idp.pages.message(locale, &format!("scope_{s}")))
                        .collect::<Vec<_>>()
                        .join(", ")
                });
            let wallet = e.kind.starts_with("wallet.");
            let service = e
                .client_id
                .as_deref()
                .and_then(|c| names.get(c))
                .cloned()
                .or_else(|| wallet.then(|| wallet_party(&e.detail)).flatten());
            let shared = scopes.or_else(|| wallet.then(|| wallet_shared(&e.detail)).flatten());
            let result = e
                .detail
                .get("result")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            json!({
                "when": idp.config.time_zone.format(e.at),
                "what": event_label(idp, locale, &e.kind, result),
                "service": service.unwrap_or_default(),
                "shared": shared.unwrap_or_default(),
                "device": crate::web::display::device(&idp.pages, locale, e.user_agent.as_deref()),
                "from": e.ip.clone().unwrap_or_default(),
            })
        })
        .collect()
}

/// The citizen's words for an audit event: `event_<kind>_<result>`, else `event_<kind>`, else
/// a plain fallback (wallet events another version adds, or any other), never a raw key.
fn event_label(idp: &Idp, locale: Locale, kind: &str, result: &str) -> String {
    let base = format!("event_{}", kind.replace('.', "_"));
    let specific = format!("{base}_{result}");
    let messages = idp.pages.messages(locale);
    let key = if !result.is_empty() && messages.get(&specific).is_some() {
        specific
    } else if messages.get(&base).is_some() {
        base
    } else if kind.starts_with("wallet.") {
        "event_wallet_other".to_owned()
    } else {
        "event_other".to_owned()
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
    } else if query.withdrawn.is_some() {
        Some("consent_withdrawn")
    } else {
        query.changed.is_some().then_some("factor_changed")
    };
    let shown = if query.historial.as_deref() == Some("todo") {
        HISTORY_SHOWN
    } else {
        HISTORY_SHORT
    };
    carpeta_page(&idp, &headers, (notice, None), StatusCode::OK, shown).await
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
    /// After a consent was withdrawn.
    #[serde(default)]
    withdrawn: Option<String>,
    /// `todo`: the longer history.
    #[serde(default)]
    historial: Option<String>,
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
    /// `yes` on the confirmation page's button: the first press only asks.
    #[serde(default)]
    confirm: String,
}

impl CsrfToken for AccountForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /account/consents/revoke`: withdraws a consent and revokes that client's tokens, after
/// a confirmation page (the first press only asks). Scoped to the signed-in citizen: a
/// `client_id` they gave no consent to withdraws nothing and says so. The next login to that
/// service asks for consent again.
pub async fn revoke_consent(
    State(idp): State<IdpState>,
    extensions: Extensions,
    headers: HeaderMap,
    SignedIn(session): SignedIn,
    CsrfForm(form): CsrfForm<AccountForm>,
) -> Response {
    let locale = Locale::choose(None, &headers);
    let consent = match idp.store.consents_of(&session.account_id).await {
        Ok(all) => all.into_iter().find(|c| c.client_id == form.client_id),
        Err(e) => return crate::web::internal(&e),
    };
    let Some(consent) = consent else {
        return account_page(
            &idp,
            &headers,
            None,
            Some("consent_not_found"),
            StatusCode::NOT_FOUND,
        )
        .await;
    };
    if form.confirm != "yes" {
        let csrf = CsrfSecret::from_request(&idp, &headers);
        let mut response = idp.pages.render(
            StatusCode::OK,
            "withdraw.html",
            locale,
            json!({
                "csrf": csrf.form_token(&idp),
                "client_id": consent.client_id,
                "client_name": consent.client_name,
                "scopes": scope_labels(&idp, locale, &consent.scopes),
            }),
        );
        csrf.attach(&idp, &mut response);
        return response;
    }
    if let Err(e) = idp
        .store
        .revoke_consent(&session.account_id, &consent.client_id, idp.now())
        .await
    {
        return crate::web::internal(&e);
    }
    let detail =
        json!({"result": "revoked", "by": "account page", "withdrawn_scopes": consent.scopes});
    audit::record(
        &idp,
        &Origin::of(&extensions, &headers),
        "consent",
        Some(&session.account_id),
        Some(&consent.client_id),
        detail,
    )
    .await;
    see_other("/account?withdrawn=1#permisos")
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
