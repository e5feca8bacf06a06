//! SD-JWT parsing (compact and JSON serializations) and disclosure processing without a
//! signature: whatever parses serializes back to itself, and a holder's selection of any one
//! revealed claim is again a valid set of disclosures.

#![no_main]

use libfuzzer_sys::fuzz_target;
use llavero_credentials::crypto::default_backend;
use llavero_credentials::sd_jwt::{Disclosure, SdJwt, reveal};
use llavero_credentials::sd_jwt_vc;

/// The most revealed claims selected one by one per input (each selection re-reveals).
const MAX_SELECTIONS: usize = 8;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(sd_jwt) = SdJwt::parse(text) {
        exercise(&sd_jwt);
    }
    if let Ok(sd_jwt) = SdJwt::parse_json(text) {
        exercise(&sd_jwt);
    }
    for part in text.split('~') {
        if let Ok(d) = Disclosure::parse(part) {
            assert_eq!(d.encoded(), part);
        }
    }
});

fn exercise(sd_jwt: &SdJwt) {
    let crypto = default_backend();
    let serialized = sd_jwt.serialize();
    let again = SdJwt::parse(&serialized).expect("a parsed SD-JWT parses from its serialization");
    assert_eq!(again.serialize(), serialized);
    assert_eq!(again.disclosures(), sd_jwt.disclosures());
    let _ = sd_jwt_vc::peek(sd_jwt);
    let Ok(revealed) = reveal(
        sd_jwt.unverified_payload().clone(),
        sd_jwt.disclosures(),
        crypto,
    ) else {
        return;
    };
    assert_eq!(revealed.paths.len(), sd_jwt.disclosures().len());
    for path in revealed.paths.iter().take(MAX_SELECTIONS) {
        let chosen = sd_jwt
            .select(std::slice::from_ref(path), crypto)
            .expect("an SD-JWT that reveals can be presented");
        reveal(
            chosen.unverified_payload().clone(),
            chosen.disclosures(),
            crypto,
        )
        .expect("a presentation of one revealed claim reveals");
    }
}
