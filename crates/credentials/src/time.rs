//! Injected time. Verification never reads the system clock directly, so vectors signed at a
//! fixed instant verify in tests and a phone with a wrong clock can be told apart from a bad
//! credential (the caller chooses the skew it tolerates).

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, the unit of JWT `iat`, `nbf` and `exp` (RFC 7519 §2).
pub type UnixTime = i64;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current time in seconds since the Unix epoch.
    fn now(&self) -> UnixTime;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

/// A clock stopped at one instant, for tests and for re-checking a past verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub UnixTime);

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        self.0
    }
}

/// A clock that moves only when told to: tests of expiry, lockout delays and key rotation.
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    /// A clock at `start`.
    #[must_use]
    pub fn new(start: UnixTime) -> Self {
        Self(std::sync::atomic::AtomicI64::new(start))
    }

    /// Moves the clock forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

/// Parses an XML Schema `dateTime` as used by VC Data Model 2.0 (`validFrom`, `validUntil`):
/// RFC 3339 with a mandatory offset.
pub fn parse_datetime(text: &str) -> Option<UnixTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(time::OffsetDateTime::unix_timestamp)
}

/// The optional RFC 3339 member `name` of a JSON document (`validFrom`, `validUntil`): absent
/// is `Ok(None)`; present but not a date-time is an error naming the member.
pub fn datetime_member(doc: &serde_json::Value, name: &str) -> Result<Option<UnixTime>, String> {
    match doc.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .and_then(parse_datetime)
            .map(Some)
            .ok_or_else(|| format!("{name} is not an RFC 3339 date-time")),
    }
}

/// Formats seconds since the epoch as an RFC 3339 UTC timestamp (`2026-01-01T00:00:00Z`).
#[must_use]
pub fn format_datetime(t: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_round_trip() {
        assert_eq!(parse_datetime("2026-01-01T00:00:00Z"), Some(1_767_225_600));
        assert_eq!(format_datetime(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(parse_datetime("2026-01-01"), None);
        assert!(SystemClock.now() > 1_700_000_000);
    }
}
