//! The identity provider's one error type, [`IdpError`]: every handler returns
//! `Result<_, IdpError>`, and each variant says why a request was refused and is answered the
//! way its caller reads answers (an OAuth client JSON, a resource client a `WWW-Authenticate`
//! challenge, the citizen's browser a page or a redirect, the page's script JSON). The OAuth
//! and OpenID Connect error codes are [`ErrorCode`], never strings.
//!
//! A leaf module: it knows nothing of the provider's state, so every layer can use it. Pages
//! need the provider's templates; a handler renders them and hands the page over as
//! [`IdpError::Page`].

use axum::Json;
use axum::http::header::{CACHE_CONTROL, LOCATION, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The error codes of OAuth 2.0 and OpenID Connect, as the standards spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// RFC 6749 §4.1.2.1, §5.2: a parameter missing, repeated, malformed or unsupported.
    InvalidRequest,
    /// RFC 6749 §5.2: client authentication failed.
    InvalidClient,
    /// RFC 6749 §5.2: the code or refresh token is invalid, expired, revoked or not the
    /// client's; or PKCE failed.
    InvalidGrant,
    /// RFC 6749 §4.1.2.1, §5.2: the client may not use this grant or flow.
    UnauthorizedClient,
    /// RFC 6749 §5.2: the grant type is not supported.
    UnsupportedGrantType,
    /// RFC 6749 §4.1.2.1: the response type is not supported.
    UnsupportedResponseType,
    /// RFC 6749 §4.1.2.1, §5.2: the scope is invalid or not the client's.
    InvalidScope,
    /// RFC 6749 §4.1.2.1: the citizen or the provider refused.
    AccessDenied,
    /// RFC 6749 §4.1.2.1: the provider failed (the cause is logged, never sent).
    ServerError,
    /// RFC 6749 §4.1.2.1: the provider is overloaded; retry later.
    TemporarilyUnavailable,
    /// RFC 6750 §3.1: the access token is unknown, expired or revoked.
    InvalidToken,
    /// RFC 6750 §3.1: the access token lacks a scope the request needs.
    InsufficientScope,
    /// OIDC Core §3.1.2.6: the citizen must interact (`prompt=none` cannot be served).
    InteractionRequired,
    /// OIDC Core §3.1.2.6: the citizen must log in.
    LoginRequired,
    /// OIDC Core §3.1.2.6: the citizen must choose an account.
    AccountSelectionRequired,
    /// OIDC Core §3.1.2.6: the citizen must consent.
    ConsentRequired,
    /// OIDC Core §3.1.2.6, RFC 9126 §2.3: the `request_uri` is invalid or expired.
    InvalidRequestUri,
    /// OIDC Core §3.1.2.6: the request object is invalid.
    InvalidRequestObject,
    /// OIDC Core §3.1.2.6: the `request` parameter is not supported.
    RequestNotSupported,
    /// OIDC Core §3.1.2.6: the `request_uri` parameter is not supported.
    RequestUriNotSupported,
    /// OIDC Core §3.1.2.6: the `registration` parameter is not supported.
    RegistrationNotSupported,
    /// RFC 9396 §5: the `authorization_details` are invalid or not allowed.
    InvalidAuthorizationDetails,
}

impl ErrorCode {
    /// The code as the standards spell it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::InteractionRequired => "interaction_required",
            Self::LoginRequired => "login_required",
            Self::AccountSelectionRequired => "account_selection_required",
            Self::ConsentRequired => "consent_required",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::InvalidRequestObject => "invalid_request_object",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::RegistrationNotSupported => "registration_not_supported",
            Self::InvalidAuthorizationDetails => "invalid_authorization_details",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth error answered as JSON (RFC 6749 §5.2), never cached; a 401 carries the
/// `WWW-Authenticate: Basic` challenge of client authentication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error`.
    pub error: ErrorCode,
    /// `error_description`.
    pub description: String,
}

impl OAuthError {
    /// A 400 with `error`.
    pub fn bad(error: ErrorCode, description: impl Into<String>) -> Self {
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
            error: ErrorCode::InvalidClient,
            description: "client authentication failed".into(),
        }
    }

    /// A 500 `server_error` whose cause is logged, not sent.
    #[allow(clippy::needless_pass_by_value)] // taken by value for `.map_err(OAuthError::server)`
    pub fn server(cause: impl std::fmt::Display) -> Self {
        let reference = crate::random::id();
        tracing::error!(%reference, error = %cause, "internal error");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: ErrorCode::ServerError,
            description: format!("reference {reference}"),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({"error": self.error.as_str(), "error_description": self.description})),
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

/// Why a WebAuthn ceremony endpoint refused: answered to the page's script as
/// `{"error": "<the message>"}` with the variant's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CeremonyError {
    /// The issuer cannot be a relying party (404).
    #[error("webauthn is not configured for this issuer")]
    NotConfigured,
    /// The body's CSRF token is not this browser's (403).
    #[error("csrf")]
    Csrf,
    /// An account-page ceremony without a live session (401).
    #[error("login required")]
    LoginRequired,
    /// No such ceremony for this session or browser: unknown, used or expired (400).
    #[error("unknown, used or expired ceremony")]
    UnknownCeremony,
    /// The authenticator's answer is not a credential (400).
    #[error("malformed credential")]
    MalformedCredential,
    /// A factor change without a fresh confirmation (403).
    #[error("confirm with one of your keys first (or log in again)")]
    ConfirmFirst,
    /// A staff account's registration while no attestation allow-list is configured (403).
    #[error(
        "staff accounts can register only a security key on the attestation allow-list (device-bound, with a PIN or biometric)"
    )]
    StaffWithoutAllowList,
    /// A staff account's authenticator is not on the attestation allow-list (400).
    #[error(
        "staff accounts can register only a security key on the attestation allow-list (device-bound, with a PIN or biometric)"
    )]
    NotOnAllowList,
    /// The registration's attestation did not verify (400).
    #[error("the authenticator's answer did not verify")]
    RegistrationNotVerified,
    /// The login or confirmation assertion did not verify (401).
    #[error("the authenticator's answer did not verify")]
    AssertionNotVerified,
    /// The signature counter went backwards: the authenticator may be cloned (401).
    #[error("this authenticator may have been cloned; it is flagged")]
    PossiblyCloned,
    /// A passkey whose user handle is no account's (401).
    #[error("unknown passkey")]
    UnknownPasskey,
    /// An assertion by a credential the account does not have (401).
    #[error("unknown authenticator")]
    UnknownAuthenticator,
    /// A confirmation asked of an account without keys (400).
    #[error("this account has no key to confirm with")]
    NoKeyToConfirm,
}

impl CeremonyError {
    /// The HTTP status of the answer.
    #[must_use]
    pub const fn status(self) -> StatusCode {
        match self {
            Self::NotConfigured => StatusCode::NOT_FOUND,
            Self::Csrf | Self::ConfirmFirst | Self::StaffWithoutAllowList => StatusCode::FORBIDDEN,
            Self::LoginRequired
            | Self::AssertionNotVerified
            | Self::PossiblyCloned
            | Self::UnknownPasskey
            | Self::UnknownAuthenticator => StatusCode::UNAUTHORIZED,
            Self::UnknownCeremony
            | Self::MalformedCredential
            | Self::NotOnAllowList
            | Self::RegistrationNotVerified
            | Self::NoKeyToConfirm => StatusCode::BAD_REQUEST,
        }
    }
}

/// Why the admin API refused a call: answered as `{"error": …}` (404 with no body when the
/// API is off).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// No admin token is configured: the API does not exist (404).
    #[error("the admin API is not enabled")]
    NotEnabled,
    /// The caller's address failed too often this minute (429 with `Retry-After`).
    #[error("too many failed admin calls")]
    TooManyFailures {
        /// Seconds until the minute ends.
        retry_after: i64,
    },
    /// A missing or wrong admin token (401).
    #[error("unauthorized")]
    Unauthorized,
    /// The request is malformed or invalid (400).
    #[error("{0}")]
    Invalid(String),
    /// The request is well formed but cannot be done (422).
    #[error("{0}")]
    Unprocessable(String),
}

/// Why the identity provider refused a request, or failed it.
#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    /// A protocol error of the OAuth endpoints (`/token`, `/par`, `/revoke`), as JSON.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// A resource request without a usable access token (RFC 6750 §3): the status and a
    /// `WWW-Authenticate: Bearer` challenge (with `error` when there is one), no body.
    #[error("bearer token refused ({status}{})", code.map(|c| format!(", {c}")).unwrap_or_default())]
    Bearer {
        /// 400 or 401.
        status: StatusCode,
        /// `error`, none when no token was sent (RFC 6750 §3.1).
        code: Option<ErrorCode>,
    },
    /// An authorization request refused once its client and redirect URI are trusted: the
    /// browser goes back to the client with `error` (RFC 6749 §4.1.2.1).
    #[error("authorization refused; back to the client at {location}")]
    ToClient {
        /// The client's redirect URI with `error`, `error_description`, `state` and `iss`.
        location: String,
    },
    /// The step needs a signed-in citizen: the browser goes to the login page.
    #[error("login needed first; to {location}")]
    SignInFirst {
        /// The login page (with the pending request, if any).
        location: String,
    },
    /// A front-channel request too malformed to name its client: a bare 400 (the
    /// authorization endpoint shows it as a page).
    #[error("malformed request")]
    BadRequest,
    /// A form body that cannot be read as the form (axum's answer: 415 or 422).
    #[error(transparent)]
    Form(#[from] axum::extract::rejection::FormRejection),
    /// A JSON body that cannot be read as the request (axum's answer: 400, 415 or 422).
    #[error(transparent)]
    Json(#[from] axum::extract::rejection::JsonRejection),
    /// A body that cannot be read at all (too large, cut off).
    #[error(transparent)]
    Body(#[from] axum::extract::rejection::BytesRejection),
    /// A WebAuthn ceremony endpoint's refusal.
    #[error(transparent)]
    Ceremony(#[from] CeremonyError),
    /// An admin API refusal.
    #[error(transparent)]
    Admin(#[from] AdminError),
    /// Too many requests from the caller's address: 429 with `Retry-After`.
    #[error("rate limited for {retry_after} s")]
    TooManyRequests {
        /// Seconds to wait.
        retry_after: i64,
    },
    /// A page for the citizen (an error page in their language, the form again with what was
    /// wrong), rendered with the provider's templates by the handler that knows the page.
    #[error("answered with a page ({})", .0.status())]
    Page(Box<Response>),
    /// The database failed: 500, the cause logged with a reference.
    #[error("store: {0}")]
    Store(#[from] llavero_store::StoreError),
    /// Another failure of ours (serialization, the WebAuthn library): 500, the cause logged
    /// with a reference.
    #[error("internal: {0}")]
    Internal(String),
}

impl IdpError {
    /// A page the handler rendered for the citizen.
    #[must_use]
    pub fn page(page: Response) -> Self {
        Self::Page(Box::new(page))
    }

    /// An internal failure with its cause (logged when answered, never sent).
    #[allow(clippy::needless_pass_by_value)] // taken by value for `.map_err(IdpError::internal)`
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }
}

impl IntoResponse for IdpError {
    fn into_response(self) -> Response {
        match self {
            Self::OAuth(e) => e.into_response(),
            Self::Bearer { status, code } => {
                let mut response = status.into_response();
                let challenge = match code {
                    Some(code) => format!("Bearer error=\"{code}\""),
                    None => "Bearer".to_owned(),
                };
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    response.headers_mut().insert(WWW_AUTHENTICATE, value);
                }
                response
            }
            Self::ToClient { location } | Self::SignInFirst { location } => see_other(&location),
            Self::BadRequest => StatusCode::BAD_REQUEST.into_response(),
            Self::Form(e) => e.into_response(),
            Self::Json(e) => e.into_response(),
            Self::Body(e) => e.into_response(),
            Self::Ceremony(e) => {
                (e.status(), Json(json!({"error": e.to_string()}))).into_response()
            }
            Self::Admin(e) => {
                let problem = |status: StatusCode, e: &AdminError| {
                    (status, Json(json!({"error": e.to_string()}))).into_response()
                };
                match e {
                    AdminError::NotEnabled => StatusCode::NOT_FOUND.into_response(),
                    AdminError::TooManyFailures { retry_after } => {
                        with_retry_after(problem(StatusCode::TOO_MANY_REQUESTS, &e), retry_after)
                    }
                    AdminError::Unauthorized => problem(StatusCode::UNAUTHORIZED, &e),
                    AdminError::Invalid(_) => problem(StatusCode::BAD_REQUEST, &e),
                    AdminError::Unprocessable(_) => problem(StatusCode::UNPROCESSABLE_ENTITY, &e),
                }
            }
            Self::TooManyRequests { retry_after } => too_many(retry_after),
            Self::Page(page) => *page,
            Self::Store(e) => internal(&e),
            Self::Internal(e) => internal(&e),
        }
    }
}

/// A 500 that says nothing about the cause; the cause goes to the log with a reference.
#[must_use]
pub fn internal(error: &dyn std::fmt::Display) -> Response {
    let reference = crate::random::id();
    tracing::error!(%reference, %error, "internal error");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("Internal error. Error interno. Reference: {reference}"),
    )
        .into_response()
}

/// A 303 See Other to `location`.
#[must_use]
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, v);
    }
    response
}

/// 429 with `Retry-After`.
#[must_use]
pub fn too_many(retry_after: i64) -> Response {
    let response = (
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests. Demasiadas solicitudes.",
    )
        .into_response();
    with_retry_after(response, retry_after)
}

/// Adds `Retry-After` (at least one second).
#[must_use]
pub fn with_retry_after(mut response: Response, retry_after: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&retry_after.max(1).to_string()) {
        response.headers_mut().insert(RETRY_AFTER, v);
    }
    response
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_spelled_as_the_standards_spell_them() {
        assert_eq!(
            ErrorCode::InvalidRequestUri.to_string(),
            "invalid_request_uri"
        );
        assert_eq!(ErrorCode::LoginRequired.as_str(), "login_required");
        assert_eq!(
            ErrorCode::InvalidAuthorizationDetails.as_str(),
            "invalid_authorization_details"
        );
    }

    #[test]
    fn a_bearer_refusal_carries_its_challenge_and_no_body() {
        let response = IdpError::Bearer {
            status: StatusCode::UNAUTHORIZED,
            code: Some(ErrorCode::InvalidToken),
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers().get(WWW_AUTHENTICATE),
            Some(&HeaderValue::from_static("Bearer error=\"invalid_token\""))
        );
    }

    #[test]
    fn an_oauth_error_is_not_cached_and_a_401_asks_for_client_credentials() {
        let response = IdpError::from(OAuthError::invalid_client()).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers().get(CACHE_CONTROL),
            Some(&HeaderValue::from_static("no-store"))
        );
        assert!(response.headers().contains_key(WWW_AUTHENTICATE));
    }
}
