//! `GET|POST /logout`: OpenID Connect RP-Initiated Logout 1.0. With a valid `id_token_hint`
//! naming the current session the session ends at once; otherwise the citizen confirms on a
//! form (so a cross-site link cannot log anyone out). `post_logout_redirect_uri` must be
//! registered for the client.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::request::{join_query, parse_params};
use crate::error::IdpError;
use crate::session::current_session;
use crate::state::{Idp, IdpState};
use crate::web::pages::Locale;
use crate::web::see_other;
use crate::web::{CookieName, CsrfSecret, csrf_valid, set_cookie};

/// The claims of an `id_token_hint` this provider signed (expired ones included, as the spec
/// allows).
async fn hint_claims(idp: &Idp, hint: &str) -> Option<Value> {
    let payload = idp
        .keys
        .verified_payload(&idp.store, &idp.master, idp.now(), hint)
        .await?;
    let claims: Value = serde_json::from_slice(&payload).ok()?;
    (claims.get("iss")?.as_str()? == idp.config.issuer).then_some(claims)
}

/// `GET|POST /logout`.
pub async fn logout(
    State(idp): State<IdpState>,
    extensions: axum::http::Extensions,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: Bytes,
) -> Result<Response, IdpError> {
    let raw = if method == Method::POST {
        body.to_vec()
    } else {
        uri.query().unwrap_or("").as_bytes().to_vec()
    };
    let params = parse_params(&raw).unwrap_or_default();
    let get = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let locale = Locale::choose(get("ui_locales"), &headers);
    // A hint this provider did not sign, a client the hint was not for, an unregistered
    // redirect: the logout page says the request cannot be served.
    let refused = || {
        IdpError::page(
            idp.pages
                .error(StatusCode::BAD_REQUEST, locale, "error_logout"),
        )
    };
    let hint = match get("id_token_hint") {
        Some(h) => Some(hint_claims(&idp, h).await.ok_or_else(refused)?),
        None => None,
    };
    let hint_client = hint.as_ref().and_then(audience);
    let client_id = match (get("client_id"), hint_client.as_deref()) {
        (Some(a), Some(b)) if a != b => return Err(refused()),
        (Some(a), _) => Some(a.to_owned()),
        (None, b) => b.map(str::to_owned),
    };
    let redirect = redirect_target(
        &idp,
        client_id.as_deref(),
        get("post_logout_redirect_uri"),
        get("state"),
    )
    .await
    .map_err(|()| refused())?;
    let session = current_session(&idp, &headers).await?;
    let hint_sid = hint
        .as_ref()
        .and_then(|c| c.get("sid"))
        .and_then(Value::as_str);
    let confirmed_by_hint = session
        .as_ref()
        .is_some_and(|s| hint_sid == Some(s.handle.as_str()));
    let confirmed_by_form =
        method == Method::POST && get("csrf").is_some_and(|t| csrf_valid(&idp, &headers, t));
    if session.is_some() && !confirmed_by_hint && !confirmed_by_form {
        return Ok(confirm_page(
            &idp,
            &headers,
            locale,
            &params,
            redirect.as_deref(),
        ));
    }
    if let Some(session) = &session {
        idp.store
            .end_session(&session.account_id, &session.handle, idp.now())
            .await?;
        let origin = crate::audit::Origin::of(&extensions, &headers);
        let detail = json!({"by": "logout", "sid": session.handle});
        crate::audit::record(
            &idp,
            &origin,
            "session.ended",
            Some(&session.account_id),
            client_id.as_deref(),
            detail,
        )
        .await;
    }
    let mut response = match redirect {
        Some(target) => see_other(&target),
        None => idp.pages.render(StatusCode::OK, "message.html", locale, json!({"title": idp.pages.message(locale, "logout_title"), "message": idp.pages.message(locale, "logged_out")})),
    };
    response.headers_mut().append(
        SET_COOKIE,
        set_cookie(&idp, CookieName::Session, "", Some(0)),
    );
    Ok(response)
}

/// The client an ID token was issued to.
fn audience(claims: &Value) -> Option<String> {
    match claims.get("aud")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(list) => list.first().and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// Where to send the browser after logout: a registered `post_logout_redirect_uri` of the client
/// (with `state`), or nowhere. `Err` if one was asked for that is not registered.
async fn redirect_target(
    idp: &Idp,
    client_id: Option<&str>,
    uri: Option<&str>,
    state: Option<&str>,
) -> Result<Option<String>, ()> {
    let Some(uri) = uri else { return Ok(None) };
    let client = match client_id {
        Some(id) => idp.client(id).await.ok().flatten(),
        None => None,
    };
    if !client.is_some_and(|c| c.post_logout_redirect_uris.iter().any(|u| u == uri)) {
        return Err(());
    }
    Ok(Some(match state {
        Some(state) => join_query(
            uri,
            &form_urlencoded::Serializer::new(String::new())
                .append_pair("state", state)
                .finish(),
        ),
        None => uri.to_owned(),
    }))
}

fn confirm_page(
    idp: &Idp,
    headers: &HeaderMap,
    locale: Locale,
    params: &BTreeMap<String, String>,
    redirect: Option<&str>,
) -> Response {
    let csrf = CsrfSecret::from_request(idp, headers);
    let carried: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| {
            matches!(
                k.as_str(),
                "id_token_hint" | "post_logout_redirect_uri" | "state" | "client_id" | "ui_locales"
            )
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut response = idp.pages.render(
        StatusCode::OK,
        "logout.html",
        locale,
        json!({"csrf": csrf.form_token(idp), "params": carried}),
    );
    // The confirmed logout redirects to the (registered) post-logout URI.
    crate::web::pages::allow_form_targets(&mut response, redirect);
    csrf.attach(idp, &mut response);
    response
}
