//! What a service asks of the authorization server without depending on it: the issuer's
//! OpenID4VCI grant is answered at the identity provider's token endpoint, and credential
//! requests carry the provider's `authorization_details`.
//!
//! The server wires an implementation in when it assembles the provider, so the provider and
//! the services stay peers: neither holds the other.

use std::collections::BTreeMap;

use axum::response::Response;
use serde_json::{Map, Value};

use crate::audit::{BoxFuture, Origin};

/// The `authorization_details` type of OpenID4VCI (§5.1.1).
pub const DETAILS_TYPE: &str = "openid_credential";

/// Scopes granted through `authorization_details` are stored with this prefix and the
/// credential configuration id, so an access token carries what it may be exchanged for.
pub const DETAILS_PREFIX: &str = "openid_credential:";

/// A grant type handled outside the provider, at its token endpoint: OpenID4VCI's
/// pre-authorized code, whose anonymous wallets are no registered client, is the issuer's.
pub trait ExtraGrant: Send + Sync {
    /// The `grant_type` value.
    fn grant_type(&self) -> &'static str;
    /// Metadata members to add to the provider's metadata.
    fn metadata(&self) -> Map<String, Value>;
    /// Answers a token request of that grant type.
    fn token(&self, form: BTreeMap<String, String>, origin: Origin) -> BoxFuture<'_, Response>;
}
