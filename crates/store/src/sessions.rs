//! Browser sessions at the identity provider. The cookie carries a random id; the database
//! keeps only its hash, plus a separate public `handle` used as the ID token's `sid` and on the
//! account page, so neither leaks the cookie value.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::secret::{json_list, to_json_list};
use crate::{Store, StoreError};

/// A session being created.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// `hash_secret(cookie value)`.
    pub id_hash: String,
    /// Public identifier (`sid`).
    pub handle: String,
    /// The account logged in.
    pub account_id: String,
    /// When the factors were completed.
    pub auth_time: i64,
    /// Authentication context class reached.
    pub acr: String,
    /// Authentication methods used (RFC 8176).
    pub amr: Vec<String>,
    /// The browser's User-Agent, for the account page.
    pub user_agent: String,
    /// Set when the login itself confirms the citizen for one factor change (it used WebAuthn
    /// or a recovery code): the time of that login.
    pub confirmed_at: Option<i64>,
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Public identifier (`sid`).
    pub handle: String,
    /// The account.
    pub account_id: String,
    /// Created.
    pub created_at: i64,
    /// Last request.
    pub last_seen_at: i64,
    /// When the factors were completed.
    pub auth_time: i64,
    /// Authentication context class.
    pub acr: String,
    /// Authentication methods.
    pub amr: Vec<String>,
    /// The browser's User-Agent.
    pub user_agent: String,
}

const COLUMNS: &str =
    "s.handle, s.account_id, s.created_at, s.last_seen_at, s.auth_time, s.acr, s.amr, s.user_agent";

fn session_from_row(row: &AnyRow) -> Result<Session, StoreError> {
    let amr: String = row.try_get("amr")?;
    Ok(Session {
        handle: row.try_get("handle")?,
        account_id: row.try_get("account_id")?,
        created_at: row.try_get("created_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        auth_time: row.try_get("auth_time")?,
        acr: row.try_get("acr")?,
        amr: json_list("amr", &amr)?,
        user_agent: row.try_get("user_agent")?,
    })
}

/// When sessions lapse.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Seconds without a request after which a session is over.
    pub idle: i64,
    /// Seconds after creation after which a session is over regardless.
    pub absolute: i64,
}

impl Store {
    /// Creates a session; `replaces` (the hash of the cookie presented at login, if any) is
    /// ended in the same transaction, so a login always rotates the session id.
    pub async fn create_session(
        &self,
        session: &NewSession,
        replaces: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if let Some(old) = replaces {
            sqlx::query(
                "UPDATE sessions SET ended_at = $2 WHERE id_hash = $1 AND ended_at IS NULL",
            )
            .bind(old)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO sessions (id_hash, handle, account_id, created_at, last_seen_at, auth_time, acr, amr, user_agent, confirmed_at) \
             VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&session.id_hash)
        .bind(&session.handle)
        .bind(&session.account_id)
        .bind(now)
        .bind(session.auth_time)
        .bind(&session.acr)
        .bind(to_json_list(&session.amr))
        .bind(&session.user_agent)
        .bind(session.confirmed_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records that the citizen of session `handle` just confirmed it is them (a WebAuthn
    /// assertion on the account page), allowing one factor change.
    pub async fn confirm_session(&self, handle: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET confirmed_at = $2 WHERE handle = $1 AND ended_at IS NULL")
            .bind(handle)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Spends the confirmation of session `handle` if it was given at or after `not_before`:
    /// `true` once per confirmation, so each factor change needs its own.
    pub async fn spend_confirmation(
        &self,
        handle: &str,
        not_before: i64,
    ) -> Result<bool, StoreError> {
        let spent = sqlx::query(
            "UPDATE sessions SET confirmed_at = NULL \
             WHERE handle = $1 AND confirmed_at >= $2 AND ended_at IS NULL",
        )
        .bind(handle)
        .bind(not_before)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(spent == 1)
    }

    /// The live session behind a cookie: not ended, within both limits, of an account that is
    /// neither disabled nor locked. Refreshes its idle timer (at most once a minute).
    pub async fn session(
        &self,
        id_hash: &str,
        limits: SessionLimits,
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM sessions s JOIN accounts a ON a.id = s.account_id \
             WHERE s.id_hash = $1 AND s.ended_at IS NULL AND s.last_seen_at > $2 AND s.created_at > $3 \
             AND a.disabled_at IS NULL AND a.locked_at IS NULL"
        ))
        .bind(id_hash)
        .bind(now - limits.idle)
        .bind(now - limits.absolute)
        .fetch_optional(&self.reader)
        .await?;
        let Some(session) = row.as_ref().map(session_from_row).transpose()? else {
            return Ok(None);
        };
        if now - session.last_seen_at >= 60 {
            sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
                .bind(id_hash)
                .bind(now)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(session))
    }

    /// The live sessions of an account, newest first (for the account page).
    pub async fn sessions_of(
        &self,
        account_id: &str,
        limits: SessionLimits,
        now: i64,
    ) -> Result<Vec<Session>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM sessions s WHERE s.account_id = $1 AND s.ended_at IS NULL \
             AND s.last_seen_at > $2 AND s.created_at > $3 ORDER BY s.created_at DESC"
        ))
        .bind(account_id)
        .bind(now - limits.idle)
        .bind(now - limits.absolute)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(session_from_row).collect()
    }

    /// Ends a session of `account_id` by its handle, revoking the grants made in it. Returns
    /// whether a live session was ended.
    pub async fn end_session(
        &self,
        account_id: &str,
        handle: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let ended = sqlx::query(
            "UPDATE sessions SET ended_at = $3 WHERE handle = $1 AND account_id = $2 AND ended_at IS NULL",
        )
        .bind(handle)
        .bind(account_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        crate::oauth::revoke_grants_in(&mut tx, "session_handle = $1", handle, now).await?;
        tx.commit().await?;
        Ok(ended == 1)
    }

    /// Ends every live session of the account except `keep` (after a factor change), revoking
    /// the grants made in them. Returns how many ended.
    pub async fn end_other_sessions(
        &self,
        account_id: &str,
        keep: &str,
        now: i64,
    ) -> Result<u64, StoreError> {
        let others: Vec<String> = sqlx::query_scalar(
            "SELECT handle FROM sessions WHERE account_id = $1 AND handle <> $2 AND ended_at IS NULL",
        )
        .bind(account_id)
        .bind(keep)
        .fetch_all(&self.reader)
        .await?;
        for handle in &others {
            self.end_session(account_id, handle, now).await?;
        }
        Ok(others.len() as u64)
    }
}
