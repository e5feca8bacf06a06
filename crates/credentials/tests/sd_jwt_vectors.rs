//! SD-JWT and SD-JWT VC against the shared vectors:
//! - `sd-jwt-vc-openid4vp-example` (OpenID4VP 1.0 final, `examples/sd_jwt_vcld`), a presentation
//!   signed by the reference implementation, verified to exactly its `verified_contents.json`;
//! - `sd-jwt-python-testcases` (openwallet-foundation-labs/sd-jwt-python): claims with `!sd`
//!   tags, what the holder discloses, and what the verifier must end up with;
//! - `rfc9901-examples` (oauth-wg/oauth-selective-disclosure-jwt): issued and fully disclosed,
//!   the verifier must recover the claims exactly.

use std::path::{Path, PathBuf};

use llavero_credentials::crypto::{DangerousSeededRandom, default_backend, signer_from_jwk};
use llavero_credentials::jwk::{Jwk, PrivateJwk};
use llavero_credentials::jws::AlgorithmPolicy;
use llavero_credentials::sd_jwt::{self, ClaimPath, IssueOptions, KeyBinding, PathElement, SdJwt};
use llavero_credentials::sd_jwt_vc;
use serde_json::{Map, Value};
use serde_yaml::Value as Yaml;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors")
}

fn yaml(path: &Path) -> Yaml {
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn to_json(y: &Yaml) -> Value {
    serde_json::to_value(y).unwrap()
}

/// The settings file's keys.
struct Settings {
    issuer: PrivateJwk,
    holder: PrivateJwk,
    nonce: String,
    verifier: String,
}

fn settings(path: &Path) -> Settings {
    let s = to_json(&yaml(path));
    let key = |v: &Value| PrivateJwk::from_value(v).unwrap();
    Settings {
        issuer: key(&s["key_settings"]["issuer_keys"][0]),
        holder: key(&s["key_settings"]["holder_key"]),
        nonce: s["key_binding_nonce"].as_str().unwrap().to_owned(),
        verifier: s["identifiers"]["verifier"].as_str().unwrap().to_owned(),
    }
}

#[test]
fn openid4vp_example_verifies_to_its_verified_contents() {
    let dir = vectors().join("sd-jwt-vc-openid4vp-example");
    let s = settings(&dir.join("settings.yml"));
    let text: String = std::fs::read_to_string(dir.join("01/sd_jwt_presentation.txt"))
        .unwrap()
        .split_whitespace()
        .collect();
    let sd_jwt = SdJwt::parse(&text).unwrap();
    let kb = KeyBinding::Required {
        audience: "https://verifier.example.org".into(),
        nonce: "1234567890".into(),
        now: 1_744_743_394,
        skew: 0,
        max_age: 60,
    };
    let verified = sd_jwt_vc::verify(
        sd_jwt,
        default_backend(),
        &s.issuer.public(),
        &AlgorithmPolicy::default(),
        &kb,
        1_744_743_394,
        0,
    )
    .unwrap();
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("01/verified_contents.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(verified.claims(), &expected);
    assert_eq!(verified.envelope().holder_key, Some(s.holder.public()));
    assert_eq!(verified.key_binding().unwrap().nonce, s.nonce);
    assert_eq!(s.verifier, "https://verifier.example.org");
}

/// Turns `!sd`-tagged YAML into plain claims and the paths that are disclosable.
fn untag(y: &Yaml, path: &ClaimPath, paths: &mut Vec<ClaimPath>) -> Value {
    match y {
        Yaml::Tagged(tagged) if tagged.tag == "sd" => {
            paths.push(path.clone());
            untag(&tagged.value, path, paths)
        }
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let (name, sd) = match k {
                    Yaml::Tagged(t) if t.tag == "sd" => {
                        (t.value.as_str().unwrap().to_owned(), true)
                    }
                    other => (
                        other
                            .as_str()
                            .map_or_else(|| to_json(other).to_string(), str::to_owned),
                        false,
                    ),
                };
                let child = path.child(PathElement::Key(name.clone()));
                if sd {
                    paths.push(child.clone());
                }
                out.insert(name, untag(v, &child, paths));
            }
            Value::Object(out)
        }
        Yaml::Sequence(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| untag(v, &path.child(PathElement::Index(i)), paths))
                .collect(),
        ),
        other => to_json(other),
    }
}

/// The paths a `holder_disclosed_claims` structure asks for.
fn disclosed_paths(y: &Yaml, path: &ClaimPath, out: &mut Vec<ClaimPath>) {
    match y {
        Yaml::Bool(true) => out.push(path.clone()),
        Yaml::Mapping(map) => {
            for (k, v) in map {
                disclosed_paths(
                    v,
                    &path.child(PathElement::Key(k.as_str().unwrap().to_owned())),
                    out,
                );
            }
        }
        Yaml::Sequence(items) => {
            for (i, v) in items.iter().enumerate() {
                disclosed_paths(v, &path.child(PathElement::Index(i)), out);
            }
        }
        _ => {}
    }
}

fn issue_present_verify(spec: &Value, spec_yaml: &Yaml, s: &Settings, disclose_all: bool) -> Value {
    let mut paths = Vec::new();
    let Value::Object(claims) = untag(&spec_yaml["user_claims"], &ClaimPath::default(), &mut paths)
    else {
        panic!("user_claims is not an object");
    };
    let mut claims = claims;
    // Some RFC examples carry an illustrative RSA `cnf`; Llavero binds only EC/OKP keys.
    claims.remove("cnf");
    let key_binding = spec["key_binding"].as_bool().unwrap_or(false);
    if key_binding {
        claims.insert("cnf".into(), serde_json::json!({"jwk": s.holder.public()}));
    }
    let rng = DangerousSeededRandom::new(42);
    let mut options = IssueOptions::default();
    options.typ = "example+sd-jwt".into();
    options.decoys_per_object =
        usize::from(spec["add_decoy_claims"].as_bool().unwrap_or(false)) * 2;
    let issuer = signer_from_jwk(&s.issuer).unwrap();
    let issued = sd_jwt::issue(
        &claims,
        &paths,
        &options,
        issuer.as_ref(),
        &rng,
        default_backend(),
    )
    .unwrap();
    let parsed = SdJwt::parse(&issued).unwrap();
    let wanted = if disclose_all {
        vec![ClaimPath::default()]
    } else {
        let mut wanted = Vec::new();
        disclosed_paths(
            &spec_yaml["holder_disclosed_claims"],
            &ClaimPath::default(),
            &mut wanted,
        );
        wanted
    };
    let presented = if wanted.iter().any(|p| p.0.is_empty()) {
        parsed.clone()
    } else {
        parsed.select(&wanted, default_backend()).unwrap()
    };
    let (text, policy) = if key_binding {
        let holder = signer_from_jwk(&s.holder).unwrap();
        let kb = presented
            .with_key_binding(
                &s.verifier,
                &s.nonce,
                1000,
                holder.as_ref(),
                default_backend(),
            )
            .unwrap();
        let policy = KeyBinding::Required {
            audience: s.verifier.clone(),
            nonce: s.nonce.clone(),
            now: 1000,
            skew: 0,
            max_age: 60,
        };
        (kb, policy)
    } else {
        (presented.serialize(), KeyBinding::NotRequired)
    };
    let verified = SdJwt::parse(&text)
        .unwrap()
        .verify(
            default_backend(),
            &s.issuer.public(),
            &AlgorithmPolicy::default(),
            &policy,
        )
        .unwrap();
    let mut claims = verified.into_claims();
    if key_binding {
        claims.as_object_mut().unwrap().remove("cnf");
    }
    claims
}

fn case_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("specification.yml").exists())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn python_reference_testcases_reveal_exactly_the_expected_claims() {
    let s = settings(&vectors().join("rfc9901-examples/settings.yml"));
    let dirs = case_dirs(&vectors().join("sd-jwt-python-testcases"));
    assert_eq!(dirs.len(), 17);
    for dir in dirs {
        let spec_yaml = yaml(&dir.join("specification.yml"));
        let spec = untag(&spec_yaml, &ClaimPath::default(), &mut Vec::new());
        let verified = issue_present_verify(&spec, &spec_yaml, &s, false);
        assert_eq!(
            verified,
            spec["expect_verified_user_claims"],
            "case {}",
            dir.display()
        );
    }
}

#[test]
fn rfc9901_examples_round_trip_with_everything_disclosed() {
    let s = settings(&vectors().join("rfc9901-examples/settings.yml"));
    let dirs = case_dirs(&vectors().join("rfc9901-examples"));
    assert!(dirs.len() >= 15);
    for dir in dirs {
        let spec_yaml = yaml(&dir.join("specification.yml"));
        let spec = untag(&spec_yaml, &ClaimPath::default(), &mut Vec::new());
        let mut ignored = Vec::new();
        let mut plain = untag(
            &spec_yaml["user_claims"],
            &ClaimPath::default(),
            &mut ignored,
        );
        plain.as_object_mut().unwrap().remove("cnf");
        let verified = issue_present_verify(&spec, &spec_yaml, &s, true);
        assert_eq!(verified, plain, "case {}", dir.display());
    }
}

#[test]
fn issuer_key_from_settings_is_the_vector_key() {
    let s = settings(&vectors().join("sd-jwt-vc-openid4vp-example/settings.yml"));
    let expected = Jwk::from_value(&serde_json::json!({"kty":"EC","crv":"P-256",
        "x":"b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ",
        "y":"Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"}))
    .unwrap();
    assert_eq!(s.issuer.public().key(), expected.key());
}
