//! Presenting credentials (OpenID4VP 1.0, wallet side).

use axum::Router;

use crate::state::WalletState;

/// The presentation routes.
pub(crate) fn routes() -> Router<WalletState> {
    Router::new()
}
