//! The one line an error becomes on standard error.
//!
//! Many error types both print their cause and return it as their `source` (sqlx's
//! `error communicating with database: {0}` with `#[from] io::Error`, our `database: {0}`), so
//! walking the chain, as `{:#}` does, prints each such cause twice. Here a cause is left out
//! when the message before it already says it.

use std::fmt::Write as _;

/// `error`'s message and causes, joined by `": "`, each cause once.
#[must_use]
pub fn error_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    let mut previous = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !previous.is_empty() && previous.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        let _ = write!(line, "{text}");
        previous = text;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prints its cause and returns it as its source, like sqlx's errors and ours.
    #[derive(Debug)]
    struct Wrapper(std::io::Error);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "database: {}", self.0)
        }
    }

    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_cause_already_printed_is_left_out() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let error = anyhow::Error::new(Wrapper(io)).context("opening the database");
        assert_eq!(
            format!("{error:#}").matches("connection refused").count(),
            2
        );
        assert_eq!(
            error_line(&error),
            "opening the database: database: connection refused"
        );
    }

    #[test]
    fn causes_not_yet_printed_are_kept() {
        let error = anyhow::anyhow!("reading config").context("starting");
        assert_eq!(error_line(&error), "starting: reading config");
    }
}
