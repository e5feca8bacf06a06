//! The HTTP service: health and the VC-API verification endpoints over an offline bundle.
//!
//! Handlers are thin: they take the credential out of the VC-API request shape, call the
//! verifier, and turn its answer into JSON. A rejection is a 400 whose body names the reason.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use llavero_credentials::time::Clock;
use llavero_verifier::{Expectations, Rejection, Verifier};
use serde::Deserialize;
use serde_json::{Value, json};

/// Request bodies larger than this are refused before parsing: a credential is at most 64 KiB,
/// a presentation of a few credentials fits well under this.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Shared state of the service.
#[derive(Clone)]
pub struct AppState {
    /// The offline verifier loaded from the bundle.
    pub verifier: Arc<Verifier>,
    /// The clock verification uses.
    pub clock: Arc<dyn Clock>,
}

/// The service's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/credentials/verify", post(verify_credential))
        .route("/presentations/verify", post(verify_presentation))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Request bodies of the identity provider's forms and token requests are small.
pub const MAX_IDP_BODY_BYTES: usize = 64 * 1024;

/// The whole service: the verification endpoints, the identity provider and the issuer.
pub fn app(
    state: AppState,
    idp: llavero_idp::IdpState,
    issuer: llavero_issuer::IssuerState,
) -> Router {
    app_with(state, idp, issuer, Router::new())
}

/// The whole service with further services' routes (the presentation service), under the same
/// security headers.
pub fn app_with(
    state: AppState,
    idp: llavero_idp::IdpState,
    issuer: llavero_issuer::IssuerState,
    services: Router,
) -> Router {
    let https = idp.config.issuer.starts_with("https://");
    let app = router(state)
        .merge(llavero_issuer::router(issuer))
        .merge(services)
        .merge(llavero_idp::router(idp).layer(DefaultBodyLimit::max(MAX_IDP_BODY_BYTES)));
    with_security_headers(app, https)
}

/// `Strict-Transport-Security` value: a year, the issuer's host only (its parent domain's
/// other hosts are not ours to pin).
pub const HSTS: &str = "max-age=31536000";

/// Adds to every response, JSON and errors included, `X-Content-Type-Options: nosniff` (no
/// browser may read a JSON answer or an uploaded credential as a script or page) and, when
/// the service is reached over HTTPS, `Strict-Transport-Security` (no later visit over plain
/// HTTP, where a session cookie or a password could be read).
pub fn with_security_headers(app: Router, https: bool) -> Router {
    app.layer(axum::middleware::map_response(
        move |mut response: Response| async move {
            let headers = response.headers_mut();
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            if https {
                headers.insert(
                    header::STRICT_TRANSPORT_SECURITY,
                    HeaderValue::from_static(HSTS),
                );
            }
            response
        },
    ))
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// VC-API verification options (`challenge` is the nonce, `domain` the audience).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct VerifyOptions {
    challenge: Option<String>,
    domain: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerifyCredentialRequest {
    verifiable_credential: Value,
    #[serde(default)]
    options: VerifyOptions,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerifyPresentationRequest {
    verifiable_presentation: Value,
    #[serde(default)]
    options: VerifyOptions,
}

/// The body of every failed verification.
struct ApiError {
    status: StatusCode,
    code: &'static str,
    /// The VC Data Model rule broken, for `non_conforming`.
    rule: Option<&'static str>,
    message: String,
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: r.code(),
            rule: match &r {
                Rejection::NonConforming { rule, .. } => Some(rule.code()),
                _ => None,
            },
            message: r.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let (Some(rule), Some(fields)) = (self.rule, error.as_object_mut()) {
            fields.insert("rule".into(), rule.into());
        }
        let body = json!({
            "verified": false,
            "errors": [error],
        });
        (self.status, Json(body)).into_response()
    }
}

fn malformed(message: impl Into<String>) -> ApiError {
    ApiError::from(Rejection::Malformed(message.into()))
}

/// A compact credential from the VC-API value: a string, or an enveloped credential or
/// presentation whose `id` is a `data:` URL (VC-JOSE-COSE §3.2).
fn compact_from(value: &Value) -> Result<String, ApiError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Object(obj) => {
            let id = obj
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| malformed("expected a compact string or an enveloped credential"))?;
            let (media_type, data) = id
                .strip_prefix("data:")
                .and_then(|rest| rest.split_once(','))
                .ok_or_else(|| malformed("enveloped credential id is not a data: URL"))?;
            match media_type {
                "application/vc+jwt"
                | "application/vp+jwt"
                | "application/dc+sd-jwt"
                | "application/vc+sd-jwt" => Ok(data.to_owned()),
                other => Err(ApiError::from(Rejection::UnsupportedFormat(
                    other.to_owned(),
                ))),
            }
        }
        _ => Err(malformed(
            "expected a compact string or an enveloped credential",
        )),
    }
}

fn expectations(options: VerifyOptions) -> Expectations {
    let mut expect = Expectations::default();
    expect.audience = options.domain;
    expect.nonce = options.challenge;
    expect
}

async fn verify_credential(
    State(state): State<AppState>,
    Json(request): Json<VerifyCredentialRequest>,
) -> Result<Json<Value>, ApiError> {
    let compact = compact_from(&request.verifiable_credential)?;
    verify(&state, &compact, &expectations(request.options))
}

async fn verify_presentation(
    State(state): State<AppState>,
    Json(request): Json<VerifyPresentationRequest>,
) -> Result<Json<Value>, ApiError> {
    let compact = compact_from(&request.verifiable_presentation)?;
    let expect = expectations(request.options);
    if expect.audience.is_none() || expect.nonce.is_none() {
        return Err(malformed(
            "a presentation is verified against options.domain and options.challenge",
        ));
    }
    verify(&state, &compact, &expect)
}

fn verify(state: &AppState, compact: &str, expect: &Expectations) -> Result<Json<Value>, ApiError> {
    let verification = state.verifier.verify(compact, state.clock.now(), expect)?;
    let mut body = serde_json::to_value(&verification).map_err(|e| ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: "internal",
        rule: None,
        message: e.to_string(),
    })?;
    if let Some(obj) = body.as_object_mut() {
        obj.insert("verified".into(), true.into());
    }
    Ok(Json(body))
}
