//! The pure-Rust backend (`p256`, `sha2`, `getrandom`), for targets `ring` does not build for.
//! It implements Llavero's own algorithm, ES256; ES384 and EdDSA report `Unsupported`.

use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha2::Digest as _;

use super::{Algorithm, CryptoBackend, CryptoError, SecureRandom, Signer};
use crate::jwk::{Jwk, PrivateJwk, PublicKey};

/// Verification and hashing in pure Rust.
#[derive(Debug, Clone, Copy, Default)]
pub struct PureBackend;

impl CryptoBackend for PureBackend {
    fn sha256(&self, data: &[u8]) -> [u8; 32] {
        sha2::Sha256::digest(data).into()
    }

    fn verify(
        &self,
        alg: Algorithm,
        key: &PublicKey,
        message: &[u8],
        sig: &[u8],
    ) -> Result<(), CryptoError> {
        match (alg, key) {
            (Algorithm::Es256, PublicKey::P256(point)) => {
                let key =
                    VerifyingKey::from_sec1_bytes(point).map_err(|_| CryptoError::BadSignature)?;
                let sig = Signature::from_slice(sig).map_err(|_| CryptoError::BadSignature)?;
                key.verify(message, &sig)
                    .map_err(|_| CryptoError::BadSignature)
            }
            (Algorithm::Es384 | Algorithm::EdDsa, k) if alg.fits(k) => {
                Err(CryptoError::Unsupported(alg))
            }
            (alg, key) => Err(CryptoError::KeyMismatch {
                alg,
                key: key.kind(),
            }),
        }
    }
}

/// The operating system's generator, through `getrandom`.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl SecureRandom for OsRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), CryptoError> {
        getrandom::getrandom(dest).map_err(|_| CryptoError::Random)
    }
}

/// A local ES256 key with deterministic (RFC 6979) signatures.
pub struct PureSigner {
    key: SigningKey,
    jwk: Jwk,
}

impl std::fmt::Debug for PureSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PureSigner")
            .field("public", &self.jwk)
            .finish_non_exhaustive()
    }
}

impl PureSigner {
    /// Prepares a P-256 private JWK for signing.
    pub fn from_jwk(key: &PrivateJwk) -> Result<Self, CryptoError> {
        let jwk = key.public();
        let signing = SigningKey::from_slice(key.secret_scalar())
            .map_err(|_| CryptoError::InvalidKey("not a P-256 scalar"))?;
        let PublicKey::P256(point) = jwk.key() else {
            return Err(CryptoError::InvalidKey("only P-256 keys sign"));
        };
        if signing.verifying_key().to_encoded_point(false).as_bytes() != point.as_slice() {
            return Err(CryptoError::InvalidKey(
                "private scalar does not match the public point",
            ));
        }
        Ok(Self { key: signing, jwk })
    }
}

impl Signer for PureSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Es256
    }

    fn public_jwk(&self) -> &Jwk {
        &self.jwk
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let sig: Signature = self.key.sign(message);
        Ok(sig.to_bytes().to_vec())
    }
}
