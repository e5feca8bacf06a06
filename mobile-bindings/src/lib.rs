//! # Llavero on phones
//!
//! UniFFI bindings (Kotlin, Swift, Python) over the portable crates: offline verification from
//! a bundle, display of held credentials, and the holder's signatures made by a key that never
//! leaves the phone's secure hardware (a foreign [`HolderSigner`]).
//!
//! Every exported call returns a typed error, never a panic: each body runs under
//! [`guard`], which turns a panic into the `Internal` variant of the call's error enum.

mod display;
mod errors;
mod holder;
mod verify;

pub use display::{ClaimDisplay, HeldCredential, describe_credential};
pub use errors::{BundleError, CredentialError, HolderError, SignerError, VerifyError};
pub use holder::{
    CredentialOffer, DcqlMatch, HolderSigner, TxCode, create_presentation, create_proof_jwt,
    match_dcql_query, parse_credential_offer,
};
pub use verify::{
    BatchRejection, BundleFreshness, OfflineVerifier, PresentationRequest, VerificationBatch,
    VerificationOutcome, VerificationResult, VerifiedCredential,
};

uniffi::setup_scaffolding!();

/// Runs `body`, turning a panic into `internal(message)`: a bug in Rust must surface in the app
/// as an exception it can handle, not as a crash.
pub(crate) fn guard<T, E>(
    internal: impl FnOnce(String) -> E,
    body: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        Err(internal(message))
    })
}

/// Panics inside the guard on purpose, so an app's (and our) integration tests can prove that a
/// Rust panic reaches them as `VerifyError.Internal` and not as a crash.
#[uniffi::export]
pub fn diagnostics_contained_panic() -> Result<(), VerifyError> {
    guard(
        |reason| VerifyError::Internal { reason },
        || {
            #[expect(clippy::panic, reason = "the point of this diagnostic")]
            {
                panic!("deliberate panic for diagnostics")
            }
        },
    )
}
