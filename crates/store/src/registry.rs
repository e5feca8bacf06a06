//! The civil registry as Llavero holds it: one row per person, keyed by the RUN's number (the
//! check digit is derived, never stored), replaced only by a newer registry record.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::events::{self, EventKind};
use crate::{Store, StoreError};

/// A person's standing in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonStatus {
    /// Alive and not blocked: may hold an account.
    Active,
    /// Deceased: the account is disabled.
    Deceased,
    /// Blocked by the registry: the account is disabled.
    Blocked,
}

impl PersonStatus {
    /// The stored and exchanged name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deceased => "deceased",
            Self::Blocked => "blocked",
        }
    }

    /// Parses the stored and exchanged name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "deceased" => Some(Self::Deceased),
            "blocked" => Some(Self::Blocked),
            _ => None,
        }
    }
}

/// One registry record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The RUN's number, without check digit.
    pub run: i64,
    /// Given names, space-separated as the registry writes them.
    pub given_names: String,
    /// Paternal surname.
    pub paternal_surname: String,
    /// Maternal surname (may be empty).
    pub maternal_surname: String,
    /// Birth date, `YYYY-MM-DD`.
    pub birth_date: String,
    /// Sex as registered.
    pub sex: String,
    /// Nationality (ISO 3166-1 alpha-2).
    pub nationality: String,
    /// Serial number of the current identity document.
    pub document_serial: String,
    /// Standing.
    pub status: PersonStatus,
    /// When the registry last changed this record (Unix seconds).
    pub registry_updated_at: i64,
}

/// What an import batch changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Records inserted or replaced by a newer version.
    pub written: u64,
    /// Records skipped because the stored one is as new or newer.
    pub unchanged: u64,
    /// Accounts disabled because their person is no longer active.
    pub disabled_accounts: Vec<String>,
    /// Credentials revoked (deceased), suspended (blocked) or unsuspended (active again).
    pub credentials_changed: u64,
}

const COLUMNS: &str = "run, given_names, paternal_surname, maternal_surname, birth_date, sex, \
                       nationality, document_serial, status, registry_updated_at, imported_at";
const COLUMN_COUNT: usize = 11;

/// Rows per INSERT. Small on purpose: sqlx binds SQLite's `$n` parameters by name, and SQLite
/// finds a name by walking the statement's parameter list, so binding costs grow with the
/// square of the parameter count (500 rows spent 91% of an import there). 25 rows × 11
/// parameters keeps that negligible while still amortizing the statement.
pub(crate) const ROWS_PER_STATEMENT: usize = 25;

pub(crate) fn person_from_row(row: &AnyRow) -> Result<Person, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(Person {
        run: row.try_get("run")?,
        given_names: row.try_get("given_names")?,
        paternal_surname: row.try_get("paternal_surname")?,
        maternal_surname: row.try_get("maternal_surname")?,
        birth_date: row.try_get("birth_date")?,
        sex: row.try_get("sex")?,
        nationality: row.try_get("nationality")?,
        document_serial: row.try_get("document_serial")?,
        status: PersonStatus::parse(&status)
            .ok_or_else(|| StoreError::corrupt("status", status))?,
        registry_updated_at: row.try_get("registry_updated_at")?,
    })
}

fn upsert_sql(rows: usize) -> String {
    let mut sql = format!("INSERT INTO registry_people ({COLUMNS}) VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..COLUMN_COUNT {
            if c > 0 {
                sql.push(',');
            }
            sql.push('$');
            sql.push_str(&(r * COLUMN_COUNT + c + 1).to_string());
        }
        sql.push(')');
    }
    sql.push_str(
        " ON CONFLICT (run) DO UPDATE SET given_names = excluded.given_names, \
         paternal_surname = excluded.paternal_surname, maternal_surname = excluded.maternal_surname, \
         birth_date = excluded.birth_date, sex = excluded.sex, nationality = excluded.nationality, \
         document_serial = excluded.document_serial, status = excluded.status, \
         registry_updated_at = excluded.registry_updated_at, imported_at = excluded.imported_at \
         WHERE excluded.registry_updated_at > registry_people.registry_updated_at",
    );
    sql
}

/// One record per RUN, the most recently updated (the later one on a tie), in first-seen order:
/// PostgreSQL refuses an upsert that touches a row twice, and only the newest may win anyway.
fn newest_per_run(people: &[Person]) -> Vec<&Person> {
    let mut position: std::collections::HashMap<i64, usize> =
        std::collections::HashMap::with_capacity(people.len());
    let mut out: Vec<&Person> = Vec::with_capacity(people.len());
    for person in people {
        match position.get(&person.run).and_then(|&i| out.get_mut(i)) {
            Some(kept) if kept.registry_updated_at <= person.registry_updated_at => *kept = person,
            Some(_) => {}
            None => {
                position.insert(person.run, out.len());
                out.push(person);
            }
        }
    }
    out
}

impl Store {
    /// Upserts registry records in one transaction: a record replaces the stored one only if
    /// the registry updated it later. Accounts of people now `deceased` or `blocked` are disabled
    /// in the same transaction (sessions ended, tokens revoked, an event recorded).
    pub async fn upsert_people(
        &self,
        people: &[Person],
        now: i64,
    ) -> Result<ImportOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut outcome = ImportOutcome::default();
        let newest = newest_per_run(people);
        outcome.unchanged = (people.len() - newest.len()) as u64;
        for chunk in newest.chunks(ROWS_PER_STATEMENT) {
            let sql = upsert_sql(chunk.len());
            let mut query = sqlx::query(&sql);
            for p in chunk {
                query = query
                    .bind(p.run)
                    .bind(&p.given_names)
                    .bind(&p.paternal_surname)
                    .bind(&p.maternal_surname)
                    .bind(&p.birth_date)
                    .bind(&p.sex)
                    .bind(&p.nationality)
                    .bind(&p.document_serial)
                    .bind(p.status.as_str())
                    .bind(p.registry_updated_at)
                    .bind(now);
            }
            let written = query.execute(&mut *tx).await?.rows_affected();
            outcome.written += written;
            outcome.unchanged += chunk.len() as u64 - written.min(chunk.len() as u64);
        }
        for p in newest.iter().filter(|p| p.status != PersonStatus::Active) {
            outcome.credentials_changed +=
                crate::issued::follow_registry_status(&mut tx, p.run, p.status, now).await?;
            let ids: Vec<String> = sqlx::query_scalar(
                "SELECT a.id FROM accounts a JOIN registry_people p ON p.run = a.run \
                 WHERE a.run = $1 AND a.disabled_at IS NULL AND p.status <> 'active'",
            )
            .bind(p.run)
            .fetch_all(&mut *tx)
            .await?;
            for id in ids {
                crate::accounts::disable_in(&mut tx, &id, now).await?;
                events::record_in(
                    &mut tx,
                    now,
                    EventKind::AccountDisabled,
                    Some(&id),
                    &serde_json::json!({"run": p.run, "registry_status": p.status.as_str()}),
                )
                .await?;
                outcome.disabled_accounts.push(id);
            }
        }
        outcome.credentials_changed +=
            crate::issued::lift_registry_suspensions(&mut tx, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// The registry record of a RUN number.
    pub async fn person(&self, run: i64) -> Result<Option<Person>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM registry_people WHERE run = $1"
        ))
        .bind(run)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(person_from_row).transpose()
    }

    /// How many people the registry holds.
    pub async fn people_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM registry_people")
            .fetch_one(&self.reader)
            .await?)
    }
}
