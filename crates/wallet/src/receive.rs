//! Receiving credentials (OpenID4VCI 1.0, wallet side): an offer opened or pasted is resolved,
//! the issuer's metadata read and kept with the offer while the citizen decides; on acceptance
//! the pre-authorized code (with the `tx_code` the citizen typed) buys an access token, the
//! nonce endpoint a `c_nonce`, and one proof per fresh holder key asks for a batch. Each
//! credential received is checked (issuer signature with the issuer's published key, `cnf`
//! one of the keys just made) before it is stored.

use llavero_credentials::crypto::default_backend;
use llavero_credentials::jwk::Jwk;
use llavero_credentials::jws::AlgorithmPolicy;
use llavero_credentials::sd_jwt::{KeyBinding, SdJwt};
use llavero_holder::offer::{CredentialOffer, MAX_OFFER_LEN, PRE_AUTHORIZED_GRANT};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::WalletError;
use crate::fetch::{Answer, Outbound};
use crate::session::Citizen;
use crate::state::Wallet;

/// Most credential configurations one offer may name (a real offer names one or two).
pub const MAX_OFFERED_TYPES: usize = 8;

/// The largest issuer metadata accepted: a few KiB in practice; anything near this limit is
/// someone trying to exhaust the wallet.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

/// What the wallet keeps of an offer while the citizen decides.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingOffer {
    /// The offer.
    pub offer: CredentialOffer,
    /// The issuer's metadata.
    pub metadata: Value,
    /// The authorization server's token endpoint.
    pub token_endpoint: String,
}

/// Parses what the citizen pasted or the offer endpoint received: an
/// `openid-credential-offer://` link, its query string, or the offer's JSON itself.
fn offer_source(
    wallet: &Wallet,
    input: &str,
) -> Result<Result<CredentialOffer, String>, WalletError> {
    let input = input.trim();
    if input.len() > MAX_OFFER_LEN {
        return Err(WalletError::Refused("the offer is too long".into()));
    }
    if input.starts_with('{') {
        return parse_offer(wallet, input).map(Ok);
    }
    let query = input.split_once('?').map_or(input, |(_, q)| q);
    let (mut by_value, mut by_reference) = (None, None);
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "credential_offer" if by_value.is_none() && by_reference.is_none() => {
                by_value = Some(value.into_owned());
            }
            "credential_offer_uri" if by_value.is_none() && by_reference.is_none() => {
                by_reference = Some(value.into_owned());
            }
            "credential_offer" | "credential_offer_uri" => {
                return Err(WalletError::Refused(
                    "an offer carries exactly one of credential_offer and credential_offer_uri"
                        .into(),
                ));
            }
            _ => {}
        }
    }
    match (by_value, by_reference) {
        (Some(json), None) => parse_offer(wallet, &json).map(Ok),
        (None, Some(url)) => {
            wallet.config.urls.check(&url)?;
            Ok(Err(url))
        }
        _ => Err(WalletError::Refused(
            "this is not a credential offer".into(),
        )),
    }
}

/// Parses an offer's JSON, holding its issuer to the wallet's URL policy.
fn parse_offer(wallet: &Wallet, text: &str) -> Result<CredentialOffer, WalletError> {
    if text.len() > MAX_OFFER_LEN {
        return Err(WalletError::Refused("the offer is too long".into()));
    }
    let offer: CredentialOffer = llavero_credentials::json::from_slice(text.as_bytes())
        .map_err(|e| WalletError::Refused(format!("malformed offer: {e}")))?;
    wallet.config.urls.check(&offer.credential_issuer)?;
    if offer.credential_configuration_ids.is_empty()
        || offer.credential_configuration_ids.len() > MAX_OFFERED_TYPES
    {
        return Err(WalletError::Refused(
            "the offer names no credential, or too many".into(),
        ));
    }
    Ok(offer)
}

/// The JSON answer of `request`, refused when larger than `limit`.
async fn json_of(wallet: &Wallet, request: Outbound, limit: usize) -> Result<Value, WalletError> {
    wallet.config.urls.check(&request.url)?;
    let answer: Answer = wallet.fetch.send(request).await?;
    if answer.body.len() > limit {
        return Err(WalletError::Refused(format!(
            "the other party's document is larger than {limit} bytes"
        )));
    }
    Ok(answer.json()?)
}

/// `https://host/.well-known/<name><path>` (RFC 8414's form, OpenID4VCI 1.0 §12.2.2), then
/// `<identifier>/.well-known/<name>` (the drafts' form), without repeats.
fn well_known(identifier: &str, name: &str) -> Vec<String> {
    let identifier = identifier.trim_end_matches('/');
    let (scheme, rest) = identifier
        .split_once("://")
        .unwrap_or(("https", identifier));
    let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    let path = if path.is_empty() {
        String::new()
    } else {
        format!("/{path}")
    };
    let first = format!("{scheme}://{host}/.well-known/{name}{path}");
    let second = format!("{identifier}/.well-known/{name}");
    if first == second {
        vec![first]
    } else {
        vec![first, second]
    }
}

/// The first of `urls` that answers with JSON.
async fn first_json(wallet: &Wallet, urls: &[String], limit: usize) -> Result<Value, WalletError> {
    let mut last = WalletError::Remote("no metadata location".into());
    for url in urls {
        match json_of(wallet, Outbound::get(url), limit).await {
            Ok(doc) => return Ok(doc),
            Err(e @ WalletError::Refused(_)) => return Err(e),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Resolves an offer, reads its issuer's metadata and keeps both for the citizen's decision.
/// Returns the pending id and what to show.
pub async fn open_offer(
    wallet: &Wallet,
    citizen: &Citizen,
    input: &str,
) -> Result<(String, PendingOffer), WalletError> {
    let offer = match offer_source(wallet, input)? {
        Ok(offer) => offer,
        Err(url) => {
            let doc = json_of(wallet, Outbound::get(&url), MAX_OFFER_LEN).await?;
            parse_offer(wallet, &doc.to_string())?
        }
    };
    if offer.grants.pre_authorized_code.is_none() {
        return Err(WalletError::Refused(
            "this wallet accepts offers with a pre-authorized code".into(),
        ));
    }
    let metadata = first_json(
        wallet,
        &well_known(&offer.credential_issuer, "openid-credential-issuer"),
        MAX_METADATA_BYTES,
    )
    .await?;
    if metadata.get("credential_issuer").and_then(Value::as_str)
        != Some(offer.credential_issuer.as_str())
    {
        return Err(WalletError::Refused(
            "the issuer's metadata names another issuer".into(),
        ));
    }
    for id in &offer.credential_configuration_ids {
        if metadata
            .pointer(&format!(
                "/credential_configurations_supported/{}",
                pointer_escape(id)
            ))
            .is_none()
        {
            return Err(WalletError::Refused(format!(
                "the issuer does not describe the offered credential {id:?}"
            )));
        }
    }
    let server = metadata
        .get("authorization_servers")
        .and_then(|a| a.get(0))
        .and_then(Value::as_str)
        .unwrap_or(&offer.credential_issuer)
        .to_owned();
    let mut locations = well_known(&server, "oauth-authorization-server");
    locations.extend(well_known(&server, "openid-configuration"));
    let server_metadata = first_json(wallet, &locations, MAX_METADATA_BYTES).await?;
    let token_endpoint = server_metadata
        .get("token_endpoint")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            WalletError::Remote("the authorization server has no token endpoint".into())
        })?
        .to_owned();
    wallet.config.urls.check(&token_endpoint)?;
    let pending = PendingOffer {
        offer,
        metadata,
        token_endpoint,
    };
    let id = Wallet::random_id()?;
    let body = serde_json::to_string(&pending).map_err(|e| WalletError::Internal(e.to_string()))?;
    wallet
        .store
        .insert_wallet_pending(
            &llavero_store::WalletPending {
                id: id.clone(),
                account_id: citizen.account_id.clone(),
                kind: "offer".into(),
                body,
                expires_at: wallet.now() + wallet.config.pending_secs,
            },
            wallet.now(),
        )
        .await?;
    Ok((id, pending))
}

fn pointer_escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The citizen's pending offer `id` (still pending: for showing it again).
pub async fn pending_offer(
    wallet: &Wallet,
    citizen: &Citizen,
    id: &str,
) -> Result<PendingOffer, WalletError> {
    let pending = wallet
        .store
        .wallet_pending(&citizen.account_id, "offer", id, wallet.now())
        .await?
        .ok_or(WalletError::NotFound)?;
    serde_json::from_str(&pending.body).map_err(|e| WalletError::Internal(e.to_string()))
}

/// Accepts the citizen's pending offer `id`: token, nonce, proofs, credentials. Returns the ids
/// of the credentials stored. A `tx_code` the issuer refuses leaves the offer pending, so the
/// citizen can type it again (the issuer limits the tries); once the issuer grants a token the
/// offer is spent, and a second acceptance of it finds nothing.
pub async fn accept_offer(
    wallet: &Wallet,
    citizen: &Citizen,
    id: &str,
    tx_code: Option<&str>,
) -> Result<Vec<String>, WalletError> {
    let pending = pending_offer(wallet, citizen, id).await?;
    let token = redeem(wallet, &pending, tx_code).await?;
    if wallet
        .store
        .take_wallet_pending(&citizen.account_id, "offer", id, wallet.now())
        .await?
        .is_none()
    {
        // Accepted at the same time in another tab: that acceptance receives the credentials.
        return Err(WalletError::NotFound);
    }
    let access_token = token
        .get("access_token")
        .and_then(Value::as_str)
        .ok_or_else(|| WalletError::Remote("no access_token".into()))?
        .to_owned();
    let metadata = &pending.metadata;
    let credential_endpoint = metadata
        .get("credential_endpoint")
        .and_then(Value::as_str)
        .ok_or_else(|| WalletError::Remote("no credential_endpoint".into()))?
        .to_owned();
    let batch = metadata
        .pointer("/batch_credential_issuance/batch_size")
        .and_then(Value::as_u64)
        .map_or(1, |n| usize::try_from(n).unwrap_or(1))
        .clamp(1, wallet.config.batch_size.max(1));
    let mut stored = Vec::new();
    for configuration_id in &pending.offer.credential_configuration_ids {
        let exchange = Exchange {
            pending: &pending,
            access_token: &access_token,
            token: &token,
            credential_endpoint: &credential_endpoint,
            batch,
        };
        stored.extend(request_one(wallet, citizen, &exchange, configuration_id).await?);
    }
    Ok(stored)
}

/// The token exchange of a pre-authorized offer, with the `tx_code` the citizen typed. An
/// `invalid_grant` (a wrong code, or an offer the issuer no longer honours) is the citizen's to
/// fix, so it is refused in those words rather than reported as the issuer's failure.
async fn redeem(
    wallet: &Wallet,
    pending: &PendingOffer,
    tx_code: Option<&str>,
) -> Result<Value, WalletError> {
    let grant = pending
        .offer
        .grants
        .pre_authorized_code
        .as_ref()
        .ok_or_else(|| WalletError::Refused("no pre-authorized code".into()))?;
    let mut form = vec![
        ("grant_type", PRE_AUTHORIZED_GRANT),
        ("pre-authorized_code", grant.pre_authorized_code.as_str()),
    ];
    let tx_code = tx_code.map(str::trim).filter(|c| !c.is_empty());
    if let (Some(_), Some(code)) = (&grant.tx_code, tx_code) {
        form.push(("tx_code", code));
    }
    json_of(
        wallet,
        Outbound::form(&pending.token_endpoint, &form),
        MAX_METADATA_BYTES,
    )
    .await
    .map_err(|e| match e {
        WalletError::Remote(m) if m.contains("invalid_grant") => {
            WalletError::Refused("the code is wrong or the offer expired".into())
        }
        other => other,
    })
}

/// What one credential request needs of the offer's token exchange.
struct Exchange<'a> {
    pending: &'a PendingOffer,
    access_token: &'a str,
    token: &'a Value,
    credential_endpoint: &'a str,
    batch: usize,
}

/// Nonce, fresh keys, one proof per key, the credential request, then the checked credentials
/// stored; keys the issuer did not bind a credential to are deleted.
async fn request_one(
    wallet: &Wallet,
    citizen: &Citizen,
    exchange: &Exchange<'_>,
    configuration_id: &str,
) -> Result<Vec<String>, WalletError> {
    let metadata = &exchange.pending.metadata;
    let issuer = exchange.pending.offer.credential_issuer.as_str();
    let nonce = match metadata.get("nonce_endpoint").and_then(Value::as_str) {
        Some(endpoint) => json_of(wallet, Outbound::form(endpoint, &[]), MAX_METADATA_BYTES)
            .await?
            .get("c_nonce")
            .and_then(Value::as_str)
            .map(str::to_owned),
        None => exchange
            .token
            .get("c_nonce")
            .and_then(Value::as_str)
            .map(str::to_owned),
    };
    let keys = wallet
        .keys
        .generate(&citizen.account_id, exchange.batch, wallet.now())
        .await?;
    let key_ids: Vec<String> = keys.iter().map(|k| k.id.clone()).collect();
    let mut proofs = Vec::with_capacity(keys.len());
    for key in &keys {
        let signer = wallet.keys.signer(&citizen.account_id, &key.id).await?;
        proofs.push(
            llavero_holder::proof::proof_jwt(
                signer.as_ref(),
                issuer,
                nonce.as_deref(),
                wallet.now(),
                None,
            )
            .map_err(|e| WalletError::Internal(e.to_string()))?,
        );
    }
    let request = json!({
        "credential_configuration_id": configuration_id,
        "proofs": {"jwt": proofs},
    });
    let received = match json_of(
        wallet,
        Outbound::json(exchange.credential_endpoint, &request).bearer(exchange.access_token),
        crate::fetch::MAX_DOCUMENT_BYTES,
    )
    .await
    {
        Ok(answer) => {
            store_credentials(
                wallet,
                citizen,
                exchange.pending,
                configuration_id,
                &keys,
                &answer,
            )
            .await
        }
        Err(e) => Err(e),
    };
    wallet
        .store
        .delete_unused_wallet_keys(&citizen.account_id, &key_ids)
        .await?;
    received
}

/// What the pages show of a credential type and its issuer, kept with each credential.
fn display_of(metadata: &Value, configuration_id: &str) -> Value {
    let configuration = metadata
        .pointer(&format!(
            "/credential_configurations_supported/{}",
            pointer_escape(configuration_id)
        ))
        .cloned()
        .unwrap_or(Value::Null);
    let inner = configuration.get("credential_metadata");
    let pick = |name: &str| {
        inner
            .and_then(|m| m.get(name))
            .or_else(|| configuration.get(name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    json!({
        "issuer": metadata.get("display").cloned().unwrap_or(Value::Null),
        "type": pick("display"),
        "claims": pick("claims"),
    })
}

/// Checks and stores the credentials of one credential response.
async fn store_credentials(
    wallet: &Wallet,
    citizen: &Citizen,
    pending: &PendingOffer,
    configuration_id: &str,
    keys: &[crate::keys::NewKey],
    answer: &Value,
) -> Result<Vec<String>, WalletError> {
    let credentials = answer
        .get("credentials")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            WalletError::Remote(if answer.get("transaction_id").is_some() {
                "the issuer will deliver later (deferred issuance is not supported yet)".into()
            } else {
                "no credentials in the answer".into()
            })
        })?;
    if credentials.is_empty() || credentials.len() > keys.len() {
        return Err(WalletError::Remote(format!(
            "{} credentials for {} keys",
            credentials.len(),
            keys.len()
        )));
    }
    let format = pending
        .metadata
        .pointer(&format!(
            "/credential_configurations_supported/{}/format",
            pointer_escape(configuration_id)
        ))
        .and_then(Value::as_str)
        .unwrap_or("dc+sd-jwt")
        .to_owned();
    let display = display_of(&pending.metadata, configuration_id).to_string();
    let mut ids = Vec::new();
    let mut used = std::collections::HashSet::new();
    for item in credentials {
        let text = item
            .get("credential")
            .and_then(Value::as_str)
            .ok_or_else(|| WalletError::Remote("a credential is not a string".into()))?;
        let checked =
            check_credential(wallet, &pending.offer.credential_issuer, &format, text).await?;
        let key = keys
            .iter()
            .find(|k| {
                checked
                    .holder_key
                    .as_ref()
                    .is_some_and(|h| h.key() == k.public.key())
            })
            .ok_or_else(|| {
                WalletError::Remote(
                    "a credential is bound to a key this wallet did not make".into(),
                )
            })?;
        if !used.insert(key.id.clone()) {
            return Err(WalletError::Remote("two credentials for one key".into()));
        }
        let id = Wallet::random_id()?;
        wallet
            .store
            .insert_held_credential(&llavero_store::HeldCredential {
                id: id.clone(),
                account_id: citizen.account_id.clone(),
                key_id: key.id.clone(),
                format: format.clone(),
                credential_issuer: pending.offer.credential_issuer.clone(),
                configuration_id: configuration_id.to_owned(),
                credential: text.to_owned(),
                display: display.clone(),
                status: "valid".into(),
                status_checked_at: None,
                expires_at: checked.expires_at,
                received_at: wallet.now(),
            })
            .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// What receipt learns of a credential.
struct Checked {
    holder_key: Option<Jwk>,
    expires_at: Option<i64>,
}

/// Checks a received credential: for SD-JWT VC, the issuer is the offer's and the signature
/// verifies with a key the issuer publishes (JWT VC Issuer Metadata); for `vc+jwt`, its holder
/// key and expiry are read (the issuer's DID is not resolved yet).
async fn check_credential(
    wallet: &Wallet,
    issuer: &str,
    format: &str,
    text: &str,
) -> Result<Checked, WalletError> {
    if format == "dc+sd-jwt" || format == "vc+sd-jwt" {
        let sd_jwt = SdJwt::parse(text).map_err(|e| WalletError::Remote(e.to_string()))?;
        let peek = llavero_credentials::sd_jwt_vc::peek(&sd_jwt)
            .map_err(|e| WalletError::Remote(e.to_string()))?;
        if peek.issuer != issuer {
            return Err(WalletError::Remote(
                "the credential names another issuer than the offer".into(),
            ));
        }
        let key = crate::issuer_keys::key(wallet, issuer, peek.kid.as_deref()).await?;
        let verified = llavero_credentials::sd_jwt_vc::verify(
            sd_jwt,
            default_backend(),
            &key,
            &AlgorithmPolicy::es256_only(),
            &KeyBinding::NotRequired,
            wallet.now(),
            60,
        )
        .map_err(|e| WalletError::Remote(format!("the credential does not verify: {e}")))?;
        let envelope = verified.envelope();
        return Ok(Checked {
            holder_key: envelope.holder_key.clone(),
            expires_at: envelope.expires_at,
        });
    }
    let jws = llavero_credentials::jws::DecodedJws::decode(text)
        .map_err(|e| WalletError::Remote(e.to_string()))?;
    let claims: Value = jws
        .unverified_claims()
        .map_err(|e| WalletError::Remote(e.to_string()))?;
    let holder_key = claims
        .pointer("/credentialSubject/id")
        .and_then(Value::as_str)
        .and_then(|did| did.strip_prefix("did:jwk:"))
        .and_then(|b| llavero_credentials::b64::decode(b.split('#').next().unwrap_or(b)).ok())
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|v| Jwk::from_value(&v).ok())
        .or_else(|| {
            claims
                .pointer("/cnf/jwk")
                .and_then(|v| Jwk::from_value(v).ok())
        });
    let expires_at = claims
        .get("validUntil")
        .and_then(Value::as_str)
        .and_then(llavero_credentials::time::parse_datetime);
    Ok(Checked {
        holder_key,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_locations_of_1_0_and_the_drafts() {
        assert_eq!(
            well_known(
                "https://llavero.test/registro-civil",
                "openid-credential-issuer"
            ),
            [
                "https://llavero.test/.well-known/openid-credential-issuer/registro-civil",
                "https://llavero.test/registro-civil/.well-known/openid-credential-issuer"
            ]
        );
        assert_eq!(
            well_known("https://issuer.example", "openid-configuration"),
            ["https://issuer.example/.well-known/openid-configuration"]
        );
    }
}
