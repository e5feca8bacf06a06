//! The identity provider's signing keys, sealed by the caller (AES-256-GCM under the master
//! key) before they reach this table.

use sqlx::Row as _;

use crate::{SigningAlg, Store, StoreError};

/// A stored signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// Key id.
    pub kid: String,
    /// The algorithm it signs with; one key of each algorithm is active at a time.
    pub alg: SigningAlg,
    /// The sealed private JWK.
    pub sealed_private_key: Vec<u8>,
    /// The public JWK (JSON).
    pub public_jwk: String,
    /// Created.
    pub created_at: i64,
    /// When a newer key replaced it; it stays published until its tokens expire.
    pub retired_at: Option<i64>,
}

impl Store {
    /// Every signing key, newest first.
    pub async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, alg, sealed_private_key, public_jwk, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, kid",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                let alg: String = row.try_get("alg")?;
                Ok(StoredKey {
                    kid: row.try_get("kid")?,
                    alg: SigningAlg::parse(&alg)
                        .ok_or_else(|| StoreError::corrupt("signing_keys.alg", alg))?,
                    sealed_private_key: row.try_get("sealed_private_key")?,
                    public_jwk: row.try_get("public_jwk")?,
                    created_at: row.try_get("created_at")?,
                    retired_at: row.try_get("retired_at")?,
                })
            })
            .collect()
    }

    /// Adds a key and retires the current one of the same algorithm, in one transaction.
    pub async fn rotate_signing_key(&self, key: &StoredKey, now: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL AND alg = $2",
        )
        .bind(now)
        .bind(key.alg.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, sealed_private_key, public_jwk, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.kid)
        .bind(key.alg.as_str())
        .bind(&key.sealed_private_key)
        .bind(&key.public_jwk)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
