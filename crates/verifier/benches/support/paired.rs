//! Paired timing: each benchmark's batches alternate with as many raw verifications, timed the
//! same way, and its ratio is taken over those pairs. A shared machine's load drifts from one
//! benchmark to the next (and slows memory-bound code more than the signature arithmetic),
//! so a baseline measured minutes earlier does not compare; one measured batch for batch does.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::Criterion;

use crate::cpu_time::CpuTime;

/// Per benchmark: CPU time of the raw verifications and of the benchmark, over the same batches.
static TOTALS: Mutex<BTreeMap<&'static str, (Duration, Duration)>> = Mutex::new(BTreeMap::new());

/// Benchmarks `routine` as `name`, following each batch with as many calls of `raw`.
pub fn bench<O>(
    c: &mut Criterion<CpuTime>,
    name: &'static str,
    raw: &dyn Fn(),
    mut routine: impl FnMut() -> O,
) {
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let start = ThreadTime::now();
            for _ in 0..iters {
                black_box(routine());
            }
            let spent = start.elapsed();
            let start = ThreadTime::now();
            for _ in 0..iters {
                raw();
            }
            let raw_spent = start.elapsed();
            let mut totals = TOTALS.lock().unwrap();
            let entry = totals.entry(name).or_default();
            entry.0 += raw_spent;
            entry.1 += spent;
            spent
        });
    });
}

/// Operations per second of `name` relative to raw verification, over its paired batches.
pub fn ratio(name: &str) -> Option<f64> {
    let totals = TOTALS.lock().ok()?;
    let (raw, spent) = totals.get(name)?;
    (!spent.is_zero()).then(|| raw.as_secs_f64() / spent.as_secs_f64())
}
