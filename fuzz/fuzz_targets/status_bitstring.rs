//! Bitstring Status List decoding (W3C): the input as `encodedList` text; as raw bytes (the
//! GZIP stream, multibase-encoded here so the inflater sees fuzzed data directly); and as a
//! status list credential signed by a trusted issuer's key. A decoded list answers every index
//! in range, none beyond, and survives re-encoding.

#![no_main]

use libfuzzer_sys::fuzz_target;
use llavero_credentials::b64;
use llavero_credentials::crypto::default_backend;
use llavero_credentials::jws::AlgorithmPolicy;
use llavero_credentials::status::bitstring::{
    BitstringStatusList, MIN_ENTRIES, StatusListCredential,
};
use llavero_fuzz::fixture::NOW;
use llavero_fuzz::{sign_as_registro, world};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(list) = BitstringStatusList::decode(text)
    {
        check(&list);
    }
    if let Ok(list) = BitstringStatusList::decode(&format!("u{}", b64::encode(data))) {
        check(&list);
    }
    let credential = sign_as_registro("vc+jwt", data);
    if let Ok(verified) = StatusListCredential::verify(
        &credential,
        &world().registro.public(),
        default_backend(),
        &AlgorithmPolicy::default(),
        NOW,
        60,
    ) {
        check(&verified.list);
    }
});

fn check(list: &BitstringStatusList) {
    let len = list.len();
    assert!(len >= MIN_ENTRIES);
    for idx in [0, len / 2, len - 1] {
        let value = list.get(idx).expect("an index in range has a status");
        assert!(value <= 1);
    }
    assert_eq!(list.get(len), None);
    let again = BitstringStatusList::decode(&list.encode().expect("a decoded list encodes"))
        .expect("an encoded list decodes");
    assert_eq!(&again, list);
}
