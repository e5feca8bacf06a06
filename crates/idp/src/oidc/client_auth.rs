//! Client authentication at the token, PAR and revocation endpoints: `client_secret_basic`,
//! `client_secret_post`, `private_key_jwt` (RFC 7523) and public clients (`none`, PKCE only).
//! A client must use the method it registered; every failure is the same `invalid_client`.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use llavero_credentials::crypto::default_backend;
use llavero_credentials::jwk::Jwk;
use llavero_credentials::jws::{AlgorithmPolicy, DecodedJws};
use llavero_store::{Client, ClientAuthMethod, hash_secret};
use subtle::ConstantTimeEq as _;

use super::{ErrorCode, OAuthError};
use crate::error::IdpError;
use crate::state::{Idp, IdpState};

/// Why a client was not authenticated (logged; the client only sees `invalid_client`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientAuthError {
    /// No or several credentials, or unreadable ones.
    #[error("client credentials missing or malformed")]
    Malformed,
    /// No such client.
    #[error("unknown client")]
    UnknownClient,
    /// A method other than the registered one.
    #[error("client used {used}, registered {registered}")]
    WrongMethod {
        /// Used.
        used: &'static str,
        /// Registered.
        registered: &'static str,
    },
    /// Secret does not match.
    #[error("wrong client secret")]
    WrongSecret,
    /// The client assertion is invalid.
    #[error("client assertion: {0}")]
    Assertion(&'static str),
    /// The database failed.
    #[error("store: {0}")]
    Store(String),
}

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Longest accepted client assertion lifetime (seconds).
const MAX_ASSERTION_LIFETIME: i64 = 300;

fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, ClientAuthError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ClientAuthError::Malformed)?;
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return Ok(None);
    };
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| ClientAuthError::Malformed)?;
    let text = String::from_utf8(decoded).map_err(|_| ClientAuthError::Malformed)?;
    let (id, secret) = text.split_once(':').ok_or(ClientAuthError::Malformed)?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before Base64.
    let decode = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .ok_or(ClientAuthError::Malformed)
    };
    Ok(Some((decode(id)?, decode(secret)?)))
}

fn secret_matches(client: &Client, secret: &str) -> bool {
    let presented = hash_secret(secret);
    client
        .secret_hash
        .as_deref()
        .is_some_and(|stored| bool::from(stored.as_bytes().ct_eq(presented.as_bytes())))
}

/// Authenticates the client of a request.
pub async fn authenticate(
    idp: &Idp,
    headers: &HeaderMap,
    form: &BTreeMap<String, String>,
) -> Result<Client, ClientAuthError> {
    let basic = basic_credentials(headers)?;
    let assertion = form.get("client_assertion");
    let post_secret = form.get("client_secret");
    let (client_id, used) = match (&basic, assertion, post_secret) {
        (Some((id, _)), None, None) => (id.clone(), ClientAuthMethod::ClientSecretBasic),
        (None, Some(_), None) => {
            let id = form
                .get("client_id")
                .cloned()
                .or_else(|| assertion_subject(assertion?))
                .ok_or(ClientAuthError::Malformed)?;
            (id, ClientAuthMethod::PrivateKeyJwt)
        }
        (None, None, Some(_)) => (
            form.get("client_id")
                .cloned()
                .ok_or(ClientAuthError::Malformed)?,
            ClientAuthMethod::ClientSecretPost,
        ),
        (None, None, None) => (
            form.get("client_id")
                .cloned()
                .ok_or(ClientAuthError::Malformed)?,
            ClientAuthMethod::None,
        ),
        _ => return Err(ClientAuthError::Malformed),
    };
    if form.get("client_id").is_some_and(|id| *id != client_id) {
        return Err(ClientAuthError::Malformed);
    }
    let client = idp
        .client(&client_id)
        .await
        .map_err(|e| ClientAuthError::Store(e.to_string()))?
        .ok_or(ClientAuthError::UnknownClient)?;
    if client.auth_method != used {
        return Err(ClientAuthError::WrongMethod {
            used: used.as_str(),
            registered: client.auth_method.as_str(),
        });
    }
    match used {
        ClientAuthMethod::ClientSecretBasic => {
            let secret = basic.map(|(_, s)| s).unwrap_or_default();
            if !secret_matches(&client, &secret) {
                return Err(ClientAuthError::WrongSecret);
            }
        }
        ClientAuthMethod::ClientSecretPost => {
            if !secret_matches(&client, post_secret.map_or("", String::as_str)) {
                return Err(ClientAuthError::WrongSecret);
            }
        }
        ClientAuthMethod::PrivateKeyJwt => {
            if form.get("client_assertion_type").map(String::as_str) != Some(ASSERTION_TYPE) {
                return Err(ClientAuthError::Assertion(
                    "client_assertion_type must be jwt-bearer",
                ));
            }
            check_assertion(idp, &client, assertion.map_or("", String::as_str)).await?;
        }
        ClientAuthMethod::None => {}
    }
    Ok(client)
}

fn assertion_subject(assertion: &str) -> Option<String> {
    let jws = DecodedJws::decode(assertion).ok()?;
    let claims = jws.unverified_value().ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

async fn check_assertion(
    idp: &Idp,
    client: &Client,
    assertion: &str,
) -> Result<(), ClientAuthError> {
    use ClientAuthError::Assertion;
    let jws = DecodedJws::decode(assertion).map_err(|_| Assertion("not a compact JWS"))?;
    let jwks: serde_json::Value = client
        .jwks
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
        .ok_or(Assertion("the client has no registered keys"))?;
    let keys: Vec<Jwk> = jwks
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter_map(|k| Jwk::from_value(k).ok())
                .collect()
        })
        .unwrap_or_default();
    let kid = jws.header().kid.as_deref();
    let key = keys
        .iter()
        .find(|k| kid.is_none_or(|kid| k.kid() == Some(kid)))
        .ok_or(Assertion("no registered key matches the kid"))?;
    jws.verify(default_backend(), key, &AlgorithmPolicy::es256_only())
        .map_err(|_| Assertion("bad signature or algorithm"))?;
    let claims = jws
        .unverified_value()
        .map_err(|_| Assertion("claims are not JSON"))?;
    let text = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
    if text("iss") != Some(client.id.as_str()) || text("sub") != Some(client.id.as_str()) {
        return Err(Assertion("iss and sub must be the client_id"));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(serde_json::Value::String(a)) => vec![a.as_str()],
        Some(serde_json::Value::Array(list)) => {
            list.iter().filter_map(serde_json::Value::as_str).collect()
        }
        _ => vec![],
    };
    let accepted = [
        idp.config.issuer.clone(),
        idp.config.url("/token"),
        idp.config.url("/par"),
        idp.config.url("/revoke"),
    ];
    if !audiences.iter().any(|a| accepted.iter().any(|x| x == a)) {
        return Err(Assertion("aud must be the issuer or the endpoint"));
    }
    let now = idp.now();
    let exp = claims
        .get("exp")
        .and_then(serde_json::Value::as_i64)
        .ok_or(Assertion("exp is required"))?;
    if exp <= now - 30 {
        return Err(Assertion("expired"));
    }
    if exp > now + MAX_ASSERTION_LIFETIME {
        return Err(Assertion("exp too far in the future"));
    }
    let jti = text("jti")
        .filter(|j| !j.is_empty())
        .ok_or(Assertion("jti is required"))?;
    let fresh = idp
        .store
        .use_assertion(&hash_secret(&format!("{}:{jti}", client.id)), exp + 60, now)
        .await
        .map_err(|e| ClientAuthError::Store(e.to_string()))?;
    if !fresh {
        return Err(Assertion("jti replayed"));
    }
    Ok(())
}

/// What every back-channel endpoint (`/token`, `/par`, `/revoke`) does first: count the
/// request against the caller's IP, parse the form, authenticate the client.
pub async fn client_request(
    idp: &Idp,
    extensions: &axum::http::Extensions,
    headers: &HeaderMap,
    body: &[u8],
    endpoint: &'static str,
) -> Result<(BTreeMap<String, String>, Client), IdpError> {
    crate::web::rate_limit(
        idp,
        crate::web::RateClass::Client,
        &crate::web::ClientAddress::of(extensions),
    )
    .await?;
    let form = super::request::parse_params(body)
        .map_err(|e| OAuthError::bad(ErrorCode::InvalidRequest, e))?;
    let client = authenticate(idp, headers, &form).await.map_err(|e| {
        tracing::info!(error = %e, endpoint, "client authentication failed");
        OAuthError::invalid_client()
    })?;
    Ok((form, client))
}

/// An authenticated client's request at a back-channel endpoint (`/token`, `/par`,
/// `/revoke`): the [`client_request`] checks done before the handler runs (rate limit, form
/// parsed with duplicates refused, client authenticated); a request that fails them gets the
/// OAuth error.
#[derive(Debug)]
pub struct ClientAuth {
    /// The request's parameters.
    pub form: BTreeMap<String, String>,
    /// The authenticated client.
    pub client: Client,
}

impl axum::extract::FromRequest<IdpState> for ClientAuth {
    type Rejection = axum::response::Response;

    async fn from_request(
        request: axum::extract::Request,
        idp: &IdpState,
    ) -> Result<Self, Self::Rejection> {
        use axum::response::IntoResponse as _;
        let extensions = request.extensions().clone();
        let headers = request.headers().clone();
        let endpoint = match request.uri().path() {
            "/par" => "par",
            "/revoke" => "revoke",
            _ => "token",
        };
        let body = axum::body::Bytes::from_request(request, idp)
            .await
            .map_err(axum::response::IntoResponse::into_response)?;
        let (form, client) = client_request(idp, &extensions, &headers, &body, endpoint)
            .await
            .map_err(IdpError::into_response)?;
        Ok(Self { form, client })
    }
}
