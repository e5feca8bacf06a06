//! Agencies (each an issuer of its own), their signing keys (sealed by the caller), and the
//! OAuth clients an agency's systems use to call the agency API.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// An issuing agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agency {
    /// Short identifier, the last path segment of its issuer URL (`registro-civil`).
    pub id: String,
    /// Its name, as shown to citizens.
    pub name: String,
    /// The credential types it may issue (type ids of `specs/credential-types/`).
    pub credential_types: Vec<String>,
    /// Created.
    pub created_at: i64,
}

/// A stored agency signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyKey {
    /// Key id.
    pub kid: String,
    /// The agency.
    pub agency_id: String,
    /// The sealed private JWK.
    pub sealed_private_key: Vec<u8>,
    /// The public JWK (JSON).
    pub public_jwk: String,
    /// Created (and published from then on).
    pub created_at: i64,
    /// Signs from then until a newer key activates.
    pub activates_at: i64,
    /// Unpublished after this, once superseded.
    pub publish_until: Option<i64>,
}

/// An agency API client (`client_credentials`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyClient {
    /// Client id.
    pub id: String,
    /// The only agency it acts for.
    pub agency_id: String,
    /// SHA-256 of its secret.
    pub secret_hash: String,
}

fn agency_from_row(row: &AnyRow) -> Result<Agency, StoreError> {
    let types: String = row.try_get("credential_types")?;
    Ok(Agency {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        credential_types: serde_json::from_str(&types)
            .map_err(|e| StoreError::corrupt("agencies.credential_types", e))?,
        created_at: row.try_get("created_at")?,
    })
}

fn key_from_row(row: &AnyRow) -> Result<AgencyKey, StoreError> {
    Ok(AgencyKey {
        kid: row.try_get("kid")?,
        agency_id: row.try_get("agency_id")?,
        sealed_private_key: row.try_get("sealed_private_key")?,
        public_jwk: row.try_get("public_jwk")?,
        created_at: row.try_get("created_at")?,
        activates_at: row.try_get("activates_at")?,
        publish_until: row.try_get("publish_until")?,
    })
}

impl Store {
    /// Adds an agency with its first key, or updates its name and types (the key is then
    /// ignored). Returns whether it was new.
    pub async fn put_agency(
        &self,
        agency: &Agency,
        first_key: &AgencyKey,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let types = serde_json::to_string(&agency.credential_types)
            .map_err(|e| StoreError::corrupt("agencies.credential_types", e))?;
        let updated =
            sqlx::query("UPDATE agencies SET name = $2, credential_types = $3 WHERE id = $1")
                .bind(&agency.id)
                .bind(&agency.name)
                .bind(&types)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if updated == 0 {
            sqlx::query(
                "INSERT INTO agencies (id, name, credential_types, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(&agency.id)
            .bind(&agency.name)
            .bind(&types)
            .bind(agency.created_at)
            .execute(&mut *tx)
            .await?;
            insert_key(&mut tx, first_key).await?;
        }
        tx.commit().await?;
        Ok(updated == 0)
    }

    /// Every agency.
    pub async fn agencies(&self) -> Result<Vec<Agency>, StoreError> {
        let rows =
            sqlx::query("SELECT id, name, credential_types, created_at FROM agencies ORDER BY id")
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(agency_from_row).collect()
    }

    /// One agency.
    pub async fn agency(&self, id: &str) -> Result<Option<Agency>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, credential_types, created_at FROM agencies WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(agency_from_row).transpose()
    }

    /// The agency's keys, newest activation first.
    pub async fn agency_keys(&self, agency_id: &str) -> Result<Vec<AgencyKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, agency_id, sealed_private_key, public_jwk, created_at, activates_at, publish_until \
             FROM agency_keys WHERE agency_id = $1 ORDER BY activates_at DESC, kid",
        )
        .bind(agency_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// Adds a key that signs from `key.activates_at`; keys it supersedes stay published until
    /// `superseded_publish_until`.
    pub async fn add_agency_key(
        &self,
        key: &AgencyKey,
        superseded_publish_until: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE agency_keys SET publish_until = $2 WHERE agency_id = $1 AND publish_until IS NULL",
        )
        .bind(&key.agency_id)
        .bind(superseded_publish_until)
        .execute(&mut *tx)
        .await?;
        insert_key(&mut tx, key).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Registers an agency API client.
    pub async fn add_agency_client(
        &self,
        client: &AgencyClient,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO agency_clients (id, agency_id, secret_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&client.id)
        .bind(&client.agency_id)
        .bind(&client.secret_hash)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An agency API client.
    pub async fn agency_client(&self, id: &str) -> Result<Option<AgencyClient>, StoreError> {
        let row =
            sqlx::query("SELECT id, agency_id, secret_hash FROM agency_clients WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.reader)
                .await?;
        row.map(|row| {
            Ok(AgencyClient {
                id: row.try_get("id")?,
                agency_id: row.try_get("agency_id")?,
                secret_hash: row.try_get("secret_hash")?,
            })
        })
        .transpose()
    }

    /// Records an agency API access token (hashed).
    pub async fn put_agency_token(
        &self,
        token_hash: &str,
        client: &AgencyClient,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO agency_tokens (token_hash, client_id, agency_id, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(&client.id)
        .bind(&client.agency_id)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The `(client id, agency id)` an unexpired agency API token belongs to.
    pub async fn agency_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT client_id, agency_id FROM agency_tokens WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| Ok((row.try_get("client_id")?, row.try_get("agency_id")?)))
            .transpose()
    }
}

async fn insert_key(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    key: &AgencyKey,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO agency_keys (kid, agency_id, sealed_private_key, public_jwk, created_at, activates_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&key.kid)
    .bind(&key.agency_id)
    .bind(&key.sealed_private_key)
    .bind(&key.public_jwk)
    .bind(key.created_at)
    .bind(key.activates_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
