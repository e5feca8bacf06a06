//! A criterion [`Measurement`] over the calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`
//! through the `cpu-time` crate), so a benchmark is not charged for the time other processes
//! hold the CPU: on a shared machine wall time varies with the load, CPU time much less.
//!
//! Every benchmark in a run, the raw baseline included, uses it, so their ratios compare like
//! with like.

use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};

/// CPU time consumed by the benchmarking thread, in nanoseconds.
pub struct CpuTime;

impl Measurement for CpuTime {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }

    fn end(&self, start: ThreadTime) -> Duration {
        start.elapsed()
    }

    fn add(&self, v1: &Duration, v2: &Duration) -> Duration {
        *v1 + *v2
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_secs_f64() * 1e9
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &NanosFormatter
    }
}

/// Shows nanoseconds in the unit that suits them, as criterion does for wall time.
struct NanosFormatter;

impl ValueFormatter for NanosFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical < 1e3 {
            (1.0, "ns")
        } else if typical < 1e6 {
            (1e-3, "µs")
        } else if typical < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        for value in values {
            *value *= factor;
        }
        unit
    }

    #[allow(
        clippy::cast_precision_loss,
        reason = "a byte or element count per iteration is far below 2^52"
    )]
    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let (count, unit) = match *throughput {
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => (n as f64, "B/s (CPU)"),
            Throughput::Elements(n) => (n as f64, "elem/s (CPU)"),
        };
        for value in values {
            *value = count * 1e9 / *value;
        }
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}
