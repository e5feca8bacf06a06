//! The nested credential of the benchmarks: a birth certificate as peers exchange it.

use llavero_credentials::crypto::signer_from_jwk;
use llavero_credentials::did;
use llavero_credentials::status::bitstring::BitstringStatusListEntry;
use llavero_credentials::vc_jwt;
use serde_json::json;

use crate::fixture::{BIRTH, REGISTRO, REVOCATION_URI, holder, registro};

/// A W3C VC 2.0 birth certificate of about 1.2 KB with nested objects (issuer, place of birth,
/// parents, registration record, status), signed as a `vc+jwt` of about 1.7 KB: the
/// size of the credentials peers exchange, where JSON and allocation weigh more than in a
/// minimal credential.
pub fn token() -> String {
    let status = BitstringStatusListEntry::new("revocation", 4, REVOCATION_URI);
    let vc = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:3f6c1c62-8d2b-4e5a-9b7e-2a41d0c9e871",
        "type": ["VerifiableCredential", BIRTH],
        "issuer": {"id": REGISTRO, "name": "Registro Civil"},
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2030-01-01T00:00:00Z",
        "credentialSubject": {
            "id": did::did_key(&holder().public()).unwrap(),
            "givenName": "Ana María",
            "familyName": "Rojas Soto",
            "birthDate": "1990-05-01",
            "run": "12.345.678-5",
            "placeOfBirth": {
                "locality": "Valparaíso",
                "region": "Región de Valparaíso",
                "country": "CL"
            },
            "parents": [
                {"relation": "mother", "givenName": "Carmen Gloria", "familyName": "Soto Fuentes",
                 "run": "9.876.543-3"},
                {"relation": "father", "givenName": "Jorge Andrés", "familyName": "Rojas Pérez",
                 "run": "8.765.432-1"}
            ],
            "registration": {
                "office": "Valparaíso",
                "circumscription": 1501,
                "year": 1990,
                "register": "N",
                "number": 1234,
                "date": "1990-05-07"
            }
        },
        "credentialStatus": serde_json::to_value(status).unwrap()
    });
    let compact = vc_jwt::issue_credential(
        &vc,
        signer_from_jwk(&registro()).unwrap().as_ref(),
        Some("registro-2026"),
    )
    .unwrap();
    let json_len = vc.to_string().len();
    assert!(
        (1100..1300).contains(&json_len) && (1650..1850).contains(&compact.len()),
        "credential {json_len} bytes, token {} bytes",
        compact.len()
    );
    compact
}
