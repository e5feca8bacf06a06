//! Sealing of secrets at rest (the provider's signing keys) with AES-256-GCM under the master
//! key. The output is `nonce (12 bytes) || ciphertext || tag`; the key id is bound as
//! associated data so a sealed key cannot be swapped into another row.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

/// Why unsealing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The master key is not 32 bytes.
    #[error("the master key must be 32 bytes (base64url)")]
    BadMasterKey,
    /// Tampered, truncated, or sealed under another master key.
    #[error("sealed value does not open with this master key")]
    Open,
}

/// The master key: 32 bytes, zeroized on drop.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// A new random master key.
    #[must_use]
    pub fn generate() -> Self {
        Self(Zeroizing::new(crate::random::bytes::<32>()))
    }

    /// From its base64url text form.
    pub fn from_base64(text: &str) -> Result<Self, SealError> {
        use base64::Engine as _;
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text.trim())
                .map_err(|_| SealError::BadMasterKey)?,
        );
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| SealError::BadMasterKey)?;
        Ok(Self(Zeroizing::new(key)))
    }

    /// The base64url text form (for writing the generated key file).
    #[must_use]
    pub fn to_base64(&self) -> Zeroizing<String> {
        use base64::Engine as _;
        Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(*self.0))
    }

    fn aead(&self) -> Result<LessSafeKey, SealError> {
        UnboundKey::new(&AES_256_GCM, self.0.as_slice())
            .map(LessSafeKey::new)
            .map_err(|_| SealError::BadMasterKey)
    }

    /// A 32-byte key for one purpose, derived with HMAC-SHA-256 so the master key itself is used
    /// only for sealing (CSRF tokens and pairwise subjects use derived keys).
    #[must_use]
    pub fn derive(&self, purpose: &str) -> ring::hmac::Key {
        let master = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, self.0.as_slice());
        let tag = ring::hmac::sign(&master, purpose.as_bytes());
        ring::hmac::Key::new(ring::hmac::HMAC_SHA256, tag.as_ref())
    }

    /// Seals `plaintext`, bound to `label`.
    pub fn seal(&self, label: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce_bytes = crate::random::bytes::<12>();
        let mut buffer = plaintext.to_vec();
        self.aead()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(label.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| SealError::Open)?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buffer);
        Ok(out)
    }

    /// Opens a sealed value bound to `label`.
    pub fn open(&self, label: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let (nonce, ciphertext) = sealed.split_at_checked(12).ok_or(SealError::Open)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        let len = self
            .aead()?
            .open_in_place(nonce, Aad::from(label.as_bytes()), &mut buffer)
            .map_err(|_| SealError::Open)?
            .len();
        buffer.truncate(len);
        Ok(buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_refuses_tampering_other_labels_and_other_keys() {
        let key = MasterKey::generate();
        let sealed = key.seal("kid-1", b"secret").unwrap();
        assert_eq!(key.open("kid-1", &sealed).unwrap().as_slice(), b"secret");
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(key.open("kid-2", &sealed), Err(SealError::Open));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(key.open("kid-1", &tampered), Err(SealError::Open));
        assert_eq!(
            MasterKey::generate().open("kid-1", &sealed),
            Err(SealError::Open)
        );
        assert_eq!(key.open("kid-1", &sealed[..5]), Err(SealError::Open));
        let again = MasterKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(again.open("kid-1", &sealed).unwrap().as_slice(), b"secret");
        assert!(MasterKey::from_base64("c2hvcnQ").is_err());
    }
}
