//! Status lists against the IETF draft's examples (`token-status-list/*_json.md`), the W3C
//! known answer, signed round trips, rejections and property tests.

use std::path::Path;

use llavero_credentials::crypto::{DangerousSeededRandom, default_backend, signer_from_jwk};
use llavero_credentials::jwk::PrivateJwk;
use llavero_credentials::jws::{AlgorithmPolicy, JwsError};
use llavero_credentials::jwt::ValidityError;
use llavero_credentials::status::bitstring::{
    BitstringStatusList, MIN_ENTRIES, StatusListCredential,
};
use llavero_credentials::status::token::{
    EncodedStatusList, StatusList, StatusListTokenClaims, sign_status_list_token,
    verify_status_list_token,
};
use llavero_credentials::status::{Status, StatusListError};
use proptest::prelude::*;

fn vector_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/token-status-list")
}

/// Reads `byte_array = [..]` (if present) and the JSON `{bits, lst}` of a draft example file.
fn read_example(path: &Path) -> (Option<Vec<u8>>, EncodedStatusList) {
    let text = std::fs::read_to_string(path).unwrap();
    let bytes = text
        .lines()
        .find_map(|l| l.strip_prefix("byte_array = "))
        .map(|list| {
            list.trim()
                .trim_matches(['[', ']'])
                .split(',')
                .map(|b| u8::from_str_radix(b.trim().trim_start_matches("0x"), 16).unwrap())
                .collect()
        });
    let json_start = text.find('{').unwrap();
    let json: String = text[json_start..].split_whitespace().collect();
    (bytes, serde_json::from_str(&json).unwrap())
}

#[test]
fn every_json_encoding_example_decodes() {
    let mut checked = 0;
    for entry in std::fs::read_dir(vector_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("status_list_encoding") && name.ends_with("_json.md")) {
            continue;
        }
        let (bytes, encoded) = read_example(&path);
        let list = StatusList::decode(&encoded).unwrap();
        if let Some(bytes) = bytes {
            assert_eq!(list.as_bytes(), bytes.as_slice(), "{name}");
        }
        // Our encoding decodes to the same list (compressors differ, bytes must not).
        assert_eq!(
            StatusList::decode(&list.encode().unwrap()).unwrap(),
            list,
            "{name}"
        );
        checked += 1;
    }
    assert!(checked >= 6, "found {checked} examples");
}

#[test]
fn known_answers_from_the_draft() {
    let one = StatusList::decode(&EncodedStatusList {
        bits: 1,
        lst: "eNrbuRgAAhcBXQ".into(),
    })
    .unwrap();
    assert_eq!(one.as_bytes(), [0xb9, 0xa3]);
    assert_eq!(Status::from_value(one.get(0).unwrap()), Status::Invalid);
    assert_eq!(Status::from_value(one.get(1).unwrap()), Status::Valid);
    let two = StatusList::decode(&EncodedStatusList {
        bits: 2,
        lst: "eNo76fITAAPfAgc".into(),
    })
    .unwrap();
    assert_eq!(two.as_bytes(), [0xc9, 0x44, 0xf9]);
    assert_eq!(Status::from_value(two.get(1).unwrap()), Status::Suspended);
    assert_eq!(two.get(3), Some(3));
}

#[test]
fn w3c_bitstring_known_answer_is_all_valid() {
    let list = BitstringStatusList::decode(
        "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",
    )
    .unwrap();
    assert_eq!(list.len(), 131_072);
    assert!((0..list.len()).all(|i| list.get(i) == Some(0)));
}

fn issuer() -> PrivateJwk {
    PrivateJwk::generate_p256(&DangerousSeededRandom::new(11), Some("sl-1".into())).unwrap()
}

const URI: &str = "https://registro.llavero.cl/status/1";

fn token(list: &StatusList, exp: i64) -> String {
    let claims = StatusListTokenClaims {
        uri: URI.into(),
        iat: 1000,
        exp: Some(exp),
        ttl: Some(3600),
        iss: None,
    };
    sign_status_list_token(list, &claims, signer_from_jwk(&issuer()).unwrap().as_ref()).unwrap()
}

#[test]
fn status_list_token_round_trip_and_rejections() {
    let mut list = StatusList::new(1000, 2).unwrap();
    list.set(7, 1).unwrap();
    list.set(8, 2).unwrap();
    let jwt = token(&list, 5000);
    let policy = AlgorithmPolicy::default();
    let verified = verify_status_list_token(
        &jwt,
        &issuer().public(),
        default_backend(),
        &policy,
        URI,
        2000,
        0,
    )
    .unwrap();
    assert_eq!(
        (
            verified.list.get(7),
            verified.list.get(8),
            verified.list.get(9)
        ),
        (Some(1), Some(2), Some(0))
    );
    assert_eq!(verified.ttl, Some(3600));

    let other = PrivateJwk::generate_p256(&DangerousSeededRandom::new(12), None).unwrap();
    assert_eq!(
        verify_status_list_token(
            &jwt,
            &other.public(),
            default_backend(),
            &policy,
            URI,
            2000,
            0
        ),
        Err(StatusListError::Jws(JwsError::BadSignature))
    );
    assert!(matches!(
        verify_status_list_token(
            &jwt,
            &issuer().public(),
            default_backend(),
            &policy,
            "https://x/2",
            2000,
            0
        ),
        Err(StatusListError::WrongSubject { .. })
    ));
    assert!(matches!(
        verify_status_list_token(
            &jwt,
            &issuer().public(),
            default_backend(),
            &policy,
            URI,
            6000,
            0
        ),
        Err(StatusListError::Validity(ValidityError::Expired { .. }))
    ));
    // A vc+jwt is not a status list token.
    let credential = StatusListCredential {
        id: URI.into(),
        issuer: "https://registro.llavero.cl".into(),
        purpose: "revocation".into(),
        valid_from: None,
        valid_until: None,
        ttl_ms: None,
        list: BitstringStatusList::new(MIN_ENTRIES).unwrap(),
    };
    let vc = credential
        .sign(signer_from_jwk(&issuer()).unwrap().as_ref())
        .unwrap();
    assert!(matches!(
        verify_status_list_token(
            &vc,
            &issuer().public(),
            default_backend(),
            &policy,
            URI,
            2000,
            0
        ),
        Err(StatusListError::Jws(JwsError::WrongType { .. }))
    ));
}

#[test]
fn bitstring_credential_round_trip_and_rejections() {
    let mut list = BitstringStatusList::new(MIN_ENTRIES).unwrap();
    list.set(42, true).unwrap();
    let credential = StatusListCredential {
        id: URI.into(),
        issuer: "https://registro.llavero.cl".into(),
        purpose: "suspension".into(),
        valid_from: Some(1000),
        valid_until: Some(5000),
        ttl_ms: Some(300_000),
        list,
    };
    let jwt = credential
        .sign(signer_from_jwk(&issuer()).unwrap().as_ref())
        .unwrap();
    let policy = AlgorithmPolicy::default();
    let verified = StatusListCredential::verify(
        &jwt,
        &issuer().public(),
        default_backend(),
        &policy,
        2000,
        0,
    )
    .unwrap();
    assert_eq!(verified, credential);
    assert!(matches!(
        StatusListCredential::verify(
            &jwt,
            &issuer().public(),
            default_backend(),
            &policy,
            9000,
            0
        ),
        Err(StatusListError::Validity(ValidityError::Expired { .. }))
    ));
    assert!(matches!(
        StatusListCredential::verify(&jwt, &issuer().public(), default_backend(), &policy, 10, 0),
        Err(StatusListError::Validity(ValidityError::NotYetValid { .. }))
    ));
}

#[test]
fn gzip_bomb_and_bad_prefix_are_refused() {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![0u8; 17 * 1024 * 1024]).unwrap();
    let bomb = format!(
        "u{}",
        llavero_credentials::b64::encode(encoder.finish().unwrap())
    );
    assert!(bomb.len() < 100 * 1024);
    assert!(matches!(
        BitstringStatusList::decode(&bomb),
        Err(StatusListError::TooLarge(_))
    ));
    assert_eq!(
        BitstringStatusList::decode("mAAAA"),
        Err(StatusListError::BadMultibase)
    );
    assert!(matches!(
        StatusList::decode(&EncodedStatusList {
            bits: 3,
            lst: "eNrbuRgAAhcBXQ".into()
        }),
        Err(StatusListError::InvalidBits(3))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn token_list_round_trips(bits in prop::sample::select(vec![1u8, 2, 4, 8]), len in 1usize..4000,
                              sets in prop::collection::vec((any::<usize>(), any::<u8>()), 0..50)) {
        let mut list = StatusList::new(len, bits).unwrap();
        let mut expected = vec![0u8; list.len()];
        for (i, v) in sets {
            let i = i % list.len();
            let v = v & (u8::MAX >> (8 - bits));
            list.set(i, v).unwrap();
            expected[i] = v;
        }
        let decoded = StatusList::decode(&list.encode().unwrap()).unwrap();
        for (i, v) in expected.iter().enumerate() {
            prop_assert_eq!(decoded.get(i), Some(*v));
        }
    }

    #[test]
    fn bitstring_round_trips(sets in prop::collection::vec(0usize..MIN_ENTRIES, 0..50)) {
        let mut list = BitstringStatusList::new(MIN_ENTRIES).unwrap();
        for &i in &sets {
            list.set(i, true).unwrap();
        }
        let decoded = BitstringStatusList::decode(&list.encode().unwrap()).unwrap();
        for &i in &sets {
            prop_assert_eq!(decoded.get(i), Some(1));
        }
        prop_assert_eq!((0..MIN_ENTRIES).filter(|&i| decoded.get(i) == Some(1)).count(),
                        { let mut s = sets.clone(); s.sort_unstable(); s.dedup(); s.len() });
    }

    #[test]
    fn decoders_never_panic(lst in "[A-Za-z0-9_-]{0,200}", bits in any::<u64>()) {
        let _ = StatusList::decode(&EncodedStatusList { bits, lst: lst.clone() });
        let _ = BitstringStatusList::decode(&format!("u{lst}"));
    }
}
