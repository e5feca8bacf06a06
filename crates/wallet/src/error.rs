//! The wallet's one error type: every handler returns `Result<_, WalletError>`.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why a wallet request failed.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// No one is signed in: the login page to go to.
    #[error("sign in first")]
    SignIn(String),
    /// The form's anti-CSRF token is missing or wrong.
    #[error("the form expired; open the page again")]
    Csrf,
    /// No such credential, offer or request for this citizen.
    #[error("not found")]
    NotFound,
    /// The citizen's input or the other party's answer is unusable; the message is shown.
    #[error("{0}")]
    Refused(String),
    /// The issuer or verifier could not be reached or answered badly.
    #[error("the other party answered badly: {0}")]
    Remote(String),
    /// A fresh second factor is needed.
    #[error("confirm with your key first")]
    ConfirmFirst,
    /// A fault of ours: logged, not shown.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<llavero_store::StoreError> for WalletError {
    fn from(e: llavero_store::StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<crate::keys::KeyError> for WalletError {
    fn from(e: crate::keys::KeyError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<crate::fetch::FetchError> for WalletError {
    fn from(e: crate::fetch::FetchError) -> Self {
        Self::Remote(e.to_string())
    }
}

impl IntoResponse for WalletError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::SignIn(login) => {
                return (StatusCode::SEE_OTHER, [(header::LOCATION, login.clone())])
                    .into_response();
            }
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Refused(_) | Self::ConfirmFirst => StatusCode::BAD_REQUEST,
            Self::Remote(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(e) => {
                tracing::error!(error = %e, "wallet fault");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let shown = match &self {
            Self::Internal(_) => "something failed on our side; try again later".to_owned(),
            other => other.to_string(),
        };
        crate::pages::message_page(status, &shown)
    }
}
