//! Issued credentials and their status-list slots.
//!
//! A credential's row is its slot: `(list_id, idx)` is unique, the index is drawn at random
//! among the list's free slots (an ordered index would let anyone correlate holders by issuance
//! order), and the row is written in the transaction that signs the credential, before the
//! wallet sees it. A slot is never freed, so it is never reused; a crash before commit leaves
//! nothing behind, and the wallet got nothing.
//!
//! A list has no allocation counter (a hot row every concurrent issuance would queue on): it is
//! full when [`PICKS_PER_LIST`] random picks in a row land on used slots, and the next list
//! opens.

use sqlx::any::AnyRow;
use sqlx::{Any, Row as _, Transaction};

use crate::{PersonStatus, Store, StoreError};

/// Random picks that must all collide before a list counts as full (at 75 % use, a pick fails
/// with probability 0.75; eight in a row, 10 %).
pub const PICKS_PER_LIST: usize = 8;

/// What becomes of a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialStatus {
    /// Good.
    Valid,
    /// Revoked for good.
    Revoked,
    /// Suspended until lifted.
    Suspended,
}

impl CredentialStatus {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Revoked => "revoked",
            Self::Suspended => "suspended",
        }
    }

    /// Parses a stored name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "valid" => Some(Self::Valid),
            "revoked" => Some(Self::Revoked),
            "suspended" => Some(Self::Suspended),
            _ => None,
        }
    }
}

/// A status list of an agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListRow {
    /// `agency/number`.
    pub id: String,
    /// The agency.
    pub agency_id: String,
    /// 1, 2, …
    pub number: i64,
    /// Entries.
    pub size: i64,
}

/// A credential to record (its slot is allocated by [`Issuance::record`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    /// Random id.
    pub id: String,
    /// The agency.
    pub agency_id: String,
    /// The citizen's RUN number.
    pub run: i64,
    /// The credential configuration.
    pub configuration_id: String,
    /// `dc+sd-jwt` or `jwt_vc_json`.
    pub format: String,
    /// The signing key.
    pub kid: String,
    /// JWK thumbprint of the holder key it is bound to.
    pub holder_thumbprint: Option<String>,
    /// The offer it came from.
    pub offer_id: Option<String>,
    /// The wallet's handle for notifications.
    pub notification_id: Option<String>,
    /// Issued.
    pub issued_at: i64,
    /// Expiry.
    pub expires_at: i64,
}

/// A recorded credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCredential {
    /// What was recorded at issuance.
    pub credential: NewCredential,
    /// Its status list.
    pub list_id: String,
    /// Its index there.
    pub idx: i64,
    /// Its status.
    pub status: CredentialStatus,
    /// Why it last changed.
    pub status_reason: Option<String>,
    /// When it last changed.
    pub status_changed_at: Option<i64>,
    /// What the wallet reported (`credential_accepted`, `credential_deleted`, `credential_failure`).
    pub wallet_event: Option<String>,
}

/// Where a credential's status lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The list.
    pub list: StatusListRow,
    /// The index.
    pub idx: i64,
}

/// What a status change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChange {
    /// No credential of that agency has that id.
    NotFound,
    /// It is revoked: revocation is final.
    AlreadyRevoked,
    /// The change makes no sense from its current status (unsuspending a valid credential).
    NotApplicable(CredentialStatus),
    /// Done.
    Changed(Box<IssuedCredential>),
}

/// A deferred issuance waiting for its agency's approval.
#[derive(Debug, Clone, PartialEq)]
pub struct Deferred {
    /// Id the agency approves by.
    pub id: String,
    /// SHA-256 of the `transaction_id` the wallet holds.
    pub transaction_hash: String,
    /// The agency.
    pub agency_id: String,
    /// The citizen.
    pub run: i64,
    /// The offer it came from.
    pub offer_id: String,
    /// The configuration.
    pub configuration_id: String,
    /// The holder keys from the proofs (JWKs), one credential each.
    pub holder_keys: serde_json::Value,
    /// Created.
    pub created_at: i64,
    /// The wallet must collect before this.
    pub expires_at: i64,
    /// When the agency approved.
    pub approved_at: Option<i64>,
    /// When the wallet collected.
    pub collected_at: Option<i64>,
}

const CREDENTIAL_COLUMNS: &str = "id, agency_id, list_id, idx, run, configuration_id, format, kid, \
     holder_thumbprint, offer_id, notification_id, issued_at, expires_at, status, status_reason, \
     status_changed_at, wallet_event";

fn credential_from_row(row: &AnyRow) -> Result<IssuedCredential, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(IssuedCredential {
        credential: NewCredential {
            id: row.try_get("id")?,
            agency_id: row.try_get("agency_id")?,
            run: row.try_get("run")?,
            configuration_id: row.try_get("configuration_id")?,
            format: row.try_get("format")?,
            kid: row.try_get("kid")?,
            holder_thumbprint: row.try_get("holder_thumbprint")?,
            offer_id: row.try_get("offer_id")?,
            notification_id: row.try_get("notification_id")?,
            issued_at: row.try_get("issued_at")?,
            expires_at: row.try_get("expires_at")?,
        },
        list_id: row.try_get("list_id")?,
        idx: row.try_get("idx")?,
        status: CredentialStatus::parse(&status)
            .ok_or_else(|| StoreError::corrupt("issued_credentials.status", status))?,
        status_reason: row.try_get("status_reason")?,
        status_changed_at: row.try_get("status_changed_at")?,
        wallet_event: row.try_get("wallet_event")?,
    })
}

const DEFERRED_COLUMNS: &str = "transaction_hash, id, agency_id, run, offer_id, configuration_id, \
     holder_keys, created_at, expires_at, approved_at, collected_at";

fn deferred_from_row(row: &AnyRow) -> Result<Deferred, StoreError> {
    let keys: String = row.try_get("holder_keys")?;
    Ok(Deferred {
        id: row.try_get("id")?,
        transaction_hash: row.try_get("transaction_hash")?,
        agency_id: row.try_get("agency_id")?,
        run: row.try_get("run")?,
        offer_id: row.try_get("offer_id")?,
        configuration_id: row.try_get("configuration_id")?,
        holder_keys: serde_json::from_str(&keys)
            .map_err(|e| StoreError::corrupt("deferred_issuances.holder_keys", e))?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        approved_at: row.try_get("approved_at")?,
        collected_at: row.try_get("collected_at")?,
    })
}

fn list_from_row(row: &AnyRow) -> Result<StatusListRow, StoreError> {
    Ok(StatusListRow {
        id: row.try_get("id")?,
        agency_id: row.try_get("agency_id")?,
        number: row.try_get("number")?,
        size: row.try_get("size")?,
    })
}

/// One issuance: slots allocated and credentials recorded, committed together.
#[derive(Debug)]
pub struct Issuance {
    tx: Transaction<'static, Any>,
}

impl Store {
    /// Starts an issuance transaction.
    pub async fn begin_issuance(&self) -> Result<Issuance, StoreError> {
        Ok(Issuance {
            tx: self.pool.begin().await?,
        })
    }
}

impl Issuance {
    /// Records `credential` in a random free slot of its agency's open status list (opening
    /// one of `list_size` entries if needed); `pick(size)` draws an index below `size`.
    pub async fn record(
        &mut self,
        credential: &NewCredential,
        list_size: i64,
        pick: &mut (dyn FnMut(i64) -> i64 + Send),
        now: i64,
    ) -> Result<Slot, StoreError> {
        loop {
            let list = self
                .open_list(&credential.agency_id, list_size, now)
                .await?;
            for _ in 0..PICKS_PER_LIST {
                let idx = pick(list.size);
                let inserted = sqlx::query(&format!(
                    "INSERT INTO issued_credentials ({CREDENTIAL_COLUMNS}, suspended_by_registry) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'valid', NULL, NULL, NULL, 0) \
                     ON CONFLICT (list_id, idx) DO NOTHING"
                ))
                .bind(&credential.id)
                .bind(&credential.agency_id)
                .bind(&list.id)
                .bind(idx)
                .bind(credential.run)
                .bind(&credential.configuration_id)
                .bind(&credential.format)
                .bind(&credential.kid)
                .bind(&credential.holder_thumbprint)
                .bind(&credential.offer_id)
                .bind(&credential.notification_id)
                .bind(credential.issued_at)
                .bind(credential.expires_at)
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
                if inserted == 1 {
                    return Ok(Slot { list, idx });
                }
            }
            sqlx::query("UPDATE status_lists SET full_at = $2 WHERE id = $1 AND full_at IS NULL")
                .bind(&list.id)
                .bind(now)
                .execute(&mut *self.tx)
                .await?;
        }
    }

    async fn open_list(
        &mut self,
        agency_id: &str,
        size: i64,
        now: i64,
    ) -> Result<StatusListRow, StoreError> {
        let select = "SELECT id, agency_id, number, size FROM status_lists \
                      WHERE agency_id = $1 AND full_at IS NULL ORDER BY number LIMIT 1";
        if let Some(row) = sqlx::query(select)
            .bind(agency_id)
            .fetch_optional(&mut *self.tx)
            .await?
        {
            return list_from_row(&row);
        }
        let next: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(number), 0) + 1 FROM status_lists WHERE agency_id = $1",
        )
        .bind(agency_id)
        .fetch_one(&mut *self.tx)
        .await?;
        sqlx::query(
            "INSERT INTO status_lists (id, agency_id, number, size, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (agency_id, number) DO NOTHING",
        )
        .bind(format!("{agency_id}/{next}"))
        .bind(agency_id)
        .bind(next)
        .bind(size)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        let row = sqlx::query(
            "SELECT id, agency_id, number, size FROM status_lists WHERE agency_id = $1 AND number = $2",
        )
        .bind(agency_id)
        .bind(next)
        .fetch_one(&mut *self.tx)
        .await?;
        list_from_row(&row)
    }

    /// Spends a `c_nonce` in this transaction: true the first time, false if it was spent
    /// before. A failed issuance rolls the spending back with everything else.
    pub async fn spend_nonce(
        &mut self,
        nonce_hash: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        Ok(spend_nonce(&mut self.tx, nonce_hash, expires_at).await?)
    }

    /// Marks a deferred issuance collected, in this transaction. False if it already was.
    pub async fn collect_deferred(&mut self, id: &str, now: i64) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE deferred_issuances SET collected_at = $2 WHERE id = $1 AND collected_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }

    /// Commits: the credentials exist.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// An agency's status list by number.
    pub async fn status_list(
        &self,
        agency_id: &str,
        number: i64,
    ) -> Result<Option<StatusListRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, agency_id, number, size FROM status_lists WHERE agency_id = $1 AND number = $2",
        )
        .bind(agency_id)
        .bind(number)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(list_from_row).transpose()
    }

    /// Every status list of an agency.
    pub async fn status_lists(&self, agency_id: &str) -> Result<Vec<StatusListRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, agency_id, number, size FROM status_lists WHERE agency_id = $1 ORDER BY number",
        )
        .bind(agency_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(list_from_row).collect()
    }

    /// The entries of a list that are not valid.
    pub async fn list_entries(
        &self,
        list_id: &str,
    ) -> Result<Vec<(i64, CredentialStatus)>, StoreError> {
        let rows = sqlx::query(
            "SELECT idx, status FROM issued_credentials WHERE list_id = $1 AND status <> 'valid' ORDER BY idx",
        )
        .bind(list_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                Ok((
                    row.try_get("idx")?,
                    CredentialStatus::parse(&status)
                        .ok_or_else(|| StoreError::corrupt("issued_credentials.status", status))?,
                ))
            })
            .collect()
    }

    /// The slots used in a list (for consistency checks).
    pub async fn used_slots(&self, list_id: &str) -> Result<Vec<i64>, StoreError> {
        Ok(
            sqlx::query_scalar(
                "SELECT idx FROM issued_credentials WHERE list_id = $1 ORDER BY idx",
            )
            .bind(list_id)
            .fetch_all(&self.reader)
            .await?,
        )
    }

    /// An agency's credentials, newest first, optionally of one citizen.
    pub async fn issued_credentials(
        &self,
        agency_id: &str,
        run: Option<i64>,
        limit: i64,
    ) -> Result<Vec<IssuedCredential>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM issued_credentials \
             WHERE agency_id = $1 AND ($2 IS NULL OR run = $2) ORDER BY issued_at DESC, id LIMIT $3"
        ))
        .bind(agency_id)
        .bind(run)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(credential_from_row).collect()
    }

    /// Revokes, suspends or unsuspends one of `agency_id`'s credentials (never another
    /// agency's). Revocation is final.
    pub async fn set_credential_status(
        &self,
        agency_id: &str,
        credential_id: &str,
        status: CredentialStatus,
        reason: &str,
        now: i64,
    ) -> Result<StatusChange, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM issued_credentials WHERE id = $1 AND agency_id = $2"
        ))
        .bind(credential_id)
        .bind(agency_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(mut current) = row.as_ref().map(credential_from_row).transpose()? else {
            return Ok(StatusChange::NotFound);
        };
        let allowed = match (current.status, status) {
            (CredentialStatus::Revoked, _) => return Ok(StatusChange::AlreadyRevoked),
            (CredentialStatus::Valid, CredentialStatus::Suspended | CredentialStatus::Revoked)
            | (CredentialStatus::Suspended, CredentialStatus::Valid | CredentialStatus::Revoked) => {
                true
            }
            _ => false,
        };
        if !allowed {
            return Ok(StatusChange::NotApplicable(current.status));
        }
        sqlx::query(
            "UPDATE issued_credentials SET status = $2, status_reason = $3, status_changed_at = $4, \
             suspended_by_registry = 0 WHERE id = $1",
        )
        .bind(credential_id)
        .bind(status.as_str())
        .bind(reason)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        current.status = status;
        current.status_reason = Some(reason.to_owned());
        current.status_changed_at = Some(now);
        Ok(StatusChange::Changed(Box::new(current)))
    }

    /// Records what the wallet reported about the credentials of a notification id. False if
    /// the id is unknown or belongs to another agency.
    pub async fn record_wallet_event(
        &self,
        agency_id: &str,
        notification_id: &str,
        event: &str,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE issued_credentials SET wallet_event = $3 WHERE notification_id = $1 AND agency_id = $2",
        )
        .bind(notification_id)
        .bind(agency_id)
        .bind(event)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed > 0)
    }

    /// Records a deferred issuance.
    pub async fn create_deferred(&self, deferred: &Deferred) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO deferred_issuances (transaction_hash, id, agency_id, run, offer_id, configuration_id, \
             holder_keys, created_at, expires_at, approved_at, collected_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL)",
        )
        .bind(&deferred.transaction_hash)
        .bind(&deferred.id)
        .bind(&deferred.agency_id)
        .bind(deferred.run)
        .bind(&deferred.offer_id)
        .bind(&deferred.configuration_id)
        .bind(deferred.holder_keys.to_string())
        .bind(deferred.created_at)
        .bind(deferred.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A deferred issuance by the hash of its transaction id.
    pub async fn deferred(&self, transaction_hash: &str) -> Result<Option<Deferred>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {DEFERRED_COLUMNS} FROM deferred_issuances WHERE transaction_hash = $1"
        ))
        .bind(transaction_hash)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(deferred_from_row).transpose()
    }

    /// Approves one of the agency's deferred issuances; the citizen's RUN number, or none if
    /// unknown, another agency's, or already approved.
    pub async fn approve_deferred(
        &self,
        agency_id: &str,
        id: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "UPDATE deferred_issuances SET approved_at = $3 \
             WHERE id = $1 AND agency_id = $2 AND approved_at IS NULL RETURNING run",
        )
        .bind(id)
        .bind(agency_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The agency's deferred issuances awaiting approval, oldest first.
    pub async fn pending_deferred(&self, agency_id: &str) -> Result<Vec<Deferred>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DEFERRED_COLUMNS} FROM deferred_issuances \
             WHERE agency_id = $1 AND approved_at IS NULL ORDER BY created_at LIMIT 1000"
        ))
        .bind(agency_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(deferred_from_row).collect()
    }
}

async fn spend_nonce(
    tx: &mut Transaction<'_, Any>,
    nonce_hash: &str,
    expires_at: i64,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO issuance_nonces (nonce_hash, expires_at) VALUES ($1, $2) ON CONFLICT (nonce_hash) DO NOTHING",
    )
    .bind(nonce_hash)
    .bind(expires_at)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

impl Store {
    /// Spends a `c_nonce` outside an issuance (a deferred request): true the first time.
    pub async fn spend_nonce(&self, nonce_hash: &str, expires_at: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let spent = spend_nonce(&mut tx, nonce_hash, expires_at).await?;
        tx.commit().await?;
        Ok(spent)
    }
}

/// The registry coupling, inside the registry upsert's transaction: a deceased person's
/// credentials are revoked, a blocked person's suspended; returns how many changed.
pub(crate) async fn follow_registry_status(
    tx: &mut Transaction<'_, Any>,
    run: i64,
    status: PersonStatus,
    now: i64,
) -> Result<u64, StoreError> {
    let (sql, reason) = match status {
        PersonStatus::Deceased => (
            "UPDATE issued_credentials SET status = 'revoked', status_reason = $2, status_changed_at = $3, \
             suspended_by_registry = 0 WHERE run = $1 AND status <> 'revoked'",
            "registry: deceased",
        ),
        PersonStatus::Blocked => (
            "UPDATE issued_credentials SET status = 'suspended', status_reason = $2, status_changed_at = $3, \
             suspended_by_registry = 1 WHERE run = $1 AND status = 'valid'",
            "registry: blocked",
        ),
        PersonStatus::Active => return Ok(0),
    };
    Ok(sqlx::query(sql)
        .bind(run)
        .bind(reason)
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

/// Lifts the suspensions the registry imposed on `run`, active again.
pub(crate) async fn lift_registry_suspensions(
    tx: &mut Transaction<'_, Any>,
    run: i64,
    now: i64,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "UPDATE issued_credentials SET status = 'valid', status_reason = 'registry: active again', \
         status_changed_at = $2, suspended_by_registry = 0 \
         WHERE run = $1 AND suspended_by_registry = 1 AND status = 'suspended'",
    )
    .bind(run)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}
