//! Loading an offline bundle and a trust list. The input is read three ways: as a bundle file;
//! as a compact trust list; and as trust-list claims that the anchor key signs, put into a
//! bundle with the fixture's status lists, whose verifier then checks the fixture's credentials
//! (so issuer entries, keys, validity and type permissions are all fuzzed).

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use llavero_credentials::crypto::default_backend;
use llavero_fuzz::fixture::{self, AUD, NONCE, NOW};
use llavero_fuzz::{sign, world};
use llavero_verifier::trust_list::{TRUST_LIST_TYP, TrustList};
use llavero_verifier::{Expectations, OfflineBundle, Verifier, VerifierOptions};

/// The fixture's credentials: an SD-JWT VC presentation and a `vc+jwt`.
fn credentials() -> &'static [(String, Expectations); 2] {
    static CREDENTIALS: OnceLock<[(String, Expectations); 2]> = OnceLock::new();
    CREDENTIALS.get_or_init(|| {
        let sd_jwt = fixture::present(
            &fixture::sd_jwt_vc(fixture::SdJwtSpec::default()),
            &["given_name"],
            AUD,
            NONCE,
            NOW,
        );
        let vc = fixture::vc_jwt(
            &["IdentityCardCredential"],
            Some(("revocation", fixture::REVOCATION_URI, 4)),
            "2030-01-01T00:00:00Z",
        );
        [
            (sd_jwt, Expectations::key_binding(AUD, NONCE)),
            (vc, Expectations::default()),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let w = world();
    let anchors = [w.anchor.public()];
    let options = VerifierOptions::default();
    let _ = Verifier::from_bundle(text, &anchors, NOW, options.clone());
    let _ = TrustList::verify(text, &anchors, default_backend(), NOW, 60);

    let trust_list = sign(&w.anchor, TRUST_LIST_TYP, w.anchor.public().kid(), data);
    let bundle = OfflineBundle {
        trust_list,
        ..w.bundle.clone()
    };
    let json = serde_json::to_string(&bundle).expect("a bundle serializes");
    if let Ok(verifier) = Verifier::from_bundle(&json, &anchors, NOW, options) {
        for (credential, expect) in credentials() {
            if let Ok(verified) = verifier.verify(credential, NOW, expect) {
                let c = &verified.credentials()[0];
                let issuer = verifier.trust_list().issuer(c.issuer());
                assert!(issuer.is_some_and(|i| i.may_issue(c.credential_type())));
            }
        }
    }
});
