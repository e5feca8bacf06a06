//! # Llavero verifier
//!
//! Offline verification of credentials and presentations: a relying party downloads an
//! [`bundle::OfflineBundle`] once (the signed trust list and the signed status lists it refers
//! to) and verifies with no network at all.
//!
//! ```text
//!  bundle.json ──load(anchor keys)──▶ Verifier { TrustList, StatusSnapshot }
//!                                          │
//!  credential / presentation ─────────────▶ verify(input, clock, expectations)
//!                                          │
//!                          Verification { issuer, type, claims, holder key, status, warnings }
//!                          or Rejection::{BadSignature, UntrustedIssuer, Expired, Revoked, …}
//! ```
//!
//! Every signature in the bundle is checked before anything in it is believed; the trust anchor
//! keys are pinned by the caller, never read from the bundle. Every rejection names its reason.

#![forbid(unsafe_code)]

pub mod bundle;
mod outcome;
mod rejection;
pub mod trust_list;
mod verify;

pub use bundle::{BundleError, OfflineBundle, StatusSnapshot};
pub use outcome::{CredentialStatus, Format, Verification, VerifiedCredential, Warning};
pub use rejection::Rejection;
pub use verify::{Expectations, MAX_INPUT_BYTES, Verifier, VerifierOptions};
