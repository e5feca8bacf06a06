//! # Llavero wallet: the citizen's carpeta ciudadana
//!
//! Every citizen who logs in to Llavero has a wallet in the browser, no app needed. It
//! **receives** credentials over OpenID4VCI 1.0 from any conforming issuer ([`receive`]),
//! **holds** them with one sealed P-256 key per credential ([`keys`]), **shows** them in plain
//! Spanish or English with their status refreshed from the issuers' lists ([`web`],
//! [`status`]), and **presents** them over OpenID4VP 1.0 as HAIP 1.0 profiles it
//! ([`present`]): a verifier's signed request (by reference, `x5c` chained to the roots the
//! operator configured, `x509_hash` or `x509_san_dns` client identifiers) is shown as who asks
//! (its registered name from a signed relying-party list, or a warning), which claims of which
//! document (labels from the type metadata) and what may be left out; the citizen confirms
//! with a fresh second factor ([`session::CitizenSessions::confirm`]), and the SD-JWT VC
//! presentations with key binding (or `vp+jwt` for `vc+jwt`), signed with each credential's
//! sealed key, go back by `direct_post.jwt` (JWE, ECDH-ES) or `direct_post`. Every
//! presentation is recorded in the citizen's history: to whom, which claims, when; never a
//! value.
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
//! another citizen's rows. It answers no unsigned request unless the operator sets
//! [`WalletConfig::dangerous_allow_unsigned_requests`], no request whose certificate does not
//! chain to [`WalletConfig::trusted_roots`], and keeps a pending presentation for one login of
//! one citizen, a few minutes, one use; a revoked, suspended or expired credential is never
//! offered or presented.

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
