//! `llavero load …`: load tests of a running issuer over HTTP, and an in-process signing
//! baseline on one thread, so a report can state what the service achieves against what the
//! raw cryptography allows on the same machine in the same session.
//!
//! Every command prints progress and a readable summary on stderr and one JSON object on
//! stdout, for scripts (`tests/load/bench.sh`).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::LoadCommand;

mod api;
mod issue;
mod revoke;
mod sign;

/// Runs a load command.
pub fn run(command: LoadCommand) -> anyhow::Result<ExitCode> {
    let summary = match command {
        LoadCommand::Issue(args) => issue::run(&args)?,
        LoadCommand::Revoke(target) => revoke::run(&target)?,
        LoadCommand::Sign { duration } => sign::run(Duration::from_secs(duration))?,
    };
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}

/// What one worker counted.
#[derive(Debug, Default)]
struct Tally {
    /// Things done: credentials received, credentials revoked.
    done: u64,
    /// Requests that succeeded.
    requests: u64,
    /// Failures by kind.
    failures: BTreeMap<String, u64>,
    /// Latency of each successful request, in microseconds.
    latencies_us: Vec<u64>,
}

impl Tally {
    fn success(&mut self, done: u64, started: Instant) {
        self.done += done;
        self.requests += 1;
        self.latencies_us
            .push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
    }

    fn failure(&mut self, kind: &str) {
        *self.failures.entry(kind.to_owned()).or_default() += 1;
    }

    fn merge(&mut self, other: Self) {
        self.done += other.done;
        self.requests += other.requests;
        for (kind, n) in other.failures {
            *self.failures.entry(kind).or_default() += n;
        }
        self.latencies_us.extend(other.latencies_us);
    }

    /// The JSON summary: `unit` names what `done` counts; rates are over `elapsed`.
    fn summary(mut self, command: &str, unit: &str, elapsed: Duration, extra: Value) -> Value {
        self.latencies_us.sort_unstable();
        let secs = elapsed.as_secs_f64().max(f64::EPSILON);
        let failed: u64 = self.failures.values().sum();
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        let rate = self.done as f64 / secs;
        let percentile = |p: usize| {
            let n = self.latencies_us.len();
            let at = (n * p / 100).min(n.saturating_sub(1));
            #[allow(clippy::cast_precision_loss)]
            self.latencies_us
                .get(at)
                .map(|us| (*us as f64 / 1000.0 * 10.0).round() / 10.0)
        };
        let mut summary = json!({
            "command": command,
            "unit": unit,
            "done": self.done,
            "requests": self.requests,
            "failed": failed,
            "failures": self.failures,
            "elapsed_secs": (secs * 1000.0).round() / 1000.0,
            "per_sec": (rate * 10.0).round() / 10.0,
            "latency_ms": {"p50": percentile(50), "p90": percentile(90), "p99": percentile(99), "max": percentile(100)},
        });
        if let (Some(summary), Value::Object(extra)) = (summary.as_object_mut(), extra) {
            summary.extend(extra);
        }
        eprintln!(
            "{command}: {} {unit} in {secs:.1} s = {rate:.1}/s; {} requests ok, {failed} failed; latency p50 {} ms, p99 {} ms",
            self.done,
            self.requests,
            percentile(50).unwrap_or_default(),
            percentile(99).unwrap_or_default(),
        );
        for (kind, n) in &self.failures {
            eprintln!("  {n} × {kind}");
        }
        summary
    }
}

/// Prints a progress line to stderr every few seconds while `running` says so, reading the
/// shared counter of things done.
fn progress(
    counter: &std::sync::atomic::AtomicU64,
    failed: &std::sync::atomic::AtomicU64,
    started: Instant,
    deadline: Instant,
    finished: &std::sync::atomic::AtomicBool,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let step = Duration::from_secs(2);
    let mut next = started + step;
    while !finished.load(Relaxed) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        if Instant::now() >= next {
            eprintln!(
                "  t={:>3.0}s done={} failed={}",
                started.elapsed().as_secs_f64(),
                counter.load(Relaxed),
                failed.load(Relaxed)
            );
            next += step;
        }
    }
}
