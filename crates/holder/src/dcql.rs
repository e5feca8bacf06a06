//! Digital Credentials Query Language (OpenID4VP 1.0 §6): a verifier's query parsed, and
//! matched against the credentials a holder has, choosing which claims to disclose.
//!
//! Matching follows §6.4: a credential answers a query when its format and `meta` fit and its
//! claims are present (with one of the `values`, when given). With `claim_sets`, the first set
//! the credential can satisfy is used (sets are in the verifier's order of preference). Without
//! `credential_sets`, every credential query must be answered; with them, every required set
//! needs one option whose queries are all answered, and optional sets are answered if they can be.

use std::collections::BTreeMap;

use llavero_credentials::sd_jwt::{ClaimPath, PathElement};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The largest DCQL query accepted.
pub const MAX_QUERY_LEN: usize = 64 * 1024;

/// Why a query could not be parsed or answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DcqlError {
    /// The query is malformed.
    #[error("malformed DCQL query: {0}")]
    Malformed(String),
    /// The holder's credentials cannot answer the query.
    #[error("no held credentials answer the query: {0}")]
    Unsatisfiable(String),
}

/// A DCQL query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DcqlQuery {
    /// The credential queries.
    pub credentials: Vec<CredentialQuery>,
    /// Alternatives between credential queries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_sets: Option<Vec<CredentialSetQuery>>,
}

/// One credential query (§6.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialQuery {
    /// Its identifier, used in the response.
    pub id: String,
    /// `dc+sd-jwt`, `jwt_vc_json`, …
    pub format: String,
    /// Whether several credentials may answer it.
    #[serde(default)]
    pub multiple: bool,
    /// Format-specific constraints (`vct_values`, `type_values`).
    #[serde(default)]
    pub meta: Value,
    /// The claims requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<ClaimsQuery>>,
    /// Alternative sets of claim ids, in order of preference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_sets: Option<Vec<Vec<String>>>,
    /// Whether the holder must prove possession of the credential's key (default true).
    #[serde(default = "yes")]
    pub require_cryptographic_holder_binding: bool,
}

fn yes() -> bool {
    true
}

/// One requested claim (§6.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimsQuery {
    /// Its id (required when the query has `claim_sets`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Where the claim is.
    pub path: ClaimPath,
    /// Acceptable values; any claim value when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
}

/// Alternatives between credential queries (§6.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialSetQuery {
    /// Each option is a list of credential query ids that together answer the set.
    pub options: Vec<Vec<String>>,
    /// Whether the set must be answered (default true).
    #[serde(default = "yes")]
    pub required: bool,
}

impl DcqlQuery {
    /// Parses and checks a query: unique ids of the allowed characters, claim ids present
    /// whenever `claim_sets` refers to them, sets referring to known queries.
    pub fn parse(text: &str) -> Result<Self, DcqlError> {
        if text.len() > MAX_QUERY_LEN {
            return Err(DcqlError::Malformed(format!(
                "{} bytes, more than allowed",
                text.len()
            )));
        }
        let query: Self = llavero_credentials::json::from_slice(text.as_bytes())
            .map_err(|e| DcqlError::Malformed(e.to_string()))?;
        let valid_id = |id: &str| {
            !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        let mut seen = std::collections::HashSet::new();
        for q in &query.credentials {
            if !valid_id(&q.id) || !seen.insert(q.id.as_str()) {
                return Err(DcqlError::Malformed(format!(
                    "credential query id {:?}",
                    q.id
                )));
            }
            if let Some(sets) = &q.claim_sets {
                let ids: Vec<&str> = q
                    .claims
                    .iter()
                    .flatten()
                    .filter_map(|c| c.id.as_deref())
                    .collect();
                if sets.iter().flatten().any(|id| !ids.contains(&id.as_str())) {
                    return Err(DcqlError::Malformed(format!(
                        "claim_sets of {:?} name unknown claims",
                        q.id
                    )));
                }
            }
        }
        if query.credentials.is_empty() {
            return Err(DcqlError::Malformed("no credential queries".into()));
        }
        for set in query.credential_sets.iter().flatten() {
            if set
                .options
                .iter()
                .flatten()
                .any(|id| !seen.contains(id.as_str()))
            {
                return Err(DcqlError::Malformed(
                    "credential_sets name unknown queries".into(),
                ));
            }
        }
        Ok(query)
    }
}

/// What the holder has, in the terms a query speaks (from its own, fully disclosed, view).
#[derive(Debug, Clone, PartialEq)]
pub struct HeldCredential {
    /// `dc+sd-jwt` or `jwt_vc_json`.
    pub format: String,
    /// The `vct` (SD-JWT VC) or the W3C `type` values.
    pub types: Vec<String>,
    /// All claims.
    pub claims: Value,
}

/// One credential chosen to answer one credential query, with the claims to disclose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The credential query answered.
    pub query_id: String,
    /// Index of the held credential.
    pub credential: usize,
    /// The claims to disclose (concrete paths).
    pub disclose: Vec<ClaimPath>,
}

/// The concrete paths in `claims` that `path` selects, with their values.
fn select<'a>(
    claims: &'a Value,
    path: &[PathElement],
    at: &mut Vec<PathElement>,
    out: &mut Vec<(ClaimPath, &'a Value)>,
) {
    let Some((first, rest)) = path.split_first() else {
        if !claims.is_null() {
            out.push((ClaimPath(at.clone()), claims));
        }
        return;
    };
    match (first, claims) {
        (PathElement::Key(k), Value::Object(map)) => {
            if let Some(v) = map.get(k) {
                at.push(first.clone());
                select(v, rest, at, out);
                at.pop();
            }
        }
        (PathElement::Index(i), Value::Array(items)) => {
            if let Some(v) = items.get(*i) {
                at.push(first.clone());
                select(v, rest, at, out);
                at.pop();
            }
        }
        (PathElement::AllElements, Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                at.push(PathElement::Index(i));
                select(v, rest, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// The paths that answer `claim` in `held`, or `None` if it is absent or has none of the values.
fn answer_claim(held: &HeldCredential, claim: &ClaimsQuery) -> Option<Vec<ClaimPath>> {
    let mut found = Vec::new();
    select(&held.claims, &claim.path.0, &mut Vec::new(), &mut found);
    let found: Vec<ClaimPath> = found
        .into_iter()
        .filter(|(_, v)| {
            claim
                .values
                .as_ref()
                .is_none_or(|values| values.contains(v))
        })
        .map(|(p, _)| p)
        .collect();
    (!found.is_empty()).then_some(found)
}

fn meta_fits(query: &CredentialQuery, held: &HeldCredential) -> bool {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    if let Some(vct_values) = query.meta.get("vct_values") {
        return strings(vct_values).iter().any(|v| held.types.contains(v));
    }
    if let Some(type_values) = query.meta.get("type_values").and_then(Value::as_array) {
        return type_values
            .iter()
            .any(|set| strings(set).iter().all(|t| held.types.contains(t)));
    }
    true
}

/// The claims `held` would disclose to answer `query`, if it can.
fn answer_query(query: &CredentialQuery, held: &HeldCredential) -> Option<Vec<ClaimPath>> {
    if query.format != held.format || !meta_fits(query, held) {
        return None;
    }
    let Some(claims) = &query.claims else {
        return Some(Vec::new());
    };
    let by_id: BTreeMap<&str, &ClaimsQuery> = claims
        .iter()
        .filter_map(|c| Some((c.id.as_deref()?, c)))
        .collect();
    let all = |chosen: Vec<&ClaimsQuery>| -> Option<Vec<ClaimPath>> {
        chosen
            .into_iter()
            .map(|c| answer_claim(held, c))
            .collect::<Option<Vec<_>>>()
            .map(|v| v.concat())
    };
    match &query.claim_sets {
        None => all(claims.iter().collect()),
        Some(sets) => sets.iter().find_map(|set| {
            all(set
                .iter()
                .filter_map(|id| by_id.get(id.as_str()).copied())
                .collect())
        }),
    }
}

/// One claim of a way to answer a credential query: the claim query's id and path, and the
/// concrete paths of the holder's credential that answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimChosen {
    /// The claim query's id, if it has one.
    pub id: Option<String>,
    /// The path the verifier asked for (possibly with wildcards).
    pub path: ClaimPath,
    /// The concrete paths to disclose.
    pub disclose: Vec<ClaimPath>,
}

/// Every way `held` answers `query`, in the verifier's order of preference: one per claim
/// set `held` satisfies (§6.4.1), or one with every claim when the query has no
/// `claim_sets`. Empty when `held` cannot answer. A holder offers the citizen the claims of
/// the first way, and may leave out those some later way does without.
#[must_use]
pub fn claim_options(query: &CredentialQuery, held: &HeldCredential) -> Vec<Vec<ClaimChosen>> {
    if query.format != held.format || !meta_fits(query, held) {
        return Vec::new();
    }
    let Some(claims) = &query.claims else {
        return vec![Vec::new()];
    };
    let all = |chosen: Vec<&ClaimsQuery>| -> Option<Vec<ClaimChosen>> {
        chosen
            .into_iter()
            .map(|c| {
                answer_claim(held, c).map(|disclose| ClaimChosen {
                    id: c.id.clone(),
                    path: c.path.clone(),
                    disclose,
                })
            })
            .collect()
    };
    match &query.claim_sets {
        None => all(claims.iter().collect()).into_iter().collect(),
        Some(sets) => sets
            .iter()
            .filter_map(|set| {
                all(set
                    .iter()
                    .filter_map(|id| claims.iter().find(|c| c.id.as_deref() == Some(id)))
                    .collect())
            })
            .collect(),
    }
}

/// Chooses credentials (by index into `held`) and the claims to disclose for `query`.
pub fn answer(query: &DcqlQuery, held: &[HeldCredential]) -> Result<Vec<Answer>, DcqlError> {
    let mut answers: BTreeMap<&str, Vec<Answer>> = BTreeMap::new();
    for q in &query.credentials {
        let found: Vec<Answer> = held
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                answer_query(q, h).map(|disclose| Answer {
                    query_id: q.id.clone(),
                    credential: i,
                    disclose,
                })
            })
            .take(if q.multiple { usize::MAX } else { 1 })
            .collect();
        if !found.is_empty() {
            answers.insert(q.id.as_str(), found);
        }
    }
    let chosen: Vec<&str> = match &query.credential_sets {
        None => {
            if let Some(missing) = query
                .credentials
                .iter()
                .find(|q| !answers.contains_key(q.id.as_str()))
            {
                return Err(DcqlError::Unsatisfiable(format!(
                    "credential query {:?}",
                    missing.id
                )));
            }
            query.credentials.iter().map(|q| q.id.as_str()).collect()
        }
        Some(sets) => {
            let mut chosen = Vec::new();
            for (n, set) in sets.iter().enumerate() {
                let option = set
                    .options
                    .iter()
                    .find(|ids| ids.iter().all(|id| answers.contains_key(id.as_str())));
                match option {
                    Some(ids) => chosen.extend(ids.iter().map(String::as_str)),
                    None if set.required => {
                        return Err(DcqlError::Unsatisfiable(format!("credential set {n}")));
                    }
                    None => {}
                }
            }
            chosen
        }
    };
    let mut out = Vec::new();
    for id in chosen {
        if let Some(found) = answers.remove(id) {
            out.extend(found);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const DIR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/openid4vp/dcql"
    );

    fn query(name: &str) -> DcqlQuery {
        DcqlQuery::parse(&std::fs::read_to_string(format!("{DIR}/{name}")).unwrap()).unwrap()
    }

    fn pid(vct: &str, claims: Value) -> HeldCredential {
        HeldCredential {
            format: "dc+sd-jwt".into(),
            types: vec![vct.into()],
            claims,
        }
    }

    const PID: &str = "https://credentials.example.com/identity_credential";

    #[test]
    fn every_shared_query_parses() {
        for entry in std::fs::read_dir(DIR).unwrap() {
            let path = entry.unwrap().path();
            DcqlQuery::parse(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{path:?}: {e}"));
        }
    }

    #[test]
    fn simple_query_picks_the_matching_credential_and_claims() {
        let held = [
            pid("https://other.example/x", json!({"last_name": "Doe"})),
            pid(
                PID,
                json!({"last_name": "Doe", "first_name": "John", "address": {"street_address": "Main St 1"}, "age": 40}),
            ),
        ];
        let answers = answer(&query("simple.json"), &held).unwrap();
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0].credential, 1);
        let disclosed: Vec<String> = answers[0]
            .disclose
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            disclosed,
            [
                r#"["last_name"]"#,
                r#"["first_name"]"#,
                r#"["address","street_address"]"#
            ]
        );
        assert!(matches!(
            answer(&query("simple.json"), &held[..1]),
            Err(DcqlError::Unsatisfiable(_))
        ));
    }

    #[test]
    fn claim_sets_take_the_first_satisfiable_set() {
        let held = [pid(
            PID,
            json!({"last_name": "Doe", "postal_code": "90210", "date_of_birth": "1990-01-01"}),
        )];
        let answers = answer(&query("claims_alternatives.json"), &held).unwrap();
        let disclosed: Vec<String> = answers[0]
            .disclose
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            disclosed,
            [
                r#"["last_name"]"#,
                r#"["postal_code"]"#,
                r#"["date_of_birth"]"#
            ]
        );
    }

    #[test]
    fn values_must_match() {
        let mut claims = json!({"last_name": "Doe", "first_name": "J", "address": {"street_address": "x"}, "postal_code": "90210"});
        assert!(
            answer(
                &query("value_matching_simple.json"),
                &[pid(PID, claims.clone())]
            )
            .is_ok()
        );
        claims["postal_code"] = json!("10001");
        assert!(answer(&query("value_matching_simple.json"), &[pid(PID, claims)]).is_err());
    }

    #[test]
    fn credential_sets_choose_an_option_and_skip_optional_ones() {
        let held = [
            pid(
                "https://credentials.example.com/reduced_identity_credential",
                json!({"family_name": "D", "given_name": "J"}),
            ),
            pid(
                "https://cred.example/residence_credential",
                json!({"postal_code": "1", "locality": "x", "region": "y"}),
            ),
        ];
        let answers = answer(&query("credentials_alternatives.json"), &held).unwrap();
        let ids: Vec<&str> = answers.iter().map(|a| a.query_id.as_str()).collect();
        assert_eq!(ids, ["pid_reduced_cred_1", "pid_reduced_cred_2"]);
    }

    #[test]
    fn claim_options_list_every_satisfiable_set_in_order() {
        let held = pid(
            PID,
            json!({"last_name": "Doe", "postal_code": "90210", "date_of_birth": "1990-01-01"}),
        );
        let q = query("claims_alternatives.json");
        let options = claim_options(&q.credentials[0], &held);
        assert!(!options.is_empty());
        let first: Vec<Option<String>> = options[0].iter().map(|c| c.id.clone()).collect();
        assert_eq!(first.len(), 3);
        assert!(claim_options(&q.credentials[0], &pid("https://x", json!({}))).is_empty());
    }

    #[test]
    fn malformed_queries_are_refused() {
        for bad in [
            r#"{"credentials": []}"#,
            r#"{"credentials": [{"id": "a b", "format": "x"}]}"#,
            r#"{"credentials": [{"id": "a", "format": "x"}, {"id": "a", "format": "x"}]}"#,
            r#"{"credentials": [{"id": "a", "format": "x", "claims": [{"path": ["n"]}], "claim_sets": [["z"]]}]}"#,
            r#"{"credentials": [{"id": "a", "format": "x"}], "credential_sets": [{"options": [["b"]]}]}"#,
            "[]",
        ] {
            assert!(DcqlQuery::parse(bad).is_err(), "{bad}");
        }
    }
}
