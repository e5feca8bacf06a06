//! The SQL of a refresh-token rotation, in both dialects: what [`crate::group_commit`] sends for
//! a group of them (the only write path of a rotation), kept apart from the grant and token
//! reads of [`crate::oauth`].

use crate::audit::READ_HEAD;
use crate::oauth::{GRANT_ALIVE, GRANT_COLUMNS};

/// Bound parameters per rotation in a group: the old token's hash, the client, now, and the
/// new access and refresh tokens' hashes and expiries.
pub(crate) const ROTATION_PARAMS: usize = 7;

/// The refresh token spend shared by both dialects: `UPDATE refresh_tokens` (with `from`, a
/// `FROM` clause or nothing) of the token whose hash is `hash`, if it is unspent, unexpired at
/// `now` and belongs to a live grant of `client`, remembering the hashes of the `access` and
/// `refresh` tokens that replace it (for a retry within the grace window,
/// [`crate::refresh_grace`]). The five are SQL expressions.
///
/// The grant is a scalar subquery on the token's own `grant_id`: the planner keeps it a
/// lookup by primary key per token, where an `IN` or `EXISTS` may become a scan of every
/// grant of the client (SQLite builds a list of them for `IN`; PostgreSQL may hash-join them),
/// which grows with the number of citizens.
pub(crate) fn spend_refresh_token(
    from: &str,
    [hash, client, now, access, refresh]: [&str; 5],
) -> String {
    format!(
        "UPDATE refresh_tokens SET used_at = {now}, successor_hash = {refresh}, \
         successor_access_hash = {access} {from} \
         WHERE token_hash = {hash} AND used_at IS NULL AND expires_at > {now} AND {client} = \
         (SELECT g.client_id FROM grants g JOIN accounts a ON a.id = g.account_id \
          WHERE g.id = refresh_tokens.grant_id AND {GRANT_ALIVE})"
    )
}

/// PostgreSQL: every rotation of a group (`rows` of them, parameters from `$1`, seven each as
/// [`ROTATION_PARAMS`] says) and the read of the audit head, as one statement of
/// data-modifying CTEs ([`rotation_ctes`]), so a group costs one round trip whatever its size.
/// The head is read by an `UPDATE`, which locks its row until the transaction ends. Every row
/// carries the head; a row with a null `job` (there is one when nothing was spent) carries
/// nothing else.
pub(crate) fn rotate_postgres(rows: usize) -> String {
    format!(
        "WITH {rotations}, head AS ({READ_HEAD}) \
         SELECT head.seq AS head_seq, head.hash AS head_hash, rotated.* FROM head LEFT JOIN \
         ({rotated}) rotated ON true",
        rotations = rotation_ctes(rows),
        rotated = rotated(),
    )
}

/// The grants of the rotations `spent` (with their `job`), for the end of a rotation statement.
pub(crate) fn rotated() -> String {
    format!("SELECT spent.job, {GRANT_COLUMNS} FROM grants g JOIN spent ON spent.grant_id = g.id")
}

/// PostgreSQL: the CTEs `input`, `first`, `spent`, `access` and `refresh` that rotate `rows`
/// refresh tokens (parameters from `$1`, [`ROTATION_PARAMS`] each). The rotations come as a
/// `VALUES` list, whose length the planner knows (it plans lookups by key for a few rows).
/// `first` keeps each presented token's first job, so the same token twice in a group rotates
/// once and the later job is refused (a reuse). The inserts read the spent rows, so they happen
/// only for tokens spent; `spent` returns each spent token's job and grant.
pub(crate) fn rotation_ctes(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|job| {
            let [hash, client, now, access, access_exp, refresh, refresh_exp] =
                [1, 2, 3, 4, 5, 6, 7].map(|n| job * ROTATION_PARAMS + n);
            format!(
                "({job}::bigint, ${hash}::text, ${client}::text, ${now}::bigint, ${access}::text, \
                 ${access_exp}::bigint, ${refresh}::text, ${refresh_exp}::bigint)"
            )
        })
        .collect();
    format!(
        "input (job, old_hash, client_id, now, access_hash, access_exp, refresh_hash, refresh_exp) \
         AS (VALUES {values}), \
         first AS (SELECT DISTINCT ON (old_hash) * FROM input ORDER BY old_hash, job), \
         spent AS ({spend} RETURNING f.job, grant_id, f.access_hash, f.access_exp, f.refresh_hash, f.refresh_exp), \
         access AS (INSERT INTO access_tokens (token_hash, grant_id, expires_at) \
                    SELECT access_hash, grant_id, access_exp FROM spent), \
         refresh AS (INSERT INTO refresh_tokens (token_hash, grant_id, expires_at) \
                     SELECT refresh_hash, grant_id, refresh_exp FROM spent)",
        values = values.join(", "),
        spend = spend_refresh_token(
            "FROM first f",
            [
                "f.old_hash",
                "f.client_id",
                "f.now",
                "f.access_hash",
                "f.refresh_hash"
            ]
        ),
    )
}

/// SQLite has no data-modifying CTEs: rotation `job` of a group is four statements, sent with
/// the group's others as one query (joined by `;`) inside the group's transaction. Each later
/// statement goes ahead only if the one before changed exactly one row: `changes()` is the row
/// count of the last completed INSERT, UPDATE or DELETE on this connection, so a token spent
/// earlier (even by an earlier job of the same group) yields no insert and no row. The row
/// names its job.
pub(crate) fn rotate_sqlite(job: usize) -> String {
    let [hash, client, now, access, access_exp, refresh, refresh_exp] =
        [1, 2, 3, 4, 5, 6, 7].map(|n| format!("${}", job * ROTATION_PARAMS + n));
    format!(
        "{spend}; \
         INSERT INTO access_tokens (token_hash, grant_id, expires_at) \
         SELECT {access}, grant_id, {access_exp} FROM refresh_tokens WHERE token_hash = {hash} AND changes() = 1; \
         INSERT INTO refresh_tokens (token_hash, grant_id, expires_at) \
         SELECT {refresh}, grant_id, {refresh_exp} FROM refresh_tokens WHERE token_hash = {hash} AND changes() = 1; \
         SELECT {job} AS job, {GRANT_COLUMNS} FROM grants g \
         WHERE g.id = (SELECT grant_id FROM refresh_tokens WHERE token_hash = {hash}) AND changes() = 1",
        spend = spend_refresh_token("", [&hash, &client, &now, &access, &refresh])
    )
}
