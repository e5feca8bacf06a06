//! `llavero load issue`: workers acting as wallets. Each takes one offer and one access token
//! (as a wallet does per offer), then loops nonce → proofs → credential request with a new
//! holder key per credential, so every credential costs the server what a real one does: a
//! proof check, a status slot, a signature and a commit.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use llavero_credentials::crypto;
use llavero_credentials::time::{Clock as _, SystemClock};
use serde_json::{Value, json};

use super::api::{Api, Failure};
use super::{Tally, progress};
use crate::cli::LoadIssueArgs;

/// Renew the access token before the server's 300 s lifetime runs out.
const SESSION_MAX_AGE: Duration = Duration::from_mins(4);
/// Pause after the server failed to answer, so a dead server is not hammered in a tight loop.
const TRANSPORT_BACKOFF: Duration = Duration::from_millis(50);

/// What every worker shares.
struct Shared<'a> {
    args: &'a LoadIssueArgs,
    claims: Value,
    deadline: Instant,
    record: Option<Mutex<File>>,
    done: AtomicU64,
    failed: AtomicU64,
}

/// Runs the workers until the duration is over; returns the JSON summary.
pub(super) fn run(args: &LoadIssueArgs) -> anyhow::Result<Value> {
    anyhow::ensure!(
        args.target.concurrency > 0,
        "--concurrency must be at least 1"
    );
    anyhow::ensure!(args.batch > 0, "--batch must be at least 1");
    let claims: Value = serde_json::from_str(&args.claims).context("--claims is not JSON")?;
    let record = args
        .record
        .as_ref()
        .map(|path| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))
                .map(Mutex::new)
        })
        .transpose()?;
    let started = Instant::now();
    let shared = Shared {
        args,
        claims,
        deadline: started + Duration::from_secs(args.target.duration),
        record,
        done: AtomicU64::new(0),
        failed: AtomicU64::new(0),
    };
    let finished = AtomicBool::new(false);
    let tally = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..args.target.concurrency)
            .map(|_| scope.spawn(|| Worker::new(&shared).run()))
            .collect();
        scope.spawn(|| {
            progress(
                &shared.done,
                &shared.failed,
                started,
                shared.deadline,
                &finished,
            );
        });
        let mut total = Tally::default();
        for worker in workers {
            match worker.join() {
                Ok(tally) => total.merge(tally),
                Err(_) => total.failure("worker thread panicked"),
            }
        }
        finished.store(true, Ordering::Relaxed);
        total
    });
    Ok(tally.summary(
        "issue",
        "credentials",
        started.elapsed(),
        json!({
            "concurrency": args.target.concurrency,
            "batch": args.batch,
            "configuration_id": args.configuration_id,
        }),
    ))
}

/// One wallet-like worker with its own connection.
struct Worker<'a> {
    shared: &'a Shared<'a>,
    api: Api,
    agency_token: Option<String>,
    access_token: Option<(String, Instant)>,
    tally: Tally,
}

impl<'a> Worker<'a> {
    fn new(shared: &'a Shared<'a>) -> Self {
        let target = &shared.args.target;
        Self {
            shared,
            api: Api::new(&target.url, &target.agency),
            agency_token: None,
            access_token: None,
            tally: Tally::default(),
        }
    }

    fn run(mut self) -> Tally {
        while Instant::now() < self.shared.deadline {
            let outcome = self.session().and_then(|token| {
                let started = Instant::now();
                self.issue(&token).map(|credentials| (credentials, started))
            });
            match outcome {
                Ok((credentials, started)) => {
                    let n = credentials.len() as u64;
                    self.save(&credentials);
                    self.tally.success(n, started);
                    self.shared.done.fetch_add(n, Ordering::Relaxed);
                }
                Err(failure) => self.failed(&failure),
            }
        }
        self.tally
    }

    fn failed(&mut self, failure: &Failure) {
        self.tally.failure(&failure.kind);
        self.shared.failed.fetch_add(1, Ordering::Relaxed);
        if failure.is_unauthorized() {
            self.access_token = None;
            if failure.kind.starts_with("offer") {
                self.agency_token = None;
            }
        }
        if failure.is_transport() {
            std::thread::sleep(TRANSPORT_BACKOFF);
        }
    }

    /// The access token of this worker's offer, taking an offer and a token if it has none
    /// or it is about to expire.
    fn session(&mut self) -> Result<String, Failure> {
        if let Some((token, since)) = &self.access_token
            && since.elapsed() < SESSION_MAX_AGE
        {
            return Ok(token.clone());
        }
        let target = &self.shared.args.target;
        let agency_token = if let Some(token) = &self.agency_token {
            token.clone()
        } else {
            let token = self
                .api
                .agency_token(&target.client_id, &target.client_secret)?;
            self.agency_token = Some(token.clone());
            token
        };
        let args = self.shared.args;
        let code = self.api.offer(
            &agency_token,
            &args.run,
            &args.configuration_id,
            &self.shared.claims,
        )?;
        let token = self.api.token(&code)?;
        self.access_token = Some((token.clone(), Instant::now()));
        Ok(token)
    }

    /// One credential request: a fresh nonce, one proof per new holder key.
    fn issue(&self, access_token: &str) -> Result<Vec<String>, Failure> {
        let nonce = self.api.nonce()?;
        let audience = self.api.credential_issuer();
        let now = SystemClock.now();
        let proofs = (0..self.shared.args.batch)
            .map(|_| {
                let key = crypto::generate_p256(None).map_err(Failure::client)?;
                let signer = crypto::signer_from_jwk(&key).map_err(Failure::client)?;
                llavero_holder::proof::proof_jwt(
                    signer.as_ref(),
                    &audience,
                    Some(&nonce),
                    now,
                    None,
                )
                .map_err(Failure::client)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.api
            .credential(access_token, &self.shared.args.configuration_id, &proofs)
    }

    /// Appends the credentials to the record file the moment they arrive: a crash test
    /// compares this file with what the server committed.
    fn save(&mut self, credentials: &[String]) {
        let Some(record) = &self.shared.record else {
            return;
        };
        let lines = credentials.iter().fold(String::new(), |mut lines, c| {
            lines.push_str(c);
            lines.push('\n');
            lines
        });
        let mut file = record
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = file.write_all(lines.as_bytes()) {
            self.tally.failure(&format!("record: {e}"));
        }
    }
}
