//! `kafka-replan score`: validates a reassignment JSON against a snapshot and prints the bench
//! scorer's metrics (`../shared/bench/score.py`), as a table or as the scorer's JSON.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use kafka_replan::formats::{maybe_gunzip, FormatError};
use kafka_replan::plan::metrics::{score_plan, LayoutStats, Score};

use kafka_replan::formats::report::human_bytes;

use kafka_replan::formats::join_ids;

use super::files::load_cluster;
use super::plan::excluded_set;
use super::{read_input, CliError, CliResult, EXIT_FAILED, EXIT_OK};

#[derive(Args, Debug)]
pub struct ScoreArgs {
    /// Cluster snapshot (`.json` or `.json.gz`).
    #[arg(long)]
    pub snapshot: PathBuf,
    /// Reassignment JSON to score (`{"version":1,"partitions":[...]}`).
    #[arg(long)]
    pub plan: PathBuf,
    /// Brokers the plan must empty (decommission), e.g. `4,5`.
    #[arg(long, value_name = "IDS")]
    pub exclude_brokers: Option<String>,
    /// Print the scorer's JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Reads the plan as plain JSON. Only unreadable or malformed JSON is an error here: any JSON
/// value is scored, and one that is not a plan is reported as invalid (like the scorer).
fn load_plan_json(path: &Path) -> Result<serde_json::Value, CliError> {
    let name = path.display().to_string();
    let bytes = read_input(path)?;
    let bytes = maybe_gunzip(&name, bytes).map_err(CliError::bad_input)?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(CliError::bad_input(FormatError::one(
            &name,
            None,
            "the file is empty",
        )));
    }
    serde_json::from_slice(&bytes).map_err(|e| CliError::bad_input(FormatError::json(&name, &e)))
}

/// The label the scorer shows for a snapshot is its scenario name; the suite names files after
/// it, so the file name without `.json`/`.json.gz` gives the same label.
fn snapshot_label(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    name.strip_suffix(".json").unwrap_or(name).to_string()
}

pub fn run(args: ScoreArgs) -> CliResult {
    let cluster = load_cluster(&args.snapshot)?;
    let excluded = excluded_set(&cluster, args.exclude_brokers.as_deref())?;
    let plan = load_plan_json(&args.plan)?;
    let mut score = score_plan(&cluster, &excluded, &plan);
    score.snapshot = Some(snapshot_label(&args.snapshot));
    let text = if args.json {
        // Serialised straight from the score (not via a `Value`) to keep the scorer's key
        // order. Plain numbers, strings and lists: this cannot fail.
        serde_json::to_string_pretty(&score).unwrap_or_default()
    } else {
        let ex: Vec<i32> = excluded.iter().copied().collect();
        render_text(&score, &args.snapshot, &args.plan, &ex)
    };
    println!("{text}");
    Ok(if score.valid { EXIT_OK } else { EXIT_FAILED })
}

fn opt_ratio(v: Option<f64>, places: usize) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.places$}"))
}

/// One row per metric of `LayoutStats`, named as in the JSON so the two outputs line up.
fn stat_rows(s: &LayoutStats) -> Vec<(&'static str, String)> {
    vec![
        ("replicas_max", s.replicas_max.to_string()),
        ("replicas_min", s.replicas_min.to_string()),
        ("replicas_spread", s.replicas_spread.to_string()),
        ("leaders_max", s.leaders_max.to_string()),
        ("leaders_min", s.leaders_min.to_string()),
        ("leaders_spread", s.leaders_spread.to_string()),
        ("disk_max", human_bytes(s.disk_max_bytes)),
        ("disk_min", human_bytes(s.disk_min_bytes)),
        ("disk_max_mean_ratio", opt_ratio(s.disk_max_mean_ratio, 4)),
        ("disk_util_max", opt_ratio(s.disk_util_max, 4)),
        ("capacity_violations", s.capacity_violations.to_string()),
        ("rack_violations", s.rack_violations.to_string()),
        ("topic_spread_max", s.topic_spread_max.to_string()),
        ("topic_spread_mean", format!("{:.3}", s.topic_spread_mean)),
        ("replicas_on_excluded", s.replicas_on_excluded.to_string()),
    ]
}

fn render_text(score: &Score, snapshot: &Path, plan: &Path, excluded: &[i32]) -> String {
    let m = &score.summary;
    let b = &m.bounds;
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored.
    let _ = writeln!(
        out,
        "snapshot  {} ({} brokers, {} allowed, {} racks, {} partitions, {} replicas, {})",
        snapshot.display(),
        m.cluster.brokers,
        m.cluster.allowed_brokers,
        m.cluster.racks,
        m.cluster.partitions,
        m.cluster.replicas,
        human_bytes(m.cluster.total_bytes),
    );
    if !excluded.is_empty() {
        let _ = writeln!(out, "excluded  {}", join_ids(excluded));
    }
    let _ = writeln!(
        out,
        "plan      {} ({} entries, {} invalid)",
        plan.display(),
        score.plan_entries,
        score.invalid_entries
    );
    if score.valid {
        let _ = writeln!(out, "valid     yes");
    } else {
        let n = score.errors.len();
        let _ = writeln!(
            out,
            "valid     no ({n} error{})",
            if n == 1 { "" } else { "s" }
        );
        for e in &score.errors {
            let _ = writeln!(out, "  - {e}");
        }
    }
    let _ = writeln!(out);
    let lb = b
        .lower_bound_moves
        .map_or_else(|| "-".to_string(), |v| v.to_string());
    let ratio = opt_ratio(m.moves_over_lb, 3);
    let rows: Vec<(&str, String)> = vec![
        ("replica moves", m.replica_moves.to_string()),
        (
            "bytes moved",
            format!("{} ({} bytes)", human_bytes(m.bytes_moved), m.bytes_moved),
        ),
        ("leader changes", m.leader_changes.to_string()),
        ("partitions changed", m.partitions_changed.to_string()),
        (
            "lower bound (LB)",
            format!(
                "{lb} (excess {}, deficit {}, band {})",
                b.excess.map_or_else(|| "-".to_string(), |v| v.to_string()),
                b.deficit.map_or_else(|| "-".to_string(), |v| v.to_string()),
                b.band
                    .map_or_else(|| "-".to_string(), |(lo, hi)| format!("[{lo}, {hi}]")),
            ),
        ),
        ("forced moves", b.forced_moves.to_string()),
        ("LB* = max(LB, forced)", m.lb_combined.to_string()),
        ("moves / LB", ratio),
    ];
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        let _ = writeln!(out, "{k:<w$}  {v}");
    }
    let _ = writeln!(out);
    let before = stat_rows(&m.before);
    let after = stat_rows(&m.after);
    let kw = before
        .iter()
        .map(|(k, _)| k.len())
        .max()
        .unwrap_or(0)
        .max("metric".len());
    let vw = before
        .iter()
        .chain(&after)
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(0)
        .max("before".len());
    let _ = writeln!(
        out,
        "{:<kw$}  {:>vw$}  {:>vw$}",
        "metric", "before", "after"
    );
    for ((k, vb), (_, va)) in before.iter().zip(&after) {
        let _ = writeln!(out, "{k:<kw$}  {vb:>vw$}  {va:>vw$}");
    }
    if !m.after.capacity_violation_brokers.is_empty() {
        let _ = writeln!(
            out,
            "\nover capacity after the plan: brokers {}",
            join_ids(&m.after.capacity_violation_brokers)
        );
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(snapshot_label(Path::new("a/b/small-x.json.gz")), "small-x");
        assert_eq!(snapshot_label(Path::new("c.json")), "c");
        assert_eq!(snapshot_label(Path::new("snap")), "snap");
    }
}
