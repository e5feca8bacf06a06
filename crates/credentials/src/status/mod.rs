//! Credential status: the IETF Token Status List (for SD-JWT VC) and the W3C Bitstring Status
//! List (for VC 2.0). Both are bit arrays published by the issuer, compressed, signed; they
//! differ in bit order, compression and wrapping (see `STANDARDS.md`):
//!
//! | | [`token`] | [`bitstring`] |
//! |---|---|---|
//! | bits per entry | 1, 2, 4, 8 | 1 |
//! | bit order | least significant first | most significant first |
//! | compression | ZLIB, base64url | GZIP, multibase `u` base64url |
//! | document | `statuslist+jwt` | `BitstringStatusListCredential` as `vc+jwt` |

pub mod bitstring;
pub mod token;

use serde::{Deserialize, Serialize};

use crate::jws::JwsError;
use crate::jwt::ValidityError;

/// The largest decompressed list accepted: 16 MiB holds 16 million 8-bit entries or 134
/// million 1-bit entries. Inflation stops at this size, so a "zip bomb" costs nothing.
pub const MAX_INFLATED_BYTES: usize = 16 * 1024 * 1024;

/// The largest compressed list accepted (base64url text).
pub const MAX_ENCODED_BYTES: usize = 8 * 1024 * 1024;

/// The largest signed list document accepted (a `statuslist+jwt` or a bitstring `vc+jwt`):
/// the encoded list plus room for the header, claims and signature. Larger than a credential's
/// limit, since a list of millions of entries with many set is legitimately large.
pub const MAX_LIST_DOCUMENT_LEN: usize = MAX_ENCODED_BYTES + 4096;

/// A status value (Token Status List §7.1; the bitstring's single bit maps to 0/1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// 0: valid.
    Valid,
    /// 1: invalid (revoked, final).
    Invalid,
    /// 2: suspended (temporary).
    Suspended,
    /// 3 or an application-specific value.
    Other(u8),
}

impl Status {
    /// The status for a raw list value.
    #[must_use]
    pub fn from_value(value: u8) -> Self {
        match value {
            0 => Self::Valid,
            1 => Self::Invalid,
            2 => Self::Suspended,
            other => Self::Other(other),
        }
    }

    /// The raw list value.
    #[must_use]
    pub fn value(self) -> u8 {
        match self {
            Self::Valid => 0,
            Self::Invalid => 1,
            Self::Suspended => 2,
            Self::Other(v) => v,
        }
    }
}

/// Why a status list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatusListError {
    /// `bits` is not 1, 2, 4 or 8.
    #[error("bits must be 1, 2, 4 or 8, not {0}")]
    InvalidBits(u64),
    /// An index past the end of the list.
    #[error("index {idx} is outside the list of {len} entries")]
    IndexOutOfRange {
        /// The index.
        idx: usize,
        /// The list length.
        len: usize,
    },
    /// A value that does not fit in `bits`.
    #[error("status value {value} does not fit in {bits} bits")]
    ValueTooLarge {
        /// The value.
        value: u8,
        /// Bits per entry.
        bits: u8,
    },
    /// A bitstring list shorter than the W3C minimum of 131,072 entries (herd privacy).
    #[error("a bitstring status list needs at least {min} entries, not {len}")]
    TooSmall {
        /// Requested length.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// The compressed data is corrupt.
    #[error("cannot decompress the list: {0}")]
    Inflate(String),
    /// Decompression would exceed [`MAX_INFLATED_BYTES`], or the input exceeds
    /// [`MAX_ENCODED_BYTES`].
    #[error("the list is larger than the {0} bytes allowed")]
    TooLarge(usize),
    /// The bitstring does not start with the multibase `u` prefix.
    #[error("encodedList is not multibase base64url (prefix u)")]
    BadMultibase,
    /// The signed document failed JWS checks.
    #[error("status list signature: {0}")]
    Jws(#[from] JwsError),
    /// The document is outside its validity window.
    #[error("status list validity: {0}")]
    Validity(#[from] ValidityError),
    /// The list's `sub` (or `id`) is not the URI the credential references.
    #[error("status list is for {found:?}, expected {expected:?}")]
    WrongSubject {
        /// The URI expected.
        expected: String,
        /// The URI in the document.
        found: String,
    },
    /// The document is malformed.
    #[error("malformed status list: {0}")]
    Malformed(String),
}

/// A referenced token's pointer into a Token Status List: `status.status_list` (§6.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusListReference {
    /// Index of the token's entry.
    pub idx: u64,
    /// URI of the Status List Token.
    pub uri: String,
}

/// Which compressed format a list uses.
#[derive(Debug, Clone, Copy)]
enum Compression {
    Zlib,
    Gzip,
}

/// Inflates `compressed`, stopping once the output passes [`MAX_INFLATED_BYTES`], and refusing
/// bytes after the end of the stream (a second GZIP member, appended garbage): a list has one
/// meaning, the one its issuer signed.
fn inflate_bounded(compressed: &[u8], format: Compression) -> Result<Vec<u8>, StatusListError> {
    use std::io::Read as _;
    fn read_all(mut decoder: impl std::io::Read, out: &mut Vec<u8>) -> Result<(), StatusListError> {
        (&mut decoder)
            .take(MAX_INFLATED_BYTES as u64 + 1)
            .read_to_end(out)
            .map(drop)
            .map_err(|e| StatusListError::Inflate(e.to_string()))
    }
    let mut out = Vec::new();
    let rest = match format {
        Compression::Zlib => {
            let mut decoder = flate2::bufread::ZlibDecoder::new(compressed);
            read_all(&mut decoder, &mut out)?;
            decoder.into_inner()
        }
        Compression::Gzip => {
            let mut decoder = flate2::bufread::GzDecoder::new(compressed);
            read_all(&mut decoder, &mut out)?;
            decoder.into_inner()
        }
    };
    if out.len() > MAX_INFLATED_BYTES {
        return Err(StatusListError::TooLarge(MAX_INFLATED_BYTES));
    }
    if !rest.is_empty() {
        return Err(StatusListError::Inflate(format!(
            "{} bytes after the end of the compressed list",
            rest.len()
        )));
    }
    Ok(out)
}
