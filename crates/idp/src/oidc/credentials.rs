//! Credential issuance through this provider (OpenID4VCI 1.0 §5): a wallet asks for credential
//! configurations by `scope` (each configuration's id is its scope) or by RFC 9396
//! `authorization_details` of type `openid_credential`. Such a request is plain OAuth: `openid`
//! is not required, and without it no ID token is issued.
//!
//! A grant keeps what was asked in its scope string: a configuration requested by scope as its
//! id, one requested by `authorization_details` as `openid_credential:<id>`, so the token
//! response can answer `authorization_details` with `credential_identifiers` (the configuration
//! id identifies its one dataset), and the issuer knows which `credential_identifier`s the token
//! covers.

use serde_json::{Value, json};

pub use crate::scopes::{DETAILS_PREFIX, DETAILS_TYPE, is_configuration_scope, is_identity_scope};

/// Most `authorization_details` entries in one request.
const MAX_DETAILS: usize = 10;

/// The configuration ids an `authorization_details` parameter asks for: each entry must be
/// `{"type": "openid_credential", "credential_configuration_id": …}`.
pub fn requested_configurations(parameter: &str) -> Result<Vec<String>, &'static str> {
    let details: Vec<Value> = serde_json::from_str(parameter)
        .map_err(|_| "authorization_details must be a JSON array")?;
    if details.is_empty() || details.len() > MAX_DETAILS {
        return Err("authorization_details must have 1 to 10 entries");
    }
    details
        .iter()
        .map(|detail| {
            if detail.get("type").and_then(Value::as_str) != Some(DETAILS_TYPE) {
                return Err("authorization_details type must be openid_credential");
            }
            detail
                .get("credential_configuration_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or("authorization_details needs credential_configuration_id")
        })
        .collect()
}

/// The `authorization_details` of a token response for a grant's scope.
#[must_use]
pub fn token_details(scope: &str) -> Option<Value> {
    let details: Vec<Value> = scope
        .split(' ')
        .filter_map(|s| s.strip_prefix(DETAILS_PREFIX))
        .map(|id| {
            json!({"type": DETAILS_TYPE, "credential_configuration_id": id, "credential_identifiers": [id]})
        })
        .collect();
    (!details.is_empty()).then_some(Value::Array(details))
}

/// The scope to report in a token response: what was requested by `scope`.
#[must_use]
pub fn reported_scope(scope: &str) -> String {
    scope
        .split(' ')
        .filter(|s| !s.starts_with(DETAILS_PREFIX))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_details_name_configurations_and_come_back_with_identifiers() {
        let asked = requested_configurations(
            r#"[{"type":"openid_credential","credential_configuration_id":"identity-card_sd-jwt"}]"#,
        )
        .unwrap();
        assert_eq!(asked, vec!["identity-card_sd-jwt"]);
        let scope = "birth-certificate_sd-jwt openid_credential:identity-card_sd-jwt";
        assert_eq!(
            token_details(scope).unwrap(),
            json!([{"type": "openid_credential", "credential_configuration_id": "identity-card_sd-jwt",
                    "credential_identifiers": ["identity-card_sd-jwt"]}])
        );
        assert_eq!(reported_scope(scope), "birth-certificate_sd-jwt");
        assert!(token_details("openid run").is_none());
        assert!(is_configuration_scope("identity-card_vc-jwt"));
        assert!(!is_configuration_scope("email"));
        assert!(!is_configuration_scope("_sd-jwt"));
    }

    #[test]
    fn malformed_authorization_details_are_refused() {
        for bad in [
            "{}",
            "[]",
            r#"[{"type":"payment"}]"#,
            r#"[{"type":"openid_credential"}]"#,
            "not json",
        ] {
            assert!(requested_configurations(bad).is_err(), "{bad}");
        }
    }
}
