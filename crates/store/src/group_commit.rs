//! Group commit: the token endpoint's refresh-token rotations and the audit entries that
//! record them, for many requests at once, in one transaction.
//!
//! A rotation must be durable, and audited, before its tokens are handed out. Done one request
//! at a time that is a transaction for the rotation and another for its audit entry, each
//! waiting on the single SQLite writer (or, on PostgreSQL, on the audit chain's head row). The
//! identity provider instead queues requests and hands whatever has queued up to
//! [`Store::commit_group`]: one transaction, one wait on the head row, one commit for the group,
//! with every entry committed together with the tokens it records.

use sqlx::Row as _;

use crate::audit::{READ_HEAD, append_statements, bind_appended};
use crate::oauth::{grant_from_row, rotate_postgres, rotate_sqlite, spend_refresh_token};
use crate::{Backend, Grant, NewAuditEvent, RefreshRotation, Store, StoreError};

/// One refresh-token rotation: spend `old_hash` (a token of `client_id`) and store the new
/// pair, hashes with their expiries.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The client presenting the token.
    pub client_id: String,
    /// The presented refresh token's hash.
    pub old_hash: String,
    /// The new access token's hash and expiry.
    pub access: (String, i64),
    /// The new refresh token's hash and expiry.
    pub refresh: (String, i64),
    /// Now.
    pub now: i64,
}

/// What a group committed.
#[derive(Debug, Clone)]
pub struct GroupCommitted {
    /// Each rotation's outcome, in order, with the sequence number of the audit entry that
    /// records it (when one was asked for).
    pub rotations: Vec<(RefreshRotation, Option<i64>)>,
    /// The sequence numbers of the given audit events, in order.
    pub events: Vec<i64>,
}

/// Rotations per SQLite query: 4 statements and 7 parameters each.
const ROTATIONS_PER_QUERY: usize = 32;

/// A group's transaction, begun before its group is known ([`Store::begin_group`]); dropping
/// it rolls it back.
#[derive(Debug, Default)]
pub struct BegunGroup(Option<sqlx::Transaction<'static, sqlx::Any>>);

impl BegunGroup {
    /// Whether a transaction is open (never on SQLite).
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.0.is_some()
    }
}

impl Store {
    /// Begins the next group's transaction while the current group commits, so that the next
    /// group starts with its first statement: on PostgreSQL `BEGIN` is a round trip of its own
    /// (about 0.3 ms of a 1.5–2.5 ms group in the benchmark). The transaction takes no
    /// snapshot, lock or transaction id until that statement; still, do not keep it open while
    /// idle (it shows as "idle in transaction"). On SQLite nothing is begun: the single writer connection
    /// also serves every other write, so [`Store::commit_begun_group`] begins there.
    pub async fn begin_group(&self) -> Result<BegunGroup, StoreError> {
        Ok(BegunGroup(match self.backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(self.committer.begin().await?),
        }))
    }

    /// Commits `rotations` and `events` in one transaction. `issued(i, grant)` gives the audit
    /// entry recording rotation `i` when it succeeded; it is appended (after `events`) in the
    /// same transaction, so a rotation is never committed without its entry.
    ///
    /// A refused rotation changes nothing in the group; why it was refused is found after the
    /// commit (presenting a spent token then revokes its family, as
    /// [`Store::rotate_refresh_token`] does). When the same token appears twice in a group, the
    /// first presentation rotates it and the second is a reuse. If any statement fails, nothing
    /// of the group is stored.
    pub async fn commit_group(
        &self,
        rotations: &[Rotation],
        events: &[(NewAuditEvent, i64)],
        issued: impl FnMut(usize, &Grant) -> Option<(NewAuditEvent, i64)>,
    ) -> Result<GroupCommitted, StoreError> {
        self.commit_begun_group(BegunGroup::default(), rotations, events, issued)
            .await
    }

    /// [`Store::commit_group`] in the transaction `begun` (begins one if `begun` is not open).
    pub async fn commit_begun_group(
        &self,
        begun: BegunGroup,
        rotations: &[Rotation],
        events: &[(NewAuditEvent, i64)],
        mut issued: impl FnMut(usize, &Grant) -> Option<(NewAuditEvent, i64)>,
    ) -> Result<GroupCommitted, StoreError> {
        let mut tx = match begun.0 {
            Some(tx) => tx,
            None => self.committer.begin().await?,
        };
        let (grants, (last, prev)) = match self.backend {
            Backend::Sqlite => rotate_sqlite_in(&mut tx, rotations).await?,
            Backend::Postgres => rotate_postgres_in(&mut tx, rotations).await?,
        };
        let mut entries = events.to_vec();
        let mut entry_of = Vec::with_capacity(rotations.len());
        for (index, grant) in grants.iter().enumerate() {
            let entry = grant.as_ref().and_then(|grant| issued(index, grant));
            entry_of.push(entry.is_some().then_some(entries.len()));
            entries.extend(entry);
        }
        let (sql, chained) = append_statements(self.backend, last, prev.clone(), &entries);
        bind_appended(sqlx::query(&sql), last, &prev, &chained)
            .execute(&mut *tx)
            .await?;
        let seqs: Vec<i64> = chained.iter().map(|e| e.seq).collect();
        tx.commit().await?;

        let mut outcomes = Vec::with_capacity(rotations.len());
        for ((rotation, grant), entry) in rotations.iter().zip(grants).zip(entry_of) {
            let outcome = match grant {
                Some(grant) => RefreshRotation::Rotated(Box::new(grant)),
                None => {
                    self.refused_rotation(&rotation.client_id, &rotation.old_hash, rotation.now)
                        .await?
                }
            };
            outcomes.push((outcome, entry.and_then(|i| seqs.get(i).copied())));
        }
        Ok(GroupCommitted {
            rotations: outcomes,
            events: seqs.get(..events.len()).unwrap_or_default().to_vec(),
        })
    }
}

/// SQLite: the audit head and every rotation in one round trip to the single connection per
/// [`ROTATIONS_PER_QUERY`]. The head is read first by an `UPDATE`, which takes the write lock
/// (so nobody moves it before this transaction commits). Returns the grants of the rotations
/// that went through and the head `(seq, hash)`.
async fn rotate_sqlite_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    rotations: &[Rotation],
) -> Result<(Vec<Option<Grant>>, (i64, String)), StoreError> {
    let mut grants: Vec<Option<Grant>> = vec![None; rotations.len()];
    let mut head = None;
    let mut chunks: Vec<&[Rotation]> = rotations.chunks(ROTATIONS_PER_QUERY).collect();
    if chunks.is_empty() {
        // One query even without rotations: it reads the head.
        chunks.push(&[]);
    }
    for (chunk_index, chunk) in chunks.into_iter().enumerate() {
        let first = chunk_index == 0;
        let mut sql: Vec<String> = (0..chunk.len()).map(rotate_sqlite).collect();
        if first {
            sql.insert(0, READ_HEAD.to_owned());
        }
        let sql = sql.join("; ");
        let mut query = sqlx::query(&sql);
        for rotation in chunk {
            query = bind_rotation(query, rotation);
        }
        let rows = query.fetch_all(&mut **tx).await?;
        let mut rows = rows.iter();
        if first {
            let row = rows
                .next()
                .ok_or_else(|| StoreError::corrupt("audit_head", "no head row"))?;
            head = Some((row.try_get("seq")?, row.try_get("hash")?));
        }
        for row in rows {
            let job: i64 = row.try_get("job")?;
            let index = usize::try_from(job)
                .ok()
                .map(|job| chunk_index * ROTATIONS_PER_QUERY + job);
            let slot = index.and_then(|index| grants.get_mut(index));
            let slot = slot.ok_or_else(|| StoreError::corrupt("job", job))?;
            *slot = Some(grant_from_row(row)?);
        }
    }
    let head = head.ok_or_else(|| StoreError::corrupt("audit_head", "no head row"))?;
    Ok((grants, head))
}

/// PostgreSQL: the audit head and every rotation in one statement ([`rotate_postgres`]). The
/// group is padded to a power of two with rotations of an empty hash, which match no token, so
/// the committing connection prepares (and plans) a handful of statement shapes once rather
/// than one per group size.
async fn rotate_postgres_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    rotations: &[Rotation],
) -> Result<(Vec<Option<Grant>>, (i64, String)), StoreError> {
    let rows = rotations.len().next_power_of_two();
    let sql = rotate_postgres(rows);
    let mut query = sqlx::query(&sql);
    for rotation in rotations {
        query = bind_rotation(query, rotation);
    }
    for _ in rotations.len()..rows {
        query = bind_rotation(query, &PADDING);
    }
    let mut grants: Vec<Option<Grant>> = vec![None; rotations.len()];
    let mut head = None;
    for row in query.fetch_all(&mut **tx).await? {
        head = Some((row.try_get("head_seq")?, row.try_get("head_hash")?));
        let Some(job) = row.try_get::<Option<i64>, _>("job")? else {
            continue;
        };
        let slot = usize::try_from(job)
            .ok()
            .and_then(|job| grants.get_mut(job));
        *slot.ok_or_else(|| StoreError::corrupt("job", job))? = Some(grant_from_row(&row)?);
    }
    let head = head.ok_or_else(|| StoreError::corrupt("audit_head", "no head row"))?;
    Ok((grants, head))
}

impl Store {
    /// The plan of a group of `rows` rotations on the committing connection (nothing runs),
    /// for tests that keep it to lookups by key. PostgreSQL: `EXPLAIN` of the group's
    /// statement. SQLite: `EXPLAIN QUERY PLAN` of one rotation's spend (`rows` aside: each
    /// rotation is its own statements), one line per step.
    pub(crate) async fn rotation_plan(&self, rows: usize) -> Result<String, StoreError> {
        let lines: Vec<String> = match self.backend {
            Backend::Postgres => {
                let sql = format!("EXPLAIN {}", rotate_postgres(rows));
                let mut query = sqlx::query(&sql);
                for _ in 0..rows {
                    query = bind_rotation(query, &PADDING);
                }
                let plan = query.fetch_all(&self.committer).await?;
                plan.iter()
                    .map(|row| row.try_get(0))
                    .collect::<Result<_, _>>()?
            }
            Backend::Sqlite => {
                let sql = format!(
                    "EXPLAIN QUERY PLAN {}",
                    spend_refresh_token("", ["$1", "$2", "$3"])
                );
                let plan = sqlx::query(&sql)
                    .bind("")
                    .bind("")
                    .bind(0_i64)
                    .fetch_all(&self.committer)
                    .await?;
                plan.iter()
                    .map(|row| row.try_get("detail"))
                    .collect::<Result<_, _>>()?
            }
        };
        Ok(lines.join("\n"))
    }
}

/// A rotation that matches no token: no token's hash is empty.
static PADDING: Rotation = Rotation {
    client_id: String::new(),
    old_hash: String::new(),
    access: (String::new(), 0),
    refresh: (String::new(), 0),
    now: 0,
};

/// Binds one rotation's seven parameters, in the order the rotation statements number them.
fn bind_rotation<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    rotation: &'q Rotation,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(&rotation.old_hash)
        .bind(&rotation.client_id)
        .bind(rotation.now)
        .bind(&rotation.access.0)
        .bind(rotation.access.1)
        .bind(&rotation.refresh.0)
        .bind(rotation.refresh.1)
}
