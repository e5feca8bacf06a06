//! WebAuthn persistence: credentials and ceremony state. The state of a ceremony lives here, not
//! in memory, so any instance can finish a ceremony another started; taking it deletes it, so
//! it is single use.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// A registered authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnCredential {
    /// Credential id (base64url).
    pub credential_id: String,
    /// The account.
    pub account_id: String,
    /// The name the citizen gave it.
    pub name: String,
    /// The serialized webauthn-rs passkey (public key, counter, backup state).
    pub passkey: String,
    /// Synced (a passkey in a cloud keychain) rather than bound to one device.
    pub synced: bool,
    /// Registered.
    pub created_at: i64,
    /// Last successful use.
    pub last_used_at: Option<i64>,
    /// Set when its counter went backwards (it may have been cloned).
    pub flagged_at: Option<i64>,
    /// Set when its attestation chained to a trusted CA with an allowed AAGUID at
    /// registration.
    pub attestation: Option<CredentialAttestation>,
}

/// Which allow-list entry a credential's attestation matched at registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialAttestation {
    /// The trusted CA: SHA-256 of its certificate (hex).
    pub ca: String,
    /// The authenticator model (AAGUID, hyphenated lowercase).
    pub aaguid: String,
}

/// A ceremony in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    /// Random id.
    pub id: String,
    /// `register`, `second_factor`, `passkey`.
    pub kind: String,
    /// The browser (or session) that started it.
    pub binding: String,
    /// The account, when known.
    pub account_id: Option<String>,
    /// The serialized webauthn-rs ceremony state.
    pub state: String,
    /// What to do after it (JSON).
    pub context: serde_json::Value,
    /// Expiry.
    pub expires_at: i64,
}

const COLUMNS: &str = "credential_id, account_id, name, passkey, synced, created_at, last_used_at, flagged_at, \
     attestation_ca, attestation_aaguid";

fn credential_from_row(row: &AnyRow) -> Result<WebauthnCredential, StoreError> {
    let synced: i64 = row.try_get("synced")?;
    let ca: Option<String> = row.try_get("attestation_ca")?;
    let aaguid: Option<String> = row.try_get("attestation_aaguid")?;
    Ok(WebauthnCredential {
        credential_id: row.try_get("credential_id")?,
        account_id: row.try_get("account_id")?,
        name: row.try_get("name")?,
        passkey: row.try_get("passkey")?,
        synced: synced != 0,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        flagged_at: row.try_get("flagged_at")?,
        attestation: ca
            .zip(aaguid)
            .map(|(ca, aaguid)| CredentialAttestation { ca, aaguid }),
    })
}

impl Store {
    /// The account's WebAuthn user handle, created on first use.
    pub async fn webauthn_user_id(
        &self,
        account_id: &str,
        new_id: &str,
    ) -> Result<String, StoreError> {
        sqlx::query(
            "UPDATE accounts SET webauthn_user_id = $2 WHERE id = $1 AND webauthn_user_id IS NULL",
        )
        .bind(account_id)
        .bind(new_id)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT webauthn_user_id FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The account of a WebAuthn user handle.
    pub async fn account_by_webauthn_user(
        &self,
        user_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM accounts WHERE webauthn_user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Stores a ceremony's state.
    pub async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webauthn_ceremonies (id, kind, binding, account_id, state, context, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&ceremony.id)
        .bind(&ceremony.kind)
        .bind(&ceremony.binding)
        .bind(ceremony.account_id.as_deref())
        .bind(&ceremony.state)
        .bind(ceremony.context.to_string())
        .bind(ceremony.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes (deletes and returns) a ceremony of `kind` started by `binding`, if unexpired.
    pub async fn take_ceremony(
        &self,
        id: &str,
        kind: &str,
        binding: &str,
        now: i64,
    ) -> Result<Option<Ceremony>, StoreError> {
        sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let row = sqlx::query(
            "DELETE FROM webauthn_ceremonies WHERE id = $1 AND kind = $2 AND binding = $3 AND expires_at > $4 \
             RETURNING id, kind, binding, account_id, state, context, expires_at",
        )
        .bind(id)
        .bind(kind)
        .bind(binding)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let context: String = row.try_get("context")?;
            Ok(Ceremony {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                binding: row.try_get("binding")?,
                account_id: row.try_get("account_id")?,
                state: row.try_get("state")?,
                context: serde_json::from_str(&context)
                    .map_err(|e| StoreError::corrupt("context", e))?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// Registers a credential.
    pub async fn add_webauthn_credential(
        &self,
        credential: &WebauthnCredential,
    ) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO webauthn_credentials ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&credential.credential_id)
        .bind(&credential.account_id)
        .bind(&credential.name)
        .bind(&credential.passkey)
        .bind(i64::from(credential.synced))
        .bind(credential.created_at)
        .bind(credential.last_used_at)
        .bind(credential.flagged_at)
        .bind(credential.attestation.as_ref().map(|a| a.ca.as_str()))
        .bind(credential.attestation.as_ref().map(|a| a.aaguid.as_str()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An account's credentials, oldest first.
    pub async fn webauthn_credentials(
        &self,
        account_id: &str,
    ) -> Result<Vec<WebauthnCredential>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM webauthn_credentials WHERE account_id = $1 ORDER BY created_at, credential_id"))
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(credential_from_row).collect()
    }

    /// Records a successful use (and the updated counter and backup state).
    pub async fn used_webauthn_credential(
        &self,
        credential_id: &str,
        passkey: &str,
        synced: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE webauthn_credentials SET passkey = $2, last_used_at = $3, synced = $4 WHERE credential_id = $1")
            .bind(credential_id)
            .bind(passkey)
            .bind(now)
            .bind(i64::from(synced))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Flags a credential whose counter went backwards.
    pub async fn flag_webauthn_credential(
        &self,
        credential_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE webauthn_credentials SET flagged_at = $2 WHERE credential_id = $1 AND flagged_at IS NULL")
            .bind(credential_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Renames a credential of the account.
    pub async fn rename_webauthn_credential(
        &self,
        account_id: &str,
        credential_id: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE webauthn_credentials SET name = $3 WHERE account_id = $1 AND credential_id = $2")
            .bind(account_id)
            .bind(credential_id)
            .bind(name)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Replaces the account's recovery codes (their hashes) in one transaction.
    pub async fn replace_recovery_codes(
        &self,
        account_id: &str,
        code_hashes: &[String],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        for hash in code_hashes {
            sqlx::query("INSERT INTO recovery_codes (account_id, code_hash, created_at) VALUES ($1, $2, $3)")
                .bind(account_id)
                .bind(hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Spends a recovery code; false if unknown or already used.
    pub async fn use_recovery_code(
        &self,
        account_id: &str,
        code_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE recovery_codes SET used_at = $3 WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL")
            .bind(account_id)
            .bind(code_hash)
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Unused recovery codes left.
    pub async fn recovery_codes_left(&self, account_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL",
        )
        .bind(account_id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Removes a credential of the account, unless it is the last one and no unused recovery
    /// code is left (the account would lose its second factor for good).
    pub async fn remove_webauthn_credential(
        &self,
        account_id: &str,
        credential_id: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM webauthn_credentials WHERE account_id = $1")
                .bind(account_id)
                .fetch_one(&mut *tx)
                .await?;
        let codes: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL",
        )
        .bind(account_id)
        .fetch_one(&mut *tx)
        .await?;
        if count <= 1 && codes == 0 {
            return Ok(false);
        }
        let n = sqlx::query(
            "DELETE FROM webauthn_credentials WHERE account_id = $1 AND credential_id = $2",
        )
        .bind(account_id)
        .bind(credential_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Marks or unmarks the account of `run` as staff (its authenticators must carry an allowed
    /// attestation). Returns the account id, or `None` if `run` has no account.
    pub async fn set_staff(&self, run: i64, staff: bool) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("UPDATE accounts SET staff = $2 WHERE run = $1 RETURNING id")
                .bind(run)
                .bind(i64::from(staff))
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Whether the account is a staff account.
    pub async fn is_staff(&self, account_id: &str) -> Result<bool, StoreError> {
        let staff: Option<i64> = sqlx::query_scalar("SELECT staff FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(staff.is_some_and(|s| s != 0))
    }
}
