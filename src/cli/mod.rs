//! The command line: clap arguments per subcommand, turned into configs in one fallible
//! step, then the library does the work. Files are written atomically (`output`).

pub mod apply;
pub mod estimate;
pub mod files;
pub mod generate;
pub mod live;
pub mod load_args;
pub mod ops;
pub mod output;
pub mod plan;
pub mod score;
pub mod simulate;
pub mod snapshot;

use std::fmt;

use clap::{Parser, Subcommand};

/// Exit codes: 0 ok, 1 the job could not be done, 2 bad input or usage.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

/// An error that reached the command line, with its exit code. Printed once by `main`.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    /// Bad input or usage (exit 2).
    pub fn bad_input(e: impl fmt::Display) -> Self {
        CliError {
            code: EXIT_BAD_INPUT,
            message: e.to_string(),
        }
    }

    /// The job could not be done (exit 1).
    pub fn failed(e: impl fmt::Display) -> Self {
        CliError {
            code: EXIT_FAILED,
            message: e.to_string(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Ok carries the exit code of a run that did its job but has a verdict (e.g. `score` of an
/// invalid plan exits 1 after printing its metrics).
pub type CliResult = Result<u8, CliError>;

#[derive(Parser, Debug)]
#[command(
    name = "kafka-replan",
    version,
    about = "Plan minimal, balanced, rack- and capacity-safe Kafka partition reassignments",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Compute a reassignment plan from a snapshot.
    Plan(Box<plan::PlanArgs>),
    /// Drop-in for `kafka-reassign-partitions --generate`: plan the listed topics onto the
    /// listed brokers and print Kafka's two JSON blocks on stdout.
    #[command(long_about = generate::LONG_ABOUT)]
    Generate(generate::GenerateArgs),
    /// Write a cluster snapshot from Kafka tool output (offline).
    #[command(long_about = snapshot::LONG_ABOUT)]
    Snapshot(snapshot::SnapshotArgs),
    /// Validate a reassignment JSON against a snapshot and print the bench scorer's metrics.
    Score(score::ScoreArgs),
    /// Batch a plan as `apply` would and estimate its wall time under a throttle.
    Simulate(simulate::SimulateArgs),
    /// Run a plan on the cluster: byte-limited batches, throttles on moving replicas only,
    /// a journal to resume or cancel from, progress, and a preferred-leader election.
    Apply(apply::ApplyArgs),
    /// Elect the preferred leaders of the partitions of an election JSON or a plan.
    Elect(ops::ElectArgs),
    /// Show the partition reassignments in progress on the cluster.
    Status(ops::StatusArgs),
    /// Check a plan against the cluster: completed, in progress or different, per partition.
    Verify(ops::VerifyArgs),
    /// Cancel the in-flight moves of a plan and restore the original replica order.
    Cancel(ops::CancelArgs),
}

pub fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Plan(a) => plan::run(*a),
        Command::Generate(a) => generate::run(a),
        Command::Snapshot(a) => snapshot::run(a),
        Command::Score(a) => score::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Apply(a) => apply::run_apply(a),
        Command::Elect(a) => ops::run_elect(a),
        Command::Status(a) => ops::run_status(a),
        Command::Verify(a) => ops::run_verify(a),
        Command::Cancel(a) => ops::run_cancel(a),
    }
}

/// Reads a whole input file (or stdin for `-`), naming the file in errors.
pub fn read_input(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    use std::io::Read;
    let limit = crate_limits::MAX_INPUT_BYTES;
    let mut buf = Vec::new();
    let res = if path.as_os_str() == "-" {
        std::io::stdin().take(limit + 1).read_to_end(&mut buf)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit + 1).read_to_end(&mut buf))
    };
    res.map_err(|e| CliError::bad_input(format!("{}: cannot read: {e}", path.display())))?;
    if buf.len() as u64 > limit {
        return Err(CliError::bad_input(format!(
            "{}: file exceeds {limit} bytes",
            path.display()
        )));
    }
    Ok(buf)
}

mod crate_limits {
    pub use kafka_replan::formats::MAX_INPUT_BYTES;
}

/// Parses a comma-separated broker id list (`4,5`).
pub fn parse_broker_list(flag: &str, s: &str) -> Result<Vec<i32>, CliError> {
    let mut out = Vec::new();
    for piece in s.split(',') {
        let t = piece.trim();
        if t.is_empty() {
            continue;
        }
        let id: i32 = t.parse().map_err(|_| {
            CliError::bad_input(format!("{flag}: '{t}' is not a broker id (an int32)"))
        })?;
        out.push(id);
    }
    Ok(out)
}

/// Prints to stdout; a closed pipe (`| head`) is not an error.
pub fn print_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
