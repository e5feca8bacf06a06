//! Llavero's presentation service: relying parties (a pharmacy, a bank, a roadside check) ask a
//! citizen's wallet for credentials over OpenID4VP 1.0, as the High Assurance Interoperability
//! Profile (HAIP 1.0) requires, and read the verified answer from an API.
//!
//! ```text
//!  relying party ──POST /verifier/api/transactions──▶ transaction (DCQL, nonce, response key)
//!        │                                                   │ openid4vp://?request_uri=…
//!        │                               wallet ──GET|POST /verifier/requests/{id}──▶ signed request (x5c)
//!        │                               wallet ──POST /verifier/responses/{id}──▶ JWE ─▶ verifier crate
//!        └──GET /verifier/api/transactions/{id}──▶ verified claims per DCQL id (read once, then deleted)
//! ```
//!
//! The service is a peer of the issuer and the identity provider: it takes the shared
//! [`llavero_platform::Platform`] (store, master key, clock, base URL, audit trail) and a source
//! of trust (the trust list and status lists it verifies against), never another service. Transactions live in the database, so any instance serves
//! any step. Each relying party signs its requests with its own key, certified by the
//! presentation authority (a Llavero CA whose root the operator distributes to wallets); what it
//! may ask for is registered, and a request beyond it is refused before a wallet ever sees it.

#![forbid(unsafe_code)]

pub mod api;
pub mod audit;
pub mod authority;
pub mod cache;
pub mod demo;
pub mod error;
pub mod jwe;
pub mod matching;
pub mod openapi;
pub mod parties;
pub mod qr;
pub mod registration;
pub mod response;
pub mod seal;
pub mod signing;
pub mod state;
pub mod transactions;
pub mod wallet;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub use state::{
    Presentations, PresentationsConfig, PresentationsState, SealFailed, Sealer, Trust,
};

/// The largest request body accepted: an encrypted response with a few presentations.
pub const MAX_BODY_BYTES: usize = 512 * 1024;

/// Every route of the presentation service, under `/verifier/`.
pub fn router(service: PresentationsState) -> Router {
    Router::new()
        .route("/verifier/token", post(api::token))
        .route("/verifier/api/transactions", post(api::create))
        .route("/verifier/api/transactions/{id}", get(api::result))
        .route("/verifier/api/transactions/{id}/qr.svg", get(api::qr_svg))
        .route("/verifier/api/transactions/{id}/qr.png", get(api::qr_png))
        .route(
            "/verifier/requests/{id}",
            get(wallet::request_get).post(wallet::request_post),
        )
        .route("/verifier/responses/{id}", post(wallet::response))
        .route("/verifier/ca.pem", get(api::ca_pem))
        .route("/verifier/relying-parties.jwt", get(api::party_list))
        .route("/verifier/demo", get(demo::page).post(demo::start))
        .route(demo::RETURN_PATH, get(demo::back))
        .route("/verifier/demo/{id}", get(demo::status))
        .route("/openapi/presentations.yaml", get(openapi::document))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(service)
}
