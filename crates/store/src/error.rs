//! The store's one error type.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL names neither SQLite nor PostgreSQL.
    #[error("database_url must start with sqlite: or postgres://")]
    UnsupportedUrl,
    /// The database refused or failed the operation.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The PostgreSQL server could not be reached within the connection retry budget.
    #[error("the database server could not be reached ({attempts} attempts in {waited:.1?})")]
    Unreachable {
        /// Connection attempts made.
        attempts: u32,
        /// Time spent trying.
        waited: std::time::Duration,
        /// Why the last attempt failed (connection refused, timed out…).
        #[source]
        source: sqlx::Error,
    },
    /// The SQLite database file could not be created or its permissions set.
    #[error("database file: {0}")]
    DatabaseFile(std::io::Error),
    /// A migration could not be applied.
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored JSON column did not parse (the row was written by something else).
    #[error("corrupt stored value in {column}: {reason}")]
    Corrupt {
        /// The column.
        column: &'static str,
        /// What was wrong.
        reason: String,
    },
}

impl StoreError {
    /// Whether the store was closed (at shutdown), rather than the operation failing.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Database(sqlx::Error::PoolClosed))
    }

    #[allow(clippy::needless_pass_by_value)] // callers hand over errors they are done with
    pub(crate) fn corrupt(column: &'static str, reason: impl ToString) -> Self {
        Self::Corrupt {
            column,
            reason: reason.to_string(),
        }
    }
}
