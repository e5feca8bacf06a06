//! Llavero's identity provider: the civil registry anchor, citizens' accounts and the OpenID
//! Connect provider.
//!
//! The provider is stateless: every piece of flow state (pending requests, sessions, codes,
//! tokens, lockout counters, consent) is in the shared database, so any number of instances
//! serve the same citizens. [`router`] gives the whole HTTP surface.

#![forbid(unsafe_code)]

pub mod account;
pub mod accounts;
pub mod admin;
pub mod attestation;
pub mod audit;
pub mod checkpoints;
pub mod client_cache;
pub mod clients;
pub mod config;
pub mod error;
pub mod extract;
pub mod hashing;
pub mod keys;
pub mod limiter;
pub mod local_time;
pub mod oidc;
pub mod pages;
pub mod password;
pub mod refresh_grants;
pub mod registry;
pub mod relying_party;
pub mod scopes;
pub mod session;
pub mod state;
pub mod web;
pub mod webauthn;

// Shared with the other services: the platform layer (the paths stay for the provider's modules).
pub use llavero_platform::levels as factors;
pub use llavero_platform::{random, seal, write_queue};

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

pub use config::IdpConfig;
pub use error::{ErrorCode, IdpError};
pub use llavero_platform::authorization::ExtraGrant;
pub use state::{Idp, IdpState};

/// Every route of the identity provider.
pub fn router(idp: IdpState) -> Router {
    use oidc::{authorize, discovery, logout, resource, token};
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::configuration),
        )
        .route("/jwks", get(discovery::jwks))
        .route(
            "/authorize",
            get(authorize::authorize).post(authorize::authorize),
        )
        .route("/par", post(authorize::par))
        .route("/login", get(authorize::login_form).post(authorize::login))
        .route(
            "/consent",
            get(authorize::consent_form).post(authorize::consent),
        )
        .route("/token", post(token::token))
        .route(
            "/userinfo",
            get(resource::userinfo).post(resource::userinfo),
        )
        .route("/revoke", post(resource::revoke))
        .route("/logout", get(logout::logout).post(logout::logout))
        .route(
            "/activate",
            get(account::activate_form).post(account::activate),
        )
        .route("/account", get(account::account))
        .route("/account/consents/revoke", post(account::revoke_consent))
        .route("/account/sessions/end", post(account::end_session))
        .route("/account/password", post(account::change_password))
        .route("/account/history.json", get(account::history_json))
        .route(
            "/account/webauthn/register/start",
            post(webauthn::register_start),
        )
        .route(
            "/account/webauthn/register/finish",
            post(webauthn::register_finish::<authorize::Resume>),
        )
        .route("/login/passkey/start", post(webauthn::passkey_start))
        .route(
            "/login/webauthn/finish",
            post(webauthn::login_finish::<authorize::Resume>),
        )
        .route("/account/confirm/start", post(webauthn::confirm_start))
        .route("/account/confirm/finish", post(webauthn::confirm_finish))
        .route("/account/webauthn/remove", post(webauthn::remove))
        .route("/account/webauthn/rename", post(webauthn::rename))
        .route(
            "/account/sessions/end-others",
            post(account::end_other_sessions),
        )
        .route(
            "/account/recovery-codes",
            post(webauthn::new_recovery_codes),
        )
        .route(
            "/login/recovery",
            post(webauthn::recovery_login::<authorize::Resume>),
        )
        .route("/static/webauthn.js", get(webauthn::script))
        .route("/admin/activation-codes", post(admin::activation_code))
        .route("/admin/clients", post(admin::register_client))
        .fallback(web::not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&idp.trusted_proxies),
            web::client_address::resolve,
        ))
        .with_state(idp)
}
