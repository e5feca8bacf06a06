//! ECDSA signatures from platform keystores. Android Keystore, Apple's Secure Enclave and most
//! crypto libraries return ASN.1 DER (`SEQUENCE { INTEGER r, INTEGER s }`); JWS needs the fixed
//! 64-byte `R || S` (RFC 7518 §3.4).

/// A signature that is neither 64 raw bytes nor a DER ECDSA-Sig-Value for P-256.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a P-256 ECDSA signature (neither R||S nor DER)")]
pub struct SignatureFormatError;

/// Accepts a P-256 signature as `R || S` (64 bytes) or DER, returning `R || S`.
pub fn from_platform(sig: &[u8]) -> Result<Vec<u8>, SignatureFormatError> {
    if sig.len() == 64 {
        return Ok(sig.to_vec());
    }
    let body = der_element(sig, 0x30)
        .filter(|(_, rest)| rest.is_empty())
        .map(|(body, _)| body)
        .ok_or(SignatureFormatError)?;
    let (r, rest) = der_element(body, 0x02).ok_or(SignatureFormatError)?;
    let (s, rest) = der_element(rest, 0x02).ok_or(SignatureFormatError)?;
    if !rest.is_empty() {
        return Err(SignatureFormatError);
    }
    let mut out = Vec::with_capacity(64);
    for int in [r, s] {
        // DER integers are minimal and signed: strip one leading zero, left-pad to 32 bytes.
        let int = match int {
            [0, rest @ ..] if rest.first().is_some_and(|b| b & 0x80 != 0) => rest,
            other => other,
        };
        if int.len() > 32 || int.is_empty() {
            return Err(SignatureFormatError);
        }
        out.extend(std::iter::repeat_n(0, 32 - int.len()));
        out.extend_from_slice(int);
    }
    Ok(out)
}

/// One DER element with `tag` and a short-form length: its contents and what follows.
fn der_element(bytes: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = bytes.split_first()?;
    let (&len, rest) = rest.split_first()?;
    if found != tag || len & 0x80 != 0 {
        return None;
    }
    rest.split_at_checked(usize::from(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_and_raw_signatures_normalise() {
        let raw: Vec<u8> = (1..=64).collect();
        assert_eq!(from_platform(&raw).unwrap(), raw);
        // r with its high bit set gets a leading zero in DER; s is short (leading zeros dropped).
        let mut r = vec![0x80u8; 32];
        r[31] = 1;
        let mut der = vec![0x30, 0, 0x02, 33, 0];
        der.extend_from_slice(&r);
        der.extend_from_slice(&[0x02, 1, 5]);
        der[1] = (der.len() - 2) as u8;
        let out = from_platform(&der).unwrap();
        assert_eq!(&out[..32], r.as_slice());
        assert_eq!(out[63], 5);
        assert_eq!(&out[32..63], &[0u8; 31]);
        assert!(from_platform(&[0x30, 2, 0x02, 0]).is_err());
        assert!(from_platform(&[]).is_err());
        assert!(from_platform(&[0x31, 0]).is_err());
    }
}
