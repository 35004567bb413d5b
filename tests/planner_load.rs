//! `--balance load`: network in, network out and leader bytes-in within the tolerance of the
//! mean on clusters with hot topics, never fewer changes than the bounds, network limits
//! honoured (or the partition / broker that makes them impossible named), leadership only
//! when that is enough, the rack rule kept, the same plan for the same input; and the CLI:
//! `--rates` files, every bad input refused with its line and no output file, clusters
//! without rates planned exactly as before.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use kafka_replan::model::{Broker, BrokerId, Cluster, Partition, PartitionRates, TopicPartition};
use kafka_replan::plan::load::{traffic, LoadConfig, NetworkCapacity};
use kafka_replan::plan::{plan, Balance, PlanConfig, PlanError, PlanOutcome};
use support::cli;

/// A small xorshift generator: the tests need varied clusters, not a crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn broker(id: BrokerId, rack: &str) -> Broker {
    Broker {
        id,
        rack: Some(rack.into()),
        capacity_bytes: Some(1 << 50),
        log_dirs: Vec::new(),
    }
}

fn partition(topic: &str, n: i32, replicas: Vec<BrokerId>, rates: Option<(u64, u64)>) -> Partition {
    Partition {
        tp: TopicPartition::new(topic, n),
        replicas,
        size_bytes: 1_000_000 + n as u64,
        leader: None,
        isr: None,
        in_flight: None,
        log_dirs: Vec::new(),
        rates: rates.map(|(i, o)| PartitionRates {
            bytes_in_per_sec: i,
            bytes_out_per_sec: o,
        }),
    }
}

/// `brokers` brokers in 3 racks, `parts` partitions of RF 3 laid out rack-aware with balanced
/// counts; 10 % of the partitions (topic `hot`) carry 80 % of the produce traffic and are led
/// by brokers 1..=3.
fn hot_cluster(seed: u64, brokers: i32, parts: usize) -> Cluster {
    let mut rng = Rng(seed);
    let racks = ["a", "b", "c"];
    let bs: Vec<Broker> = (1..=brokers)
        .map(|id| broker(id, racks[(id as usize - 1) % 3]))
        .collect();
    let by_rack: Vec<Vec<BrokerId>> = (0..3)
        .map(|r| {
            bs.iter()
                .filter(|b| b.rack.as_deref() == Some(racks[r]))
                .map(|b| b.id)
                .collect()
        })
        .collect();
    let hot = parts / 10;
    let total_in: u64 = 200_000_000;
    let hot_each = total_in * 8 / 10 / hot as u64;
    let cold_each = total_in * 2 / 10 / (parts - hot) as u64;
    let mut load: BTreeMap<BrokerId, usize> = BTreeMap::new();
    let mut ps = Vec::new();
    for i in 0..parts {
        let is_hot = i < hot;
        let mut reps: Vec<BrokerId> = Vec::new();
        if is_hot {
            reps.push(1 + (i % 3) as i32);
        }
        for r in &by_rack {
            if reps.iter().any(|x| r.contains(x)) {
                continue;
            }
            // The least loaded of two random brokers of the rack.
            let (x, y) = (r[rng.below(r.len())], r[rng.below(r.len())]);
            let pick = if load.get(&x).unwrap_or(&0) <= load.get(&y).unwrap_or(&0) {
                x
            } else {
                y
            };
            reps.push(pick);
        }
        for b in &reps {
            *load.entry(*b).or_default() += 1;
        }
        if !is_hot {
            let k = rng.below(3);
            reps.rotate_left(k);
        }
        let bytes_in = if is_hot { hot_each } else { cold_each } + rng.below(1000) as u64;
        let fanout = 1 + rng.below(2) as u64;
        let (topic, n) = if is_hot {
            ("hot", i)
        } else {
            ("cold", i - hot)
        };
        ps.push(partition(
            topic,
            n as i32,
            reps,
            Some((bytes_in, bytes_in * fanout)),
        ));
    }
    Cluster::new(bs, ps)
}

fn load_config() -> PlanConfig {
    PlanConfig {
        balance: Balance::Load,
        ..PlanConfig::default()
    }
}

fn ratios(c: &Cluster, o: &PlanOutcome, excluded: &BTreeSet<BrokerId>) -> [f64; 3] {
    let t = traffic(c, &o.after);
    let rows: Vec<_> = t
        .iter()
        .filter(|(id, _)| !excluded.contains(id))
        .map(|(_, t)| *t)
        .collect();
    let ratio = |f: fn(&kafka_replan::plan::load::Traffic) -> u64| {
        let v: Vec<f64> = rows.iter().map(|t| f(t) as f64).collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().cloned().fold(0.0, f64::max) / mean
    };
    [
        ratio(|t| t.net_in),
        ratio(|t| t.net_out),
        ratio(|t| t.leader_in),
    ]
}

fn rack_spread_kept(c: &Cluster, o: &PlanOutcome) {
    let rack: BTreeMap<BrokerId, String> = c
        .brokers
        .iter()
        .map(|b| (b.id, b.rack.clone().unwrap_or_default()))
        .collect();
    for (p, reps) in c.partitions.iter().zip(&o.after.replicas) {
        let racks: BTreeSet<&String> = reps.iter().map(|b| &rack[b]).collect();
        assert_eq!(racks.len(), reps.len().min(3), "{}: {reps:?}", p.tp);
        assert_eq!(reps.len(), p.replicas.len(), "{}: RF changed", p.tp);
    }
}

#[test]
fn hot_clusters_end_within_the_tolerance_with_no_fewer_changes_than_the_bounds() {
    for (seed, brokers, parts) in [(7, 9, 300), (11, 12, 600), (3, 15, 900)] {
        let c = hot_cluster(seed, brokers, parts);
        let o = plan(&c, &load_config()).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let r = ratios(&c, &o, &BTreeSet::new());
        assert!(r.iter().all(|x| *x <= 1.10 + 1e-9), "seed {seed}: {r:?}");
        let facts = o.load_balance.as_ref().expect("load facts");
        assert!(facts.target_reached, "seed {seed}");
        assert!(
            o.moves >= facts.moves_bound,
            "seed {seed}: {} < {}",
            o.moves,
            facts.moves_bound
        );
        assert!(
            o.leader_changes >= facts.leader_changes_bound,
            "seed {seed}: {} < {}",
            o.leader_changes,
            facts.leader_changes_bound
        );
        // Leadership first: far fewer replica moves than leader changes on these clusters.
        assert!(o.moves < o.leader_changes, "seed {seed}: {} moves", o.moves);
        rack_spread_kept(&c, &o);
        let n = o.network.as_ref().expect("network figures");
        assert!(n.after.net_out.unwrap_or(9.0) <= 1.10 + 1e-9);
        assert!(
            n.before.net_out.unwrap_or(0.0) > 2.0,
            "the generator makes hot leaders"
        );
    }
}

#[test]
fn the_same_input_gives_the_same_plan() {
    let c = hot_cluster(5, 12, 600);
    let a = plan(&c, &load_config()).unwrap();
    let b = plan(&c, &load_config()).unwrap();
    assert_eq!(a.after, b.after);
    assert_eq!(a.election, b.election);
}

/// Six brokers in three racks, every partition on one broker per rack (so network in is
/// even), every one led from rack `a`: reordering replica lists is enough.
fn leaders_skewed() -> Cluster {
    let bs = vec![
        broker(1, "a"),
        broker(2, "b"),
        broker(3, "c"),
        broker(4, "a"),
        broker(5, "b"),
        broker(6, "c"),
    ];
    let mut ps = Vec::new();
    for i in 0..48 {
        let a = if i % 2 == 0 { 1 } else { 4 };
        let b = if (i / 2) % 2 == 0 { 2 } else { 5 };
        let c = if (i / 4) % 2 == 0 { 3 } else { 6 };
        ps.push(partition("t", i, vec![a, b, c], Some((1000, 2000))));
    }
    Cluster::new(bs, ps)
}

#[test]
fn leadership_changes_alone_fix_skewed_leaders() {
    let c = leaders_skewed();
    let o = plan(&c, &load_config()).unwrap();
    assert_eq!(o.moves, 0, "no data copied");
    assert!(o.leader_changes > 0);
    assert_eq!(o.leader_changes, o.election.len());
    let facts = o.load_balance.as_ref().unwrap();
    assert!(facts.leadership_only && facts.target_reached);
    let r = ratios(&c, &o, &BTreeSet::new());
    assert!(r.iter().all(|x| *x <= 1.10 + 1e-9), "{r:?}");
    // Every entry of the plan only reorders its replicas.
    assert!(!o.plan.changes.is_empty());
    for (tp, replicas) in &o.plan.changes {
        let p = c.partitions.iter().find(|p| &p.tp == tp).unwrap();
        let before: BTreeSet<_> = p.replicas.iter().collect();
        let after: BTreeSet<_> = replicas.iter().collect();
        assert_eq!(before, after, "{tp}");
    }
}

#[test]
fn a_balanced_cluster_gets_an_empty_plan() {
    let mut c = leaders_skewed();
    // Rotate leaders evenly over the six brokers.
    for (i, p) in c.partitions.iter_mut().enumerate() {
        p.replicas.rotate_left(i % 3);
    }
    let o = plan(&c, &load_config()).unwrap();
    assert_eq!((o.moves, o.leader_changes), (0, 0));
}

#[test]
fn network_limits_are_honoured_or_named() {
    let c = hot_cluster(11, 12, 600);
    let mean_out: u64 = {
        let t = traffic(&c, &c.current_layout());
        t.values().map(|t| t.net_out).sum::<u64>() / 12
    };
    // A limit 25 % above the mean (after the default 0.8 utilisation): reachable.
    let limit = mean_out * 125 / 100;
    let mut cfg = load_config();
    cfg.load = LoadConfig {
        out_capacity: NetworkCapacity {
            default: Some((limit as f64 / 0.8) as u64),
            per_broker: BTreeMap::new(),
        },
        tolerance: 0.5,
        ..LoadConfig::default()
    };
    let o = plan(&c, &cfg).unwrap();
    for (id, t) in traffic(&c, &o.after) {
        assert!(t.net_out <= limit, "broker {id}: {} > {limit}", t.net_out);
    }
    // A limit below the mean: no layout fits, and the totals say so.
    cfg.load.out_capacity.default = Some(mean_out / 2);
    match plan(&c, &cfg) {
        Err(PlanError::Infeasible(list)) => {
            let text = list
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                text.contains("network out") && text.contains("short"),
                "{text}"
            );
        }
        other => panic!("expected infeasible, got {:?}", other.map(|o| o.moves)),
    }
    // A partition hotter than any broker's limit is named.
    let hottest = c
        .partitions
        .iter()
        .max_by_key(|p| p.rates.unwrap().bytes_in_per_sec)
        .unwrap();
    cfg.load.out_capacity = NetworkCapacity::default();
    cfg.load.in_capacity.default = Some(hottest.rates.unwrap().bytes_in_per_sec);
    match plan(&c, &cfg) {
        Err(PlanError::Infeasible(list)) => {
            let text = list
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                text.contains(&format!("partition {}", hottest.tp)),
                "{text}"
            );
        }
        other => panic!("expected infeasible, got {:?}", other.map(|o| o.moves)),
    }
}

#[test]
fn excluded_brokers_are_emptied_and_the_rest_balanced() {
    let c = hot_cluster(13, 12, 600);
    let mut cfg = load_config();
    cfg.excluded = [12].into_iter().collect();
    let o = plan(&c, &cfg).unwrap();
    assert!(o.after.replicas.iter().all(|r| !r.contains(&12)));
    rack_spread_kept(&c, &o);
    let r = ratios(&c, &o, &cfg.excluded);
    // With 3 brokers left in rack c, the rack rule puts a third of all produce traffic on
    // them: network in is balanced within the tolerance of that floor.
    let facts = o.load_balance.as_ref().unwrap();
    let floor = facts.floor.net_in.unwrap();
    assert!(floor > 1.2 && facts.explanations.iter().any(|e| e.contains("rack rule")));
    assert!(facts.target_reached);
    assert!(
        r[0] <= floor * 1.10 + 1e-9 && r[1] <= 1.10 + 1e-9 && r[2] <= 1.10 + 1e-9,
        "{r:?}"
    );
}

#[test]
fn clusters_without_rates_get_no_network_figures() {
    let mut c = leaders_skewed();
    for p in &mut c.partitions {
        p.rates = None;
    }
    let o = plan(&c, &PlanConfig::default()).unwrap();
    assert!(o.network.is_none() && o.load_balance.is_none());
}

/// Count modes with rates: the leader flow's counts, then leadership exchanged between
/// brokers so the hottest leads less traffic; the same replica sets, the same leader count
/// per broker, and the budget on leader changes kept.
#[test]
fn count_modes_level_leader_traffic_at_the_same_leader_counts() {
    let c = hot_cluster(7, 12, 600);
    let mut plain = c.clone();
    for p in &mut plain.partitions {
        p.rates = None;
    }
    for balance in [Balance::Count, Balance::CountBytes] {
        let config = PlanConfig {
            balance,
            ..PlanConfig::default()
        };
        let with = plan(&c, &config).unwrap();
        let without = plan(&plain, &config).unwrap();
        // Replica sets and leader counts as without rates; only the leaders differ.
        let sets = |o: &PlanOutcome| -> Vec<BTreeSet<BrokerId>> {
            o.after
                .replicas
                .iter()
                .map(|r| r.iter().copied().collect())
                .collect()
        };
        assert_eq!(sets(&with), sets(&without), "{balance:?}");
        assert_eq!(
            with.after.leader_counts(),
            without.after.leader_counts(),
            "{balance:?}"
        );
        assert_eq!(with.moves, without.moves);
        let out = |o: &PlanOutcome| ratios(&c, o, &BTreeSet::new())[1];
        assert!(
            out(&with) < out(&without),
            "{balance:?}: network out max/mean {} not below {}",
            out(&with),
            out(&without)
        );
        assert!(
            with.explanations
                .iter()
                .any(|e| e.starts_with("load level after counts")),
            "{:?}",
            with.explanations
        );
        // Deterministic.
        assert_eq!(plan(&c, &config).unwrap().plan, with.plan);
    }
    // A leader-change budget is kept.
    let config = PlanConfig {
        max_leader_changes: Some(40),
        ..PlanConfig::default()
    };
    let o = plan(&c, &config).unwrap();
    assert!(o.leader_changes <= 40, "{}", o.leader_changes);
}

/// `--leaders-by-count` (`level_leader_traffic: false`): with rates, the count modes give the
/// same plan as without them — the leader flow's leaders, fewest leader changes.
#[test]
fn leaders_by_count_skips_the_traffic_level() {
    let c = hot_cluster(7, 12, 600);
    let mut plain = c.clone();
    for p in &mut plain.partitions {
        p.rates = None;
    }
    for balance in [Balance::Count, Balance::CountBytes] {
        let by_count = PlanConfig {
            balance,
            level_leader_traffic: false,
            ..PlanConfig::default()
        };
        let levelled = PlanConfig {
            balance,
            ..PlanConfig::default()
        };
        let o = plan(&c, &by_count).unwrap();
        let without = plan(&plain, &by_count).unwrap();
        assert_eq!(o.plan, without.plan, "{balance:?}");
        assert_eq!(o.leader_changes, without.leader_changes, "{balance:?}");
        assert!(
            !o.explanations
                .iter()
                .any(|e| e.starts_with("load level after counts")),
            "{:?}",
            o.explanations
        );
        // The level itself changes leaders on this cluster, so the switch is what differs.
        let l = plan(&c, &levelled).unwrap();
        assert!(l.leader_changes > o.leader_changes, "{balance:?}");
    }
}

// ---- command line ----

fn snapshot_json(c: &Cluster) -> String {
    kafka_replan::formats::snapshot::write_snapshot(c)
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn cli_plans_load_from_snapshot_rates_and_writes_an_election() {
    let dir = tempfile::tempdir().unwrap();
    let snap = write(dir.path(), "s.json", &snapshot_json(&leaders_skewed()));
    let out = cli::run_in(
        dir.path(),
        [
            "plan",
            "--snapshot",
            &snap,
            "--output",
            "plan.json",
            "--election",
            "election.json",
            "--balance",
            "load",
            "--report-json",
            "r.json",
            "--report-html",
            "r.html",
        ],
    );
    assert!(out.status.success(), "{}", cli::describe(&out));
    let text = cli::stdout(&out);
    assert!(
        text.contains("network max/mean:") && text.contains("leadership only"),
        "{text}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["balance"], "load");
    assert_eq!(report["replica_moves"], 0);
    assert!(
        report["network"]["after"]["net_out_max_mean"]
            .as_f64()
            .unwrap()
            <= 1.1
    );
    assert_eq!(report["network"]["brokers"].as_array().unwrap().len(), 6);
    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    assert!(
        html.contains("Network traffic per broker"),
        "no network chart"
    );
    assert!(dir.path().join("election.json").exists());
}

#[test]
fn cli_leaders_by_count_plans_as_without_rates() {
    let dir = tempfile::tempdir().unwrap();
    let hot = hot_cluster(7, 12, 600);
    let mut plain = hot.clone();
    for p in &mut plain.partitions {
        p.rates = None;
    }
    let hot_snap = write(dir.path(), "hot.json", &snapshot_json(&hot));
    let plain_snap = write(dir.path(), "plain.json", &snapshot_json(&plain));
    let run = |snap: &str, out: &str, extra: &[&str]| {
        let mut args = vec!["plan", "--snapshot", snap, "--output", out];
        args.extend_from_slice(extra);
        let o = cli::run_in(dir.path(), args);
        assert!(o.status.success(), "{}", cli::describe(&o));
        std::fs::read_to_string(dir.path().join(out)).unwrap()
    };
    let by_count = run(&hot_snap, "by-count.json", &["--leaders-by-count"]);
    assert_eq!(by_count, run(&plain_snap, "plain-plan.json", &[]));
    assert_ne!(by_count, run(&hot_snap, "levelled.json", &[]));
    let o = cli::run_in(
        dir.path(),
        [
            "plan",
            "--snapshot",
            &hot_snap,
            "--output",
            "x.json",
            "--balance",
            "load",
            "--leaders-by-count",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", cli::describe(&o));
    assert!(
        cli::stderr(&o).contains("--leaders-by-count"),
        "{}",
        cli::describe(&o)
    );
    assert!(!dir.path().join("x.json").exists());
}

fn without_rates() -> Cluster {
    let mut c = leaders_skewed();
    for p in &mut c.partitions {
        p.rates = None;
    }
    c
}

#[test]
fn cli_rates_files_in_csv_and_json_give_the_same_plan() {
    let dir = tempfile::tempdir().unwrap();
    let snap = write(dir.path(), "s.json", &snapshot_json(&without_rates()));
    let mut csv = String::from("topic,partition,bytes_in,bytes_out\n");
    let mut json = Vec::new();
    for i in 0..48 {
        csv.push_str(&format!("t,{i},1000,2000\n"));
        json.push(format!(
            "{{\"topic\": \"t\", \"partition\": {i}, \"bytes_in\": 1000, \"bytes_out\": 2000}}"
        ));
    }
    let csv = write(dir.path(), "rates.csv", &csv);
    let json = write(
        dir.path(),
        "rates.json",
        &format!("[\n{}\n]\n", json.join(",\n")),
    );
    let mut plans = Vec::new();
    for (rates, out) in [(&csv, "a.json"), (&json, "b.json")] {
        let o = cli::run_in(
            dir.path(),
            [
                "plan",
                "--snapshot",
                &snap,
                "--rates",
                rates,
                "--output",
                out,
                "--balance",
                "load",
                "-q",
            ],
        );
        assert!(o.status.success(), "{}", cli::describe(&o));
        plans.push(std::fs::read_to_string(dir.path().join(out)).unwrap());
    }
    assert_eq!(plans[0], plans[1]);
    // The same rates in the snapshot itself: the same plan.
    let with = write(dir.path(), "w.json", &snapshot_json(&leaders_skewed()));
    let o = cli::run_in(
        dir.path(),
        [
            "plan",
            "--snapshot",
            &with,
            "--output",
            "c.json",
            "--balance",
            "load",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", cli::describe(&o));
    assert_eq!(
        plans[0],
        std::fs::read_to_string(dir.path().join("c.json")).unwrap()
    );
}

#[test]
fn cli_bad_traffic_input_is_refused_with_its_place_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let snap = write(dir.path(), "s.json", &snapshot_json(&without_rates()));
    let with = write(dir.path(), "w.json", &snapshot_json(&leaders_skewed()));
    let header = "topic,partition,bytes_in,bytes_out\n";
    let cases: Vec<(Vec<String>, u8, &str)> = vec![
        (
            vec![format!("{header}t,0,-5,1\n")],
            2,
            "rates.csv:2: partition t-0: bytes_in is -5",
        ),
        (
            vec![format!("{header}t,0,1,lots\n")],
            2,
            "rates.csv:2: partition t-0: bytes_out `lots` is not a number",
        ),
        (
            vec![format!("{header}t,99,1,1\n")],
            2,
            "rates.csv:2: partition t-99 is not in the cluster",
        ),
        (
            vec![format!("{header}t,0,1,1\nt,0,1,1\n")],
            2,
            "rates.csv:3: partition t-0 is listed twice (first on line 2)",
        ),
        (
            vec!["topic,partition\n".into()],
            2,
            "has no `bytes_in` column",
        ),
    ];
    for (file, code, want) in &cases {
        let rates = write(dir.path(), "rates.csv", &file[0]);
        let o = cli::run_in(
            dir.path(),
            [
                "plan",
                "--snapshot",
                &snap,
                "--rates",
                &rates,
                "--output",
                "plan.json",
                "--balance",
                "load",
            ],
        );
        assert_eq!(
            o.status.code(),
            Some(*code as i32),
            "{want}: {}",
            cli::describe(&o)
        );
        assert!(
            cli::stderr(&o).contains(want),
            "{want}: {}",
            cli::describe(&o)
        );
        assert!(
            !dir.path().join("plan.json").exists(),
            "{want}: output written"
        );
    }
    let flag_cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["--snapshot", &snap, "--balance", "load"],
            2,
            "--balance load needs partition rates",
        ),
        (
            vec!["--snapshot", &with, "--load-tolerance", "5%"],
            2,
            "apply to --balance load only",
        ),
        (
            vec!["--snapshot", &with, "--balance", "load", "--max-moves", "3"],
            2,
            "cannot be combined with --max-moves",
        ),
        (
            vec![
                "--snapshot",
                &with,
                "--balance",
                "load",
                "--network-in-capacity",
                "9=1MB/s",
            ],
            2,
            "--network-in-capacity: broker 9 is not in the cluster",
        ),
        (
            vec![
                "--snapshot",
                &with,
                "--balance",
                "load",
                "--network-out-capacity",
                "fast",
            ],
            2,
            "--network-out-capacity",
        ),
        (
            vec![
                "--snapshot",
                &with,
                "--balance",
                "load",
                "--max-network-util",
                "1.5",
            ],
            2,
            "--max-network-util must be in (0, 1]",
        ),
        (
            vec![
                "--snapshot",
                &with,
                "--balance",
                "load",
                "--network-out-capacity",
                "1KB/s",
            ],
            1,
            "network out",
        ),
        (
            vec![
                "--snapshot",
                &with,
                "--balance",
                "load",
                "--network-in-capacity",
                "1=1KB/s,4=1KB/s",
            ],
            1,
            "network in",
        ),
        (
            vec![
                "--snapshot",
                &with,
                "--balance",
                "load",
                "--network-in-capacity",
                "500B/s",
            ],
            1,
            "partition t-0: network in of 1000 B/s",
        ),
    ];
    for (args, code, want) in &flag_cases {
        let mut argv = vec!["plan", "--output", "plan.json"];
        argv.extend(args.iter().copied());
        let o = cli::run_in(dir.path(), &argv);
        assert_eq!(
            o.status.code(),
            Some(*code),
            "{want}: {}",
            cli::describe(&o)
        );
        assert!(
            cli::stderr(&o).contains(want),
            "{want}: {}",
            cli::describe(&o)
        );
        assert!(
            !dir.path().join("plan.json").exists(),
            "{want}: output written"
        );
    }
}

#[test]
fn cli_snapshots_without_rates_report_no_network_section() {
    let dir = tempfile::tempdir().unwrap();
    let snap = write(dir.path(), "s.json", &snapshot_json(&without_rates()));
    let o = cli::run_in(
        dir.path(),
        [
            "plan",
            "--snapshot",
            &snap,
            "--output",
            "p.json",
            "--report-json",
            "r.json",
            "--report-html",
            "r.html",
        ],
    );
    assert!(o.status.success(), "{}", cli::describe(&o));
    assert!(!cli::stdout(&o).contains("network"));
    assert!(!std::fs::read_to_string(dir.path().join("r.json"))
        .unwrap()
        .contains("network"));
    assert!(!std::fs::read_to_string(dir.path().join("r.html"))
        .unwrap()
        .contains("Network traffic"));
}
