//! The grace window of refresh-token rotation: a retry of the token just rotated, by the same
//! client, a few seconds after its rotation and while the token that replaced it is still
//! unused, is answered with a fresh pair instead of revoking the family.
//!
//! Why: a rotation is committed before its answer leaves. If the answer is lost (the instance
//! killed between commit and response, a dropped connection), the client holds only the token
//! it sent, now spent; its retry looked like reuse (OAuth 2.0 Security BCP §4.14) and revoked a
//! family nobody stole. Okta's grace period and Auth0's reuse interval exist for this.
//!
//! **A fresh successor, not the same one.** The store keeps only token hashes, so handing the
//! lost successor back would mean storing it recoverable (sealed): a database leak would then
//! yield live refresh tokens. Instead the retry retires the unused successor (spent, so
//! presenting it later is a reuse that revokes the family, as for any spent token) and revokes
//! the access token issued with it, stores a new pair, and points the retried token at that
//! pair. The family stays one chain with one live refresh token, and the window is measured
//! from the original rotation: retries do not extend it.
//!
//! **Exact outside the window.** The retired successor must be unused, the retried token must be
//! the one it replaced (the immediately previous token, not an older one), presented by the
//! family's client, within [`Rotation::grace_secs`] of its spend, its grant alive: all checked
//! by one conditional `UPDATE` in the database, so every stateless instance decides alike and
//! concurrent retries retire the successor at most once. Anything else is refused as before,
//! a spent token revoking its family.
//!
//! The normal rotation pays nothing for this: its `UPDATE` also records the successor's hashes
//! ([`crate::rotation_sql::spend_refresh_token`]); only a refused rotation tries the window, in the
//! group's transaction, so its audit entry is committed with it.

use sqlx::{Any, Row as _, Transaction};

use crate::oauth::{GRANT_ALIVE, GRANT_COLUMNS, grant_from_row, insert_tokens};
use crate::{Grant, Rotation, StoreError};

/// Retires the successor of `rotation`'s token if the retry is within its grace window (see the
/// module's rules), then stores the rotation's new pair in its place. Returns the grant if it
/// did; `None` (and changes nothing) otherwise.
pub(crate) async fn retry_in_grace(
    tx: &mut Transaction<'_, Any>,
    rotation: &Rotation,
) -> Result<Option<Grant>, StoreError> {
    if rotation.grace_secs <= 0 {
        return Ok(None);
    }
    let retired = sqlx::query(&format!(
        "UPDATE refresh_tokens SET used_at = $3 WHERE used_at IS NULL AND token_hash = \
         (SELECT p.successor_hash FROM refresh_tokens p WHERE p.token_hash = $1 \
          AND p.used_at IS NOT NULL AND p.used_at <= $3 AND p.used_at + $4 > $3 \
          AND p.expires_at > $3 AND $2 = (SELECT g.client_id FROM grants g \
          JOIN accounts a ON a.id = g.account_id WHERE g.id = p.grant_id AND {GRANT_ALIVE})) \
         RETURNING grant_id"
    ))
    .bind(&rotation.old_hash)
    .bind(&rotation.client_id)
    .bind(rotation.now)
    .bind(rotation.grace_secs)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(retired) = retired else {
        return Ok(None);
    };
    let grant_id: String = retired.try_get("grant_id")?;
    sqlx::query(
        "UPDATE access_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND token_hash = \
         (SELECT successor_access_hash FROM refresh_tokens WHERE token_hash = $1)",
    )
    .bind(&rotation.old_hash)
    .bind(rotation.now)
    .execute(&mut **tx)
    .await?;
    let (access, refresh) = (&rotation.access, &rotation.refresh);
    insert_tokens(
        tx,
        &grant_id,
        (&access.0, access.1),
        (&refresh.0, refresh.1),
    )
    .await?;
    sqlx::query(
        "UPDATE refresh_tokens SET successor_hash = $2, successor_access_hash = $3 \
         WHERE token_hash = $1",
    )
    .bind(&rotation.old_hash)
    .bind(&refresh.0)
    .bind(&access.0)
    .execute(&mut **tx)
    .await?;
    let row = sqlx::query(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants g WHERE g.id = $1"
    ))
    .bind(&grant_id)
    .fetch_one(&mut **tx)
    .await?;
    grant_from_row(&row).map(Some)
}
