//! ES256 signing with a P-256 key kept as PKCS#8 (the form the certificate library and ring
//! share), and the `x509_hash` client identifier of a certificate.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use llavero_credentials::crypto::{Algorithm, CryptoError, Signer};
use llavero_credentials::jwk::{Jwk, PublicKey};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use zeroize::Zeroizing;

/// A P-256 key that signs JWS (ES256).
pub struct PkcsSigner {
    pair: EcdsaKeyPair,
    public: Jwk,
    rng: ring::rand::SystemRandom,
}

impl std::fmt::Debug for PkcsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PkcsSigner").finish_non_exhaustive()
    }
}

impl PkcsSigner {
    /// The signer of a PKCS#8 P-256 private key.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, CryptoError> {
        let rng = ring::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
            .map_err(|_| CryptoError::InvalidKey("not a PKCS#8 P-256 key"))?;
        let point: [u8; 65] = pair
            .public_key()
            .as_ref()
            .try_into()
            .map_err(|_| CryptoError::InvalidKey("not an uncompressed P-256 point"))?;
        Ok(Self {
            public: Jwk::new(PublicKey::P256(point)),
            pair,
            rng,
        })
    }

    /// A new random key, as PKCS#8 (to be sealed) and its signer.
    pub fn generate() -> Result<(Zeroizing<Vec<u8>>, Self), CryptoError> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| CryptoError::Signing("P-256 key generation failed".into()))?;
        let pkcs8 = Zeroizing::new(pkcs8.as_ref().to_vec());
        let signer = Self::from_pkcs8(&pkcs8)?;
        Ok((pkcs8, signer))
    }
}

impl Signer for PkcsSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Es256
    }

    fn public_jwk(&self) -> &Jwk {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.pair
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| CryptoError::Signing("ring ECDSA signing failed".into()))
    }
}

/// The `x509_hash` client identifier value of a certificate: base64url(SHA-256(DER))
/// (OpenID4VP 1.0 §5.9.3).
#[must_use]
pub fn x509_hash(certificate_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, certificate_der))
}
