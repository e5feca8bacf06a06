//! Whether verified presentations actually answer the DCQL query (OpenID4VP 1.0 §6.4 and
//! §8.6): each presentation under a credential query id must be of that query's format and
//! type and disclose every requested claim (one of the `values`, when given; one of the
//! `claim_sets`, when given); only `multiple` queries may have several; and every credential
//! query, or every required credential set, must be answered. A wallet that sends less than
//! was asked, or something else, is refused here even if every signature verifies.

use std::collections::BTreeMap;

use llavero_holder::dcql::{self, DcqlQuery, HeldCredential};
use llavero_verifier::{Format, VerifiedCredential};

/// Why presentations do not answer the query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unsatisfied {
    /// A presentation under an id the query does not have.
    #[error("vp_token answers unknown credential query {0}")]
    UnknownQuery(String),
    /// Several presentations for a query that allows one.
    #[error("credential query {0} allows one presentation")]
    NotMultiple(String),
    /// A presentation that does not answer its query (format, type, claims or values).
    #[error("the presentation for {0} does not answer its query")]
    Mismatch(String),
    /// A query or required credential set left unanswered.
    #[error("{0} is not answered")]
    Missing(String),
}

/// The DCQL format name of a verified credential.
#[must_use]
pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::SdJwtVc => "dc+sd-jwt",
        _ => "jwt_vc_json",
    }
}

fn held(credential: &VerifiedCredential) -> HeldCredential {
    let mut types = vec![credential.credential_type().to_owned()];
    if credential.format() != Format::SdJwtVc {
        // A W3C credential's `type` always includes it; the verifier reports the specific one.
        types.push("VerifiableCredential".to_owned());
        if let Some(all) = credential.claims().get("type").and_then(|t| t.as_array()) {
            types.extend(all.iter().filter_map(|t| t.as_str()).map(str::to_owned));
        }
    }
    HeldCredential {
        format: format_name(credential.format()).to_owned(),
        types,
        claims: credential.claims().clone(),
    }
}

/// Checks the verified credentials, by credential query id, against the query.
pub fn check(
    query: &DcqlQuery,
    answered: &BTreeMap<String, Vec<VerifiedCredential>>,
) -> Result<(), Unsatisfied> {
    for (id, credentials) in answered {
        let q = query
            .credentials
            .iter()
            .find(|q| &q.id == id)
            .ok_or_else(|| Unsatisfied::UnknownQuery(id.clone()))?;
        if credentials.len() > 1 && !q.multiple {
            return Err(Unsatisfied::NotMultiple(id.clone()));
        }
        let single = DcqlQuery {
            credentials: vec![q.clone()],
            credential_sets: None,
        };
        for credential in credentials {
            dcql::answer(&single, &[held(credential)])
                .map_err(|_| Unsatisfied::Mismatch(id.clone()))?;
        }
        if credentials.is_empty() {
            return Err(Unsatisfied::Missing(format!("credential query {id}")));
        }
    }
    match &query.credential_sets {
        None => {
            if let Some(q) = query
                .credentials
                .iter()
                .find(|q| !answered.contains_key(&q.id))
            {
                return Err(Unsatisfied::Missing(format!("credential query {}", q.id)));
            }
        }
        Some(sets) => {
            for (n, set) in sets.iter().enumerate().filter(|(_, s)| s.required) {
                if !set
                    .options
                    .iter()
                    .any(|ids| ids.iter().all(|id| answered.contains_key(id)))
                {
                    return Err(Unsatisfied::Missing(format!("credential set {n}")));
                }
            }
        }
    }
    Ok(())
}
