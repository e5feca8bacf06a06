//! Token Status List decoding (draft-ietf-oauth-status-list): the input as a `status_list`
//! JSON object; as raw bytes (the first picks `bits`, the rest is the ZLIB stream, so the
//! inflater sees fuzzed data directly); and as token claims signed by a trusted issuer's key.
//! A decoded list answers every index in range, none beyond, and survives re-encoding.

#![no_main]

use libfuzzer_sys::fuzz_target;
use llavero_credentials::b64;
use llavero_credentials::crypto::default_backend;
use llavero_credentials::jws::AlgorithmPolicy;
use llavero_credentials::status::token::{
    EncodedStatusList, STATUS_LIST_TYP, StatusList, verify_status_list_token,
};
use llavero_fuzz::fixture::{NOW, TOKEN_URI};
use llavero_fuzz::{sign_as_registro, world};

fuzz_target!(|data: &[u8]| {
    if let Ok(encoded) = serde_json::from_slice::<EncodedStatusList>(data)
        && let Ok(list) = StatusList::decode(&encoded)
    {
        check(&list);
    }
    if let Some((&bits, zlib)) = data.split_first() {
        let encoded = EncodedStatusList {
            bits: [1, 2, 4, 8][usize::from(bits % 4)],
            lst: b64::encode(zlib),
        };
        if let Ok(list) = StatusList::decode(&encoded) {
            check(&list);
        }
    }
    let token = sign_as_registro(STATUS_LIST_TYP, data);
    if let Ok(verified) = verify_status_list_token(
        &token,
        &world().registro.public(),
        default_backend(),
        &AlgorithmPolicy::default(),
        TOKEN_URI,
        NOW,
        60,
    ) {
        assert_eq!(verified.uri(), TOKEN_URI);
        check(verified.list());
    }
});

fn check(list: &StatusList) {
    let len = list.len();
    assert_eq!(len, list.as_bytes().len() * 8 / usize::from(list.bits()));
    if let Some(last) = len.checked_sub(1) {
        for idx in [0, last / 2, last] {
            let value = list.get(idx).expect("an index in range has a status");
            assert!(u32::from(value) < 1 << list.bits());
        }
    }
    assert_eq!(list.get(len), None);
    let again = StatusList::decode(&list.encode().expect("a decoded list encodes"))
        .expect("an encoded list decodes");
    assert_eq!(&again, list);
}
