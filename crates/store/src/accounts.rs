//! Accounts, their activation codes and the failure counters behind lockout.

use sqlx::any::AnyRow;
use sqlx::{Any, Row as _, Transaction};

use crate::{Store, StoreError};

/// A citizen's account: exists only for a RUN the registry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Stable random identifier (never the RUN: pairwise subjects are derived from it).
    pub id: String,
    /// The RUN's number.
    pub run: i64,
    /// Argon2id PHC string; `None` until the citizen chooses a password.
    pub password_hash: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// Set when the registry status stopped being `active`.
    pub disabled_at: Option<i64>,
    /// Set after too many consecutive failed logins; cleared by a new activation.
    pub locked_at: Option<i64>,
}

/// An outstanding activation code (its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationCode {
    /// The RUN's number.
    pub run: i64,
    /// `hash_secret(code)`.
    pub code_hash: String,
    /// Expiry.
    pub expires_at: i64,
}

/// Consecutive failed logins for what was typed as the RUN, whether or not an account exists,
/// so delays and lockout look the same for unknown RUNs (no enumeration).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginSubject {
    /// Consecutive failures.
    pub failures: i64,
    /// Time of the last one.
    pub last_failed_at: i64,
}

const ACCOUNT_COLUMNS: &str = "id, run, password_hash, created_at, disabled_at, locked_at";

fn account_from_row(row: &AnyRow) -> Result<Account, StoreError> {
    Ok(Account {
        id: row.try_get("id")?,
        run: row.try_get("run")?,
        password_hash: row.try_get("password_hash")?,
        created_at: row.try_get("created_at")?,
        disabled_at: row.try_get("disabled_at")?,
        locked_at: row.try_get("locked_at")?,
    })
}

/// Disables an account and ends everything it has open: sessions, grants, access tokens.
pub(crate) async fn disable_in(
    tx: &mut Transaction<'_, Any>,
    id: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE accounts SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE sessions SET ended_at = $2 WHERE account_id = $1 AND ended_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    crate::oauth::revoke_grants_in(tx, "account_id = $1", id, now).await
}

impl Store {
    /// The account of a RUN number.
    pub async fn account_by_run(&self, run: i64) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE run = $1"
        ))
        .bind(run)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// An account by id.
    pub async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// Stores a new activation code for `run`, replacing any earlier one.
    pub async fn put_activation_code(
        &self,
        code: &ActivationCode,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO activation_codes (run, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (run) DO UPDATE SET code_hash = excluded.code_hash, \
             created_at = excluded.created_at, expires_at = excluded.expires_at",
        )
        .bind(code.run)
        .bind(&code.code_hash)
        .bind(now)
        .bind(code.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The outstanding activation code of `run`.
    pub async fn activation_code(&self, run: i64) -> Result<Option<ActivationCode>, StoreError> {
        let row =
            sqlx::query("SELECT run, code_hash, expires_at FROM activation_codes WHERE run = $1")
                .bind(run)
                .fetch_optional(&self.reader)
                .await?;
        row.map(|row| {
            Ok(ActivationCode {
                run: row.try_get("run")?,
                code_hash: row.try_get("code_hash")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// Completes an activation in one transaction: consumes the code (only if it is still the
    /// one checked, so two concurrent activations cannot both win), creates the account or
    /// sets its new password, unlocks it and clears its failure counter.
    ///
    /// Returns `None` if the code was consumed or replaced meanwhile.
    pub async fn activate_account(
        &self,
        code: &ActivationCode,
        new_id: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<Option<Account>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let consumed =
            sqlx::query("DELETE FROM activation_codes WHERE run = $1 AND code_hash = $2")
                .bind(code.run)
                .bind(&code.code_hash)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if consumed != 1 {
            return Ok(None);
        }
        let row = sqlx::query(&format!(
            "INSERT INTO accounts (id, run, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (run) DO UPDATE SET password_hash = excluded.password_hash, locked_at = NULL \
             RETURNING {ACCOUNT_COLUMNS}"
        ))
        .bind(new_id)
        .bind(code.run)
        .bind(password_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM login_failures WHERE subject = $1")
            .bind(code.run.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(account_from_row(&row)?))
    }

    /// Replaces an account's password hash.
    pub async fn set_password(
        &self,
        account_id: &str,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE accounts SET password_hash = $2 WHERE id = $1")
            .bind(account_id)
            .bind(password_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The failure counter of a login subject.
    pub async fn login_subject(&self, subject: &str) -> Result<LoginSubject, StoreError> {
        let row =
            sqlx::query("SELECT failures, last_failed_at FROM login_failures WHERE subject = $1")
                .bind(subject)
                .fetch_optional(&self.reader)
                .await?;
        row.map(|row| {
            Ok(LoginSubject {
                failures: row.try_get("failures")?,
                last_failed_at: row.try_get("last_failed_at")?,
            })
        })
        .transpose()
        .map(Option::unwrap_or_default)
    }

    /// Counts one more failure for `subject`; at `lock_after` consecutive failures the account
    /// of that RUN (if any) is locked, in the same transaction. Returns the new count.
    pub async fn record_login_failure(
        &self,
        subject: &str,
        run: Option<i64>,
        lock_after: i64,
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let failures: i64 = sqlx::query_scalar(
            "INSERT INTO login_failures (subject, failures, last_failed_at) VALUES ($1, 1, $2) \
             ON CONFLICT (subject) DO UPDATE SET failures = login_failures.failures + 1, \
             last_failed_at = excluded.last_failed_at RETURNING failures",
        )
        .bind(subject)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(run) = run.filter(|_| failures >= lock_after) {
            sqlx::query("UPDATE accounts SET locked_at = $2 WHERE run = $1 AND locked_at IS NULL")
                .bind(run)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(failures)
    }

    /// Forgets the failures of `subject` after a successful login.
    pub async fn clear_login_failures(&self, subject: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE subject = $1")
            .bind(subject)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
