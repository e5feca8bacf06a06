//! The verifier's authorization request (OpenID4VP 1.0 §5): the link's `client_id` and
//! `request_uri`, the signed request object fetched by `GET` or by `POST` with the wallet's
//! metadata and a fresh `wallet_nonce` (§5.10), and its checks: `typ: oauth-authz-req+jwt`,
//! ES256, the `x5c` chain to a configured root, the client identifier bound to the leaf
//! (`x509_hash`, `x509_san_dns`, §5.9.3), the same `client_id` inside and outside (§5.10.1),
//! the wallet's nonce echoed. A request by value under a `redirect_uri:` client identifier is
//! unsigned: it is read only when the operator allows it.

use llavero_credentials::crypto::default_backend;
use llavero_credentials::jws::{AlgorithmPolicy, DecodedJws};
use llavero_holder::dcql::DcqlQuery;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::WalletError;
use crate::fetch::Outbound;
use crate::present::chain;
use crate::state::Wallet;

/// The largest link or request object accepted (a request with a large DCQL query and
/// a certificate chain is a few KiB).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The longest purpose shown.
const MAX_PURPOSE_CHARS: usize = 300;

/// How far a request's `iat` may be in the future (clock skew).
const SKEW_SECS: i64 = 60;

/// The encryption a `direct_post.jwt` response uses (OpenID4VP 1.0 §8.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encryption {
    /// The verifier's public key (`client_metadata.jwks`), a P-256 JWK.
    pub jwk: Map<String, Value>,
    /// `A128GCM` or `A256GCM`.
    pub enc: String,
}

/// A request whose signature, chain and client identifier were checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedRequest {
    /// The client identifier, with its prefix.
    pub client_id: String,
    /// Where the response goes.
    pub response_uri: String,
    /// `direct_post` or `direct_post.jwt`.
    pub response_mode: String,
    /// The nonce presentations are bound to.
    pub nonce: String,
    /// The state to send back.
    pub state: Option<String>,
    /// The DCQL query.
    pub dcql_query: Value,
    /// How to encrypt the response (`direct_post.jwt`).
    pub encryption: Option<Encryption>,
    /// The signing certificate's common name (none for an unsigned request).
    pub certificate_name: Option<String>,
    /// Whether the request was signed and chained to a trusted root.
    pub signed: bool,
    /// What the verifier says it needs the data for, if it says (shown as its words).
    #[serde(default)]
    pub purpose: Option<String>,
}

/// The parameters of an authorization request link: `openid4vp://?…`, an https link to
/// this wallet's `/wallet/authorize?…`, or only its query.
pub fn link_parameters(input: &str) -> Result<Map<String, Value>, WalletError> {
    let input = input.trim();
    if input.len() > MAX_REQUEST_BYTES {
        return Err(WalletError::Refused("the request is too long".into()));
    }
    let query = input.split_once('?').map_or(input, |(_, q)| q);
    let mut params = Map::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if params
            .insert(name.into_owned(), Value::String(value.into_owned()))
            .is_some()
        {
            return Err(WalletError::Refused(
                "the request repeats a parameter".into(),
            ));
        }
    }
    if !params.contains_key("client_id") {
        return Err(WalletError::Refused(
            "this is not a request for data (openid4vp://)".into(),
        ));
    }
    Ok(params)
}

fn text<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    params.get(name).and_then(Value::as_str)
}

fn refused(why: impl Into<String>) -> WalletError {
    WalletError::Refused(why.into())
}

/// What the wallet tells a verifier it can do (`wallet_metadata`, OpenID4VP 1.0 §10).
#[must_use]
pub fn wallet_metadata() -> Value {
    json!({
        "vp_formats_supported": {
            "dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"]},
            "jwt_vc_json": {"alg_values": ["ES256"]}
        },
        "client_id_prefixes_supported": ["x509_hash", "x509_san_dns"],
        "request_object_signing_alg_values_supported": ["ES256"],
        "response_modes_supported": ["direct_post", "direct_post.jwt"],
        "authorization_encryption_alg_values_supported": ["ECDH-ES"],
        "authorization_encryption_enc_values_supported": ["A128GCM", "A256GCM"]
    })
}

/// Resolves and verifies the request of a link.
pub async fn resolve(
    wallet: &Wallet,
    params: &Map<String, Value>,
) -> Result<VerifiedRequest, WalletError> {
    let client_id = text(params, "client_id").unwrap_or_default().to_owned();
    let Some(request_uri) = text(params, "request_uri") else {
        if params.contains_key("request") {
            return Err(refused(
                "requests by value must come by reference (request_uri)",
            ));
        }
        if client_id.starts_with("redirect_uri:") && wallet.config.dangerous_allow_unsigned_requests
        {
            return checked_claims(wallet, &client_id, params, None, false);
        }
        return Err(refused(
            "the request is not signed; this wallet accepts only signed requests",
        ));
    };
    wallet.config.urls.check(request_uri)?;
    let method = text(params, "request_uri_method").unwrap_or("get");
    let (outbound, wallet_nonce) = match method {
        "get" => (Outbound::get(request_uri), None),
        "post" => {
            let nonce = Wallet::random_id()?;
            let metadata = wallet_metadata().to_string();
            (
                Outbound::form(
                    request_uri,
                    &[("wallet_metadata", &metadata), ("wallet_nonce", &nonce)],
                ),
                Some(nonce),
            )
        }
        _ => return Err(refused("request_uri_method is get or post")),
    };
    let answer = wallet.fetch.send(outbound).await?;
    if !(200..300).contains(&answer.status) {
        return Err(WalletError::Remote(format!(
            "the verifier's request: HTTP {}",
            answer.status
        )));
    }
    if answer.body.len() > MAX_REQUEST_BYTES {
        return Err(refused("the request object is too large"));
    }
    let jwt = String::from_utf8(answer.body).map_err(|_| refused("the request is not text"))?;
    verify_signed(wallet, &client_id, jwt.trim(), wallet_nonce.as_deref())
}

/// Checks a signed request object fetched for `client_id`.
pub fn verify_signed(
    wallet: &Wallet,
    client_id: &str,
    jwt: &str,
    wallet_nonce: Option<&str>,
) -> Result<VerifiedRequest, WalletError> {
    let jws = DecodedJws::decode_with_limit(jwt, MAX_REQUEST_BYTES)
        .map_err(|e| refused(format!("the request object is malformed: {e}")))?;
    if jws.header().typ.as_deref() != Some("oauth-authz-req+jwt") {
        return Err(refused(
            "the request object's typ is not oauth-authz-req+jwt",
        ));
    }
    let x5c = jws
        .header()
        .x5c
        .clone()
        .ok_or_else(|| refused("the request object carries no certificate (x5c)"))?;
    let leaf = chain::verify(&x5c, &wallet.config.trusted_roots, wallet.now())
        .map_err(|e| refused(format!("the verifier's certificate: {e}")))?;
    jws.verify(default_backend(), &leaf.key, &AlgorithmPolicy::es256_only())
        .map_err(|_| refused("the request object's signature does not verify"))?;
    let Ok(Value::Object(claims)) = jws.unverified_value() else {
        return Err(refused("the request object is not a JSON object"));
    };
    let bound = match client_id.split_once(':') {
        Some(("x509_hash", hash)) => hash == leaf.hash,
        Some(("x509_san_dns", dns)) => leaf.dns_names.iter().any(|d| d == dns),
        _ => {
            return Err(refused(
                "the client identifier must be x509_hash or x509_san_dns",
            ));
        }
    };
    if !bound {
        return Err(refused(
            "the client identifier does not name the signing certificate",
        ));
    }
    if text(&claims, "wallet_nonce") != wallet_nonce {
        return Err(refused("the request does not carry this wallet's nonce"));
    }
    checked_claims(wallet, client_id, &claims, leaf.common_name, true)
}

/// The request's parameters checked: the same client, `vp_token`, a response mode and URI,
/// a nonce, a DCQL query, unexpired; the response key when encryption is asked.
fn checked_claims(
    wallet: &Wallet,
    client_id: &str,
    claims: &Map<String, Value>,
    certificate_name: Option<String>,
    signed: bool,
) -> Result<VerifiedRequest, WalletError> {
    if text(claims, "client_id") != Some(client_id) {
        return Err(refused(
            "the client_id inside the request differs from the link's",
        ));
    }
    if text(claims, "response_type") != Some("vp_token") {
        return Err(refused("only vp_token requests are answered"));
    }
    let now = wallet.now();
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_some_and(|exp| exp <= now)
    {
        return Err(refused("the request has expired"));
    }
    if claims
        .get("iat")
        .and_then(Value::as_i64)
        .is_some_and(|iat| iat > now + SKEW_SECS)
    {
        return Err(refused("the request was issued in the future"));
    }
    let response_mode = text(claims, "response_mode").unwrap_or_default();
    if response_mode != "direct_post" && response_mode != "direct_post.jwt" {
        return Err(refused(
            "the response mode must be direct_post or direct_post.jwt",
        ));
    }
    let response_uri =
        text(claims, "response_uri").ok_or_else(|| refused("the request has no response_uri"))?;
    wallet.config.urls.check(response_uri)?;
    if client_id.starts_with("redirect_uri:")
        && client_id.strip_prefix("redirect_uri:") != Some(response_uri)
    {
        return Err(refused("a redirect_uri client must be its response_uri"));
    }
    let nonce = text(claims, "nonce")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| refused("the request has no nonce"))?;
    let dcql_query = match claims.get("dcql_query") {
        Some(Value::String(s)) => llavero_credentials::json::parse_value(s.as_bytes())
            .map_err(|_| refused("dcql_query is not JSON"))?,
        Some(v @ Value::Object(_)) => v.clone(),
        _ => return Err(refused("the request has no dcql_query")),
    };
    DcqlQuery::parse(&dcql_query.to_string()).map_err(|e| refused(e.to_string()))?;
    let metadata = match claims.get("client_metadata") {
        Some(Value::String(s)) => llavero_credentials::json::parse_value(s.as_bytes())
            .map_err(|_| refused("client_metadata is not JSON"))?,
        Some(v) => v.clone(),
        None => Value::Null,
    };
    let encryption = if response_mode == "direct_post.jwt" {
        Some(encryption(&metadata)?)
    } else {
        None
    };
    Ok(VerifiedRequest {
        client_id: client_id.to_owned(),
        response_uri: response_uri.to_owned(),
        response_mode: response_mode.to_owned(),
        nonce: nonce.to_owned(),
        state: text(claims, "state").map(str::to_owned),
        dcql_query,
        encryption,
        certificate_name,
        signed,
        purpose: text(claims, "purpose").map(|p| p.chars().take(MAX_PURPOSE_CHARS).collect()),
    })
}

/// The verifier's response key and content encryption (§8.3; HAIP: ECDH-ES on P-256,
/// A128GCM or A256GCM; A128GCM when the verifier names none).
fn encryption(metadata: &Value) -> Result<Encryption, WalletError> {
    let jwk = metadata
        .pointer("/jwks/keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .find(|k| {
            k.get("kty").and_then(Value::as_str) == Some("EC")
                && k.get("crv").and_then(Value::as_str) == Some("P-256")
                && k.get("use")
                    .and_then(Value::as_str)
                    .is_none_or(|u| u == "enc")
                && k.get("alg")
                    .and_then(Value::as_str)
                    .is_none_or(|a| a == "ECDH-ES")
                && !k.contains_key("d")
        })
        .cloned()
        .ok_or_else(|| refused("the verifier offers no P-256 key to encrypt the answer to"))?;
    let offered: Vec<&str> = metadata
        .get("encrypted_response_enc_values_supported")
        .and_then(Value::as_array)
        .map_or_else(
            || vec!["A128GCM"],
            |a| a.iter().filter_map(Value::as_str).collect(),
        );
    let enc = ["A128GCM", "A256GCM"]
        .into_iter()
        .find(|e| offered.contains(e))
        .ok_or_else(|| refused("the verifier offers no encryption this wallet supports"))?;
    Ok(Encryption {
        jwk,
        enc: enc.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_read_from_any_form_and_repeats_refused() {
        for link in [
            "openid4vp://?client_id=x509_hash%3Aabc&request_uri=https%3A%2F%2Frp%2Fr",
            "https://llavero.test/wallet/authorize?client_id=x509_hash%3Aabc&request_uri=https%3A%2F%2Frp%2Fr",
            "client_id=x509_hash%3Aabc&request_uri=https%3A%2F%2Frp%2Fr",
        ] {
            let params = link_parameters(link).unwrap();
            assert_eq!(text(&params, "client_id"), Some("x509_hash:abc"));
            assert_eq!(text(&params, "request_uri"), Some("https://rp/r"));
        }
        assert!(link_parameters("openid4vp://?client_id=a&client_id=b").is_err());
        assert!(link_parameters("openid-credential-offer://?credential_offer_uri=x").is_err());
        assert!(link_parameters(&"a".repeat(MAX_REQUEST_BYTES + 1)).is_err());
    }

    #[test]
    fn encryption_takes_a_public_p256_key_and_an_offered_enc() {
        let key =
            json!({"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "kid": "k", "use": "enc"});
        let chosen = encryption(&json!({"jwks": {"keys": [key]},
            "encrypted_response_enc_values_supported": ["A256GCM"]}))
        .unwrap();
        assert_eq!(chosen.enc, "A256GCM");
        assert_eq!(
            encryption(&json!({"jwks": {"keys": [key]}})).unwrap().enc,
            "A128GCM"
        );
        let private = json!({"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "d": "d"});
        assert!(encryption(&json!({"jwks": {"keys": [private]}})).is_err());
        assert!(
            encryption(&json!({"jwks": {"keys": [key]},
                "encrypted_response_enc_values_supported": ["A192GCM"]}))
            .is_err()
        );
    }
}
