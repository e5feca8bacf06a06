//! Fixed-window rate limits kept in the database, so every instance counts the same hits.

use crate::{Store, StoreError};

/// Whether a request may proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Under the limit.
    Allowed,
    /// Over the limit until the window ends.
    Limited {
        /// Seconds until the next window.
        retry_after: i64,
    },
}

impl Store {
    /// Counts a hit on `bucket` in the current `window`-second window and decides.
    pub async fn hit_rate_limit(
        &self,
        bucket: &str,
        window: i64,
        limit: i64,
        now: i64,
    ) -> Result<RateDecision, StoreError> {
        let window = window.max(1);
        let start = now - now.rem_euclid(window);
        let hits: i64 = sqlx::query_scalar(
            "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket) DO UPDATE SET \
             hits = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.hits + 1 ELSE 1 END, \
             window_start = excluded.window_start RETURNING hits",
        )
        .bind(bucket)
        .bind(start)
        .fetch_one(&self.pool)
        .await?;
        Ok(if hits > limit {
            RateDecision::Limited {
                retry_after: start + window - now,
            }
        } else {
            RateDecision::Allowed
        })
    }
}
