//! `--topic-spread`: the count-preserving swaps spread each topic over the brokers while
//! every broker keeps the replica count the count flow gave it, the rack rule and capacity
//! hold (the planner's verifier runs on every plan), the largest topic spread never grows,
//! a move budget is kept, and the result is deterministic.

mod support;

use std::collections::BTreeSet;

use kafka_replan::model::{BrokerId, Cluster};
use kafka_replan::plan::metrics::layout_stats;
use kafka_replan::plan::{plan, Balance, PlanConfig, PlanOutcome};
use support::cli::{command, fixture_snapshot};
use support::clusters::SmallCluster;

/// 3 racks × 3 brokers (rack of broker `id` = `(id - 1) % 3`); brokers 7, 8 and 9 start
/// empty. Six topics of 12 partitions, each piled onto one broker per rack: the even topics
/// onto 1, 2, 3 and the odd ones onto 4, 5, 6 (RF 3, one replica per rack; the last two
/// topics RF 2). The count flow fills 7, 8 and 9 but knows nothing of topics.
fn piled_cluster() -> Cluster {
    let mut c = SmallCluster::new();
    for id in 1..=9 {
        let rack = format!("r{}", (id - 1) % 3);
        c.add_broker(id, Some(&rack), Some(1_000_000_000_000));
    }
    for k in 0..6 {
        let base: BrokerId = if k % 2 == 0 { 1 } else { 4 };
        let rf = if k < 4 { 3 } else { 2 };
        for i in 0..12 {
            let replicas = (0..rf).map(|j| base + (i + j) % 3).collect();
            let size = 1_000_000_000 + (k * 12 + i) as u64 * 10_000_000;
            c.add_partition(&format!("t{k}"), i, replicas, size);
        }
    }
    c.build()
}

fn with_flag(config: &PlanConfig) -> PlanConfig {
    PlanConfig {
        topic_spread: true,
        ..config.clone()
    }
}

fn topic_spread_max(c: &Cluster, o: &PlanOutcome, excluded: &BTreeSet<BrokerId>) -> usize {
    layout_stats(c, &o.after, excluded).topic_spread_max
}

#[test]
fn spreads_topics_and_keeps_counts_and_racks() {
    let c = piled_cluster();
    // Without exclusions each rack's share of a topic splits to within one replica per
    // broker. With broker 5 out, rack r1 keeps two brokers, which the RF 3 topics alone fill
    // to their replica count (one replica of each of 48 partitions per rack): the RF 2
    // topics can have no replica there, so their 24 replicas over the six other brokers give
    // a spread of 4 at best while the counts stay.
    for (excluded, best) in [(BTreeSet::new(), 1), (BTreeSet::from([5]), 4)] {
        let base = PlanConfig {
            excluded: excluded.clone(),
            ..PlanConfig::default()
        };
        let without = plan(&c, &base).unwrap();
        let with = plan(&c, &with_flag(&base)).unwrap();
        assert!(without.topic_spread.is_none());
        let r = with.topic_spread.clone().expect("the level ran");
        let (before, after) = (
            topic_spread_max(&c, &without, &excluded),
            topic_spread_max(&c, &with, &excluded),
        );
        assert!(before >= 8, "excluded {excluded:?}: before {before}");
        assert_eq!(after, best, "excluded {excluded:?}");
        assert_eq!(r.spread_before, before);
        assert_eq!(r.spread_after, after);
        assert!(r.swaps > 0);
        assert_eq!(
            with.after.replica_counts(),
            without.after.replica_counts(),
            "every broker keeps its replica count"
        );
        let stats = layout_stats(&c, &with.after, &excluded);
        assert_eq!(stats.rack_violations, 0);
        assert_eq!(stats.replicas_on_excluded, 0);
        assert_eq!(stats.capacity_violations, 0);
        assert_eq!(
            stats.replicas_spread,
            layout_stats(&c, &without.after, &excluded).replicas_spread
        );
        assert_eq!(
            with.moves as i64,
            without.moves as i64 + r.move_delta,
            "move_delta is what the swaps added"
        );
        let again = plan(&c, &with_flag(&base)).unwrap();
        assert_eq!(again.plan, with.plan, "deterministic");
        assert_eq!(again.topic_spread, with.topic_spread);
    }
}

#[test]
fn the_move_budget_is_kept() {
    let c = piled_cluster();
    let none = BTreeSet::new();
    let without = plan(&c, &PlanConfig::default()).unwrap();
    let free = plan(&c, &with_flag(&PlanConfig::default())).unwrap();
    let unbudgeted_extra = free.topic_spread.as_ref().unwrap().move_delta;
    assert!(unbudgeted_extra > 4, "{unbudgeted_extra}");
    let mut last = usize::MAX;
    for extra in [0, 2, 4, unbudgeted_extra as usize] {
        let budget = without.moves + extra;
        let cfg = PlanConfig {
            max_moves: Some(budget),
            topic_spread: true,
            ..PlanConfig::default()
        };
        let out = plan(&c, &cfg).unwrap();
        assert!(out.moves <= budget, "{} moves over {budget}", out.moves);
        let r = out.topic_spread.as_ref().unwrap();
        assert!(r.move_delta <= extra as i64, "{r:?}");
        let s = topic_spread_max(&c, &out, &none);
        assert!(s <= topic_spread_max(&c, &without, &none));
        assert!(s <= last, "budget {budget}: spread {s} > {last}");
        last = s;
    }
    // A budget with room for every swap the unbudgeted pass made gets the same spread.
    assert_eq!(last, topic_spread_max(&c, &free, &none));
}

#[test]
fn runs_before_the_bytes_balance_and_in_scoped_plans() {
    let c = piled_cluster();
    let none = BTreeSet::new();
    let count = plan(&c, &PlanConfig::default()).unwrap();
    let both = PlanConfig {
        balance: Balance::CountBytes,
        topic_spread: true,
        ..PlanConfig::default()
    };
    let out = plan(&c, &both).unwrap();
    assert!(out.topic_spread.is_some() && out.bytes_refinement.is_some());
    assert_eq!(out.after.replica_counts(), count.after.replica_counts());

    // Only the RF 3 topics may move: the RF 2 ones stay as they are (and weigh on their
    // brokers), the others spread out around them.
    let movable: BTreeSet<String> = ["t0", "t1", "t2", "t3"]
        .iter()
        .map(|t| t.to_string())
        .collect();
    let scoped = PlanConfig {
        movable: Some(movable.clone()),
        ..PlanConfig::default()
    };
    let without = plan(&c, &scoped).unwrap();
    let with = plan(&c, &with_flag(&scoped)).unwrap();
    assert_eq!(with.after.replica_counts(), without.after.replica_counts());
    for (p, (now, after)) in c
        .partitions
        .iter()
        .zip(c.current_layout().replicas.iter().zip(&with.after.replicas))
    {
        if !movable.contains(&p.tp.topic) {
            assert_eq!(now, after, "{} stays", p.tp);
        }
    }
    // Brokers 7, 8 and 9 hold no fixed replica and take 21 movable ones each against 13 or
    // 14 on brokers 1 to 6, so the movable topics cannot spread as evenly as in a whole plan.
    let r = with.topic_spread.as_ref().unwrap();
    assert!(r.spread_before >= 8 && r.spread_after <= 3, "{r:?}");
    assert_eq!(layout_stats(&c, &with.after, &none).rack_violations, 0);
}

#[test]
fn cli_reports_the_topic_spread() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let out = command()
        .args([
            "plan",
            "--snapshot",
            &fixture_snapshot("skewed"),
            "--topic-spread",
            "--output",
        ])
        .arg(dir.path().join("plan.json"))
        .arg("--report-json")
        .arg(&report)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let ts = &json["topic_spread"];
    let (before, after) = (
        ts["spread_before"].as_u64().unwrap(),
        ts["spread_after"].as_u64().unwrap(),
    );
    assert!(after <= before, "{ts}");
    assert!(before >= 2 && after <= 1, "{ts}");
    assert!(ts["swaps"].as_u64().unwrap() > 0, "{ts}");
    assert_eq!(json["after"]["topic_spread_max"].as_u64(), Some(after));
    let line = format!(
        "topic spread:      {before} -> {after} ({} swaps, {:+} moves)",
        ts["swaps"],
        ts["move_delta"].as_i64().unwrap()
    );
    assert!(text.contains(&line), "{line}\n{text}");

    // The count+bytes swaps that follow do not look at topics: the line says where the
    // final layout ends when they moved it.
    let out = command()
        .args([
            "plan",
            "--snapshot",
            &fixture_snapshot("skewed"),
            "--topic-spread",
            "--balance",
            "count+bytes",
            "--output",
        ])
        .arg(dir.path().join("plan.json"))
        .arg("--report-json")
        .arg(&report)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let last = json["after"]["topic_spread_max"].as_u64().unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("topic spread:"))
        .unwrap_or_default();
    if last == json["topic_spread"]["spread_after"].as_u64().unwrap() {
        assert!(!line.contains("final layout"), "{line}");
    } else {
        assert!(
            line.ends_with(&format!("; {last} in the final layout")),
            "{line}"
        );
    }

    // Without the flag the level does not run: null in the JSON, no line in the text.
    let out = command()
        .args([
            "plan",
            "--snapshot",
            &fixture_snapshot("skewed"),
            "--output",
        ])
        .arg(dir.path().join("plan.json"))
        .arg("--report-json")
        .arg(&report)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("topic spread:"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(json["topic_spread"].is_null());
}
