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
        format_name(self.inner.format())
    }

    /// How many credentials were verified (one, or several in a `vp+jwt`).
    #[must_use]
    pub fn credential_count(&self) -> u32 {
        u32::try_from(self.inner.credentials().len()).unwrap_or(u32::MAX)
    }

    /// The disclosed claims of credential `index`, as JSON.
    #[must_use]
    pub fn claims_json(&self, index: u32) -> Option<String> {
        self.inner
            .credentials()
            .get(usize::try_from(index).ok()?)
            .map(|c| c.claims().to_string())
    }

    /// Every verified credential, in full.
    #[must_use]
    pub fn credentials(&self) -> Vec<VerifiedCredential> {
        self.inner.credentials().iter().map(record).collect()
    }

    /// Warnings, such as a status list past its `ttl` (as JSON objects).
    #[must_use]
    pub fn warnings(&self) -> Vec<String> {
        self.inner
            .warnings()
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
        format: format_name(c.format()),
        issuer: c.issuer().to_owned(),
        issuer_name: c.issuer_name().map(str::to_owned),
        credential_type: c.credential_type().to_owned(),
        claims_json: c.claims().to_string(),
        holder_key_jwk: c.holder_key().map(|k| k.to_value().to_string()),
        key_binding_verified: c.key_binding_verified(),
        status: match c.status() {
            llavero_verifier::CredentialStatus::NotTracked => "not_tracked".into(),
            _ => "valid".into(),
        },
        issued_at: c.issued_at(),
        expires_at: c.expires_at(),
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

    /// Verifies every presentation of one response in one call (an OpenID4VP response carries
    /// one per requested credential, all bound to this request's nonce): `presentations` is
    /// their UTF-8 text joined with line feeds, as described on [`VerificationBatch`]. Each is
    /// verified as [`Self::verify`] would; one rejected presentation does not fail the others.
    #[must_use]
    pub fn verify_batch(&self, presentations: &[u8], now: i64) -> Arc<VerificationBatch> {
        self.verifier.verify_lines(presentations, &self.expect, now)
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

/// Several credentials or presentations verified in one call
/// ([`OfflineVerifier::verify_batch`], [`PresentationRequest::verify_batch`]), with each one's
/// outcome kept in Rust and read on demand.
///
/// A batch exists to amortize the boundary: every call from Kotlin, Swift or Python pays a fixed
/// toll (cloning the object's handle, the call, freeing what it returns: about 7 µs through
/// UniFFI's Python glue, a sixth of a VC-JWT verification). So a batch crosses once each way:
/// the input is one byte string, and the answer one object, whose
/// [`rejections`](Self::rejections) says in one more call which items failed and why (none, in
/// the usual case). Lifting a typed outcome for every item, as a `Vec` of enums holding result
/// objects, would pay per item again (and free each result on its own).
///
/// # Input: credentials joined with line feeds
///
/// The input is the items' UTF-8 text joined with `\n` (LF), as Python's
/// `"\n".join(xs).encode()`, Swift's `Data(xs.joined(separator: "\n").utf8)` or Kotlin's
/// `joinToString("\n").encodeToByteArray()` make it (the latter copied into a direct
/// `ByteBuffer`): item `i` of the batch is credential `i` of the list joined. A compact JWS,
/// SD-JWT or SD-JWT+KB never contains a line feed (base64url, `.` and `~` only), so the join is
/// unambiguous for real credentials. Each item is then verified as `verify_bytes` would verify
/// it alone (which ignores surrounding whitespace, so a `\r` left by CRLF line ends is
/// harmless): an empty item, or one that is not UTF-8, is rejected as `Malformed` without
/// affecting the others. An empty input is an empty batch.
///
/// The input is a zero-copy `&[u8]`, read in place (Python `bytes`, Swift `Data`, Kotlin a
/// direct `ByteBuffer`). Not a `Vec<u8>`, though a Kotlin `ByteArray` would be handier: UniFFI
/// 0.32 lifts a `Vec<u8>` byte by byte, which cost about 2.5 µs per kilobyte (measured), more
/// than the rest of the boundary. Nor one `String`: a non-UTF-8 item could then not be rejected
/// alone.
///
/// A string from elsewhere (a wallet's response) that contains a line feed is no credential, but
/// it would split into two items and shift the ones after it: before relating outcomes to the
/// list joined, check that [`len`](Self::len) equals its size.
#[derive(uniffi::Object)]
pub struct VerificationBatch {
    outcomes: Vec<Result<Arc<VerificationResult>, VerifyError>>,
}

#[uniffi::export]
impl VerificationBatch {
    /// How many items the batch held: the number of credentials joined.
    #[must_use]
    pub fn len(&self) -> u32 {
        u32::try_from(self.outcomes.len()).unwrap_or(u32::MAX)
    }

    /// Whether the input held no item at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }

    /// The outcome of item `index`: its verified result, or why it was rejected (the error a
    /// single `verify` would have thrown). `None` past the end.
    #[must_use]
    pub fn outcome(&self, index: u32) -> Option<VerificationOutcome> {
        let outcome = self.outcomes.get(usize::try_from(index).ok()?)?;
        Some(outcome.clone().into())
    }

    /// The rejected items, in order, each with its index and reason; empty when every item
    /// verified. The one call an app needs to learn which credentials to flag, or whether a
    /// response is acceptable as a whole.
    #[must_use]
    pub fn rejections(&self) -> Vec<BatchRejection> {
        self.outcomes
            .iter()
            .zip(0_u32..)
            .filter_map(|(outcome, index)| {
                let reason = outcome.as_ref().err()?.clone();
                Some(BatchRejection { index, reason })
            })
            .collect()
    }
}

/// A rejected item of a [`VerificationBatch`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BatchRejection {
    /// Its position in the batch (and in the list the app joined).
    pub index: u32,
    /// Why it was rejected.
    pub reason: VerifyError,
}

/// The outcome of one item of a [`VerificationBatch`]: the verified result, or why that
/// credential was rejected.
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

/// The items of a batch's input (see [`VerificationBatch`]): split at every line feed and left
/// as they are (the verifier ignores surrounding whitespace); an empty input has none.
fn batch_items(input: &[u8]) -> impl Iterator<Item = &[u8]> {
    let items = (!input.is_empty()).then(|| input.split(|&b| b == b'\n'));
    items.into_iter().flatten()
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

    fn verify_lines(
        &self,
        input: &[u8],
        expect: &Expectations,
        now: i64,
    ) -> Arc<VerificationBatch> {
        let outcomes = batch_items(input)
            .map(|item| self.verify_with(utf8(item)?, expect, now))
            .collect();
        Arc::new(VerificationBatch { outcomes })
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

    /// Verifies several credentials in one call, each as [`Self::verify`] would (say every
    /// credential a wallet holds, against a freshly downloaded bundle, to flag the ones revoked
    /// since): `credentials` is their UTF-8 text joined with line feeds, as described on
    /// [`VerificationBatch`]. One rejected credential does not fail the others.
    #[must_use]
    pub fn verify_batch(&self, credentials: &[u8], now: i64) -> Arc<VerificationBatch> {
        self.verify_lines(credentials, &Expectations::default(), now)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn items(input: &[u8]) -> Vec<&[u8]> {
        batch_items(input).collect()
    }

    #[test]
    fn batch_input_is_split_at_each_line_feed_and_nothing_is_trimmed() {
        assert!(items(b"").is_empty());
        assert_eq!(items(b"a.b.c"), [b"a.b.c"]);
        assert_eq!(items(b"a~b~\nc.d.e"), [&b"a~b~"[..], b"c.d.e"]);
        // Joining ["a", ""] and ["", "b"]: the empty item stays, in place.
        assert_eq!(items(b"a\n"), [&b"a"[..], b""]);
        assert_eq!(items(b"\nb"), [&b""[..], b"b"]);
        assert_eq!(items(b"\n"), [b"", b""]);
        assert_eq!(items(b"a\r\nb"), [&b"a\r"[..], b"b"]);
    }

    #[test]
    fn rejections_name_each_rejected_item_by_index() {
        let malformed = |reason: &str| VerifyError::Malformed {
            reason: reason.into(),
        };
        let batch = VerificationBatch {
            outcomes: vec![Err(malformed("first")), Err(malformed("second"))],
        };
        assert_eq!(batch.len(), 2);
        assert_eq!(
            batch.rejections(),
            [
                BatchRejection {
                    index: 0,
                    reason: malformed("first")
                },
                BatchRejection {
                    index: 1,
                    reason: malformed("second")
                },
            ]
        );
        assert!(matches!(
            batch.outcome(1),
            Some(VerificationOutcome::Rejected { reason }) if reason == malformed("second")
        ));
        assert!(batch.outcome(2).is_none() && batch.outcome(u32::MAX).is_none());
        let empty = VerificationBatch { outcomes: vec![] };
        assert!(empty.is_empty() && empty.rejections().is_empty());
    }
}
