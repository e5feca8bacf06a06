//! Traceability: every security-relevant event of every service goes into the one
//! tamper-evident audit chain (`llavero_store` keeps the chain; this module records into it and
//! has its head signed every [`CHECKPOINT_EVERY`] entries). Nothing secret is recorded: no
//! passwords, codes, tokens or credential claims.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::http::header::USER_AGENT;
use axum::http::{Extensions, HeaderMap};
use llavero_credentials::time::Clock;
use llavero_store::{AuditCheckpoint, NewAuditEvent, Store, StoreError};
use serde_json::Value;

use crate::client_address::ClientAddress;
use crate::write_queue::{WriteError, WriteQueue};

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
    /// From a request (its address as resolved by [`crate::client_address::resolve`]).
    #[must_use]
    pub fn of(extensions: &Extensions, headers: &HeaderMap) -> Self {
        Self {
            ip: Some(ClientAddress::of(extensions).to_string()),
            user_agent: headers
                .get(USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(200).collect()),
        }
    }
}

/// The event to record. It goes to the service log when it is recorded ([`Audit::append`]),
/// or, for an entry committed with what it records (a refresh-token rotation's), once that
/// happened ([`log`]).
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

/// Why a checkpoint was not signed.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading the head or storing the checkpoint failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The signer could not sign.
    #[error("signing the checkpoint: {0}")]
    Sign(String),
}

/// A boxed future, for the object-safe traits services implement for each other.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Signs the chain's head: the identity provider does, with its current signing key, so
/// anyone holding its published keys can check a checkpoint.
pub trait CheckpointSigner: Send + Sync {
    /// A compact JWS over `{iss, seq, hash, iat}` pinning entry `seq` with `hash`.
    fn sign(&self, seq: i64, hash: String, now: i64) -> BoxFuture<'_, Result<String, String>>;
}

/// The audit trail's recorder, shared by every service: appends through the write queue when
/// there is one (group commit), signs checkpoints as the chain grows.
#[derive(Clone)]
pub struct Audit {
    store: Store,
    writes: Option<WriteQueue>,
    clock: Arc<dyn Clock>,
    signer: Arc<dyn CheckpointSigner>,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit")
            .field("queued", &self.writes.is_some())
            .finish_non_exhaustive()
    }
}

impl Audit {
    /// A recorder over `store`, starting the write queue when inside a tokio runtime.
    #[must_use]
    pub fn new(store: Store, clock: Arc<dyn Clock>, signer: Arc<dyn CheckpointSigner>) -> Self {
        Self {
            writes: WriteQueue::start(store.clone()),
            store,
            clock,
            signer,
        }
    }

    /// The write queue (none outside a tokio runtime: direct writes).
    #[must_use]
    pub fn writes(&self) -> Option<&WriteQueue> {
        self.writes.as_ref()
    }

    /// Records an event. A failure to record is logged loudly but does not fail the citizen's
    /// request (the event also goes to the service log).
    pub async fn record(
        &self,
        origin: &Origin,
        kind: &str,
        account_id: Option<&str>,
        client_id: Option<&str>,
        detail: Value,
    ) {
        self.append(event(origin, kind, account_id, client_id, detail))
            .await;
    }

    /// Logs and appends a made event. The service log keeps it even if appending fails.
    pub async fn append(&self, event: NewAuditEvent) {
        log(&event);
        let kind = event.kind.clone();
        let now = self.clock.now();
        let appended = match &self.writes {
            Some(queue) => queue.append(event, now).await,
            None => self
                .store
                .append_audit(&event, now)
                .await
                .map_err(|e| WriteError::Store(e.to_string())),
        };
        match appended {
            Ok(seq) => self.appended_at(seq).await,
            Err(e) => tracing::error!(error = %e, kind, "audit record failed"),
        }
    }

    /// After entry `seq` was appended: signs a checkpoint every [`CHECKPOINT_EVERY`] entries.
    pub async fn appended_at(&self, seq: i64) {
        if seq % CHECKPOINT_EVERY == 0
            && let Err(e) = self.checkpoint().await
        {
            tracing::error!(error = %e, "audit checkpoint failed");
        }
    }

    /// Signs the current head of the chain and stores the checkpoint.
    pub async fn checkpoint(&self) -> Result<AuditCheckpoint, CheckpointError> {
        let now = self.clock.now();
        let (seq, hash) = self.store.audit_head().await?;
        let jws = self
            .signer
            .sign(seq, hash, now)
            .await
            .map_err(CheckpointError::Sign)?;
        let checkpoint = AuditCheckpoint { seq, jws };
        self.store.put_audit_checkpoint(&checkpoint, now).await?;
        Ok(checkpoint)
    }
}
