//! Property tests: issuance, selection and verification agree on any claims, and parsing
//! never panics.

use llavero_credentials::crypto::{DangerousSeededRandom, default_backend, signer_from_jwk};
use llavero_credentials::jwk::PrivateJwk;
use llavero_credentials::jws::AlgorithmPolicy;
use llavero_credentials::sd_jwt::{self, ClaimPath, IssueOptions, KeyBinding, PathElement, SdJwt};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[a-zñ ]{0,8}".prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn claims() -> impl Strategy<Value = Map<String, Value>> {
    let value = leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop::collection::btree_map("[a-z]{1,6}", value, 1..6).prop_map(|m| m.into_iter().collect())
}

/// Every path in `value`, so a random subset can be made disclosable.
fn all_paths(value: &Value, at: &ClaimPath, out: &mut Vec<ClaimPath>) {
    match value {
        Value::Object(obj) => {
            for (k, v) in obj {
                let child = at.child(PathElement::Key(k.clone()));
                out.push(child.clone());
                all_paths(v, &child, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let child = at.child(PathElement::Index(i));
                out.push(child.clone());
                all_paths(v, &child, out);
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn issue_then_disclose_everything_recovers_the_claims(claims in claims(), mask in any::<u64>(), seed in any::<u64>()) {
        let mut paths = Vec::new();
        all_paths(&Value::Object(claims.clone()), &ClaimPath::default(), &mut paths);
        let chosen: Vec<ClaimPath> = paths.into_iter().enumerate().filter(|(i, _)| mask >> (i % 64) & 1 == 1).map(|(_, p)| p).collect();
        let key = PrivateJwk::generate_p256(&DangerousSeededRandom::new(seed), None).unwrap();
        let signer = signer_from_jwk(&key).unwrap();
        let issued = sd_jwt::issue(&claims, &chosen, &IssueOptions::default(), signer.as_ref(), &DangerousSeededRandom::new(seed), default_backend()).unwrap();
        let verified = SdJwt::parse(&issued).unwrap()
            .verify(default_backend(), &key.public(), &AlgorithmPolicy::default(), &KeyBinding::NotRequired)
            .unwrap();
        prop_assert_eq!(verified.claims(), &Value::Object(claims.clone()));

        // Presenting a subset reveals no claim that was not in the original.
        let some: Vec<ClaimPath> = chosen.iter().step_by(2).cloned().collect();
        let presented = SdJwt::parse(&issued).unwrap().select(&some, default_backend()).unwrap();
        let partial = SdJwt::parse(&presented.serialize()).unwrap()
            .verify(default_backend(), &key.public(), &AlgorithmPolicy::default(), &KeyBinding::NotRequired)
            .unwrap();
        for (k, v) in partial.claims().as_object().unwrap() {
            prop_assert!(claims.contains_key(k));
            if !v.is_object() && !v.is_array() {
                prop_assert_eq!(Some(v), claims.get(k));
            }
        }
    }

    #[test]
    fn parse_never_panics(text in "[A-Za-z0-9_.~-]{0,300}") {
        let _ = SdJwt::parse(&text);
    }
}
