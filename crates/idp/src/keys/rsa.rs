//! The provider's RSA key, for relying parties registered with `id_token_signed_response_alg`
//! RS256 (OpenID Connect Core §15.1 makes RS256 mandatory to implement for every provider, and
//! the certification suite's discovery check fails without it).
//!
//! Two crates, each for the half it does well. `ring` signs: its RSA private-key operation is
//! constant-time and blinded, and it is already the provider's crypto. But `ring` cannot
//! generate RSA keys, so the `RustCrypto` `rsa` crate (already in the lock file through sqlx)
//! generates them. Its own private-key operations carry a timing side channel with no fixed
//! release (RUSTSEC-2023-0071, "Marvin"); here it never decrypts or signs, it only draws the
//! primes, once per rotation, on an operator's command or the first RS256 client's
//! registration, from the operating system's generator and never on anyone's input. The key
//! passes between the two as PKCS#8 DER, the form sealed at rest under the master key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use llavero_credentials::jws::Header;
use ring::signature::{self, RsaKeyPair};
use serde_json::{Value, json};
use zeroize::Zeroizing;

/// Modulus size of generated keys: NIST SP 800-57's floor through 2030, and what the
/// certification suite and every relying-party library accept.
pub const RSA_BITS: usize = 2048;

/// Why an RSA key could not be made, opened or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RsaKeyError {
    /// Generating or encoding a new key failed.
    #[error("RSA key generation failed: {0}")]
    Generate(String),
    /// The stored PKCS#8 document is not an RSA key `ring` accepts (2048 to 8192 bits).
    #[error("RSA key rejected: {0}")]
    Rejected(String),
    /// Signing failed.
    #[error("RSA signing failed")]
    Sign,
    /// The header or claims did not serialize.
    #[error("ID token encoding failed: {0}")]
    Encode(String),
}

/// A new private key of [`RSA_BITS`], as PKCS#8 DER (wiped when dropped).
pub fn generate() -> Result<Zeroizing<Vec<u8>>, RsaKeyError> {
    use rsa::pkcs8::EncodePrivateKey as _;
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS)
        .map_err(|e| RsaKeyError::Generate(e.to_string()))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| RsaKeyError::Generate(e.to_string()))?;
    Ok(Zeroizing::new(der.as_bytes().to_vec()))
}

/// An RS256 signing key with its `kid`.
pub struct RsaSigner {
    kid: String,
    pair: RsaKeyPair,
}

impl std::fmt::Debug for RsaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RsaSigner({})", self.kid)
    }
}

impl RsaSigner {
    /// Opens a PKCS#8 RSA private key.
    pub fn from_pkcs8(kid: &str, der: &[u8]) -> Result<Self, RsaKeyError> {
        let pair = RsaKeyPair::from_pkcs8(der).map_err(|e| RsaKeyError::Rejected(e.to_string()))?;
        Ok(Self {
            kid: kid.to_owned(),
            pair,
        })
    }

    /// The public key as a JWK (RFC 7518 §6.3.1) restricted to RS256 signatures.
    #[must_use]
    pub fn public_jwk(&self) -> Value {
        let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(self.pair.public());
        json!({
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(&public.n),
            "e": URL_SAFE_NO_PAD.encode(&public.e),
            "kid": self.kid,
            "alg": "RS256",
        })
    }

    /// Signs `claims` as a compact JWS with `alg` RS256, `typ` JWT and this key's `kid`.
    pub fn sign_json(&self, claims: &Value) -> Result<String, RsaKeyError> {
        let mut header = Header::new("JWT");
        "RS256".clone_into(&mut header.alg);
        header.kid = Some(self.kid.clone());
        let header = serde_json::to_vec(&header).map_err(|e| RsaKeyError::Encode(e.to_string()))?;
        let payload = serde_json::to_vec(claims).map_err(|e| RsaKeyError::Encode(e.to_string()))?;
        let mut out = URL_SAFE_NO_PAD.encode(header);
        out.push('.');
        out.push_str(&URL_SAFE_NO_PAD.encode(payload));
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                out.as_bytes(),
                &mut signature,
            )
            .map_err(|_| RsaKeyError::Sign)?;
        out.push('.');
        out.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(out)
    }
}

/// Whether `compact` carries a valid RS256 signature by the RSA public JWK `jwk` (for an
/// `id_token_hint` this provider signed). The header's `alg` must be RS256.
#[must_use]
pub fn verifies(jwk: &Value, compact: &str) -> bool {
    let field = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
    };
    let (Some(n), Some(e)) = (field("n"), field("e")) else {
        return false;
    };
    let Some((signing_input, signature)) = compact.rsplit_once('.') else {
        return false;
    };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let alg_is_rs256 = llavero_credentials::jws::DecodedJws::decode(compact)
        .is_ok_and(|jws| jws.header().alg == "RS256");
    alg_is_rs256
        && signature::RsaPublicKeyComponents { n: &n, e: &e }
            .verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                signing_input.as_bytes(),
                &signature,
            )
            .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_rs256_that_verifies_only_with_its_key_and_alg() {
        let der = generate().unwrap();
        let signer = RsaSigner::from_pkcs8("rsa-1", &der).unwrap();
        let jwk = signer.public_jwk();
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwk["n"].as_str().unwrap())
                .unwrap()
                .len(),
            RSA_BITS / 8
        );
        let token = signer.sign_json(&json!({"sub": "a"})).unwrap();
        let jws = llavero_credentials::jws::DecodedJws::decode(&token).unwrap();
        assert_eq!(
            (jws.header().alg.as_str(), jws.header().kid.as_deref()),
            ("RS256", Some("rsa-1"))
        );
        assert!(verifies(&jwk, &token));
        // Another payload under the same signature fails.
        let (head, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let forged = format!(
            "{head}.{}.{signature}",
            URL_SAFE_NO_PAD.encode(b"{\"sub\":\"b\"}")
        );
        assert!(!verifies(&jwk, &forged));
        assert!(RsaSigner::from_pkcs8("x", b"not a key").is_err());
    }
}
