//! OpenID4VCI 1.0 §4.1 credential offers: `openid-credential-offer://?credential_offer=<JSON>`
//! (by value) or `?credential_offer_uri=<https URL>` (by reference, fetched by the caller).

use serde::{Deserialize, Serialize};

/// The longest offer URI accepted: real offers are a few hundred bytes; a QR code holds < 3 KiB.
pub const MAX_OFFER_LEN: usize = 16 * 1024;

/// The pre-authorized code grant type (OpenID4VCI §4.1.1).
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// Why an offer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OfferError {
    /// Longer than [`MAX_OFFER_LEN`].
    #[error("offer is {0} bytes, more than allowed")]
    TooLarge(usize),
    /// Neither `credential_offer` nor `credential_offer_uri`, or both.
    #[error("an offer carries exactly one of credential_offer and credential_offer_uri")]
    MissingOffer,
    /// The offer JSON is malformed.
    #[error("malformed credential offer: {0}")]
    Malformed(String),
    /// An identifier that must be an https URL is not.
    #[error("{0} must be an https URL")]
    NotHttps(&'static str),
}

/// Where the offer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferSource {
    /// The offer itself.
    ByValue(CredentialOffer),
    /// An https URL to fetch it from.
    ByReference(String),
}

/// A credential offer (OpenID4VCI §4.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialOffer {
    /// The issuer's identifier.
    pub credential_issuer: String,
    /// Which of the issuer's credential configurations are offered.
    pub credential_configuration_ids: Vec<String>,
    /// How the wallet may obtain them.
    #[serde(default)]
    pub grants: Grants,
}

/// The grants of an offer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    /// Authorization code flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_code: Option<AuthorizationCodeGrant>,
    /// Pre-authorized code flow.
    #[serde(
        default,
        rename = "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_authorized_code: Option<PreAuthorizedCodeGrant>,
}

/// `authorization_code` grant parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCodeGrant {
    /// Opaque state to send back in the authorization request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_state: Option<String>,
    /// Which authorization server to use, if the issuer has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
}

/// Pre-authorized code grant parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreAuthorizedCodeGrant {
    /// The code.
    #[serde(rename = "pre-authorized_code")]
    pub pre_authorized_code: String,
    /// Present when a transaction code, sent out of band, must accompany the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<TxCode>,
    /// Which authorization server to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
}

/// What the user will be asked to type (OpenID4VCI §4.1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxCode {
    /// `numeric` (default) or `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_mode: Option<String>,
    /// The code's length, to size the input field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Where the user finds the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl CredentialOffer {
    /// Parses an offer object (from `credential_offer`, or fetched from `credential_offer_uri`).
    pub fn from_json(text: &str) -> Result<Self, OfferError> {
        if text.len() > MAX_OFFER_LEN {
            return Err(OfferError::TooLarge(text.len()));
        }
        let offer: Self = llavero_credentials::json::from_slice(text.as_bytes())
            .map_err(|e| OfferError::Malformed(e.to_string()))?;
        if !offer.credential_issuer.starts_with("https://") {
            return Err(OfferError::NotHttps("credential_issuer"));
        }
        if offer.credential_configuration_ids.is_empty() {
            return Err(OfferError::Malformed(
                "no credential_configuration_ids".into(),
            ));
        }
        Ok(offer)
    }
}

/// Parses an offer URI as scanned from a QR code or received as a link.
pub fn parse_offer_uri(uri: &str) -> Result<OfferSource, OfferError> {
    if uri.len() > MAX_OFFER_LEN {
        return Err(OfferError::TooLarge(uri.len()));
    }
    let query = uri.split_once('?').map_or("", |(_, q)| q);
    let (mut by_value, mut by_reference) = (None, None);
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "credential_offer" if by_value.is_none() => by_value = Some(value.into_owned()),
            "credential_offer_uri" if by_reference.is_none() => {
                by_reference = Some(value.into_owned());
            }
            "credential_offer" | "credential_offer_uri" => return Err(OfferError::MissingOffer),
            _ => {}
        }
    }
    match (by_value, by_reference) {
        (Some(json), None) => CredentialOffer::from_json(&json).map(OfferSource::ByValue),
        (None, Some(url)) if url.starts_with("https://") => Ok(OfferSource::ByReference(url)),
        (None, Some(_)) => Err(OfferError::NotHttps("credential_offer_uri")),
        _ => Err(OfferError::MissingOffer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/openid4vci"
    );

    #[test]
    fn offers_from_the_openid4vci_examples() {
        let text =
            std::fs::read_to_string(format!("{VECTORS}/credential_offer_pre-authz_code.json"))
                .unwrap();
        let offer = CredentialOffer::from_json(&text).unwrap();
        let grant = offer.grants.pre_authorized_code.unwrap();
        assert_eq!(grant.pre_authorized_code, "adhjhdjajkdkhjhdj");
        assert!(grant.tx_code.unwrap().description.unwrap().contains("SMS"));
        let uri = format!(
            "openid-credential-offer://?credential_offer={}",
            form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()
        );
        assert!(
            matches!(parse_offer_uri(&uri).unwrap(), OfferSource::ByValue(o) if o.credential_configuration_ids == ["UniversityDegreeCredential"])
        );
        let by_ref = "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fserver%2Eexample%2Ecom%2Fcredential-offer%2FGkurKxf5T0Y-mnPFCHqWOMiZi4VS138cQO_V7PZHAdM";
        assert_eq!(
            parse_offer_uri(by_ref).unwrap(),
            OfferSource::ByReference("https://server.example.com/credential-offer/GkurKxf5T0Y-mnPFCHqWOMiZi4VS138cQO_V7PZHAdM".into())
        );
    }

    #[test]
    fn bad_offers_are_refused() {
        assert_eq!(
            parse_offer_uri("openid-credential-offer://"),
            Err(OfferError::MissingOffer)
        );
        assert_eq!(
            parse_offer_uri("openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fx"),
            Err(OfferError::NotHttps("credential_offer_uri"))
        );
        assert!(matches!(
            parse_offer_uri("x://?credential_offer=%7B%7D"),
            Err(OfferError::Malformed(_))
        ));
        assert!(matches!(
            CredentialOffer::from_json(
                r#"{"credential_issuer":"http://x","credential_configuration_ids":["a"]}"#
            ),
            Err(OfferError::NotHttps(_))
        ));
        assert!(matches!(
            parse_offer_uri(&"a".repeat(MAX_OFFER_LEN + 1)),
            Err(OfferError::TooLarge(_))
        ));
    }
}
