//! §4.9 validity period: `validFrom` and `validUntil` are XML Schema 1.1 `dateTimeStamp`s, a
//! `dateTime` whose time zone is required (`2026-01-01T00:00:00Z`, `…+01:00`), and the period
//! does not end before it starts.

use serde_json::{Map, Value};

use super::{NonConforming, Rule, show};
use crate::time::{UnixTime, parse_datetime};

pub(super) fn check(doc: &Map<String, Value>) -> Result<(), NonConforming> {
    let from = instant(doc, "validFrom", Rule::VALID_FROM_DATETIME)?;
    let until = instant(doc, "validUntil", Rule::VALID_UNTIL_DATETIME)?;
    match (from, until) {
        (Some(from), Some(until)) if until < from => Err(NonConforming::new(
            Rule::VALID_UNTIL_BEFORE_VALID_FROM,
            "validUntil is earlier than validFrom",
        )),
        _ => Ok(()),
    }
}

fn instant(
    doc: &Map<String, Value>,
    name: &str,
    rule: Rule,
) -> Result<Option<UnixTime>, NonConforming> {
    let Some(value) = doc.get(name) else {
        return Ok(None);
    };
    value
        .as_str()
        .filter(|text| is_date_time_stamp(text))
        // The lexical form is right; the value must also exist (no 30 February) and fit the
        // range Llavero computes with (years 0000–9999).
        .and_then(parse_datetime)
        .map(Some)
        .ok_or_else(|| {
            NonConforming::new(
                rule,
                format!(
                    "{name} {} is not a dateTimeStamp with a time zone",
                    show(value)
                ),
            )
        })
}

/// The lexical space of `xsd:dateTimeStamp` (XML Schema 1.1 Part 2 §3.4.28):
/// `-?YYYY-MM-DDThh:mm:ss(.s+)?(Z|(+|-)hh:mm)`, years of more than four digits without a
/// leading zero, `24:00:00` as the end of a day, offsets up to 14:00.
fn is_date_time_stamp(text: &str) -> bool {
    let mut cursor = Cursor(text.as_bytes());
    cursor.eat(b'-');
    let year_digits = cursor.digit_run();
    let year_ok =
        year_digits.len() == 4 || (year_digits.len() > 4 && year_digits.first() != Some(&b'0'));
    year_ok
        && cursor.eat(b'-')
        && cursor.number(2).is_some_and(|m| (1..=12).contains(&m))
        && cursor.eat(b'-')
        && cursor.number(2).is_some_and(|d| (1..=31).contains(&d))
        && cursor.eat(b'T')
        && cursor.time_of_day()
        && cursor.time_zone()
        && cursor.0.is_empty()
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn eat(&mut self, byte: u8) -> bool {
        match self.0.split_first() {
            Some((&b, rest)) if b == byte => {
                self.0 = rest;
                true
            }
            _ => false,
        }
    }

    fn digit_run(&mut self) -> &'a [u8] {
        let len = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        let (digits, rest) = self.0.split_at(len);
        self.0 = rest;
        digits
    }

    /// Exactly `len` digits, as a number.
    fn number(&mut self, len: usize) -> Option<u32> {
        let (digits, rest) = self.0.split_at_checked(len)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.0 = rest;
        Some(digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    }

    /// `hh:mm:ss(.s+)?`, or `24:00:00(.0+)?`.
    fn time_of_day(&mut self) -> bool {
        let (Some(h), true, Some(m), true, Some(s)) = (
            self.number(2),
            self.eat(b':'),
            self.number(2),
            self.eat(b':'),
            self.number(2),
        ) else {
            return false;
        };
        let fraction = if self.eat(b'.') {
            let digits = self.digit_run();
            if digits.is_empty() {
                return false;
            }
            digits
        } else {
            &[]
        };
        let end_of_day = h == 24 && m == 0 && s == 0 && fraction.iter().all(|&d| d == b'0');
        (h < 24 && m < 60 && s < 60) || end_of_day
    }

    /// `Z` or `(+|-)hh:mm` up to 14:00: the zone `dateTimeStamp` requires.
    fn time_zone(&mut self) -> bool {
        if self.eat(b'Z') {
            return true;
        }
        if !(self.eat(b'+') || self.eat(b'-')) {
            return false;
        }
        let (Some(h), true, Some(m)) = (self.number(2), self.eat(b':'), self.number(2)) else {
            return false;
        };
        m < 60 && (h < 14 || (h == 14 && m == 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_time_stamps_need_a_time_zone() {
        for good in [
            "2026-01-01T00:00:00Z",
            "2010-01-01T19:23:24Z",
            "2026-01-01T00:00:00.123Z",
            "2026-01-01T00:00:00+01:00",
            "2026-01-01T00:00:00-14:00",
            "2026-01-01T24:00:00Z",
            "12026-01-01T00:00:00Z",
        ] {
            assert!(is_date_time_stamp(good), "{good}");
        }
        for bad in [
            "2026-01-01T00:00:00",
            "2026-01-01",
            "2026-01-01 00:00:00Z",
            "2026-01-01t00:00:00z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T00:00:60Z",
            "2026-01-01T00:00:00+15:00",
            "2026-01-01T00:00:00.Z",
            "02026-01-01T00:00:00Z",
            "26-01-01T00:00:00Z",
            "2026-01-01T00:00:00Z ",
        ] {
            assert!(!is_date_time_stamp(bad), "{bad}");
        }
    }
}
