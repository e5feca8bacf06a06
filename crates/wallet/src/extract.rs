//! Extractors: what a handler checks before its own work.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use crate::error::WalletError;
use crate::session::Citizen;
use crate::state::WalletState;

/// Extractor: the signed-in citizen, or a redirect to the login page.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Citizen);

impl<S> FromRequestParts<S> for SignedIn
where
    WalletState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = WalletError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let wallet = WalletState::from_ref(state);
        match wallet.sessions.signed_in(&parts.headers).await {
            Ok(Some(citizen)) => Ok(Self(citizen)),
            Ok(None) => Err(WalletError::SignIn(wallet.sessions.login_url(
                parts.uri.path_and_query().map_or("/wallet", |p| p.as_str()),
            ))),
            Err(e) => Err(WalletError::Internal(e.to_string())),
        }
    }
}
