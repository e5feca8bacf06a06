//! Whatever arrives from the network, the verifier answers with a verdict, never a panic; and
//! a credential with any single character changed never verifies as something else.

use llavero_verifier::{Expectations, Verifier};
use proptest::prelude::*;

use crate::fixture::*;

fn shared() -> &'static (Verifier, String, String) {
    static WORLD: std::sync::OnceLock<(Verifier, String, String)> = std::sync::OnceLock::new();
    WORLD.get_or_init(|| {
        let sd = present(
            &sd_jwt_vc(SdJwtSpec::default()),
            &["given_name"],
            AUD,
            NONCE,
            NOW,
        );
        let vc = vc_jwt(
            &["IdentityCardCredential"],
            Some(("revocation", REVOCATION_URI, 4)),
            "2030-01-01T00:00:00Z",
        );
        (verifier(), sd, vc)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_input_gets_a_verdict(input in ".{0,400}") {
        let (verifier, _, _) = shared();
        let _ = verifier.verify(&input, NOW, &Expectations::default());
        let _ = verifier.verify(&input, NOW, &Expectations::key_binding(AUD, NONCE));
    }

    #[test]
    fn one_changed_character_never_verifies_differently(which in any::<bool>(), at in any::<prop::sample::Index>(),
                                                       with in prop::sample::select(b"AQgw_-.~".to_vec())) {
        let (verifier, sd, vc) = shared();
        let (original, expect) = if which {
            (sd.as_str(), Expectations::key_binding(AUD, NONCE))
        } else {
            (vc.as_str(), Expectations::default())
        };
        let honest = verifier.verify(original, NOW, &expect).unwrap();
        let mut bytes = original.as_bytes().to_vec();
        let i = at.index(bytes.len());
        bytes[i] = with;
        let tampered = String::from_utf8(bytes).unwrap();
        if let Ok(v) = verifier.verify(&tampered, NOW, &expect) {
            // Only a change that base64url decoding ignores (the unused low bits of a final
            // character) may still verify, and then it must say exactly the same.
            prop_assert_eq!(v.credentials()[0].claims().clone(), honest.credentials()[0].claims().clone());
        }
    }
}
