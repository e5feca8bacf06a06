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
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/token-status-list")
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

/// The list of a draft example file.
fn vector_list(name: &str) -> StatusList {
    StatusList::decode(&read_example(&vector_dir().join(name)).1).unwrap()
}

/// Every listed index has its status and every other index is 0 (valid).
fn assert_statuses(list: &StatusList, expected: &[(u64, u8)]) {
    let mut want = vec![0u8; list.len()];
    for &(i, v) in expected {
        want[usize::try_from(i).unwrap()] = v;
    }
    for (i, v) in want.iter().enumerate() {
        assert_eq!(list.get(i), Some(*v), "index {i}");
    }
}

// Expected statuses of the long vectors, transcribed from the draft's appendix "Test vectors
// for Status List encoding" (oauth-wg/draft-ietf-oauth-status-list, draft-ietf-oauth-status-list.md).

#[test]
fn one_bit_long_vector() {
    let list = vector_list("status_list_encoding1_long_json.md");
    assert_eq!(list.bits(), 1);
    let ones = [
        0, 1993, 25460, 159_495, 495_669, 554_353, 645_645, 723_232, 854_545, 934_534, 1_000_345,
    ];
    assert_statuses(&list, &ones.map(|i| (i, 1)));
}

#[test]
fn two_bit_long_vector() {
    let list = vector_list("status_list_encoding2_long_json.md");
    assert_eq!(list.bits(), 2);
    assert_statuses(
        &list,
        &[
            (0, 1),
            (1993, 2),
            (25460, 1),
            (159_495, 3),
            (495_669, 1),
            (554_353, 1),
            (645_645, 2),
            (723_232, 1),
            (854_545, 1),
            (934_534, 2),
            (1_000_345, 3),
        ],
    );
}

#[test]
fn four_bit_long_vector() {
    let list = vector_list("status_list_encoding4_json.md");
    assert_eq!(list.bits(), 4);
    assert_statuses(
        &list,
        &[
            (0, 1),
            (1993, 2),
            (35460, 3),
            (459_495, 4),
            (595_669, 5),
            (754_353, 6),
            (845_645, 7),
            (923_232, 8),
            (924_445, 9),
            (934_534, 10),
            (1_004_534, 11),
            (1_000_345, 12),
            (1_030_203, 13),
            (1_030_204, 14),
            (1_030_205, 15),
        ],
    );
}

/// The 8-bit vector sets the n-th listed index to the value n (0 to 255).
#[expect(
    clippy::unreadable_literal,
    reason = "transcribed as the draft writes them"
)]
const EIGHT_BIT_INDEXES: [u64; 256] = [
    233478, 52451, 576778, 513575, 468106, 292632, 214947, 182323, 884834, 66653, 62489, 196493,
    458517, 487925, 55649, 416992, 879796, 462297, 942059, 583408, 13628, 334829, 886286, 713557,
    582738, 326064, 451545, 705889, 214350, 194502, 796765, 202828, 752834, 721327, 554740, 91122,
    963483, 261779, 793844, 165255, 614839, 758403, 403258, 145867, 96100, 477937, 606890, 167335,
    488197, 211815, 797182, 582952, 950870, 765108, 341110, 776325, 745056, 439368, 559893, 149741,
    358903, 513405, 342679, 969429, 795775, 566121, 460566, 680070, 117310, 480348, 67319, 661552,
    841303, 561493, 138807, 442463, 659927, 445910, 1046963, 829700, 962282, 299623, 555493,
    292826, 517215, 551009, 898490, 837603, 759161, 459948, 290102, 1034977, 190650, 98810, 229950,
    320531, 335506, 885333, 133227, 806915, 800313, 981571, 527253, 24077, 240232, 559572, 713399,
    233941, 615514, 911768, 331680, 951527, 6805, 552366, 374660, 223159, 625884, 417146, 320527,
    784154, 338792, 1199, 679804, 1024680, 40845, 234603, 761225, 644903, 502167, 121477, 505144,
    165165, 179628, 1019195, 145149, 263738, 269256, 996739, 346296, 555864, 887384, 444173,
    421844, 653716, 836747, 783119, 918762, 946835, 253764, 519895, 471224, 134272, 709016, 44112,
    482585, 461829, 15080, 148883, 123467, 480125, 141348, 65877, 692958, 148598, 499131, 584009,
    1017987, 449287, 277478, 991262, 509602, 991896, 853666, 399318, 197815, 203278, 903979,
    743015, 888308, 862143, 979421, 113605, 206397, 127113, 844358, 711569, 229153, 521470, 401793,
    398896, 940810, 293983, 884749, 384802, 584151, 970201, 523882, 158093, 929312, 205329, 106091,
    30949, 195586, 495723, 348779, 852312, 1018463, 1009481, 448260, 841042, 122967, 345269,
    794764, 4520, 818773, 556171, 954221, 598210, 887110, 1020623, 324632, 398244, 622241, 456551,
    122648, 127837, 657676, 119884, 105156, 999897, 330160, 119285, 168005, 389703, 143699, 142524,
    493258, 846778, 251420, 516351, 83344, 171931, 879178, 663475, 546865, 428362, 658891, 500560,
    557034, 830023, 274471, 629139, 958869, 663071, 152133, 19535,
];

#[test]
fn eight_bit_long_vector() {
    let list = vector_list("status_list_encoding8_json.md");
    assert_eq!(list.bits(), 8);
    let expected: Vec<(u64, u8)> = EIGHT_BIT_INDEXES
        .iter()
        .enumerate()
        .map(|(v, &i)| (i, v as u8))
        .collect();
    assert_statuses(&list, &expected);
}

/// The public half of the key the draft's example generator signs with
/// (oauth-wg/draft-ietf-oauth-status-list `src/util.py`, `kid` "12").
fn draft_example_key() -> llavero_credentials::jwk::Jwk {
    llavero_credentials::jwk::Jwk::from_value(&serde_json::json!({
        "kty": "EC", "crv": "P-256", "kid": "12",
        "x": "I3HWm_0Ds1dPMI-IWmf4mBmH-YaeAVbPVu7vB27CxXo",
        "y": "6N_d5Elj9bs1htgV3okJKIdbHEpkgTmAluYKJemzn1M"
    }))
    .unwrap()
}

#[test]
fn signed_status_list_jwt_vector_verifies() {
    // status_list_jwt_raw.md: the compact token of the draft, wrapped over lines.
    let text = std::fs::read_to_string(vector_dir().join("status_list_jwt_raw.md")).unwrap();
    let compact: String = text.split_whitespace().collect();
    let uri = "https://example.com/statuslists/1";
    let verified = verify_status_list_token(
        &compact,
        &draft_example_key(),
        default_backend(),
        &AlgorithmPolicy::es256_only(),
        uri,
        1_700_000_000,
        0,
    )
    .unwrap();
    assert_eq!(
        (verified.iat(), verified.exp(), verified.ttl()),
        (Some(1_686_920_170), Some(2_291_720_170), Some(43_200))
    );
    assert_eq!(verified.list().as_bytes(), [0xb9, 0xa3]);
    assert_eq!(
        Status::from_value(verified.list().get(0).unwrap()),
        Status::Invalid
    );
    assert_eq!(
        Status::from_value(verified.list().get(1).unwrap()),
        Status::Valid
    );
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

/// Verifies `jwt` as the list at `uri` with the issuer's key at `now`.
fn verify_token(
    jwt: &str,
    uri: &str,
    now: i64,
) -> Result<llavero_credentials::status::token::VerifiedStatusList, StatusListError> {
    verify_status_list_token(
        jwt,
        &issuer().public(),
        default_backend(),
        &AlgorithmPolicy::default(),
        uri,
        now,
        0,
    )
}

#[test]
fn status_list_token_round_trip_and_rejections() {
    let mut list = StatusList::new(1000, 2).unwrap();
    list.set(7, 1).unwrap();
    list.set(8, 2).unwrap();
    let jwt = token(&list, 5000);
    let policy = AlgorithmPolicy::default();
    let verified = verify_token(&jwt, URI, 2000).unwrap();
    assert_eq!(
        (
            verified.list().get(7),
            verified.list().get(8),
            verified.list().get(9)
        ),
        (Some(1), Some(2), Some(0))
    );
    assert_eq!(verified.ttl(), Some(3600));

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
        verify_token(&jwt, "https://x/2", 2000),
        Err(StatusListError::WrongSubject { .. })
    ));
    assert!(matches!(
        verify_token(&jwt, URI, 6000),
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
        verify_token(&vc, URI, 2000),
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

#[test]
fn a_large_status_list_token_is_not_mistaken_for_an_oversized_credential() {
    // 1,000,000 entries with 10% revoked at random compress to more than a credential's 64 KiB.
    let mut list = StatusList::new(1_000_000, 1).unwrap();
    let rng = DangerousSeededRandom::new(77);
    for _ in 0..100_000 {
        let i = llavero_credentials::crypto::random_below(&rng, 1_000_000).unwrap();
        list.set(usize::try_from(i).unwrap(), 1).unwrap();
    }
    let jwt = token(&list, 5000);
    assert!(
        jwt.len() > llavero_credentials::jws::MAX_COMPACT_LEN,
        "{} bytes",
        jwt.len()
    );
    let verified = verify_status_list_token(
        &jwt,
        &issuer().public(),
        default_backend(),
        &AlgorithmPolicy::default(),
        URI,
        2000,
        0,
    )
    .unwrap();
    assert_eq!(verified.list(), &list);
}

#[test]
fn bytes_after_the_compressed_list_are_refused() {
    use llavero_credentials::b64;
    let mut list = StatusList::new(64, 1).unwrap();
    list.set(3, 1).unwrap();
    let mut zlib = b64::decode(list.encode().unwrap().lst).unwrap();
    assert!(
        StatusList::decode(&EncodedStatusList {
            bits: 1,
            lst: b64::encode(&zlib)
        })
        .is_ok()
    );
    zlib.push(0);
    assert!(matches!(
        StatusList::decode(&EncodedStatusList {
            bits: 1,
            lst: b64::encode(&zlib)
        }),
        Err(StatusListError::Inflate(_))
    ));
    let bits = BitstringStatusList::new(MIN_ENTRIES).unwrap();
    let gzip = b64::decode(bits.encode().unwrap().trim_start_matches('u')).unwrap();
    let two_members = [gzip.clone(), gzip].concat();
    assert!(matches!(
        BitstringStatusList::decode(&format!("u{}", b64::encode(two_members))),
        Err(StatusListError::Inflate(_))
    ));
}
