//! Server-rendered pages: minijinja templates compiled into the binary, Spanish by default and
//! English on request (`ui_locales`, then `Accept-Language`). Every page is sent with
//! `no-store` and a strict content security policy; none needs JavaScript.

use axum::http::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
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

    /// The first supported language of a space-separated `ui_locales`, else of
    /// `Accept-Language`, else Spanish.
    #[must_use]
    pub fn choose(ui_locales: Option<&str>, headers: &HeaderMap) -> Self {
        let from_list = |list: &str, sep: char| {
            list.split(sep)
                .map(|l| {
                    l.split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase()
                })
                .find_map(|l| match l.split('-').next() {
                    Some("es") => Some(Self::Es),
                    Some("en") => Some(Self::En),
                    _ => None,
                })
        };
        ui_locales
            .and_then(|l| from_list(l, ' '))
            .or_else(|| {
                headers
                    .get(ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| from_list(l, ','))
            })
            .unwrap_or(Self::Es)
    }
}

/// The compiled templates and message catalogues.
pub struct Pages {
    env: Environment<'static>,
    es: Value,
    en: Value,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pages(..)")
    }
}

macro_rules! templates {
    ($env:ident, $($name:literal),*) => {
        $( $env.add_template($name, include_str!(concat!("../templates/", $name)))?; )*
    };
}

impl Pages {
    /// Compiles every template.
    pub fn new() -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        templates!(
            env,
            "base.html",
            "login.html",
            "activate.html",
            "consent.html",
            "account.html",
            "withdraw.html",
            "error.html",
            "message.html",
            "logout.html",
            "second_factor.html",
            "recovery_codes.html",
            "webauthn_script.html"
        );
        let parse = |text: &str| {
            serde_json::from_str(text).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
            })
        };
        Ok(Self {
            env,
            es: parse(include_str!("../locales/es.json"))?,
            en: parse(include_str!("../locales/en.json"))?,
        })
    }

    /// The message catalogue of a language.
    #[must_use]
    pub fn messages(&self, locale: Locale) -> &Value {
        match locale {
            Locale::Es => &self.es,
            Locale::En => &self.en,
        }
    }

    /// One message.
    #[must_use]
    pub fn message(&self, locale: Locale, key: &str) -> String {
        self.messages(locale)
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or(key)
            .to_owned()
    }

    /// Renders `template` with `context` (an object) plus `t` (messages) and `lang`.
    #[must_use]
    pub fn render(
        &self,
        status: StatusCode,
        template: &str,
        locale: Locale,
        mut context: Value,
    ) -> Response {
        if let Some(obj) = context.as_object_mut() {
            obj.insert("t".into(), self.messages(locale).clone());
            obj.insert("lang".into(), locale.tag().into());
        }
        let html = self
            .env
            .get_template(template)
            .and_then(|t| t.render(&context));
        match html {
            Ok(html) => {
                let mut response = (status, html).into_response();
                secure_headers(response.headers_mut(), "text/html; charset=utf-8");
                response
            }
            Err(e) => crate::error::internal(&e),
        }
    }

    /// An error page with a message key: nothing internal is shown.
    #[must_use]
    pub fn error(&self, status: StatusCode, locale: Locale, message_key: &str) -> Response {
        self.render(
            status,
            "error.html",
            locale,
            serde_json::json!({"message": self.message(locale, message_key)}),
        )
    }
}

/// The message key that tells a citizen what is wrong with the RUN they typed: the check digit
/// (the most common typo, and one the citizen can fix alone), a number out of range, or a
/// shape we do not read. Parses `typed` again rather than carrying the error through the
/// login and activation outcomes, which only need to know that the RUN was refused.
#[must_use]
pub fn run_error_key(typed: &str) -> &'static str {
    match typed.parse::<crate::registry::Run>() {
        Err(crate::registry::RunError::CheckDigit { .. }) => "run_check_digit",
        Err(crate::registry::RunError::OutOfRange) => "run_out_of_range",
        // Malformed, and any reason a later version adds.
        Err(_) | Ok(_) => "bad_run",
    }
}

/// The pages' content security policy but `form-action`, which [`form_action`] completes.
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The policy with `form-action 'self'` and the origins of `targets`: a form may post only
/// here, and the redirect that answers it (browsers apply `form-action` to it) may go only to
/// those (CSP 3 §6.4.1). Without it an injected form could send a citizen's password anywhere.
fn form_action<'a>(targets: impl IntoIterator<Item = &'a str>) -> HeaderValue {
    let mut sources = vec!["'self'".to_owned()];
    for source in targets.into_iter().filter_map(source_of) {
        if !sources.contains(&source) {
            sources.push(source);
        }
    }
    HeaderValue::from_str(&format!("{CSP}; form-action {}", sources.join(" ")))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'; form-action 'self'"))
}

/// The CSP source of a redirect URI: its origin (`https://rp.example:8443`), or `scheme:` for
/// an app's private-use scheme (RFC 8252 §7.1). `None` if it has neither.
fn source_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Some(format!("{scheme}:"));
    }
    let authority = rest.strip_prefix("//")?.split(['/', '?', '#']).next()?;
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    (!host.is_empty() && host.chars().all(plain)).then(|| format!("{scheme}://{host}"))
}

/// Lets the forms of a page in a relying party's flow end in a redirect to that party:
/// `form-action` also allows the origins of `redirect_uris`.
pub fn allow_form_targets<'a>(
    response: &mut Response,
    redirect_uris: impl IntoIterator<Item = &'a str>,
) {
    response.headers_mut().insert(
        HeaderName::from_static("content-security-policy"),
        form_action(redirect_uris),
    );
}

/// Headers every page carries.
pub fn secure_headers(headers: &mut HeaderMap, content_type: &'static str) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        form_action([]),
    );
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Each way a typed RUN is refused has its own message, in both languages, and the
    /// English page says it in English.
    #[test]
    fn each_refused_run_gets_its_own_message_in_each_language() {
        let pages = Pages::new().unwrap();
        let cases = [
            ("12.345.678-9", "run_check_digit"),
            ("5.000.056-0", "run_check_digit"),
            ("0-0", "run_out_of_range"),
            ("1.234.567.890-1", "run_out_of_range"),
            ("doce millones", "bad_run"),
            ("", "bad_run"),
        ];
        for (typed, key) in cases {
            let key_found = run_error_key(typed);
            // A RUN too long to parse as a number may be read as malformed: both are refusals.
            assert!(
                key_found == key || (key == "run_out_of_range" && key_found == "bad_run"),
                "{typed}: {key_found}"
            );
        }
        let es: Vec<String> = ["bad_run", "run_check_digit", "run_out_of_range"]
            .iter()
            .map(|k| pages.message(Locale::Es, k))
            .collect();
        let en: Vec<String> = ["bad_run", "run_check_digit", "run_out_of_range"]
            .iter()
            .map(|k| pages.message(Locale::En, k))
            .collect();
        for list in [&es, &en] {
            assert!(
                list.iter()
                    .all(|m| !m.starts_with("bad_run") && !m.starts_with("run_"))
            );
            assert_ne!(list[0], list[1]);
            assert_ne!(list[1], list[2]);
            assert_ne!(list[0], list[2]);
        }
        assert!(es[1].contains("dígito verificador"));
        assert!(en[1].contains("check digit"));
    }

    /// Every message exists in both catalogues: a page never falls back to a raw key.
    #[test]
    fn both_catalogues_have_the_same_keys() {
        let pages = Pages::new().unwrap();
        let keys = |locale| {
            let mut keys: Vec<String> = pages
                .messages(locale)
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            keys.sort();
            keys
        };
        assert_eq!(keys(Locale::Es), keys(Locale::En));
    }

    #[test]
    fn form_action_allows_self_and_the_origins_of_redirect_uris() {
        let policy = |targets: &[&str]| {
            form_action(targets.iter().copied())
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert!(policy(&[]).ends_with("; form-action 'self'"));
        assert!(policy(&[]).contains("frame-ancestors 'none'"));
        assert!(
            policy(&["https://rp.example/cb?x=1", "https://rp.example/other"])
                .ends_with("form-action 'self' https://rp.example")
        );
        assert!(
            policy(&["http://localhost:8081/cb", "cl.gob.app:/callback"])
                .ends_with("form-action 'self' http://localhost:8081 cl.gob.app:")
        );
        assert!(
            policy(&["HTTPS://user@[::1]:8443/cb"])
                .ends_with("form-action 'self' https://[::1]:8443")
        );
        // Nothing that could break out of the header or the directive.
        assert!(
            policy(&[
                "https://rp.example;script-src *",
                "https://",
                "nonsense",
                "1x:y"
            ])
            .ends_with("form-action 'self'")
        );
    }
}
