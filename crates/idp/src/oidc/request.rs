//! Authorization request validation (OIDC Core §3.1.2.1, RFC 7636, RFC 9126): the parameters
//! become an [`AuthParams`] only if every rule holds; errors before the client and redirect URI
//! are known are shown to the citizen, errors after are sent back to the client.

use std::collections::BTreeMap;

use llavero_store::{Client, PkcePolicy};
use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;
use crate::factors::{ACR_LOW, acr_rank};
use crate::oidc::credentials;

/// A validated authorization request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthParams {
    /// The client.
    pub client_id: String,
    /// Exactly one of the client's registered redirect URIs.
    pub redirect_uri: String,
    /// Requested scopes the client may have (`openid` among them unless only credentials are
    /// requested; see [`credentials`]).
    pub scopes: Vec<String>,
    /// Echoed to the client.
    pub state: Option<String>,
    /// Copied into the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge; none only from a client registered with PKCE optional that sent
    /// none.
    pub code_challenge: Option<String>,
    /// `prompt` values.
    pub prompt: Vec<String>,
    /// Maximum authentication age in seconds.
    pub max_age: Option<i64>,
    /// The `acr` the login must reach: the client's minimum or the requested one, whichever
    /// is higher.
    pub acr: String,
    /// Preferred languages.
    pub ui_locales: Option<String>,
    /// The browser that continued the request (set by `/authorize`).
    #[serde(default)]
    pub browser: Option<String>,
    /// When `/authorize` received it.
    #[serde(default)]
    pub requested_at: i64,
    /// The session the browser had at `/authorize`: a session other than this one, created
    /// since, is a login made for this request (it satisfies `prompt=login` and `max_age`).
    #[serde(default)]
    pub prior_session: Option<String>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// The client or redirect URI cannot be trusted: show an error page, never redirect.
    Untrusted,
    /// Sent back to the redirect URI as `error` and `error_description`.
    Redirect {
        /// The client's redirect URI.
        redirect_uri: String,
        /// `state` to echo.
        state: Option<String>,
        /// OAuth error code.
        error: ErrorCode,
        /// Human-readable description.
        description: &'static str,
    },
    /// For PAR: an error answered directly as JSON.
    Direct {
        /// OAuth error code.
        error: ErrorCode,
        /// Description.
        description: &'static str,
    },
}

pub use llavero_platform::params::parse_params;

/// An error to send back to the client: `(error, error_description)`.
type Refusal = (ErrorCode, &'static str);

/// The requested scopes the client may have, in order, without repeats, plus the credential
/// configurations asked for in `authorization_details` (each must be among the client's
/// scopes). `openid` is required unless credentials are requested (OpenID4VCI is plain OAuth).
fn granted_scopes(
    client: &Client,
    scope: &str,
    authorization_details: Option<&str>,
) -> Result<Vec<String>, Refusal> {
    let allowed = |s: &str| client.scopes.iter().any(|c| c == s);
    let mut scopes: Vec<String> = Vec::new();
    for scope in scope.split(' ').filter(|s| !s.is_empty()) {
        if allowed(scope) && !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if let Some(parameter) = authorization_details {
        let asked = credentials::requested_configurations(parameter)
            .map_err(|why| (ErrorCode::InvalidAuthorizationDetails, why))?;
        for id in asked {
            if !allowed(&id) || credentials::is_identity_scope(&id) {
                return Err((
                    ErrorCode::InvalidAuthorizationDetails,
                    "a requested credential configuration is not allowed for this client",
                ));
            }
            let entry = format!("{}{id}", credentials::DETAILS_PREFIX);
            if !scopes.contains(&entry) {
                scopes.push(entry);
            }
        }
    }
    let wants_credentials = scopes.iter().any(|s| !credentials::is_identity_scope(s));
    if !scope.split(' ').any(|s| s == "openid") && !wants_credentials {
        return Err((ErrorCode::InvalidScope, "the openid scope is required"));
    }
    if !wants_credentials && !scopes.iter().any(|s| s == "openid") {
        return Err((ErrorCode::InvalidScope, "the client may not request openid"));
    }
    Ok(scopes)
}

/// PKCE: an S256 challenge is required (RFC 7636; `plain` is refused, as is no method, which
/// would mean `plain`), unless the client is confidential and registered with PKCE optional
/// and sends neither a challenge nor a method. A challenge it does send is held to the same
/// rules, and to the verifier at the token endpoint.
fn pkce_challenge(
    pkce: PkcePolicy,
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Option<String>, Refusal> {
    if pkce == PkcePolicy::Optional && challenge.is_none() && method.is_none() {
        return Ok(None);
    }
    let challenge =
        challenge.ok_or((ErrorCode::InvalidRequest, "PKCE code_challenge is required"))?;
    match method {
        Some("S256") => {}
        Some("plain") | None => {
            return Err((
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256 (plain is not allowed)",
            ));
        }
        Some(_) => {
            return Err((
                ErrorCode::InvalidRequest,
                "unsupported code_challenge_method",
            ));
        }
    }
    if challenge.len() != 43
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err((
            ErrorCode::InvalidRequest,
            "code_challenge must be a base64url SHA-256 digest",
        ));
    }
    Ok(Some(challenge.to_owned()))
}

/// `prompt` values: known ones only, and `none` alone.
fn prompt_values(prompt: Option<&str>) -> Result<Vec<String>, Refusal> {
    let values: Vec<String> = prompt
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if values
        .iter()
        .any(|p| !matches!(p.as_str(), "none" | "login" | "consent" | "select_account"))
    {
        return Err((ErrorCode::InvalidRequest, "unsupported prompt value"));
    }
    if values.iter().any(|p| p == "none") && values.len() > 1 {
        return Err((
            ErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(values)
}

/// The `acr` the login must reach. `acr_values` are voluntary (OIDC Core §3.1.2.1): the lowest
/// supported one counts; the client's registered minimum is not voluntary.
fn required_acr(client: &Client, acr_values: Option<&str>) -> String {
    let requested = acr_values
        .unwrap_or("")
        .split(' ')
        .filter_map(|a| acr_rank(a).map(|r| (r, a)))
        .min()
        .map(|(_, a)| a);
    let minimum = client.min_acr.as_deref().unwrap_or(ACR_LOW);
    match requested {
        Some(a) if acr_rank(a) > acr_rank(minimum) => a.to_owned(),
        _ => minimum.to_owned(),
    }
}

/// Validates the parameters of `client` (already authenticated for PAR, identified by
/// `client_id` for the front channel).
pub fn validate(
    client: &Client,
    params: &BTreeMap<String, String>,
) -> Result<AuthParams, RequestError> {
    let get = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let redirect_uri = get("redirect_uri").ok_or(RequestError::Untrusted)?;
    if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return Err(RequestError::Untrusted);
    }
    let state = get("state").map(str::to_owned);
    let fail = |(error, description): Refusal| RequestError::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone(),
        error,
        description,
    };
    if get("request").is_some() {
        return Err(fail((
            ErrorCode::RequestNotSupported,
            "request objects are not supported; use PAR",
        )));
    }
    if get("response_type") != Some("code") {
        return Err(fail((
            ErrorCode::UnsupportedResponseType,
            "only the authorization code flow (response_type=code) is supported",
        )));
    }
    if get("response_mode").is_some_and(|m| m != "query") {
        return Err(fail((
            ErrorCode::InvalidRequest,
            "only response_mode=query is supported",
        )));
    }
    let scopes = granted_scopes(
        client,
        get("scope").unwrap_or(""),
        get("authorization_details"),
    )
    .map_err(fail)?;
    let code_challenge = pkce_challenge(
        client.pkce,
        get("code_challenge"),
        get("code_challenge_method"),
    )
    .map_err(fail)?;
    let prompt = prompt_values(get("prompt")).map_err(fail)?;
    let max_age = match get("max_age") {
        Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            fail((
                ErrorCode::InvalidRequest,
                "max_age must be a non-negative integer",
            ))
        })?),
        None => None,
    };
    for (name, limit) in [("state", 2048), ("nonce", 512), ("ui_locales", 128)] {
        if get(name).is_some_and(|v| v.len() > limit) {
            return Err(fail((ErrorCode::InvalidRequest, "a parameter is too long")));
        }
    }
    Ok(AuthParams {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state,
        nonce: get("nonce").map(str::to_owned),
        code_challenge,
        prompt,
        max_age,
        acr: required_acr(client, get("acr_values")),
        ui_locales: get("ui_locales").map(str::to_owned),
        browser: None,
        requested_at: 0,
        prior_session: None,
    })
}

/// The redirect carrying an error (RFC 6749 §4.1.2.1, RFC 9207 `iss`).
#[must_use]
pub fn error_redirect(
    redirect_uri: &str,
    state: Option<&str>,
    issuer: &str,
    error: ErrorCode,
    description: &str,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("error", error.as_str())
        .append_pair("error_description", description);
    if let Some(state) = state {
        query.append_pair("state", state);
    }
    query.append_pair("iss", issuer);
    join_query(redirect_uri, &query.finish())
}

/// Appends a query string to a URI that may already have one.
#[must_use]
pub fn join_query(uri: &str, query: &str) -> String {
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{query}")
}
