//! The answer (OpenID4VP 1.0 §8): one presentation per chosen credential, each signed with
//! the credential's own sealed holder key (an SD-JWT VC with only the chosen disclosures and a
//! KB-JWT whose `aud` is the full client identifier and whose `nonce` is the request's; a
//! `vc+jwt` enveloped whole in a `vp+jwt`), gathered in a `vp_token` object keyed by
//! credential query id (§8.1), posted to the `response_uri` as a form (`direct_post`) or
//! encrypted to the verifier's key (`direct_post.jwt`, §8.3: ECDH-ES, A128GCM or A256GCM).

use josekit::jwe::{ECDH_ES, JweHeader};
use josekit::jwk::Jwk as JoseJwk;
use llavero_credentials::crypto::default_backend;
use serde_json::{Map, Value, json};

use crate::error::WalletError;
use crate::fetch::Outbound;
use crate::present::request::{Encryption, VerifiedRequest};
use crate::state::Wallet;

/// What the verifier answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// Where to send the citizen (same-device), if the verifier said.
    pub redirect_uri: Option<String>,
}

/// One credential to present.
#[derive(Debug)]
pub struct Chosen<'a> {
    /// The credential query it answers.
    pub query_id: &'a str,
    /// The held credential.
    pub held: &'a llavero_store::HeldCredential,
    /// The claims to disclose.
    pub disclose: Vec<llavero_credentials::sd_jwt::ClaimPath>,
}

/// Builds the `vp_token`: presentations signed inside the service with each credential's key.
pub async fn vp_token(
    wallet: &Wallet,
    account_id: &str,
    request: &VerifiedRequest,
    chosen: &[Chosen<'_>],
) -> Result<Value, WalletError> {
    let mut token: Map<String, Value> = Map::new();
    for item in chosen {
        let signer = wallet.keys.signer(account_id, &item.held.key_id).await?;
        let selective = item.held.credential.contains('~');
        let disclose = if selective {
            item.disclose.as_slice()
        } else {
            &[]
        };
        let presentation = llavero_holder::present::present(
            &item.held.credential,
            disclose,
            &request.client_id,
            &request.nonce,
            wallet.now(),
            signer.as_ref(),
            default_backend(),
        )
        .map_err(|e| WalletError::Internal(e.to_string()))?;
        if let Value::Array(list) = token
            .entry(item.query_id.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(Value::String(presentation));
        }
    }
    Ok(Value::Object(token))
}

/// Encrypts the response parameters to the verifier's key.
fn encrypt(encryption: &Encryption, parameters: &Value) -> Result<String, WalletError> {
    let jwk = JoseJwk::from_map(encryption.jwk.clone())
        .map_err(|e| WalletError::Refused(format!("the verifier's key: {e}")))?;
    let encrypter = ECDH_ES
        .encrypter_from_jwk(&jwk)
        .map_err(|e| WalletError::Refused(format!("the verifier's key: {e}")))?;
    let mut header = JweHeader::new();
    header.set_content_encryption(&encryption.enc);
    if let Some(kid) = encryption.jwk.get("kid").and_then(Value::as_str) {
        header.set_key_id(kid);
    }
    josekit::jwe::serialize_compact(parameters.to_string().as_bytes(), &header, &encrypter)
        .map_err(|e| WalletError::Internal(format!("encrypting the response: {e}")))
}

/// Posts the response parameters (`vp_token`, or `error`) with the request's `state`.
pub async fn post(
    wallet: &Wallet,
    request: &VerifiedRequest,
    mut parameters: Map<String, Value>,
) -> Result<Delivered, WalletError> {
    if let Some(state) = &request.state {
        parameters.insert("state".into(), Value::String(state.clone()));
    }
    let is_error = parameters.contains_key("error");
    let outbound = if let (Some(encryption), false) = (&request.encryption, is_error) {
        let jwe = encrypt(encryption, &Value::Object(parameters))?;
        Outbound::form(&request.response_uri, &[("response", jwe.as_str())])
    } else {
        let fields: Vec<(String, String)> = parameters
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect();
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Outbound::form(&request.response_uri, &fields)
    };
    wallet.config.urls.check(&request.response_uri)?;
    let answer = wallet.fetch.send(outbound).await?;
    if !(200..300).contains(&answer.status) {
        let why = serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|v| {
                v.get("error_description")
                    .or_else(|| v.get("error"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| format!("HTTP {}", answer.status));
        return Err(WalletError::Refused(format!(
            "the verifier did not accept the answer: {why}"
        )));
    }
    let redirect_uri = serde_json::from_slice::<Value>(&answer.body)
        .ok()
        .and_then(|v| {
            v.get("redirect_uri")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .filter(|uri| wallet.config.urls.check(uri).is_ok());
    Ok(Delivered { redirect_uri })
}

/// Tells the verifier the citizen declined (§8.5 `access_denied`).
pub async fn decline(wallet: &Wallet, request: &VerifiedRequest) -> Result<Delivered, WalletError> {
    let mut parameters = Map::new();
    parameters.insert("error".into(), json!("access_denied"));
    parameters.insert(
        "error_description".into(),
        json!("the citizen declined to share"),
    );
    post(wallet, request, parameters).await
}
