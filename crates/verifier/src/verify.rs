//! The entry point: one call verifies a credential or presentation in any supported format.

use llavero_credentials::crypto::{CryptoBackend, default_backend};
use llavero_credentials::jwk::Jwk;
use llavero_credentials::jws::{AlgorithmPolicy, DecodedJws};
use llavero_credentials::time::UnixTime;

use crate::bundle::{
    BundleError, ListEntries, OfflineBundle, SkippedList, StatusSnapshot, is_stale,
};
use crate::outcome::{CredentialStatus, Format, Verification, VerifiedCredential, Warning};
use crate::rejection::Rejection;
use crate::trust_list::{TrustList, TrustedIssuer};
use crate::x509::X509Root;

mod sd_jwt_vc;
mod vc_jwt;

/// The largest credential or presentation accepted, checked before parsing (64 KiB, as for any
/// single JWS; an SD-JWT with its disclosures stays under it).
pub const MAX_INPUT_BYTES: usize = 64 * 1024;

/// What the relying party expects of a presentation. With both set, key binding is required
/// and must name this audience and nonce; with neither, a bare credential is accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Expectations {
    /// The verifier's identifier (KB-JWT `aud`, presentation `aud`).
    pub audience: Option<String>,
    /// The nonce the verifier issued for this request.
    pub nonce: Option<String>,
}

impl Expectations {
    /// A presentation bound to `audience` and `nonce`.
    #[must_use]
    pub fn key_binding(audience: impl Into<String>, nonce: impl Into<String>) -> Self {
        Self {
            audience: Some(audience.into()),
            nonce: Some(nonce.into()),
        }
    }

    pub(crate) fn binding(&self) -> Option<(&str, &str)> {
        Some((self.audience.as_deref()?, self.nonce.as_deref()?))
    }
}

/// Tunables with safe defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifierOptions {
    /// Clock difference tolerated on every time check, in seconds.
    pub clock_skew_secs: i64,
    /// The oldest key-binding JWT accepted, in seconds.
    pub max_key_binding_age_secs: i64,
    /// Accepted signature algorithms.
    pub algorithms: AlgorithmPolicy,
}

impl Default for VerifierOptions {
    fn default() -> Self {
        Self {
            clock_skew_secs: 60,
            max_key_binding_age_secs: 300,
            algorithms: AlgorithmPolicy::default(),
        }
    }
}

/// An offline verifier: a verified trust list and status snapshot.
pub struct Verifier {
    built_at: Option<UnixTime>,
    trust: TrustList,
    x509_roots: Vec<X509Root>,
    status: StatusSnapshot,
    skipped: Vec<SkippedList>,
    options: VerifierOptions,
    crypto: &'static dyn CryptoBackend,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.trust.claims().issuers.len())
            .field("status_lists", &self.status.len())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier over an already verified trust list and snapshot.
    #[must_use]
    pub fn new(trust: TrustList, status: StatusSnapshot, options: VerifierOptions) -> Self {
        Self {
            built_at: None,
            trust,
            x509_roots: Vec::new(),
            status,
            skipped: Vec::new(),
            options,
            crypto: default_backend(),
        }
    }

    /// Loads a bundle file, checking every signature in it (see [`OfflineBundle::verify`]).
    pub fn from_bundle(
        bundle_json: &str,
        anchors: &[Jwk],
        now: UnixTime,
        options: VerifierOptions,
    ) -> Result<Self, BundleError> {
        let bundle = OfflineBundle::parse(bundle_json)?;
        let (trust, status, skipped) =
            bundle.verify(anchors, default_backend(), now, options.clock_skew_secs)?;
        let mut verifier = Self::new(trust, status, options);
        verifier.skipped = skipped;
        verifier.built_at = Some(bundle.built_at);
        Ok(verifier)
    }

    /// Also trusts issuers whose SD-JWT VC carries an `x5c` chain ending at one of `roots`
    /// (HAIP's X.509 key resolution): such a credential is then verified with the chain's leaf
    /// key, never the trust list's (see [`crate::x509`]).
    #[must_use]
    pub fn with_x509_roots(mut self, roots: Vec<X509Root>) -> Self {
        self.x509_roots = roots;
        self
    }

    /// The configured X.509 roots.
    #[must_use]
    pub fn x509_roots(&self) -> &[X509Root] {
        &self.x509_roots
    }

    /// When the bundle was built, if the verifier was loaded from one.
    #[must_use]
    pub fn built_at(&self) -> Option<UnixTime> {
        self.built_at
    }

    /// Status lists of the bundle that could not be loaded, and why.
    #[must_use]
    pub fn skipped_lists(&self) -> &[SkippedList] {
        &self.skipped
    }

    /// The verified trust list.
    #[must_use]
    pub fn trust_list(&self) -> &TrustList {
        &self.trust
    }

    /// The verified status lists.
    #[must_use]
    pub fn status_snapshot(&self) -> &StatusSnapshot {
        &self.status
    }

    /// Verifies a credential or presentation, detecting its format from its shape and `typ`:
    /// an SD-JWT (`~`-separated, `dc+sd-jwt`), a `vc+jwt` credential or a `vp+jwt` presentation.
    pub fn verify(
        &self,
        input: &str,
        now: UnixTime,
        expect: &Expectations,
    ) -> Result<Verification, Rejection> {
        let input = input.trim();
        if input.len() > MAX_INPUT_BYTES {
            return Err(Rejection::TooLarge {
                len: input.len(),
                max: MAX_INPUT_BYTES,
            });
        }
        let mut warnings = Vec::new();
        if input.contains('~') {
            let credential = self.verify_sd_jwt_vc(input, now, expect, &mut warnings)?;
            return Ok(Verification {
                format: Format::SdJwtVc,
                credentials: vec![credential],
                holder_key: None,
                warnings,
            });
        }
        let jws = DecodedJws::decode(input).map_err(Rejection::from)?;
        let typ = jws.header().typ.clone().unwrap_or_default();
        match typ.to_ascii_lowercase().as_str() {
            "vc+jwt" | "vc+ld+jwt" => {
                // A bare credential's subject is in its claims; its key is resolved only when a
                // presentation has to prove the holder (the DID costs a key validation).
                let (credential, _subject) = self.verify_vc_jwt(jws, now, &mut warnings)?;
                if expect.binding().is_some() {
                    // A bare credential proves nothing about who presents it.
                    return Err(Rejection::MissingKeyBinding);
                }
                Ok(Verification {
                    format: Format::VcJwt,
                    credentials: vec![credential],
                    holder_key: None,
                    warnings,
                })
            }
            "vp+jwt" | "vp+ld+jwt" => self.verify_vp_jwt(jws, now, expect, warnings),
            "dc+sd-jwt" | "vc+sd-jwt" => self
                .verify_sd_jwt_vc(input, now, expect, &mut warnings)
                .map(|credential| Verification {
                    format: Format::SdJwtVc,
                    credentials: vec![credential],
                    holder_key: None,
                    warnings,
                }),
            other => Err(Rejection::UnsupportedFormat(other.to_owned())),
        }
    }

    /// The trusted issuer `id` and its key `kid`, or why not.
    fn issuer_key(
        &self,
        id: &str,
        kid: Option<&str>,
        now: UnixTime,
    ) -> Result<(&TrustedIssuer, &Jwk), Rejection> {
        let issuer = self
            .trust
            .issuer(id)
            .filter(|i| i.trusted_at(now))
            .ok_or_else(|| Rejection::UntrustedIssuer(id.to_owned()))?;
        let key = issuer.key(kid).ok_or_else(|| Rejection::UnknownIssuerKey {
            issuer: id.to_owned(),
            kid: kid.map(str::to_owned),
        })?;
        Ok((issuer, key))
    }

    /// The issuer `id` and its key from an `x5c` chain to a configured root, with the chain's
    /// key identifiers.
    fn chain_issuer(
        &self,
        id: &str,
        x5c: &[String],
        now: UnixTime,
    ) -> Result<(TrustedIssuer, Vec<String>), Rejection> {
        let chain = crate::x509::verify_chain(
            x5c,
            id,
            &self.x509_roots,
            now,
            self.options.clock_skew_secs,
            self.crypto,
        )
        .map_err(Rejection::UntrustedChain)?;
        let issuer = TrustedIssuer {
            id: id.to_owned(),
            name: chain.root.name().map(str::to_owned),
            jwks: crate::trust_list::Jwks {
                keys: vec![chain.key],
            },
            credential_types: chain.root.credential_types().to_vec(),
            valid_from: None,
            valid_until: None,
        };
        Ok((issuer, chain.key_identifiers))
    }

    /// Checks that `issuer` may issue one of `types`, returning the first that it may.
    fn allowed_type(issuer: &TrustedIssuer, types: &[String]) -> Result<String, Rejection> {
        types
            .iter()
            .find(|t| issuer.may_issue(t))
            .cloned()
            .ok_or_else(|| Rejection::IssuerNotAllowedForType {
                issuer: issuer.id.clone(),
                credential_type: types.join(" "),
            })
    }

    /// Looks up a credential's status in the snapshot.
    fn status_of(
        &self,
        issuer: &str,
        uri: &str,
        index: u64,
        purpose: Option<&str>,
        now: UnixTime,
        warnings: &mut Vec<Warning>,
    ) -> Result<CredentialStatus, Rejection> {
        let list = self.status.lists.get(uri).ok_or_else(|| {
            Rejection::StatusUnavailable(format!("list {uri} is not in the bundle"))
        })?;
        if list.issuer != issuer {
            return Err(Rejection::StatusUnavailable(format!(
                "list {uri} is signed by {}, not by the credential's issuer",
                list.issuer
            )));
        }
        if list
            .expires_at
            .is_some_and(|exp| now.saturating_sub(self.options.clock_skew_secs) >= exp)
        {
            return Err(Rejection::StatusUnavailable(format!(
                "list {uri} has expired"
            )));
        }
        if is_stale(list, now) {
            warnings.push(Warning::StatusListStale {
                uri: uri.to_owned(),
                age_secs: now.saturating_sub(list.fetched_at),
                ttl_secs: list.ttl_secs.unwrap_or_default(),
            });
        }
        let out_of_range =
            || Rejection::StatusUnavailable(format!("index {index} is outside list {uri}"));
        let idx = usize::try_from(index).map_err(|_| out_of_range())?;
        match &list.entries {
            ListEntries::Token(entries) => match entries.get(idx).ok_or_else(out_of_range)? {
                0 => Ok(()),
                2 => Err(Rejection::Suspended),
                // 1 is INVALID; 3 and application-specific values are treated as not valid.
                _ => Err(Rejection::Revoked),
            },
            ListEntries::Bitstring {
                purpose: list_purpose,
                list: entries,
            } => {
                if purpose.is_some_and(|p| p != list_purpose) {
                    return Err(Rejection::StatusUnavailable(format!(
                        "list {uri} is for {list_purpose}, the credential asks for {}",
                        purpose.unwrap_or_default()
                    )));
                }
                match (
                    entries.get(idx).ok_or_else(out_of_range)?,
                    list_purpose.as_str(),
                ) {
                    (0, _) => Ok(()),
                    (_, "suspension") => Err(Rejection::Suspended),
                    _ => Err(Rejection::Revoked),
                }
            }
        }?;
        Ok(CredentialStatus::Valid {
            uri: uri.to_owned(),
            index,
        })
    }
}

pub(crate) fn credential(
    format: Format,
    issuer: &TrustedIssuer,
    credential_type: String,
    claims: serde_json::Value,
) -> VerifiedCredential {
    VerifiedCredential {
        format,
        issuer: issuer.id.clone(),
        issuer_name: issuer.name.clone(),
        credential_type,
        claims,
        holder_key: None,
        key_binding_verified: false,
        status: CredentialStatus::NotTracked,
        issued_at: None,
        expires_at: None,
        authority_key_ids: Vec::new(),
    }
}
