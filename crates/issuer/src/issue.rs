//! Signing credentials: claims gathered (registry record + agency-supplied), checked against the
//! type's schema, one credential per holder key, each in a random status-list slot recorded in
//! the same transaction that signs it.

use llavero_credentials::crypto::{self, Signer};
use llavero_credentials::jwk::Jwk;
use llavero_credentials::sd_jwt_vc::{self, Envelope};
use llavero_credentials::status::StatusListReference;
use llavero_credentials::status::bitstring::BitstringStatusListEntry;
use llavero_credentials::time::format_datetime;
use llavero_credentials::{did, vc_jwt};
use llavero_store::{Agency, NewCredential, Person, Slot};
use rand::Rng as _;
use serde_json::{Map, Value, json};

use crate::state::Issuer;
use crate::types::{CredentialType, Format, TypeError};

/// Why nothing was issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The agency may not issue this type.
    #[error("agency {agency} may not issue {credential_type}")]
    NotAllowed {
        /// The agency.
        agency: String,
        /// The type.
        credential_type: String,
    },
    /// The agency tried to set a claim the civil registry supplies.
    #[error("claim {0:?} comes from the civil registry, not from the agency")]
    RegistryClaim(String),
    /// The proofs' `c_nonce` is unknown, expired or used.
    #[error("c_nonce already used: get a fresh one from the nonce endpoint")]
    Nonce,
    /// The person is not active in the registry.
    #[error("the person is not active in the civil registry")]
    PersonNotActive,
    /// Claims fail the schema.
    #[error(transparent)]
    Type(#[from] TypeError),
    /// Keys.
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    /// Database.
    #[error(transparent)]
    Store(#[from] llavero_store::StoreError),
    /// Signing.
    #[error("signing: {0}")]
    Signing(String),
    /// The W3C credential built would break a VC Data Model 2.0 rule (a credential type or
    /// claims that make, for example, a subject with no claim): nothing is signed or recorded.
    #[error("the credential would not conform to the VC Data Model: {0}")]
    NonConforming(#[from] llavero_credentials::vcdm::NonConforming),
}

/// The claims of a credential of `credential_type` for `person`: the registry's, then the
/// agency's (which may not override the registry), checked against the schema.
pub fn claims_for(
    credential_type: &CredentialType,
    person: &Person,
    agency_claims: &Map<String, Value>,
) -> Result<Map<String, Value>, IssueError> {
    let mut claims = credential_type.registry_claims(person);
    for (name, value) in agency_claims {
        if credential_type.issuance.registry.contains_key(name) {
            return Err(IssueError::RegistryClaim(name.clone()));
        }
        claims.insert(name.clone(), value.clone());
    }
    credential_type.validate(&claims)?;
    Ok(claims)
}

/// One issuance.
#[derive(Debug)]
pub struct IssueRequest<'a> {
    /// The agency.
    pub agency: &'a Agency,
    /// The type.
    pub credential_type: &'a CredentialType,
    /// The format.
    pub format: Format,
    /// The citizen.
    pub person: &'a Person,
    /// Claims checked by [`claims_for`].
    pub claims: &'a Map<String, Value>,
    /// One credential per key.
    pub holder_keys: &'a [Jwk],
    /// The offer, when the pre-authorized code flow.
    pub offer_id: Option<&'a str>,
    /// A deferred issuance this completes (marked collected in the same transaction).
    pub deferred_id: Option<&'a str>,
    /// The proofs' `c_nonce` (hash and expiry), spent in the same transaction.
    pub nonce: Option<(&'a str, i64)>,
}

/// A signed credential and where its status lives.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The credential id (Llavero's, for the agency API).
    pub id: String,
    /// The compact credential.
    pub credential: String,
    /// Its slot.
    pub slot: Slot,
}

/// The URI of an agency's Token Status List number `n`.
#[must_use]
pub fn token_list_uri(issuer: &Issuer, agency: &str, n: i64) -> String {
    format!("{}/status/{n}", issuer.agency_url(agency))
}

/// The URL of an agency's W3C Bitstring Status List credential `n` for `purpose`.
#[must_use]
pub fn bitstring_list_uri(issuer: &Issuer, agency: &str, n: i64, purpose: &str) -> String {
    format!("{}/status/{n}/{purpose}", issuer.agency_url(agency))
}

/// Issues one credential per holder key, recorded and committed before returning; the
/// notification id groups them for the wallet's notification.
pub async fn issue(
    issuer: &Issuer,
    request: &IssueRequest<'_>,
    notification_id: &str,
) -> Result<Vec<Issued>, IssueError> {
    if !request
        .agency
        .credential_types
        .contains(&request.credential_type.id)
    {
        return Err(IssueError::NotAllowed {
            agency: request.agency.id.clone(),
            credential_type: request.credential_type.id.clone(),
        });
    }
    if request.person.status != llavero_store::PersonStatus::Active {
        return Err(IssueError::PersonNotActive);
    }
    let now = issuer.now();
    let keys = issuer.agency_keys(&request.agency.id).await?;
    let expires_at = now + request.credential_type.issuance.validity_days * 86_400;
    let mut transaction = issuer.platform.store.begin_issuance().await?;
    if let Some((nonce_hash, expires_at)) = request.nonce
        && !transaction.spend_nonce(nonce_hash, expires_at).await?
    {
        return Err(IssueError::Nonce);
    }
    let mut issued = Vec::with_capacity(request.holder_keys.len());
    let mut pick = |size: i64| rand::thread_rng().gen_range(0..size.max(1));
    for holder in request.holder_keys {
        let record = NewCredential {
            id: llavero_platform::random::id(),
            agency_id: request.agency.id.clone(),
            run: request.person.run,
            configuration_id: request.credential_type.configuration_id(request.format),
            format: request.format.as_str().into(),
            kid: keys.kid.clone(),
            holder_thumbprint: Some(holder.thumbprint(crypto::default_backend())),
            offer_id: request.offer_id.map(str::to_owned),
            notification_id: Some(notification_id.to_owned()),
            issued_at: now,
            expires_at,
        };
        let slot = transaction
            .record(&record, issuer.config.list_size, &mut pick, now)
            .await?;
        let credential = sign(
            issuer,
            request,
            &record,
            &slot,
            holder,
            keys.signer.as_ref(),
        )?;
        issued.push(Issued {
            id: record.id,
            credential,
            slot,
        });
    }
    if let Some(deferred) = request.deferred_id
        && !transaction.collect_deferred(deferred, now).await?
    {
        return Err(IssueError::Signing(
            "the deferred credential was already collected".into(),
        ));
    }
    transaction.commit().await?;
    Ok(issued)
}

fn sign(
    issuer: &Issuer,
    request: &IssueRequest<'_>,
    record: &NewCredential,
    slot: &Slot,
    holder: &Jwk,
    signer: &dyn Signer,
) -> Result<String, IssueError> {
    let agency = &request.agency.id;
    let idx = u64::try_from(slot.idx).map_err(|e| IssueError::Signing(e.to_string()))?;
    match request.format {
        Format::SdJwtVc => {
            let envelope = Envelope {
                issuer: issuer.agency_url(agency),
                vct: request.credential_type.vct.clone(),
                issued_at: Some(record.issued_at),
                not_before: None,
                expires_at: Some(record.expires_at),
                holder_key: Some(holder.clone()),
                status: Some(StatusListReference {
                    idx,
                    uri: token_list_uri(issuer, agency, slot.list.number),
                }),
            };
            sd_jwt_vc::issue(
                &envelope,
                request.claims,
                &request.credential_type.disclosable_in(request.claims),
                Some(&record.kid),
                0,
                signer,
                crypto::system_random(),
                crypto::default_backend(),
            )
            .map_err(|e| IssueError::Signing(e.to_string()))
        }
        Format::VcJwt => {
            let mut subject = request.claims.clone();
            subject.insert("id".into(), did::did_jwk(holder).into());
            let statuses: Vec<Value> = ["revocation", "suspension"]
                .iter()
                .map(|purpose| {
                    let uri = bitstring_list_uri(issuer, agency, slot.list.number, purpose);
                    serde_json::to_value(BitstringStatusListEntry::new(purpose, idx, &uri))
                })
                .collect::<Result<_, _>>()
                .map_err(|e| IssueError::Signing(e.to_string()))?;
            let credential = json!({
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "id": format!("urn:uuid:{}", uuid_like(&record.id)),
                "type": ["VerifiableCredential", request.credential_type.issuance.w3c_type],
                "issuer": issuer.agency_url(agency),
                "validFrom": format_datetime(record.issued_at),
                "validUntil": format_datetime(record.expires_at),
                "credentialSubject": subject,
                "credentialStatus": statuses,
            });
            vc_jwt::issue_credential(&credential, signer, Some(&record.kid)).map_err(|e| match e {
                vc_jwt::VcJwtError::NonConforming(e) => IssueError::NonConforming(e),
                other => IssueError::Signing(other.to_string()),
            })
        }
    }
}

/// A UUID-shaped rendering of a random id (for `urn:uuid:` credential ids).
fn uuid_like(id: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, id.as_bytes());
    let hex: String = digest
        .as_ref()
        .iter()
        .take(16)
        .fold(String::new(), |mut out, b| {
            use std::fmt::Write as _;
            let _ = write!(out, "{b:02x}");
            out
        });
    let part = |from: usize, to: usize| hex.get(from..to).unwrap_or_default().to_owned();
    format!(
        "{}-{}-4{}-8{}-{}",
        part(0, 8),
        part(8, 12),
        part(13, 16),
        part(17, 20),
        part(20, 32)
    )
}
