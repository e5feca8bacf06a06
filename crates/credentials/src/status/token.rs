//! IETF Token Status List (draft-ietf-oauth-status-list §4–§6): entries of 1, 2, 4 or 8 bits,
//! packed least-significant-bit first, ZLIB-compressed, base64url-encoded as `lst`, published
//! as a `statuslist+jwt` whose `sub` is the list's URI.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::ZlibEncoder;
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
use crate::jwt::TimeClaims;
use crate::time::UnixTime;

/// The `typ` of a Status List Token (§5.1).
pub const STATUS_LIST_TYP: &str = "statuslist+jwt";

/// A list of statuses of `bits` bits each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: u8,
    bytes: Vec<u8>,
}

/// The JSON form inside a Status List Token (§4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodedStatusList {
    /// Bits per entry.
    pub bits: u64,
    /// base64url(ZLIB(bytes)).
    pub lst: String,
}

fn check_bits(bits: u64) -> Result<u8, StatusListError> {
    match bits {
        1 | 2 | 4 | 8 => Ok(bits as u8),
        other => Err(StatusListError::InvalidBits(other)),
    }
}

impl StatusList {
    /// A list of at least `len` entries, all 0 (valid). The length is rounded up to whole bytes.
    pub fn new(len: usize, bits: u8) -> Result<Self, StatusListError> {
        let bits = check_bits(u64::from(bits))?;
        let per_byte = usize::from(8 / bits);
        Ok(Self {
            bits,
            bytes: vec![0; len.div_ceil(per_byte)],
        })
    }

    /// A list over raw bytes.
    pub fn from_bytes(bits: u8, bytes: Vec<u8>) -> Result<Self, StatusListError> {
        Ok(Self {
            bits: check_bits(u64::from(bits))?,
            bytes,
        })
    }

    /// Bits per entry.
    #[must_use]
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len() * usize::from(8 / self.bits)
    }

    /// Whether the list has no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The packed bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn locate(&self, idx: usize) -> (usize, u32, u8) {
        let per_byte = usize::from(8 / self.bits);
        let shift = (idx % per_byte) as u32 * u32::from(self.bits);
        let mask = u8::MAX >> (8 - self.bits);
        (idx / per_byte, shift, mask)
    }

    /// The status value at `idx`, or `None` past the end.
    #[must_use]
    pub fn get(&self, idx: usize) -> Option<u8> {
        let (byte, shift, mask) = self.locate(idx);
        self.bytes.get(byte).map(|b| (b >> shift) & mask)
    }

    /// Sets the status value at `idx`.
    pub fn set(&mut self, idx: usize, value: u8) -> Result<(), StatusListError> {
        let len = self.len();
        let (byte, shift, mask) = self.locate(idx);
        if value > mask {
            return Err(StatusListError::ValueTooLarge {
                value,
                bits: self.bits,
            });
        }
        let slot = self
            .bytes
            .get_mut(byte)
            .ok_or(StatusListError::IndexOutOfRange { idx, len })?;
        *slot = (*slot & !(mask << shift)) | (value << shift);
        Ok(())
    }

    /// The `status_list` JSON object: `bits` and `lst` (ZLIB, best compression).
    pub fn encode(&self) -> Result<EncodedStatusList, StatusListError> {
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
        encoder
            .write_all(&self.bytes)
            .and_then(|()| encoder.finish())
            .map(|compressed| EncodedStatusList {
                bits: u64::from(self.bits),
                lst: b64::encode(compressed),
            })
            .map_err(|e| StatusListError::Inflate(e.to_string()))
    }

    /// Decodes a `status_list` JSON object, refusing oversize input before inflating it.
    pub fn decode(encoded: &EncodedStatusList) -> Result<Self, StatusListError> {
        let bits = check_bits(encoded.bits)?;
        if encoded.lst.len() > MAX_ENCODED_BYTES {
            return Err(StatusListError::TooLarge(MAX_ENCODED_BYTES));
        }
        let compressed = b64::decode(&encoded.lst)
            .map_err(|e| StatusListError::Malformed(format!("lst: {e}")))?;
        let bytes = inflate_bounded(&compressed, Format::Zlib)?;
        Ok(Self { bits, bytes })
    }
}

/// A Status List Token's contents, once verified.
///
/// Only verification builds one; a struct literal outside the crate does not compile:
///
/// ```compile_fail,E0451
/// use llavero_credentials::status::token::{StatusList, VerifiedStatusList};
/// let forged = VerifiedStatusList {
///     uri: "https://registro.llavero.cl/status/1".into(),
///     iat: None,
///     exp: None,
///     ttl: None,
///     list: StatusList::new(1, 8).unwrap(),
/// };
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedStatusList {
    /// `sub`: the list's URI.
    pub(crate) uri: String,
    /// `iat`.
    pub(crate) iat: Option<UnixTime>,
    /// `exp`.
    pub(crate) exp: Option<UnixTime>,
    /// `ttl`: how long, in seconds, a copy may be cached before fetching again.
    pub(crate) ttl: Option<u64>,
    /// The statuses.
    pub(crate) list: StatusList,
}

impl VerifiedStatusList {
    /// `sub`: the list's URI.
    #[must_use]
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// `iat`.
    #[must_use]
    pub fn iat(&self) -> Option<UnixTime> {
        self.iat
    }

    /// `exp`.
    #[must_use]
    pub fn exp(&self) -> Option<UnixTime> {
        self.exp
    }

    /// `ttl`: how long, in seconds, a copy may be cached before fetching again.
    #[must_use]
    pub fn ttl(&self) -> Option<u64> {
        self.ttl
    }

    /// The statuses.
    #[must_use]
    pub fn list(&self) -> &StatusList {
        &self.list
    }

    /// The statuses, by value.
    #[must_use]
    pub fn into_list(self) -> StatusList {
        self.list
    }
}

/// What goes into a Status List Token besides the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListTokenClaims {
    /// `sub`: the URI credentials reference.
    pub uri: String,
    /// `iat`.
    pub iat: UnixTime,
    /// `exp`.
    pub exp: Option<UnixTime>,
    /// `ttl` in seconds.
    pub ttl: Option<u64>,
    /// `iss`, when the issuer wants to name itself.
    pub iss: Option<String>,
}

/// Signs a Status List Token (§5.1): header `typ: statuslist+jwt`, claims `sub`, `iat`, `exp`,
/// `ttl`, `status_list`.
pub fn sign_status_list_token(
    list: &StatusList,
    claims: &StatusListTokenClaims,
    signer: &dyn Signer,
) -> Result<String, StatusListError> {
    let mut payload = json!({
        "sub": claims.uri,
        "iat": claims.iat,
        "status_list": list.encode()?,
    });
    if let Some(obj) = payload.as_object_mut() {
        if let Some(exp) = claims.exp {
            obj.insert("exp".into(), exp.into());
        }
        if let Some(ttl) = claims.ttl {
            obj.insert("ttl".into(), ttl.into());
        }
        if let Some(iss) = &claims.iss {
            obj.insert("iss".into(), iss.clone().into());
        }
    }
    let mut header = Header::new(STATUS_LIST_TYP);
    header.kid = signer.public_jwk().kid().map(str::to_owned);
    Ok(jws::sign_json(header, &payload, signer)?)
}

/// Verifies a Status List Token (§8.3): `typ`, signature with the issuer's `key`, validity at
/// `now`, and `sub` equal to the URI the credential referenced.
pub fn verify_status_list_token(
    jwt: &str,
    key: &Jwk,
    crypto: &dyn CryptoBackend,
    algorithms: &AlgorithmPolicy,
    expected_uri: &str,
    now: UnixTime,
    skew: i64,
) -> Result<VerifiedStatusList, StatusListError> {
    let jws = DecodedJws::decode_with_limit(jwt, MAX_LIST_DOCUMENT_LEN)?;
    jws.header().expect_typ(&[STATUS_LIST_TYP])?;
    jws.verify(crypto, key, algorithms)?;
    let claims: Value = jws.unverified_claims()?;
    let times = TimeClaims::from_claims(&claims)?;
    times.check(now, skew)?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or_else(|| StatusListError::Malformed("missing sub".into()))?;
    if sub != expected_uri {
        return Err(StatusListError::WrongSubject {
            expected: expected_uri.to_owned(),
            found: sub.to_owned(),
        });
    }
    let encoded: EncodedStatusList = claims
        .get("status_list")
        .cloned()
        .ok_or_else(|| StatusListError::Malformed("missing status_list".into()))
        .and_then(|v| {
            serde_json::from_value(v).map_err(|e| StatusListError::Malformed(e.to_string()))
        })?;
    Ok(VerifiedStatusList {
        uri: sub.to_owned(),
        iat: times.iat,
        exp: times.exp,
        ttl: claims.get("ttl").and_then(Value::as_u64),
        list: StatusList::decode(&encoded)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsb_first_packing() {
        // draft-ietf-oauth-status-list §4.1 example: bits 1, statuses 1 0 0 1 1 1 0 1 | 1 1 0 0 0 1 0 1.
        let list = StatusList::from_bytes(1, vec![0xb9, 0xa3]).unwrap();
        let expected = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
        for (i, e) in expected.iter().enumerate() {
            assert_eq!(list.get(i), Some(*e), "index {i}");
        }
        assert_eq!(list.get(16), None);
        let mut two = StatusList::new(12, 2).unwrap();
        for (i, v) in [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3].iter().enumerate() {
            two.set(i, *v).unwrap();
        }
        assert_eq!(two.as_bytes(), [0xc9, 0x44, 0xf9]);
        assert_eq!(
            two.set(0, 4),
            Err(StatusListError::ValueTooLarge { value: 4, bits: 2 })
        );
        assert!(matches!(
            two.set(12, 1),
            Err(StatusListError::IndexOutOfRange { .. })
        ));
    }

    #[test]
    fn zip_bomb_is_stopped_at_the_limit() {
        let bomb = StatusList::from_bytes(8, vec![0; super::super::MAX_INFLATED_BYTES + 1])
            .unwrap()
            .encode()
            .unwrap();
        assert!(bomb.lst.len() < 64 * 1024, "a small input");
        assert_eq!(
            StatusList::decode(&bomb),
            Err(StatusListError::TooLarge(super::super::MAX_INFLATED_BYTES))
        );
    }
}
