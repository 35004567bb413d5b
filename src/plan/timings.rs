//! Per-stage wall time, peak memory and work counters on stderr, for the scaling report
//! (`scripts/scale-report.py`). Off unless the environment variable `KAFKA_REPLAN_TIMINGS`
//! is set, so normal runs print nothing extra and every output file stays the same; when
//! on, it only writes lines to stderr (`timing <stage> <seconds> s <peak RSS> MiB`,
//! `counter <name> <value>`), never into the plan, rollback or report.

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("KAFKA_REPLAN_TIMINGS").is_some())
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`; 0 where unknown).
pub fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// A running stage clock: `lap` reports the time since the previous lap (or the start).
pub struct StageClock {
    last: Option<Instant>,
}

impl StageClock {
    /// Starts a clock (a no-op clock when timings are off: no time is read).
    pub fn start() -> Self {
        StageClock {
            last: enabled().then(Instant::now),
        }
    }

    /// Prints the time since the last lap under `stage` and restarts the lap.
    pub fn lap(&mut self, stage: &str) {
        if let Some(last) = self.last {
            let now = Instant::now();
            eprintln!(
                "timing {stage} {:.3} s {} MiB",
                (now - last).as_secs_f64(),
                peak_rss_mib()
            );
            self.last = Some(now);
        }
    }
}

/// Prints a work counter (solver phases, nodes, arcs, ...).
pub fn counter(name: &str, value: usize) {
    if enabled() {
        eprintln!("counter {name} {value}");
    }
}
