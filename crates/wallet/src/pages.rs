//! The wallet's pages: minijinja templates compiled into the binary, Spanish by default and
//! English when the browser prefers it (`?lang=en` overrides). Plain words, one column that fits
//! a 390 px phone, labels on every field. Names of issuers, document types and claims come
//! from the issuer's display metadata in the citizen's language.

use std::sync::LazyLock;

use axum::http::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde::Deserialize;
use serde_json::Value;

/// A supported language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// Spanish (default).
    Es,
    /// English.
    En,
}

impl Locale {
    /// The tag.
    #[must_use]
    pub fn tag(self) -> &'static str {
        match self {
            Self::Es => "es",
            Self::En => "en",
        }
    }

    /// `?lang=`, else the first supported language of `Accept-Language`, else Spanish.
    #[must_use]
    pub fn choose(lang: Option<&str>, headers: &HeaderMap) -> Self {
        let pick = |tag: &str| match tag.trim().split(['-', ';']).next() {
            Some(l) if l.eq_ignore_ascii_case("en") => Some(Self::En),
            Some(l) if l.eq_ignore_ascii_case("es") => Some(Self::Es),
            _ => None,
        };
        lang.and_then(pick)
            .or_else(|| {
                headers
                    .get(ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| l.split(',').find_map(pick))
            })
            .unwrap_or(Self::Es)
    }
}

struct Pages {
    env: Environment<'static>,
    es: Value,
    en: Value,
}

static PAGES: LazyLock<Result<Pages, String>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("base.html", include_str!("../templates/base.html")),
        ("message.html", include_str!("../templates/message.html")),
        ("wallet.html", include_str!("../templates/wallet.html")),
        ("offer.html", include_str!("../templates/offer.html")),
        (
            "credential.html",
            include_str!("../templates/credential.html"),
        ),
        ("request.html", include_str!("../templates/request.html")),
    ] {
        env.add_template(name, source).map_err(|e| e.to_string())?;
    }
    let parse = |text: &str| serde_json::from_str(text).map_err(|e| e.to_string());
    Ok(Pages {
        env,
        es: parse(include_str!("../locales/es.json"))?,
        en: parse(include_str!("../locales/en.json"))?,
    })
});

/// The page's security headers: no caching, no framing, scripts only from this origin.
fn secure(headers: &mut HeaderMap) {
    for (name, value) in [
        (CACHE_CONTROL, "no-store"),
        (CONTENT_TYPE, "text/html; charset=utf-8"),
        (
            HeaderName::from_static("content-security-policy"),
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; \
             form-action 'self' https: http://localhost:* http://127.0.0.1:*; frame-ancestors 'none'; base-uri 'none'",
        ),
        (HeaderName::from_static("x-content-type-options"), "nosniff"),
        (HeaderName::from_static("referrer-policy"), "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// Renders `template` with `context` (its `t` is the locale's messages).
pub fn render(status: StatusCode, locale: Locale, template: &str, mut context: Value) -> Response {
    let rendered = match &*PAGES {
        Ok(pages) => {
            if let Value::Object(map) = &mut context {
                let messages = match locale {
                    Locale::Es => &pages.es,
                    Locale::En => &pages.en,
                };
                map.insert("t".into(), messages.clone());
            }
            pages
                .env
                .get_template(template)
                .and_then(|t| t.render(&context))
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.clone()),
    };
    match rendered {
        Ok(html) => {
            let mut response = (status, html).into_response();
            secure(response.headers_mut());
            response
        }
        Err(e) => {
            tracing::error!(error = %e, template, "rendering a wallet page");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A page with one message (errors), in Spanish: the error path has no request headers.
#[must_use]
pub fn message_page(status: StatusCode, message: &str) -> Response {
    render(
        status,
        Locale::Es,
        "message.html",
        serde_json::json!({ "message": message }),
    )
}

/// The entry of a display array (`[{name, locale}]`) for `locale`: exact language, else the
/// first entry without a locale, else the first.
#[must_use]
pub fn display_name(display: &Value, locale: Locale) -> Option<String> {
    let entries = display.as_array()?;
    let language = |e: &&Value| {
        e.get("locale")
            .and_then(Value::as_str)
            .and_then(|l| l.split('-').next())
            .map(str::to_ascii_lowercase)
    };
    entries
        .iter()
        .find(|e| language(e).as_deref() == Some(locale.tag()))
        .or_else(|| entries.iter().find(|e| e.get("locale").is_none()))
        .or_else(|| entries.first())
        .and_then(|e| e.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The label of the claim at `path` from claims metadata (`[{path, display}]`), else the
/// path's last name.
#[must_use]
pub fn claim_label(claims_metadata: &Value, path: &Value, locale: Locale) -> String {
    claims_metadata
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c.get("path") == Some(path))
        .and_then(|c| display_name(c.get("display").unwrap_or(&Value::Null), locale))
        .unwrap_or_else(|| {
            path.as_array()
                .and_then(|p| p.iter().rev().find_map(Value::as_str))
                .unwrap_or("?")
                .replace('_', " ")
        })
}

/// `?lang=` and the notices of a redirect back.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    pub(crate) lang: Option<String>,
    #[serde(default)]
    pub(crate) notice: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_in_the_citizens_language() {
        let display = json!([{"name": "Certificado", "locale": "es-CL"}, {"name": "Certificate", "locale": "en"}]);
        assert_eq!(
            display_name(&display, Locale::Es).as_deref(),
            Some("Certificado")
        );
        assert_eq!(
            display_name(&display, Locale::En).as_deref(),
            Some("Certificate")
        );
        let claims =
            json!([{"path": ["given_name"], "display": [{"name": "Nombres", "locale": "es"}]}]);
        assert_eq!(
            claim_label(&claims, &json!(["given_name"]), Locale::Es),
            "Nombres"
        );
        assert_eq!(
            claim_label(&claims, &json!(["birth_date"]), Locale::En),
            "birth date"
        );
    }

    #[test]
    fn every_page_renders_in_both_languages() {
        for locale in [Locale::Es, Locale::En] {
            let page = render(
                StatusCode::OK,
                locale,
                "wallet.html",
                json!({"credentials": [], "csrf": "x"}),
            );
            assert_eq!(page.status(), StatusCode::OK);
        }
    }
}
