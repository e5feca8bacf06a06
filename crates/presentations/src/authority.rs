//! The presentation authority: the Llavero certificate authority whose root the operator gives
//! to wallets, and which certifies each relying party's request-signing key (the relying-party
//! access certificate of the EU model). Its root key is created by the first instance to start,
//! sealed under the master key, and shared by every instance through the database.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use llavero_credentials::crypto::CryptoError;
use llavero_store::{Store, StoreError};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::seal::{SealFailed, Sealer};
use crate::signing::PkcsSigner;

/// The label the root key is sealed under.
const ROOT_LABEL: &str = "presentation-authority:root";
/// How long the root is valid.
const ROOT_YEARS: i64 = 20;

/// Why the authority could not load, create or certify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The root key does not open under this master key.
    #[error(transparent)]
    Seal(#[from] SealFailed),
    /// A certificate could not be built.
    #[error("certificate: {0}")]
    Certificate(String),
    /// A key could not be used.
    #[error(transparent)]
    Key(#[from] CryptoError),
}

impl From<rcgen::Error> for AuthorityError {
    fn from(e: rcgen::Error) -> Self {
        Self::Certificate(e.to_string())
    }
}

/// The root: its key and certificate.
pub struct Authority {
    pkcs8: Zeroizing<Vec<u8>>,
    certificate: Vec<u8>,
    signer: PkcsSigner,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").finish_non_exhaustive()
    }
}

fn root_params(now: i64) -> Result<CertificateParams, AuthorityError> {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "Llavero relying-party CA");
    name.push(DnType::OrganizationName, "Llavero");
    name.push(DnType::CountryName, "CL");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = time_at(now - 60)?;
    params.not_after = time_at(now + ROOT_YEARS * 365 * 86_400)?;
    Ok(params)
}

fn time_at(unix: i64) -> Result<OffsetDateTime, AuthorityError> {
    OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|e| AuthorityError::Certificate(e.to_string()))
}

fn key_pair(pkcs8: &[u8]) -> Result<KeyPair, AuthorityError> {
    Ok(KeyPair::try_from(pkcs8)?)
}

/// A random positive serial number (RFC 5280 §4.1.2.2: unique, at most 20 octets).
fn serial() -> SerialNumber {
    let mut bytes = llavero_platform::random::bytes::<16>();
    if let Some(first) = bytes.first_mut() {
        *first &= 0x7f;
    }
    SerialNumber::from_slice(&bytes)
}

impl Authority {
    /// The stored root, or a new one if this is the first start.
    pub async fn load_or_create(
        store: &Store,
        sealer: &dyn Sealer,
        now: i64,
    ) -> Result<Self, AuthorityError> {
        if store.presentation_authority().await?.is_none() {
            let (pkcs8, _) = PkcsSigner::generate()?;
            let certificate = root_params(now)?.self_signed(&key_pair(&pkcs8)?)?;
            store
                .add_presentation_authority(
                    &sealer.seal(ROOT_LABEL, &pkcs8)?,
                    certificate.der(),
                    now,
                )
                .await?;
        }
        let (sealed, certificate) = store
            .presentation_authority()
            .await?
            .ok_or_else(|| AuthorityError::Certificate("the stored root vanished".into()))?;
        let pkcs8 = sealer.open(ROOT_LABEL, &sealed)?;
        let signer = PkcsSigner::from_pkcs8(&pkcs8)?;
        Ok(Self {
            pkcs8,
            certificate,
            signer,
        })
    }

    /// The root certificate (DER).
    #[must_use]
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    /// The root certificate as PEM, for operators to hand to wallets.
    #[must_use]
    pub fn pem(&self) -> String {
        let body = STANDARD.encode(&self.certificate);
        let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in body.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
        out
    }

    /// The root's signer (it signs the relying-party list).
    #[must_use]
    pub fn signer(&self) -> &PkcsSigner {
        &self.signer
    }

    /// Certifies a relying party's key: its name as subject, its DNS name (if any) as the
    /// only subject alternative name, for signatures only.
    pub fn certify(
        &self,
        name: &str,
        dns_name: Option<&str>,
        party_pkcs8: &[u8],
        now: i64,
        days: i64,
    ) -> Result<Vec<u8>, AuthorityError> {
        let root_key = key_pair(&self.pkcs8)?;
        let root = root_params(now)?;
        let issuer = Issuer::from_params(&root, &root_key);
        let mut params = CertificateParams::default();
        let mut subject = DistinguishedName::new();
        subject.push(DnType::CommonName, name);
        subject.push(DnType::CountryName, "CL");
        params.distinguished_name = subject;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(serial());
        params.not_before = time_at(now - 60)?;
        params.not_after = time_at(now + days * 86_400)?;
        if let Some(dns) = dns_name {
            params.subject_alt_names = vec![SanType::DnsName(dns.try_into()?)];
        }
        let party_key = key_pair(party_pkcs8)?;
        Ok(params.signed_by(&party_key, &issuer)?.der().to_vec())
    }
}
