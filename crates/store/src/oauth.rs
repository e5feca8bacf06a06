//! OAuth state: pending authorization requests (PAR and front-channel), grants, codes, tokens,
//! consent and used client assertions.
//!
//! A grant is the family of everything one authorization produced: its code, every access and
//! refresh token. Revoking the grant (code replay, refresh-token reuse, logout, registry status
//! change, consent withdrawn) revokes them all at once; every token lookup checks the grant.

use sqlx::any::AnyRow;
use sqlx::{Any, Row as _, Transaction};

use crate::secret::{json_list, to_json_list};
use crate::{Person, Store, StoreError};

/// A validated authorization request waiting for the citizen to log in and consent.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationRequest {
    /// Random identifier (the PAR `request_uri` suffix, or the front-channel request id).
    pub id: String,
    /// The client.
    pub client_id: String,
    /// The validated parameters, as the identity provider serialized them.
    pub params: serde_json::Value,
    /// Whether it arrived by PAR.
    pub pushed: bool,
    /// Expiry.
    pub expires_at: i64,
}

/// A grant being created together with its code.
#[derive(Debug, Clone)]
pub struct NewGrant {
    /// Random identifier.
    pub id: String,
    /// The account.
    pub account_id: String,
    /// The client.
    pub client_id: String,
    /// The session (`sid`) it was made in.
    pub session_handle: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// Authentication time.
    pub auth_time: i64,
    /// Authentication context class.
    pub acr: String,
    /// Authentication methods.
    pub amr: Vec<String>,
}

/// A stored grant.
pub type Grant = NewGrant;

/// The code as issued.
#[derive(Debug, Clone)]
pub struct IssuedCode {
    /// The grant it belongs to.
    pub grant: Grant,
    /// The redirect URI it was sent to.
    pub redirect_uri: String,
    /// PKCE S256 challenge; none only for a client registered with PKCE optional.
    pub code_challenge: Option<String>,
    /// The request's `nonce`.
    pub nonce: Option<String>,
    /// Expiry.
    pub expires_at: i64,
}

/// What presenting a code found.
#[derive(Debug, Clone)]
pub enum CodeRedemption {
    /// No such code.
    Unknown,
    /// Already used: the grant and every token it produced were revoked just now.
    Replayed,
    /// First use: the code is now spent.
    First(Box<IssuedCode>),
}

/// What presenting a refresh token found.
#[derive(Debug, Clone)]
pub enum RefreshRotation {
    /// No such token, or it belongs to another client.
    Unknown,
    /// Already rotated: the whole family was revoked just now.
    Reused,
    /// Past its lifetime, or its grant, session or account has ended.
    Inactive,
    /// Spent; the new tokens were stored.
    Rotated(Box<Grant>),
}

/// What an access token grants, for userinfo.
#[derive(Debug, Clone)]
pub struct AccessGrant {
    /// The grant.
    pub grant: Grant,
    /// The registry record of the account's person.
    pub person: Person,
}

/// A remembered consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// The client.
    pub client_id: String,
    /// The client's display name.
    pub client_name: String,
    /// Consented scopes.
    pub scopes: Vec<String>,
    /// When.
    pub granted_at: i64,
}

pub(crate) const GRANT_COLUMNS: &str =
    "g.id, g.account_id, g.client_id, g.session_handle, g.scope, g.auth_time, g.acr, g.amr";

pub(crate) fn grant_from_row(row: &AnyRow) -> Result<Grant, StoreError> {
    let amr: String = row.try_get("amr")?;
    Ok(Grant {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        client_id: row.try_get("client_id")?,
        session_handle: row.try_get("session_handle")?,
        scope: row.try_get("scope")?,
        auth_time: row.try_get("auth_time")?,
        acr: row.try_get("acr")?,
        amr: json_list("amr", &amr)?,
    })
}

/// Revokes every live grant matching `filter` (a condition on `grants` with `$1` bound to
/// `value`) and the access tokens they produced. Refresh tokens die with their grant.
pub(crate) async fn revoke_grants_in(
    tx: &mut Transaction<'_, Any>,
    filter: &str,
    value: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "UPDATE access_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND grant_id IN \
         (SELECT id FROM grants WHERE {filter} AND revoked_at IS NULL)"
    ))
    .bind(value)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(&format!(
        "UPDATE grants SET revoked_at = $2 WHERE {filter} AND revoked_at IS NULL"
    ))
    .bind(value)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Condition for a grant that may still be used: not revoked, its session not ended, its
/// account neither disabled nor locked.
pub(crate) const GRANT_ALIVE: &str = "g.revoked_at IS NULL AND a.disabled_at IS NULL AND a.locked_at IS NULL \
     AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.handle = g.session_handle AND s.ended_at IS NOT NULL)";

impl Store {
    /// Stores a validated authorization request.
    pub async fn put_authorization_request(
        &self,
        request: &AuthorizationRequest,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO authorization_requests (id, client_id, params, pushed, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&request.id)
        .bind(&request.client_id)
        .bind(request.params.to_string())
        .bind(i64::from(request.pushed))
        .bind(now)
        .bind(request.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A pending (unexpired, unconsumed) authorization request.
    pub async fn authorization_request(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<AuthorizationRequest>, StoreError> {
        let row = sqlx::query(
            "SELECT id, client_id, params, pushed, expires_at FROM authorization_requests \
             WHERE id = $1 AND consumed_at IS NULL AND expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| {
            let params: String = row.try_get("params")?;
            let pushed: i64 = row.try_get("pushed")?;
            Ok(AuthorizationRequest {
                id: row.try_get("id")?,
                client_id: row.try_get("client_id")?,
                params: serde_json::from_str(&params)
                    .map_err(|e| StoreError::corrupt("params", e))?,
                pushed: pushed != 0,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// Marks a pushed request as taken by `/authorize` (a `request_uri` is single use) and
    /// stores its front-channel continuation under `next`. Returns false if it was taken.
    pub async fn take_pushed_request(
        &self,
        id: &str,
        next: &AuthorizationRequest,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !take_request_in(&mut tx, id, now).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO authorization_requests (id, client_id, params, pushed, created_at, expires_at) \
             VALUES ($1, $2, $3, 1, $4, $5)",
        )
        .bind(&next.id)
        .bind(&next.client_id)
        .bind(next.params.to_string())
        .bind(now)
        .bind(next.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Ends an authorization request without a code (the citizen denied, or an error was sent).
    pub async fn consume_authorization_request(
        &self,
        id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE authorization_requests SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(done == 1)
    }

    /// Completes an authorization request in one transaction: consumes it, records the grant
    /// and its code. Returns false (and writes nothing) if the request was consumed meanwhile.
    pub async fn issue_code(
        &self,
        request_id: &str,
        grant: &NewGrant,
        code_hash: &str,
        code: &IssuedCode,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !take_request_in(&mut tx, request_id, now).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO grants (id, account_id, client_id, session_handle, scope, auth_time, acr, amr, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&grant.id)
        .bind(&grant.account_id)
        .bind(&grant.client_id)
        .bind(&grant.session_handle)
        .bind(&grant.scope)
        .bind(grant.auth_time)
        .bind(&grant.acr)
        .bind(to_json_list(&grant.amr))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO authorization_codes (code_hash, grant_id, redirect_uri, code_challenge, nonce, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(code_hash)
        .bind(&grant.id)
        .bind(&code.redirect_uri)
        .bind(code.code_challenge.as_deref())
        .bind(code.nonce.as_deref())
        .bind(code.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Spends a code. A second presentation revokes the grant and every token it produced
    /// (RFC 6749 §4.1.2), in the same transaction.
    pub async fn redeem_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> Result<CodeRedemption, StoreError> {
        let mut tx = self.pool.begin().await?;
        let spent = sqlx::query(
            "UPDATE authorization_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL \
             RETURNING grant_id, redirect_uri, code_challenge, nonce, expires_at",
        )
        .bind(code_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(spent) = spent else {
            let grant: Option<String> =
                sqlx::query_scalar("SELECT grant_id FROM authorization_codes WHERE code_hash = $1")
                    .bind(code_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(grant) = grant else {
                return Ok(CodeRedemption::Unknown);
            };
            revoke_grants_in(&mut tx, "id = $1", &grant, now).await?;
            tx.commit().await?;
            return Ok(CodeRedemption::Replayed);
        };
        let grant_id: String = spent.try_get("grant_id")?;
        let row = sqlx::query(&format!(
            "SELECT {GRANT_COLUMNS} FROM grants g WHERE g.id = $1"
        ))
        .bind(&grant_id)
        .fetch_one(&mut *tx)
        .await?;
        let issued = IssuedCode {
            grant: grant_from_row(&row)?,
            redirect_uri: spent.try_get("redirect_uri")?,
            code_challenge: spent.try_get("code_challenge")?,
            nonce: spent.try_get("nonce")?,
            expires_at: spent.try_get("expires_at")?,
        };
        tx.commit().await?;
        Ok(CodeRedemption::First(Box::new(issued)))
    }

    /// Stores the tokens issued for a grant (hashes only).
    pub async fn store_tokens(
        &self,
        grant_id: &str,
        access: (&str, i64),
        refresh: (&str, i64),
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        insert_tokens(&mut tx, grant_id, access, refresh).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Rotates a refresh token of `client_id`: spends it and stores the new pair in one
    /// transaction. Presenting a spent one revokes the family (OAuth 2.0 Security BCP §4.14).
    /// The token endpoint rotates through [`Store::commit_group`], several requests at once;
    /// this is a group of one, without a grace window ([`crate::Rotation::grace_secs`] 0).
    pub async fn rotate_refresh_token(
        &self,
        client_id: &str,
        old_hash: &str,
        access: (&str, i64),
        refresh: (&str, i64),
        now: i64,
    ) -> Result<RefreshRotation, StoreError> {
        let rotation = crate::Rotation {
            client_id: client_id.to_owned(),
            old_hash: old_hash.to_owned(),
            access: (access.0.to_owned(), access.1),
            refresh: (refresh.0.to_owned(), refresh.1),
            now,
            entry: None,
            grace_secs: 0,
        };
        let committed = self.commit_group(None, &[rotation], &[]).await?;
        committed
            .rotations
            .into_iter()
            .next()
            .map(|(rotation, _)| rotation)
            .ok_or_else(|| StoreError::corrupt("rotation", "no outcome"))
    }

    /// The grant of refresh token `token_hash` if it is one of `client_id`'s, spent or not:
    /// the token endpoint reads it before queueing a rotation, to build the audit entry that
    /// goes with it ([`crate::Rotation::entry`]); a token it does not find is unknown.
    pub async fn refresh_token_grant(
        &self,
        token_hash: &str,
        client_id: &str,
    ) -> Result<Option<Grant>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {GRANT_COLUMNS} FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id \
             WHERE r.token_hash = $1 AND g.client_id = $2"
        ))
        .bind(token_hash)
        .bind(client_id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(grant_from_row).transpose()
    }

    /// Why a refresh token could not be spent: unknown (to this client), already used (the
    /// family is revoked now), or expired / its grant no longer alive.
    pub(crate) async fn refused_rotation(
        &self,
        client_id: &str,
        old_hash: &str,
        now: i64,
    ) -> Result<RefreshRotation, StoreError> {
        let found = sqlx::query(
            "SELECT r.grant_id, r.used_at FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id \
             WHERE r.token_hash = $1 AND g.client_id = $2",
        )
        .bind(old_hash)
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(found) = found else {
            return Ok(RefreshRotation::Unknown);
        };
        let used_at: Option<i64> = found.try_get("used_at")?;
        if used_at.is_none() {
            return Ok(RefreshRotation::Inactive);
        }
        let grant_id: String = found.try_get("grant_id")?;
        let mut tx = self.pool.begin().await?;
        revoke_grants_in(&mut tx, "id = $1", &grant_id, now).await?;
        tx.commit().await?;
        Ok(RefreshRotation::Reused)
    }

    /// The grant behind a live access token, with the person's registry record.
    pub async fn access_grant(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<AccessGrant>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {GRANT_COLUMNS}, p.run, p.given_names, p.paternal_surname, p.maternal_surname, p.birth_date, \
             p.sex, p.nationality, p.document_serial, p.status, p.registry_updated_at \
             FROM access_tokens t JOIN grants g ON g.id = t.grant_id JOIN accounts a ON a.id = g.account_id \
             JOIN registry_people p ON p.run = a.run \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 AND {GRANT_ALIVE}"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(AccessGrant {
            grant: grant_from_row(&row)?,
            person: crate::registry::person_from_row(&row)?,
        }))
    }

    /// Revokes a token of `client_id` (RFC 7009): an access token alone; a refresh token with
    /// its whole grant. Unknown tokens are ignored, as the RFC asks.
    pub async fn revoke_token(
        &self,
        client_id: &str,
        token_hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE access_tokens SET revoked_at = $3 WHERE token_hash = $1 AND revoked_at IS NULL \
             AND EXISTS (SELECT 1 FROM grants g WHERE g.id = access_tokens.grant_id AND g.client_id = $2)",
        )
        .bind(token_hash)
        .bind(client_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let grant: Option<String> = sqlx::query_scalar(
            "SELECT r.grant_id FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id \
             WHERE r.token_hash = $1 AND g.client_id = $2",
        )
        .bind(token_hash)
        .bind(client_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(grant) = grant {
            revoke_grants_in(&mut tx, "id = $1", &grant, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The consent `account_id` gave `client_id`, if any.
    pub async fn consent(
        &self,
        account_id: &str,
        client_id: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let scope: Option<String> = sqlx::query_scalar(
            "SELECT scope FROM consents WHERE account_id = $1 AND client_id = $2",
        )
        .bind(account_id)
        .bind(client_id)
        .fetch_optional(&self.reader)
        .await?;
        scope.map(|s| json_list("scope", &s)).transpose()
    }

    /// Remembers consent to `scopes` (replacing an earlier one).
    pub async fn put_consent(
        &self,
        account_id: &str,
        client_id: &str,
        scopes: &[String],
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO consents (account_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
        )
        .bind(account_id)
        .bind(client_id)
        .bind(to_json_list(scopes))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every consent of an account, with client names (for the account page).
    pub async fn consents_of(&self, account_id: &str) -> Result<Vec<Consent>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.client_id, k.name, c.scope, c.granted_at FROM consents c JOIN clients k ON k.id = c.client_id \
             WHERE c.account_id = $1 ORDER BY c.granted_at DESC",
        )
        .bind(account_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                let scope: String = row.try_get("scope")?;
                Ok(Consent {
                    client_id: row.try_get("client_id")?,
                    client_name: row.try_get("name")?,
                    scopes: json_list("scope", &scope)?,
                    granted_at: row.try_get("granted_at")?,
                })
            })
            .collect()
    }

    /// Withdraws a consent and revokes the client's grants for the account.
    pub async fn revoke_consent(
        &self,
        account_id: &str,
        client_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let removed = sqlx::query("DELETE FROM consents WHERE account_id = $1 AND client_id = $2")
            .bind(account_id)
            .bind(client_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let grants: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM grants WHERE account_id = $1 AND client_id = $2 AND revoked_at IS NULL",
        )
        .bind(account_id)
        .bind(client_id)
        .fetch_all(&mut *tx)
        .await?;
        for grant in grants {
            revoke_grants_in(&mut tx, "id = $1", &grant, now).await?;
        }
        tx.commit().await?;
        Ok(removed == 1)
    }

    /// Records a client assertion's `jti` until it expires; false if it was seen before.
    pub async fn use_assertion(
        &self,
        jti_hash: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        sqlx::query("DELETE FROM used_assertions WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO used_assertions (jti_hash, expires_at) VALUES ($1, $2) ON CONFLICT (jti_hash) DO NOTHING",
        )
        .bind(jti_hash)
        .bind(expires_at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }
}

/// Marks a pending request as used, if it still is pending (unused and unexpired).
async fn take_request_in(
    tx: &mut Transaction<'_, Any>,
    id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let taken = sqlx::query(
        "UPDATE authorization_requests SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL AND expires_at > $2",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(taken == 1)
}

pub(crate) async fn insert_tokens(
    tx: &mut Transaction<'_, Any>,
    grant_id: &str,
    (access_hash, access_exp): (&str, i64),
    (refresh_hash, refresh_exp): (&str, i64),
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO access_tokens (token_hash, grant_id, expires_at) VALUES ($1, $2, $3)")
        .bind(access_hash)
        .bind(grant_id)
        .bind(access_exp)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, grant_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(refresh_hash)
    .bind(grant_id)
    .bind(refresh_exp)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
