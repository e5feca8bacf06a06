//! W3C Bitstring Status List v1.0: one bit per credential, index 0 the most significant bit of
//! the first byte, GZIP-compressed and multibase-encoded (`u` + base64url), published inside a
//! `BitstringStatusListCredential` which Llavero secures as a `vc+jwt` (VC-JOSE-COSE).

use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    Compression as Format, MAX_ENCODED_BYTES, MAX_LIST_DOCUMENT_LEN, StatusListError,
    inflate_bounded,
};
use crate::b64;
use crate::crypto::{CryptoBackend, Signer};
use crate::jwk::Jwk;
use crate::jws::{self, AlgorithmPolicy, DecodedJws, Header};
use crate::jwt::check_window;
use crate::time::{UnixTime, datetime_member, format_datetime};

/// The minimum number of entries (§2.1: 16 KiB uncompressed), so that one credential's index
/// hides among many.
pub const MIN_ENTRIES: usize = 131_072;

/// A one-bit-per-entry list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitstringStatusList {
    bytes: Vec<u8>,
}

impl BitstringStatusList {
    /// A list of `len` entries (at least [`MIN_ENTRIES`], rounded up to whole bytes), all 0.
    pub fn new(len: usize) -> Result<Self, StatusListError> {
        if len < MIN_ENTRIES {
            return Err(StatusListError::TooSmall {
                len,
                min: MIN_ENTRIES,
            });
        }
        Ok(Self {
            bytes: vec![0; len.div_ceil(8)],
        })
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len() * 8
    }

    /// Whether the list is empty (never, for a valid list).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bit at `idx` (0 or 1), or `None` past the end.
    #[must_use]
    pub fn get(&self, idx: usize) -> Option<u8> {
        self.bytes.get(idx / 8).map(|b| (b >> (7 - (idx % 8))) & 1)
    }

    /// Sets the bit at `idx`.
    pub fn set(&mut self, idx: usize, on: bool) -> Result<(), StatusListError> {
        let len = self.len();
        let byte = self
            .bytes
            .get_mut(idx / 8)
            .ok_or(StatusListError::IndexOutOfRange { idx, len })?;
        let mask = 1u8 << (7 - (idx % 8));
        if on {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
        Ok(())
    }

    /// `encodedList`: `u` + base64url(GZIP(bytes)).
    pub fn encode(&self) -> Result<String, StatusListError> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder
            .write_all(&self.bytes)
            .and_then(|()| encoder.finish())
            .map(|compressed| format!("u{}", b64::encode(compressed)))
            .map_err(|e| StatusListError::Inflate(e.to_string()))
    }

    /// Decodes `encodedList`, refusing oversize input before inflating it and lists under the
    /// minimum size.
    pub fn decode(encoded: &str) -> Result<Self, StatusListError> {
        if encoded.len() > MAX_ENCODED_BYTES {
            return Err(StatusListError::TooLarge(MAX_ENCODED_BYTES));
        }
        let body = encoded
            .strip_prefix('u')
            .ok_or(StatusListError::BadMultibase)?;
        let compressed = b64::decode(body)
            .map_err(|e| StatusListError::Malformed(format!("encodedList: {e}")))?;
        let bytes = inflate_bounded(&compressed, Format::Gzip)?;
        if bytes.len() * 8 < MIN_ENTRIES {
            return Err(StatusListError::TooSmall {
                len: bytes.len() * 8,
                min: MIN_ENTRIES,
            });
        }
        Ok(Self { bytes })
    }
}

/// A credential's `credentialStatus` entry pointing into a bitstring list (§2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BitstringStatusListEntry {
    /// Optional identifier of the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `BitstringStatusListEntry`.
    #[serde(rename = "type")]
    pub entry_type: String,
    /// `revocation`, `suspension`, …
    pub status_purpose: String,
    /// The index, as a decimal string.
    pub status_list_index: String,
    /// URL of the `BitstringStatusListCredential`.
    pub status_list_credential: String,
}

impl BitstringStatusListEntry {
    /// An entry for `index` in the list at `list_credential`.
    #[must_use]
    pub fn new(purpose: &str, index: u64, list_credential: &str) -> Self {
        Self {
            id: Some(format!("{list_credential}#{index}")),
            entry_type: "BitstringStatusListEntry".into(),
            status_purpose: purpose.to_owned(),
            status_list_index: index.to_string(),
            status_list_credential: list_credential.to_owned(),
        }
    }

    /// The index as a number.
    pub fn index(&self) -> Result<u64, StatusListError> {
        self.status_list_index.parse().map_err(|_| {
            StatusListError::Malformed(format!("statusListIndex {:?}", self.status_list_index))
        })
    }
}

/// The contents of a `BitstringStatusListCredential`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListCredential {
    /// The credential `id`: the URL credentials reference.
    pub id: String,
    /// The issuer.
    pub issuer: String,
    /// `statusPurpose`.
    pub purpose: String,
    /// `validFrom`.
    pub valid_from: Option<UnixTime>,
    /// `validUntil`.
    pub valid_until: Option<UnixTime>,
    /// `ttl` in milliseconds.
    pub ttl_ms: Option<u64>,
    /// The bits.
    pub list: BitstringStatusList,
}

impl StatusListCredential {
    /// The VC 2.0 document.
    pub fn to_credential(&self) -> Result<Value, StatusListError> {
        let mut subject = json!({
            "id": format!("{}#list", self.id),
            "type": "BitstringStatusList",
            "statusPurpose": self.purpose,
            "encodedList": self.list.encode()?,
        });
        if let (Some(ttl), Some(obj)) = (self.ttl_ms, subject.as_object_mut()) {
            obj.insert("ttl".into(), ttl.into());
        }
        let mut credential = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": self.id,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": self.issuer,
            "credentialSubject": subject,
        });
        if let Some(obj) = credential.as_object_mut() {
            if let Some(from) = self.valid_from {
                obj.insert("validFrom".into(), format_datetime(from).into());
            }
            if let Some(until) = self.valid_until {
                obj.insert("validUntil".into(), format_datetime(until).into());
            }
        }
        Ok(credential)
    }

    /// Signs the credential as a `vc+jwt` (the payload is the credential itself).
    pub fn sign(&self, signer: &dyn Signer) -> Result<String, StatusListError> {
        let mut header = Header::new("vc+jwt");
        header.kid = signer.public_jwk().kid().map(str::to_owned);
        Ok(jws::sign_json(header, &self.to_credential()?, signer)?)
    }

    /// Verifies a `vc+jwt` `BitstringStatusListCredential` with the issuer's `key` at `now`.
    pub fn verify(
        jwt: &str,
        key: &Jwk,
        crypto: &dyn CryptoBackend,
        algorithms: &AlgorithmPolicy,
        now: UnixTime,
        skew: i64,
    ) -> Result<Self, StatusListError> {
        let jws = DecodedJws::decode_with_limit(jwt, MAX_LIST_DOCUMENT_LEN)?;
        jws.header().expect_typ(&["vc+jwt"])?;
        jws.verify(crypto, key, algorithms)?;
        let vc: Value = jws.unverified_claims()?;
        let malformed = |what: &str| StatusListError::Malformed(what.to_owned());
        let types = vc
            .get("type")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("type"))?;
        if !types.iter().any(|t| t == "BitstringStatusListCredential") {
            return Err(malformed("not a BitstringStatusListCredential"));
        }
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let id = text(vc.get("id")).ok_or_else(|| malformed("id"))?;
        let issuer = text(vc.get("issuer"))
            .or_else(|| text(vc.get("issuer").and_then(|i| i.get("id"))))
            .ok_or_else(|| malformed("issuer"))?;
        let time = |name: &str| datetime_member(&vc, name).map_err(StatusListError::Malformed);
        let (valid_from, valid_until) = (time("validFrom")?, time("validUntil")?);
        check_window(valid_from, valid_until, now, skew)?;
        let subject = vc
            .get("credentialSubject")
            .ok_or_else(|| malformed("credentialSubject"))?;
        let purpose =
            text(subject.get("statusPurpose")).ok_or_else(|| malformed("statusPurpose"))?;
        let encoded = text(subject.get("encodedList")).ok_or_else(|| malformed("encodedList"))?;
        Ok(Self {
            id,
            issuer,
            purpose,
            valid_from,
            valid_until,
            ttl_ms: subject.get("ttl").and_then(Value::as_u64),
            list: BitstringStatusList::decode(&encoded)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msb_first_and_minimum_size() {
        let mut list = BitstringStatusList::new(MIN_ENTRIES).unwrap();
        list.set(0, true).unwrap();
        list.set(9, true).unwrap();
        assert_eq!(list.bytes.first(), Some(&0x80));
        assert_eq!(list.bytes.get(1), Some(&0x40));
        assert_eq!(
            (list.get(0), list.get(1), list.get(9)),
            (Some(1), Some(0), Some(1))
        );
        assert!(matches!(
            BitstringStatusList::new(MIN_ENTRIES - 1),
            Err(StatusListError::TooSmall { .. })
        ));
        assert!(matches!(
            list.set(MIN_ENTRIES, true),
            Err(StatusListError::IndexOutOfRange { .. })
        ));
        let again = BitstringStatusList::decode(&list.encode().unwrap()).unwrap();
        assert_eq!(again, list);
        assert_eq!(
            BitstringStatusList::decode("zabc"),
            Err(StatusListError::BadMultibase)
        );
    }
}
