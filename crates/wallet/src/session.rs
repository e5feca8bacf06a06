//! The signed-in citizen, as the identity provider knows them. The wallet holds no session of
//! its own: the server wires [`CitizenSessions`] to the provider's sessions, CSRF secret and
//! factor confirmation, so this crate never depends on the provider's.

use std::future::Future;
use std::pin::Pin;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::error::WalletError;
use crate::state::WalletState;

/// A boxed future, for the object-safe traits the server implements.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The citizen of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citizen {
    /// Their account.
    pub account_id: String,
    /// Their RUN, formatted (`12.345.678-5`).
    pub run: String,
    /// The provider's public session handle, to tie pending state to this login.
    pub session: String,
}

/// Whether a fresh second factor confirmed the citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// Confirmed, and the confirmation is now spent (one use).
    Confirmed,
    /// No fresh confirmation: ask for one.
    Needed,
}

/// Why the provider's session could not be read.
#[derive(Debug, thiserror::Error)]
#[error("session store: {0}")]
pub struct SessionError(pub String);

/// What the wallet needs of the identity provider's sessions.
pub trait CitizenSessions: Send + Sync {
    /// The signed-in citizen of a request (from its session cookie), if any.
    fn signed_in<'a>(
        &'a self,
        headers: &'a HeaderMap,
    ) -> BoxFuture<'a, Result<Option<Citizen>, SessionError>>;

    /// Spends the citizen's fresh second-factor confirmation (a WebAuthn assertion at
    /// `/account/confirm`, or a recent login for an account without keys), if there is one.
    fn confirm<'a>(
        &'a self,
        citizen: &'a Citizen,
    ) -> BoxFuture<'a, Result<Confirmation, SessionError>>;

    /// The provider's anti-CSRF form token for this browser, which the confirmation ceremony's
    /// script sends to `/account/confirm/start|finish`, and the cookie to set if the browser
    /// has none yet.
    fn confirmation_csrf(&self, headers: &HeaderMap) -> (String, Option<axum::http::HeaderValue>);

    /// Where to send a browser that is not signed in, to come back to `back` afterwards.
    fn login_url(&self, back: &str) -> String;

    /// Records an event of the citizen's in the provider's audit trail (their history).
    fn record<'a>(
        &'a self,
        citizen: &'a Citizen,
        headers: &'a HeaderMap,
        kind: &'a str,
        detail: serde_json::Value,
    ) -> BoxFuture<'a, ()>;
}

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
