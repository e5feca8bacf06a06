//! The OpenID Connect provider's protocol endpoints (OIDC Core 1.0, Discovery, RFC 6749,
//! RFC 7636, RFC 9126, RFC 7009, RFC 8414, RP-Initiated Logout).

pub mod authorize;
pub mod claims;
pub mod client_auth;
pub mod credentials;
pub mod discovery;
pub mod logout;
pub mod request;
pub mod resource;
pub mod token;

use axum::Json;
use axum::http::header::{CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An OAuth error answered as JSON (RFC 6749 §5.2).
#[derive(Debug, Clone)]
pub struct OAuthError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error`.
    pub error: &'static str,
    /// `error_description`.
    pub description: String,
}

impl OAuthError {
    /// A 400 with `error`.
    pub fn bad(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }

    /// A 401 `invalid_client`.
    #[must_use]
    pub fn invalid_client() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "client authentication failed".into(),
        }
    }

    /// A 500 whose cause is logged, not sent.
    #[must_use]
    pub fn server(cause: &dyn std::fmt::Display) -> Self {
        let reference = crate::random::id();
        tracing::error!(%reference, error = %cause, "internal error");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: format!("reference {reference}"),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"llavero\""),
            );
        }
        no_store(&mut response);
        response
    }
}

/// Token responses and errors must not be cached (RFC 6749 §5.1).
pub fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(PRAGMA, HeaderValue::from_static("no-cache"));
}
