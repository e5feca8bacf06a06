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
    /// A presentation whose issuer is not certified by an authority the query trusts.
    #[error("the issuer of the presentation for {0} is not under a trusted authority")]
    UntrustedAuthority(String),
}

/// The `trusted_authorities` a relying party may give (OpenID4VP 1.0 §6.1.1): only `aki`, the
/// key identifier of a certificate in the issuer's `x5c` chain (base64url).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedAuthority {
    /// The kind: `aki` (others are refused at creation).
    #[serde(rename = "type")]
    pub kind: String,
    /// The accepted identifiers.
    pub values: Vec<String>,
}

/// The `trusted_authorities` of each credential query of `query` (by id), checked: only
/// `aki`, each with at least one value. The holder crate's query type does not carry them, so
/// they are read from the query's JSON.
pub fn trusted_authorities(
    query: &serde_json::Value,
) -> Result<BTreeMap<String, Vec<TrustedAuthority>>, String> {
    let mut out = BTreeMap::new();
    let credentials = query
        .get("credentials")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten();
    for credential in credentials {
        let Some(list) = credential.get("trusted_authorities") else {
            continue;
        };
        let id = credential
            .get("id")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let list: Vec<TrustedAuthority> = serde_json::from_value(list.clone())
            .map_err(|e| format!("trusted_authorities of {id}: {e}"))?;
        if list.is_empty() {
            return Err(format!("trusted_authorities of {id} is empty"));
        }
        for authority in &list {
            if authority.kind != "aki" {
                return Err(format!(
                    "trusted_authorities type {} is not supported (only aki)",
                    authority.kind
                ));
            }
            if authority.values.is_empty() {
                return Err(format!("trusted_authorities of {id} has no values"));
            }
        }
        out.insert(id, list);
    }
    Ok(out)
}

/// Checks that every credential answering a query with `trusted_authorities` comes from an
/// issuer whose certificate chain holds one of the named key identifiers (an issuer known
/// only from the trust list has none, and does not match).
pub fn check_authorities(
    authorities: &BTreeMap<String, Vec<TrustedAuthority>>,
    answered: &BTreeMap<String, Vec<VerifiedCredential>>,
) -> Result<(), Unsatisfied> {
    for (id, credentials) in answered {
        let Some(trusted) = authorities.get(id) else {
            continue;
        };
        for credential in credentials {
            let ids = credential.authority_key_ids();
            if !trusted
                .iter()
                .flat_map(|a| &a.values)
                .any(|v| ids.contains(v))
            {
                return Err(Unsatisfied::UntrustedAuthority(id.clone()));
            }
        }
    }
    Ok(())
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
