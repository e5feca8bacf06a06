//! OpenID4VCI credential offers: the input as an offer object and as the URI a wallet scans.
//! An offer that parses is https, names at least one configuration, and parses again from its
//! own JSON, by value and inside an offer URI.

#![no_main]

use libfuzzer_sys::fuzz_target;
use llavero_holder::offer::{CredentialOffer, OfferSource, parse_offer_uri};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(offer) = CredentialOffer::from_json(text) {
        round_trips(&offer);
    }
    match parse_offer_uri(text) {
        Ok(OfferSource::ByValue(offer)) => round_trips(&offer),
        Ok(OfferSource::ByReference(url)) => assert!(url.starts_with("https://")),
        Err(_) => {}
    }
});

fn round_trips(offer: &CredentialOffer) {
    assert!(offer.credential_issuer.starts_with("https://"));
    assert!(!offer.credential_configuration_ids.is_empty());
    let json = serde_json::to_string(offer).expect("an offer serializes");
    if json.len() > llavero_holder::offer::MAX_OFFER_LEN {
        return;
    }
    assert_eq!(CredentialOffer::from_json(&json).as_ref(), Ok(offer));
    let uri = format!(
        "openid-credential-offer://?credential_offer={}",
        encode(&json)
    );
    if uri.len() <= llavero_holder::offer::MAX_OFFER_LEN {
        assert_eq!(
            parse_offer_uri(&uri),
            Ok(OfferSource::ByValue(offer.clone()))
        );
    }
}

/// Percent-encodes every byte outside the unreserved set (RFC 3986 §2.3).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
