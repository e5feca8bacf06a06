//! The demo page: a person picks what to ask ("¿Es mayor de 18 años?", the name and RUN, a
//! driving licence class), sees the QR code and the same-device button, and then the verified
//! answer. Spanish by default, English with `?lang=en`; phone-first, no script needed (the
//! waiting page refreshes itself). It acts as the demo relying party seeded by `llavero serve`.

use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use llavero_platform::Origin;
use serde::Deserialize;
use serde_json::Value;

use crate::api::read_result;
use crate::error::ApiError;
use crate::parties;
use crate::state::{PresentationsState, field};
use crate::transactions::{self, CreateRequest};

/// The demo relying party's id.
pub const DEMO_PARTY: &str = "demo";

/// Where the wallet sends the citizen back after a same-device answer (registered for the demo
/// relying party); the browser's cookie says which transaction it was.
pub const RETURN_PATH: &str = "/verifier/demo/return";

/// The cookie that remembers this browser's demo transaction and language.
const RETURN_COOKIE: &str = "llavero_demo";

/// `?lang=`.
#[derive(Debug, Default, Deserialize)]
pub struct Lang {
    /// `es` (default) or `en`.
    pub lang: Option<String>,
    /// After a same-device redirect.
    pub response_code: Option<String>,
}

fn english(lang: &Lang) -> bool {
    lang.lang.as_deref() == Some("en")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn render(en: bool, title: &str, body: &str, refresh: bool) -> Response {
    let lang = if en { "en" } else { "es" };
    let refresh = if refresh {
        r#"<meta http-equiv="refresh" content="3">"#
    } else {
        ""
    };
    let html = format!(
        r#"<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">{refresh}
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:0 auto;padding:1rem;line-height:1.5}}
button,a.button{{display:block;box-sizing:border-box;width:100%;padding:.9rem;margin:.5rem 0;font-size:1.1rem;border-radius:.5rem;border:2px solid #1a4d8f;background:#1a4d8f;color:#fff;text-align:center;text-decoration:none}}
img{{width:100%;max-width:20rem;display:block;margin:1rem auto}}
dl{{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem}}:focus{{outline:3px solid #e0a000}}</style>
</head><body><main><h1>{title}</h1>{body}</main></body></html>"#
    );
    let mut response = Html(html).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

const CHOICES: [(&str, &str, &str); 3] = [
    ("age-over-18", "¿Es mayor de 18 años?", "Are you over 18?"),
    ("name-and-run", "Nombre y RUN", "Name and RUN"),
    (
        "driving-licence",
        "Clase de licencia de conducir",
        "Driving licence class",
    ),
];

/// What to ask.
fn choices(en: bool) -> Response {
    let mut body = String::from(if en {
        "<p>Choose what this demo relying party asks your wallet for.</p>"
    } else {
        "<p>Elija qué pide a su billetera esta parte confiante de demostración.</p>"
    });
    body.push_str(r#"<form method="post">"#);
    for (preset, es, english_text) in CHOICES {
        let label = if en { english_text } else { es };
        let _ = write!(
            body,
            r#"<button name="preset" value="{preset}">{label}</button>"#
        );
    }
    let _ = write!(
        body,
        r#"<input type="hidden" name="lang" value="{}"></form><p><a href="?lang={}">{}</a></p>"#,
        if en { "en" } else { "es" },
        if en { "es" } else { "en" },
        if en { "Español" } else { "English" }
    );
    render(
        en,
        if en {
            "Ask for a credential"
        } else {
            "Pedir una credencial"
        },
        &body,
        false,
    )
}

/// `GET /verifier/demo`.
pub async fn page(Query(lang): Query<Lang>) -> Response {
    choices(english(&lang))
}

/// The demo form.
#[derive(Debug, Deserialize)]
pub struct Start {
    /// The preset chosen.
    pub preset: String,
    /// The page's language.
    pub lang: Option<String>,
}

/// `POST /verifier/demo`: creates the transaction as the demo relying party.
pub async fn start(
    State(service): State<PresentationsState>,
    extensions: Extensions,
    headers: HeaderMap,
    Form(form): Form<Start>,
) -> Result<Response, ApiError> {
    let party = parties::get(&service, DEMO_PARTY)
        .await
        .map_err(|_| ApiError::not_found("the demo relying party is not registered"))?;
    // Same-device: back to this page, when the registration allows it (older ones do not).
    let back = service.url(RETURN_PATH);
    let redirect_uri = party
        .registration
        .redirect_uris
        .contains(&back)
        .then_some(back);
    let created = transactions::create(
        &service,
        &Origin::of(&extensions, &headers),
        &party,
        CreateRequest {
            preset: Some(form.preset),
            redirect_uri,
            ..CreateRequest::default()
        },
    )
    .await?;
    let lang = if form.lang.as_deref() == Some("en") {
        "en"
    } else {
        "es"
    };
    let secure = if service.url("").starts_with("https:") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{RETURN_COOKIE}={}.{lang}; Path=/verifier/demo; Max-Age=900; HttpOnly; SameSite=Lax{secure}",
        created.transaction_id
    );
    let mut response = Redirect::to(&format!(
        "/verifier/demo/{}?lang={lang}",
        created.transaction_id
    ))
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `GET /verifier/demo/return?response_code=…`: the same-device answer's way back; the
/// browser's cookie names the transaction, whose page then reads the answer.
pub async fn back(headers: HeaderMap, Query(query): Query<Lang>) -> Response {
    let remembered = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == RETURN_COOKIE)
        .and_then(|(_, value)| value.rsplit_once('.'))
        .filter(|(id, _)| {
            !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    if let (Some((id, lang)), Some(code)) = (remembered, query.response_code.as_deref()) {
        let lang = if lang == "en" { "en" } else { "es" };
        Redirect::to(&format!(
            "/verifier/demo/{id}?lang={lang}&response_code={}",
            encode(code)
        ))
        .into_response()
    } else {
        {
            let en = english(&query);
            render(
                en,
                if en { "Your answer" } else { "Su respuesta" },
                &format!(
                    r#"<p>{}</p><a class="button" href="/verifier/demo?lang={}">{}</a>"#,
                    if en {
                        "This request has expired or was already read."
                    } else {
                        "Esta solicitud expiró o ya fue leída."
                    },
                    if en { "en" } else { "es" },
                    if en {
                        "Ask again"
                    } else {
                        "Preguntar de nuevo"
                    }
                ),
                false,
            )
        }
    }
}

/// A claim's name in plain words (the claim's own name when it is not one the demo asks for).
fn claim_label(en: bool, name: &str) -> &str {
    let (es, english_text) = match name {
        "given_name" => ("Nombres", "Given names"),
        "family_name" => ("Apellidos", "Family names"),
        "run" => ("RUN", "RUN"),
        "age_equal_or_over" => ("Edad mínima", "Minimum age"),
        "classes" => ("Clases de licencia", "Licence classes"),
        "licence_expiry" => ("Vencimiento de la licencia", "Licence expiry"),
        _ => return name,
    };
    if en { english_text } else { es }
}

fn answer_html(en: bool, result: &Value) -> String {
    if *field(result, "status") != "verified" {
        let reason = field(result, "description").as_str().unwrap_or_default();
        return format!(
            "<p role=\"alert\">{}</p><p>{}</p>",
            if en {
                "The presentation was not accepted."
            } else {
                "La presentación no fue aceptada."
            },
            escape(reason)
        );
    }
    let mut out = format!(
        "<p role=\"status\">{}</p><dl>",
        if en { "Verified." } else { "Verificado." }
    );
    for credentials in field(result, "credentials")
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        for credential in credentials.as_array().into_iter().flatten() {
            let _ = write!(
                out,
                "<dt>{}</dt><dd>{}</dd>",
                if en { "Issuer" } else { "Emisor" },
                escape(
                    field(credential, "issuer_name")
                        .as_str()
                        .or(field(credential, "issuer").as_str())
                        .unwrap_or_default()
                )
            );
            for (name, value) in field(credential, "claims")
                .as_object()
                .into_iter()
                .flatten()
            {
                if ["iss", "vct", "cnf", "status", "iat", "exp", "nbf", "sub"]
                    .contains(&name.as_str())
                {
                    continue;
                }
                let shown = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let _ = write!(
                    out,
                    r#"<dt>{}</dt><dd translate="no">{}</dd>"#,
                    escape(claim_label(en, name)),
                    escape(&shown)
                );
            }
        }
    }
    out.push_str("</dl>");
    out
}

/// `GET /verifier/demo/{id}`: the QR code and same-device button while waiting, then the
/// verified answer.
pub async fn status(
    State(service): State<PresentationsState>,
    Path(id): Path<String>,
    Query(lang): Query<Lang>,
) -> Result<Response, ApiError> {
    let en = english(&lang);
    let title = if en { "Your answer" } else { "Su respuesta" };
    let result = read_result(&service, DEMO_PARTY, &id, lang.response_code.as_deref()).await;
    let again = format!(
        r#"<a class="button" href="/verifier/demo?lang={}">{}</a>"#,
        if en { "en" } else { "es" },
        if en {
            "Ask again"
        } else {
            "Preguntar de nuevo"
        }
    );
    match result {
        Ok(result) if *field(&result, "status") == "pending" => {
            let transaction = service
                .store
                .presentation_transaction(&id, service.now())
                .await?
                .ok_or_else(|| ApiError::not_found("expired"))?;
            let request = transactions::stored(&transaction)?;
            let encode =
                |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let link = format!(
                "openid4vp://?client_id={}&request_uri={}",
                encode(&request.client_id),
                encode(&service.url(&format!("/verifier/requests/{id}")))
            );
            let body = format!(
                r#"<p>{}</p><img src="/verifier/api/transactions/{id}/qr.svg" alt="{}">
<a class="button" href="{}">{}</a><p aria-live="polite">{}</p>"#,
                if en {
                    "Scan this code with your wallet."
                } else {
                    "Escanee este código con su billetera."
                },
                if en {
                    "QR code of the request"
                } else {
                    "Código QR de la solicitud"
                },
                escape(&link),
                if en {
                    "Open the wallet on this phone"
                } else {
                    "Abrir la billetera en este teléfono"
                },
                if en {
                    "Waiting for the answer…"
                } else {
                    "Esperando la respuesta…"
                },
            );
            Ok(render(en, title, &body, true))
        }
        Ok(result) => Ok(render(
            en,
            title,
            &format!("{}{again}", answer_html(en, &result)),
            false,
        )),
        Err(_) => Ok(render(
            en,
            title,
            &format!(
                "<p>{}</p>{again}",
                if en {
                    "This request has expired or was already read."
                } else {
                    "Esta solicitud expiró o ya fue leída."
                }
            ),
            false,
        )),
    }
}
