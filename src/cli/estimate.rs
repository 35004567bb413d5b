//! The batch schedule's inputs and its wall-time estimate, shared by `plan --throttle`,
//! `simulate` and `apply --dry-run`: the throttle rate, the per-batch limits and the one
//! paragraph all three print.

use kafka_replan::formats::racks::parse_byte_size;
use kafka_replan::formats::report::human_bytes;
use kafka_replan::plan::schedule::{BatchLimits, Schedule};

use super::CliError;

/// Seconds added per batch for submitting it, polling and changing throttles.
pub const BATCH_OVERHEAD_S: f64 = 5.0;

/// Parses `50MB/s`, `50MB` or `50000000` as bytes per second.
pub fn parse_rate(flag: &str, s: &str) -> Result<u64, CliError> {
    let t = s.trim();
    let t = t.strip_suffix("/s").unwrap_or(t);
    match parse_byte_size(t) {
        Ok(0) => Err(CliError::bad_input(format!(
            "{flag}: the rate must be above 0"
        ))),
        Ok(v) => Ok(v),
        Err(e) => Err(CliError::bad_input(format!("{flag}: {e}"))),
    }
}

pub fn limits(max_bytes: &str, max_moves: Option<usize>) -> Result<BatchLimits, CliError> {
    let max_bytes_per_broker = parse_byte_size(max_bytes)
        .map_err(|e| CliError::bad_input(format!("--max-inflight-bytes-per-broker: {e}")))?;
    if max_moves == Some(0) {
        return Err(CliError::bad_input(
            "--max-moves-per-broker must be at least 1",
        ));
    }
    Ok(BatchLimits {
        max_bytes_per_broker,
        max_moves_per_broker: max_moves,
    })
}

/// The one-paragraph estimate `plan --throttle` and `simulate` print.
pub fn estimate_text(s: &Schedule, throttle: u64) -> String {
    let secs = s.estimated_seconds(throttle, BATCH_OVERHEAD_S);
    format!(
        "estimate:          {} batches, {} to copy at {}/s per broker: about {} ({:.0} s, incl. {BATCH_OVERHEAD_S:.0} s per batch)\n",
        s.batches.len(),
        human_bytes(s.total_bytes()),
        human_bytes(throttle),
        human_duration(secs),
        secs
    )
}

fn human_duration(secs: f64) -> String {
    let s = secs.round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}
