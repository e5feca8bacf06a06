//! Sealing of secrets at rest, as the service needs it: the platform's master key does it.

use zeroize::Zeroizing;

/// Sealing failed (a wrong master key, or a tampered value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("sealing failed")]
pub struct SealFailed;

/// Seals secrets at rest (relying-party keys, the authority's key, response keys), bound to a
/// label so a sealed value cannot be moved to another row. The platform's master key does it.
pub trait Sealer: Send + Sync {
    /// Seals `plaintext` bound to `label`.
    fn seal(&self, label: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealFailed>;
    /// Opens what [`Sealer::seal`] sealed with the same label.
    fn open(&self, label: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealFailed>;
}

impl Sealer for llavero_platform::MasterKey {
    fn seal(&self, label: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealFailed> {
        llavero_platform::MasterKey::seal(self, label, plaintext).map_err(|_| SealFailed)
    }

    fn open(&self, label: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealFailed> {
        llavero_platform::MasterKey::open(self, label, sealed).map_err(|_| SealFailed)
    }
}
