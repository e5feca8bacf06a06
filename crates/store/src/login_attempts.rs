//! Reserving a login attempt before its password is evaluated.
//!
//! Why: reading the failure counter, evaluating the password (tens of milliseconds of Argon2id)
//! and only then counting the failure let every attempt that arrived in the same instant be
//! evaluated on the same old count: forty concurrent guesses all passed an expired delay, and a
//! burst pushed the counter past the lock at one hundred. Here the attempt is counted first, as
//! if it failed, by one conditional write that every instance shares through the database; a
//! success then forgets the count ([`Store::clear_login_failures`]).
//!
//! **One conditional write.** The caller's policy (the lock threshold and the delay schedule)
//! judges the counter as read; the write then applies only if the counter is still that one: an
//! upsert whose update has `WHERE failures = $read AND last_failed_at = $read`. Two attempts that
//! read the same counter cannot both be counted: the database serialises the writes on the row
//! (PostgreSQL's `ON CONFLICT DO UPDATE` re-checks the condition on the latest row version;
//! SQLite has one writer), and the loser, whose condition no longer holds, reads again and asks
//! the policy again. The policy stays in Rust, where the delay schedule is; the database only
//! guarantees that each count it grants was judged on the count it replaces.

use sqlx::Row as _;

use crate::{LoginSubject, Store, StoreError};

/// How many times a reservation re-reads a counter that other attempts keep changing before it
/// gives up. Each lost race means another attempt was counted (or a success reset the count),
/// and the delay schedule lets only a handful through before it refuses, so a loser normally
/// settles in a few rounds; the bound keeps a pathological burst from spinning.
pub const MAX_RESERVATION_ROUNDS: usize = 16;

/// The answer of [`Store::reserve_login_attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptReservation {
    /// The attempt is counted (as a failure, until a success clears it) and may be evaluated.
    /// The counter after counting it.
    Reserved(LoginSubject),
    /// The policy refused the counter as it stands; nothing was written.
    Refused(LoginSubject),
    /// Other attempts changed the counter in every one of [`MAX_RESERVATION_ROUNDS`] rounds;
    /// nothing was written. Answer as to a refusal: try again shortly.
    Contended,
}

impl Store {
    /// Counts one attempt for `subject` if `may_attempt` allows the counter as it stands, in one
    /// conditional write shared by every instance (see the module's rules). The counter passed
    /// to `may_attempt` is the stored one (zero failures for a subject never seen).
    pub async fn reserve_login_attempt(
        &self,
        subject: &str,
        now: i64,
        may_attempt: impl Fn(&LoginSubject) -> bool,
    ) -> Result<AttemptReservation, StoreError> {
        for _ in 0..MAX_RESERVATION_ROUNDS {
            let current = self.login_subject(subject).await?;
            if !may_attempt(&current) {
                return Ok(AttemptReservation::Refused(current));
            }
            let counted = sqlx::query(
                "INSERT INTO login_failures (subject, failures, last_failed_at) VALUES ($1, 1, $2) \
                 ON CONFLICT (subject) DO UPDATE SET failures = login_failures.failures + 1, \
                 last_failed_at = excluded.last_failed_at \
                 WHERE login_failures.failures = $3 AND login_failures.last_failed_at = $4 \
                 RETURNING failures, last_failed_at",
            )
            .bind(subject)
            .bind(now)
            .bind(current.failures)
            .bind(current.last_failed_at)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = counted {
                return Ok(AttemptReservation::Reserved(LoginSubject {
                    failures: row.try_get("failures")?,
                    last_failed_at: row.try_get("last_failed_at")?,
                }));
            }
        }
        Ok(AttemptReservation::Contended)
    }

    /// Locks the account of `run`, if it has one and it is not locked yet (a reserved attempt
    /// that reached the lock threshold failed). A new activation unlocks it.
    pub async fn lock_account_of_run(&self, run: i64, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE accounts SET locked_at = $2 WHERE run = $1 AND locked_at IS NULL")
            .bind(run)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
