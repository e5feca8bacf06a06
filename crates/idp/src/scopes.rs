//! Scope names, below every protocol module: the identity scopes (OpenID Connect claims) and the
//! credential scopes (OpenID4VCI configurations) a client may be registered for and a request
//! may ask for.

/// Scopes beyond `openid` that release claims.
pub const CLAIM_SCOPES: [&str; 3] = ["run", "name", "birthdate"];

pub use llavero_platform::authorization::{DETAILS_PREFIX, DETAILS_TYPE};

/// Whether a scope is an identity scope (OpenID Connect) rather than a credential.
#[must_use]
pub fn is_identity_scope(scope: &str) -> bool {
    scope == "openid" || CLAIM_SCOPES.contains(&scope)
}

/// Whether a scope names a credential configuration (`<type>_sd-jwt` or `<type>_vc-jwt`, the
/// issuer's configuration ids), which a wallet client may be registered for.
#[must_use]
pub fn is_configuration_scope(scope: &str) -> bool {
    let Some((credential_type, format)) = scope.rsplit_once('_') else {
        return false;
    };
    matches!(format, "sd-jwt" | "vc-jwt")
        && !credential_type.is_empty()
        && credential_type
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
