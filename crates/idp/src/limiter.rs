//! Fixed-window rate counters kept in this instance's memory (client-facing limits: see
//! [`crate::web::rate_limit`]).

use llavero_store::RateDecision;

/// Fixed-window counters in this instance's memory.
#[derive(Debug, Default)]
pub struct LocalLimiter(std::sync::Mutex<std::collections::HashMap<String, (i64, i64)>>);

impl LocalLimiter {
    /// Counts a hit on `key` in the current `window`-second window and decides.
    pub fn hit(&self, key: &str, window: i64, limit: i64, now: i64) -> RateDecision {
        let window = window.max(1);
        let start = now - now.rem_euclid(window);
        let Ok(mut counters) = self.0.lock() else {
            return RateDecision::Allowed;
        };
        if counters.len() > 100_000 {
            counters.retain(|_, (s, _)| *s == start);
        }
        let counter = counters.entry(key.to_owned()).or_insert((start, 0));
        if counter.0 != start {
            *counter = (start, 0);
        }
        counter.1 += 1;
        if counter.1 > limit {
            RateDecision::Limited {
                retry_after: start + window - now,
            }
        } else {
            RateDecision::Allowed
        }
    }

    /// Whether `key` already reached `limit` in the current window, without counting: for
    /// limits that count only failures. `Some(retry_after)` when it did.
    #[must_use]
    pub fn exceeded(&self, key: &str, window: i64, limit: i64, now: i64) -> Option<i64> {
        let window = window.max(1);
        let start = now - now.rem_euclid(window);
        let counters = self.0.lock().ok()?;
        counters
            .get(key)
            .filter(|(s, count)| *s == start && *count >= limit)
            .map(|_| start + window - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_limiter_counts_per_key_and_window() {
        let limiter = LocalLimiter::default();
        let now = 1_800_000_010;
        for _ in 0..3 {
            assert_eq!(limiter.hit("ip", 60, 3, now), RateDecision::Allowed);
        }
        assert_eq!(
            limiter.hit("ip", 60, 3, now),
            RateDecision::Limited { retry_after: 50 }
        );
        assert_eq!(limiter.hit("other", 60, 3, now), RateDecision::Allowed);
        assert_eq!(limiter.hit("ip", 60, 3, now + 50), RateDecision::Allowed);
        assert_eq!(limiter.exceeded("ip", 60, 1, now + 50), Some(60));
        assert_eq!(limiter.exceeded("ip", 60, 2, now + 50), None);
        assert_eq!(limiter.exceeded("unseen", 60, 1, now), None);
    }
}
