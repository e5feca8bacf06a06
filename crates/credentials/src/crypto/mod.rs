//! The cryptography Llavero needs, behind one trait so the formats never name a library.
//!
//! [`CryptoBackend`] does SHA-256 and signature verification; [`Signer`] produces signatures
//! (a local key, or a key that lives in a phone's secure hardware and is reached over FFI);
//! [`SecureRandom`] is the one source of salts, decoys and nonces. The default backend is
//! `ring` (feature `ring`); `pure-rust` provides the same over `p256` and `sha2` for targets
//! ring does not build for. Both pass the same test suite.

#[cfg(feature = "pure-rust")]
pub mod pure;
#[cfg(feature = "ring")]
pub mod ring;

use std::fmt;

use crate::jwk::{Jwk, PublicKey};

/// A JWS algorithm Llavero knows (RFC 7518 §3.1, RFC 8037 §3.1).
///
/// There is deliberately no variant for `none` or for HMAC: they cannot be represented, so they
/// cannot be allowed by mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256: Llavero's own algorithm, and HAIP's mandatory one.
    Es256,
    /// ECDSA on P-384 with SHA-384, accepted from other issuers.
    Es384,
    /// Ed25519 (RFC 8037), accepted from other issuers.
    EdDsa,
}

impl Algorithm {
    /// The `alg` header value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Maps a JWS `alg` value to an algorithm this library implements.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Self::Es256),
            "ES384" => Some(Self::Es384),
            "EdDSA" | "Ed25519" => Some(Self::EdDsa),
            _ => None,
        }
    }

    /// Whether `key` is the kind of key this algorithm uses: the guard against algorithm
    /// confusion (a P-384 key cannot verify an `ES256` signature, and so on).
    #[must_use]
    pub fn fits(self, key: &PublicKey) -> bool {
        matches!(
            (self, key),
            (Self::Es256, PublicKey::P256 { .. })
                | (Self::Es384, PublicKey::P384 { .. })
                | (Self::EdDsa, PublicKey::Ed25519(_))
        )
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a cryptographic operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The signature does not verify with the key.
    #[error("signature does not verify")]
    BadSignature,
    /// The key does not suit the algorithm.
    #[error("a {key} key cannot be used with {alg}")]
    KeyMismatch {
        /// The algorithm asked for.
        alg: Algorithm,
        /// The kind of key supplied.
        key: &'static str,
    },
    /// The backend does not implement this algorithm.
    #[error("algorithm {0} is not available in this crypto backend")]
    Unsupported(Algorithm),
    /// A private key was malformed.
    #[error("invalid private key: {0}")]
    InvalidKey(&'static str),
    /// The signer failed (a hardware key refused, a callback errored).
    #[error("signing failed: {0}")]
    Signing(String),
    /// The random number generator failed.
    #[error("random number generator failed")]
    Random,
}

/// Hashing and verification. Stateless and cheap to share.
pub trait CryptoBackend: Send + Sync {
    /// SHA-256 of `data`.
    fn sha256(&self, data: &[u8]) -> [u8; 32];

    /// Verifies a JWS signature (`R || S` for ECDSA, RFC 7518 §3.4) over `message`.
    fn verify(
        &self,
        alg: Algorithm,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError>;
}

/// Produces JWS signatures. A local key implements it, and so does a phone's keystore reached
/// through a foreign callback: the private key never has to be in this process.
pub trait Signer: Send + Sync {
    /// The algorithm of the signatures.
    fn algorithm(&self) -> Algorithm;
    /// The public key, as a JWK (with `kid` when the key has one).
    fn public_jwk(&self) -> &Jwk;
    /// Signs `message`, returning the JWS signature bytes.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError>;
}

impl<S: Signer + ?Sized> Signer for &S {
    fn algorithm(&self) -> Algorithm {
        (**self).algorithm()
    }
    fn public_jwk(&self) -> &Jwk {
        (**self).public_jwk()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        (**self).sign(message)
    }
}

impl<S: Signer + ?Sized> Signer for std::sync::Arc<S> {
    fn algorithm(&self) -> Algorithm {
        (**self).algorithm()
    }
    fn public_jwk(&self) -> &Jwk {
        (**self).public_jwk()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        (**self).sign(message)
    }
}

/// A cryptographically secure source of random bytes, injected so tests are deterministic.
pub trait SecureRandom: Send + Sync {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]) -> Result<(), CryptoError>;
}

impl<R: SecureRandom + ?Sized> SecureRandom for &R {
    fn fill(&self, dest: &mut [u8]) -> Result<(), CryptoError> {
        (**self).fill(dest)
    }
}

/// A deterministic generator for tests and reproducible fixtures. **Never** for production: its
/// output is predictable from the seed.
#[derive(Debug)]
pub struct DangerousSeededRandom {
    state: std::sync::Mutex<u64>,
}

impl DangerousSeededRandom {
    /// A generator whose output depends only on `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self {
            state: std::sync::Mutex::new(seed),
        }
    }
}

impl SecureRandom for DangerousSeededRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), CryptoError> {
        let mut state = self.state.lock().map_err(|_| CryptoError::Random)?;
        for chunk in dest.chunks_mut(8) {
            // splitmix64: tiny, well distributed, and deterministic.
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let bytes = z.to_le_bytes();
            chunk.copy_from_slice(bytes.get(..chunk.len()).unwrap_or_default());
        }
        Ok(())
    }
}

/// Draws a uniformly random index below `bound` (rejection sampling, no modulo bias).
pub fn random_below(rng: &dyn SecureRandom, bound: u64) -> Result<u64, CryptoError> {
    if bound <= 1 {
        return Ok(0);
    }
    let zone = u64::MAX - (u64::MAX % bound);
    loop {
        let mut buf = [0u8; 8];
        rng.fill(&mut buf)?;
        let v = u64::from_le_bytes(buf);
        if v < zone {
            return Ok(v % bound);
        }
    }
}

/// Shuffles `items` in place (Fisher–Yates) with `rng`.
pub fn shuffle<T>(rng: &dyn SecureRandom, items: &mut [T]) -> Result<(), CryptoError> {
    for i in (1..items.len()).rev() {
        let j = usize::try_from(random_below(rng, i as u64 + 1)?).unwrap_or(0);
        items.swap(i, j);
    }
    Ok(())
}

/// The default backend of this build: `ring` when enabled, otherwise the pure-Rust one.
#[must_use]
pub fn default_backend() -> &'static dyn CryptoBackend {
    #[cfg(feature = "ring")]
    {
        &ring::RingBackend
    }
    #[cfg(all(not(feature = "ring"), feature = "pure-rust"))]
    {
        &pure::PureBackend
    }
}

/// The operating system's random generator, through the default backend.
#[must_use]
pub fn system_random() -> &'static dyn SecureRandom {
    #[cfg(feature = "ring")]
    {
        static RNG: std::sync::OnceLock<ring::RingRandom> = std::sync::OnceLock::new();
        RNG.get_or_init(ring::RingRandom::default)
    }
    #[cfg(all(not(feature = "ring"), feature = "pure-rust"))]
    {
        &pure::OsRandom
    }
}

/// Generates a new P-256 signing key with the default backend.
pub fn generate_p256(kid: Option<String>) -> Result<crate::jwk::PrivateJwk, CryptoError> {
    crate::jwk::PrivateJwk::generate_p256(system_random(), kid)
}

/// Builds a local ES256 signer from a private JWK with the default backend.
pub fn signer_from_jwk(key: &crate::jwk::PrivateJwk) -> Result<Box<dyn Signer>, CryptoError> {
    #[cfg(feature = "ring")]
    {
        Ok(Box::new(ring::RingSigner::from_jwk(key)?))
    }
    #[cfg(all(not(feature = "ring"), feature = "pure-rust"))]
    {
        Ok(Box::new(pure::PureSigner::from_jwk(key)?))
    }
}

#[cfg(not(any(feature = "ring", feature = "pure-rust")))]
compile_error!("enable a crypto backend: feature `ring` or `pure-rust`");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_random_is_deterministic_and_shuffle_permutes() {
        let a = DangerousSeededRandom::new(7);
        let b = DangerousSeededRandom::new(7);
        let (mut x, mut y) = ([0u8; 20], [0u8; 20]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        assert_eq!(x, y);
        assert_ne!(x, [0u8; 20]);
        let mut items: Vec<u32> = (0..50).collect();
        shuffle(&a, &mut items).unwrap();
        assert_ne!(items, (0..50).collect::<Vec<_>>());
        items.sort_unstable();
        assert_eq!(items, (0..50).collect::<Vec<_>>());
        for _ in 0..100 {
            assert!(random_below(&a, 3).unwrap() < 3);
        }
    }

    #[test]
    fn no_variant_for_none_or_hmac() {
        for name in ["none", "HS256", "RS256", "es256", ""] {
            assert_eq!(Algorithm::from_name(name), None, "{name}");
        }
    }
}
