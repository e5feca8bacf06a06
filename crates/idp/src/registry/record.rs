//! One registry record as it arrives in an import file, checked field by field before it may
//! become a [`Person`].

use llavero_credentials::time::parse_datetime;
use llavero_store::{Person, PersonStatus};
use serde::Deserialize;

use super::Run;

/// A record as written in CSV (header row with these names) or JSON Lines.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecord {
    /// `12.345.678-5` or `12345678-5`.
    pub run: String,
    /// Given names, space-separated.
    pub given_names: String,
    /// Paternal surname.
    pub paternal_surname: String,
    /// Maternal surname (may be empty).
    #[serde(default)]
    pub maternal_surname: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `F`, `M` or `X`.
    pub sex: String,
    /// ISO 3166-1 alpha-2, e.g. `CL`.
    pub nationality: String,
    /// The identity document's serial number.
    pub document_serial: String,
    /// `active`, `deceased` or `blocked`.
    pub status: String,
    /// When the registry last changed the record: RFC 3339.
    pub updated_at: String,
}

/// Why a record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The line is not a record (bad CSV or JSON, missing or unknown field).
    #[error("not a record: {0}")]
    Syntax(String),
    /// The RUN is invalid.
    #[error("run: {0}")]
    Run(#[from] super::RunError),
    /// A field is empty, too long or has the wrong shape.
    #[error("{field}: {reason}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

const MAX_NAME: usize = 100;

fn field(field: &'static str, reason: &'static str) -> RecordError {
    RecordError::Field { field, reason }
}

fn name(value: &str, name: &'static str, required: bool) -> Result<String, RecordError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(field(name, "is empty"));
    }
    if value.chars().count() > MAX_NAME {
        return Err(field(name, "is longer than 100 characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(field(name, "contains control characters"));
    }
    Ok(value.to_owned())
}

fn birth_date(value: &str) -> Result<String, RecordError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(value.trim(), &format)
        .map_err(|_| field("birth_date", "is not a date YYYY-MM-DD"))?;
    if date.year() < 1850 {
        return Err(field("birth_date", "is before 1850"));
    }
    Ok(date.to_string())
}

impl RawRecord {
    /// Checks every field.
    pub fn into_person(self) -> Result<Person, RecordError> {
        let run: Run = self.run.parse()?;
        let sex = match self.sex.trim() {
            s @ ("F" | "M" | "X") => s.to_owned(),
            _ => return Err(field("sex", "must be F, M or X")),
        };
        let nationality = self.nationality.trim();
        if nationality.len() != 2 || !nationality.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(field(
                "nationality",
                "must be two capital letters (ISO 3166-1)",
            ));
        }
        let serial = self.document_serial.trim();
        if serial.is_empty()
            || serial.len() > 20
            || !serial.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(field(
                "document_serial",
                "must be 1 to 20 letters or digits",
            ));
        }
        let status = PersonStatus::parse(self.status.trim())
            .ok_or_else(|| field("status", "must be active, deceased or blocked"))?;
        let updated = parse_datetime(self.updated_at.trim())
            .ok_or_else(|| field("updated_at", "is not an RFC 3339 date-time"))?;
        Ok(Person {
            run: i64::from(run.number()),
            given_names: name(&self.given_names, "given_names", true)?,
            paternal_surname: name(&self.paternal_surname, "paternal_surname", true)?,
            maternal_surname: name(&self.maternal_surname, "maternal_surname", false)?,
            birth_date: birth_date(&self.birth_date)?,
            sex,
            nationality: nationality.to_owned(),
            document_serial: serial.to_ascii_uppercase(),
            status,
            registry_updated_at: updated,
        })
    }
}
