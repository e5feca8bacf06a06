//! Traceability: every security-relevant event goes into the tamper-evident audit chain
//! (`llavero_store` keeps the chain; this module decides what is recorded and signs
//! checkpoints). Nothing secret is recorded: no passwords, codes or tokens.

use llavero_credentials::crypto::default_backend;
use llavero_credentials::jwk::Jwk;
use llavero_credentials::jws::{AlgorithmPolicy, DecodedJws};
use llavero_platform::audit::CheckpointError;
use llavero_store::{AuditCheckpoint, BrokenLink, NewAuditEvent, StoreError};
use serde_json::Value;

use crate::state::Idp;

pub use crate::checkpoints::{CheckpointKeys, platform};
pub use llavero_platform::audit::{CHECKPOINT_EVERY, Origin, event, log};

/// Records an event. A failure to record is logged loudly but does not fail the citizen's
/// request (the event also goes to the service log).
pub async fn record(
    idp: &Idp,
    origin: &Origin,
    kind: &str,
    account_id: Option<&str>,
    client_id: Option<&str>,
    detail: Value,
) {
    idp.audit
        .record(origin, kind, account_id, client_id, detail)
        .await;
}

/// Logs and appends a made event (through the write queue when there is one).
pub async fn append(idp: &Idp, event: NewAuditEvent) {
    idp.audit.append(event).await;
}

/// After entry `seq` was appended: signs a checkpoint every [`CHECKPOINT_EVERY`] entries.
pub(crate) async fn appended_at(idp: &Idp, seq: i64) {
    idp.audit.appended_at(seq).await;
}

/// Signs the current head of the chain with the provider's key.
pub async fn checkpoint(idp: &Idp) -> Result<AuditCheckpoint, CheckpointError> {
    idp.audit.checkpoint().await
}

/// What `llavero audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditVerdict {
    /// Every entry and checkpoint holds.
    Intact {
        /// Entries checked.
        entries: i64,
        /// Checkpoints checked.
        checkpoints: usize,
    },
    /// The chain breaks.
    Broken(BrokenLink),
    /// A checkpoint is not signed by a provider key, or pins another hash.
    BadCheckpoint {
        /// The entry it pins.
        seq: i64,
        /// Why.
        reason: &'static str,
    },
}

/// Checks the whole chain, then every checkpoint against every key the provider ever had.
pub async fn verify(idp: &Idp) -> Result<AuditVerdict, StoreError> {
    let entries = match idp.store.verify_audit_chain().await? {
        Ok(entries) => entries,
        Err(broken) => return Ok(AuditVerdict::Broken(broken)),
    };
    let keys: Vec<Jwk> = idp
        .store
        .signing_keys()
        .await?
        .iter()
        .filter_map(|k| {
            serde_json::from_str(&k.public_jwk)
                .ok()
                .and_then(|v| Jwk::from_value(&v).ok())
        })
        .collect();
    let checkpoints = idp.store.audit_checkpoints().await?;
    for checkpoint in &checkpoints {
        let bad = |reason| {
            Ok(AuditVerdict::BadCheckpoint {
                seq: checkpoint.seq,
                reason,
            })
        };
        let Ok(decoded) = DecodedJws::decode(&checkpoint.jws) else {
            return bad("not a JWS");
        };
        let kid = decoded.header().kid.as_deref();
        let signed = keys.iter().filter(|k| k.kid() == kid).any(|k| {
            decoded
                .verify(default_backend(), k, &AlgorithmPolicy::es256_only())
                .is_ok()
        });
        if !signed {
            return bad("not signed by a provider key");
        }
        let Ok(claims) = decoded.unverified_value() else {
            return bad("unreadable");
        };
        let pinned = claims.get("hash").and_then(Value::as_str);
        if claims.get("seq").and_then(Value::as_i64) != Some(checkpoint.seq) {
            return bad("signed for another entry");
        }
        if checkpoint.seq > 0 && idp.store.audit_hash(checkpoint.seq).await?.as_deref() != pinned {
            return bad("the entry no longer has the signed hash");
        }
    }
    Ok(AuditVerdict::Intact {
        entries,
        checkpoints: checkpoints.len(),
    })
}
