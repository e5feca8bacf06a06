//! The response endpoint (OpenID4VP 1.0 §8.2): a wallet posts the `vp_token` (encrypted with
//! `direct_post.jwt`, or plain with `direct_post`) or an error (§8.5). Each presentation is
//! verified by the verifier crate (trusted issuer, signature, validity, status, key binding to
//! this client identifier and nonce), then matched against the DCQL query.
//!
//! A transaction is answered once, and only by an answer that holds: the response is decrypted
//! and verified first, and only then claimed, together with its result, in one conditional
//! update. Anyone holding the request URI can post to the response URI (the request object and
//! its encryption key are public to whoever scans the code), so a response that does not
//! decrypt, carries the wrong state or fails verification is refused *without* using the
//! transaction up: the citizen's wallet can still answer, and the relying party sees the last
//! refusal beside `pending`. A second answer that holds, on any instance, finds the transaction
//! claimed and is refused with `invalid_request` (§8.2, §8.5). The wallet's own error
//! (`access_denied`, …) ends the transaction. The audit trail records every outcome with its
//! codes, never a claim.

use std::collections::BTreeMap;

use llavero_holder::dcql::DcqlQuery;
use llavero_platform::Origin;
use llavero_store::{PresentationTransaction, hash_secret};
use llavero_verifier::{Expectations, Rejection, VerifiedCredential};
use serde_json::{Map, Value, json};

use crate::audit;
use crate::error::ApiError;
use crate::matching::{self, format_name};
use crate::state::{Presentations, field, random_token};
use crate::transactions::{self, ResponseMode, StoredRequest};

/// Most presentations in one response.
pub const MAX_PRESENTATIONS: usize = 16;

/// The error codes a wallet may answer with (OpenID4VP 1.0 §8.5, RFC 6749 §4.1.2.1).
pub const WALLET_ERRORS: [&str; 8] = [
    "invalid_request",
    "invalid_client",
    "invalid_scope",
    "access_denied",
    "vp_formats_not_supported",
    "invalid_request_uri_method",
    "invalid_transaction_data",
    "wallet_unavailable",
];

/// A response as posted (form fields).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ResponseForm {
    /// The encrypted response (`direct_post.jwt`).
    pub response: Option<String>,
    /// The presentations, a JSON object by credential query id (`direct_post`).
    pub vp_token: Option<String>,
    /// The request's state.
    pub state: Option<String>,
    /// An error instead of presentations.
    pub error: Option<String>,
    /// Its description.
    pub error_description: Option<String>,
}

fn invalid(description: impl Into<String>) -> ApiError {
    ApiError::bad("invalid_request", description)
}

/// The response parameters, decrypted when the request asked for encryption.
fn parameters(
    service: &Presentations,
    transaction: &PresentationTransaction,
    request: &StoredRequest,
    form: ResponseForm,
) -> Result<Map<String, Value>, ApiError> {
    let mut params = Map::new();
    if let Some(error) = form.error {
        // An error carries no claims; it is accepted unencrypted in either mode.
        params.insert("error".into(), error.into());
        if let Some(d) = form.error_description {
            params.insert("error_description".into(), d.into());
        }
        if let Some(s) = form.state {
            params.insert("state".into(), s.into());
        }
        return Ok(params);
    }
    match (request.response_mode, form.response, form.vp_token) {
        (ResponseMode::DirectPostJwt, Some(jwe), None) => {
            let key = transactions::response_key(service, transaction, request)?;
            let plain = key.decrypt(&jwe).map_err(|e| invalid(e.to_string()))?;
            let value: Value = llavero_credentials::json::from_slice(&plain)
                .map_err(|_| invalid("the decrypted response is not a JSON object"))?;
            let Value::Object(map) = value else {
                return Err(invalid("the decrypted response is not a JSON object"));
            };
            params = map;
            // The state may ride outside the JWE as well; both must then agree.
            if let Some(outer) = form.state {
                match params.get("state") {
                    Some(inner) if inner.as_str() != Some(outer.as_str()) => {
                        return Err(invalid("state differs inside and outside the response"));
                    }
                    Some(_) => {}
                    None => {
                        params.insert("state".into(), outer.into());
                    }
                }
            }
        }
        (ResponseMode::DirectPostJwt, _, Some(_)) => {
            return Err(invalid(
                "this request asked for an encrypted response (direct_post.jwt)",
            ));
        }
        (ResponseMode::DirectPost, None, Some(vp_token)) => {
            let value: Value = llavero_credentials::json::from_slice(vp_token.as_bytes())
                .map_err(|_| invalid("vp_token is not a JSON object"))?;
            params.insert("vp_token".into(), value);
            if let Some(s) = form.state {
                params.insert("state".into(), s.into());
            }
        }
        (ResponseMode::DirectPost, Some(_), _) => {
            return Err(invalid(
                "this request asked for direct_post, not an encrypted response",
            ));
        }
        _ => return Err(invalid("the response needs a vp_token or an error")),
    }
    Ok(params)
}

/// The presentations of a `vp_token`, by credential query id (an array per id, §8.1; a bare
/// string is read as an array of one).
fn presentations(vp_token: &Value) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
    let map = vp_token
        .as_object()
        .ok_or_else(|| invalid("vp_token must be an object keyed by credential query id"))?;
    let mut out = BTreeMap::new();
    let mut count = 0;
    for (id, value) in map {
        let items: Vec<String> = match value {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| invalid("each presentation must be a string"))?,
            _ => {
                return Err(invalid(
                    "each vp_token entry must be an array of presentations",
                ));
            }
        };
        count += items.len();
        if count > MAX_PRESENTATIONS {
            return Err(invalid("too many presentations"));
        }
        out.insert(id.clone(), items);
    }
    Ok(out)
}

/// What the relying party reads about one verified credential.
fn describe(credential: &VerifiedCredential) -> Value {
    json!({
        "format": format_name(credential.format()),
        "issuer": credential.issuer(),
        "issuer_name": credential.issuer_name(),
        "type": credential.credential_type(),
        "claims": credential.claims(),
        "status": credential.status(),
        "holder_binding": credential.key_binding_verified(),
        "issued_at": credential.issued_at(),
        "expires_at": credential.expires_at(),
    })
}

fn rejected(error: &str, reason: &str, description: impl Into<String>) -> Value {
    json!({"status": "rejected", "error": error, "reason": reason, "description": description.into()})
}

/// Checks that the key-binding JWT of an SD-JWT presentation carries the hash of every
/// transaction data item meant for its query (§8.4): the holder signed what it agreed to.
fn transaction_data_bound(presentation: &str, items: &[String]) -> bool {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let Some(kb) = presentation.rsplit('~').next().filter(|s| !s.is_empty()) else {
        return false;
    };
    // The verifier crate has verified this JWT's signature, audience and nonce already.
    let Some(payload) = kb
        .split('.')
        .nth(1)
        .and_then(|p| b64.decode(p).ok())
        .and_then(|p| serde_json::from_slice::<Value>(&p).ok())
    else {
        return false;
    };
    let hashes: Vec<&str> = payload
        .get("transaction_data_hashes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    items.iter().all(|item| {
        let digest = b64.encode(ring::digest::digest(&ring::digest::SHA256, item.as_bytes()));
        hashes.contains(&digest.as_str())
    })
}

/// The transaction data items meant for credential query `id`.
fn data_for(request: &StoredRequest, id: &str) -> Vec<String> {
    use base64::Engine as _;
    request
        .transaction_data
        .iter()
        .flatten()
        .filter(|item| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(item)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|v| v.get("credential_ids").cloned())
                .and_then(|ids| ids.as_array().cloned())
                .is_some_and(|ids| ids.iter().any(|i| i.as_str() == Some(id)))
        })
        .cloned()
        .collect()
}

/// Verifies the presentations of a claimed transaction: the outcome the relying party reads.
async fn verify(service: &Presentations, request: &StoredRequest, vp_token: &Value) -> Value {
    let query = match DcqlQuery::parse(&request.dcql_query.to_string()) {
        Ok(q) => q,
        Err(e) => return rejected("server_error", "query", e.to_string()),
    };
    let by_id = match presentations(vp_token) {
        Ok(p) => p,
        Err(e) => return rejected("invalid_presentation", "malformed", e.description),
    };
    let mut verifier = service.trust.current();
    let expect = Expectations::key_binding(request.client_id.clone(), request.nonce.clone());
    let now = service.now();
    let mut verified: BTreeMap<String, Vec<VerifiedCredential>> = BTreeMap::new();
    let mut warnings = Vec::new();
    for (id, items) in &by_id {
        let data = data_for(request, id);
        for item in items {
            let mut outcome = verifier.verify(item, now, &expect);
            // A list or key issued since trust was built: rebuild once and try again.
            if matches!(
                outcome,
                Err(Rejection::StatusUnavailable(_)
                    | Rejection::UnknownIssuerKey { .. }
                    | Rejection::UntrustedIssuer(_))
            ) && service.trust.refresh_on_miss().await
            {
                verifier = service.trust.current();
                outcome = verifier.verify(item, now, &expect);
            }
            match outcome {
                Ok(v) => {
                    if !data.is_empty() && !transaction_data_bound(item, &data) {
                        return rejected(
                            "invalid_presentation",
                            "transaction_data",
                            format!("the presentation for {id} does not bind the transaction data"),
                        );
                    }
                    warnings.extend(v.warnings().iter().cloned());
                    verified
                        .entry(id.clone())
                        .or_default()
                        .extend(v.credentials().iter().cloned());
                }
                Err(rejection) => {
                    return rejected(
                        "invalid_presentation",
                        rejection.code(),
                        format!("{id}: {rejection}"),
                    );
                }
            }
        }
    }
    if let Err(e) = matching::check(&query, &verified) {
        return rejected("invalid_presentation", "dcql_unsatisfied", e.to_string());
    }
    let authorities = match matching::trusted_authorities(&request.dcql_query) {
        Ok(a) => a,
        Err(e) => return rejected("server_error", "query", e),
    };
    if let Err(e) = matching::check_authorities(&authorities, &verified) {
        return rejected("invalid_presentation", "untrusted_authority", e.to_string());
    }
    let credentials: Map<String, Value> = verified
        .iter()
        .map(|(id, creds)| (id.clone(), creds.iter().map(describe).collect()))
        .collect();
    json!({"status": "verified", "credentials": credentials, "warnings": warnings})
}

/// The answer to a transaction that was answered already.
fn already_answered() -> ApiError {
    invalid("the transaction was already answered or has expired")
}

/// What a wallet's response amounts to, checked and verified, before anything is stored.
async fn assess(
    service: &Presentations,
    transaction: &PresentationTransaction,
    request: &StoredRequest,
    form: ResponseForm,
) -> Value {
    let params = match parameters(service, transaction, request, form) {
        Ok(p) => p,
        Err(e) => return rejected("invalid_request", "malformed", e.description),
    };
    if params.get("state").and_then(Value::as_str) != Some(request.state.as_str()) {
        return rejected(
            "invalid_request",
            "wrong_state",
            "state does not match the request",
        );
    }
    if let Some(error) = params.get("error") {
        let code = error
            .as_str()
            .filter(|c| WALLET_ERRORS.contains(c))
            .unwrap_or("invalid_request");
        return json!({
            "status": "wallet_error",
            "error": code,
            "description": params.get("error_description").and_then(Value::as_str).unwrap_or_default(),
        });
    }
    match params.get("vp_token") {
        Some(vp_token) => verify(service, request, vp_token).await,
        None => rejected("invalid_presentation", "malformed", "no vp_token"),
    }
}

/// Handles a wallet's response to transaction `id`; returns the body for the wallet.
pub async fn answer(
    service: &Presentations,
    origin: &Origin,
    id: &str,
    form: ResponseForm,
) -> Result<Value, ApiError> {
    let now = service.now();
    let transaction = service
        .store
        .presentation_transaction(id, now)
        .await?
        .ok_or_else(|| invalid("unknown or expired transaction"))?;
    let party = transaction.party_id.as_str();
    if transaction.responded_at.is_some() {
        let refusal = rejected("invalid_request", "already_answered", "");
        audit::outcome(service, origin, audit::REFUSED, party, id, &refusal).await;
        return Err(already_answered());
    }
    let request = transactions::stored(&transaction)?;
    let outcome = assess(service, &transaction, &request, form).await;
    tracing::info!(
        transaction = %id,
        relying_party = %party,
        outcome = %field(&outcome, "status"),
        reason = %field(&outcome, "reason"),
        "presentation response"
    );
    if *field(&outcome, "status") == "rejected" {
        // Refused without using the transaction up: the citizen's wallet may still answer.
        service
            .store
            .note_presentation_refusal(id, now, &outcome.to_string())
            .await?;
        audit::outcome(service, origin, audit::REFUSED, party, id, &outcome).await;
        let mut error = invalid(
            field(&outcome, "description")
                .as_str()
                .unwrap_or("the presentation was not accepted")
                .to_owned(),
        );
        if *field(&outcome, "error") == "invalid_presentation" {
            error.error = "invalid_request";
        }
        return Err(error);
    }
    let response_code = request.redirect_uri.as_ref().map(|_| random_token());
    if !service
        .store
        .answer_presentation(
            id,
            now,
            &outcome.to_string(),
            response_code.as_deref().map(hash_secret).as_deref(),
        )
        .await?
    {
        let refusal = rejected("invalid_request", "already_answered", "");
        audit::outcome(service, origin, audit::REFUSED, party, id, &refusal).await;
        return Err(already_answered());
    }
    audit::outcome(service, origin, audit::ANSWERED, party, id, &outcome).await;
    Ok(match (&request.redirect_uri, &response_code) {
        (Some(redirect), Some(code)) => {
            let separator = if redirect.contains('?') { '&' } else { '?' };
            json!({"redirect_uri": format!("{redirect}{separator}response_code={code}")})
        }
        _ => json!({}),
    })
}
