//! Internal events: facts other parts of Llavero act on (an account disabled because the
//! registry says the person died must, in the issuer, revoke that person's credentials).

use sqlx::{Any, Row as _, Transaction};

use crate::{Store, StoreError};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// An account was disabled (registry status change): its credentials should be revoked.
    AccountDisabled,
}

impl EventKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::AccountDisabled => "account_disabled",
        }
    }
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Increasing identifier: consumers remember the last one they handled.
    pub id: i64,
    /// When (Unix seconds).
    pub at: i64,
    /// What.
    pub kind: String,
    /// The account concerned.
    pub account_id: Option<String>,
    /// Details (JSON).
    pub data: serde_json::Value,
}

pub(crate) async fn record_in(
    tx: &mut Transaction<'_, Any>,
    at: i64,
    kind: EventKind,
    account_id: Option<&str>,
    data: &serde_json::Value,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO events (at, kind, account_id, data) VALUES ($1, $2, $3, $4)")
        .bind(at)
        .bind(kind.as_str())
        .bind(account_id)
        .bind(data.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Events after `after_id`, oldest first.
    pub async fn events_after(&self, after_id: i64, limit: i64) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, kind, account_id, data FROM events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                let data: String = row.try_get("data")?;
                Ok(Event {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    kind: row.try_get("kind")?,
                    account_id: row.try_get("account_id")?,
                    data: serde_json::from_str(&data)
                        .map_err(|e| StoreError::corrupt("data", e))?,
                })
            })
            .collect()
    }
}
