//! The citizen's wallet: per-account data keys, holder keys, held credentials and the pending
//! state of an offer or a presentation request. Every method takes the account id and every
//! statement filters by it, so one citizen's request can never read or change another's rows,
//! whatever id it names.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// A holder key as stored: the private key sealed under the account's data key.
#[derive(Clone, PartialEq, Eq)]
pub struct WalletKey {
    /// Random id.
    pub id: String,
    /// The owner.
    pub account_id: String,
    /// The public JWK (JSON).
    pub public_jwk: String,
    /// The private JWK, sealed (never stored in the clear).
    pub sealed_private_key: Vec<u8>,
    /// Created.
    pub created_at: i64,
}

impl std::fmt::Debug for WalletKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletKey")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

/// A credential held in a citizen's wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldCredential {
    /// Random id.
    pub id: String,
    /// The owner.
    pub account_id: String,
    /// The holder key it is bound to.
    pub key_id: String,
    /// `dc+sd-jwt` or `jwt_vc_json`.
    pub format: String,
    /// The issuer's identifier.
    pub credential_issuer: String,
    /// The issuer's credential configuration.
    pub configuration_id: String,
    /// The credential as issued.
    pub credential: String,
    /// What the pages show (JSON: issuer and type names, claim labels, by locale).
    pub display: String,
    /// `valid`, `suspended`, `revoked`, `unknown`.
    pub status: String,
    /// When the status was last read from the issuer's list.
    pub status_checked_at: Option<i64>,
    /// The credential's own expiry.
    pub expires_at: Option<i64>,
    /// Received.
    pub received_at: i64,
}

/// State kept between a page and the citizen's answer (an offer awaiting acceptance, a
/// presentation request awaiting consent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletPending {
    /// Random id (in the page's form).
    pub id: String,
    /// The owner.
    pub account_id: String,
    /// `offer` or `presentation`.
    pub kind: String,
    /// JSON.
    pub body: String,
    /// Worthless after this.
    pub expires_at: i64,
}

const CREDENTIAL_COLUMNS: &str = "id, account_id, key_id, format, credential_issuer, configuration_id, \
     credential, display, status, status_checked_at, expires_at, received_at";

fn credential_from_row(row: &AnyRow) -> Result<HeldCredential, StoreError> {
    Ok(HeldCredential {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        key_id: row.try_get("key_id")?,
        format: row.try_get("format")?,
        credential_issuer: row.try_get("credential_issuer")?,
        configuration_id: row.try_get("configuration_id")?,
        credential: row.try_get("credential")?,
        display: row.try_get("display")?,
        status: row.try_get("status")?,
        status_checked_at: row.try_get("status_checked_at")?,
        expires_at: row.try_get("expires_at")?,
        received_at: row.try_get("received_at")?,
    })
}

fn pending_from_row(row: &AnyRow) -> Result<WalletPending, StoreError> {
    Ok(WalletPending {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        kind: row.try_get("kind")?,
        body: row.try_get("body")?,
        expires_at: row.try_get("expires_at")?,
    })
}

impl Store {
    /// The account's sealed data key, if it has one.
    pub async fn wallet_data_key(&self, account_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT sealed_key FROM wallet_data_keys WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("sealed_key")).transpose()?)
    }

    /// Stores the account's sealed data key unless it already has one (two first requests at
    /// once), then returns the one that won.
    pub async fn create_wallet_data_key(
        &self,
        account_id: &str,
        sealed_key: &[u8],
        now: i64,
    ) -> Result<Vec<u8>, StoreError> {
        sqlx::query(
            "INSERT INTO wallet_data_keys (account_id, sealed_key, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(account_id)
        .bind(sealed_key)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.wallet_data_key(account_id)
            .await?
            .ok_or(StoreError::Corrupt {
                column: "wallet_data_keys.sealed_key",
                reason: "missing after insert".into(),
            })
    }

    /// Stores a new holder key.
    pub async fn insert_wallet_key(&self, key: &WalletKey) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO wallet_keys (id, account_id, public_jwk, sealed_private_key, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.id)
        .bind(&key.account_id)
        .bind(&key.public_jwk)
        .bind(&key.sealed_private_key)
        .bind(key.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One of the account's holder keys.
    pub async fn wallet_key(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<WalletKey>, StoreError> {
        let row = sqlx::query(
            "SELECT id, account_id, public_jwk, sealed_private_key, created_at FROM wallet_keys \
             WHERE account_id = $1 AND id = $2",
        )
        .bind(account_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(WalletKey {
                id: r.try_get("id")?,
                account_id: r.try_get("account_id")?,
                public_jwk: r.try_get("public_jwk")?,
                sealed_private_key: r.try_get("sealed_private_key")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    /// Deletes holder keys no credential uses (a batch the issuer refused, an abandoned offer).
    pub async fn delete_unused_wallet_keys(
        &self,
        account_id: &str,
        ids: &[String],
    ) -> Result<(), StoreError> {
        for id in ids {
            sqlx::query(
                "DELETE FROM wallet_keys WHERE account_id = $1 AND id = $2 \
                 AND NOT EXISTS (SELECT 1 FROM wallet_credentials c WHERE c.key_id = wallet_keys.id)",
            )
            .bind(account_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Stores a received credential.
    pub async fn insert_held_credential(&self, c: &HeldCredential) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO wallet_credentials (id, account_id, key_id, format, credential_issuer, \
             configuration_id, credential, display, status, status_checked_at, expires_at, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&c.id)
        .bind(&c.account_id)
        .bind(&c.key_id)
        .bind(&c.format)
        .bind(&c.credential_issuer)
        .bind(&c.configuration_id)
        .bind(&c.credential)
        .bind(&c.display)
        .bind(&c.status)
        .bind(c.status_checked_at)
        .bind(c.expires_at)
        .bind(c.received_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The account's credentials, newest first.
    pub async fn held_credentials(
        &self,
        account_id: &str,
    ) -> Result<Vec<HeldCredential>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM wallet_credentials WHERE account_id = $1 \
             ORDER BY received_at DESC, id"
        ))
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(credential_from_row).collect()
    }

    /// One of the account's credentials (`None` for another account's id).
    pub async fn held_credential(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<HeldCredential>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM wallet_credentials WHERE account_id = $1 AND id = $2"
        ))
        .bind(account_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(credential_from_row).transpose()
    }

    /// Records a status read from the issuer's list.
    pub async fn set_held_status(
        &self,
        account_id: &str,
        id: &str,
        status: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE wallet_credentials SET status = $3, status_checked_at = $4 \
             WHERE account_id = $1 AND id = $2",
        )
        .bind(account_id)
        .bind(id)
        .bind(status)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes one of the account's credentials and its holder key, in one transaction.
    /// Returns whether there was such a credential.
    pub async fn delete_held_credential(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let key: Option<String> =
            sqlx::query("SELECT key_id FROM wallet_credentials WHERE account_id = $1 AND id = $2")
                .bind(account_id)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("key_id"))
                .transpose()?;
        let Some(key) = key else {
            return Ok(false);
        };
        sqlx::query("DELETE FROM wallet_credentials WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM wallet_keys WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(&key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Keeps state between a page and the citizen's answer.
    pub async fn insert_wallet_pending(
        &self,
        pending: &WalletPending,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO wallet_pending (id, account_id, kind, body, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&pending.id)
        .bind(&pending.account_id)
        .bind(&pending.kind)
        .bind(&pending.body)
        .bind(now)
        .bind(pending.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes (reads and deletes: single use) the account's pending state `id` of `kind`, if
    /// it has not expired.
    pub async fn take_wallet_pending(
        &self,
        account_id: &str,
        kind: &str,
        id: &str,
        now: i64,
    ) -> Result<Option<WalletPending>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT id, account_id, kind, body, expires_at FROM wallet_pending \
             WHERE account_id = $1 AND kind = $2 AND id = $3",
        )
        .bind(account_id)
        .bind(kind)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let deleted = sqlx::query(
            "DELETE FROM wallet_pending WHERE account_id = $1 AND kind = $2 AND id = $3",
        )
        .bind(account_id)
        .bind(kind)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        let Some(row) = row else { return Ok(None) };
        let pending = pending_from_row(&row)?;
        Ok((deleted == 1 && pending.expires_at > now).then_some(pending))
    }

    /// Reads the account's pending state without spending it (to show its page again).
    pub async fn wallet_pending(
        &self,
        account_id: &str,
        kind: &str,
        id: &str,
        now: i64,
    ) -> Result<Option<WalletPending>, StoreError> {
        let row = sqlx::query(
            "SELECT id, account_id, kind, body, expires_at FROM wallet_pending \
             WHERE account_id = $1 AND kind = $2 AND id = $3 AND expires_at > $4",
        )
        .bind(account_id)
        .bind(kind)
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(pending_from_row).transpose()
    }

    /// Keeps a presentation request awaiting consent, tied to the citizen's login `session`.
    pub async fn insert_session_pending(
        &self,
        pending: &WalletPending,
        session: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO wallet_pending (id, account_id, kind, body, created_at, expires_at, session_handle) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&pending.id)
        .bind(&pending.account_id)
        .bind(&pending.kind)
        .bind(&pending.body)
        .bind(now)
        .bind(pending.expires_at)
        .bind(session)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Reads the pending state `id` of `kind` of this account and login, unexpired, without
    /// spending it.
    pub async fn session_pending(
        &self,
        account_id: &str,
        session: &str,
        kind: &str,
        id: &str,
        now: i64,
    ) -> Result<Option<WalletPending>, StoreError> {
        let row = sqlx::query(
            "SELECT id, account_id, kind, body, expires_at FROM wallet_pending \
             WHERE account_id = $1 AND session_handle = $2 AND kind = $3 AND id = $4 AND expires_at > $5",
        )
        .bind(account_id)
        .bind(session)
        .bind(kind)
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(pending_from_row).transpose()
    }

    /// Takes (reads and deletes: single use) the pending state `id` of `kind` of this account
    /// and login, if it has not expired. Of two concurrent takers only one gets it.
    pub async fn take_session_pending(
        &self,
        account_id: &str,
        session: &str,
        kind: &str,
        id: &str,
        now: i64,
    ) -> Result<Option<WalletPending>, StoreError> {
        let Some(pending) = self
            .session_pending(account_id, session, kind, id, now)
            .await?
        else {
            return Ok(None);
        };
        let deleted = sqlx::query(
            "DELETE FROM wallet_pending WHERE account_id = $1 AND session_handle = $2 \
             AND kind = $3 AND id = $4",
        )
        .bind(account_id)
        .bind(session)
        .bind(kind)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok((deleted == 1).then_some(pending))
    }
}
