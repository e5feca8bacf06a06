//! Group commit for the writes every token request makes: audit entries and refresh-token
//! rotations.
//!
//! Requests hand their writes to one task per instance, which commits whatever has queued up
//! together ([`Store::commit_group`]). Each request still waits until its own write is
//! committed, so nothing is answered before it is durable; concurrent requests share the
//! wait on the audit chain's head row and the commit instead of queueing on them one by one
//! (on SQLite, on the single writer connection). The task remembers the head each group
//! leaves, so on PostgreSQL the next group can go out as one statement chained after it.

use llavero_store::{NewAuditEvent, RefreshRotation, Rotation, Store};
use tokio::sync::{mpsc, oneshot};

/// A rotation's outcome and the sequence number of the entry recording it.
pub type Rotated = (RefreshRotation, Option<i64>);

/// Why a queued write was not committed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    /// The group's transaction failed: nothing of it was stored.
    #[error("database: {0}")]
    Store(String),
    /// The queue's task is gone (the runtime is shutting down).
    #[error("the write queue stopped")]
    Stopped,
}

enum Job {
    Append {
        event: NewAuditEvent,
        at: i64,
        reply: oneshot::Sender<Result<i64, WriteError>>,
    },
    Rotate {
        rotation: Rotation,
        reply: oneshot::Sender<Result<Rotated, WriteError>>,
    },
}

/// The queue's handle: cheap to clone.
#[derive(Debug, Clone)]
pub struct WriteQueue(mpsc::Sender<Job>);

/// Most writes per transaction.
const MAX_GROUP: usize = 256;

/// How often the write-ahead log is checkpointed beside the writer (SQLite; see
/// [`Store::checkpoint_wal`]).
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

impl WriteQueue {
    /// Starts the queue's task, and the write-ahead log's checkpoints, on the current tokio
    /// runtime; `None` outside one.
    #[must_use]
    pub fn start(store: Store) -> Option<Self> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let (sender, queue) = mpsc::channel::<Job>(4096);
        runtime.spawn(drain(store.clone(), queue));
        let checkpoints = store;
        runtime.spawn(async move {
            let mut every = tokio::time::interval(CHECKPOINT_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                match checkpoints.checkpoint_wal().await {
                    Ok(_) => {}
                    Err(e) if e.is_closed() => break,
                    // The writer still checkpoints by itself, later.
                    Err(e) => tracing::warn!(error = %e, "write-ahead log checkpoint failed"),
                }
            }
        });
        Some(Self(sender))
    }

    /// Appends an audit event; returns its sequence number once committed.
    pub async fn append(&self, event: NewAuditEvent, at: i64) -> Result<i64, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Append { event, at, reply }).await?;
        answer.await.map_err(|_| WriteError::Stopped)?
    }

    /// Rotates a refresh token; a successful rotation is committed with its
    /// [`Rotation::entry`].
    pub async fn rotate(&self, rotation: Rotation) -> Result<Rotated, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Rotate { rotation, reply }).await?;
        answer.await.map_err(|_| WriteError::Stopped)?
    }

    async fn send(&self, job: Job) -> Result<(), WriteError> {
        self.0.send(job).await.map_err(|_| WriteError::Stopped)
    }
}

/// Commits groups from `queue` until every sender is gone, each expecting the audit head the
/// last one left.
async fn drain(store: Store, mut queue: mpsc::Receiver<Job>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    let mut head = None;
    while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
        let (size, started) = (group.len(), std::time::Instant::now());
        let committed = commit(&store, head.as_ref(), std::mem::take(&mut group)).await;
        tracing::trace!(
            size,
            one_statement = committed.as_ref().is_some_and(|c| c.1),
            elapsed = ?started.elapsed(),
            "group committed"
        );
        head = committed.map(|(head, _)| head);
    }
}

/// Rotates through `queue`, or (outside a runtime) directly as a group of one.
pub async fn rotate(
    queue: Option<&WriteQueue>,
    store: &Store,
    rotation: Rotation,
) -> Result<Rotated, WriteError> {
    if let Some(queue) = queue {
        return queue.rotate(rotation).await;
    }
    let committed = store
        .commit_group(None, &[rotation], &[])
        .await
        .map_err(|e| WriteError::Store(e.to_string()))?;
    committed
        .rotations
        .into_iter()
        .next()
        .ok_or_else(|| WriteError::Store("no outcome for the rotation".to_owned()))
}

/// Commits one group, expecting the audit head `head`, and answers every job in it. Returns
/// the head it left and whether it went out as one statement; `None` if it failed.
async fn commit(
    store: &Store,
    head: Option<&(i64, String)>,
    group: Vec<Job>,
) -> Option<((i64, String), bool)> {
    let mut events = Vec::new();
    let mut appended = Vec::new();
    let mut rotations = Vec::new();
    let mut rotated = Vec::new();
    for job in group {
        match job {
            Job::Append { event, at, reply } => {
                events.push((event, at));
                appended.push(reply);
            }
            Job::Rotate { rotation, reply } => {
                rotations.push(rotation);
                rotated.push(reply);
            }
        }
    }
    let committed = store
        .commit_group(head, &rotations, &events)
        .await
        .map_err(|e| WriteError::Store(e.to_string()));
    match committed {
        Ok(committed) => {
            for (reply, seq) in appended.into_iter().zip(committed.events) {
                let _ = reply.send(Ok(seq));
            }
            for (reply, outcome) in rotated.into_iter().zip(committed.rotations) {
                let _ = reply.send(Ok(outcome));
            }
            Some((committed.head, committed.one_statement))
        }
        Err(e) => {
            for reply in appended {
                let _ = reply.send(Err(e.clone()));
            }
            for reply in rotated {
                let _ = reply.send(Err(e.clone()));
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use llavero_store::testing::postgres;

    use super::*;

    fn event() -> NewAuditEvent {
        NewAuditEvent {
            kind: "test.event".into(),
            ..Default::default()
        }
    }

    /// The queue chains each group after the head the last one left; when something else
    /// appended in between (another instance, a write outside the queue), the group still
    /// lands after it, and the queue goes on from the new head.
    #[tokio::test]
    async fn groups_follow_appends_from_outside_the_queue() {
        if llavero_store::testing::skip_postgres() {
            return;
        }
        let store = postgres().await.unwrap();
        let queue = WriteQueue::start(store.clone()).unwrap();
        assert_eq!(queue.append(event(), 1).await.unwrap(), 1);
        assert_eq!(queue.append(event(), 2).await.unwrap(), 2);
        assert_eq!(store.append_audit(&event(), 3).await.unwrap(), 3);
        assert_eq!(queue.append(event(), 4).await.unwrap(), 4);
        assert_eq!(queue.append(event(), 5).await.unwrap(), 5);
        assert_eq!(store.verify_audit_chain().await.unwrap(), Ok(5));
    }
}
