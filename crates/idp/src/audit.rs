//! Traceability: every security-relevant event goes into the tamper-evident audit chain
//! (`llavero_store` keeps the chain; this module decides what is recorded and signs
//! checkpoints). Nothing secret is recorded: no passwords, codes or tokens.

use axum::http::header::USER_AGENT;
use axum::http::{Extensions, HeaderMap};
use llavero_credentials::crypto::default_backend;
use llavero_credentials::jwk::Jwk;
use llavero_credentials::jws::{self, AlgorithmPolicy, DecodedJws, Header};
use llavero_store::{AuditCheckpoint, BrokenLink, NewAuditEvent, StoreError};
use serde_json::{Value, json};

use crate::state::Idp;
use crate::write_queue::WriteError;

/// A checkpoint is signed every this many entries.
pub const CHECKPOINT_EVERY: i64 = 1000;

/// Where a request came from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The caller's IP.
    pub ip: Option<String>,
    /// The browser.
    pub user_agent: Option<String>,
}

impl Origin {
    /// From a request.
    #[must_use]
    pub fn of(extensions: &Extensions, headers: &HeaderMap) -> Self {
        Self {
            ip: Some(crate::oidc::token::peer(extensions).to_string()),
            user_agent: headers
                .get(USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(200).collect()),
        }
    }
}

/// The event to record. It goes to the service log when it is recorded ([`append`]), or, for
/// an entry committed with what it records (a refresh-token rotation's), once that happened
/// ([`log`]).
#[must_use]
pub fn event(
    origin: &Origin,
    kind: &str,
    account_id: Option<&str>,
    client_id: Option<&str>,
    detail: Value,
) -> NewAuditEvent {
    NewAuditEvent {
        kind: kind.to_owned(),
        account_id: account_id.map(str::to_owned),
        client_id: client_id.map(str::to_owned),
        ip: origin.ip.clone(),
        user_agent: origin.user_agent.clone(),
        detail,
    }
}

/// The service log's line for `event`.
pub fn log(event: &NewAuditEvent) {
    let (account, client) = (event.account_id.as_deref(), event.client_id.as_deref());
    tracing::info!(kind = event.kind, account, client, "audit");
}

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
    append(idp, event(origin, kind, account_id, client_id, detail)).await;
}

/// Logs and appends a made event (through the write queue when there is one). The service log
/// keeps it even if appending fails.
pub async fn append(idp: &Idp, event: NewAuditEvent) {
    log(&event);
    let kind = event.kind.clone();
    let appended = match &idp.writes {
        Some(queue) => queue.append(event, idp.now()).await,
        None => idp
            .store
            .append_audit(&event, idp.now())
            .await
            .map_err(|e| WriteError::Store(e.to_string())),
    };
    match appended {
        Ok(seq) => appended_at(idp, seq).await,
        Err(e) => tracing::error!(error = %e, kind, "audit record failed"),
    }
}

/// After entry `seq` was appended: signs a checkpoint every [`CHECKPOINT_EVERY`] entries.
pub(crate) async fn appended_at(idp: &Idp, seq: i64) {
    if seq % CHECKPOINT_EVERY == 0
        && let Err(e) = checkpoint(idp).await
    {
        tracing::error!(error = %e, "audit checkpoint failed");
    }
}

/// Signs the current head of the chain with the provider's key.
pub async fn checkpoint(idp: &Idp) -> Result<AuditCheckpoint, crate::keys::KeyError> {
    let now = idp.now();
    let (seq, hash) = idp.store.audit_head().await?;
    let signer = idp.keys.signer(&idp.store, &idp.master, now).await?;
    let mut header = Header::new("audit-checkpoint+jwt");
    header.kid = signer.public_jwk().kid().map(str::to_owned);
    let jws = jws::sign_json(
        header,
        &json!({"iss": idp.config.issuer, "seq": seq, "hash": hash, "iat": now}),
        signer.as_ref(),
    )
    .map_err(|e| crate::keys::KeyError::Key(e.to_string()))?;
    let checkpoint = AuditCheckpoint { seq, jws };
    idp.store.put_audit_checkpoint(&checkpoint, now).await?;
    Ok(checkpoint)
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
