//! The zone the citizen's pages show times in: a leaf the configuration names, below the pages
//! that use it ([`crate::web::display`]).

/// The zone the pages show times in when none is configured: mainland Chile.
pub const DEFAULT_TIME_ZONE: &str = "America/Santiago";

/// A time zone by its IANA name, resolved from the built-in time zone database.
#[derive(Debug, Clone)]
pub struct LocalZone {
    name: String,
    zone: jiff::tz::TimeZone,
}

/// The configured zone is not in the time zone database.
#[derive(Debug, thiserror::Error)]
#[error("unknown time zone {name:?} (use an IANA name such as America/Santiago)")]
pub struct UnknownZone {
    /// The name given.
    pub name: String,
}

impl LocalZone {
    /// The zone of IANA name `name` (`America/Santiago`, `Pacific/Easter`, `UTC`).
    pub fn named(name: &str) -> Result<Self, UnknownZone> {
        let name = name.trim();
        jiff::tz::TimeZone::get(name)
            .map(|zone| Self {
                name: name.to_owned(),
                zone,
            })
            .map_err(|_| UnknownZone {
                name: name.to_owned(),
            })
    }

    /// The IANA name, shown beside the times so nobody has to guess the zone.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `2026-12-05 05:19`: the instant `unix` (seconds) in this zone; empty if out of range.
    #[must_use]
    pub fn format(&self, unix: i64) -> String {
        jiff::Timestamp::from_second(unix)
            .map(|t| {
                t.to_zoned(self.zone.clone())
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    }
}

impl Default for LocalZone {
    /// [`DEFAULT_TIME_ZONE`]; UTC only if the database lacked it (it is built in).
    fn default() -> Self {
        Self::named(DEFAULT_TIME_ZONE).unwrap_or_else(|_| Self {
            name: "UTC".to_owned(),
            zone: jiff::tz::TimeZone::UTC,
        })
    }
}
