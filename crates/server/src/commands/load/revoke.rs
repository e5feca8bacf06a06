//! `llavero load revoke`: workers revoking the agency's newest valid credentials through the
//! agency API. One listing returns at most 1000 credentials (the API has no paging), so a run
//! ends early when those are all revoked; the rate is over the time actually spent.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::api::Api;
use super::{Tally, progress};
use crate::cli::LoadTarget;

/// Most credentials one listing returns.
const LISTING_LIMIT: u32 = 1000;

/// Revokes until the duration is over or no listed credential is left; returns the summary.
pub(super) fn run(target: &LoadTarget) -> anyhow::Result<Value> {
    anyhow::ensure!(target.concurrency > 0, "--concurrency must be at least 1");
    let api = Api::new(&target.url, &target.agency);
    let token = api
        .agency_token(&target.client_id, &target.client_secret)
        .map_err(|f| anyhow::anyhow!("{}", f.kind))?;
    let ids = api
        .valid_credential_ids(&token, LISTING_LIMIT)
        .map_err(|f| anyhow::anyhow!("{}", f.kind))?;
    let available = ids.len();
    eprintln!("revoke: {available} valid credentials listed");
    let queue = Mutex::new(ids);
    let done = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let finished = AtomicBool::new(false);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(target.duration);
    let worker = || {
        let api = Api::new(&target.url, &target.agency);
        let mut tally = Tally::default();
        while Instant::now() < deadline {
            let next = queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .pop();
            let Some(id) = next else { break };
            let request = Instant::now();
            match api.revoke(&token, &id) {
                Ok(()) => {
                    tally.success(1, request);
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Err(failure) => {
                    tally.failure(&failure.kind);
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        tally
    };
    let (tally, elapsed) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..target.concurrency)
            .map(|_| scope.spawn(worker))
            .collect();
        scope.spawn(|| progress(&done, &failed, started, deadline, &finished));
        let mut total = Tally::default();
        for handle in workers {
            match handle.join() {
                Ok(tally) => total.merge(tally),
                Err(_) => total.failure("worker thread panicked"),
            }
        }
        let elapsed = started.elapsed();
        finished.store(true, Ordering::Relaxed);
        (total, elapsed)
    });
    let exhausted = queue
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .is_empty();
    Ok(tally.summary(
        "revoke",
        "revocations",
        elapsed,
        json!({"concurrency": target.concurrency, "listed": available, "exhausted": exhausted}),
    ))
}
