//! The front channel: `/par`, `/authorize`, and the login and consent steps between them.
//!
//! A pending request lives in the database under a random id, bound to the browser that
//! continued it (a hash of its CSRF cookie), so any instance can serve any step and a link to
//! someone else's pending request leads nowhere. The login is a sequence of factors
//! ([`crate::factors`]); the request proceeds once the session reaches the `acr` it needs.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::{LOCATION, SET_COOKIE, USER_AGENT};
use axum::http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use llavero_store::{
    AuthorizationRequest, Client, IssuedCode, NewGrant, NewSession, Session, hash_secret,
};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq as _;

use super::request::{
    AuthParams, RequestError, error_redirect, join_query, parse_params, validate,
};
use super::token::peer;
use super::{OAuthError, client_auth, no_store};
use crate::accounts::LoginOutcome;
use crate::audit::{self, Origin};
use crate::factors::{Factor, acr_for, acr_satisfies, amr_for};
use crate::state::{Idp, IdpState};
use crate::web::pages::{Locale, allow_form_targets};
use crate::web::{CookieName, CsrfSecret, RateClass, cookie, csrf_valid, rate_limit, set_cookie};

const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a pushed request may wait for `/authorize` (RFC 9126 suggests a short time).
const PAR_LIFETIME: i64 = 90;

/// A 303 See Other.
pub(crate) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, v);
    }
    response
}

/// `POST /par` (RFC 9126).
pub async fn par(
    State(idp): State<IdpState>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, client) =
        match client_auth::client_request(&idp, &extensions, &headers, &body, "par").await {
            Ok(found) => found,
            Err(response) => return response,
        };
    if form.contains_key("request_uri") {
        return OAuthError::bad(
            "invalid_request",
            "request_uri is not allowed at the PAR endpoint",
        )
        .into_response();
    }
    let params = match validate(&client, &form) {
        Ok(params) => params,
        Err(RequestError::Untrusted) => {
            return OAuthError::bad(
                "invalid_request",
                "redirect_uri is missing or not registered",
            )
            .into_response();
        }
        Err(
            RequestError::Redirect {
                error, description, ..
            }
            | RequestError::Direct { error, description },
        ) => {
            return OAuthError::bad(error, description).into_response();
        }
    };
    let now = idp.now();
    let id = crate::random::token();
    let request = AuthorizationRequest {
        id: id.clone(),
        client_id: client.id.clone(),
        params: json!(params),
        pushed: true,
        expires_at: now + PAR_LIFETIME,
    };
    if let Err(e) = idp.store.put_authorization_request(&request, now).await {
        return OAuthError::server(&e).into_response();
    }
    let mut response = (
        StatusCode::CREATED,
        Json(
            json!({"request_uri": format!("{REQUEST_URI_PREFIX}{id}"), "expires_in": PAR_LIFETIME}),
        ),
    )
        .into_response();
    no_store(&mut response);
    response
}

/// `GET|POST /authorize`.
pub async fn authorize(
    State(idp): State<IdpState>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: Bytes,
) -> Response {
    let raw = if method == Method::POST {
        body.to_vec()
    } else {
        uri.query().unwrap_or("").as_bytes().to_vec()
    };
    let csrf = CsrfSecret::from_request(&idp, &headers);
    let locale = Locale::choose(None, &headers);
    let mut response = match start(&idp, &raw, &headers, &csrf).await {
        Ok(response) | Err(response) => response,
    };
    if response.status().is_client_error() || response.status().is_server_error() {
        return if response.status() == StatusCode::INTERNAL_SERVER_ERROR {
            response
        } else {
            idp.pages.error(response.status(), locale, "error_client")
        };
    }
    csrf.attach(&idp, &mut response);
    response
}

async fn start(
    idp: &Idp,
    raw: &[u8],
    headers: &HeaderMap,
    csrf: &CsrfSecret,
) -> Result<Response, Response> {
    let form = parse_params(raw).map_err(|_| StatusCode::BAD_REQUEST.into_response())?;
    let client_id = form
        .get("client_id")
        .ok_or_else(|| StatusCode::BAD_REQUEST.into_response())?;
    let client = idp
        .store
        .client(client_id)
        .await
        .map_err(|e| crate::web::internal(&e))?
        .ok_or_else(|| StatusCode::BAD_REQUEST.into_response())?;
    let now = idp.now();
    let id = crate::random::id();
    let session = current_session(idp, headers)
        .await
        .map_err(|e| crate::web::internal(&e))?;
    let prior_session = session.as_ref().map(|s| s.handle.clone());
    let params = if let Some(request_uri) = form.get("request_uri") {
        let pushed_id = request_uri
            .strip_prefix(REQUEST_URI_PREFIX)
            .ok_or_else(|| StatusCode::BAD_REQUEST.into_response())?;
        let pushed = idp
            .store
            .authorization_request(pushed_id, now)
            .await
            .map_err(|e| crate::web::internal(&e))?
            .filter(|r| r.pushed && r.client_id == client.id)
            .ok_or_else(|| StatusCode::BAD_REQUEST.into_response())?;
        let mut params: AuthParams =
            serde_json::from_value(pushed.params).map_err(|e| crate::web::internal(&e))?;
        params.browser = Some(csrf.browser_binding());
        params.requested_at = now;
        params.prior_session.clone_from(&prior_session);
        let next = AuthorizationRequest {
            id: id.clone(),
            client_id: client.id.clone(),
            params: json!(params),
            pushed: true,
            expires_at: now + idp.config.request_secs,
        };
        if !idp
            .store
            .take_pushed_request(pushed_id, &next, now)
            .await
            .map_err(|e| crate::web::internal(&e))?
        {
            return Err(StatusCode::BAD_REQUEST.into_response());
        }
        params
    } else {
        let mut params = match validate(&client, &form) {
            Ok(params) => params,
            Err(RequestError::Untrusted | RequestError::Direct { .. }) => {
                return Err(StatusCode::BAD_REQUEST.into_response());
            }
            Err(RequestError::Redirect {
                redirect_uri,
                state,
                error,
                description,
            }) => {
                return Ok(see_other(&error_redirect(
                    &redirect_uri,
                    state.as_deref(),
                    &idp.config.issuer,
                    error,
                    description,
                )));
            }
        };
        params.browser = Some(csrf.browser_binding());
        params.requested_at = now;
        params.prior_session.clone_from(&prior_session);
        let request = AuthorizationRequest {
            id: id.clone(),
            client_id: client.id.clone(),
            params: json!(params),
            pushed: false,
            expires_at: now + idp.config.request_secs,
        };
        idp.store
            .put_authorization_request(&request, now)
            .await
            .map_err(|e| crate::web::internal(&e))?;
        params
    };

    Ok(proceed(
        idp,
        &id,
        &params,
        &client,
        session.as_ref(),
        Fresh::default(),
    )
    .await)
}

/// The live session behind the request's cookie.
pub(crate) async fn current_session(
    idp: &Idp,
    headers: &HeaderMap,
) -> Result<Option<Session>, llavero_store::StoreError> {
    match cookie(idp, headers, CookieName::Session) {
        Some(value) => {
            idp.store
                .session(&hash_secret(&value), idp.session_limits(), idp.now())
                .await
        }
        None => Ok(None),
    }
}

/// Whether the citizen consented in this very request, so `prompt=consent` is satisfied once
/// rather than forever.
#[derive(Debug, Default, Clone, Copy)]
struct Fresh {
    consent: bool,
}

fn to_client(idp: &Idp, params: &AuthParams, error: &str, description: &str) -> Response {
    see_other(&error_redirect(
        &params.redirect_uri,
        params.state.as_deref(),
        &idp.config.issuer,
        error,
        description,
    ))
}

/// Decides the next step of a pending request: log in, consent, or the code.
async fn proceed(
    idp: &Idp,
    id: &str,
    params: &AuthParams,
    client: &Client,
    session: Option<&Session>,
    fresh: Fresh,
) -> Response {
    let now = idp.now();
    let prompt = |p: &str| params.prompt.iter().any(|x| x == p);
    let too_old = |s: &Session| params.max_age.is_some_and(|max| now - s.auth_time > max);
    // A login during this request satisfies prompt=login and max_age.
    let logged_in_now = |s: &Session| {
        s.created_at >= params.requested_at
            && params.prior_session.as_deref() != Some(s.handle.as_str())
    };
    let session = session.filter(|s| logged_in_now(s) || (!prompt("login") && !too_old(s)));
    let Some(session) = session else {
        if prompt("none") {
            let _ = idp.store.consume_authorization_request(id, now).await;
            return to_client(
                idp,
                params,
                "login_required",
                "the citizen is not logged in",
            );
        }
        return see_other(&format!("/login?request={id}"));
    };
    if idp.config.require_enrolment && session.acr == crate::factors::ACR_LOW {
        match idp.store.webauthn_credentials(&session.account_id).await {
            Ok(keys) if keys.is_empty() => return see_other("/account?enrol=required"),
            Ok(_) => {}
            Err(e) => return crate::web::internal(&e),
        }
    }
    if !acr_satisfies(&session.acr, &params.acr) {
        // Step-up: a session from before this request logs in again (with every factor the
        // account has); one made for this request that still falls short cannot be served.
        if logged_in_now(session) || prompt("none") {
            let _ = idp.store.consume_authorization_request(id, now).await;
            return to_client(
                idp,
                params,
                "access_denied",
                "the required authentication level was not reached",
            );
        }
        return see_other(&format!("/login?request={id}"));
    }
    let consented = match idp.store.consent(&session.account_id, &client.id).await {
        Ok(consent) => consent,
        Err(e) => return crate::web::internal(&e),
    };
    let covered = consented.is_some_and(|c| params.scopes.iter().all(|s| c.contains(s)));
    if !fresh.consent && (!covered || prompt("consent")) {
        if prompt("none") {
            let _ = idp.store.consume_authorization_request(id, now).await;
            return to_client(
                idp,
                params,
                "consent_required",
                "the citizen has not consented",
            );
        }
        return see_other(&format!("/consent?request={id}"));
    }
    issue_code(idp, id, params, session).await
}

async fn issue_code(idp: &Idp, id: &str, params: &AuthParams, session: &Session) -> Response {
    let now = idp.now();
    let grant = NewGrant {
        id: crate::random::id(),
        account_id: session.account_id.clone(),
        client_id: params.client_id.clone(),
        session_handle: session.handle.clone(),
        scope: params.scopes.join(" "),
        auth_time: session.auth_time,
        acr: session.acr.clone(),
        amr: session.amr.clone(),
    };
    let code = crate::random::token();
    let issued = IssuedCode {
        grant: grant.clone(),
        redirect_uri: params.redirect_uri.clone(),
        code_challenge: params.code_challenge.clone(),
        nonce: params.nonce.clone(),
        expires_at: now + idp.config.code_secs,
    };
    match idp
        .store
        .issue_code(id, &grant, &hash_secret(&code), &issued, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return idp.pages.error(
                StatusCode::BAD_REQUEST,
                Locale::choose(params.ui_locales.as_deref(), &HeaderMap::new()),
                "error_request",
            );
        }
        Err(e) => return crate::web::internal(&e),
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("code", &code);
    if let Some(state) = &params.state {
        query.append_pair("state", state);
    }
    query.append_pair("iss", &idp.config.issuer);
    see_other(&join_query(&params.redirect_uri, &query.finish()))
}

/// A pending request this browser may continue.
struct Pending {
    params: AuthParams,
    client: Client,
}

async fn pending(
    idp: &Idp,
    id: &str,
    csrf: &CsrfSecret,
) -> Result<Option<Pending>, llavero_store::StoreError> {
    let Some(request) = idp.store.authorization_request(id, idp.now()).await? else {
        return Ok(None);
    };
    let Ok(params) = serde_json::from_value::<AuthParams>(request.params) else {
        return Ok(None);
    };
    let bound = params
        .browser
        .as_deref()
        .is_some_and(|b| bool::from(b.as_bytes().ct_eq(csrf.browser_binding().as_bytes())));
    if !bound {
        return Ok(None);
    }
    let Some(client) = idp.client(&request.client_id).await? else {
        return Ok(None);
    };
    Ok(Some(Pending { params, client }))
}

/// Query of the login and consent pages.
#[derive(Debug, Deserialize)]
pub struct StepQuery {
    #[serde(default)]
    request: String,
}

/// What the login page shows besides the form.
#[derive(Default)]
struct LoginView<'a> {
    request: &'a str,
    client: Option<&'a Client>,
    run: &'a str,
    error: Option<&'a str>,
}

fn login_page(
    idp: &Idp,
    status: StatusCode,
    locale: Locale,
    csrf: &CsrfSecret,
    view: &LoginView<'_>,
) -> Response {
    let mut response = idp.pages.render(
        status,
        "login.html",
        locale,
        json!({
            "csrf": csrf.form_token(idp),
            "request": view.request,
            "client_name": view.client.map(|c| c.name.clone()),
            "run": view.run,
            "error": view.error.map(|k| idp.pages.message(locale, k)),
        }),
    );
    if let Some(client) = view.client {
        allow_form_targets(
            &mut response,
            client.redirect_uris.iter().map(String::as_str),
        );
    }
    csrf.attach(idp, &mut response);
    response
}

/// A page of a relying party's flow: its forms may end in a redirect to the party's
/// registered redirect URIs (`form-action`).
fn flow_page(
    idp: &Idp,
    template: &str,
    locale: Locale,
    context: serde_json::Value,
    client: Option<&Client>,
) -> Response {
    let mut response = idp.pages.render(StatusCode::OK, template, locale, context);
    if let Some(client) = client {
        allow_form_targets(
            &mut response,
            client.redirect_uris.iter().map(String::as_str),
        );
    }
    response
}

/// `GET /login`.
pub async fn login_form(
    State(idp): State<IdpState>,
    headers: HeaderMap,
    Query(query): Query<StepQuery>,
) -> Response {
    let csrf = CsrfSecret::from_request(&idp, &headers);
    if query.request.is_empty() {
        return login_page(
            &idp,
            StatusCode::OK,
            Locale::choose(None, &headers),
            &csrf,
            &LoginView::default(),
        );
    }
    match pending(&idp, &query.request, &csrf).await {
        Ok(Some(p)) => {
            let locale = Locale::choose(p.params.ui_locales.as_deref(), &headers);
            let view = LoginView {
                request: &query.request,
                client: Some(&p.client),
                ..LoginView::default()
            };
            login_page(&idp, StatusCode::OK, locale, &csrf, &view)
        }
        Ok(None) => idp.pages.error(
            StatusCode::BAD_REQUEST,
            Locale::choose(None, &headers),
            "error_request",
        ),
        Err(e) => crate::web::internal(&e),
    }
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    run: String,
    #[serde(default)]
    password: String,
}

/// `POST /login`: the password factor.
pub async fn login(
    State(idp): State<IdpState>,
    extensions: Extensions,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let csrf = CsrfSecret::from_request(&idp, &headers);
    let mut locale = Locale::choose(None, &headers);
    if !csrf_valid(&idp, &headers, &form.csrf) {
        return idp.pages.error(StatusCode::FORBIDDEN, locale, "error_csrf");
    }
    if let Err(limited) = rate_limit(&idp, RateClass::Login, &peer(&extensions)).await {
        return limited;
    }
    let pending = if form.request.is_empty() {
        None
    } else {
        match pending(&idp, &form.request, &csrf).await {
            Ok(Some(p)) => Some(p),
            Ok(None) => {
                return idp
                    .pages
                    .error(StatusCode::BAD_REQUEST, locale, "error_request");
            }
            Err(e) => return crate::web::internal(&e),
        }
    };
    if let Some(p) = &pending {
        locale = Locale::choose(p.params.ui_locales.as_deref(), &headers);
    }
    let client = pending.as_ref().map(|p| &p.client);
    let page = |status, error| {
        let view = LoginView {
            request: &form.request,
            client,
            run: &form.run,
            error: Some(error),
        };
        login_page(&idp, status, locale, &csrf, &view)
    };
    let outcome = match crate::accounts::authenticate(&idp, &form.run, &form.password).await {
        Ok(outcome) => outcome,
        Err(e) => return crate::web::internal(&e),
    };
    let origin = Origin::of(&extensions, &headers);
    let client_id = client.map(|c| c.id.as_str());
    let account_id = match outcome {
        LoginOutcome::Success { account_id } => account_id,
        LoginOutcome::BadRun => return page(StatusCode::BAD_REQUEST, "bad_run"),
        LoginOutcome::Failed { account_id } => {
            audit::record(
                &idp,
                &origin,
                "login.password",
                account_id.as_deref(),
                client_id,
                json!({"result": "failure"}),
            )
            .await;
            return page(StatusCode::UNAUTHORIZED, "bad_credentials");
        }
        LoginOutcome::Locked => return page(StatusCode::FORBIDDEN, "locked"),
        LoginOutcome::Busy => return crate::web::busy(&headers, |status| page(status, "busy")),
        LoginOutcome::Wait { retry_after } => {
            return crate::web::with_retry_after(
                page(StatusCode::TOO_MANY_REQUESTS, "wait"),
                retry_after,
            );
        }
    };
    audit::record(
        &idp,
        &origin,
        "login.password",
        Some(&account_id),
        client_id,
        json!({"result": "success"}),
    )
    .await;
    // With an authenticator enrolled, the password is only the first factor.
    match crate::webauthn::second_factor(&idp, &csrf, &account_id, &form.request).await {
        Ok(Some((ceremony, options))) => {
            let context = json!({"csrf": csrf.form_token(&idp), "ceremony": ceremony, "options": options.to_string()});
            let mut response = flow_page(&idp, "second_factor.html", locale, context, client);
            csrf.attach(&idp, &mut response);
            response
        }
        Ok(None) => {
            resume_after_login(
                &idp,
                &headers,
                &origin,
                account_id,
                &[Factor::Password],
                &form.request,
            )
            .await
        }
        Err(response) => response,
    }
}

/// Once every factor is done: a new session, then the pending authorization request (or the
/// account page), with the session cookie set.
pub(crate) async fn resume_after_login(
    idp: &Idp,
    headers: &HeaderMap,
    origin: &Origin,
    account_id: String,
    factors: &[Factor],
    request: &str,
) -> Response {
    let (session, value) = match start_session(idp, headers, account_id, factors).await {
        Ok(started) => started,
        Err(e) => return crate::web::internal(&e),
    };
    let detail =
        json!({"result": "success", "acr": session.acr, "amr": session.amr, "sid": session.handle});
    audit::record(
        idp,
        origin,
        "session.started",
        Some(&session.account_id),
        None,
        detail,
    )
    .await;
    let csrf = CsrfSecret::from_request(idp, headers);
    let pending = if request.is_empty() {
        None
    } else {
        pending(idp, request, &csrf).await.ok().flatten()
    };
    let mut response = match pending {
        Some(p) => {
            proceed(
                idp,
                request,
                &p.params,
                &p.client,
                Some(&session),
                Fresh::default(),
            )
            .await
        }
        None => see_other("/account"),
    };
    response.headers_mut().append(
        SET_COOKIE,
        set_cookie(idp, CookieName::Session, &value, None),
    );
    response
}

/// Creates a session for `account_id` once its factors are complete: a new id at every login
/// (against session fixation); the session the browser had, if any, ends. Returns the session
/// and the cookie value.
pub(crate) async fn start_session(
    idp: &Idp,
    headers: &HeaderMap,
    account_id: String,
    factors: &[Factor],
) -> Result<(Session, String), llavero_store::StoreError> {
    let now = idp.now();
    let value = crate::random::token();
    let new = NewSession {
        id_hash: hash_secret(&value),
        handle: crate::random::id(),
        account_id,
        auth_time: now,
        acr: acr_for(factors).to_owned(),
        amr: amr_for(factors),
        user_agent: headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(200)
            .collect(),
        // A login with WebAuthn or a recovery code is itself a fresh confirmation for one
        // factor change (enrolling the new key after a recovery, typically).
        confirmed_at: factors
            .iter()
            .any(|f| matches!(f, Factor::WebAuthn { .. } | Factor::RecoveryCode))
            .then_some(now),
    };
    let old = cookie(idp, headers, CookieName::Session).map(|v| hash_secret(&v));
    idp.store.create_session(&new, old.as_deref(), now).await?;
    let session = Session {
        handle: new.handle,
        account_id: new.account_id,
        created_at: now,
        last_seen_at: now,
        auth_time: now,
        acr: new.acr,
        amr: new.amr,
        user_agent: new.user_agent,
    };
    Ok((session, value))
}

/// `GET /consent`.
pub async fn consent_form(
    State(idp): State<IdpState>,
    headers: HeaderMap,
    Query(query): Query<StepQuery>,
) -> Response {
    let csrf = CsrfSecret::from_request(&idp, &headers);
    let fallback = Locale::choose(None, &headers);
    let (p, _session) = match consent_context(&idp, &headers, &query.request, &csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let locale = Locale::choose(p.params.ui_locales.as_deref(), &headers);
    let _ = fallback;
    let items: Vec<String> = p
        .params
        .scopes
        .iter()
        .map(|s| {
            if super::credentials::is_identity_scope(s) {
                idp.pages.message(locale, &format!("scope_{s}"))
            } else {
                let id = s
                    .strip_prefix(super::credentials::DETAILS_PREFIX)
                    .unwrap_or(s);
                idp.pages
                    .message(locale, "scope_credential")
                    .replace("{}", id)
            }
        })
        .collect();
    let mut response = idp.pages.render(
        StatusCode::OK,
        "consent.html",
        locale,
        json!({"csrf": csrf.form_token(&idp), "request": query.request, "client_name": p.client.name, "items": items}),
    );
    allow_form_targets(
        &mut response,
        p.client.redirect_uris.iter().map(String::as_str),
    );
    csrf.attach(&idp, &mut response);
    response
}

async fn consent_context(
    idp: &Idp,
    headers: &HeaderMap,
    request: &str,
    csrf: &CsrfSecret,
) -> Result<(Pending, Session), Response> {
    let locale = Locale::choose(None, headers);
    let p = match pending(idp, request, csrf).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return Err(idp
                .pages
                .error(StatusCode::BAD_REQUEST, locale, "error_request"));
        }
        Err(e) => return Err(crate::web::internal(&e)),
    };
    match current_session(idp, headers).await {
        Ok(Some(session)) => Ok((p, session)),
        Ok(None) => Err(see_other(&format!("/login?request={request}"))),
        Err(e) => Err(crate::web::internal(&e)),
    }
}

/// The consent form's fields.
#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    decision: String,
}

/// `POST /consent`.
pub async fn consent(
    State(idp): State<IdpState>,
    extensions: Extensions,
    headers: HeaderMap,
    axum::Form(form): axum::Form<ConsentForm>,
) -> Response {
    let csrf = CsrfSecret::from_request(&idp, &headers);
    if !csrf_valid(&idp, &headers, &form.csrf) {
        return idp.pages.error(
            StatusCode::FORBIDDEN,
            Locale::choose(None, &headers),
            "error_csrf",
        );
    }
    let (p, session) = match consent_context(&idp, &headers, &form.request, &csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let now = idp.now();
    let origin = Origin::of(&extensions, &headers);
    let allowed = form.decision == "allow";
    let detail =
        json!({"scopes": p.params.scopes, "result": if allowed { "given" } else { "denied" }});
    audit::record(
        &idp,
        &origin,
        "consent",
        Some(&session.account_id),
        Some(&p.client.id),
        detail,
    )
    .await;
    if !allowed {
        let _ = idp
            .store
            .consume_authorization_request(&form.request, now)
            .await;
        return to_client(
            &idp,
            &p.params,
            "access_denied",
            "the citizen did not consent",
        );
    }
    if let Err(e) = idp
        .store
        .put_consent(&session.account_id, &p.client.id, &p.params.scopes, now)
        .await
    {
        return crate::web::internal(&e);
    }
    proceed(
        &idp,
        &form.request,
        &p.params,
        &p.client,
        Some(&session),
        Fresh { consent: true },
    )
    .await
}
