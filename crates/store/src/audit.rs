//! The audit trail: every security-relevant use of an identity, in a hash chain nobody can
//! quietly rewrite.
//!
//! Entry `n` stores `hash_n = SHA-256(hash_{n-1} ‖ JSON [seq, at, kind, account, client,
//! ip_digest, user_agent, detail])`. The IP enters only through `ip_digest = SHA-256(salt ‖ ip)`,
//! so when the retention period ends the IP can be truncated and its salt dropped without
//! breaking the chain (and without leaving a brute-forceable digest of the full address).
//! Appends go through the single `audit_head` row, whose update serializes writers on every
//! instance. Signed checkpoints (made by the identity provider) pin the head at intervals.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Backend, Store, StoreError};

/// An event to record.
#[derive(Debug, Clone, Default)]
pub struct NewAuditEvent {
    /// What happened (`login.password`, `token.issued`, `consent.given` …).
    pub kind: String,
    /// The account concerned.
    pub account_id: Option<String>,
    /// The client concerned.
    pub client_id: Option<String>,
    /// Where from.
    pub ip: Option<String>,
    /// With what browser.
    pub user_agent: Option<String>,
    /// Non-secret details (result, scopes, reason …).
    pub detail: serde_json::Value,
}

/// A recorded entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When (Unix seconds).
    pub at: i64,
    /// What happened.
    pub kind: String,
    /// The account concerned.
    pub account_id: Option<String>,
    /// The client concerned.
    pub client_id: Option<String>,
    /// Where from (truncated after the retention period).
    pub ip: Option<String>,
    /// With what browser.
    pub user_agent: Option<String>,
    /// Details.
    pub detail: serde_json::Value,
    /// Chain hash.
    pub hash: String,
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at entry {seq}: {reason}")]
pub struct BrokenLink {
    /// The first entry that does not verify.
    pub seq: i64,
    /// Why.
    pub reason: &'static str,
}

/// A signed checkpoint of the chain head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCheckpoint {
    /// The entry it pins.
    pub seq: i64,
    /// The compact JWS over `{seq, hash, at}`.
    pub jws: String,
}

fn sha256(parts: &[&[u8]]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in parts {
        ctx.update(part);
    }
    URL_SAFE_NO_PAD.encode(ctx.finish().as_ref())
}

#[allow(clippy::too_many_arguments)] // the hashed fields, in order
fn entry_hash(
    prev: &str,
    seq: i64,
    at: i64,
    kind: &str,
    account: Option<&str>,
    client: Option<&str>,
    ip_digest: Option<&str>,
    user_agent: Option<&str>,
    detail: &str,
) -> String {
    let fields = serde_json::json!([
        seq, at, kind, account, client, ip_digest, user_agent, detail
    ])
    .to_string();
    sha256(&[prev.as_bytes(), b"\n", fields.as_bytes()])
}

const COLUMNS: &str = "seq, at, kind, account_id, client_id, ip, ip_salt, ip_digest, user_agent, detail, prev_hash, hash";

fn entry_from_row(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    let detail: String = row.try_get("detail")?;
    Ok(AuditEntry {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        kind: row.try_get("kind")?,
        account_id: row.try_get("account_id")?,
        client_id: row.try_get("client_id")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
        detail: serde_json::from_str(&detail).map_err(|e| StoreError::corrupt("detail", e))?,
        hash: row.try_get("hash")?,
    })
}

/// Truncates an IP to its network: IPv4 /24, IPv6 /48.
#[must_use]
pub fn truncate_ip(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
        Err(_) => "unknown".to_owned(),
    }
}

/// An entry ready to insert: the event with its chain fields computed.
pub(crate) struct Chained<'a> {
    /// Position in the chain.
    pub(crate) seq: i64,
    at: i64,
    event: &'a NewAuditEvent,
    detail: String,
    salt: Option<String>,
    digest: Option<String>,
    prev: String,
    hash: String,
}

/// Entry `seq` after `prev`: the IP's salted digest and the entry's hash.
fn chain(seq: i64, prev: String, event: &NewAuditEvent, at: i64) -> Chained<'_> {
    let detail = event.detail.to_string();
    let salt = event.ip.as_ref().map(|_| {
        let mut bytes = [0u8; 16];
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    });
    let digest = match (&salt, &event.ip) {
        (Some(salt), Some(ip)) => Some(sha256(&[salt.as_bytes(), ip.as_bytes()])),
        _ => None,
    };
    let hash = entry_hash(
        &prev,
        seq,
        at,
        &event.kind,
        event.account_id.as_deref(),
        event.client_id.as_deref(),
        digest.as_deref(),
        event.user_agent.as_deref(),
        &detail,
    );
    Chained {
        seq,
        at,
        event,
        detail,
        salt,
        digest,
        prev,
        hash,
    }
}

/// Columns bound per entry.
pub(crate) const PER_ROW: usize = 12;

/// Entries per `INSERT`: 256 rows are 3,072 parameters, far below either database's limit.
const ROWS_PER_INSERT: usize = 256;

/// A multi-row `INSERT` of `rows` entries whose parameters start after `offset` others.
fn insert_sql(rows: usize, offset: usize) -> String {
    let rows: Vec<String> = (0..rows)
        .map(|row| {
            let params: Vec<String> = (1..=PER_ROW)
                .map(|column| format!("${}", offset + row * PER_ROW + column))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO audit_log ({COLUMNS}) VALUES {}",
        rows.join(", ")
    )
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds the entries' columns, in [`insert_sql`]'s order.
fn bind_entries<'q>(mut query: AnyQuery<'q>, entries: &'q [Chained<'q>]) -> AnyQuery<'q> {
    for entry in entries {
        query = query
            .bind(entry.seq)
            .bind(entry.at)
            .bind(&entry.event.kind)
            .bind(entry.event.account_id.as_deref())
            .bind(entry.event.client_id.as_deref())
            .bind(entry.event.ip.as_deref())
            .bind(entry.salt.as_deref())
            .bind(entry.digest.as_deref())
            .bind(entry.event.user_agent.as_deref())
            .bind(&entry.detail)
            .bind(&entry.prev)
            .bind(&entry.hash);
    }
    query
}

/// Chains `events` after the head `(last, prev)`: entries `last + 1 …`.
pub(crate) fn chain_after(
    last: i64,
    mut prev: String,
    events: &[(NewAuditEvent, i64)],
) -> Vec<Chained<'_>> {
    let mut entries = Vec::with_capacity(events.len());
    for (seq, (event, at)) in (last + 1..).zip(events) {
        let entry = chain(seq, std::mem::take(&mut prev), event, *at);
        prev.clone_from(&entry.hash);
        entries.push(entry);
    }
    entries
}

/// Inside a transaction that holds the audit head's lock: the statement(s) that append
/// `events` after the head `(last, prev)` and move the head, as one query (parameters from
/// `$1`), and the entries to bind to it with [`bind_appended`]. A group's entries and the
/// head's move then cost one round trip: on SQLite statements joined by `;`, on PostgreSQL
/// (which prepares one statement at a time) the inserts as data-modifying CTEs of the head's
/// `UPDATE`.
pub(crate) fn append_statements(
    backend: Backend,
    last: i64,
    prev: String,
    events: &[(NewAuditEvent, i64)],
) -> (String, Vec<Chained<'_>>) {
    let entries = chain_after(last, prev, events);
    let n = entries.len() * PER_ROW;
    let move_head = format!(
        "UPDATE audit_head SET seq = ${}, hash = ${} WHERE id = 1",
        n + 1,
        n + 2
    );
    let sql = match backend {
        Backend::Sqlite => {
            let mut statements = inserts(entries.len(), 0);
            statements.push(move_head);
            statements.join("; ")
        }
        Backend::Postgres => match insert_ctes(entries.len(), 0) {
            None => move_head,
            Some(ctes) => format!("WITH {ctes} {move_head}"),
        },
    };
    (sql, entries)
}

/// The `INSERT`s of `rows` entries whose parameters start after `offset` others.
fn inserts(rows: usize, offset: usize) -> Vec<String> {
    (0..rows)
        .step_by(ROWS_PER_INSERT)
        .map(|first| {
            insert_sql(
                (rows - first).min(ROWS_PER_INSERT),
                offset + first * PER_ROW,
            )
        })
        .collect()
}

/// PostgreSQL: [`inserts`] as data-modifying CTEs `appended_0, appended_1 …` (joined by
/// commas, for a `WITH`); `None` for no rows.
pub(crate) fn insert_ctes(rows: usize, offset: usize) -> Option<String> {
    let ctes: Vec<String> = inserts(rows, offset)
        .into_iter()
        .enumerate()
        .map(|(index, insert)| format!("appended_{index} AS ({insert})"))
        .collect();
    (!ctes.is_empty()).then(|| ctes.join(", "))
}

/// The head after `entries`, chained after `(last, prev)`.
pub(crate) fn head_after(last: i64, prev: &str, entries: &[Chained<'_>]) -> (i64, String) {
    entries
        .last()
        .map_or((last, prev.to_owned()), |e| (e.seq, e.hash.clone()))
}

/// Binds [`append_statements`]' query: the entries, then the new head.
pub(crate) fn bind_appended<'q>(
    query: AnyQuery<'q>,
    last: i64,
    prev: &'q str,
    entries: &'q [Chained<'q>],
) -> AnyQuery<'q> {
    let (seq, hash) = entries
        .last()
        .map_or((last, prev), |e| (e.seq, e.hash.as_str()));
    bind_entries(query, entries).bind(seq).bind(hash)
}

/// Reads the audit head `(seq, hash)` while taking the lock on its row (on SQLite, the
/// database's write lock), so nobody moves it before the transaction ends.
pub(crate) const READ_HEAD: &str =
    "UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash";

/// Appends `events` (each with its time) to the chain inside `tx`; returns their sequence
/// numbers in order. Reading the head takes its lock, so appends from every instance queue
/// there until `tx` ends.
pub(crate) async fn append_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    events: &[(NewAuditEvent, i64)],
) -> Result<Vec<i64>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let head = sqlx::query(READ_HEAD).fetch_one(&mut **tx).await?;
    let (last, prev): (i64, String) = (head.try_get("seq")?, head.try_get("hash")?);
    let (sql, entries) = append_statements(backend, last, prev.clone(), events);
    bind_appended(sqlx::query(&sql), last, &prev, &entries)
        .execute(&mut **tx)
        .await?;
    Ok(entries.iter().map(|e| e.seq).collect())
}

impl Store {
    /// Appends an event to the chain; returns its sequence number.
    pub async fn append_audit(&self, event: &NewAuditEvent, now: i64) -> Result<i64, StoreError> {
        let seqs = self.append_audit_batch(&[(event.clone(), now)]).await?;
        seqs.first()
            .copied()
            .ok_or_else(|| StoreError::corrupt("audit_head", "no sequence number"))
    }

    /// Appends several events in one transaction (group commit: one wait on the head row and
    /// one commit for the whole batch); each event comes with its time. Returns their sequence
    /// numbers in order.
    pub async fn append_audit_batch(
        &self,
        events: &[(NewAuditEvent, i64)],
    ) -> Result<Vec<i64>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await?;
        let seqs = append_in(&mut tx, self.backend, events).await?;
        tx.commit().await?;
        Ok(seqs)
    }

    /// Checks the whole chain from the first entry; `Ok(count)` or the first broken link.
    pub async fn verify_audit_chain(&self) -> Result<Result<i64, BrokenLink>, StoreError> {
        let mut prev = "genesis".to_owned();
        let mut expected_seq = 1;
        let mut after = 0;
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 5000"
            ))
            .bind(after)
            .fetch_all(&self.reader)
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let seq: i64 = row.try_get("seq")?;
                let broken = |reason| Ok(Err(BrokenLink { seq, reason }));
                if seq != expected_seq {
                    return broken("an entry is missing before this one");
                }
                let stored_prev: String = row.try_get("prev_hash")?;
                if stored_prev != prev {
                    return broken("it does not point to the previous entry");
                }
                let ip: Option<String> = row.try_get("ip")?;
                let salt: Option<String> = row.try_get("ip_salt")?;
                let digest: Option<String> = row.try_get("ip_digest")?;
                if let (Some(ip), Some(salt), Some(digest)) = (&ip, &salt, &digest)
                    && sha256(&[salt.as_bytes(), ip.as_bytes()]) != *digest
                {
                    return broken("the IP address was changed");
                }
                let at: i64 = row.try_get("at")?;
                let kind: String = row.try_get("kind")?;
                let account: Option<String> = row.try_get("account_id")?;
                let client: Option<String> = row.try_get("client_id")?;
                let user_agent: Option<String> = row.try_get("user_agent")?;
                let detail: String = row.try_get("detail")?;
                let hash: String = row.try_get("hash")?;
                let computed = entry_hash(
                    &prev,
                    seq,
                    at,
                    &kind,
                    account.as_deref(),
                    client.as_deref(),
                    digest.as_deref(),
                    user_agent.as_deref(),
                    &detail,
                );
                if computed != hash {
                    return broken("its content does not match its hash");
                }
                prev = hash;
                expected_seq += 1;
                after = seq;
            }
        }
        let head: String = sqlx::query_scalar("SELECT hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.reader)
            .await?;
        if head != prev {
            return Ok(Err(BrokenLink {
                seq: expected_seq,
                reason: "entries after this point were removed",
            }));
        }
        Ok(Ok(expected_seq - 1))
    }

    /// The hash of entry `seq`.
    pub async fn audit_hash(&self, seq: i64) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1")
                .bind(seq)
                .fetch_optional(&self.reader)
                .await?,
        )
    }

    /// The chain head: `(seq, hash)`.
    pub async fn audit_head(&self) -> Result<(i64, String), StoreError> {
        let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.reader)
            .await?;
        Ok((row.try_get("seq")?, row.try_get("hash")?))
    }

    /// An account's history, newest first.
    pub async fn audit_of_account(
        &self,
        account_id: &str,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_log WHERE account_id = $1 ORDER BY seq DESC LIMIT $2"
        ))
        .bind(account_id)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Entries in `[from, to)` (Unix seconds), oldest first.
    pub async fn audit_between(&self, from: i64, to: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_log WHERE at >= $1 AND at < $2 ORDER BY seq"
        ))
        .bind(from)
        .bind(to)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Truncates the IPs of entries older than `before` and drops their salts. Returns how many.
    pub async fn truncate_audit_ips(&self, before: i64) -> Result<u64, StoreError> {
        let rows =
            sqlx::query("SELECT seq, ip FROM audit_log WHERE at < $1 AND ip_salt IS NOT NULL")
                .bind(before)
                .fetch_all(&self.reader)
                .await?;
        let mut tx = self.pool.begin().await?;
        for row in &rows {
            let seq: i64 = row.try_get("seq")?;
            let ip: Option<String> = row.try_get("ip")?;
            sqlx::query("UPDATE audit_log SET ip = $2, ip_salt = NULL WHERE seq = $1")
                .bind(seq)
                .bind(ip.as_deref().map(truncate_ip))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }

    /// Stores a signed checkpoint.
    pub async fn put_audit_checkpoint(
        &self,
        checkpoint: &AuditCheckpoint,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit_checkpoints (seq, at, jws) VALUES ($1, $2, $3) ON CONFLICT (seq) DO NOTHING")
            .bind(checkpoint.seq)
            .bind(now)
            .bind(&checkpoint.jws)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every checkpoint, oldest first.
    pub async fn audit_checkpoints(&self) -> Result<Vec<AuditCheckpoint>, StoreError> {
        let rows = sqlx::query("SELECT seq, jws FROM audit_checkpoints ORDER BY seq")
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditCheckpoint {
                    seq: row.try_get("seq")?,
                    jws: row.try_get("jws")?,
                })
            })
            .collect()
    }

    /// Runs raw SQL: for tests that tamper with the database behind the store's back.
    #[doc(hidden)]
    pub async fn execute_unchecked(&self, sql: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query(sql).execute(&self.pool).await?.rows_affected())
    }
}
