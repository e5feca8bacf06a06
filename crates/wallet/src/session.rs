//! The signed-in citizen, as the identity provider knows them. The wallet holds no session of
//! its own: the server wires [`CitizenSessions`] to the provider's sessions, CSRF secret and
//! factor confirmation, so this crate never depends on the provider's.

use axum::http::HeaderMap;

pub use crate::boxed::BoxFuture;

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
