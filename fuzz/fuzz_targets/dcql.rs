//! DCQL (OpenID4VP §6) parsing and matching against a holder's credentials: the fixture's
//! SD-JWT VC (a real one, so the chosen disclosures are then selected from it), two plain
//! credentials shaped like the specification's examples and, after a NUL byte in the input, one
//! more whose claims the fuzzer writes. Every answer names a query and a held credential of its
//! format, and discloses concrete paths that exist in it.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use llavero_credentials::crypto::default_backend;
use llavero_credentials::sd_jwt::{ClaimPath, PathElement, SdJwt, reveal};
use llavero_fuzz::fixture;
use llavero_holder::dcql::{self, DcqlQuery, HeldCredential};
use serde_json::{Value, json};

/// The fixture's SD-JWT VC and what the holder holds.
fn wallet() -> &'static (String, Vec<HeldCredential>) {
    static WALLET: OnceLock<(String, Vec<HeldCredential>)> = OnceLock::new();
    WALLET.get_or_init(|| {
        let credential = fixture::sd_jwt_vc(fixture::SdJwtSpec::default());
        let sd_jwt = SdJwt::parse(&credential).expect("the fixture's SD-JWT parses");
        let revealed = reveal(
            sd_jwt.unverified_payload().clone(),
            sd_jwt.disclosures(),
            default_backend(),
        )
        .expect("the fixture's SD-JWT reveals");
        let held = vec![
            HeldCredential {
                format: "dc+sd-jwt".into(),
                types: vec![fixture::BIRTH.into()],
                claims: revealed.claims,
            },
            HeldCredential {
                format: "dc+sd-jwt".into(),
                types: vec!["https://credentials.example.com/identity_credential".into()],
                claims: json!({
                    "last_name": "Rojas", "first_name": "Ana", "date_of_birth": "1990-05-01",
                    "postal_code": "8320000", "locality": "Santiago", "region": "RM",
                    "address": {"street_address": "Agustinas 1", "locality": "Santiago"},
                    "nationalities": ["CL", "ES"],
                    "degrees": [{"type": "Bachelor", "year": 2012}, {"type": "Master"}]
                }),
            },
            HeldCredential {
                format: "jwt_vc_json".into(),
                types: vec![
                    "VerifiableCredential".into(),
                    "IdentityCardCredential".into(),
                ],
                claims: json!({"credentialSubject": {"given_name": "Ana María", "run": "12.345.678-5"}}),
            },
        ];
        (credential, held)
    })
}

fuzz_target!(|data: &[u8]| {
    let (query, extra) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], Some(&data[nul + 1..])),
        None => (data, None),
    };
    let Ok(query) = std::str::from_utf8(query) else {
        return;
    };
    if let Ok(value) = serde_json::from_str::<Value>(query)
        && let Ok(path) = ClaimPath::from_value(&value)
    {
        assert_eq!(ClaimPath::from_value(&path.to_value()).as_ref(), Ok(&path));
    }
    let _ = ClaimPath::parse_dotted(query);
    let Ok(parsed) = DcqlQuery::parse(query) else {
        return;
    };
    let (credential, fixed) = wallet();
    let mut held = fixed.clone();
    if let Some(claims) = extra.and_then(|e| serde_json::from_slice::<Value>(e).ok()) {
        let vct = claims
            .get("vct")
            .and_then(Value::as_str)
            .unwrap_or_default();
        held.push(HeldCredential {
            format: "dc+sd-jwt".into(),
            types: vec![vct.to_owned()],
            claims,
        });
    }
    let Ok(answers) = dcql::answer(&parsed, &held) else {
        return;
    };
    for answer in &answers {
        let query = parsed.credentials.iter().find(|q| q.id == answer.query_id);
        let held = held
            .get(answer.credential)
            .expect("an answer names a held credential");
        assert!(query.is_some_and(|q| q.format == held.format));
        for path in &answer.disclose {
            assert!(
                resolves(&held.claims, &path.0),
                "{path} is not in the credential"
            );
        }
        if answer.credential == 0 {
            SdJwt::parse(credential)
                .and_then(|sd| sd.select(&answer.disclose, default_backend()))
                .expect("the chosen claims can be presented");
        }
    }
});

/// Whether the concrete `path` names a non-null value in `claims`.
fn resolves(claims: &Value, path: &[PathElement]) -> bool {
    let mut at = claims;
    for step in path {
        let next = match step {
            PathElement::Key(k) => at.get(k),
            PathElement::Index(i) => at.get(i),
            PathElement::AllElements => None,
        };
        let Some(next) = next else {
            return false;
        };
        at = next;
    }
    !at.is_null()
}
