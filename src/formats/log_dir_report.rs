//! The log-dir (JBOD) part of the plan report: per-dir before/after, the dir balance within
//! brokers and the bytes copied inside brokers against their bound. JSON first; the text
//! and HTML renderings read that JSON.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::report::human_bytes;
use crate::plan::log_dirs::LogDirOutcome;

/// A ratio for JSON: rounded to 0.001, `null` when infinite (an empty dir beside a full one).
fn ratio_json(r: Option<f64>) -> Value {
    match r {
        Some(x) if x.is_finite() => json!((x * 1000.0).round() / 1000.0),
        _ => Value::Null,
    }
}

/// The `log_dirs` object of the JSON report.
pub fn log_dirs_json(o: &LogDirOutcome, max_disk_util: f64) -> Value {
    let (worst_before, worst_after) = o.worst_ratios();
    json!({
        "tolerance": o.tolerance,
        "worst_usage_ratio_before": ratio_json(worst_before),
        "worst_usage_ratio_after": ratio_json(worst_after),
        "empty_dir_beside_full_before": worst_before.is_some_and(f64::is_infinite),
        "empty_dir_beside_full_after": worst_after.is_some_and(f64::is_infinite),
        "capacity_violations": o.capacity_violations(max_disk_util),
        "intra_broker_moves": o.intra_moves,
        "intra_broker_bytes": o.intra_bytes,
        "intra_broker_bytes_lower_bound": o.intra_bound,
        "intra_only_partitions": o.intra_only,
        "offline_replicas_moved_to_other_brokers": o.evicted,
        "unknown_dir_replicas": o.unknown_dir_replicas,
        "brokers": o.brokers.iter().map(|b| json!({
            "id": b.broker,
            "usage_ratio_before": ratio_json(b.before_ratio),
            "usage_ratio_after": ratio_json(b.after_ratio),
            "intra_broker_bytes": b.intra_bytes,
            "intra_broker_bytes_lower_bound": b.intra_bound,
        })).collect::<Vec<_>>(),
        "dirs": o.dirs.iter().map(|d| json!({
            "broker": d.broker,
            "path": d.path,
            "capacity_bytes": d.capacity_bytes,
            "offline": d.offline,
            "drained": d.drained,
            "bytes_before": d.before_bytes,
            "bytes_after": d.after_bytes,
            "replicas_before": d.before_replicas,
            "replicas_after": d.after_replicas,
        })).collect::<Vec<_>>(),
    })
}

fn ratio_text(v: &Value, empty_beside_full: bool) -> String {
    match v.as_f64() {
        Some(x) => format!("{x:.3}"),
        None if empty_beside_full => "inf (an empty dir)".to_string(),
        None => "-".to_string(),
    }
}

/// The text lines of the report for [`log_dirs_json`]'s object.
pub fn log_dirs_text(v: &Value) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "log dirs:          worst max/min usage within a broker {} -> {} (tolerance {:.1} %), {} dir capacity violations",
        ratio_text(
            &v["worst_usage_ratio_before"],
            v["empty_dir_beside_full_before"].as_bool() == Some(true)
        ),
        ratio_text(
            &v["worst_usage_ratio_after"],
            v["empty_dir_beside_full_after"].as_bool() == Some(true)
        ),
        v["tolerance"].as_f64().unwrap_or(0.0) * 100.0,
        v["capacity_violations"]
    );
    let _ = writeln!(
        t,
        "intra-broker:      {} replica moves between dirs ({} partitions with dir changes only), {} copied inside brokers (lower bound {})",
        v["intra_broker_moves"],
        v["intra_only_partitions"],
        human_bytes(v["intra_broker_bytes"].as_u64().unwrap_or(0)),
        human_bytes(v["intra_broker_bytes_lower_bound"].as_u64().unwrap_or(0)),
    );
    let evicted = v["offline_replicas_moved_to_other_brokers"]
        .as_u64()
        .unwrap_or(0);
    if evicted > 0 {
        let _ = writeln!(
            t,
            "offline dirs:      {evicted} replica(s) moved to other brokers"
        );
    }
    let unknown = v["unknown_dir_replicas"].as_u64().unwrap_or(0);
    if unknown > 0 {
        let _ = writeln!(
            t,
            "unknown dirs:      {unknown} replica(s) whose dir is unknown left as they are (\"any\")"
        );
    }
    let _ = writeln!(
        t,
        "  {:>6}  {:<24} {:>10} {:>10}    {:>10}  state",
        "broker", "log dir", "capacity", "before", "after"
    );
    for d in v["dirs"].as_array().into_iter().flatten() {
        let state = if d["offline"].as_bool() == Some(true) {
            "offline"
        } else if d["drained"].as_bool() == Some(true) {
            "drained"
        } else {
            ""
        };
        let _ = writeln!(
            t,
            "  {:>6}  {:<24} {:>10} {:>10} -> {:>10}  {}",
            d["broker"].as_i64().unwrap_or(-1),
            d["path"].as_str().unwrap_or_default(),
            d["capacity_bytes"]
                .as_u64()
                .map(human_bytes)
                .unwrap_or_else(|| "-".into()),
            human_bytes(d["bytes_before"].as_u64().unwrap_or(0)),
            human_bytes(d["bytes_after"].as_u64().unwrap_or(0)),
            state
        );
    }
    t
}

/// The HTML section for [`log_dirs_json`]'s object: the summary line and a per-dir table
/// with usage bars (no scripts, inline only, as the rest of the page).
pub fn log_dirs_html(h: &mut String, v: &Value) {
    use super::html_report::escape;
    h.push_str("<h2>Log dirs (JBOD)</h2>\n<p>");
    let _ = write!(
        h,
        "Worst max/min dir usage within a broker: {} &rarr; {} (tolerance {:.1} %); {} dir capacity violations; \
         {} replica moves between dirs, {} copied inside brokers (lower bound {}).",
        escape(&ratio_text(
            &v["worst_usage_ratio_before"],
            v["empty_dir_beside_full_before"].as_bool() == Some(true)
        )),
        escape(&ratio_text(
            &v["worst_usage_ratio_after"],
            v["empty_dir_beside_full_after"].as_bool() == Some(true)
        )),
        v["tolerance"].as_f64().unwrap_or(0.0) * 100.0,
        v["capacity_violations"],
        v["intra_broker_moves"],
        human_bytes(v["intra_broker_bytes"].as_u64().unwrap_or(0)),
        human_bytes(v["intra_broker_bytes_lower_bound"].as_u64().unwrap_or(0)),
    );
    h.push_str("</p>\n<table class=\"brokers\">\n<tr><th>broker</th><th class=\"l\">log dir</th>\
        <th>capacity</th><th>bytes</th><th>replicas</th><th>use</th><th class=\"l\">state</th></tr>\n");
    for d in v["dirs"].as_array().into_iter().flatten() {
        let before = d["bytes_before"].as_u64().unwrap_or(0);
        let after = d["bytes_after"].as_u64().unwrap_or(0);
        let cap = d["capacity_bytes"].as_u64().filter(|c| *c > 0);
        let usage = match cap {
            Some(c) => format!(
                "{:.0}% &rarr; {:.0}%",
                before as f64 * 100.0 / c as f64,
                after as f64 * 100.0 / c as f64
            ),
            None => "-".to_string(),
        };
        let state = if d["offline"].as_bool() == Some(true) {
            "offline"
        } else if d["drained"].as_bool() == Some(true) {
            "drained"
        } else {
            ""
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{} &rarr; {}</td><td>{} &rarr; {}</td><td>{usage}</td><td class=\"l\">{state}</td></tr>",
            d["broker"].as_i64().unwrap_or(-1),
            escape(d["path"].as_str().unwrap_or_default()),
            cap.map(human_bytes).unwrap_or_else(|| "unknown".into()),
            human_bytes(before),
            human_bytes(after),
            d["replicas_before"],
            d["replicas_after"],
        );
    }
    h.push_str("</table>\n");
}
