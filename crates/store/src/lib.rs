//! Llavero's persistence: one set of repositories over sqlx's `Any` driver, so the same queries
//! run on SQLite (the embedded default: a file, created and migrated on first start) and on
//! PostgreSQL (`postgres://…`, shared by several stateless `llavero serve` instances).
//!
//! Queries use only what both dialects share: `$n` parameters, `ON CONFLICT`, `RETURNING`,
//! integers for times (Unix seconds) and text for everything else. The schema exists once per
//! dialect under `migrations/`, applied automatically by [`Store::connect`].
//!
//! Everything a request needs lives here (sessions, codes, ceremony state, lockout counters,
//! consent), so any instance can finish a flow another started. Writes that belong together run
//! in one transaction inside a single repository method.

#![forbid(unsafe_code)]

mod accounts;
mod agencies;
mod audit;
mod clients;
mod error;
mod events;
mod group_commit;
mod issued;
mod keys;
mod login_attempts;
mod oauth;
mod offers;
mod presentations;
mod private_files;
mod reach;
mod refresh_grace;
mod registry;
mod rotation_sql;
mod secret;
mod sessions;
pub mod testing;
mod throttle;
mod wallet;
mod webauthn;

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor as _, Row as _};

pub use accounts::{Account, ActivationCode, LoginSubject};
pub use agencies::{Agency, AgencyClient, AgencyKey};
pub use audit::{AuditCheckpoint, AuditEntry, BrokenLink, NewAuditEvent, truncate_ip};
pub use clients::{Client, ClientAuthMethod, NewClient, PkcePolicy, SigningAlg, SubjectType};
pub use error::StoreError;
pub use events::{Event, EventKind};
pub use group_commit::{GroupCommitted, Rotation};
pub use issued::{
    CredentialStatus, Deferred, Issuance, IssuedCredential, NewCredential, PICKS_PER_LIST, Slot,
    StatusChange, StatusListRow,
};
pub use keys::StoredKey;
pub use login_attempts::{AttemptReservation, MAX_RESERVATION_ROUNDS};
pub use oauth::{
    AccessGrant, AuthorizationRequest, CodeRedemption, Consent, Grant, IssuedCode, NewGrant,
    RefreshRotation,
};
pub use offers::{IssuanceToken, Offer, Redemption};
pub use presentations::{
    ExpiredPresentation, PresentationTransaction, RelyingParty, RelyingPartyClient,
};
pub use registry::{ImportOutcome, Person, PersonStatus};
pub use secret::{hash_secret, hashes_equal};
pub use sessions::{NewSession, Session, SessionLimits};
pub use throttle::RateDecision;
pub use wallet::{HeldCredential, WalletKey, WalletPending};
pub use webauthn::{Ceremony, CredentialAttestation, WebauthnCredential};

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file: the embedded default.
    Sqlite,
    /// A PostgreSQL server: for several instances sharing one database.
    Postgres,
}

impl Backend {
    /// The backend a database URL selects.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }
}

/// The handle to the database: cheap to clone, shared by every request.
#[derive(Debug, Clone)]
pub struct Store {
    /// Every write, and reads inside transactions.
    pool: AnyPool,
    /// Reads outside transactions. On SQLite a pool of read-only connections beside the
    /// single writer (WAL lets readers run while the writer commits), so a lookup never queues
    /// behind a write transaction; on PostgreSQL the same pool as `pool`.
    reader: AnyPool,
    /// SQLite: one connection that copies the write-ahead log into the database file
    /// ([`Store::checkpoint_wal`]), so the writer does not stop for it.
    checkpointer: Option<AnyPool>,
    /// Group commits ([`Store::commit_group`]). On SQLite the writer; on PostgreSQL
    /// connections of their own (see `postgres_committer`).
    committer: AnyPool,
    backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`) and applies pending
    /// migrations, trying PostgreSQL once (see [`Store::connect_retrying`]).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_retrying(url, Duration::ZERO).await
    }

    /// Connects to `url` and applies pending migrations. A PostgreSQL server that cannot be
    /// reached yet (connection refused, no answer, starting up) is tried again with backoff
    /// for up to `retry_for` (services started together wait for their database); then the
    /// error is [`StoreError::Unreachable`], with the last attempt's cause. Other failures
    /// (authentication, unknown database) are returned at once.
    ///
    /// A new SQLite database file and its `-wal` and `-shm` files are readable by their
    /// owner alone (0600); existing ones more open are tightened.
    pub async fn connect_retrying(url: &str, retry_for: Duration) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let options = AnyConnectOptions::from_str(url)?;
        match backend {
            Backend::Sqlite => private_files::prepare(url).map_err(StoreError::DatabaseFile)?,
            // The pool would retry a refused connection until its acquire timeout and then
            // report only that it timed out: reach the server first, with the real cause.
            Backend::Postgres => reach::postgres(&options, retry_for).await?,
        }
        let pool = match backend {
            // SQLite has one writer. A single connection never meets SQLITE_BUSY on a lock
            // upgrade inside a transaction, and costs little: its queries take microseconds.
            // Other processes (an import run by the CLI) wait on the busy timeout.
            Backend::Sqlite => {
                sqlite_pool(
                    1,
                    &[
                        "PRAGMA journal_mode = WAL",
                        "PRAGMA synchronous = NORMAL",
                        // Checkpoints belong to the checkpointer (see `checkpoint_wal`); the
                        // writer checkpoints itself only if the log grows past 80 MB.
                        "PRAGMA wal_autocheckpoint = 20000",
                        "PRAGMA foreign_keys = ON",
                        "PRAGMA busy_timeout = 10000",
                    ],
                    options.clone(),
                )
                .await?
            }
            Backend::Postgres => {
                // No ping before each acquire: a dead connection fails its query and is
                // replaced, and the ping costs a round trip on every one of the several
                // acquisitions a request makes.
                AnyPoolOptions::new()
                    .max_connections(16)
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options.clone())
                    .await?
            }
        };
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await?;
        let reader = match backend {
            // After the writer: it has switched the file to WAL (a persistent setting).
            Backend::Sqlite => {
                let readers = std::thread::available_parallelism()
                    .map_or(2, std::num::NonZeroUsize::get)
                    .clamp(2, 8);
                sqlite_pool(
                    u32::try_from(readers).unwrap_or(2),
                    &["PRAGMA query_only = ON", "PRAGMA busy_timeout = 10000"],
                    options.clone(),
                )
                .await?
            }
            Backend::Postgres => pool.clone(),
        };
        let (checkpointer, committer) = match backend {
            Backend::Sqlite => (
                Some(sqlite_pool(1, &["PRAGMA busy_timeout = 10000"], options).await?),
                pool.clone(),
            ),
            Backend::Postgres => (None, postgres_committer(options).await?),
        };
        Ok(Self {
            pool,
            reader,
            checkpointer,
            committer,
            backend,
        })
    }

    /// The backend in use.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Copies what it can of SQLite's write-ahead log into the database file without waiting
    /// for readers or the writer (a passive checkpoint); nothing to do on PostgreSQL.
    ///
    /// Run it every fraction of a second beside a busy writer: a checkpoint writes pages back
    /// and syncs the file, and when the writer does that itself (past `wal_autocheckpoint`)
    /// every transaction queued behind it waits for the disk.
    ///
    /// Returns whether the whole log is now in the database file (always true on PostgreSQL).
    pub async fn checkpoint_wal(&self) -> Result<bool, StoreError> {
        let Some(checkpointer) = &self.checkpointer else {
            return Ok(true);
        };
        // One row: busy (0 or 1), frames in the log, frames checkpointed.
        let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(checkpointer)
            .await?;
        let (busy, logged, copied): (i32, i32, i32) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        Ok(busy == 0 && logged == copied)
    }

    /// Closes every connection (waits for those in use).
    pub async fn close(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.close().await;
        }
        self.reader.close().await;
        self.committer.close().await;
        self.pool.close().await;
    }
}

/// An SQLite pool of `size` connections, each set up with `pragmas`.
async fn sqlite_pool(
    size: u32,
    pragmas: &'static [&'static str],
    options: AnyConnectOptions,
) -> Result<AnyPool, sqlx::Error> {
    AnyPoolOptions::new()
        .max_connections(size)
        // A local file: no connection to lose, and the ping is a round trip to the
        // connection's worker thread on every acquisition.
        .test_before_acquire(false)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                for pragma in pragmas {
                    conn.execute(*pragma).await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
}

/// PostgreSQL connections for group commits: two, so a lost one does not stop the queue.
///
/// They plan each statement shape once (`force_generic_plan`): planning a group's statement
/// took longer than running it. And they plan it as lookups by key, never scans or hash joins:
/// a group is at most a few hundred rows, each found by primary key, so that is the right plan
/// at any table size; but a plan made on the nearly empty tables of a first start would
/// otherwise scan them, and go on scanning them as they grow until autovacuum next analyzes
/// them (in the benchmark, 16,000 refresh tokens read per group). Nothing but group commits
/// runs on these connections.
async fn postgres_committer(options: AnyConnectOptions) -> Result<AnyPool, sqlx::Error> {
    AnyPoolOptions::new()
        .max_connections(2)
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute(
                    "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off; \
                     SET enable_hashjoin = off; SET enable_mergejoin = off",
                )
                .await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
}

impl Store {
    async fn connect_without_migrations(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await?;
        Ok(Self {
            reader: pool.clone(),
            checkpointer: None,
            committer: pool.clone(),
            pool,
            backend,
        })
    }

    async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        self.pool.execute(sql).await?;
        Ok(())
    }

    async fn drop_stale_test_schemas(&self, older_than: i64) -> Result<(), StoreError> {
        let schemas: Vec<String> = sqlx::query_scalar(
            "SELECT schema_name::text FROM information_schema.schemata WHERE schema_name LIKE 'llavero_test_%'",
        )
        .fetch_all(&self.pool)
        .await?;
        for schema in schemas {
            let created = schema
                .strip_prefix("llavero_test_")
                .and_then(|rest| rest.split('_').next())
                .and_then(|t| t.parse::<i64>().ok());
            if created.is_some_and(|t| t < older_than) {
                self.execute_raw(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .await?;
            }
        }
        Ok(())
    }
}
