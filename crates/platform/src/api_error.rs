//! Errors as OAuth (RFC 6749 §5.2, RFC 6750 §3) and the OpenID for Verifiable Credentials
//! specifications put them on the wire, shared by the services' JSON APIs: a status, an `error`
//! code and a description. Server-side failures are logged and answered without detail. Each
//! service adds `From` conversions for its own error types.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error`.
    pub error: &'static str,
    /// `error_description`.
    pub description: String,
}

impl ApiError {
    /// A 400.
    pub fn bad(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }

    /// A 401 `invalid_token` (RFC 6750).
    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            description: description.into(),
        }
    }

    /// A 401 `invalid_client` (RFC 6749 §5.2).
    #[must_use]
    pub fn invalid_client() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "client authentication failed".into(),
        }
    }

    /// A 403.
    pub fn forbidden(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            error,
            description: description.into(),
        }
    }

    /// A 404.
    pub fn not_found(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            error: "not_found",
            description: description.into(),
        }
    }

    /// A 500 whose cause is logged, not sent.
    pub fn server(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "internal error".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = format!("Bearer error=\"{}\"", self.error);
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// The database failed: a server failure.
impl From<llavero_store::StoreError> for ApiError {
    fn from(e: llavero_store::StoreError) -> Self {
        Self::server(&e)
    }
}

/// Signing or hashing failed: a server failure.
impl From<llavero_credentials::crypto::CryptoError> for ApiError {
    fn from(e: llavero_credentials::crypto::CryptoError) -> Self {
        Self::server(&e)
    }
}

/// Making a JWS failed: a server failure.
impl From<llavero_credentials::jws::JwsError> for ApiError {
    fn from(e: llavero_credentials::jws::JwsError) -> Self {
        Self::server(&e)
    }
}

/// A JSON body with `Cache-Control: no-store` (tokens, nonces, credentials, results).
pub fn no_store(body: serde_json::Value) -> Response {
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
