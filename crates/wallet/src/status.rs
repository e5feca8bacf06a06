//! Whether held credentials still hold: each SD-JWT VC's Token Status List entry, read from
//! the issuer's signed list (checked with the issuer's key), cached per the list's `ttl`; and
//! the credential's own expiry. A revoked or expired credential cannot be presented.

use llavero_credentials::crypto::default_backend;
use llavero_credentials::jws::AlgorithmPolicy;
use llavero_credentials::sd_jwt::SdJwt;
use llavero_credentials::status::StatusListReference;
use llavero_store::HeldCredential;
use serde_json::Value;

use crate::error::WalletError;
use crate::fetch::Outbound;
use crate::state::Wallet;

/// A held credential's standing, as the pages show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Usable.
    Valid,
    /// Suspended by its issuer (may come back).
    Suspended,
    /// Revoked by its issuer.
    Revoked,
    /// Past its expiry.
    Expired,
    /// The list could not be read; last known state shown.
    Unknown,
}

impl Standing {
    /// The stored and displayed name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::Unknown => "unknown",
        }
    }

    /// From the stored name.
    #[must_use]
    pub fn from_name(name: &str) -> Self {
        match name {
            "valid" => Self::Valid,
            "suspended" => Self::Suspended,
            "revoked" => Self::Revoked,
            "expired" => Self::Expired,
            _ => Self::Unknown,
        }
    }

    /// Whether a credential in this standing may be presented.
    #[must_use]
    pub fn presentable(self) -> bool {
        matches!(self, Self::Valid | Self::Unknown)
    }
}

/// The standing of `held` now: expiry first, then the issuer's status list when the stored
/// reading is older than the cache time. Stores a fresh reading.
pub async fn refresh(wallet: &Wallet, held: &HeldCredential) -> Standing {
    let now = wallet.now();
    if held.expires_at.is_some_and(|exp| exp <= now) {
        return Standing::Expired;
    }
    let stored = Standing::from_name(&held.status);
    if stored == Standing::Revoked
        || held
            .status_checked_at
            .is_some_and(|at| now - at < wallet.config.status_ttl_secs)
    {
        return stored;
    }
    match read(wallet, held).await {
        Ok(Some(fresh)) => {
            if let Err(e) = wallet
                .store
                .set_held_status(&held.account_id, &held.id, fresh.as_str(), now)
                .await
            {
                tracing::warn!(error = %e, "storing a credential status");
            }
            fresh
        }
        Ok(None) => stored,
        Err(e) => {
            tracing::info!(error = %e, "status list unavailable");
            stored
        }
    }
}

/// Reads the credential's entry in its issuer's list; `None` when it has no status.
async fn read(wallet: &Wallet, held: &HeldCredential) -> Result<Option<Standing>, WalletError> {
    if !held.credential.contains('~') {
        return Ok(None);
    }
    let sd_jwt =
        SdJwt::parse(&held.credential).map_err(|e| WalletError::Internal(e.to_string()))?;
    let Some(reference) = sd_jwt
        .unverified_payload()
        .pointer("/status/status_list")
        .cloned()
    else {
        return Ok(None);
    };
    let reference: StatusListReference =
        serde_json::from_value(reference).map_err(|e| WalletError::Remote(e.to_string()))?;
    wallet.config.urls.check(&reference.uri)?;
    let answer = wallet.fetch.send(Outbound::get(&reference.uri)).await?;
    if !(200..300).contains(&answer.status) {
        return Err(WalletError::Remote(format!(
            "status list: HTTP {}",
            answer.status
        )));
    }
    let token = String::from_utf8(answer.body).map_err(|e| WalletError::Remote(e.to_string()))?;
    let token = token.trim();
    let kid = llavero_credentials::jws::DecodedJws::decode(token)
        .map_err(|e| WalletError::Remote(e.to_string()))?
        .header()
        .kid
        .clone();
    let key = crate::issuer_keys::key(wallet, &held.credential_issuer, kid.as_deref()).await?;
    let list = llavero_credentials::status::token::verify_status_list_token(
        token,
        &key,
        default_backend(),
        &AlgorithmPolicy::es256_only(),
        &reference.uri,
        wallet.now(),
        60,
    )
    .map_err(|e| WalletError::Remote(e.to_string()))?;
    let index = usize::try_from(reference.idx).map_err(|e| WalletError::Remote(e.to_string()))?;
    Ok(Some(match list.list().get(index) {
        Some(0) => Standing::Valid,
        Some(2) => Standing::Suspended,
        Some(_) => Standing::Revoked,
        None => return Err(WalletError::Remote("index outside the list".into())),
    }))
}

/// The credential's claims as its holder sees them (every disclosure applied), for display
/// and DCQL matching: the subject's claims without the envelope's.
#[must_use]
pub fn claims_of(held: &HeldCredential) -> Value {
    if held.credential.contains('~') {
        let Ok(sd_jwt) = SdJwt::parse(&held.credential) else {
            return Value::Null;
        };
        let Ok(revealed) = llavero_credentials::sd_jwt::reveal(
            sd_jwt.unverified_payload().clone(),
            sd_jwt.disclosures(),
            default_backend(),
        ) else {
            return Value::Null;
        };
        return revealed.claims;
    }
    llavero_credentials::jws::DecodedJws::decode(&held.credential)
        .ok()
        .and_then(|jws| jws.unverified_claims::<Value>().ok())
        .unwrap_or(Value::Null)
}
