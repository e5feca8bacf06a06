//! Transactions in the audit trail: what a relying party asked for when it created one, how it
//! ended (verified, the wallet's refusal, or the typed rejection of a presentation), and that it
//! expired. What was asked is kept without the query's `values` (a relying party may put a
//! document number there), and no claim a wallet disclosed is ever recorded.

use llavero_platform::Origin;
use llavero_store::ExpiredPresentation;
use serde_json::{Map, Value, json};

use crate::state::{Presentations, field};

/// A transaction was created: what its relying party asked for.
pub const CREATED: &str = "presentation.created";
/// A wallet's answer was taken: verified, or the wallet's own error.
pub const ANSWERED: &str = "presentation.answered";
/// A response was refused (the transaction stays open unless it was answered already).
pub const REFUSED: &str = "presentation.refused";
/// A transaction expired (unanswered, or answered and never read).
pub const EXPIRED: &str = "presentation.expired";

/// What a DCQL query asks for, without `values`: per credential query its id, format, type
/// constraints and claim paths; the credential sets' shape.
#[must_use]
pub fn asked(query: &Value) -> Value {
    let credentials: Vec<Value> = field(query, "credentials")
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let paths: Vec<Value> = field(c, "claims")
                .as_array()
                .into_iter()
                .flatten()
                .map(|claim| field(claim, "path").clone())
                .collect();
            let mut out = Map::new();
            out.insert("id".into(), field(c, "id").clone());
            out.insert("format".into(), field(c, "format").clone());
            out.insert("meta".into(), field(c, "meta").clone());
            out.insert("claims".into(), Value::Array(paths));
            if let Some(t) = c.get("trusted_authorities") {
                out.insert("trusted_authorities".into(), t.clone());
            }
            Value::Object(out)
        })
        .collect();
    let mut out = Map::new();
    out.insert("credentials".into(), Value::Array(credentials));
    if let Some(sets) = query.get("credential_sets") {
        out.insert("credential_sets".into(), sets.clone());
    }
    Value::Object(out)
}

/// Records how a transaction ended or why a response was refused: `outcome` is what the
/// relying party reads, of which only the status, error and reason codes are kept, and per
/// credential query the issuer and type of what was verified.
pub async fn outcome(
    service: &Presentations,
    origin: &Origin,
    kind: &str,
    party: &str,
    id: &str,
    outcome: &Value,
) {
    let presented: Map<String, Value> = field(outcome, "credentials")
        .as_object()
        .into_iter()
        .flatten()
        .map(|(query, creds)| {
            let summary: Vec<Value> = creds
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| json!({"issuer": field(c, "issuer"), "type": field(c, "type"), "format": field(c, "format")}))
                .collect();
            (query.clone(), Value::Array(summary))
        })
        .collect();
    let detail = json!({
        "transaction": id,
        "relying_party": party,
        "status": field(outcome, "status"),
        "error": field(outcome, "error"),
        "reason": field(outcome, "reason"),
        "presented": presented,
    });
    service
        .platform
        .audit
        .record(origin, kind, None, Some(party), detail)
        .await;
}

/// Deletes expired transactions and tokens, recording each expired transaction once.
pub async fn purge(service: &Presentations) -> Result<usize, llavero_store::StoreError> {
    let now = service.now();
    let expired: Vec<ExpiredPresentation> = service.store.purge_expired_presentations(now).await?;
    for gone in &expired {
        let detail = json!({
            "transaction": gone.id,
            "relying_party": gone.party_id,
            "answered": gone.answered,
        });
        service
            .platform
            .audit
            .record(
                &Origin::default(),
                EXPIRED,
                None,
                Some(&gone.party_id),
                detail,
            )
            .await;
    }
    service.store.purge_relying_party_tokens(now).await?;
    Ok(expired.len())
}
