//! The plan report as one self-contained HTML page (`plan --report-html`): inline CSS and
//! inline SVG only, no scripts and nothing fetched, so it can be mailed, attached to a change
//! ticket or opened offline and looks the same everywhere. The figures are the ones
//! `--report-json` writes (read from [`PlanReport::summary`]); the per-topic table and the
//! rack view are computed from the layouts. Output is deterministic: no time of day and no
//! solver timing, so the same input gives the same page byte for byte.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::report::{bytes_gap, human_bytes, PlanReport};
use crate::model::{BrokerId, Cluster};
use crate::plan::PlanOutcome;

/// Most topics listed in the moves table; the rest are summed in one row, so a plan touching
/// thousands of topics still gives a page a browser opens quickly.
pub const MAX_TOPIC_ROWS: usize = 50;

/// Escapes text for HTML element content and quoted attribute values (also inside inline
/// SVG). Every name that comes from the input (topics, racks) goes through this.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// One broker's figures, read back from the summary's `brokers` list.
struct BrokerFig {
    id: i64,
    rack: String,
    excluded: bool,
    capacity: Option<u64>,
    replicas: (u64, u64),
    leaders: (u64, u64),
    bytes: (u64, u64),
}

fn broker_figs(summary: &Value) -> Vec<BrokerFig> {
    let Some(list) = summary["brokers"].as_array() else {
        return Vec::new();
    };
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap_or(0);
    list.iter()
        .map(|b| BrokerFig {
            id: b["id"].as_i64().unwrap_or(0),
            rack: b["rack"].as_str().unwrap_or("-").to_string(),
            excluded: b["excluded"].as_bool().unwrap_or(false),
            capacity: b["capacity_bytes"].as_u64(),
            replicas: (n(b, "replicas_before"), n(b, "replicas_after")),
            leaders: (n(b, "leaders_before"), n(b, "leaders_after")),
            bytes: (n(b, "bytes_before"), n(b, "bytes_after")),
        })
        .collect()
}

/// A JSON figure as the text report prints it: numbers as they are, floats to 3 places,
/// missing as `-`.
fn fig(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_f64() => n.as_f64().map(|x| format!("{x:.3}")).unwrap_or_default(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::String(s) => escape(s),
        _ => "-".to_string(),
    }
}

fn bytes_fig(v: &Value) -> String {
    human_bytes(v.as_u64().unwrap_or(0))
}

/// The page. Pure: everything comes from the arguments.
/// `tradeoff`: the `--tradeoff` curve as written to its JSON file, when it was computed.
pub fn render_html(
    report: &PlanReport,
    cluster: &Cluster,
    outcome: &PlanOutcome,
    tradeoff: Option<&Value>,
) -> String {
    let s = report.summary();
    let brokers = broker_figs(s);
    let mut h = String::new();
    h.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>kafka-replan plan report</title>\n<style>\n",
    );
    h.push_str(CSS);
    h.push_str("</style>\n</head>\n<body>\n<h1>kafka-replan plan report</h1>\n");
    header(&mut h, s);
    h.push_str("<h2>Brokers before and after</h2>\n");
    h.push_str(
        "<p class=\"legend\"><span class=\"sw before\"></span>before \
         <span class=\"sw after\"></span>after \
         <span class=\"sw cap\"></span>disk capacity (where known) \
         <span class=\"xl\">broker ids in grey italics are excluded</span></p>\n",
    );
    let bars = |f: fn(&BrokerFig) -> (u64, u64)| -> Vec<Bar> {
        brokers
            .iter()
            .map(|b| Bar {
                id: b.id,
                rack: b.rack.clone(),
                excluded: b.excluded,
                values: f(b),
                capacity: None,
            })
            .collect()
    };
    chart(
        &mut h,
        "Replicas per broker",
        "replicas",
        &bars(|b| b.replicas),
        Unit::Count,
    );
    chart(
        &mut h,
        "Preferred leaders per broker",
        "leaders",
        &bars(|b| b.leaders),
        Unit::Count,
    );
    let mut disk = bars(|b| b.bytes);
    for (bar, b) in disk.iter_mut().zip(&brokers) {
        // A zero capacity is as good as unknown: there is no line to draw against.
        bar.capacity = b.capacity.filter(|c| *c > 0);
    }
    chart(&mut h, "Disk use per broker", "bytes", &disk, Unit::Bytes);
    if s["network"].is_object() {
        network_charts(&mut h, &s["network"], &brokers);
    }
    broker_table(&mut h, &brokers);
    if s["log_dirs"].is_object() {
        super::log_dir_report::log_dirs_html(&mut h, &s["log_dirs"]);
    }
    rack_view(&mut h, cluster, outcome);
    topic_table(&mut h, cluster, outcome);
    if let Some(t) = tradeoff {
        tradeoff_view(&mut h, t);
    }
    if let Some(ex) = s["explanations"].as_array().filter(|e| !e.is_empty()) {
        h.push_str("<h2>Why the plan is what it is</h2>\n<ul class=\"why\">\n");
        for e in ex {
            let _ = writeln!(h, "<li>{}</li>", escape(e.as_str().unwrap_or_default()));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</body>\n</html>\n");
    h
}

const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;\
color:#1d2733;background:#fff;max-width:1140px;margin:16px auto;padding:0 12px;font-size:14px}
h1{font-size:22px;margin:4px 0 12px}
h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #dde3ea;padding-bottom:4px}
h3{font-size:14px;margin:14px 0 2px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:8px}
.card{border:1px solid #dde3ea;border-radius:6px;padding:8px 10px;background:#f7f9fb}
.card .k{font-size:12px;color:#5b6b7c;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:18px;font-weight:600;margin-top:2px}
.card .d{font-size:12px;color:#5b6b7c;margin-top:2px}
.ok{color:#1a7f37}.warn{color:#b35900}
.given{border-color:#e0b050;background:#fff8e6}
table{border-collapse:collapse;margin:6px 0;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #e6ebf0;padding:3px 10px;text-align:right}
th{background:#f1f4f7;font-weight:600}
td.l,th.l{text-align:left}
tr.more td{color:#5b6b7c;font-style:italic}
tr.total td{font-weight:600;border-top:2px solid #c9d2dc}
svg{max-width:100%;height:auto;display:block}
svg text{font-family:inherit;font-size:11px;fill:#33414f}
svg .grid{stroke:#e3e8ee;stroke-width:1}
svg .axis{stroke:#8795a5;stroke-width:1}
svg .before{fill:#a9b4c0}
svg .after{fill:#2f6fdf}
svg .cap{stroke:#d62728;stroke-width:2;stroke-dasharray:5 3}
svg text.excl{fill:#98a4b1;font-style:italic}
.legend{margin:4px 0;color:#33414f}
.sw{display:inline-block;width:12px;height:12px;vertical-align:-1px;margin:0 4px 0 12px}
.sw.before{background:#a9b4c0}.sw.after{background:#2f6fdf}
.sw.cap{height:0;border-top:2px dashed #d62728;vertical-align:3px}
.xl{margin-left:14px;color:#98a4b1;font-style:italic}
ul.why li{margin:3px 0}
";

fn card(h: &mut String, class: &str, key: &str, value: &str, detail: &str) {
    let _ = write!(
        h,
        "<div class=\"card{}{class}\"><div class=\"k\">{key}</div><div class=\"v\">{value}</div>",
        if class.is_empty() { "" } else { " " }
    );
    if !detail.is_empty() {
        let _ = write!(h, "<div class=\"d\">{detail}</div>");
    }
    h.push_str("</div>\n");
}

fn header(h: &mut String, s: &Value) {
    let c = &s["cluster"];
    h.push_str("<div class=\"cards\">\n");
    let mut detail = format!(
        "{} allowed, {} racks, {} partitions, {} replicas",
        fig(&c["allowed_brokers"]),
        fig(&c["racks"]),
        fig(&c["partitions"]),
        fig(&c["replicas"])
    );
    if let Some(ex) = c["excluded_brokers"].as_array().filter(|e| !e.is_empty()) {
        let ids: Vec<String> = ex.iter().map(fig).collect();
        let _ = write!(detail, "; excluded: {}", ids.join(", "));
    }
    card(
        h,
        "",
        "Cluster",
        &format!(
            "{} brokers, {}",
            fig(&c["brokers"]),
            bytes_fig(&c["total_bytes"])
        ),
        &detail,
    );
    card(
        h,
        "",
        "Replica moves",
        &fig(&s["replica_moves"]),
        &format!("{} partitions changed", fig(&s["partitions_changed"])),
    );
    card(h, "", "Bytes moved", &bytes_fig(&s["bytes_moved"]), "");
    if let Some(b) = s["bytes_lower_bound"].as_object() {
        let gap = bytes_gap(b);
        card(
            h,
            "",
            "Bytes lower bound",
            &format!("{} ({gap})", bytes_fig(&b["bytes"])),
            &format!(
                "for {}",
                escape(b.get("basis").and_then(Value::as_str).unwrap_or_default())
            ),
        );
    }
    if let Some(d) = s["disk_balance"].as_object() {
        card(
            h,
            "",
            "Disk balance (bytes first)",
            &format!(
                "within {:.2} % of each share",
                d.get("tolerance").and_then(Value::as_f64).unwrap_or(0.0) * 100.0
            ),
            &format!(
                "{} relocations, {} swaps; disk floor {:.3} ({}){}",
                fig(&d["relocations"]),
                fig(&d["swaps"]),
                d.get("ratio_floor").and_then(Value::as_f64).unwrap_or(1.0),
                match d.get("floor_partition").and_then(Value::as_str) {
                    Some(tp) => format!("partition {} alone", escape(tp)),
                    None => "rack rule".to_string(),
                },
                match (
                    d.get("floor_reached").and_then(Value::as_bool),
                    d.get("floor_missed_percent").and_then(Value::as_f64),
                ) {
                    (Some(true), _) => ", reached".to_string(),
                    (Some(false), Some(x)) => format!(", missed by {x:.2} %"),
                    _ => String::new(),
                }
            ),
        );
    }
    card(h, "", "Leader changes", &fig(&s["leader_changes"]), "");
    if let Some(fixed) = s["fixed_plan"].as_str() {
        // A given layout (e.g. --replace) or a replication-factor change: no optimum, band
        // or gap is claimed.
        card(
            h,
            "given",
            "Plan",
            "no optimum claimed",
            &format!(
                "{}: no optimum or gap over the lower bounds is claimed",
                escape(fixed)
            ),
        );
    } else {
        card(
            h,
            "",
            "Lower bounds",
            &format!(
                "LB = {}, LB* = {}",
                fig(&s["lower_bound_moves"]),
                fig(&s["lb_combined"])
            ),
            &format!(
                "excess {}, deficit {}, forced {}",
                fig(&s["lb_excess"]),
                fig(&s["lb_deficit"]),
                fig(&s["lb_forced_moves"])
            ),
        );
        let reached = s["replica_band_reached"].as_bool() == Some(true);
        let certified = s["optimum_certified"].as_bool() == Some(true);
        let gap = if reached {
            format!("gap over LB* = {}", fig(&s["gap_over_lb_combined"]))
        } else {
            // LB* is computed for the uniform band; with the band out of reach the
            // difference is not a gap of the optimiser.
            "LB* assumes the uniform band, which is out of reach here".to_string()
        };
        if s["disk_balance"].is_object() {
            card(
                h,
                "given",
                "Optimum",
                "not claimed",
                "bytes are balanced by a greedy search: the bytes lower bound is the measure",
            );
        } else {
            card(
                h,
                "",
                "Optimum",
                &format!("{} moves", fig(&s["optimum_moves"])),
                &format!(
                    "{gap}; <span class=\"{}\">{}</span>, for the {}",
                    if certified { "ok" } else { "warn" },
                    if certified {
                        "certified by dual potentials"
                    } else {
                        "not certified"
                    },
                    if reached {
                        "count band"
                    } else {
                        "tightest reachable band"
                    }
                ),
            );
        }
    }
    let (b, a) = (&s["before"], &s["after"]);
    let band = s["band"]
        .as_array()
        .filter(|b| b.len() == 2)
        .map(|b| format!("band [{}, {}]", fig(&b[0]), fig(&b[1])))
        .unwrap_or_default();
    card(
        h,
        "",
        "Replica spread",
        &format!(
            "{} &rarr; {}",
            fig(&b["replicas_spread"]),
            fig(&a["replicas_spread"])
        ),
        &band,
    );
    card(
        h,
        "",
        "Leader spread",
        &format!(
            "{} &rarr; {}",
            fig(&b["leaders_spread"]),
            fig(&a["leaders_spread"])
        ),
        "",
    );
    card(
        h,
        "",
        "Disk max / mean",
        &format!(
            "{} &rarr; {}",
            fig(&b["disk_max_mean_ratio"]),
            fig(&a["disk_max_mean_ratio"])
        ),
        if c["capacity_checked"].as_bool() == Some(false) {
            "no disk capacity known: capacity checks are off"
        } else {
            ""
        },
    );
    card(
        h,
        "",
        "Rack violations",
        &format!(
            "{} &rarr; {}",
            fig(&b["rack_violations"]),
            fig(&a["rack_violations"])
        ),
        "",
    );
    let rep = &s["capacity_repair"];
    let repairs: u64 = ["redirected", "swaps", "extra_moves"]
        .iter()
        .map(|k| rep[*k].as_u64().unwrap_or(0))
        .sum();
    if repairs > 0 {
        card(
            h,
            "",
            "Capacity repair",
            &format!("{} extra moves", fig(&rep["extra_moves"])),
            &format!(
                "{} redirected, {} swaps",
                fig(&rep["redirected"]),
                fig(&rep["swaps"])
            ),
        );
    }
    h.push_str("</div>\n");
}

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Count,
    Bytes,
    /// Bytes per second.
    Rate,
}

/// Network in, network out (with the network limits as capacity lines) and leader bytes-in
/// per broker, before and after: present only when the cluster has partition rates.
fn network_charts(h: &mut String, n: &Value, brokers: &[BrokerFig]) {
    let rows = n["brokers"].as_array().cloned().unwrap_or_default();
    let bars = |key: &str, limit: Option<&str>| -> Vec<Bar> {
        rows.iter()
            .map(|r| {
                let id = r["id"].as_i64().unwrap_or_default();
                let get = |k: String| r[k].as_u64().unwrap_or(0);
                Bar {
                    id,
                    rack: brokers
                        .iter()
                        .find(|b| b.id == id)
                        .map(|b| b.rack.clone())
                        .unwrap_or_default(),
                    excluded: r["excluded"].as_bool().unwrap_or(false),
                    values: (get(format!("{key}_before")), get(format!("{key}_after"))),
                    capacity: limit.and_then(|l| r[l].as_u64()).filter(|c| *c > 0),
                }
            })
            .collect()
    };
    chart(
        h,
        "Network traffic per broker: in (produce + replication; limit where given)",
        "net-in",
        &bars("net_in", Some("net_in_limit")),
        Unit::Rate,
    );
    chart(
        h,
        "Network traffic per broker: out (consumers + replication; limit where given)",
        "net-out",
        &bars("net_out", Some("net_out_limit")),
        Unit::Rate,
    );
    chart(
        h,
        "Leader bytes-in per broker (produce received as leader)",
        "leader-in",
        &bars("leader_bytes_in", None),
        Unit::Rate,
    );
}

struct Bar {
    id: i64,
    rack: String,
    excluded: bool,
    values: (u64, u64),
    capacity: Option<u64>,
}

/// The smallest 1, 2 or 5 × 10^k at least `raw`: axis steps a reader can add up.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let e = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * e >= raw {
            return m * e;
        }
    }
    10.0 * e
}

fn axis_label(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Count => format!("{}", v.round() as u64),
        Unit::Bytes => human_bytes(v.round() as u64),
        Unit::Rate => format!("{}/s", human_bytes(v.round() as u64)),
    }
}

/// A grouped bar chart (before, after) per broker, with each known capacity drawn as a
/// dashed line across its broker's group. The scale includes the capacities, so a line is
/// never off the chart.
fn chart(h: &mut String, title: &str, class: &str, bars: &[Bar], unit: Unit) {
    const W: f64 = 1100.0;
    const H: f64 = 250.0;
    const LEFT: f64 = 78.0;
    const RIGHT: f64 = 8.0;
    const TOP: f64 = 10.0;
    const BOTTOM: f64 = 34.0;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let max = bars
        .iter()
        .flat_map(|b| [b.values.0, b.values.1, b.capacity.unwrap_or(0)])
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let mut step = nice_step(max / 4.0);
    if unit == Unit::Count {
        // Counts are whole numbers: no axis line at 2.5 replicas.
        step = step.max(1.0);
    }
    let top = step * (max / step).ceil();
    let y = |v: f64| TOP + plot_h - v / top * plot_h;
    let _ = writeln!(h, "<h3>{}</h3>", escape(title));
    let _ = writeln!(
        h,
        "<svg class=\"chart {class}\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" \
         role=\"img\" aria-label=\"{}\">",
        escape(title)
    );
    let ticks = (top / step).round() as u64;
    for i in 0..=ticks {
        let v = step * i as f64;
        let yy = y(v);
        let _ = writeln!(
            h,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            axis_label(v, unit)
        );
    }
    let _ = writeln!(
        h,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
        W - RIGHT,
        y(0.0),
        y(0.0)
    );
    let n = bars.len().max(1);
    let group = plot_w / n as f64;
    // With many brokers the ids would overlap; label every k-th (the bar titles still name
    // every broker on hover).
    let label_every = n.div_ceil(60).max(1);
    let fmt_v = |v: u64| match unit {
        Unit::Count => v.to_string(),
        Unit::Bytes => human_bytes(v),
        Unit::Rate => format!("{}/s", human_bytes(v)),
    };
    for (i, b) in bars.iter().enumerate() {
        let x0 = LEFT + group * i as f64;
        let bw = group * 0.36;
        let who = format!("broker {} ({})", b.id, escape(&b.rack));
        for (k, (v, cls, when)) in [
            (b.values.0, "before", "before"),
            (b.values.1, "after", "after"),
        ]
        .into_iter()
        .enumerate()
        {
            let x = x0 + group * 0.12 + bw * k as f64;
            let yy = y(v as f64);
            let _ = writeln!(
                h,
                "<rect class=\"{cls}\" x=\"{x:.1}\" y=\"{yy:.1}\" width=\"{bw:.1}\" height=\"{:.1}\">\
                 <title>{who} {when}: {}</title></rect>",
                y(0.0) - yy,
                fmt_v(v)
            );
        }
        if let Some(cap) = b.capacity {
            let yy = y(cap as f64);
            let _ = writeln!(
                h,
                "<line class=\"cap\" x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\">\
                 <title>{who} capacity: {}</title></line>",
                x0 + group * 0.04,
                x0 + group * 0.96,
                human_bytes(cap)
            );
        }
        if i % label_every == 0 {
            let _ = writeln!(
                h,
                "<text{} x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                if b.excluded { " class=\"excl\"" } else { "" },
                x0 + group / 2.0,
                H - BOTTOM + 15.0,
                b.id
            );
        }
    }
    let _ = writeln!(
        h,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">broker</text>\n</svg>",
        LEFT + plot_w / 2.0,
        H - 4.0
    );
}

/// The budget trade-off: a line of the balance each budget reaches (replica spread for move
/// budgets, disk max/mean for byte budgets) and the table of points.
fn tradeoff_view(h: &mut String, t: &Value) {
    let Some(points) = t["points"].as_array() else {
        return;
    };
    let by_bytes = points.iter().any(|p| p.get("budget_bytes").is_some());
    let (budget_key, metric_key, metric_name) = if by_bytes {
        ("budget_bytes", "disk_max_mean_ratio", "disk max/mean")
    } else {
        ("budget_moves", "replica_spread", "replica spread")
    };
    let xy: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| Some((p[budget_key].as_f64()?, p[metric_key].as_f64()?)))
        .collect();
    h.push_str("<h2>Budget trade-off</h2>\n");
    let _ = writeln!(
        h,
        "<p class=\"legend\">{metric_name} reached under each budget (each point a full re-plan within the budget)</p>"
    );
    if xy.len() >= 2 {
        let (w, ht, pad) = (640.0, 220.0, 40.0);
        let xmax = xy.iter().map(|p| p.0).fold(0.0, f64::max).max(1.0);
        let ymax = xy.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-9);
        let ymin = if by_bytes {
            xy.iter().map(|p| p.1).fold(f64::MAX, f64::min).min(1.0)
        } else {
            0.0
        };
        let span = (ymax - ymin).max(1e-9);
        let px = |x: f64| pad + x / xmax * (w - 2.0 * pad);
        let py = |y: f64| ht - pad - (y - ymin) / span * (ht - 2.0 * pad);
        let line: Vec<String> = xy
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = writeln!(
            h,
            "<svg class=\"tradeoff\" width=\"{w}\" height=\"{ht}\" viewBox=\"0 0 {w} {ht}\" role=\"img\" aria-label=\"trade-off curve\">\
             <line x1=\"{pad}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#8a96a3\"/>\
             <line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{b}\" stroke=\"#8a96a3\"/>\
             <polyline fill=\"none\" stroke=\"#2f6db5\" stroke-width=\"2\" points=\"{}\"/>",
            line.join(" "),
            b = ht - pad,
            r = w - pad,
        );
        for &(x, y) in &xy {
            let label = if by_bytes {
                format!("{y:.3}")
            } else {
                format!("{y:.0}")
            };
            let _ = write!(
                h,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"#2f6db5\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{label}</text>",
                px(x),
                py(y),
                px(x),
                py(y) - 8.0
            );
        }
        let _ = writeln!(
            h,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">budget ({})</text></svg>",
            w - pad,
            ht - 10.0,
            if by_bytes { "bytes" } else { "moves" }
        );
    }
    h.push_str(
        "<table><thead><tr><th>budget</th><th>moves</th><th>bytes</th><th>replica spread</th>\
         <th>leader spread</th><th>disk max/mean</th></tr></thead><tbody>\n",
    );
    for p in points {
        let budget = if by_bytes {
            bytes_fig(&p["budget_bytes"])
        } else {
            fig(&p["budget_moves"])
        };
        if p["feasible"] == false {
            let _ = writeln!(
                h,
                "<tr><td>{budget}</td><td colspan=\"5\">below what the hard rules force</td></tr>"
            );
            continue;
        }
        let _ = writeln!(
            h,
            "<tr><td>{budget}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            fig(&p["moves"]),
            bytes_fig(&p["bytes_moved"]),
            fig(&p["replica_spread"]),
            fig(&p["leader_spread"]),
            p["disk_max_mean_ratio"]
                .as_f64()
                .map(|r| format!("{r:.3}"))
                .unwrap_or_else(|| "-".into())
        );
    }
    h.push_str("</tbody></table>\n");
}

fn arrow(a: impl std::fmt::Display, b: impl std::fmt::Display) -> String {
    format!("{a} &rarr; {b}")
}

fn broker_table(h: &mut String, brokers: &[BrokerFig]) {
    h.push_str(
        "<h3>Per broker</h3>\n<table class=\"brokers\">\n<tr><th>broker</th><th class=\"l\">rack</th>\
         <th>replicas</th><th>leaders</th><th>bytes</th><th>capacity</th><th>disk use</th></tr>\n",
    );
    for b in brokers {
        let (cap, used) = match b.capacity.filter(|c| *c > 0) {
            Some(c) => {
                let pct = |v: u64| format!("{:.0}%", v as f64 * 100.0 / c as f64);
                (human_bytes(c), arrow(pct(b.bytes.0), pct(b.bytes.1)))
            }
            None => ("unknown".to_string(), "-".to_string()),
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"l\">{}{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{cap}</td><td>{used}</td></tr>",
            b.id,
            escape(&b.rack),
            if b.excluded { " (excluded)" } else { "" },
            arrow(b.replicas.0, b.replicas.1),
            arrow(b.leaders.0, b.leaders.1),
            arrow(human_bytes(b.bytes.0), human_bytes(b.bytes.1)),
        );
    }
    h.push_str("</table>\n");
}

#[derive(Default)]
struct RackFig {
    brokers: Vec<BrokerId>,
    replicas: (usize, usize),
    bytes: (u64, u64),
}

/// Per rack: its brokers and their replicas and bytes before and after. Brokers without a
/// rack are grouped in one row here (for the rack rule each is a rack of its own).
fn rack_view(h: &mut String, cluster: &Cluster, outcome: &PlanOutcome) {
    let rb = outcome.before.replica_counts();
    let ra = outcome.after.replica_counts();
    let bb = outcome.before.bytes_per_broker(cluster);
    let ba = outcome.after.bytes_per_broker(cluster);
    // Sorted by name, the brokers without a rack last.
    let mut racks: BTreeMap<(bool, String), RackFig> = BTreeMap::new();
    for b in &cluster.brokers {
        let key = match &b.rack {
            Some(r) => (false, r.clone()),
            None => (true, String::new()),
        };
        let r = racks.entry(key).or_default();
        r.brokers.push(b.id);
        r.replicas.0 += rb.get(&b.id).copied().unwrap_or(0);
        r.replicas.1 += ra.get(&b.id).copied().unwrap_or(0);
        r.bytes.0 = r
            .bytes
            .0
            .saturating_add(bb.get(&b.id).copied().unwrap_or(0));
        r.bytes.1 = r
            .bytes
            .1
            .saturating_add(ba.get(&b.id).copied().unwrap_or(0));
    }
    h.push_str(
        "<h2>Racks</h2>\n<table class=\"racks\">\n<tr><th class=\"l\">rack</th>\
         <th class=\"l\">brokers</th><th>replicas</th><th>bytes</th></tr>\n",
    );
    for ((none, name), r) in &racks {
        let ids: Vec<String> = r.brokers.iter().map(|b| b.to_string()).collect();
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td></tr>",
            if *none {
                "(no rack)".to_string()
            } else {
                escape(name)
            },
            ids.join(", "),
            arrow(r.replicas.0, r.replicas.1),
            arrow(human_bytes(r.bytes.0), human_bytes(r.bytes.1)),
        );
    }
    h.push_str("</table>\n");
}

#[derive(Default, Clone, Copy)]
struct TopicFig {
    partitions: usize,
    replicas: usize,
    bytes: u64,
}

impl TopicFig {
    fn add(&mut self, o: TopicFig) {
        self.partitions += o.partitions;
        self.replicas += o.replicas;
        self.bytes = self.bytes.saturating_add(o.bytes);
    }
}

/// Per topic: partitions whose replica list changes, new replicas (each one a copy) and the
/// bytes they copy; largest copy first.
fn topic_table(h: &mut String, cluster: &Cluster, outcome: &PlanOutcome) {
    let mut topics: BTreeMap<&str, TopicFig> = BTreeMap::new();
    for (tp, after) in &outcome.plan.changes {
        let Some(i) = cluster.partition_index(tp) else {
            continue;
        };
        let before = outcome
            .before
            .replicas
            .get(i)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let new = after.iter().filter(|b| !before.contains(b)).count();
        let size = cluster.partitions.get(i).map(|p| p.size_bytes).unwrap_or(0);
        topics.entry(tp.topic.as_str()).or_default().add(TopicFig {
            partitions: 1,
            replicas: new,
            bytes: size.saturating_mul(new as u64),
        });
    }
    let mut rows: Vec<(&str, TopicFig)> = topics.into_iter().collect();
    // Name as the last key keeps ties in a fixed order.
    rows.sort_by_key(|(name, f)| (Reverse(f.bytes), Reverse(f.replicas), *name));
    h.push_str("<h2>Moves by topic</h2>\n");
    if rows.is_empty() {
        h.push_str("<p>No partition changes.</p>\n");
        return;
    }
    h.push_str(
        "<table class=\"topics\">\n<tr><th class=\"l\">topic</th><th>partitions changed</th>\
         <th>replicas moved</th><th>bytes moved</th></tr>\n",
    );
    let row = |h: &mut String, class: &str, name: &str, f: &TopicFig| {
        let _ = writeln!(
            h,
            "<tr{class}><td class=\"l\">{name}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            f.partitions,
            f.replicas,
            human_bytes(f.bytes)
        );
    };
    let mut total = TopicFig::default();
    let mut rest = TopicFig::default();
    for (i, (name, f)) in rows.iter().enumerate() {
        total.add(*f);
        if i < MAX_TOPIC_ROWS {
            row(h, "", &escape(name), f);
        } else {
            rest.add(*f);
        }
    }
    if rows.len() > MAX_TOPIC_ROWS {
        let more = rows.len() - MAX_TOPIC_ROWS;
        row(
            h,
            " class=\"more\"",
            &format!("... {more} more topic{}", if more == 1 { "" } else { "s" }),
            &rest,
        );
    }
    row(
        h,
        " class=\"total\"",
        &format!("all {} topics", rows.len()),
        &total,
    );
    h.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Broker, Partition, TopicPartition};
    use crate::plan::{plan, PlanConfig};
    use std::time::Duration;

    fn broker(id: BrokerId, rack: &str, cap: Option<u64>) -> Broker {
        Broker {
            id,
            rack: Some(rack.to_string()),
            capacity_bytes: cap,
            log_dirs: Vec::new(),
        }
    }

    fn part(topic: &str, p: i32, replicas: Vec<BrokerId>, size: u64) -> Partition {
        Partition {
            tp: TopicPartition::new(topic, p),
            replicas,
            size_bytes: size,
            leader: None,
            isr: None,
            in_flight: None,
            log_dirs: Vec::new(),
            rates: None,
        }
    }

    /// Four brokers, the last two empty (a scale-out), one capacity unknown, and a topic
    /// whose name needs escaping.
    fn page(caps: [Option<u64>; 4]) -> String {
        let mut parts = Vec::new();
        for p in 0..6 {
            parts.push(part("<b>&\"x", p, vec![1, 2], 1_000_000 * (p as u64 + 1)));
            parts.push(part("plain", p, vec![2, 1], 2_000_000));
        }
        let cluster = Cluster::new(
            vec![
                broker(1, "r1", caps[0]),
                broker(2, "r2", caps[1]),
                broker(3, "r1", caps[2]),
                broker(4, "r2", caps[3]),
            ],
            parts,
        );
        let config = PlanConfig::default();
        let outcome = plan(&cluster, &config).unwrap();
        assert!(!outcome.plan.is_empty());
        let report = PlanReport::new(&cluster, &config, &outcome, Duration::ZERO);
        render_html(&report, &cluster, &outcome, None)
    }

    #[test]
    fn page_is_self_contained() {
        let h = page([Some(100_000_000); 4]);
        assert!(h.starts_with("<!DOCTYPE html>"));
        for bad in [
            "http://", "https://", "<script", "src=", "<link", "@import", "url(",
        ] {
            assert!(!h.to_lowercase().contains(bad), "page contains {bad}");
        }
    }

    #[test]
    fn one_svg_per_chart() {
        let h = page([Some(100_000_000); 4]);
        assert_eq!(h.matches("<svg").count(), 3);
        assert_eq!(h.matches("</svg>").count(), 3);
        for class in ["chart replicas", "chart leaders", "chart bytes"] {
            assert_eq!(h.matches(class).count(), 1, "{class}");
        }
    }

    #[test]
    fn topic_names_are_escaped() {
        let h = page([None; 4]);
        assert!(!h.contains("<b>&\"x"), "raw topic name in the page");
        assert!(h.contains("&lt;b&gt;&amp;&quot;x"));
    }

    #[test]
    fn capacity_lines_only_where_known() {
        let h = page([Some(100_000_000), None, Some(100_000_000), None]);
        assert_eq!(h.matches("<line class=\"cap\"").count(), 2);
        assert!(h.contains("broker 1 (r1) capacity"));
        assert!(!h.contains("broker 2 (r2) capacity"));
        let h = page([None; 4]);
        assert_eq!(h.matches("<line class=\"cap\"").count(), 0);
        assert!(h.contains("capacity checks are off"));
    }

    #[test]
    fn output_is_deterministic_and_shows_the_bounds() {
        let a = page([Some(100_000_000); 4]);
        assert_eq!(a, page([Some(100_000_000); 4]));
        assert!(a.contains("LB = "), "{a}");
        assert!(a.contains("LB* = "));
        assert!(a.contains("gap over LB*"));
        assert!(!a.contains("no optimum claimed"));
    }

    #[test]
    fn given_plan_claims_no_optimum() {
        let cluster = Cluster::new(
            vec![broker(1, "r1", None), broker(2, "r1", None)],
            vec![part("t", 0, vec![1], 10), part("t", 1, vec![1], 10)],
        );
        let after = crate::model::Layout {
            replicas: vec![vec![2], vec![2]],
        };
        let emptied = [1].into_iter().collect();
        let outcome = crate::plan::fixed_outcome(
            &cluster,
            after,
            &emptied,
            1.0,
            false,
            &std::collections::BTreeMap::new(),
            "broker replacement 1 -> 2 (given, not optimised)".into(),
        )
        .unwrap();
        let config = PlanConfig {
            excluded: emptied,
            ..PlanConfig::default()
        };
        let report = PlanReport::new(&cluster, &config, &outcome, Duration::ZERO);
        let h = render_html(&report, &cluster, &outcome, None);
        assert!(h.contains("no optimum claimed"));
        assert!(h.contains("broker replacement 1 -&gt; 2"));
        assert!(!h.contains("LB* = "));
        assert!(!h.contains("gap over LB*"));
    }

    #[test]
    fn topic_table_is_capped() {
        let mut parts = Vec::new();
        // One partition per topic, all on broker 1: half of them move, each its own topic.
        for t in 0..2 * (MAX_TOPIC_ROWS + 7) {
            parts.push(part(&format!("t{t:03}"), 0, vec![1], 1000 + t as u64));
        }
        let cluster = Cluster::new(vec![broker(1, "r1", None), broker(2, "r2", None)], parts);
        let config = PlanConfig::default();
        let outcome = plan(&cluster, &config).unwrap();
        let report = PlanReport::new(&cluster, &config, &outcome, Duration::ZERO);
        let h = render_html(&report, &cluster, &outcome, None);
        let topics = outcome
            .plan
            .changes
            .keys()
            .map(|tp| tp.topic.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        assert!(topics > MAX_TOPIC_ROWS, "{topics}");
        let more = topics - MAX_TOPIC_ROWS;
        assert!(h.contains(&format!("... {more} more topic")), "{h}");
        let table = &h[h.find("<table class=\"topics\">").unwrap()..];
        assert_eq!(
            table[..table.find("</table>").unwrap()]
                .matches("<tr>")
                .count(),
            MAX_TOPIC_ROWS + 1
        );
    }

    #[test]
    fn escape_covers_the_markup_characters() {
        assert_eq!(
            escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }
}
