//! Presenting credentials (OpenID4VP 1.0, wallet side): not served yet. The seams it needs
//! are in place: holder keys that sign inside the service, the provider's fresh-confirmation
//! check, the status that refuses revoked credentials, and the claims DCQL matches against.

use axum::Router;

use crate::state::WalletState;

/// The presentation routes.
pub(crate) fn routes() -> Router<WalletState> {
    Router::new()
}
