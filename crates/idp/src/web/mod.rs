//! The browser side: cookies, CSRF tokens, the caller's address, rate limits, pages.

pub use llavero_platform::client_address;
pub mod display;
pub use crate::limiter::LocalLimiter;
pub use crate::pages;

use std::fmt::Write as _;

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use llavero_store::{RateDecision, hash_secret};

use crate::error::{ErrorCode, IdpError};
use crate::state::Idp;

pub use crate::error::{internal, see_other, too_many, with_retry_after};
pub use client_address::ClientAddress;

/// The cookies the provider sets.
#[derive(Debug, Clone, Copy)]
pub enum CookieName {
    /// The login session.
    Session,
    /// The CSRF secret (double-submit, signed).
    Csrf,
}

impl CookieName {
    fn name(self, secure: bool) -> &'static str {
        match (self, secure) {
            (Self::Session, true) => "__Host-llavero_session",
            (Self::Session, false) => "llavero_session",
            (Self::Csrf, true) => "__Host-llavero_csrf",
            (Self::Csrf, false) => "llavero_csrf",
        }
    }
}

/// A cookie's value from the request.
#[must_use]
pub fn cookie(idp: &Idp, headers: &HeaderMap, name: CookieName) -> Option<String> {
    let wanted = name.name(idp.config.secure_cookies);
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == wanted)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: `__Host-` prefix, `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`, no
/// `Domain`. `max_age = Some(0)` deletes it; `None` makes a browser-session cookie.
#[must_use]
pub fn set_cookie(idp: &Idp, name: CookieName, value: &str, max_age: Option<i64>) -> HeaderValue {
    let secure = idp.config.secure_cookies;
    let mut cookie = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax",
        name.name(secure)
    );
    if secure {
        cookie.push_str("; Secure");
    }
    if let Some(age) = max_age {
        let _ = write!(cookie, "; Max-Age={age}");
    }
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// The browser's CSRF secret: the cookie's value, or a new one to set.
#[derive(Debug, Clone)]
pub struct CsrfSecret {
    /// The secret.
    pub value: String,
    /// Whether it must be set on the response.
    pub is_new: bool,
}

impl CsrfSecret {
    /// The secret from the request, or a new one.
    #[must_use]
    pub fn from_request(idp: &Idp, headers: &HeaderMap) -> Self {
        match cookie(idp, headers, CookieName::Csrf).filter(|v| v.len() >= 22) {
            Some(value) => Self {
                value,
                is_new: false,
            },
            None => Self {
                value: crate::random::token(),
                is_new: true,
            },
        }
    }

    /// The token forms carry: `HMAC(csrf key, secret)`, so the cookie alone is not the token and
    /// a token cannot be made without the server's key (signed double-submit, OWASP).
    #[must_use]
    pub fn form_token(&self, idp: &Idp) -> String {
        URL_SAFE_NO_PAD.encode(ring::hmac::sign(&idp.csrf_key, self.value.as_bytes()).as_ref())
    }

    /// A stable, non-secret binding of pending requests to this browser.
    #[must_use]
    pub fn browser_binding(&self) -> String {
        hash_secret(&format!("browser:{}", self.value))
    }

    /// Adds the cookie to a response if it is new.
    pub fn attach(&self, idp: &Idp, response: &mut Response) {
        if self.is_new {
            response.headers_mut().append(
                SET_COOKIE,
                set_cookie(idp, CookieName::Csrf, &self.value, None),
            );
        }
    }
}

/// Checks a submitted form token against the browser's CSRF cookie, in constant time.
#[must_use]
pub fn csrf_valid(idp: &Idp, headers: &HeaderMap, submitted: &str) -> bool {
    let Some(secret) = cookie(idp, headers, CookieName::Csrf) else {
        return false;
    };
    let Ok(tag) = URL_SAFE_NO_PAD.decode(submitted) else {
        return false;
    };
    ring::hmac::verify(&idp.csrf_key, secret.as_bytes(), &tag).is_ok()
}

/// Which limit a request counts against.
#[derive(Debug, Clone, Copy)]
pub enum RateClass {
    /// Citizens typing credentials.
    Login,
    /// Clients presenting their credentials.
    Client,
}

/// Counts a request from `address` (its [`ClientAddress::limit_key`]: an IPv6 caller's whole
/// /64 shares one budget); `Err` is the 429 answer with `Retry-After`.
///
/// Citizen-facing endpoints count in the database, shared by every instance: there the limit
/// protects passwords and activation codes. Client-facing endpoints count in each instance's
/// memory: clients prove high-entropy secrets or keys, so the limit guards capacity, and a
/// database write on one shared row per token request would cost more than it protects.
pub async fn rate_limit(
    idp: &Idp,
    class: RateClass,
    address: &ClientAddress,
) -> Result<(), IdpError> {
    let ip = address.limit_key();
    let decision = match class {
        RateClass::Login => {
            idp.store
                .hit_rate_limit(
                    &format!("login:{ip}"),
                    60,
                    idp.config.login_rate_per_minute,
                    idp.now(),
                )
                .await?
        }
        RateClass::Client => {
            idp.client_limiter
                .hit(&ip, 60, idp.config.client_rate_per_minute, idp.now())
        }
    };
    match decision {
        RateDecision::Allowed => Ok(()),
        RateDecision::Limited { retry_after } => Err(IdpError::TooManyRequests { retry_after }),
    }
}

/// 503 with `Retry-After` when every password hashing worker is busy and the queue is full
/// ([`crate::hashing`]): a client that asks for JSON gets an OAuth-style error it can parse
/// (`temporarily_unavailable`, RFC 6749 §4.1.2.1); a browser gets `page`, the form shown again
/// with the `busy` message in its language, as for any other failed attempt.
#[must_use]
pub fn busy(headers: &HeaderMap, page: impl FnOnce(StatusCode) -> Response) -> Response {
    let status = StatusCode::SERVICE_UNAVAILABLE;
    let response = if wants_json(headers) {
        (
            status,
            axum::Json(serde_json::json!({
                "error": ErrorCode::TemporarilyUnavailable.as_str(),
                "error_description": "too many password checks at once; retry after Retry-After seconds",
            })),
        )
            .into_response()
    } else {
        page(status)
    };
    with_retry_after(response, crate::hashing::BUSY_RETRY_AFTER_SECS)
}

/// Whether the `Accept` header asks for JSON before HTML: `application/json` or a `+json`
/// type listed, and `text/html` not listed ahead of it. (Order, not `q`, decides: browsers
/// list `text/html` first, API clients list JSON alone.) No header, or `*/*`, keeps the page.
fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let position = |wanted: &dyn Fn(&str) -> bool| {
        accept
            .split(',')
            .map(|part| part.split(';').next().unwrap_or("").trim())
            .position(wanted)
    };
    let json = position(&|m| m == "application/json" || m.ends_with("+json"));
    let html = position(&|m| m == "text/html");
    match (json, html) {
        (Some(j), Some(h)) => j < h,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Unknown paths: a page that says so, in the browser's language; for a client that asks for
/// JSON (a wallet probing an issuer's path, an API client), a JSON error it can parse.
pub async fn not_found(
    axum::extract::State(idp): axum::extract::State<crate::IdpState>,
    headers: HeaderMap,
) -> Response {
    if wants_json(&headers) {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({
                "error": "not_found",
                "error_description": "no such endpoint",
            })),
        )
            .into_response();
    }
    idp.pages.error(
        StatusCode::NOT_FOUND,
        pages::Locale::choose(None, &headers),
        "error_not_found",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_chosen_only_when_asked_for_before_html() {
        let accept = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                axum::http::header::ACCEPT,
                axum::http::HeaderValue::from_str(value).unwrap(),
            );
            wants_json(&headers)
        };
        assert!(accept("application/json"));
        assert!(accept("application/problem+json, */*;q=0.1"));
        assert!(accept("application/json, text/html;q=0.5"));
        assert!(!accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!accept("text/html, application/json"));
        assert!(!accept("*/*"));
        assert!(!wants_json(&HeaderMap::new()));
    }
}
