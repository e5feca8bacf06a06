//! The OpenID Connect provider's protocol endpoints (OIDC Core 1.0, Discovery, RFC 6749,
//! RFC 7636, RFC 9126, RFC 7009, RFC 8414, RP-Initiated Logout).

pub mod authorize;
pub mod claims;
pub mod client_auth;
pub mod credentials;
pub mod discovery;
pub mod logout;
pub mod request;
pub mod resource;
pub mod token;

pub use crate::error::{ErrorCode, OAuthError, no_store};
