//! Group commit: the token endpoint's refresh-token rotations and the audit entries that
//! record them, for many requests at once, in one transaction.
//!
//! A rotation must be durable, and audited, before its tokens are handed out. Done one request
//! at a time that is a transaction for the rotation and another for its audit entry, each
//! waiting on the single SQLite writer (or, on PostgreSQL, on the audit chain's head row). The
//! identity provider instead queues requests and hands whatever has queued up to
//! [`Store::commit_group`]: one wait on the head row and one commit for the group, with every
//! entry committed together with the tokens it records.
//!
//! On PostgreSQL a group is usually a single statement, committed on its own: its writer
//! knows the head it left (nobody else appended since) and built each rotation's entry from
//! the token's grant before queueing it, so the entries can be chained before the group goes
//! out. The statement ends with a check ([`check_sql`]) whose error undoes all of it when that
//! guess was wrong; the group is then committed the general way, in a transaction that reads
//! the head and the grants first.

use sqlx::Row as _;

use crate::audit::{
    READ_HEAD, append_statements, bind_appended, chain_after, head_after, insert_ctes,
};
use crate::oauth::grant_from_row;
use crate::refresh_grace::retry_in_grace;
use crate::rotation_sql::{
    ROTATION_PARAMS, rotate_postgres, rotate_sqlite, rotated, rotation_ctes, spend_refresh_token,
};
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
    /// The audit entry recording the rotation, appended (at `now`) when it goes through. Built
    /// from the token's grant as read before the group ([`Store::refresh_token_grant`]): a
    /// token's grant never changes, and a rotation goes through only while it is alive.
    pub entry: Option<NewAuditEvent>,
    /// The grace window, in seconds: a retry of the token this one replaced, within this long
    /// of its rotation and while this one is unused, gets a fresh pair instead of revoking the
    /// family ([`crate::refresh_grace`]). 0 disables it: every retry is a reuse.
    pub grace_secs: i64,
}

/// What a group committed.
#[derive(Debug, Clone)]
pub struct GroupCommitted {
    /// Each rotation's outcome, in order, with the sequence number of the audit entry that
    /// records it (when it has one).
    pub rotations: Vec<(RefreshRotation, Option<i64>)>,
    /// The sequence numbers of the given audit events, in order.
    pub events: Vec<i64>,
    /// The audit chain's head `(seq, hash)` after the group: the next group's `head`.
    pub head: (i64, String),
    /// Whether the group went out as one statement at the expected head (PostgreSQL).
    pub one_statement: bool,
}

/// Rotations per SQLite query: 4 statements and 7 parameters each.
const ROTATIONS_PER_QUERY: usize = 32;

impl Store {
    /// Commits `rotations` and `events` together: each rotation that goes through with its
    /// [`Rotation::entry`], appended after `events`, so a rotation is never committed without
    /// its entry.
    ///
    /// `head` is the audit head the caller expects, the last group's [`GroupCommitted::head`]
    /// (`None` when it has none). On PostgreSQL, if it is still the head and every rotation
    /// goes through, the group is one statement and one round trip; if not (another instance
    /// or a write outside the queue appended, a token was refused), that statement changes
    /// nothing and the group is committed in a transaction of its own.
    ///
    /// A refused rotation that retries the token its successor replaced, within its grace
    /// window, gets a fresh pair ([`crate::refresh_grace`]): it is committed like any rotation
    /// that went through (the one-statement guess fails, as for any refused rotation, and the
    /// group is committed in a transaction). Any other refused rotation changes nothing in the
    /// group; why it was refused is found after the
    /// commit (presenting a spent token then revokes its family, as
    /// [`Store::rotate_refresh_token`] does). When the same token appears twice in a group, the
    /// first presentation rotates it and the second is a reuse. If any statement fails, nothing
    /// of the group is stored.
    pub async fn commit_group(
        &self,
        head: Option<&(i64, String)>,
        rotations: &[Rotation],
        events: &[(NewAuditEvent, i64)],
    ) -> Result<GroupCommitted, StoreError> {
        let guessed = match (self.backend, head) {
            (Backend::Postgres, Some(head)) => {
                Some(commit_at_head(self, head, rotations, events).await)
            }
            _ => None,
        };
        let (grants, appended) = match guessed {
            Some(Ok(committed)) => return Ok(committed),
            // The server answered with an error, so the statement was rolled back (it commits
            // only if it succeeds): commit the general way. Any other failure (the connection
            // lost, say) leaves unknown whether it committed, and committing again would spend
            // the group's tokens twice (a reuse, which revokes their families): report it.
            Some(Err(StoreError::Database(sqlx::Error::Database(_)))) | None => {
                self.commit_in_transaction(rotations, events).await?
            }
            Some(Err(e)) => return Err(e),
        };
        let (seqs, entry_of, head) = appended;
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
            head,
            one_statement: false,
        })
    }

    /// The general way: in one transaction, rotate (reading and locking the head), retry the
    /// refused rotations within their grace window, then chain and append the entries of
    /// `events` and of the rotations that went through. Returns the
    /// rotations' grants and the appended sequence numbers, which of them records which
    /// rotation, and the new head.
    async fn commit_in_transaction(
        &self,
        rotations: &[Rotation],
        events: &[(NewAuditEvent, i64)],
    ) -> Result<(Vec<Option<Grant>>, Appended), StoreError> {
        let mut tx = self.committer.begin().await?;
        let (mut grants, (last, prev)) = match self.backend {
            Backend::Sqlite => rotate_sqlite_in(&mut tx, rotations).await?,
            Backend::Postgres => rotate_postgres_in(&mut tx, rotations).await?,
        };
        for (rotation, grant) in rotations.iter().zip(grants.iter_mut()) {
            if grant.is_none() {
                *grant = retry_in_grace(&mut tx, rotation).await?;
            }
        }
        let (entries, entry_of) = entries_of(events, rotations, |i| {
            grants.get(i).is_some_and(Option::is_some)
        });
        let (sql, chained) = append_statements(self.backend, last, prev.clone(), &entries);
        bind_appended(sqlx::query(&sql), last, &prev, &chained)
            .execute(&mut *tx)
            .await?;
        let seqs = chained.iter().map(|e| e.seq).collect();
        let head = head_after(last, &prev, &chained);
        tx.commit().await?;
        Ok((grants, (seqs, entry_of, head)))
    }
}

/// Appended sequence numbers, the index among them of each rotation's entry, the new head.
type Appended = (Vec<i64>, Vec<Option<usize>>, (i64, String));

/// PostgreSQL, one statement in autocommit: the rotations ([`rotation_ctes`]), the entries of
/// `events` and of every rotation chained after `head`, and the head moved past them if it is
/// still `head`; then [`check_sql`] fails the statement (undoing all of it) unless the head
/// was moved and every rotation was spent. Being one statement it is all or nothing; unlike a
/// transaction, which is rolled back when its caller stops waiting, it may then still commit,
/// all of it, later (the write queue always waits for its groups).
async fn commit_at_head(
    store: &Store,
    (last, prev): &(i64, String),
    rotations: &[Rotation],
    events: &[(NewAuditEvent, i64)],
) -> Result<GroupCommitted, StoreError> {
    // Guessing that every rotation goes through (the check makes sure).
    let (entries, entry_of) = entries_of(events, rotations, |_| true);
    let chained = chain_after(*last, prev.clone(), &entries);
    let rows = rotations.len().next_power_of_two();
    let offset = rows * ROTATION_PARAMS;
    let n = offset + chained.len() * crate::audit::PER_ROW;
    let appended =
        insert_ctes(chained.len(), offset).map_or_else(String::new, |c| format!("{c}, "));
    let sql = format!(
        "WITH {rotations}, {appended}\
         head AS (UPDATE audit_head SET seq = ${new_seq}, hash = ${new_hash} \
                  WHERE id = 1 AND seq = ${seq} AND hash = ${hash} RETURNING seq), \
         checked AS ({check}) \
         SELECT rotated.* FROM checked LEFT JOIN ({rotated}) rotated ON true",
        rotations = rotation_ctes(rows),
        new_seq = n + 1,
        new_hash = n + 2,
        seq = n + 3,
        hash = n + 4,
        check = check_sql(n + 5),
        rotated = rotated(),
    );
    let mut query = sqlx::query(&sql);
    for rotation in rotations {
        query = bind_rotation(query, rotation);
    }
    for _ in rotations.len()..rows {
        query = bind_rotation(query, &PADDING);
    }
    let spent = i64::try_from(rotations.len()).map_err(|_| StoreError::corrupt("group", rows))?;
    let query = bind_appended(query, *last, prev, &chained)
        .bind(*last)
        .bind(prev.as_str())
        .bind(spent);
    let mut grants: Vec<Option<Grant>> = vec![None; rotations.len()];
    for row in query.fetch_all(&store.committer).await? {
        put_grant(&mut grants, &row)?;
    }
    let seqs: Vec<i64> = chained.iter().map(|e| e.seq).collect();
    let mut outcomes = Vec::with_capacity(rotations.len());
    for (grant, entry) in grants.into_iter().zip(entry_of) {
        // The check passed, so every rotation was spent.
        let grant =
            grant.ok_or_else(|| StoreError::corrupt("group", "a rotation without its grant"))?;
        let seq = entry.and_then(|i| seqs.get(i).copied());
        outcomes.push((RefreshRotation::Rotated(Box::new(grant)), seq));
    }
    Ok(GroupCommitted {
        rotations: outcomes,
        events: seqs.get(..events.len()).unwrap_or_default().to_vec(),
        head: head_after(*last, prev, &chained),
        one_statement: true,
    })
}

/// The entries a group appends, `events` first, then the entry of each rotation that
/// `went_through(index)`; and for each rotation the index of its entry among them.
fn entries_of(
    events: &[(NewAuditEvent, i64)],
    rotations: &[Rotation],
    went_through: impl Fn(usize) -> bool,
) -> (Vec<(NewAuditEvent, i64)>, Vec<Option<usize>>) {
    let mut entries = events.to_vec();
    let mut entry_of = Vec::with_capacity(rotations.len());
    for (index, rotation) in rotations.iter().enumerate() {
        let entry = rotation.entry.as_ref().filter(|_| went_through(index));
        entry_of.push(entry.is_some().then_some(entries.len()));
        entries.extend(entry.map(|entry| (entry.clone(), rotation.now)));
    }
    (entries, entry_of)
}

/// PostgreSQL: stores the grant of a row of a rotation statement in its job's slot (a row
/// without a job carries no rotation).
fn put_grant(grants: &mut [Option<Grant>], row: &sqlx::any::AnyRow) -> Result<(), StoreError> {
    let Some(job) = row.try_get::<Option<i64>, _>("job")? else {
        return Ok(());
    };
    let slot = usize::try_from(job)
        .ok()
        .and_then(|job| grants.get_mut(job));
    *slot.ok_or_else(|| StoreError::corrupt("job", job))? = Some(grant_from_row(row)?);
    Ok(())
}

/// The last CTE of [`commit_at_head`]'s statement: `llavero_group_check` (migration 0008)
/// raises an error unless the head was moved (it was still the expected one) and
/// `$spent` rotations, all of the group's, were spent. An error is the one way to undo the
/// data-modifying CTEs before it: they all run to completion whatever the query reads of them.
/// The function is volatile, so the planner neither inlines nor pre-computes the check.
fn check_sql(spent: usize) -> String {
    format!(
        "SELECT llavero_group_check((SELECT count(*) FROM head) = 1 \
         AND (SELECT count(*) FROM spent) = ${spent}) AS ok"
    )
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
        put_grant(&mut grants, &row)?;
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
                    spend_refresh_token("", ["$1", "$2", "$3", "$4", "$5"])
                );
                let plan = sqlx::query(&sql)
                    .bind("")
                    .bind("")
                    .bind(0_i64)
                    .bind("")
                    .bind("")
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
    entry: None,
    grace_secs: 0,
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
