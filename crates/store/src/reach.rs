//! Reaching a PostgreSQL server before pooling connections to it.
//!
//! sqlx's pool retries a failed connection until its acquire timeout and then reports only
//! `PoolTimedOut`, hiding why (connection refused, unknown host, the server starting up). One
//! plain connection first gives the real cause, and is the place to wait, with backoff, for a
//! server that is not up yet.

use std::time::{Duration, Instant};

use sqlx::AnyConnection;
use sqlx::Connection as _;
use sqlx::any::AnyConnectOptions;

use crate::StoreError;

/// The pause after the first failed attempt; it doubles after each one, up to
/// [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// The longest pause between attempts.
const MAX_PAUSE: Duration = Duration::from_secs(2);
/// How long one attempt may take: a dropped SYN or a server that accepts and never answers
/// would otherwise hold it for the operating system's TCP timeout (minutes).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// PostgreSQL's `cannot_connect_now` (starting up, shutting down, in recovery) and
/// `too_many_connections`: the server is there but cannot take us yet.
const TRANSIENT_SQLSTATES: [&str; 2] = ["57P03", "53300"];

/// Connects once to the server `options` names, trying again with backoff for up to
/// `retry_for` while the failure is transient; returns the real cause otherwise.
pub(crate) async fn postgres(
    options: &AnyConnectOptions,
    retry_for: Duration,
) -> Result<(), StoreError> {
    let start = Instant::now();
    let mut pause = FIRST_PAUSE;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let error = match attempt(options).await {
            Ok(()) => return Ok(()),
            Err(error) if is_transient(&error) => error,
            Err(error) => return Err(StoreError::Database(error)),
        };
        let remaining = retry_for.saturating_sub(start.elapsed());
        if remaining.is_zero() {
            return Err(StoreError::Unreachable {
                attempts,
                waited: start.elapsed(),
                source: error,
            });
        }
        if attempts == 1 {
            tracing::warn!(
                retry_for_secs = retry_for.as_secs(),
                "the database server cannot be reached yet; retrying"
            );
        }
        tokio::time::sleep(pause.min(remaining)).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// One connection, closed at once.
async fn attempt(options: &AnyConnectOptions) -> Result<(), sqlx::Error> {
    match tokio::time::timeout(ATTEMPT_TIMEOUT, AnyConnection::connect_with(options)).await {
        Ok(Ok(connection)) => {
            // Only the reaching mattered; a failed goodbye changes nothing.
            let _ = connection.close().await;
            Ok(())
        }
        Ok(Err(error)) => Err(error),
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs()),
        ))),
    }
}

/// Whether waiting may help: the network or the server not being up, not a refusal of who we
/// are or what we asked for.
fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| TRANSIENT_SQLSTATES.contains(&code.as_ref())),
        _ => false,
    }
}
