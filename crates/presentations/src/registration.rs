//! What a relying party may ask for (Ley 21.719's data minimisation, enforced where the request
//! is made): per credential format, the types and the claims. A request naming a type, a claim
//! or a format beyond the registration is refused before any wallet sees it. The registration
//! also carries the relying party's query presets and its same-device redirect URIs.

use std::collections::BTreeMap;

use llavero_credentials::sd_jwt::{ClaimPath, PathElement};
use llavero_holder::dcql::{CredentialQuery, DcqlQuery};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The identity card's type (`vct`).
pub const IDENTITY_CARD: &str = "https://llavero.cl/vct/identity-card";
/// The driving licence's type (`vct`).
pub const DRIVING_LICENCE: &str = "https://llavero.cl/vct/driving-licence";

/// One kind of credential a relying party may ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowed {
    /// `dc+sd-jwt` or `jwt_vc_json`.
    pub format: String,
    /// The `vct` values (SD-JWT VC) or W3C `type` values it may name.
    pub types: Vec<String>,
    /// The claims it may ask for: a request's claim path must start with one of them.
    pub claims: Vec<ClaimPath>,
}

/// A relying party's registration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Registration {
    /// What it may ask for.
    pub credentials: Vec<Allowed>,
    /// Named DCQL queries it may use instead of writing one.
    #[serde(default)]
    pub presets: BTreeMap<String, Value>,
    /// Where a same-device flow may return the citizen.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// Why a query is beyond a registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Beyond {
    /// A format it is not registered for.
    #[error("format {0} is not registered for this relying party")]
    Format(String),
    /// A credential query that names no type (it would accept any credential).
    #[error("credential query {0} must name its credential types (vct_values or type_values)")]
    AnyType(String),
    /// A type it is not registered for.
    #[error("credential type {0} is not registered for this relying party")]
    Type(String),
    /// A credential query without claims (it would receive every claim).
    #[error("credential query {0} must name the claims it needs")]
    AllClaims(String),
    /// A claim it is not registered for.
    #[error("claim {claim} of {query} is not registered for this relying party")]
    Claim {
        /// The credential query.
        query: String,
        /// The claim path.
        claim: String,
    },
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// The types a credential query names, or `None` if it names none.
fn named_types(query: &CredentialQuery) -> Option<Vec<String>> {
    if let Some(vct) = query.meta.get("vct_values") {
        return Some(strings(vct));
    }
    let sets = query.meta.get("type_values")?.as_array()?;
    // `VerifiableCredential` is in every W3C credential; it does not widen a request.
    Some(
        sets.iter()
            .flat_map(strings)
            .filter(|t| t != "VerifiableCredential")
            .collect(),
    )
}

fn path_text(path: &ClaimPath) -> String {
    serde_json::to_string(path).unwrap_or_default()
}

fn within(requested: &ClaimPath, allowed: &ClaimPath) -> bool {
    allowed.0.len() <= requested.0.len()
        && allowed
            .0
            .iter()
            .zip(&requested.0)
            .all(|(a, r)| a == r || matches!(a, PathElement::AllElements))
}

impl Registration {
    /// Checks that every credential query of `query` stays within the registration.
    pub fn permits(&self, query: &DcqlQuery) -> Result<(), Beyond> {
        for q in &query.credentials {
            let for_format: Vec<&Allowed> = self
                .credentials
                .iter()
                .filter(|a| a.format == q.format)
                .collect();
            if for_format.is_empty() {
                return Err(Beyond::Format(q.format.clone()));
            }
            let types = named_types(q)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| Beyond::AnyType(q.id.clone()))?;
            let mut allowed_claims: Vec<&ClaimPath> = Vec::new();
            for t in &types {
                let entry = for_format
                    .iter()
                    .find(|a| a.types.contains(t))
                    .ok_or_else(|| Beyond::Type(t.clone()))?;
                allowed_claims.extend(&entry.claims);
            }
            let claims = q
                .claims
                .as_ref()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| Beyond::AllClaims(q.id.clone()))?;
            for claim in claims {
                if !allowed_claims.iter().any(|a| within(&claim.path, a)) {
                    return Err(Beyond::Claim {
                        query: q.id.clone(),
                        claim: path_text(&claim.path),
                    });
                }
            }
        }
        Ok(())
    }

    /// The registration that allows exactly what `presets` (built-in names) ask for.
    pub fn from_presets(names: &[String]) -> Result<Self, UnknownPreset> {
        let mut registration = Self::default();
        for name in names {
            let query = preset(name).ok_or_else(|| UnknownPreset(name.clone()))?;
            registration.allow_query(&query);
            registration.presets.insert(name.clone(), query);
        }
        Ok(registration)
    }

    /// Widens the registration to what `query` asks for.
    fn allow_query(&mut self, query: &Value) {
        let Ok(parsed) = serde_json::from_value::<DcqlQuery>(query.clone()) else {
            return;
        };
        for q in parsed.credentials {
            let types = named_types(&q).unwrap_or_default();
            let claims: Vec<ClaimPath> =
                q.claims.iter().flatten().map(|c| c.path.clone()).collect();
            match self
                .credentials
                .iter_mut()
                .find(|a| a.format == q.format && a.types == types)
            {
                Some(entry) => {
                    for c in claims {
                        if !entry.claims.contains(&c) {
                            entry.claims.push(c);
                        }
                    }
                }
                None => self.credentials.push(Allowed {
                    format: q.format.clone(),
                    types,
                    claims,
                }),
            }
        }
    }
}

/// A preset name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown query preset {0} (known: {known})", known = PRESETS.join(", "))]
pub struct UnknownPreset(pub String);

/// The built-in presets.
pub const PRESETS: [&str; 3] = ["age-over-18", "name-and-run", "driving-licence"];

/// A built-in DCQL query by name.
#[must_use]
pub fn preset(name: &str) -> Option<Value> {
    let query = match name {
        // A pharmacy learns that the citizen is of age, and nothing else.
        "age-over-18" => json!({"credentials": [{
            "id": "identity_card", "format": "dc+sd-jwt",
            "meta": {"vct_values": [IDENTITY_CARD]},
            "claims": [{"path": ["age_equal_or_over", "18"], "values": [true]}]
        }]}),
        "name-and-run" => json!({"credentials": [{
            "id": "identity_card", "format": "dc+sd-jwt",
            "meta": {"vct_values": [IDENTITY_CARD]},
            "claims": [{"path": ["given_name"]}, {"path": ["family_name"]}, {"path": ["run"]}]
        }]}),
        "driving-licence" => json!({"credentials": [{
            "id": "driving_licence", "format": "dc+sd-jwt",
            "meta": {"vct_values": [DRIVING_LICENCE]},
            "claims": [{"path": ["given_name"]}, {"path": ["family_name"]}, {"path": ["classes"]},
                       {"path": ["licence_expiry"]}]
        }]}),
        _ => return None,
    };
    Some(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(value: &Value) -> DcqlQuery {
        DcqlQuery::parse(&value.to_string()).unwrap()
    }

    #[test]
    fn presets_register_what_they_ask_and_nothing_more() {
        let registration = Registration::from_presets(&["age-over-18".into()]).unwrap();
        assert!(
            registration
                .permits(&query(&preset("age-over-18").unwrap()))
                .is_ok()
        );
        assert!(matches!(
            registration.permits(&query(&preset("name-and-run").unwrap())),
            Err(Beyond::Claim { .. })
        ));
        assert!(matches!(
            registration.permits(&query(&preset("driving-licence").unwrap())),
            Err(Beyond::Type(_))
        ));
        let everything = json!({"credentials": [{"id": "x", "format": "dc+sd-jwt",
            "meta": {"vct_values": [IDENTITY_CARD]}}]});
        assert!(matches!(
            registration.permits(&query(&everything)),
            Err(Beyond::AllClaims(_))
        ));
        let any_type = json!({"credentials": [{"id": "x", "format": "dc+sd-jwt",
            "claims": [{"path": ["age_equal_or_over", "18"]}]}]});
        assert!(matches!(
            registration.permits(&query(&any_type)),
            Err(Beyond::AnyType(_))
        ));
        assert!(Registration::from_presets(&["nope".into()]).is_err());
    }
}
