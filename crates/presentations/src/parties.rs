//! Relying parties: registration (a signing key certified by the presentation authority, what
//! it may ask for), their API clients, and the client identifiers their requests carry.

use std::sync::Arc;

use llavero_store::{RelyingParty, RelyingPartyClient, hash_secret};

use crate::authority::AuthorityError;
use crate::registration::Registration;
use crate::signing::{PkcsSigner, x509_hash};
use crate::state::{Presentations, SealFailed, random_token};

/// Why a relying party could not be added or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PartyError {
    /// The id is taken.
    #[error("relying party {0} exists")]
    Exists(String),
    /// No such relying party.
    #[error("no relying party {0}")]
    Unknown(String),
    /// An id or name that cannot be used.
    #[error("invalid relying party: {0}")]
    Invalid(String),
    /// The certificate could not be issued.
    #[error(transparent)]
    Authority(#[from] AuthorityError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] llavero_store::StoreError),
    /// A key does not open.
    #[error(transparent)]
    Seal(#[from] SealFailed),
    /// A stored registration is unreadable.
    #[error("registration of {0} is unreadable")]
    Registration(String),
    /// A key cannot be used.
    #[error(transparent)]
    Key(#[from] llavero_credentials::crypto::CryptoError),
}

fn key_label(id: &str) -> String {
    format!("relying-party:{id}")
}

/// The client identifier prefixes a request may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
pub enum ClientIdPrefix {
    /// `x509_hash:` (HAIP's): the SHA-256 of the signing certificate.
    #[default]
    #[serde(rename = "x509_hash")]
    X509Hash,
    /// `x509_san_dns:`: the certificate's DNS name.
    #[serde(rename = "x509_san_dns")]
    X509SanDns,
    /// `redirect_uri:` (OpenID4VP 1.0 §5.9.3): the response URI itself, with an unsigned
    /// request. Nothing proves who asks, so it is for development only, refused unless the
    /// service is configured with
    /// [`crate::PresentationsConfig::dangerous_allow_redirect_uri_client_ids`].
    #[serde(rename = "redirect_uri")]
    RedirectUri,
}

/// A relying party as its requests use it.
#[derive(Debug)]
pub struct Party {
    /// The stored row.
    pub row: RelyingParty,
    /// What it may ask for.
    pub registration: Registration,
}

impl Party {
    /// Reads a stored relying party.
    pub fn from_row(row: RelyingParty) -> Result<Self, PartyError> {
        let registration = serde_json::from_str(&row.registration)
            .map_err(|_| PartyError::Registration(row.id.clone()))?;
        Ok(Self { row, registration })
    }

    /// Its client identifier under `prefix`, or `None` for `x509_san_dns` without a DNS name
    /// and for `redirect_uri` (whose identifier is a transaction's response URI, not the
    /// relying party's).
    #[must_use]
    pub fn client_id(&self, prefix: ClientIdPrefix) -> Option<String> {
        match prefix {
            ClientIdPrefix::X509Hash => {
                Some(format!("x509_hash:{}", x509_hash(&self.row.certificate)))
            }
            ClientIdPrefix::X509SanDns => self
                .row
                .dns_name
                .as_ref()
                .map(|dns| format!("x509_san_dns:{dns}")),
            ClientIdPrefix::RedirectUri => None,
        }
    }

    /// Its request-signing key.
    pub fn signer(&self, service: &Presentations) -> Result<PkcsSigner, PartyError> {
        let pkcs8 = service
            .sealer()
            .open(&key_label(&self.row.id), &self.row.sealed_private_key)?;
        Ok(PkcsSigner::from_pkcs8(&pkcs8)?)
    }
}

/// How long a relying party read from the database is used before it is read again: every
/// request object needs its certificate and signing key, and registrations change only by
/// operator command (seen by every instance within this time, as the issuer's agencies are).
pub const CACHE_SECS: i64 = 60;

/// A relying party ready to sign its requests.
#[derive(Debug)]
pub struct Ready {
    /// The relying party.
    pub party: Party,
    /// Its request-signing key, opened.
    pub signer: PkcsSigner,
}

/// A relying party by id with its opened key, from the cache when read within
/// [`CACHE_SECS`] (opening the sealed key and parsing it cost more than the rest of a request).
pub async fn ready(service: &Presentations, id: &str) -> Result<Arc<Ready>, PartyError> {
    let now = service.now();
    if let Some(ready) = service
        .parties
        .get::<Ready>(id, now.saturating_sub(CACHE_SECS - 1))
    {
        return Ok(ready);
    }
    let party = get(service, id).await?;
    let signer = party.signer(service)?;
    let ready = Arc::new(Ready { party, signer });
    service.parties.put(id, now, Arc::clone(&ready));
    Ok(ready)
}

/// A relying party by id.
pub async fn get(service: &Presentations, id: &str) -> Result<Party, PartyError> {
    let row = service
        .store
        .relying_party(id)
        .await?
        .ok_or_else(|| PartyError::Unknown(id.to_owned()))?;
    Party::from_row(row)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Registers a relying party: a new P-256 key, certified by the presentation authority with
/// `dns_name` as its subject alternative name, sealed at rest.
pub async fn add(
    service: &Presentations,
    id: &str,
    name: &str,
    dns_name: Option<&str>,
    registration: &Registration,
) -> Result<Party, PartyError> {
    if !valid_id(id) {
        return Err(PartyError::Invalid(format!(
            "id {id:?}: lowercase letters, digits and hyphens"
        )));
    }
    if name.trim().is_empty() || name.len() > 200 {
        return Err(PartyError::Invalid("a name of 1 to 200 characters".into()));
    }
    let now = service.now();
    let (pkcs8, _) = PkcsSigner::generate()?;
    let certificate =
        service
            .authority
            .certify(name, dns_name, &pkcs8, now, service.config.certificate_days)?;
    let row = RelyingParty {
        id: id.to_owned(),
        name: name.trim().to_owned(),
        dns_name: dns_name.map(str::to_owned),
        registration: serde_json::to_string(registration)
            .map_err(|_| PartyError::Registration(id.to_owned()))?,
        sealed_private_key: service.sealer().seal(&key_label(id), &pkcs8)?,
        certificate,
        created_at: now,
    };
    if !service.store.add_relying_party(&row).await? {
        return Err(PartyError::Exists(id.to_owned()));
    }
    Party::from_row(row)
}

/// Adds an API client for the relying party; returns its id and secret (shown once).
pub async fn add_client(
    service: &Presentations,
    party: &str,
) -> Result<(String, String), PartyError> {
    get(service, party).await?;
    let id = format!("rp-{party}-{}", random_token().get(..8).unwrap_or_default());
    let secret = random_token();
    service
        .store
        .add_relying_party_client(
            &RelyingPartyClient {
                id: id.clone(),
                party_id: party.to_owned(),
                secret_hash: hash_secret(&secret),
            },
            service.now(),
        )
        .await?;
    Ok((id, secret))
}
