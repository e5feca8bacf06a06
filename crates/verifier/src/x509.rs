//! Issuer keys from an X.509 chain (HAIP 1.0 §6.1.1; SD-JWT VC §3.5): the issuer-signed JWT
//! carries `x5c`, the signing certificate first and then its intermediates, and the chain must
//! end at a root the relying party configured. The root itself is never in `x5c` (a chain that
//! carries its own anchor proves nothing), and the leaf is never self-signed.
//!
//! What is checked, in order, before the leaf's key verifies anything:
//!
//! * at most [`MAX_CHAIN`] certificates of at most [`MAX_CERTIFICATE_BYTES`] each, each DER
//!   with nothing after it;
//! * no certificate of the chain is a configured root, and the leaf does not sign itself;
//! * each certificate is signed by the next one, and the last by a configured root whose subject
//!   is its issuer (ECDSA P-256/SHA-256 or P-384/SHA-384, through the [`CryptoBackend`]);
//! * every certificate of the path, the root included, is within its validity at `now` (with
//!   the verifier's clock skew);
//! * the intermediates and the root are CAs (`basicConstraints` `cA`), the leaf is not;
//! * no certificate has a critical extension this module does not understand;
//! * the credential's `iss` names the leaf: a `uniformResourceIdentifier` SAN equal to it, or
//!   for `dns:` issuers a `dNSName` SAN.
//!
//! The chain's key identifiers (SKI and AKI of each certificate, the root's SKI) are kept so a
//! DCQL `trusted_authorities` query of type `aki` (OpenID4VP 1.0 §6.1.1) can be answered.
//!
//! Parsing is `x509-parser`'s (pure Rust, no OpenSSL); signatures go through the same crypto
//! backend as every JWS, so the chain is checked the same way on a server and on a phone.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use llavero_credentials::crypto::{Algorithm, CryptoBackend};
use llavero_credentials::jwk::{Jwk, PublicKey};
use llavero_credentials::time::UnixTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_SIG_ECDSA_WITH_SHA256,
    OID_SIG_ECDSA_WITH_SHA384,
};
use x509_parser::prelude::FromDer as _;
use x509_parser::x509::SubjectPublicKeyInfo;

/// Most certificates in an `x5c` chain (leaf and intermediates).
pub const MAX_CHAIN: usize = 5;
/// The largest certificate accepted (DER), checked before parsing.
pub const MAX_CERTIFICATE_BYTES: usize = 8 * 1024;

/// Why a chain was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// No certificate, or more than [`MAX_CHAIN`].
    #[error("x5c holds {0} certificates; 1 to {MAX_CHAIN} are accepted")]
    Length(usize),
    /// A certificate is not base64 DER, is too large, or does not parse.
    #[error("certificate {index} of x5c: {why}")]
    Malformed {
        /// Its position (0 is the leaf).
        index: usize,
        /// What is wrong.
        why: String,
    },
    /// A configured root is in the chain.
    #[error("x5c carries the trust anchor itself (certificate {0}); the root is never sent")]
    RootInChain(usize),
    /// The leaf is signed by its own key.
    #[error("the signing certificate is self-signed")]
    SelfSignedLeaf,
    /// A certificate is not issued by the next one.
    #[error("certificate {index} is not signed by the certificate after it")]
    BrokenLink {
        /// The certificate whose signature fails or whose issuer differs.
        index: usize,
    },
    /// The chain ends at no configured root.
    #[error("the chain does not end at a configured root")]
    UnknownRoot,
    /// A certificate of the path is outside its validity.
    #[error("certificate {index} is valid from {not_before} to {not_after} (now {now})")]
    OutsideValidity {
        /// Its position (the root is the chain's length).
        index: usize,
        /// Start of validity.
        not_before: UnixTime,
        /// End of validity.
        not_after: UnixTime,
        /// Verifier time.
        now: UnixTime,
    },
    /// An intermediate or root that is not a CA, or a leaf that is.
    #[error("certificate {index}: {why}")]
    Constraints {
        /// Its position.
        index: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// A key or signature algorithm other than ECDSA P-256/P-384.
    #[error("certificate {index}: unsupported algorithm {oid}")]
    UnsupportedAlgorithm {
        /// Its position.
        index: usize,
        /// The algorithm.
        oid: String,
    },
    /// The credential's `iss` is not a name of the leaf.
    #[error("the signing certificate does not name the issuer {0:?}")]
    IssuerNotInCertificate(String),
}

/// A root the relying party trusts to certify issuers, and what those issuers may issue.
#[derive(Clone)]
pub struct X509Root {
    der: Vec<u8>,
    name: Option<String>,
    credential_types: Vec<String>,
}

impl std::fmt::Debug for X509Root {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X509Root")
            .field("name", &self.name)
            .field("credential_types", &self.credential_types)
            .finish_non_exhaustive()
    }
}

impl X509Root {
    /// A root from its DER certificate; its issuers may issue `credential_types` (`vct` values
    /// or W3C types). The certificate must be a CA with a supported key.
    pub fn from_der(
        der: Vec<u8>,
        name: Option<String>,
        credential_types: Vec<String>,
    ) -> Result<Self, ChainError> {
        let cert = parse(&der, 0)?;
        if !is_ca(&cert) {
            return Err(ChainError::Constraints {
                index: 0,
                why: "a root must be a CA",
            });
        }
        key_of(cert.public_key(), 0)?;
        Ok(Self {
            der,
            name,
            credential_types,
        })
    }

    /// Its certificate (DER).
    #[must_use]
    pub fn certificate(&self) -> &[u8] {
        &self.der
    }

    /// The display name given to issuers it certifies.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// What its issuers may issue.
    #[must_use]
    pub fn credential_types(&self) -> &[String] {
        &self.credential_types
    }
}

/// A chain that holds: the leaf's key and what the chain says about its authorities.
#[derive(Debug, Clone)]
pub struct VerifiedChain {
    /// The signing certificate's key.
    pub key: Jwk,
    /// The root it ends at.
    pub root: X509Root,
    /// Key identifiers (base64url) of the path: each certificate's SKI and AKI, the root's SKI.
    pub key_identifiers: Vec<String>,
}

/// Checks `x5c` (standard base64 DER, leaf first) for the credential issued by `issuer`,
/// against `roots`, at `now` with `skew` seconds of tolerance.
pub fn verify_chain(
    x5c: &[String],
    issuer: &str,
    roots: &[X509Root],
    now: UnixTime,
    skew: i64,
    crypto: &dyn CryptoBackend,
) -> Result<VerifiedChain, ChainError> {
    if x5c.is_empty() || x5c.len() > MAX_CHAIN {
        return Err(ChainError::Length(x5c.len()));
    }
    let ders = x5c
        .iter()
        .enumerate()
        .map(|(index, b64)| {
            if b64.len() > MAX_CERTIFICATE_BYTES * 4 / 3 + 4 {
                return Err(ChainError::Malformed {
                    index,
                    why: "too large".into(),
                });
            }
            STANDARD.decode(b64).map_err(|_| ChainError::Malformed {
                index,
                why: "not base64".into(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let chain = ders
        .iter()
        .enumerate()
        .map(|(index, der)| {
            if roots.iter().any(|r| r.der == *der) {
                return Err(ChainError::RootInChain(index));
            }
            parse(der, index)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = chain.first().ok_or(ChainError::Length(0))?;
    if leaf.subject().as_raw() == leaf.issuer().as_raw()
        || signed_by(leaf, leaf.public_key(), 0, crypto).is_ok()
    {
        return Err(ChainError::SelfSignedLeaf);
    }
    if is_ca(leaf) {
        return Err(ChainError::Constraints {
            index: 0,
            why: "the signing certificate must not be a CA",
        });
    }
    for (index, pair) in chain.windows(2).enumerate() {
        if let [child, parent] = pair {
            if child.issuer().as_raw() != parent.subject().as_raw() {
                return Err(ChainError::BrokenLink { index });
            }
            signed_by(child, parent.public_key(), index, crypto)?;
            if !is_ca(parent) {
                return Err(ChainError::Constraints {
                    index: index + 1,
                    why: "an intermediate must be a CA",
                });
            }
        }
    }
    let last = chain.last().ok_or(ChainError::Length(0))?;
    let last_index = chain.len() - 1;
    let (root, root_cert) = roots
        .iter()
        .filter_map(|r| Some((r, parse(&r.der, chain.len()).ok()?)))
        .find(|(_, cert)| {
            cert.subject().as_raw() == last.issuer().as_raw()
                && signed_by(last, cert.public_key(), last_index, crypto).is_ok()
        })
        .ok_or(ChainError::UnknownRoot)?;
    within_validity(chain.iter().chain(std::iter::once(&root_cert)), now, skew)?;
    names_issuer(leaf, issuer)?;
    let key_identifiers = chain
        .iter()
        .chain(std::iter::once(&root_cert))
        .flat_map(key_ids)
        .collect();
    Ok(VerifiedChain {
        key: key_of(leaf.public_key(), 0)?,
        root: root.clone(),
        key_identifiers,
    })
}

/// Checks every certificate of the path is within its validity and has no critical extension
/// this module does not understand.
fn within_validity<'a, 'c: 'a>(
    path: impl Iterator<Item = &'a X509Certificate<'c>>,
    now: UnixTime,
    skew: i64,
) -> Result<(), ChainError> {
    for (index, cert) in path.enumerate() {
        let validity = cert.validity();
        let (not_before, not_after) = (
            validity.not_before.timestamp(),
            validity.not_after.timestamp(),
        );
        if now.saturating_add(skew) < not_before || now.saturating_sub(skew) > not_after {
            return Err(ChainError::OutsideValidity {
                index,
                not_before,
                not_after,
                now,
            });
        }
        if let Some(ext) = cert.extensions().iter().find(|e| {
            e.critical
                && matches!(
                    e.parsed_extension(),
                    ParsedExtension::UnsupportedExtension { .. }
                )
        }) {
            return Err(ChainError::Malformed {
                index,
                why: format!("unknown critical extension {}", ext.oid),
            });
        }
    }
    Ok(())
}

fn parse(der: &[u8], index: usize) -> Result<X509Certificate<'_>, ChainError> {
    if der.len() > MAX_CERTIFICATE_BYTES {
        return Err(ChainError::Malformed {
            index,
            why: "too large".into(),
        });
    }
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(ChainError::Malformed {
            index,
            why: "trailing bytes after the certificate".into(),
        }),
        Err(e) => Err(ChainError::Malformed {
            index,
            why: e.to_string(),
        }),
    }
}

fn is_ca(cert: &X509Certificate<'_>) -> bool {
    matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca)
}

/// The key of a certificate: an EC key on P-256 or P-384.
fn key_of(spki: &SubjectPublicKeyInfo<'_>, index: usize) -> Result<Jwk, ChainError> {
    let unsupported = |oid: String| ChainError::UnsupportedAlgorithm { index, oid };
    if spki.algorithm.algorithm != OID_KEY_TYPE_EC_PUBLIC_KEY {
        return Err(unsupported(spki.algorithm.algorithm.to_id_string()));
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .ok_or_else(|| unsupported("an EC key without a named curve".into()))?;
    let point = spki.subject_public_key.data.as_ref();
    let key = if curve == OID_EC_P256 {
        PublicKey::p256_from_sec1(point).map_err(|e| ChainError::Malformed {
            index,
            why: e.to_string(),
        })?
    } else if curve == OID_NIST_EC_P384 && point.len() == 97 {
        PublicKey::P384(point.to_vec())
    } else {
        return Err(unsupported(curve.to_id_string()));
    };
    Ok(Jwk::new(key))
}

/// Checks that `cert` is signed by the key in `spki`.
fn signed_by(
    cert: &X509Certificate<'_>,
    spki: &SubjectPublicKeyInfo<'_>,
    index: usize,
    crypto: &dyn CryptoBackend,
) -> Result<(), ChainError> {
    let oid = &cert.signature_algorithm.algorithm;
    let (alg, width) = if *oid == OID_SIG_ECDSA_WITH_SHA256 {
        (Algorithm::Es256, 32)
    } else if *oid == OID_SIG_ECDSA_WITH_SHA384 {
        (Algorithm::Es384, 48)
    } else {
        return Err(ChainError::UnsupportedAlgorithm {
            index,
            oid: oid.to_id_string(),
        });
    };
    let key = key_of(spki, index)?;
    let broken = ChainError::BrokenLink { index };
    let raw = ecdsa_raw(cert.signature_value.data.as_ref(), width).ok_or(broken.clone())?;
    crypto
        .verify(alg, key.key(), cert.tbs_certificate.as_ref(), &raw)
        .map_err(|_| broken)
}

/// An ECDSA signature from DER (`SEQUENCE { r INTEGER, s INTEGER }`) to JWS form (`r || s`,
/// each `width` bytes); `None` if it is not exactly that.
fn ecdsa_raw(der: &[u8], width: usize) -> Option<Vec<u8>> {
    fn header(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (&t, rest) = input.split_first()?;
        if t != tag {
            return None;
        }
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = match first {
            0..=0x7f => (usize::from(first), rest),
            0x81 => {
                let (&len, rest) = rest.split_first()?;
                (usize::from(len), rest)
            }
            _ => return None,
        };
        rest.split_at_checked(len)
    }
    let (body, rest) = header(der, 0x30)?;
    if !rest.is_empty() {
        return None;
    }
    let (r, body) = header(body, 0x02)?;
    let (s, rest) = header(body, 0x02)?;
    if !rest.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(width * 2);
    for int in [r, s] {
        let int = match int {
            [0, rest @ ..] => rest,
            other => other,
        };
        if int.len() > width {
            return None;
        }
        out.resize(out.len() + width - int.len(), 0);
        out.extend_from_slice(int);
    }
    Some(out)
}

/// The key identifiers of a certificate: its SKI, and its AKI's key identifier.
fn key_ids(cert: &X509Certificate<'_>) -> Vec<String> {
    cert.extensions()
        .iter()
        .filter_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(ski) => Some(URL_SAFE_NO_PAD.encode(ski.0)),
            ParsedExtension::AuthorityKeyIdentifier(aki) => aki
                .key_identifier
                .as_ref()
                .map(|k| URL_SAFE_NO_PAD.encode(k.0)),
            _ => None,
        })
        .collect()
}

/// Checks that the leaf names `issuer` (SD-JWT VC §3.5): a URI SAN equal to it, or for a
/// `dns:` issuer a DNS SAN.
fn names_issuer(leaf: &X509Certificate<'_>, issuer: &str) -> Result<(), ChainError> {
    let names = match leaf.subject_alternative_name() {
        Ok(Some(san)) => san.value.general_names.clone(),
        _ => Vec::new(),
    };
    let dns = issuer.strip_prefix("dns:");
    let named = names.iter().any(|name| match (name, dns) {
        (GeneralName::DNSName(d), Some(want)) => d.eq_ignore_ascii_case(want),
        (GeneralName::URI(u), None) => *u == issuer,
        _ => false,
    });
    if named {
        Ok(())
    } else {
        Err(ChainError::IssuerNotInCertificate(issuer.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::ecdsa_raw;

    #[test]
    fn ecdsa_signatures_convert_or_are_refused() {
        // r = 0x00ff (a leading zero for the sign), s = 0x01.
        let der = [0x30, 0x07, 0x02, 0x02, 0x00, 0xff, 0x02, 0x01, 0x01];
        let raw = ecdsa_raw(&der, 2);
        assert_eq!(raw, Some(vec![0x00, 0xff, 0x00, 0x01]));
        assert_eq!(ecdsa_raw(&der[..8], 2), None);
        assert_eq!(ecdsa_raw(&[0x30, 0x85, 1, 1, 1, 1, 1], 32), None);
        assert_eq!(ecdsa_raw(&[], 32), None);
        let long = [0x30, 0x06, 0x02, 0x04, 1, 2, 3, 4, 0x02, 0x00];
        assert_eq!(ecdsa_raw(&long, 2), None);
    }
}
