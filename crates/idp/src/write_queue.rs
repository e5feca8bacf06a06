//! Group commit for the writes every token request makes: audit entries and refresh-token
//! rotations.
//!
//! Requests hand their writes to one task per instance, which commits whatever has queued up
//! in a single transaction ([`Store::commit_group`]). Each request still waits until its own
//! write is committed, so nothing is answered before it is durable; concurrent requests share
//! the transaction, the wait on the audit chain's head row and the commit instead of queueing
//! on them one by one (on SQLite, on the single writer connection).

use llavero_store::{BegunGroup, Grant, NewAuditEvent, RefreshRotation, Rotation, Store};
use tokio::sync::{mpsc, oneshot};

/// Builds the audit entry for a rotation once its grant is known (inside the transaction).
pub type IssuedEvent = Box<dyn FnOnce(&Grant) -> NewAuditEvent + Send>;

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
        issued: IssuedEvent,
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

    /// Rotates a refresh token; a successful rotation is committed with the entry `issued`
    /// builds for it.
    pub async fn rotate(
        &self,
        rotation: Rotation,
        issued: IssuedEvent,
    ) -> Result<Rotated, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Rotate {
            rotation,
            issued,
            reply,
        })
        .await?;
        answer.await.map_err(|_| WriteError::Stopped)?
    }

    async fn send(&self, job: Job) -> Result<(), WriteError> {
        self.0.send(job).await.map_err(|_| WriteError::Stopped)
    }
}

/// How long a transaction begun for the next group waits for one before it is rolled back.
const BEGUN_IDLE: std::time::Duration = std::time::Duration::from_millis(250);

/// Commits groups from `queue` until every sender is gone. While one group commits, the next
/// one's transaction is begun ([`Store::begin_group`]), so that under load a group's first
/// round trip is its work, not `BEGIN`; when no group comes within [`BEGUN_IDLE`], that
/// transaction is rolled back rather than left open.
async fn drain(store: Store, mut queue: mpsc::Receiver<Job>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    let mut begun = BegunGroup::default();
    loop {
        let received = if begun.is_open() {
            let wait = queue.recv_many(&mut group, MAX_GROUP);
            if let Ok(received) = tokio::time::timeout(BEGUN_IDLE, wait).await {
                received
            } else {
                begun = BegunGroup::default();
                continue;
            }
        } else {
            queue.recv_many(&mut group, MAX_GROUP).await
        };
        if received == 0 {
            break;
        }
        let (size, started) = (group.len(), std::time::Instant::now());
        let jobs = std::mem::take(&mut group);
        let ((), next) = tokio::join!(
            commit(&store, std::mem::take(&mut begun), jobs),
            store.begin_group()
        );
        tracing::trace!(size, elapsed = ?started.elapsed(), "group committed");
        // If beginning failed, the next group begins its own transaction (and reports the
        // error if that fails too).
        begun = next.unwrap_or_else(|e| {
            tracing::debug!(error = %e, "beginning the next group's transaction failed");
            BegunGroup::default()
        });
    }
}

/// Rotates through `queue`, or (outside a runtime) directly as a group of one.
pub async fn rotate(
    queue: Option<&WriteQueue>,
    store: &Store,
    rotation: Rotation,
    issued: IssuedEvent,
) -> Result<Rotated, WriteError> {
    if let Some(queue) = queue {
        return queue.rotate(rotation, issued).await;
    }
    let at = rotation.now;
    let mut issued = Some(issued);
    let committed = store
        .commit_group(&[rotation], &[], |_, grant| {
            issued.take().map(|issued| (issued(grant), at))
        })
        .await
        .map_err(|e| WriteError::Store(e.to_string()))?;
    committed
        .rotations
        .into_iter()
        .next()
        .ok_or_else(|| WriteError::Store("no outcome for the rotation".to_owned()))
}

/// Commits one group, in `begun`, and answers every job in it.
async fn commit(store: &Store, begun: BegunGroup, group: Vec<Job>) {
    let mut events = Vec::new();
    let mut appended = Vec::new();
    let mut rotations = Vec::new();
    let mut issued = Vec::new();
    let mut rotated = Vec::new();
    for job in group {
        match job {
            Job::Append { event, at, reply } => {
                events.push((event, at));
                appended.push(reply);
            }
            Job::Rotate {
                rotation,
                issued: entry,
                reply,
            } => {
                issued.push(Some((entry, rotation.now)));
                rotations.push(rotation);
                rotated.push(reply);
            }
        }
    }
    let committed = store
        .commit_begun_group(begun, &rotations, &events, |index, grant| {
            let (entry, at) = issued.get_mut(index)?.take()?;
            Some((entry(grant), at))
        })
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
        }
        Err(e) => {
            for reply in appended {
                let _ = reply.send(Err(e.clone()));
            }
            for reply in rotated {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use llavero_store::testing::{postgres, transactions_left_open};

    use super::*;

    fn event() -> NewAuditEvent {
        NewAuditEvent {
            kind: "test.event".into(),
            ..Default::default()
        }
    }

    /// Under load the next group's transaction is begun while a group commits; once the queue
    /// is idle that transaction is rolled back, not left open, and the queue goes on.
    #[tokio::test]
    async fn begun_transaction_is_not_left_open_while_idle() {
        let store = postgres().await.unwrap();
        let queue = WriteQueue::start(store.clone()).unwrap();
        assert_eq!(queue.append(event(), 1).await.unwrap(), 1);
        // The next group's BEGIN went out with the first group's commit; the transaction
        // stays open for BEGUN_IDLE once it is begun, so it shows within that much from now.
        let deadline = std::time::Instant::now() + BEGUN_IDLE;
        let mut open = 0;
        while open == 0 && std::time::Instant::now() < deadline {
            open = transactions_left_open(&store).await.unwrap();
        }
        assert_eq!(open, 1, "the next group's transaction is begun ahead");
        tokio::time::sleep(BEGUN_IDLE * 4).await;
        assert_eq!(transactions_left_open(&store).await.unwrap(), 0);
        assert_eq!(queue.append(event(), 2).await.unwrap(), 2);
        assert_eq!(store.verify_audit_chain().await.unwrap(), Ok(2));
    }
}
