//! The verifier past a good signature: the fuzzer writes the payload (and disclosures,
//! enveloped credentials, key-binding claims) in plain text and the test keys of the trust list
//! sign them (see `llavero_fuzz::assemble`), so claims processing, disclosure rules, time,
//! type and status checks all see fuzzed data.

#![no_main]

use libfuzzer_sys::fuzz_target;
use llavero_fuzz::fixture::{AUD, NOW};
use llavero_fuzz::{assemble, world};
use llavero_verifier::{Expectations, Format};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(input) = assemble(text) else {
        return;
    };
    let verifier = &world().verifier;
    // The nonce is whatever the presentation carries, so a nonce check never stops the run.
    let nonce = nonce_of(text).unwrap_or_default();
    for expect in [
        Expectations::default(),
        Expectations::key_binding(AUD, nonce),
    ] {
        if let Ok(verified) = verifier.verify(&input, NOW, &expect) {
            // Whatever verifies names a trusted issuer and carries at least one credential.
            assert!(!verified.credentials().is_empty());
            for credential in verified.credentials() {
                let issuer = verifier.trust_list().issuer(credential.issuer());
                assert!(issuer.is_some_and(|i| i.may_issue(credential.credential_type())));
            }
            if expect.nonce.is_some() && verified.format() == Format::SdJwtVc {
                assert!(
                    verified
                        .credentials()
                        .iter()
                        .all(|c| c.key_binding_verified())
                );
            }
        }
    }
});

/// The last `nonce` member of the text's parts (the key-binding claims or the presentation).
fn nonce_of(text: &str) -> Option<String> {
    text.split(['~', '\n']).rev().find_map(|part| {
        let value: serde_json::Value = serde_json::from_str(part).ok()?;
        value.get("nonce")?.as_str().map(str::to_owned)
    })
}
