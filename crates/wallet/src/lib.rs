//! # Llavero wallet: the citizen's carpeta ciudadana
//!
//! Every citizen who logs in to Llavero has a wallet in the browser, no app needed. It
//! **receives** credentials over OpenID4VCI 1.0 from any conforming issuer ([`receive`]),
//! **holds** them with one sealed P-256 key per credential ([`keys`]), **shows** them in plain
//! Spanish or English with their status refreshed from the issuers' lists ([`web`],
//! [`status`]). Presenting them over OpenID4VP 1.0 ([`present`]), the citizen deciding claim
//! by claim and confirming with a fresh second factor ([`session::CitizenSessions::confirm`]),
//! is the next step: its routes are not served yet.
//!
//! ```text
//!  browser ──► router ──► web (pages, forms) ──► receive / present ──► fetch ──► issuer / verifier
//!                 │             │                      │
//!                 │             └─► status              └─► keys (HolderKeys: sealed or HSM)
//!                 └─► SignedIn (CitizenSessions: the identity provider's session, wired by the server)
//! ```
//!
//! The service is a peer of the identity provider and the issuer: it never depends on them.
//! What it needs of the provider (the signed-in citizen, a fresh confirmation, the audit trail)
//! is [`session::CitizenSessions`], which the server implements over the provider. It refuses
//! to reach plain-http URLs outside development, reads no document larger than
//! [`fetch::MAX_DOCUMENT_BYTES`], lets no key leave the service and no citizen's request touch
//! another citizen's rows.

#![forbid(unsafe_code)]

pub mod boxed;
pub mod error;
pub mod extract;
pub mod fetch;
pub mod issuer_keys;
pub mod keys;
pub mod pages;
pub mod present;
pub mod receive;
pub mod session;
pub mod state;
pub mod status;
pub mod web;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub use state::{Wallet, WalletConfig, WalletParts, WalletState};

/// The largest form the wallet accepts (a pasted offer or request link with its token).
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// Every route of the wallet service, under `/wallet`.
pub fn router(wallet: WalletState) -> Router {
    Router::new()
        .route("/wallet", get(web::home))
        .route("/wallet/metadata", get(web::metadata))
        .route("/wallet/export.json", get(web::export))
        .route(
            "/wallet/offer",
            get(web::offer_endpoint).post(web::offer_pasted),
        )
        .route("/wallet/offer/{id}", get(web::offer_page))
        .route("/wallet/offer/{id}/accept", post(web::offer_accept))
        .route("/wallet/credentials/{id}", get(web::credential))
        .route("/wallet/credentials/{id}/delete", post(web::delete))
        .merge(present::routes())
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .with_state(wallet)
}
