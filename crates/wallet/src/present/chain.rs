//! The certificate chain of a signed request object (`x5c`, RFC 7515 §4.1.6): the leaf first,
//! then intermediates, never the trust anchor (HAIP 1.0). Each certificate must be signed by
//! the next, the last by one of the roots the operator configured (the presentation
//! authority's root for Llavero's relying parties), every one valid now; the issuers must be
//! certificate authorities and the leaf must not be one.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use llavero_credentials::jwk::{Jwk, PublicKey};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer as _;
use x509_parser::time::ASN1Time;

/// Most certificates in an `x5c` (leaf and intermediates).
pub const MAX_CHAIN: usize = 4;

/// Why a chain is not trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// No `x5c`, too many certificates, or one that does not parse.
    #[error("certificate chain: {0}")]
    Malformed(String),
    /// A certificate is not signed by the next one, or the last by no configured root.
    #[error("the certificate does not chain to a trusted root")]
    Untrusted,
    /// A certificate is outside its validity period.
    #[error("a certificate of the chain is expired or not yet valid")]
    Expired,
    /// The leaf's key is not a P-256 key, or the leaf is a certificate authority.
    #[error("the signing certificate is not usable: {0}")]
    Leaf(String),
}

/// What a trusted chain tells about its leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// The leaf's public key.
    pub key: Jwk,
    /// base64url(SHA-256(leaf DER)): the `x509_hash` client identifier (OpenID4VP 1.0 §5.9.3).
    pub hash: String,
    /// The leaf's DNS subject alternative names (`x509_san_dns`).
    pub dns_names: Vec<String>,
    /// The leaf's subject common name, if any.
    pub common_name: Option<String>,
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, ChainError> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        _ => Err(ChainError::Malformed("a certificate does not parse".into())),
    }
}

/// Checks `x5c` (standard base64 DER, leaf first) against `roots` (DER) at `now`.
pub fn verify(x5c: &[String], roots: &[Vec<u8>], now: i64) -> Result<Leaf, ChainError> {
    if x5c.is_empty() || x5c.len() > MAX_CHAIN {
        return Err(ChainError::Malformed(format!(
            "{} certificates (1 to {MAX_CHAIN} expected)",
            x5c.len()
        )));
    }
    let ders: Vec<Vec<u8>> = x5c
        .iter()
        .map(|c| STANDARD.decode(c))
        .collect::<Result<_, _>>()
        .map_err(|_| ChainError::Malformed("x5c is not base64".into()))?;
    let chain: Vec<X509Certificate<'_>> =
        ders.iter().map(|d| parse(d)).collect::<Result<_, _>>()?;
    let anchors: Vec<X509Certificate<'_>> = roots.iter().filter_map(|d| parse(d).ok()).collect();
    let at = ASN1Time::from_timestamp(now).map_err(|_| ChainError::Expired)?;
    let (leaf, issuers) = chain
        .split_first()
        .ok_or_else(|| ChainError::Malformed("empty chain".into()))?;
    if leaf.is_ca() {
        return Err(ChainError::Leaf("it is a certificate authority".into()));
    }
    for (cert, issuer) in chain.iter().zip(issuers) {
        if !issuer.is_ca() || cert.verify_signature(Some(issuer.public_key())).is_err() {
            return Err(ChainError::Untrusted);
        }
    }
    if chain.iter().any(|c| !c.validity().is_valid_at(at)) {
        return Err(ChainError::Expired);
    }
    let last = chain.last().unwrap_or(leaf);
    let anchor = anchors
        .iter()
        .find(|root| root.is_ca() && last.verify_signature(Some(root.public_key())).is_ok())
        .ok_or(ChainError::Untrusted)?;
    if !anchor.validity().is_valid_at(at) {
        return Err(ChainError::Expired);
    }
    let point = &leaf.public_key().subject_public_key.data;
    let key = PublicKey::p256_from_sec1(point)
        .map_err(|_| ChainError::Leaf("its key is not a P-256 key".into()))?;
    let dns_names = leaf
        .subject_alternative_name()
        .map_err(|_| ChainError::Malformed("subject alternative names".into()))?
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let common_name = leaf
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);
    let leaf_der = ders.first().map_or(&[][..], Vec::as_slice);
    Ok(Leaf {
        key: Jwk::new(key),
        hash: URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, leaf_der)),
        dns_names,
        common_name,
    })
}

/// Reads a PEM bundle of root certificates into DER (for the operator's configuration).
pub fn roots_from_pem(pem: &str) -> Result<Vec<Vec<u8>>, ChainError> {
    let mut roots = Vec::new();
    let mut body: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            let text = body
                .take()
                .ok_or_else(|| ChainError::Malformed("PEM without BEGIN".into()))?;
            let der = STANDARD
                .decode(text)
                .map_err(|_| ChainError::Malformed("PEM is not base64".into()))?;
            parse(&der)?;
            roots.push(der);
        } else if let Some(text) = body.as_mut() {
            text.push_str(line);
        }
    }
    Ok(roots)
}
