//! OpenID4VCI flow state: credential offers with their pre-authorized codes and transaction
//! codes, the access tokens those codes buy, and single-use `c_nonce`s.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// A credential offer an agency made to a citizen.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    /// Random id (the `credential_offer_uri` ends with it).
    pub id: String,
    /// The agency.
    pub agency_id: String,
    /// The citizen's RUN number (without check digit).
    pub run: i64,
    /// The credential configurations offered.
    pub configuration_ids: Vec<String>,
    /// Agency-supplied claims per credential type, and whether issuance waits for approval.
    pub claims: serde_json::Value,
    /// SHA-256 of the pre-authorized code.
    pub pre_authorized_code_hash: Option<String>,
    /// SHA-256 of the transaction code, when one is required.
    pub tx_code_hash: Option<String>,
    /// Wrong transaction codes so far.
    pub tx_failures: i64,
    /// Created.
    pub created_at: i64,
    /// The code is worthless after this.
    pub expires_at: i64,
    /// When the code was exchanged for a token.
    pub redeemed_at: Option<i64>,
    /// When the offer was killed (too many wrong transaction codes, replay).
    pub dead_at: Option<i64>,
}

/// What presenting a pre-authorized code achieved.
#[derive(Debug, Clone, PartialEq)]
pub enum Redemption {
    /// No such code.
    Unknown,
    /// Expired, already used, or dead: nothing is issued.
    Refused(&'static str),
    /// The offer needs a transaction code and none was sent.
    TxCodeMissing,
    /// A transaction code was sent for an offer that has none.
    TxCodeUnexpected,
    /// Wrong transaction code; the offer dies when `remaining` reaches zero.
    WrongTxCode {
        /// Attempts left.
        remaining: i64,
    },
    /// The token was recorded.
    Redeemed(Box<Offer>),
}

/// An access token of the pre-authorized code flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuanceToken {
    /// The agency.
    pub agency_id: String,
    /// The citizen's RUN number.
    pub run: i64,
    /// The offer it came from.
    pub offer_id: String,
    /// What it may obtain.
    pub configuration_ids: Vec<String>,
    /// Expiry.
    pub expires_at: i64,
}

const OFFER_COLUMNS: &str = "id, agency_id, run, configuration_ids, claims, pre_authorized_code_hash, \
     tx_code_hash, tx_failures, created_at, expires_at, redeemed_at, dead_at";

fn json_column<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    column: &'static str,
) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::corrupt(column, e))
}

fn offer_from_row(row: &AnyRow) -> Result<Offer, StoreError> {
    Ok(Offer {
        id: row.try_get("id")?,
        agency_id: row.try_get("agency_id")?,
        run: row.try_get("run")?,
        configuration_ids: json_column(row, "configuration_ids")?,
        claims: json_column(row, "claims")?,
        pre_authorized_code_hash: row.try_get("pre_authorized_code_hash")?,
        tx_code_hash: row.try_get("tx_code_hash")?,
        tx_failures: row.try_get("tx_failures")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        redeemed_at: row.try_get("redeemed_at")?,
        dead_at: row.try_get("dead_at")?,
    })
}

impl Store {
    /// Records an offer.
    pub async fn create_offer(&self, offer: &Offer) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO credential_offers ({OFFER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&offer.id)
        .bind(&offer.agency_id)
        .bind(offer.run)
        .bind(serde_json::Value::from(offer.configuration_ids.clone()).to_string())
        .bind(offer.claims.to_string())
        .bind(&offer.pre_authorized_code_hash)
        .bind(&offer.tx_code_hash)
        .bind(offer.tx_failures)
        .bind(offer.created_at)
        .bind(offer.expires_at)
        .bind(offer.redeemed_at)
        .bind(offer.dead_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An offer by id.
    pub async fn offer(&self, id: &str) -> Result<Option<Offer>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {OFFER_COLUMNS} FROM credential_offers WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(offer_from_row).transpose()
    }

    /// The offer whose pre-authorized code has this hash.
    pub async fn offer_by_code(&self, code_hash: &str) -> Result<Option<Offer>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {OFFER_COLUMNS} FROM credential_offers WHERE pre_authorized_code_hash = $1"
        ))
        .bind(code_hash)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(offer_from_row).transpose()
    }

    /// Exchanges a pre-authorized code (and transaction code) for an access token, in one
    /// transaction: the code is marked used before the token exists, a wrong transaction code
    /// counts, and the `max_tx_failures`-th wrong one kills the offer.
    pub async fn redeem_pre_authorized_code(
        &self,
        code_hash: &str,
        tx_code_hash: Option<&str>,
        token_hash: &str,
        token_expires_at: i64,
        max_tx_failures: i64,
        now: i64,
    ) -> Result<Redemption, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT {OFFER_COLUMNS} FROM credential_offers WHERE pre_authorized_code_hash = $1"
        ))
        .bind(code_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(offer) = row.as_ref().map(offer_from_row).transpose()? else {
            return Ok(Redemption::Unknown);
        };
        if offer.dead_at.is_some() {
            return Ok(Redemption::Refused("the offer is no longer valid"));
        }
        if offer.redeemed_at.is_some() {
            return Ok(Redemption::Refused(
                "the pre-authorized code was already used",
            ));
        }
        if offer.expires_at <= now {
            return Ok(Redemption::Refused("the pre-authorized code expired"));
        }
        match (&offer.tx_code_hash, tx_code_hash) {
            (Some(_), None) => return Ok(Redemption::TxCodeMissing),
            (None, Some(_)) => return Ok(Redemption::TxCodeUnexpected),
            (Some(expected), Some(given)) if !crate::secret::hashes_equal(expected, given) => {
                let failures = offer.tx_failures + 1;
                let dead = (failures >= max_tx_failures).then_some(now);
                sqlx::query(
                    "UPDATE credential_offers SET tx_failures = $2, dead_at = $3 WHERE id = $1",
                )
                .bind(&offer.id)
                .bind(failures)
                .bind(dead)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                return Ok(Redemption::WrongTxCode {
                    remaining: (max_tx_failures - failures).max(0),
                });
            }
            _ => {}
        }
        let claimed = sqlx::query(
            "UPDATE credential_offers SET redeemed_at = $2 WHERE id = $1 AND redeemed_at IS NULL AND dead_at IS NULL",
        )
        .bind(&offer.id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            return Ok(Redemption::Refused(
                "the pre-authorized code was already used",
            ));
        }
        sqlx::query(
            "INSERT INTO issuance_tokens (token_hash, agency_id, run, offer_id, configuration_ids, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(&offer.agency_id)
        .bind(offer.run)
        .bind(&offer.id)
        .bind(serde_json::Value::from(offer.configuration_ids.clone()).to_string())
        .bind(token_expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Redemption::Redeemed(Box::new(offer)))
    }

    /// The unexpired pre-authorized-flow access token with this hash.
    pub async fn issuance_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<IssuanceToken>, StoreError> {
        let row = sqlx::query(
            "SELECT agency_id, run, offer_id, configuration_ids, expires_at FROM issuance_tokens \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| {
            Ok(IssuanceToken {
                agency_id: row.try_get("agency_id")?,
                run: row.try_get("run")?,
                offer_id: row.try_get("offer_id")?,
                configuration_ids: json_column(&row, "configuration_ids")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// Deletes expired nonces, issuance tokens and agency tokens (offers stay: credentials
    /// and the audit trail refer to them).
    pub async fn purge_issuance_state(&self, now: i64) -> Result<u64, StoreError> {
        let mut purged = 0;
        for sql in [
            "DELETE FROM issuance_nonces WHERE expires_at <= $1",
            "DELETE FROM agency_tokens WHERE expires_at <= $1",
            "DELETE FROM issuance_tokens WHERE expires_at <= $1",
        ] {
            purged += sqlx::query(sql)
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(purged)
    }
}
