//! Llavero's issuer service: agencies (the civil registry, the licensing authority, the
//! criminal-records office…) issue citizens verifiable versions of their public documents over
//! OpenID4VCI 1.0, as SD-JWT VC and W3C `vc+jwt`, with revocation and suspension published in
//! status lists any relying party can cache and check offline.
//!
//! Like the identity provider, the service is stateless: offers, nonces, issued credentials and
//! status allocations live in the shared database. The identity provider is the authorization
//! server of every agency: its token endpoint also takes the pre-authorized code
//! ([`token::PreAuthorizedGrant`]), and its access tokens carry credential scopes for the
//! authorization code flow.

#![forbid(unsafe_code)]

pub mod agencies;
pub mod agency_api;
pub mod audit;
pub mod error;
pub mod issue;
pub mod keys;
pub mod metadata;
pub mod nonce;
pub mod offers;
pub mod openapi;
pub mod proof;
pub mod qr;
pub mod state;
pub mod status;
pub mod token;
pub mod types;
pub mod vci;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub use state::{Issuer, IssuerConfig, IssuerState};

/// Every route of the issuer service. Agency paths are `/{agency}/…`, so an agency's id is
/// the last segment of its credential issuer identifier.
pub fn router(issuer: IssuerState) -> Router {
    Router::new()
        .route(
            "/.well-known/openid-credential-issuer/{agency}",
            get(metadata::openid_credential_issuer),
        )
        // The form of the drafts before 1.0 (the well-known suffix after the issuer's path),
        // which wallets such as Sphereon's still ask for; 1.0's form above is canonical
        // (OpenID4VCI 1.0 §12.2.2).
        .route(
            "/{agency}/.well-known/openid-credential-issuer",
            get(metadata::openid_credential_issuer),
        )
        .route(
            "/.well-known/jwt-vc-issuer/{agency}",
            get(metadata::jwt_vc_issuer),
        )
        .route("/{agency}/did.json", get(metadata::did_document))
        .route("/{agency}/nonce", post(vci::nonce))
        .route("/{agency}/credential", post(vci::credential))
        .route(
            "/{agency}/deferred-credential",
            post(vci::deferred_credential),
        )
        .route("/{agency}/notification", post(vci::notification))
        .route("/{agency}/offers/{id}", get(offers::by_reference))
        .route("/{agency}/offers/{id}/qr.svg", get(offers::qr_svg))
        .route("/{agency}/offers/{id}/qr.png", get(offers::qr_png))
        .route("/{agency}/status/{n}", get(status::token_list))
        .route(
            "/{agency}/status/{n}/{purpose}",
            get(status::bitstring_list),
        )
        .route("/openapi/issuer.yaml", get(openapi::document))
        .route("/agency/token", post(agency_api::token))
        .route("/{agency}/api/offers", post(agency_api::create_offer))
        .route(
            "/{agency}/api/credentials",
            get(agency_api::list_credentials),
        )
        .route(
            "/{agency}/api/credentials/{id}/{action}",
            post(agency_api::change_status),
        )
        .route("/{agency}/api/deferred", get(agency_api::pending_deferred))
        .route(
            "/{agency}/api/deferred/{id}/approve",
            post(agency_api::approve_deferred),
        )
        .layer(DefaultBodyLimit::max(vci::MAX_REQUEST_BYTES))
        // The caller's address as the provider resolves it (trusted proxies), for the audit
        // trail.
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::clone(&issuer.platform.trusted_proxies),
            llavero_platform::client_address::resolve,
        ))
        .with_state(issuer)
}
