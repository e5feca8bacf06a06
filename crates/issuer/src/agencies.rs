//! Adding agencies and their API clients (the `llavero issuer` commands and demo data).

use llavero_store::{Agency, AgencyClient, hash_secret};

use crate::keys::{KeyError, new_key};
use crate::state::Issuer;

/// Agency ids are path segments of URLs and must not shadow the service's own paths.
const RESERVED: [&str; 12] = [
    "account",
    "activate",
    "admin",
    "agency",
    "authorize",
    "consent",
    "credentials",
    "health",
    "login",
    "logout",
    "static",
    "presentations",
];

/// Why an agency could not be added.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgencyError {
    /// The id is not a lowercase slug, or is reserved.
    #[error("agency id {0:?}: use 2-40 lowercase letters, digits and hyphens, not a reserved path")]
    BadId(String),
    /// A credential type is unknown.
    #[error("unknown credential type {0:?}")]
    UnknownType(String),
    /// Keys.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// Database.
    #[error(transparent)]
    Store(#[from] llavero_store::StoreError),
}

fn valid_id(id: &str) -> bool {
    (2..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !RESERVED.contains(&id)
        && !id.starts_with('.')
}

/// Adds an agency (with a first signing key) or updates its name and types. Returns whether
/// it was new.
pub async fn add(
    issuer: &Issuer,
    id: &str,
    name: &str,
    credential_types: &[String],
) -> Result<bool, AgencyError> {
    if !valid_id(id) {
        return Err(AgencyError::BadId(id.to_owned()));
    }
    if let Some(unknown) = credential_types
        .iter()
        .find(|t| issuer.catalog.get(t).is_none())
    {
        return Err(AgencyError::UnknownType(unknown.clone()));
    }
    let now = issuer.now();
    let key = new_key(&issuer.platform.master, id, now, now)?;
    let agency = Agency {
        id: id.to_owned(),
        name: name.to_owned(),
        credential_types: credential_types.to_vec(),
        created_at: now,
    };
    Ok(issuer.platform.store.put_agency(&agency, &key).await?)
}

/// A new API client of `agency`: `(client_id, client_secret)`; the secret is shown once.
pub async fn add_client(issuer: &Issuer, agency: &str) -> Result<(String, String), AgencyError> {
    let id = format!("{agency}-{}", llavero_platform::random::id());
    let secret = llavero_platform::random::token();
    let client = AgencyClient {
        id: id.clone(),
        agency_id: agency.to_owned(),
        secret_hash: hash_secret(&secret),
    };
    issuer
        .platform
        .store
        .add_agency_client(&client, issuer.now())
        .await?;
    Ok((id, secret))
}

/// The longest validity of the types an agency issues (how long a superseded key must stay
/// published).
#[must_use]
pub fn max_validity_secs(issuer: &Issuer, agency: &Agency) -> i64 {
    agency
        .credential_types
        .iter()
        .filter_map(|t| issuer.catalog.get(t))
        .map(|t| t.issuance.validity_days * 86_400)
        .max()
        .unwrap_or(0)
}

/// Every agency as a trust-list entry: its identifier, name, published keys and the types it
/// issues (by `vct` and by W3C type), for `llavero trust-list publish`.
pub async fn trusted_issuers(
    issuer: &Issuer,
) -> Result<Vec<llavero_verifier::trust_list::TrustedIssuer>, AgencyError> {
    let mut out = Vec::new();
    for agency in issuer.platform.store.agencies().await? {
        let keys = issuer.agency_keys(&agency.id).await?;
        let mut credential_types = Vec::new();
        for t in agency
            .credential_types
            .iter()
            .filter_map(|t| issuer.catalog.get(t))
        {
            credential_types.push(t.vct.clone());
            credential_types.push(t.issuance.w3c_type.clone());
        }
        out.push(llavero_verifier::trust_list::TrustedIssuer {
            id: issuer.agency_url(&agency.id),
            name: Some(agency.name.clone()),
            jwks: llavero_verifier::trust_list::Jwks {
                keys: keys.published,
            },
            credential_types,
            valid_from: None,
            valid_until: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::valid_id;

    #[test]
    fn agency_ids_are_slugs_that_shadow_no_route() {
        assert!(valid_id("registro-civil"));
        assert!(!valid_id("Registro"));
        assert!(!valid_id("account"));
        assert!(!valid_id("a/b"));
        assert!(!valid_id("-x"));
    }
}
