//! The civil registry as Llavero holds it: one row per person, keyed by the RUN's number (the
//! check digit is derived, never stored), replaced only by a newer registry record.

use std::collections::{HashMap, HashSet};

use sqlx::any::AnyRow;
use sqlx::{Any, Row as _, Transaction};

use crate::events::{self, EventKind};
use crate::{Backend, Store, StoreError};

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
         WHERE excluded.registry_updated_at > registry_people.registry_updated_at \
         RETURNING run",
    );
    sql
}

/// `SELECT` of the stored status of `rows` RUNs (`$1`…`$rows`).
fn stored_status_sql(rows: usize) -> String {
    let placeholders: Vec<String> = (1..=rows).map(|i| format!("${i}")).collect();
    format!(
        "SELECT run, status FROM registry_people WHERE run IN ({})",
        placeholders.join(",")
    )
}

/// A record that won its upsert and moved its person to another standing: the only kind
/// whose effects reach accounts and credentials.
#[derive(Debug, Clone, Copy)]
struct StatusChange {
    run: i64,
    /// The stored standing it replaced; `None` for a person new to the registry.
    from: Option<PersonStatus>,
    to: PersonStatus,
}

/// The stored standing of the people of `chunk` that the registry already holds.
async fn stored_statuses(
    tx: &mut Transaction<'_, Any>,
    chunk: &[&Person],
) -> Result<HashMap<i64, PersonStatus>, StoreError> {
    let sql = stored_status_sql(chunk.len());
    let mut query = sqlx::query(&sql);
    for p in chunk {
        query = query.bind(p.run);
    }
    let mut stored = HashMap::with_capacity(chunk.len());
    for row in query.fetch_all(&mut **tx).await? {
        let status: String = row.try_get("status")?;
        stored.insert(
            row.try_get("run")?,
            PersonStatus::parse(&status).ok_or_else(|| StoreError::corrupt("status", status))?,
        );
    }
    Ok(stored)
}

/// Upserts `chunk`, returning the RUNs whose record won (inserted, or newer than the stored one).
async fn upsert_chunk(
    tx: &mut Transaction<'_, Any>,
    chunk: &[&Person],
    now: i64,
) -> Result<HashSet<i64>, StoreError> {
    let sql = upsert_sql(chunk.len());
    let mut query = sqlx::query_scalar(&sql);
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
    Ok(query.fetch_all(&mut **tx).await?.into_iter().collect())
}

/// What a change of standing does to the person's accounts and credentials.
async fn apply_status_change(
    tx: &mut Transaction<'_, Any>,
    change: StatusChange,
    now: i64,
    outcome: &mut ImportOutcome,
) -> Result<(), StoreError> {
    if change.to == PersonStatus::Active {
        // Someone new to the registry has no suspensions to lift.
        if change.from.is_some() {
            outcome.credentials_changed +=
                crate::issued::lift_registry_suspensions(tx, change.run, now).await?;
        }
        return Ok(());
    }
    outcome.credentials_changed +=
        crate::issued::follow_registry_status(tx, change.run, change.to, now).await?;
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM accounts WHERE run = $1 AND disabled_at IS NULL")
            .bind(change.run)
            .fetch_all(&mut **tx)
            .await?;
    for id in ids {
        crate::accounts::disable_in(tx, &id, now).await?;
        events::record_in(
            tx,
            now,
            EventKind::AccountDisabled,
            Some(&id),
            &serde_json::json!({"run": change.run, "registry_status": change.to.as_str()}),
        )
        .await?;
        outcome.disabled_accounts.push(id);
    }
    Ok(())
}

/// One record per RUN, the most recently updated (the later one on a tie), in first-seen order:
/// PostgreSQL refuses an upsert that touches a row twice, and only the newest may win anyway.
fn newest_per_run(people: &[Person]) -> Vec<&Person> {
    let mut position: HashMap<i64, usize> = HashMap::with_capacity(people.len());
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
    /// the registry updated it later. A record that wins and changes its person's standing
    /// takes effect in the same transaction: people now `deceased` or `blocked` have their
    /// accounts disabled (sessions ended, tokens revoked, an event recorded) and their
    /// credentials revoked or suspended; people `active` again have the registry's suspensions
    /// lifted. A record that loses (an older extract) changes nothing at all: what the file says
    /// of a person's standing counts only if the registry said it last.
    ///
    /// Imports are serialized (`BEGIN IMMEDIATE` on SQLite, a table lock on PostgreSQL) so the
    /// standing read before each upsert is still the one the upsert replaces.
    pub async fn upsert_people(
        &self,
        people: &[Person],
        now: i64,
    ) -> Result<ImportOutcome, StoreError> {
        let mut tx = match self.backend {
            // Takes the write lock first: a deferred transaction that reads and then writes
            // fails (SQLITE_BUSY_SNAPSHOT) if another process committed in between.
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                // Conflicts with itself and with every other writer, not with readers.
                sqlx::query("LOCK TABLE registry_people IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        };
        let mut outcome = ImportOutcome::default();
        let newest = newest_per_run(people);
        outcome.unchanged = (people.len() - newest.len()) as u64;
        let mut changes = Vec::new();
        for chunk in newest.chunks(ROWS_PER_STATEMENT) {
            let stored = stored_statuses(&mut tx, chunk).await?;
            let won = upsert_chunk(&mut tx, chunk, now).await?;
            outcome.written += won.len() as u64;
            outcome.unchanged += (chunk.len() - won.len()) as u64;
            changes.extend(
                chunk
                    .iter()
                    .filter(|p| won.contains(&p.run))
                    .map(|p| StatusChange {
                        run: p.run,
                        from: stored.get(&p.run).copied(),
                        to: p.status,
                    })
                    .filter(|c| c.from != Some(c.to)),
            );
        }
        for change in changes {
            apply_status_change(&mut tx, change, now, &mut outcome).await?;
        }
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
