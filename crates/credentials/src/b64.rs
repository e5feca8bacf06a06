//! Base64url without padding, the only base64 JOSE and SD-JWT allow (RFC 7515 §2).
//!
//! Decoding is strict: padding, whitespace and the standard alphabet are refused, so one value
//! has exactly one encoding and a digest computed over it cannot be bypassed by a re-encoding.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A value that is not canonical base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid base64url: {0}")]
pub struct Base64Error(String);

/// Encodes bytes as base64url without padding.
#[must_use]
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Appends the base64url encoding of `bytes` to `out`, with no intermediate string.
pub fn encode_into(bytes: impl AsRef<[u8]>, out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(bytes, out);
}

/// The base64url text of 32 bytes (a SHA-256 digest): 43 characters, on the stack.
#[must_use]
pub fn encode_32(bytes: &[u8; 32]) -> [u8; 43] {
    let mut out = [0u8; 43];
    // 32 bytes always encode to exactly 43 characters, so the slice always fits.
    let _ = URL_SAFE_NO_PAD.encode_slice(bytes, &mut out);
    out
}

/// Decodes base64url without padding; anything else is an error.
pub fn decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, Base64Error> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| Base64Error(e.to_string()))
}

/// Decodes into a fixed-size array, refusing any other length.
pub fn decode_array<const N: usize>(text: impl AsRef<[u8]>) -> Result<[u8; N], Base64Error> {
    let bytes = decode(text)?;
    let len = bytes.len();
    bytes
        .try_into()
        .map_err(|_| Base64Error(format!("expected {N} bytes, found {len}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        assert_eq!(encode(b"\xfb\xff"), "-_8");
        let mut out = String::from("a.");
        encode_into(b"\xfb\xff", &mut out);
        assert_eq!(out, "a.-_8");
        let digest = [0xfb_u8; 32];
        assert_eq!(encode_32(&digest).as_slice(), encode(digest).as_bytes());
        assert_eq!(decode("-_8").unwrap(), b"\xfb\xff");
        assert!(decode("-_8=").is_err(), "padding is refused");
        assert!(decode("+/8").is_err(), "standard alphabet is refused");
        assert!(decode("-_ 8").is_err(), "whitespace is refused");
        assert!(decode_array::<3>("-_8").is_err());
    }
}
