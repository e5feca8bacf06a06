//! The `ring` backend: ES256, ES384 and EdDSA verification, ES256 signing and SHA-256, with
//! ring's assembly implementations (servers, iOS and Android alike).

use ring::rand::SecureRandom as _;
use ring::signature::{self, EcdsaKeyPair, UnparsedPublicKey};

use super::{Algorithm, CryptoBackend, CryptoError, SecureRandom, Signer};
use crate::jwk::{Jwk, PrivateJwk, PublicKey};

/// Verification and hashing with `ring`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RingBackend;

impl CryptoBackend for RingBackend {
    fn sha256(&self, data: &[u8]) -> [u8; 32] {
        let digest = ring::digest::digest(&ring::digest::SHA256, data);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        out
    }

    fn verify(
        &self,
        alg: Algorithm,
        key: &PublicKey,
        message: &[u8],
        sig: &[u8],
    ) -> Result<(), CryptoError> {
        let (verification, bytes): (&dyn signature::VerificationAlgorithm, &[u8]) = match (alg, key)
        {
            (Algorithm::Es256, PublicKey::P256(point)) => {
                (&signature::ECDSA_P256_SHA256_FIXED, point.as_slice())
            }
            (Algorithm::Es384, PublicKey::P384(point)) => {
                (&signature::ECDSA_P384_SHA384_FIXED, point.as_slice())
            }
            (Algorithm::EdDsa, PublicKey::Ed25519(raw)) => (&signature::ED25519, raw.as_slice()),
            (alg, key) => {
                return Err(CryptoError::KeyMismatch {
                    alg,
                    key: key.kind(),
                });
            }
        };
        UnparsedPublicKey::new(verification, bytes)
            .verify(message, sig)
            .map_err(|_| CryptoError::BadSignature)
    }
}

/// The operating system's generator, through ring.
#[derive(Debug)]
pub struct RingRandom(ring::rand::SystemRandom);

impl Default for RingRandom {
    fn default() -> Self {
        Self(ring::rand::SystemRandom::new())
    }
}

impl SecureRandom for RingRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), CryptoError> {
        self.0.fill(dest).map_err(|_| CryptoError::Random)
    }
}

/// A local ES256 key, parsed once so signing costs one ECDSA operation.
pub struct RingSigner {
    pair: EcdsaKeyPair,
    jwk: Jwk,
    rng: ring::rand::SystemRandom,
}

impl std::fmt::Debug for RingSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingSigner")
            .field("public", &self.jwk)
            .finish_non_exhaustive()
    }
}

impl RingSigner {
    /// Prepares a P-256 private JWK for signing.
    pub fn from_jwk(key: &PrivateJwk) -> Result<Self, CryptoError> {
        let public = key.public();
        let PublicKey::P256(point) = public.key() else {
            return Err(CryptoError::InvalidKey("only P-256 keys sign"));
        };
        let rng = ring::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            key.secret_scalar(),
            point,
            &rng,
        )
        .map_err(|_| CryptoError::InvalidKey("private scalar does not match the public point"))?;
        Ok(Self {
            pair,
            jwk: public,
            rng,
        })
    }
}

impl Signer for RingSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Es256
    }

    fn public_jwk(&self) -> &Jwk {
        &self.jwk
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.pair
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| CryptoError::Signing("ring ECDSA signing failed".into()))
    }
}
