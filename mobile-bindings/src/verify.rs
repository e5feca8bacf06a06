//! Offline verification: a relying party's phone loads the bundle once and verifies with no
//! network.

use std::sync::Arc;

use llavero_credentials::jwk::Jwk;
use llavero_verifier::{Expectations, Verifier, VerifierOptions, Warning};

use crate::errors::{BundleError, VerifyError};
use crate::guard;

/// A verifier loaded from an offline bundle.
#[derive(uniffi::Object)]
pub struct OfflineVerifier {
    inner: Verifier,
    /// Nanoseconds spent inside Rust verifying, over all `verify` calls: set against the time
    /// the app observes, it isolates the cost of the boundary itself.
    busy_nanos: std::sync::atomic::AtomicU64,
}

/// One verified credential, flattened for apps.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VerifiedCredential {
    /// `dc+sd-jwt` or `vc+jwt`.
    pub format: String,
    /// Issuer identifier.
    pub issuer: String,
    /// Issuer name from the trust list.
    pub issuer_name: Option<String>,
    /// The credential type the issuer is accredited for.
    pub credential_type: String,
    /// The disclosed claims, as JSON.
    pub claims_json: String,
    /// The holder's public key, as a JWK (JSON), when bound.
    pub holder_key_jwk: Option<String>,
    /// Whether the holder proved possession of that key to this verifier.
    pub key_binding_verified: bool,
    /// `valid`, or `not_tracked` when the credential has no status entry.
    pub status: String,
    /// Issuance time (seconds since the epoch).
    pub issued_at: Option<i64>,
    /// Expiry (seconds since the epoch).
    pub expires_at: Option<i64>,
}

/// The result of a successful verification. An object rather than a record: crossing the
/// boundary costs a handle, and an app reads only what it shows (lifting every field of every
/// credential on each call would cost more than the verification in Python).
#[derive(uniffi::Object)]
pub struct VerificationResult {
    inner: llavero_verifier::Verification,
}

#[uniffi::export]
impl VerificationResult {
    /// `dc+sd-jwt`, `vc+jwt` or `vp+jwt`.
    #[must_use]
    pub fn format(&self) -> String {
        format_name(self.inner.format)
    }

    /// How many credentials were verified (one, or several in a `vp+jwt`).
    #[must_use]
    pub fn credential_count(&self) -> u32 {
        u32::try_from(self.inner.credentials.len()).unwrap_or(u32::MAX)
    }

    /// The disclosed claims of credential `index`, as JSON.
    #[must_use]
    pub fn claims_json(&self, index: u32) -> Option<String> {
        self.inner
            .credentials
            .get(usize::try_from(index).ok()?)
            .map(|c| c.claims.to_string())
    }

    /// Every verified credential, in full.
    #[must_use]
    pub fn credentials(&self) -> Vec<VerifiedCredential> {
        self.inner.credentials.iter().map(record).collect()
    }

    /// Warnings, such as a status list past its `ttl` (as JSON objects).
    #[must_use]
    pub fn warnings(&self) -> Vec<String> {
        self.inner
            .warnings
            .iter()
            .map(|w: &Warning| text(w))
            .collect()
    }
}

fn format_name(format: llavero_verifier::Format) -> String {
    text(&format).trim_matches('"').to_owned()
}

fn record(c: &llavero_verifier::VerifiedCredential) -> VerifiedCredential {
    VerifiedCredential {
        format: format_name(c.format),
        issuer: c.issuer.clone(),
        issuer_name: c.issuer_name.clone(),
        credential_type: c.credential_type.clone(),
        claims_json: c.claims.to_string(),
        holder_key_jwk: c.holder_key.as_ref().map(|k| k.to_value().to_string()),
        key_binding_verified: c.key_binding_verified,
        status: match c.status {
            llavero_verifier::CredentialStatus::NotTracked => "not_tracked".into(),
            _ => "valid".into(),
        },
        issued_at: c.issued_at,
        expires_at: c.expires_at,
    }
}

/// How fresh the bundle is.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BundleFreshness {
    /// When the bundle was built.
    pub built_at: i64,
    /// Its age at the time asked about, in seconds.
    pub age_seconds: i64,
    /// Status lists older than their `ttl`: refresh the bundle when online.
    pub stale_lists: Vec<String>,
    /// Status lists that could not be loaded (and so make their credentials unverifiable).
    pub skipped_lists: Vec<String>,
}

fn text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// A request this verifier sent to a wallet (see [`OfflineVerifier::presentation_request`]):
/// presentations answering it must carry key binding naming its audience and nonce.
#[derive(uniffi::Object)]
pub struct PresentationRequest {
    verifier: Arc<OfflineVerifier>,
    expect: Expectations,
}

#[uniffi::export]
impl PresentationRequest {
    /// Verifies a presentation made for this request (SD-JWT VC with a key-binding JWT, or a
    /// `vp+jwt`): key binding is required and must name the audience and answer the nonce.
    pub fn verify(&self, input: String, now: i64) -> Result<Arc<VerificationResult>, VerifyError> {
        self.verifier.verify_with(&input, &self.expect, now)
    }

    /// As [`Self::verify`], for a presentation the app holds as bytes anyway (from a QR code,
    /// NFC or an HTTP body): `input` is the presentation's UTF-8 bytes, read in place rather
    /// than copied into a string first (Python `bytes`, Swift `Data`, Kotlin a direct
    /// `ByteBuffer`). Bytes that are not UTF-8 are rejected as `Malformed`.
    pub fn verify_bytes(
        &self,
        input: &[u8],
        now: i64,
    ) -> Result<Arc<VerificationResult>, VerifyError> {
        self.verifier.verify_with(utf8(input)?, &self.expect, now)
    }

    /// Verifies several presentations answering this request at once (an OpenID4VP response
    /// carries one per requested credential, all bound to the same nonce): one outcome per
    /// input, in order, each the verified result or the reason that one was rejected.
    #[must_use]
    pub fn verify_all(&self, inputs: Vec<String>, now: i64) -> Vec<VerificationOutcome> {
        self.verifier.verify_each(&inputs, &self.expect, now)
    }

    /// The audience presentations must name.
    #[must_use]
    pub fn audience(&self) -> String {
        self.expect.audience.clone().unwrap_or_default()
    }

    /// The nonce presentations must answer.
    #[must_use]
    pub fn nonce(&self) -> String {
        self.expect.nonce.clone().unwrap_or_default()
    }
}

/// One item of a batch verification ([`OfflineVerifier::verify_all`]): the verified result, or
/// why that credential was rejected. One bad credential does not fail the batch.
#[derive(uniffi::Enum)]
pub enum VerificationOutcome {
    /// The credential (or presentation) verified.
    Verified {
        /// What was verified, read on demand.
        result: Arc<VerificationResult>,
    },
    /// It was rejected, for this reason (the error a single `verify` would have thrown).
    Rejected {
        /// Why.
        reason: VerifyError,
    },
}

impl From<Result<Arc<VerificationResult>, VerifyError>> for VerificationOutcome {
    fn from(result: Result<Arc<VerificationResult>, VerifyError>) -> Self {
        match result {
            Ok(result) => Self::Verified { result },
            Err(reason) => Self::Rejected { reason },
        }
    }
}

/// The credential text of a `verify_bytes` input: not UTF-8 is malformed input.
fn utf8(input: &[u8]) -> Result<&str, VerifyError> {
    std::str::from_utf8(input).map_err(|e| VerifyError::Malformed {
        reason: format!("credential is not UTF-8: {e}"),
    })
}

impl OfflineVerifier {
    fn verify_with(
        &self,
        input: &str,
        expect: &Expectations,
        now: i64,
    ) -> Result<Arc<VerificationResult>, VerifyError> {
        guard(
            |reason| VerifyError::Internal { reason },
            || {
                let start = std::time::Instant::now();
                let verified = self.inner.verify(input, now, expect);
                let spent = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
                self.busy_nanos
                    .fetch_add(spent, std::sync::atomic::Ordering::Relaxed);
                Ok(Arc::new(VerificationResult { inner: verified? }))
            },
        )
    }

    fn verify_each(
        &self,
        inputs: &[String],
        expect: &Expectations,
        now: i64,
    ) -> Vec<VerificationOutcome> {
        inputs
            .iter()
            .map(|input| self.verify_with(input, expect, now).into())
            .collect()
    }
}

#[uniffi::export]
impl OfflineVerifier {
    /// Loads `bundle_json`, checking its trust list against the pinned `trust_anchor_jwks`
    /// (public JWKs as JSON) and every status list against its issuer, at `now`.
    #[uniffi::constructor]
    pub fn new(
        bundle_json: String,
        trust_anchor_jwks: Vec<String>,
        now: i64,
    ) -> Result<Arc<Self>, BundleError> {
        guard(
            |reason| BundleError::Internal { reason },
            || {
                let anchors = trust_anchor_jwks
                    .iter()
                    .map(|jwk| {
                        serde_json::from_str::<Jwk>(jwk).map_err(|e| BundleError::Invalid {
                            reason: format!("trust anchor key: {e}"),
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let inner =
                    Verifier::from_bundle(&bundle_json, &anchors, now, VerifierOptions::default())
                        .map_err(|e| BundleError::Invalid {
                            reason: e.to_string(),
                        })?;
                Ok(Arc::new(Self {
                    inner,
                    busy_nanos: std::sync::atomic::AtomicU64::new(0),
                }))
            },
        )
    }

    /// Verifies a credential as it stands, with no key binding asked for (the verifier learns
    /// what the issuer says, not who is presenting it).
    pub fn verify(&self, input: String, now: i64) -> Result<Arc<VerificationResult>, VerifyError> {
        self.verify_with(&input, &Expectations::default(), now)
    }

    /// As [`Self::verify`], for a credential the app holds as bytes anyway (from a QR code, NFC
    /// or an HTTP body): `input` is the credential's UTF-8 bytes, read in place rather than
    /// copied into a string first (Python `bytes`, Swift `Data`, Kotlin a direct `ByteBuffer`).
    /// Bytes that are not UTF-8 are rejected as `Malformed`.
    pub fn verify_bytes(
        &self,
        input: &[u8],
        now: i64,
    ) -> Result<Arc<VerificationResult>, VerifyError> {
        self.verify_with(utf8(input)?, &Expectations::default(), now)
    }

    /// Verifies several credentials at once, as [`Self::verify`] does each (say every held
    /// credential against a freshly downloaded bundle): one outcome per input, in order, each
    /// the verified result or the reason that credential was rejected.
    #[must_use]
    pub fn verify_all(&self, inputs: Vec<String>, now: i64) -> Vec<VerificationOutcome> {
        self.verify_each(&inputs, &Expectations::default(), now)
    }

    /// What a presentation made for this verifier must be bound to: this `audience` and the
    /// `nonce` of one request (OpenID4VP: the verifier's client identifier and the request's
    /// nonce). Make it when sending the request, then verify the wallet's answer with it.
    #[must_use]
    pub fn presentation_request(
        self: Arc<Self>,
        audience: String,
        nonce: String,
    ) -> Arc<PresentationRequest> {
        Arc::new(PresentationRequest {
            verifier: self,
            expect: Expectations::key_binding(audience, nonce),
        })
    }

    /// How old the bundle is at `now`, and which of its lists are stale or missing.
    #[must_use]
    pub fn freshness(&self, now: i64) -> BundleFreshness {
        let built_at = self.inner.built_at().unwrap_or_default();
        BundleFreshness {
            built_at,
            age_seconds: now.saturating_sub(built_at),
            stale_lists: self.inner.status_snapshot().stale_lists(now),
            skipped_lists: self
                .inner
                .skipped_lists()
                .iter()
                .map(|s| format!("{}: {}", s.uri, s.reason))
                .collect(),
        }
    }

    /// Total seconds spent verifying inside Rust by `verify` so far (a diagnostic for
    /// measuring the cost of the FFI boundary).
    #[must_use]
    pub fn seconds_verifying(&self) -> f64 {
        let nanos = self.busy_nanos.load(std::sync::atomic::Ordering::Relaxed);
        #[expect(clippy::cast_precision_loss, reason = "a diagnostic in seconds")]
        let seconds = nanos as f64 / 1e9;
        seconds
    }

    /// Seconds per verification of `input`, measured inside Rust over `iterations` runs: the
    /// baseline against which the cost of crossing the FFI boundary is measured.
    #[must_use]
    pub fn time_native_verification(
        &self,
        input: String,
        audience: Option<String>,
        nonce: Option<String>,
        now: i64,
        iterations: u32,
    ) -> f64 {
        let mut expect = Expectations::default();
        expect.audience = audience;
        expect.nonce = nonce;
        let start = std::time::Instant::now();
        for _ in 0..iterations {
            let _ = std::hint::black_box(self.inner.verify(&input, now, &expect));
        }
        start.elapsed().as_secs_f64() / f64::from(iterations.max(1))
    }
}
