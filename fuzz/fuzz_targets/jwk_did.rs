//! JWK and DID parsing: public and private JWKs from JSON, keys from SEC1 bytes, `did:jwk`,
//! `did:key` and `did:web`. A key that parses survives its own JSON, `did:jwk` and `did:key`
//! forms unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use llavero_credentials::crypto::default_backend;
use llavero_credentials::did;
use llavero_credentials::jwk::{Jwk, PrivateJwk, PublicKey};

fuzz_target!(|data: &[u8]| {
    let _ = PublicKey::p256_from_sec1(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        if let Ok(jwk) = Jwk::from_value(&value) {
            round_trips(&jwk);
        }
        if let Ok(private) = PrivateJwk::from_value(&value) {
            round_trips(&private.public());
        }
    }
    let _ = PrivateJwk::from_json(text);
    if let Ok(jwk) = did::resolve_offline(text) {
        round_trips(&jwk);
    }
    if let Ok(url) = did::did_web_url(text) {
        assert!(url.starts_with("https://") && url.ends_with("/did.json"));
    }
});

fn round_trips(jwk: &Jwk) {
    let again = Jwk::from_value(&jwk.to_value()).expect("a JWK parses from its own JSON");
    assert_eq!(&again, jwk);
    assert_eq!(
        again.thumbprint(default_backend()),
        jwk.thumbprint(default_backend())
    );
    let from_did_jwk = did::resolve_offline(&did::did_jwk(jwk)).expect("did:jwk resolves");
    assert_eq!(from_did_jwk.key(), jwk.key());
    if let Ok(did_key) = did::did_key(jwk) {
        let resolved = did::resolve_offline(&did_key).expect("did:key resolves");
        assert_eq!(resolved.key(), jwk.key());
    }
}
