//! The network part of the plan report (present only when the cluster has partition rates):
//! per-broker network in, network out and leader bytes-in before and after, their max/mean
//! over the allowed brokers and, in `load` mode, the target, the bounds and what was done.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::report::human_bytes;
use crate::plan::load::{LoadBalanceFacts, NetworkFigures, Ratios};

fn round4(x: Option<f64>) -> Value {
    json!(x.map(|v| (v * 10_000.0).round() / 10_000.0))
}

fn ratios_json(r: &Ratios) -> Value {
    json!({
        "net_in_max_mean": round4(r.net_in),
        "net_out_max_mean": round4(r.net_out),
        "leader_bytes_in_max_mean": round4(r.leader_in),
    })
}

/// The `network` object of the report JSON.
pub fn network_json(n: &NetworkFigures, facts: Option<&LoadBalanceFacts>) -> Value {
    json!({
        "rates_window_ms": n.window_ms,
        "partitions_with_rates": n.partitions_with_rates,
        "partitions_without_rates": n.partitions_without_rates,
        "before": ratios_json(&n.before),
        "after": ratios_json(&n.after),
        "over_limit_after": n.over_limit,
        "load_balance": facts.map(|f| json!({
            "tolerance": f.tolerance,
            "max_network_util": f.max_util,
            "target_reached": f.target_reached,
            "leadership_only": f.leadership_only,
            "leadership_steps": f.leadership_steps,
            "replica_steps": f.replica_steps,
            "leader_changes_lower_bound": f.leader_changes_bound,
            "replica_moves_lower_bound": f.moves_bound,
            "floor": ratios_json(&f.floor),
            "explanations": f.explanations,
        })),
        "brokers": n.brokers.iter().map(|b| json!({
            "id": b.id,
            "excluded": b.excluded,
            "net_in_before": b.before.net_in,
            "net_in_after": b.after.net_in,
            "net_out_before": b.before.net_out,
            "net_out_after": b.after.net_out,
            "leader_bytes_in_before": b.before.leader_in,
            "leader_bytes_in_after": b.after.leader_in,
            "net_in_limit": b.in_limit,
            "net_out_limit": b.out_limit,
        })).collect::<Vec<_>>(),
    })
}

fn rate(v: &Value) -> String {
    format!("{}/s", human_bytes(v.as_u64().unwrap_or(0)))
}

fn ratio(v: &Value) -> String {
    v.as_f64()
        .map(|x| format!("{x:.3}"))
        .unwrap_or_else(|| "-".into())
}

/// The network section of the text report, from the `network` JSON object.
pub fn network_text(n: &Value) -> String {
    let mut t = String::new();
    let window = n["rates_window_ms"]
        .as_u64()
        .map(|ms| format!(", measured over {:.0} s", ms as f64 / 1000.0))
        .unwrap_or_default();
    let _ = writeln!(
        t,
        "network (rates of {} partitions{window}; {} without rates counted idle; model in docs/traffic.md):",
        n["partitions_with_rates"], n["partitions_without_rates"]
    );
    let _ = writeln!(
        t,
        "{:>6} {:>27} {:>27} {:>27}",
        "broker", "network in", "network out", "leader bytes-in"
    );
    if let Some(rows) = n["brokers"].as_array() {
        for b in rows {
            let arrow = |k: &str| {
                format!(
                    "{} -> {}",
                    rate(&b[format!("{k}_before")]),
                    rate(&b[format!("{k}_after")])
                )
            };
            let _ = writeln!(
                t,
                "{:>6} {:>27} {:>27} {:>27}{}",
                b["id"].as_i64().unwrap_or_default(),
                arrow("net_in"),
                arrow("net_out"),
                arrow("leader_bytes_in"),
                if b["excluded"].as_bool() == Some(true) {
                    " (excl)"
                } else {
                    ""
                }
            );
        }
    }
    let (b, a) = (&n["before"], &n["after"]);
    let _ = writeln!(
        t,
        "network max/mean:  in {} -> {}, out {} -> {}, leader bytes-in {} -> {}",
        ratio(&b["net_in_max_mean"]),
        ratio(&a["net_in_max_mean"]),
        ratio(&b["net_out_max_mean"]),
        ratio(&a["net_out_max_mean"]),
        ratio(&b["leader_bytes_in_max_mean"]),
        ratio(&a["leader_bytes_in_max_mean"]),
    );
    if let Some(over) = n["over_limit_after"].as_array().filter(|o| !o.is_empty()) {
        let ids: Vec<String> = over.iter().map(|v| v.to_string()).collect();
        let _ = writeln!(
            t,
            "network limits:    brokers {} above their limit after this plan",
            ids.join(",")
        );
    }
    if let Some(f) = n["load_balance"].as_object() {
        let tol = f["tolerance"].as_f64().unwrap_or(0.0) * 100.0;
        let _ = writeln!(
            t,
            "load balance:      target max/mean <= {:.3} on all three {}; {} leadership changes, {} replica moves taken{}",
            1.0 + tol / 100.0,
            if f["target_reached"].as_bool() == Some(true) {
                "reached"
            } else {
                "not reached"
            },
            f["leadership_steps"],
            f["replica_steps"],
            if f["leadership_only"].as_bool() == Some(true) {
                " (leadership only: the plan copies no data)"
            } else {
                ""
            }
        );
        let fl = &f["floor"];
        let _ = writeln!(
            t,
            "load bounds:       reaching the target needs >= {} leader changes and >= {} replica moves (hottest partitions first per broker over it); best max/mean any layout reaches: in {}, out {}, leader bytes-in {}",
            f["leader_changes_lower_bound"],
            f["replica_moves_lower_bound"],
            ratio(&fl["net_in_max_mean"]),
            ratio(&fl["net_out_max_mean"]),
            ratio(&fl["leader_bytes_in_max_mean"]),
        );
        if let Some(ex) = f["explanations"].as_array() {
            for e in ex {
                let _ = writeln!(t, "why:               {}", e.as_str().unwrap_or_default());
            }
        }
    }
    let _ = writeln!(t);
    t
}
