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
//!
//! ```
//! use llavero_credentials::crypto::{default_backend, generate_p256, signer_from_jwk, system_random};
//! use llavero_credentials::sd_jwt::ClaimPath;
//! use llavero_credentials::sd_jwt_vc::{self, Envelope};
//! use llavero_verifier::trust_list::{Jwks, TrustListClaims, TrustedIssuer};
//! use llavero_verifier::{Expectations, Rejection, Verifier, VerifierOptions};
//!
//! let now = 1_800_000_000;
//! let (anchor, issuer) = (generate_p256(Some("anchor".into()))?, generate_p256(Some("rc".into()))?);
//! // The trust anchor lists the civil registry as an issuer of birth certificates.
//! let trust_list = TrustListClaims {
//!     iss: "https://trust.llavero.cl".into(), iat: now, exp: Some(now + 86_400), sequence: 1,
//!     issuers: vec![TrustedIssuer {
//!         id: "https://registro.llavero.cl".into(), name: None,
//!         jwks: Jwks { keys: vec![issuer.public()] },
//!         credential_types: vec!["https://llavero.cl/vct/birth-certificate".into()],
//!         valid_from: None, valid_until: None,
//!     }],
//! }.sign(signer_from_jwk(&anchor)?.as_ref())?;
//! let bundle = serde_json::json!({"version": 1, "built_at": now, "trust_list": trust_list, "status_lists": []});
//! let verifier = Verifier::from_bundle(&bundle.to_string(), &[anchor.public()], now, VerifierOptions::default())?;
//!
//! let envelope = Envelope {
//!     issuer: "https://registro.llavero.cl".into(), vct: "https://llavero.cl/vct/birth-certificate".into(),
//!     issued_at: Some(now), not_before: None, expires_at: Some(now + 3600), holder_key: None, status: None,
//! };
//! let claims = serde_json::json!({"given_name": "Ana"});
//! let credential = sd_jwt_vc::issue(&envelope, claims.as_object().unwrap_or(&Default::default()),
//!     &[ClaimPath::claim("given_name")], Some("rc"), 0, signer_from_jwk(&issuer)?.as_ref(),
//!     system_random(), default_backend())?;
//!
//! let verified = verifier.verify(&credential, now, &Expectations::default())?;
//! assert_eq!(verified.credentials()[0].claims()["given_name"], "Ana");
//! // Later than its expiry, the same credential is refused, and the reason is named.
//! let late = verifier.verify(&credential, now + 7200, &Expectations::default());
//! assert!(matches!(late, Err(Rejection::Expired { .. })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

pub mod bundle;
mod outcome;
mod rejection;
pub mod trust_list;
mod verify;
pub mod x509;

pub use bundle::{BundleError, OfflineBundle, StatusSnapshot};
pub use outcome::{CredentialStatus, Format, Verification, VerifiedCredential, Warning};
pub use rejection::Rejection;
pub use verify::{Expectations, MAX_INPUT_BYTES, Verifier, VerifierOptions};
