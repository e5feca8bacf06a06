//! The RUN (Rol Único Nacional): a number and a mod-11 check digit (`0`–`9` or `K`).

use std::fmt;
use std::str::FromStr;

/// Why a RUN was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// Not digits followed by a check digit (dots, a dash or a space allowed).
    #[error("a RUN looks like 12.345.678-5: digits, then the check digit (0-9 or K)")]
    Malformed,
    /// The number is zero or has more than 9 digits.
    #[error("the RUN number is out of range")]
    OutOfRange,
    /// The check digit does not match the number.
    #[error("the check digit does not match: expected {expected}")]
    CheckDigit {
        /// The digit the number calls for.
        expected: char,
    },
}

/// A RUN whose check digit is valid: the only way to build one. The number is private, so a
/// RUN comes only from [`Run::from_number`] or parsing, never from a literal:
///
/// ```compile_fail,E0603
/// let unchecked = llavero_platform::run::Run(12_345_678);
/// ```
///
/// ```
/// let run: llavero_platform::run::Run = "12.345.678-5".parse()?;
/// assert_eq!(run.number(), 12_345_678);
/// # Ok::<(), llavero_platform::run::RunError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Run(u32);

/// The largest RUN number accepted (9 digits).
const MAX_NUMBER: u32 = 999_999_999;

impl Run {
    /// A RUN from its number alone, computing the check digit.
    pub fn from_number(number: u32) -> Result<Self, RunError> {
        if number == 0 || number > MAX_NUMBER {
            return Err(RunError::OutOfRange);
        }
        Ok(Self(number))
    }

    /// The number, without check digit.
    #[must_use]
    pub fn number(self) -> u32 {
        self.0
    }

    /// The check digit (`0`–`9` or `K`).
    #[must_use]
    pub fn check_digit(self) -> char {
        check_digit(self.0)
    }
}

/// Mod-11: weights 2,3,4,5,6,7 repeating from the rightmost digit; 11 − (sum mod 11), with 11 → 0
/// and 10 → K.
fn check_digit(mut number: u32) -> char {
    let mut sum = 0;
    let mut weight = 2;
    while number > 0 {
        sum += (number % 10) * weight;
        number /= 10;
        weight = if weight == 7 { 2 } else { weight + 1 };
    }
    match 11 - sum % 11 {
        11 => '0',
        10 => 'K',
        d => char::from_digit(d, 10).unwrap_or('0'),
    }
}

impl FromStr for Run {
    type Err = RunError;

    /// Accepts the RUN as people type it: `12.345.678-5`, `12345678-5`, `12345678 5` or
    /// `123456785` (the last character is then the check digit), `k` or `K`. Dots, if any,
    /// must group by three; anything else is refused as malformed, and a well-formed RUN whose
    /// check digit does not match is refused with the digit it calls for.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (body, dv) = match s.rsplit_once(['-', ' ']) {
            Some((body, dv)) => (body.trim_end(), dv),
            None => s.split_at(s.len() - s.chars().last().map_or(0, char::len_utf8)),
        };
        let mut dv_chars = dv.chars();
        let (Some(dv), None) = (dv_chars.next(), dv_chars.next()) else {
            return Err(RunError::Malformed);
        };
        let dv = dv.to_ascii_uppercase();
        if !(dv.is_ascii_digit() || dv == 'K') {
            return Err(RunError::Malformed);
        }
        let digits: String = if body.contains('.') {
            let groups: Vec<&str> = body.split('.').collect();
            let well_grouped = groups.iter().enumerate().all(|(i, g)| {
                let len_ok = if i == 0 {
                    (1..=3).contains(&g.len())
                } else {
                    g.len() == 3
                };
                len_ok && g.bytes().all(|b| b.is_ascii_digit())
            });
            if !well_grouped {
                return Err(RunError::Malformed);
            }
            groups.concat()
        } else {
            body.to_owned()
        };
        if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RunError::Malformed);
        }
        let number: u32 = digits.parse().map_err(|_| RunError::Malformed)?;
        let run = Self::from_number(number)?;
        let expected = run.check_digit();
        if expected != dv {
            return Err(RunError::CheckDigit { expected });
        }
        Ok(run)
    }
}

impl fmt::Display for Run {
    /// The canonical form: `12.345.678-5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        let first = digits.len() % 3;
        let mut out = String::with_capacity(digits.len() + 4);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (i + 3 - first).is_multiple_of(3) {
                out.push('.');
            }
            out.push(c);
        }
        write!(f, "{out}-{}", self.check_digit())
    }
}

impl TryFrom<String> for Run {
    type Error = RunError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl serde::Serialize for Run {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Run {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn known_runs_and_forms() {
        for (input, canonical) in [
            ("12.345.678-5", "12.345.678-5"),
            ("12345678-5", "12.345.678-5"),
            ("11.111.111-1", "11.111.111-1"),
            ("1-9", "1-9"),
            ("6-K", "6-K"),
            ("6-k", "6-K"),
            ("50000567", "5.000.056-7"),
            ("5.000.056-7", "5.000.056-7"),
            ("5000056 7", "5.000.056-7"),
            ("5.000.056 7", "5.000.056-7"),
            ("6k", "6-K"),
            ("24.965.885-5", "24.965.885-5"),
            (" 7.654.321-6 ", "7.654.321-6"),
        ] {
            let run: Run = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(run.to_string(), canonical);
        }
    }

    #[test]
    fn refuses_bad_input_with_a_reason() {
        assert_eq!(
            "12.345.678-4".parse::<Run>(),
            Err(RunError::CheckDigit { expected: '5' })
        );
        assert_eq!(
            "50000568".parse::<Run>(),
            Err(RunError::CheckDigit { expected: '7' })
        );
        for bad in [
            "",
            "5",
            "5000056--7",
            "5000056 - 7",
            "-",
            "12345678",
            "12.345.678-",
            "12.345.678-55",
            "12,345,678-5",
            "1.2345.678-5",
            "12.34.5678-5",
            "abc-5",
            "12345678-X",
            "0-0",
            "1234567890-1",
            "+1-9",
        ] {
            assert!(bad.parse::<Run>().is_err(), "{bad} accepted");
        }
    }

    proptest! {
        #[test]
        fn display_parses_back(n in 1u32..=MAX_NUMBER) {
            let run = Run::from_number(n).unwrap();
            prop_assert_eq!(run.to_string().parse::<Run>().unwrap(), run);
            let plain = format!("{}-{}", n, run.check_digit().to_ascii_lowercase());
            prop_assert_eq!(plain.parse::<Run>().unwrap(), run);
        }

        #[test]
        fn any_other_check_digit_is_refused(n in 1u32..=MAX_NUMBER, dv in "[0-9K]") {
            let run = Run::from_number(n).unwrap();
            prop_assume!(!dv.starts_with(run.check_digit()));
            let refused = format!("{n}-{dv}").parse::<Run>().is_err();
            prop_assert!(refused);
        }
    }
}
