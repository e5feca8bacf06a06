//! Registering relying parties (from the CLI and the admin API), and the cache every request
//! looks them up in.

use std::collections::HashMap;
use std::sync::RwLock;

use llavero_store::{Client, ClientAuthMethod, Store, StoreError, SubjectType, hash_secret};
use serde::Deserialize;

use crate::factors::acr_rank;
use crate::oidc::claims::CLAIM_SCOPES;

/// A registration request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// Shown to citizens.
    pub name: String,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Exact post-logout redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed scopes (`openid` is added).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `client_secret_basic` (default), `client_secret_post`, `private_key_jwt` or `none`.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// Lowest `acr` accepted.
    #[serde(default)]
    pub min_acr: Option<String>,
    /// `pairwise` (default) or `public`.
    #[serde(default)]
    pub subject_type: Option<String>,
    /// Public JWKS for `private_key_jwt`.
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
}

/// Why a registration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// A field is invalid.
    #[error("{0}")]
    Invalid(String),
    /// Database failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The registered client's credentials (the secret is shown once and stored hashed).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Registered {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`, for secret-based methods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

fn redirect_uri_ok(uri: &str) -> bool {
    let no_fragment = !uri.contains('#');
    let https = uri.starts_with("https://");
    let loopback = uri.starts_with("http://127.0.0.1")
        || uri.starts_with("http://localhost")
        || uri.starts_with("http://[::1]");
    // Private-use schemes for native apps (RFC 8252 §7.1): reverse domain names.
    let native = uri
        .split_once(":/")
        .is_some_and(|(scheme, _)| scheme.contains('.') && !scheme.starts_with("http"));
    no_fragment && (https || loopback || native)
}

/// Validates and stores a registration.
pub async fn register(
    store: &Store,
    registration: Registration,
    now: i64,
) -> Result<Registered, RegistrationError> {
    let invalid = |m: &str| RegistrationError::Invalid(m.to_owned());
    if registration.name.trim().is_empty() {
        return Err(invalid("name is required"));
    }
    if registration.redirect_uris.is_empty() {
        return Err(invalid("at least one redirect URI is required"));
    }
    if let Some(bad) = registration
        .redirect_uris
        .iter()
        .chain(&registration.post_logout_redirect_uris)
        .find(|u| !redirect_uri_ok(u))
    {
        return Err(RegistrationError::Invalid(format!(
            "{bad}: must be https, a loopback http URL or a private-use scheme, without fragment"
        )));
    }
    let method = match registration.token_endpoint_auth_method.as_deref() {
        None => ClientAuthMethod::ClientSecretBasic,
        Some(m) => ClientAuthMethod::parse(m)
            .ok_or_else(|| invalid("unknown token_endpoint_auth_method"))?,
    };
    let subject_type = match registration.subject_type.as_deref() {
        None => SubjectType::Pairwise,
        Some(s) => SubjectType::parse(s)
            .ok_or_else(|| invalid("subject_type must be pairwise or public"))?,
    };
    if registration
        .min_acr
        .as_deref()
        .is_some_and(|acr| acr_rank(acr).is_none())
    {
        return Err(invalid("unknown min_acr"));
    }
    let mut scopes = vec!["openid".to_owned()];
    for scope in registration
        .scopes
        .iter()
        .flat_map(|s| s.split(' '))
        .filter(|s| !s.is_empty())
    {
        if scope != "openid"
            && !CLAIM_SCOPES.contains(&scope)
            && !crate::oidc::credentials::is_configuration_scope(scope)
        {
            return Err(RegistrationError::Invalid(format!("unknown scope {scope}")));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    let jwks = match (method, registration.jwks) {
        (ClientAuthMethod::PrivateKeyJwt, Some(jwks))
            if jwks.get("keys").is_some_and(serde_json::Value::is_array) =>
        {
            Some(jwks.to_string())
        }
        (ClientAuthMethod::PrivateKeyJwt, _) => {
            return Err(invalid("private_key_jwt needs a jwks with keys"));
        }
        (_, _) => None,
    };
    let secret = matches!(
        method,
        ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost
    )
    .then(crate::random::token);
    let client = Client {
        id: format!("llv-{}", crate::random::id()),
        name: registration.name.trim().to_owned(),
        secret_hash: secret.as_deref().map(hash_secret),
        auth_method: method,
        redirect_uris: registration.redirect_uris,
        post_logout_redirect_uris: registration.post_logout_redirect_uris,
        scopes,
        min_acr: registration.min_acr,
        subject_type,
        jwks,
    };
    store.add_client(&client, now).await?;
    Ok(Registered {
        client_id: client.id,
        client_secret: secret,
    })
}

/// How long a looked-up client is reused before it is read again.
pub const CLIENT_CACHE_SECS: i64 = 60;

/// Entries kept at most; past it the cache starts afresh.
const CLIENT_CACHE_ENTRIES: usize = 10_000;

/// Registered clients by id. Every token, userinfo and authorization request looks its client
/// up; a registration is added, never edited in place, so a copy at most
/// [`CLIENT_CACHE_SECS`] old is as good as the row, and the ceiling bounds how long a change
/// made by a later edit or removal would take to reach every instance. Unknown ids are not
/// cached: a client registered a moment ago is found at once.
#[derive(Debug, Default)]
pub struct ClientCache(RwLock<HashMap<String, (Client, i64)>>);

impl ClientCache {
    /// The client `id`, from the cache or the store.
    pub async fn get(
        &self,
        store: &Store,
        id: &str,
        now: i64,
    ) -> Result<Option<Client>, StoreError> {
        if let Ok(cached) = self.0.read()
            && let Some((client, read_at)) = cached.get(id)
            && now - read_at < CLIENT_CACHE_SECS
            && now >= *read_at
        {
            return Ok(Some(client.clone()));
        }
        let found = store.client(id).await?;
        if let (Some(client), Ok(mut cached)) = (&found, self.0.write()) {
            if cached.len() >= CLIENT_CACHE_ENTRIES {
                cached.clear();
            }
            cached.insert(id.to_owned(), (client.clone(), now));
        }
        Ok(found)
    }
}
