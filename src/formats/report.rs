//! The plan report: per-broker before/after figures and the summary (bounds, optimum,
//! explanations, solver facts), rendered as text or JSON.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};

use crate::model::Cluster;
use crate::plan::metrics;
use crate::plan::{Balance, PlanConfig, PlanOutcome};

/// Decimal byte units, as disks are sold and as the bench tables print them.
/// The gap of `bytes_lower_bound` in words: a percentage, or the bytes when the bound is 0.
pub fn bytes_gap(bound: &serde_json::Map<String, Value>) -> String {
    match bound.get("gap_percent").and_then(Value::as_f64) {
        Some(pct) => format!("gap {pct:.1} %"),
        None => format!(
            "gap {}",
            human_bytes(bound.get("gap_bytes").and_then(Value::as_u64).unwrap_or(0))
        ),
    }
}

/// `0.005` -> `0.5 %` (at most two decimals, trailing zeros dropped).
fn percent(fraction: f64) -> String {
    let digits = format!("{:.2}", fraction * 100.0);
    format!("{} %", digits.trim_end_matches('0').trim_end_matches('.'))
}

pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.2} {}", UNITS[u])
    }
}

struct BrokerRow {
    id: i32,
    rack: String,
    excluded: bool,
    capacity: Option<u64>,
    replicas: (usize, usize),
    leaders: (usize, usize),
    bytes: (u64, u64),
}

/// Everything the plan report shows, computed once; rendered as text or JSON.
pub struct PlanReport {
    rows: Vec<BrokerRow>,
    summary: Value,
    notes: Vec<String>,
}

impl PlanReport {
    pub fn new(cluster: &Cluster, config: &PlanConfig, o: &PlanOutcome, elapsed: Duration) -> Self {
        let rb = o.before.replica_counts();
        let ra = o.after.replica_counts();
        let lb = o.before.leader_counts();
        let la = o.after.leader_counts();
        let bb = o.before.bytes_per_broker(cluster);
        let ba = o.after.bytes_per_broker(cluster);
        let rows: Vec<BrokerRow> = cluster
            .brokers
            .iter()
            .map(|b| BrokerRow {
                id: b.id,
                rack: b.rack.clone().unwrap_or_else(|| "-".into()),
                excluded: config.excluded.contains(&b.id),
                capacity: b.capacity_bytes,
                replicas: (
                    rb.get(&b.id).copied().unwrap_or(0),
                    ra.get(&b.id).copied().unwrap_or(0),
                ),
                leaders: (
                    lb.get(&b.id).copied().unwrap_or(0),
                    la.get(&b.id).copied().unwrap_or(0),
                ),
                bytes: (
                    bb.get(&b.id).copied().unwrap_or(0),
                    ba.get(&b.id).copied().unwrap_or(0),
                ),
            })
            .collect();
        // The shared figures come from the scorer's metrics, so `plan --report-json` and
        // `score --json` use the same names and the same definitions.
        let base = metrics::summarize(cluster, &config.excluded, &o.before, &o.after).to_json();
        let mut summary = match base {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        if let Some(Value::Object(c)) = summary.get_mut("cluster") {
            c.insert(
                "excluded_brokers".into(),
                json!(config.excluded.iter().collect::<Vec<_>>()),
            );
            c.insert("capacity_checked".into(), json!(o.capacity_checked));
            c.insert("max_disk_util".into(), json!(config.max_disk_util));
        }
        let after_ratio = summary
            .get("after")
            .and_then(|a| a.get("disk_max_mean_ratio"))
            .and_then(Value::as_f64);
        let extra = json!({
            "optimum_moves": o.optimum_moves,
            "optimum_certified": o.facts.certified,
            "fixed_plan": o.facts.fixed_plan,
            "balance": match config.balance {
                Balance::Count => "count",
                Balance::CountBytes => "count+bytes",
                Balance::Bytes => "bytes",
                Balance::Load => "load",
            },
            "disk_balance": o.disk_balance.as_ref().map(|d| json!({
                "tolerance": d.tolerance,
                "requested_tolerance": d.requested_tolerance,
                "ratio_floor": (d.ratio_floor * 10_000.0).round() / 10_000.0,
                "floor_partition": d.floor_partition.as_ref().map(|tp| tp.to_string()),
                // Reached: disk max/mean within the tolerance over the floor; otherwise by
                // how much it is missed (percent of the floor, 0.01 % steps).
                "floor_reached": after_ratio
                    .map(|r| r <= d.ratio_floor * (1.0 + d.tolerance) + 1e-9),
                "floor_missed_percent": after_ratio
                    .map(|r| ((r / d.ratio_floor - 1.0).max(0.0) * 10_000.0).round() / 100.0),
                "relocations": d.relocations,
                "swaps": d.swaps,
                "over_threshold": d.over_threshold,
                "full_balance_moves": d.full_moves,
                "full_balance_bytes": d.full_bytes,
            })),
            "bytes_lower_bound": o.bytes_bound.as_ref().map(|b| json!({
                "bytes": b.bytes,
                "basis": b.basis,
                "gap_bytes": o.bytes_moved.saturating_sub(b.bytes),
                // Rounded to 0.1 %; null when the bound is 0 (no ratio to give).
                "gap_percent": (b.bytes > 0).then(|| {
                    (o.bytes_moved.saturating_sub(b.bytes) as f64 * 1000.0 / b.bytes as f64)
                        .round() / 10.0
                }),
            })),
            "bytes_refinement": o.bytes_refinement.as_ref().map(|r| json!({
                "swaps": r.swaps,
                "move_delta": r.move_delta,
            })),
            "topic_spread": o.topic_spread.as_ref().map(|r| json!({
                "swaps": r.swaps,
                "move_delta": r.move_delta,
                "spread_before": r.spread_before,
                "spread_after": r.spread_after,
            })),
            "leader_budget": o.leader_budget.as_ref().map(|b| json!({
                "max_leader_changes": b.max_changes,
                "band_widened_below": b.below,
                "band_widened_above": b.above,
                "full_balance_leader_changes": b.full_changes,
            })),
            "budget": o.budget.as_ref().map(|b| json!({
                "max_moves": b.max_moves,
                "max_bytes": b.max_bytes,
                "band_widened_below": b.below,
                "band_widened_above": b.above,
                "full_balance_moves": b.full_moves,
                "full_balance_bytes": b.full_bytes,
            })),
            "gap_over_lb_combined": o.optimum_moves as i64 - o.bounds.combined as i64,
            "replica_band_reached": o.replica_band_reached,
            "leader_band_reached": o.leader_band_reached,
            "explanations": o.explanations,
            "capacity_repair": {
                "redirected": o.capacity_repair.redirected,
                "swaps": o.capacity_repair.swaps,
                "extra_moves": o.capacity_repair.extra_moves,
            },
            "brokers": rows.iter().map(|r| json!({
                "id": r.id,
                "rack": r.rack,
                "excluded": r.excluded,
                "capacity_bytes": r.capacity,
                "replicas_before": r.replicas.0,
                "replicas_after": r.replicas.1,
                "leaders_before": r.leaders.0,
                "leaders_after": r.leaders.1,
                "bytes_before": r.bytes.0,
                "bytes_after": r.bytes.1,
            })).collect::<Vec<_>>(),
            "solver": {
                "rounds": o.facts.rounds,
                "phases": o.facts.phases,
                "nodes": o.facts.nodes,
                "arcs": o.facts.arcs,
                "seconds": (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            },
        });
        if let Value::Object(m) = extra {
            summary.extend(m);
        }
        if let Some(dirs) = &o.log_dirs {
            summary.insert(
                "log_dirs".into(),
                super::log_dir_report::log_dirs_json(dirs, config.max_disk_util),
            );
        }
        if let Some(n) = &o.network {
            summary.insert(
                "network".into(),
                super::report_network::network_json(n, o.load_balance.as_ref()),
            );
        }
        let summary = Value::Object(summary);
        let mut notes = Vec::new();
        if !o.capacity_checked {
            notes.push("no disk capacity known: capacity checks are off".to_string());
        }
        PlanReport {
            rows,
            summary,
            notes,
        }
    }

    /// Adds what the LP / MILP models proved (`plan::exact::prove`): the `proof` object, and
    /// the bytes bound raised to the LP's where that is tighter than the combinatorial one.
    pub fn add_proof(&mut self, proof: &crate::plan::exact::Proof, bytes_moved: u64) {
        use crate::plan::exact::gap_percent;
        let Value::Object(summary) = &mut self.summary else {
            return;
        };
        let moves = summary
            .get("replica_moves")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let round1 = |x: f64| (x.is_finite()).then(|| (x * 10.0).round() / 10.0);
        summary.insert(
            "proof".into(),
            json!({
                "statement": proof.statement,
                "milp_proven": proof.milp_proven,
                "milp_moves": proof.milp_moves,
                "flow_moves": proof.flow_moves,
                "capacity_repair_added_moves": proof.repair_added,
                "moves_lp_bound": proof.moves_lp_bound,
                "moves_gap_percent": proof
                    .moves_lp_bound
                    .and_then(|m| round1(gap_percent(moves as f64, m as f64))),
                "bytes_lp_bound": proof.bytes_lp_bound,
                "bytes_lp_gap_percent": proof
                    .bytes_lp_bound
                    .and_then(|b| round1(gap_percent(bytes_moved as f64, b as f64))),
                "skipped": proof.skipped,
                "solver": proof.solver,
            }),
        );
        // Only in count+bytes, where the disk-balancing swaps add moves of their own.
        if let (Some(n), Some(Value::Object(p))) =
            (proof.disk_balance_added, summary.get_mut("proof"))
        {
            p.insert("disk_balance_added_moves".into(), json!(n));
        }
        // Only where the size-class relaxation gave the moves bound: other reports keep
        // their fields.
        if let (Some(model), Some(Value::Object(p))) =
            (&proof.moves_lp_model, summary.get_mut("proof"))
        {
            p.insert("moves_lp_model".into(), json!(model));
        }
        if let (Some(lp), Some(Value::Object(bound))) =
            (proof.bytes_lp_bound, summary.get_mut("bytes_lower_bound"))
        {
            let old = bound.get("bytes").and_then(Value::as_u64).unwrap_or(0);
            if lp > old {
                let basis = bound
                    .get("basis")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                bound.insert("bytes".into(), json!(lp));
                bound.insert(
                    "basis".into(),
                    json!(format!(
                        "{basis} (LP relaxation, {}; combinatorial bound {})",
                        proof.solver,
                        human_bytes(old)
                    )),
                );
                bound.insert("gap_bytes".into(), json!(bytes_moved.saturating_sub(lp)));
                bound.insert(
                    "gap_percent".into(),
                    json!((lp > 0).then(|| {
                        (bytes_moved.saturating_sub(lp) as f64 * 1000.0 / lp as f64).round() / 10.0
                    })),
                );
            }
        }
    }

    /// The summary object `to_json` prints: what other renderers (the HTML page) read, so
    /// every output shows the same figures under the same names.
    pub fn summary(&self) -> &Value {
        &self.summary
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.summary).unwrap_or_default();
        s.push('\n');
        s
    }

    pub fn to_text(&self) -> String {
        let s = &self.summary;
        let c = &s["cluster"];
        let mut t = String::new();
        let _ = writeln!(
            t,
            "cluster: {} brokers ({} allowed), {} racks, {} partitions, {} replicas, {}",
            c["brokers"],
            c["allowed_brokers"],
            c["racks"],
            c["partitions"],
            c["replicas"],
            human_bytes(c["total_bytes"].as_u64().unwrap_or(0))
        );
        for n in &self.notes {
            let _ = writeln!(t, "note: {n}");
        }
        let _ = writeln!(t);
        let with_cap = self.rows.iter().any(|r| r.capacity.is_some());
        let _ = writeln!(
            t,
            "{:>6} {:<10} {:>15} {:>13} {:>23}{}",
            "broker",
            "rack",
            "replicas",
            "leaders",
            "bytes",
            if with_cap { "       disk use" } else { "" }
        );
        for r in &self.rows {
            let arrow = |a: String, b: String| format!("{a} -> {b}");
            let mut line = format!(
                "{:>6} {:<10} {:>15} {:>13} {:>23}",
                r.id,
                if r.excluded {
                    format!("{} (excl)", r.rack)
                } else {
                    r.rack.clone()
                },
                arrow(r.replicas.0.to_string(), r.replicas.1.to_string()),
                arrow(r.leaders.0.to_string(), r.leaders.1.to_string()),
                arrow(human_bytes(r.bytes.0), human_bytes(r.bytes.1)),
            );
            if let Some(cap) = r.capacity.filter(|c| *c > 0) {
                let pct = |b: u64| format!("{:.0}%", b as f64 * 100.0 / cap as f64);
                let _ = write!(line, " {:>14}", arrow(pct(r.bytes.0), pct(r.bytes.1)));
            }
            let _ = writeln!(t, "{line}");
        }
        let _ = writeln!(t);
        if s["network"].is_object() {
            t.push_str(&super::report_network::network_text(&s["network"]));
        }
        let band = s["band"]
            .as_array()
            .map(|b| format!("[{}, {}]", b[0], b[1]))
            .unwrap_or_default();
        let _ = writeln!(
            t,
            "replica moves:     {} ({} partitions changed, {} moved)",
            s["replica_moves"],
            s["partitions_changed"],
            human_bytes(s["bytes_moved"].as_u64().unwrap_or(0))
        );
        let _ = writeln!(t, "leader changes:    {}", s["leader_changes"]);
        if let Some(fixed) = s["fixed_plan"].as_str() {
            // A given layout: there is no optimum or band to claim.
            let _ = writeln!(t, "plan:              {fixed}");
            let _ = writeln!(
                t,
                "replica spread:    {} -> {}",
                s["before"]["replicas_spread"], s["after"]["replicas_spread"]
            );
            let _ = writeln!(
                t,
                "leader spread:     {} -> {}",
                s["before"]["leaders_spread"], s["after"]["leaders_spread"]
            );
            let _ = writeln!(
                t,
                "rack violations:   {} -> {}",
                s["before"]["rack_violations"], s["after"]["rack_violations"]
            );
            return t;
        }
        if s["balance"] == "load" {
            // Traffic first: the count band, LB* and the bytes bound are not its goals (its
            // bounds are in the network section).
            let ratio = |v: &Value| {
                v.as_f64()
                    .map_or_else(|| "-".to_string(), |x| format!("{x:.3}"))
            };
            for (label, key) in [
                ("replica spread:    ", "replicas_spread"),
                ("leader spread:     ", "leaders_spread"),
            ] {
                let _ = writeln!(
                    t,
                    "{label}{} -> {} (not an objective with --balance load)",
                    s["before"][key], s["after"][key]
                );
            }
            let _ = writeln!(
                t,
                "disk max/mean:     {} -> {}",
                ratio(&s["before"]["disk_max_mean_ratio"]),
                ratio(&s["after"]["disk_max_mean_ratio"])
            );
            let _ = writeln!(
                t,
                "rack violations:   {} -> {}",
                s["before"]["rack_violations"], s["after"]["rack_violations"]
            );
            let sv = &s["solver"];
            let _ = writeln!(
                t,
                "solver:            {} round(s), {} phases, {:.3} s",
                sv["rounds"],
                sv["phases"],
                sv["seconds"].as_f64().unwrap_or(0.0)
            );
            return t;
        }
        if let Some(b) = s["bytes_lower_bound"].as_object() {
            let bound = b["bytes"].as_u64().unwrap_or(0);
            let moved = s["bytes_moved"].as_u64().unwrap_or(0);
            let gap = bytes_gap(b);
            let _ = writeln!(
                t,
                "bytes bound:       {} for {}; this plan copies {} ({gap}){}",
                human_bytes(bound),
                b["basis"].as_str().unwrap_or_default(),
                human_bytes(moved),
                if s["disk_balance"].is_object() {
                    ""
                } else {
                    "; count modes choose which replicas move for disk balance, not for the fewest bytes (--balance bytes does)"
                }
            );
        }
        if let Some(d) = s["disk_balance"].as_object() {
            let tol = d["tolerance"].as_f64().unwrap_or(0.0);
            let asked = d["requested_tolerance"].as_f64().unwrap_or(tol);
            let over: Vec<String> = d["over_threshold"]
                .as_array()
                .map(|a| a.iter().map(|v| v.to_string()).collect())
                .unwrap_or_default();
            let _ = writeln!(
                t,
                "disk balance:      bytes first, every broker within {}{} of its share{}: {} relocations, {} swaps{}",
                percent(tol),
                if (tol - asked).abs() > 1e-12 {
                    format!(
                        " (asked {}, loosened to fit the budget; {} would copy {})",
                        percent(asked),
                        percent(asked),
                        human_bytes(d["full_balance_bytes"].as_u64().unwrap_or(0))
                    )
                } else {
                    String::new()
                },
                match d["ratio_floor"].as_f64() {
                    Some(f) => format!(
                        " (disk floor {f:.3} ({}){})",
                        match d["floor_partition"].as_str() {
                            Some(tp) => format!("partition {tp} alone is more than a broker's share"),
                            None => "rack rule".to_string(),
                        },
                        match (d["floor_reached"].as_bool(), d["floor_missed_percent"].as_f64()) {
                            (Some(true), _) => ", reached".to_string(),
                            (Some(false), Some(x)) => format!(", missed by {x:.2} %"),
                            _ => String::new(),
                        }
                    ),
                    None => String::new(),
                },
                d["relocations"],
                d["swaps"],
                if over.is_empty() {
                    String::new()
                } else {
                    format!("; still above it: broker(s) {}", over.join(", "))
                }
            );
        }
        if let Some(p) = s["proof"].as_object() {
            if let Some(st) = p["statement"].as_str() {
                let _ = writeln!(t, "proven:            {st}");
            }
            if let Some(b) = p["bytes_lp_bound"].as_u64() {
                let _ = writeln!(
                    t,
                    "bytes LP bound:    {} ({}), gap {}",
                    human_bytes(b),
                    p["solver"].as_str().unwrap_or_default(),
                    p["bytes_lp_gap_percent"]
                        .as_f64()
                        .map_or_else(|| "-".to_string(), |g| format!("{g:.1} %"))
                );
            }
            for why in p["skipped"].as_array().into_iter().flatten() {
                let _ = writeln!(t, "not solved:        {}", why.as_str().unwrap_or_default());
            }
        }
        let _ = writeln!(
            t,
            "lower bounds:      LB = {} (excess {}, deficit {}), forced = {}, LB* = {}",
            s["lower_bound_moves"],
            s["lb_excess"],
            s["lb_deficit"],
            s["lb_forced_moves"],
            s["lb_combined"]
        );
        let reached = s["replica_band_reached"].as_bool() == Some(true);
        let certified = if s["optimum_certified"].as_bool() == Some(true) {
            ", certified by dual potentials"
        } else {
            ""
        };
        let budget_bound = s["budget"].is_object();
        let bytes_first = s["disk_balance"].is_object();
        if bytes_first {
            let _ = writeln!(
                t,
                "optimum:           not claimed: bytes are balanced by a greedy search (bound above); replica counts are not balanced in this mode"
            );
        } else {
            let _ = writeln!(
                t,
                "optimum:           {} moves for the {}{certified}; {}",
                s["optimum_moves"],
                if budget_bound {
                    "full balance (over the budget)"
                } else if reached {
                    "count band"
                } else {
                    "tightest reachable band"
                },
                if reached || budget_bound {
                    format!("gap over LB* = {}", s["gap_over_lb_combined"])
                } else {
                    "LB* assumes the uniform band, which is out of reach here".to_string()
                }
            );
        }
        if let Some(b) = s["budget"].as_object() {
            let mut limits = Vec::new();
            if let Some(m) = b.get("max_moves").and_then(Value::as_u64) {
                limits.push(format!("{m} moves"));
            }
            if let Some(m) = b.get("max_bytes").and_then(Value::as_u64) {
                limits.push(human_bytes(m));
            }
            let _ = writeln!(
                t,
                "budget:            {}: the best-balanced band within it is the uniform band widened by up to {} below and {} above; the full balance needs {} moves, {}",
                limits.join(" and "),
                b["band_widened_below"],
                b["band_widened_above"],
                b["full_balance_moves"],
                human_bytes(b["full_balance_bytes"].as_u64().unwrap_or(0))
            );
        }
        let _ = writeln!(
            t,
            "replica spread:    {} -> {} (band {band}{})",
            s["before"]["replicas_spread"],
            s["after"]["replicas_spread"],
            if s["replica_band_reached"].as_bool() == Some(true) {
                ", reached"
            } else if s["budget"].is_object() {
                ", not reached within the budget"
            } else if bytes_first {
                ", not an objective with --balance bytes"
            } else {
                ", out of reach"
            }
        );
        if let Some(b) = s["leader_budget"].as_object() {
            let _ = writeln!(
                t,
                "leader budget:     {} changes: the tightest leader band within it is the uniform one widened by {} below and {} above; the full leader balance needs {} changes",
                b["max_leader_changes"],
                b["band_widened_below"],
                b["band_widened_above"],
                b["full_balance_leader_changes"]
            );
        }
        let _ = writeln!(
            t,
            "leader spread:     {} -> {}{}",
            s["before"]["leaders_spread"],
            s["after"]["leaders_spread"],
            if s["leader_band_reached"].as_bool() == Some(true) {
                ""
            } else {
                " (leader band out of reach)"
            }
        );
        let ratio = |v: &Value| {
            v.as_f64()
                .map(|x| format!("{x:.3}"))
                .unwrap_or_else(|| "-".into())
        };
        let _ = writeln!(
            t,
            "disk max/mean:     {} -> {}",
            ratio(&s["before"]["disk_max_mean_ratio"]),
            ratio(&s["after"]["disk_max_mean_ratio"])
        );
        let _ = writeln!(
            t,
            "rack violations:   {} -> {}",
            s["before"]["rack_violations"], s["after"]["rack_violations"]
        );
        if let Some(r) = s["topic_spread"].as_object() {
            // The bytes swaps that follow (count+bytes) do not look at topics and a scoped
            // plan spreads only its own partitions, so the final layout can differ.
            let last = &s["after"]["topic_spread_max"];
            let _ = writeln!(
                t,
                "topic spread:      {} -> {} ({} swaps, {:+} moves){}",
                r["spread_before"],
                r["spread_after"],
                r["swaps"],
                r["move_delta"].as_i64().unwrap_or(0),
                if last.is_u64() && *last != r["spread_after"] {
                    format!("; {last} in the final layout")
                } else {
                    String::new()
                }
            );
        }
        if let Some(r) = s["bytes_refinement"].as_object() {
            let _ = writeln!(
                t,
                "bytes balance:     {} count-preserving swaps ({:+} moves against the count optimum)",
                r["swaps"],
                r["move_delta"].as_i64().unwrap_or(0)
            );
        }
        let rep = &s["capacity_repair"];
        if rep["redirected"].as_u64().unwrap_or(0)
            + rep["swaps"].as_u64().unwrap_or(0)
            + rep["extra_moves"].as_u64().unwrap_or(0)
            > 0
        {
            let _ = writeln!(
                t,
                "capacity repair:   {} redirected, {} swaps, {} extra moves",
                rep["redirected"], rep["swaps"], rep["extra_moves"]
            );
        }
        if let Some(ex) = s["explanations"].as_array() {
            for e in ex {
                let _ = writeln!(t, "why:               {}", e.as_str().unwrap_or_default());
            }
        }
        if s["log_dirs"].is_object() {
            t.push_str(&super::log_dir_report::log_dirs_text(&s["log_dirs"]));
        }
        let sv = &s["solver"];
        let _ = writeln!(
            t,
            "solver:            {} round(s), {} phases, {} nodes, {} arcs, {:.3} s",
            sv["rounds"],
            sv["phases"],
            sv["nodes"],
            sv["arcs"],
            sv["seconds"].as_f64().unwrap_or(0.0)
        );
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_uses_decimal_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500), "1.50 KB");
        assert_eq!(human_bytes(373_110_000_000), "373.11 GB");
        assert_eq!(human_bytes(u64::MAX), "18446.74 PB");
    }
}
