//! What the citizen is asked: the held credentials that answer the verifier's DCQL query
//! (the holder crate's matching, §6.4, over the credentials that may still be presented), and
//! for each the ways it can answer, so claims some way does without can be left out, and
//! documents of an optional credential set (§6.2) can be left out whole.

use llavero_holder::dcql::{self, ClaimChosen, DcqlQuery};
use llavero_store::HeldCredential;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::WalletError;
use crate::state::Wallet;
use crate::status;

/// One held credential answering one credential query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// The credential query it answers.
    pub query_id: String,
    /// The held credential.
    pub credential_id: String,
    /// Whether the whole document may be left out (only optional credential sets name it).
    pub optional: bool,
    /// The ways it answers, in the verifier's order of preference.
    pub options: Vec<Vec<ClaimChosen>>,
}

impl Item {
    /// The claims of the preferred way, with whether each may be left out (some other way
    /// answers without it).
    #[must_use]
    pub fn offered(&self) -> Vec<(&ClaimChosen, bool)> {
        let Some(first) = self.options.first() else {
            return Vec::new();
        };
        first
            .iter()
            .map(|claim| {
                let optional = claim.id.is_some()
                    && self
                        .options
                        .iter()
                        .any(|o| !o.iter().any(|c| c.id == claim.id));
                (claim, optional)
            })
            .collect()
    }

    /// The claims to disclose when the citizen left out the claims with ids in `dropped`:
    /// the first way without any of them.
    #[must_use]
    pub fn chosen(&self, dropped: &[String]) -> Option<&Vec<ClaimChosen>> {
        self.options.iter().find(|o| {
            !o.iter()
                .any(|c| c.id.as_ref().is_some_and(|id| dropped.contains(id)))
        })
    }
}

/// The holder crate's view of a held credential: its format, types and every claim.
fn candidate(held: &HeldCredential) -> dcql::HeldCredential {
    let claims = status::claims_of(held);
    let types = if held.format == "jwt_vc_json" {
        claims
            .get("type")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    } else {
        claims
            .get("vct")
            .and_then(Value::as_str)
            .map(|v| vec![v.to_owned()])
            .unwrap_or_default()
    };
    let format = if held.format == "vc+sd-jwt" {
        "dc+sd-jwt".to_owned()
    } else {
        held.format.clone()
    };
    dcql::HeldCredential {
        format,
        types,
        claims,
    }
}

/// Whether credential query `id` is named only by optional credential sets.
fn optional_query(query: &DcqlQuery, id: &str) -> bool {
    query.credential_sets.as_ref().is_some_and(|sets| {
        sets.iter()
            .filter(|s| s.options.iter().flatten().any(|q| q == id))
            .all(|s| !s.required)
    })
}

/// The citizen's credentials that answer `query`, among those that may be presented (not
/// revoked, suspended or expired). `None` when they cannot answer it.
pub async fn matching(
    wallet: &Wallet,
    account_id: &str,
    query: &DcqlQuery,
) -> Result<Option<Vec<Item>>, WalletError> {
    let mut usable = Vec::new();
    for held in wallet.store.held_credentials(account_id).await? {
        if status::refresh(wallet, &held).await.presentable() {
            usable.push(held);
        }
    }
    let candidates: Vec<dcql::HeldCredential> = usable.iter().map(candidate).collect();
    let Ok(answers) = dcql::answer(query, &candidates) else {
        return Ok(None);
    };
    let mut items = Vec::new();
    for answer in answers {
        let (Some(q), Some(held), Some(seen)) = (
            query.credentials.iter().find(|q| q.id == answer.query_id),
            usable.get(answer.credential),
            candidates.get(answer.credential),
        ) else {
            continue;
        };
        items.push(Item {
            query_id: answer.query_id.clone(),
            credential_id: held.id.clone(),
            optional: optional_query(query, &answer.query_id),
            options: dcql::claim_options(q, seen),
        });
    }
    Ok(Some(items))
}
