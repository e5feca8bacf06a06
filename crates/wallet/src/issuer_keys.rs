//! Issuers' public keys, from their JWT VC Issuer Metadata
//! (`https://host/.well-known/jwt-vc-issuer/<path>`, SD-JWT VC §5): to check a credential at
//! receipt and the status lists that tell whether it still holds.

use llavero_credentials::jwk::Jwk;
use serde_json::Value;

use crate::error::WalletError;
use crate::fetch::Outbound;
use crate::state::Wallet;

/// The issuer's key with `kid` (or its only key, when the JWS names none).
pub async fn key(wallet: &Wallet, issuer: &str, kid: Option<&str>) -> Result<Jwk, WalletError> {
    let issuer = issuer.trim_end_matches('/');
    let (scheme, rest) = issuer
        .split_once("://")
        .ok_or_else(|| WalletError::Refused("the issuer is not a URL".into()))?;
    let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    let url = if path.is_empty() {
        format!("{scheme}://{host}/.well-known/jwt-vc-issuer")
    } else {
        format!("{scheme}://{host}/.well-known/jwt-vc-issuer/{path}")
    };
    wallet.config.urls.check(&url)?;
    let doc = wallet.fetch.send(Outbound::get(&url)).await?.json()?;
    if doc.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err(WalletError::Remote(
            "the issuer's key document names another issuer".into(),
        ));
    }
    let jwks = if let Some(jwks) = doc.get("jwks") {
        jwks.clone()
    } else {
        {
            let uri = doc
                .get("jwks_uri")
                .and_then(Value::as_str)
                .ok_or_else(|| WalletError::Remote("the issuer publishes no keys".into()))?;
            wallet.config.urls.check(uri)?;
            wallet.fetch.send(Outbound::get(uri)).await?.json()?
        }
    };
    let keys: Vec<Jwk> = jwks
        .get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|k| Jwk::from_value(k).ok())
        .collect();
    let found = match kid {
        Some(kid) => keys.into_iter().find(|k| k.kid() == Some(kid)),
        None if keys.len() == 1 => keys.into_iter().next(),
        None => None,
    };
    found.ok_or_else(|| WalletError::Remote("the issuer does not publish the signing key".into()))
}
