//! The presentation service's tables: relying parties (their sealed signing keys and
//! certificates), their API clients and tokens, the certificate authority's root, and the
//! transactions in flight. A transaction is answered once: the answer is verified first and then
//! claimed with its result in one conditional update, so a refused attempt never uses the
//! transaction up and two answers racing on two instances cannot both land. Its row is deleted
//! when the relying party reads the result or when it expires, so no citizen's claim outlives
//! its reading.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// A registered relying party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// Short identifier (`farmacia-demo`).
    pub id: String,
    /// Its name, as shown to citizens.
    pub name: String,
    /// The DNS name its certificate carries, for `x509_san_dns`.
    pub dns_name: Option<String>,
    /// What it may ask for, its presets and redirect URIs (JSON, the service's shape).
    pub registration: String,
    /// Its sealed PKCS#8 signing key.
    pub sealed_private_key: Vec<u8>,
    /// Its certificate (DER), issued by the presentation authority.
    pub certificate: Vec<u8>,
    /// Registered.
    pub created_at: i64,
}

/// A relying party's API client (`client_credentials`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingPartyClient {
    /// Client id.
    pub id: String,
    /// The only relying party it acts for.
    pub party_id: String,
    /// SHA-256 of its secret.
    pub secret_hash: String,
}

/// A presentation transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationTransaction {
    /// Its id (unguessable: it is in the request URI).
    pub id: String,
    /// The relying party that asked.
    pub party_id: String,
    /// The request (JSON, the service's shape).
    pub request: String,
    /// The sealed private key responses are encrypted to.
    pub sealed_response_key: Vec<u8>,
    /// Created.
    pub created_at: i64,
    /// No answer is taken after this, and the row is deleted.
    pub expires_at: i64,
    /// When a wallet's answer was taken (answered once).
    pub responded_at: Option<i64>,
    /// SHA-256 of the same-device response code.
    pub response_code_hash: Option<String>,
    /// The answer (JSON) once `responded_at` is set, until it is read; before that, the last
    /// refused attempt (what the relying party may see while the transaction stays open).
    pub result: Option<String>,
}

/// A transaction deleted when it expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredPresentation {
    /// Its id.
    pub id: String,
    /// The relying party that asked.
    pub party_id: String,
    /// Whether a wallet had answered it (its result was never read).
    pub answered: bool,
}

fn party_from_row(row: &AnyRow) -> Result<RelyingParty, StoreError> {
    Ok(RelyingParty {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        dns_name: row.try_get("dns_name")?,
        registration: row.try_get("registration")?,
        sealed_private_key: row.try_get("sealed_private_key")?,
        certificate: row.try_get("certificate")?,
        created_at: row.try_get("created_at")?,
    })
}

fn transaction_from_row(row: &AnyRow) -> Result<PresentationTransaction, StoreError> {
    Ok(PresentationTransaction {
        id: row.try_get("id")?,
        party_id: row.try_get("party_id")?,
        request: row.try_get("request")?,
        sealed_response_key: row.try_get("sealed_response_key")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        responded_at: row.try_get("responded_at")?,
        response_code_hash: row.try_get("response_code_hash")?,
        result: row.try_get("result")?,
    })
}

const PARTY_COLUMNS: &str =
    "id, name, dns_name, registration, sealed_private_key, certificate, created_at";
const TRANSACTION_COLUMNS: &str = "id, party_id, request, sealed_response_key, created_at, \
     expires_at, responded_at, response_code_hash, result";

impl Store {
    /// Adds a relying party; `false` if one with its id exists (it is then left unchanged).
    pub async fn add_relying_party(&self, party: &RelyingParty) -> Result<bool, StoreError> {
        let added = sqlx::query(
            "INSERT INTO relying_parties (id, name, dns_name, registration, sealed_private_key, \
             certificate, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&party.id)
        .bind(&party.name)
        .bind(&party.dns_name)
        .bind(&party.registration)
        .bind(&party.sealed_private_key)
        .bind(&party.certificate)
        .bind(party.created_at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(added == 1)
    }

    /// Replaces what a relying party may ask for (its key and certificate are kept).
    pub async fn update_relying_party(
        &self,
        id: &str,
        name: &str,
        registration: &str,
    ) -> Result<bool, StoreError> {
        let updated =
            sqlx::query("UPDATE relying_parties SET name = $2, registration = $3 WHERE id = $1")
                .bind(id)
                .bind(name)
                .bind(registration)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(updated == 1)
    }

    /// One relying party.
    pub async fn relying_party(&self, id: &str) -> Result<Option<RelyingParty>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PARTY_COLUMNS} FROM relying_parties WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(party_from_row).transpose()
    }

    /// Every relying party, by id.
    pub async fn relying_parties(&self) -> Result<Vec<RelyingParty>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PARTY_COLUMNS} FROM relying_parties ORDER BY id"
        ))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(party_from_row).collect()
    }

    /// Registers a relying party's API client.
    pub async fn add_relying_party_client(
        &self,
        client: &RelyingPartyClient,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO relying_party_clients (id, party_id, secret_hash, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&client.id)
        .bind(&client.party_id)
        .bind(&client.secret_hash)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A relying party's API client.
    pub async fn relying_party_client(
        &self,
        id: &str,
    ) -> Result<Option<RelyingPartyClient>, StoreError> {
        let row = sqlx::query(
            "SELECT id, party_id, secret_hash FROM relying_party_clients WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| {
            Ok(RelyingPartyClient {
                id: row.try_get("id")?,
                party_id: row.try_get("party_id")?,
                secret_hash: row.try_get("secret_hash")?,
            })
        })
        .transpose()
    }

    /// Records a relying-party API access token (hashed).
    pub async fn put_relying_party_token(
        &self,
        token_hash: &str,
        client: &RelyingPartyClient,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO relying_party_tokens (token_hash, client_id, party_id, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(&client.id)
        .bind(&client.party_id)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The client and relying party of a live access token.
    pub async fn relying_party_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT client_id, party_id FROM relying_party_tokens \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| Ok((row.try_get("client_id")?, row.try_get("party_id")?)))
            .transpose()
    }

    /// The presentation authority's root (sealed key, certificate), if created.
    pub async fn presentation_authority(&self) -> Result<Option<(Vec<u8>, Vec<u8>)>, StoreError> {
        let row = sqlx::query(
            "SELECT sealed_private_key, certificate FROM presentation_authority WHERE id = 'root'",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok((
                row.try_get("sealed_private_key")?,
                row.try_get("certificate")?,
            ))
        })
        .transpose()
    }

    /// Stores the root unless one exists. Instances starting together agree: the first insert
    /// wins, and every instance then reads the stored one back.
    pub async fn add_presentation_authority(
        &self,
        sealed_private_key: &[u8],
        certificate: &[u8],
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO presentation_authority (id, sealed_private_key, certificate, created_at) \
             VALUES ('root', $1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(sealed_private_key)
        .bind(certificate)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores a new transaction.
    pub async fn put_presentation_transaction(
        &self,
        transaction: &PresentationTransaction,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO presentation_transactions (id, party_id, request, sealed_response_key, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&transaction.id)
        .bind(&transaction.party_id)
        .bind(&transaction.request)
        .bind(&transaction.sealed_response_key)
        .bind(transaction.created_at)
        .bind(transaction.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A transaction that has not expired.
    pub async fn presentation_transaction(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<PresentationTransaction>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {TRANSACTION_COLUMNS} FROM presentation_transactions \
             WHERE id = $1 AND expires_at > $2"
        ))
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(transaction_from_row).transpose()
    }

    /// Records the answer of a transaction, verified already: `true` for the first answer
    /// before expiry, `false` for every later one (a second answer, a replay, a late one). The
    /// claim and the result are one statement, so concurrent answers on any instance agree.
    pub async fn answer_presentation(
        &self,
        id: &str,
        now: i64,
        result: &str,
        response_code_hash: Option<&str>,
    ) -> Result<bool, StoreError> {
        let answered = sqlx::query(
            "UPDATE presentation_transactions SET responded_at = $2, result = $3, \
             response_code_hash = $4 WHERE id = $1 AND responded_at IS NULL AND expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .bind(result)
        .bind(response_code_hash)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(answered == 1)
    }

    /// Notes a refused attempt on an open transaction (it stays open); `false` if the
    /// transaction was answered or has expired.
    pub async fn note_presentation_refusal(
        &self,
        id: &str,
        now: i64,
        refusal: &str,
    ) -> Result<bool, StoreError> {
        let noted = sqlx::query(
            "UPDATE presentation_transactions SET result = $3 \
             WHERE id = $1 AND responded_at IS NULL AND expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .bind(refusal)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(noted == 1)
    }

    /// Deletes a transaction whose result was read; `false` if another reader took it first.
    pub async fn delete_presentation_transaction(&self, id: &str) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM presentation_transactions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted == 1)
    }

    /// Deletes expired transactions, returning each once (two instances purging together
    /// split the rows between them).
    pub async fn purge_expired_presentations(
        &self,
        now: i64,
    ) -> Result<Vec<ExpiredPresentation>, StoreError> {
        let rows = sqlx::query(
            "DELETE FROM presentation_transactions WHERE expires_at <= $1 \
             RETURNING id, party_id, responded_at",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ExpiredPresentation {
                    id: row.try_get("id")?,
                    party_id: row.try_get("party_id")?,
                    answered: row.try_get::<Option<i64>, _>("responded_at")?.is_some(),
                })
            })
            .collect()
    }

    /// Deletes expired relying-party tokens; returns the rows deleted.
    pub async fn purge_relying_party_tokens(&self, now: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM relying_party_tokens WHERE expires_at <= $1")
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
