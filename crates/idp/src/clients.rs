//! Registering relying parties (from the CLI and the admin API), and the cache every request
//! looks them up in.

use llavero_store::{
    Client, ClientAuthMethod, PkcePolicy, SigningAlg, Store, StoreError, SubjectType, hash_secret,
};
use serde::Deserialize;
use serde_json::json;

use crate::audit::Origin;
use crate::factors::acr_rank;
use crate::keys::KeyError;
use crate::scopes::CLAIM_SCOPES;
use crate::state::Idp;

pub use crate::client_cache::{CLIENT_CACHE_SECS, ClientCache};

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
    /// `ES256` (default) or `RS256` (OpenID Connect Dynamic Client Registration §2).
    #[serde(default)]
    pub id_token_signed_response_alg: Option<String>,
    /// `required` (default) or `optional`: a confidential client that sends code flows
    /// without PKCE, as ClaveÚnica's relying parties do, is registered with `optional`
    /// explicitly; a public client cannot be.
    #[serde(default)]
    pub pkce: Option<String>,
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
    /// The RS256 key could not be made.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The registered client's credentials (the secret is shown once and stored hashed).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Registered {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`, for secret-based methods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// How its ID tokens are signed.
    #[serde(
        serialize_with = "as_str::alg",
        rename = "id_token_signed_response_alg"
    )]
    pub id_token_alg: SigningAlg,
    /// Whether it must use PKCE.
    #[serde(serialize_with = "as_str::pkce")]
    pub pkce: PkcePolicy,
}

/// Serializes the store's enums by their registered names (`serialize_with` passes by
/// reference, whatever the type's size).
#[allow(clippy::trivially_copy_pass_by_ref)]
mod as_str {
    use llavero_store::{PkcePolicy, SigningAlg};

    pub(super) fn alg<S: serde::Serializer>(alg: &SigningAlg, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(alg.as_str())
    }

    pub(super) fn pkce<S: serde::Serializer>(p: &PkcePolicy, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(p.as_str())
    }
}

/// A registered client as `llavero client list` shows it (never its secret or its hash).
#[must_use]
pub fn listing(client: &Client) -> serde_json::Value {
    json!({
        "client_id": client.id,
        "name": client.name,
        "token_endpoint_auth_method": client.auth_method.as_str(),
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "scopes": client.scopes,
        "min_acr": client.min_acr,
        "subject_type": client.subject_type.as_str(),
        "id_token_signed_response_alg": client.id_token_alg.as_str(),
        "pkce": client.pkce.as_str(),
    })
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

/// The ID token algorithm and PKCE policy of a registration: PKCE can be optional only for a
/// confidential client (RFC 9700 §2.1.1: a public client has nothing else binding the code).
fn alg_and_pkce(
    registration: &Registration,
    method: ClientAuthMethod,
) -> Result<(SigningAlg, PkcePolicy), RegistrationError> {
    let invalid = |m: &str| RegistrationError::Invalid(m.to_owned());
    let alg = match registration.id_token_signed_response_alg.as_deref() {
        None => SigningAlg::Es256,
        Some(a) => SigningAlg::parse(a)
            .ok_or_else(|| invalid("id_token_signed_response_alg must be ES256 or RS256"))?,
    };
    let pkce = match registration.pkce.as_deref() {
        None => PkcePolicy::Required,
        Some(p) => {
            PkcePolicy::parse(p).ok_or_else(|| invalid("pkce must be required or optional"))?
        }
    };
    if pkce == PkcePolicy::Optional && method == ClientAuthMethod::None {
        return Err(invalid(
            "pkce = optional is only for confidential clients; a public client always uses PKCE",
        ));
    }
    Ok((alg, pkce))
}

/// Validates and stores a registration, makes the RS256 key if the client is the first to
/// need it, and records it in the audit log (with its ID token algorithm and PKCE policy, so
/// an exemption from PKCE is never silent).
pub async fn register(
    idp: &Idp,
    registration: Registration,
    origin: &Origin,
) -> Result<Registered, RegistrationError> {
    let now = idp.now();
    let registered = store_registration(&idp.store, registration, now).await?;
    if registered.id_token_alg == SigningAlg::Rs256 {
        crate::keys::ensure_rs256(&idp.store, &idp.master, now).await?;
        idp.keys.invalidate();
    }
    if registered.pkce == PkcePolicy::Optional {
        tracing::warn!(client = %registered.client_id, "client registered with PKCE optional");
    }
    let detail = json!({
        "action": "client registered",
        "id_token_signed_response_alg": registered.id_token_alg.as_str(),
        "pkce": registered.pkce.as_str(),
    });
    crate::audit::record(
        idp,
        origin,
        "admin",
        None,
        Some(&registered.client_id),
        detail,
    )
    .await;
    Ok(registered)
}

/// Validates and stores a registration.
async fn store_registration(
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
            && !crate::scopes::is_configuration_scope(scope)
        {
            return Err(RegistrationError::Invalid(format!("unknown scope {scope}")));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    let (id_token_alg, pkce) = alg_and_pkce(&registration, method)?;
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
        id_token_alg,
        pkce,
    };
    store.add_client(&client, now).await?;
    Ok(Registered {
        client_id: client.id,
        client_secret: secret,
        id_token_alg,
        pkce,
    })
}
