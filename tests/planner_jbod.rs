//! JBOD (log-dir aware) planning: the planner's properties on hand-built clusters with log
//! dirs (dir balance within the tolerance, dir capacities, drains, offline dirs, one-dir
//! brokers, unknown replica dirs, the bound on bytes copied inside brokers, determinism),
//! and the CLI end to end (snapshots with dirs, `kafka-log-dirs` output, bad inputs with
//! their messages and no output file, plans without dirs unchanged).

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use kafka_replan::formats::snapshot::write_snapshot;
use kafka_replan::model::BrokerId;
use kafka_replan::model::{validate_cluster, BrokerLogDir, Cluster, TopicPartition};
use kafka_replan::plan::log_dirs::{verify_dirs, LogDirOutcome};
use kafka_replan::plan::{plan, PlanConfig, PlanOutcome};
use support::cli::{run, stderr, stdout};
use support::clusters::SmallCluster;

fn dir(path: &str, capacity: Option<u64>) -> BrokerLogDir {
    BrokerLogDir {
        path: path.to_string(),
        capacity_bytes: capacity,
        usable_bytes: None,
        offline: false,
    }
}

/// A small deterministic generator (no crate needed for a test's pseudo-random sizes).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// 6 brokers in 3 racks; brokers 1-5 have 2 or 3 dirs of unequal size, broker 6 one dir.
/// Every replica sits in its broker's first dir (the skew Kafka leaves when one disk was
/// added later), 240 partitions RF 3 of uneven sizes.
fn jbod_cluster() -> Cluster {
    let mut c = SmallCluster::new();
    for id in 1..=6 {
        c.add_broker(id, Some(["a", "b", "c"][(id as usize - 1) % 3]), None);
    }
    let mut rng = Lcg(7);
    for p in 0..240 {
        let first = (p % 6) + 1;
        let reps = vec![first, (first % 6) + 1, ((first + 1) % 6) + 1];
        let size = 1_000_000 + rng.next() % 9_000_000;
        c.add_partition(&format!("t{}", p % 7), p, reps, size);
    }
    let mut cluster = c.build();
    for b in cluster.brokers.iter_mut() {
        b.log_dirs = match b.id {
            1 | 4 => vec![
                dir("/d0", Some(2_000_000_000)),
                dir("/d1", Some(2_000_000_000)),
                dir("/d2", Some(1_000_000_000)),
            ],
            6 => vec![dir("/d0", Some(4_000_000_000))],
            _ => vec![
                dir("/d0", Some(1_500_000_000)),
                dir("/d1", Some(3_000_000_000)),
            ],
        };
    }
    for p in cluster.partitions.iter_mut() {
        p.log_dirs = vec![Some("/d0".to_string()); p.replicas.len()];
    }
    assert!(validate_cluster(&cluster).is_empty());
    cluster
}

fn dirs_of(o: &PlanOutcome) -> &LogDirOutcome {
    o.log_dirs.as_ref().expect("a log-dir outcome")
}

fn check(cluster: &Cluster, config: &PlanConfig, o: &PlanOutcome) {
    let d = dirs_of(o);
    let v = verify_dirs(cluster, config, &o.before, &o.after, &d.plan, &d.rollback);
    assert!(v.is_empty(), "{v:?}");
    assert_eq!(d.capacity_violations(config.max_disk_util), 0);
}

#[test]
fn skewed_dirs_end_within_the_tolerance_with_bytes_near_the_bound() {
    let cluster = jbod_cluster();
    let config = PlanConfig::default();
    let o = plan(&cluster, &config).unwrap();
    check(&cluster, &config, &o);
    let d = dirs_of(&o);
    let (before, after) = d.worst_ratios();
    assert!(before.unwrap() > 2.0, "{before:?}");
    assert!(after.unwrap() <= 1.05, "{after:?}");
    assert!(d.intra_bound > 0);
    assert!(
        d.intra_bytes as f64 <= d.intra_bound as f64 * 1.10,
        "{} copied, bound {}",
        d.intra_bytes,
        d.intra_bound
    );
    assert!(d.intra_bytes >= d.intra_bound);
    // The one-dir broker has no ratio; it still gets a dir for every replica arriving.
    let b6 = d.brokers.iter().find(|b| b.broker == 6).unwrap();
    assert_eq!(b6.after_ratio, None);
    // Dir-only entries: replicas unchanged, a real dir where the replica moves.
    assert!(d.intra_only > 0);
    let (tp, e) = d
        .plan
        .iter()
        .find(|(tp, e)| {
            let i = cluster.partition_index(tp).unwrap();
            cluster.partitions[i].replicas == e.replicas
        })
        .unwrap();
    assert!(e.log_dirs.iter().any(Option::is_some), "{tp}: {e:?}");
    assert!(d.rollback[tp]
        .log_dirs
        .iter()
        .all(|x| x.as_deref() == Some("/d0")));
}

#[test]
fn the_same_input_gives_the_same_dirs() {
    let cluster = jbod_cluster();
    let a = plan(&cluster, &PlanConfig::default()).unwrap();
    let b = plan(&cluster, &PlanConfig::default()).unwrap();
    assert_eq!(a.log_dirs, b.log_dirs);
    assert_eq!(a.after, b.after);
}

#[test]
fn a_looser_tolerance_copies_less() {
    let cluster = jbod_cluster();
    let tight = plan(&cluster, &PlanConfig::default()).unwrap();
    let loose_config = PlanConfig {
        log_dir_tolerance: 0.5,
        ..PlanConfig::default()
    };
    let loose = plan(&cluster, &loose_config).unwrap();
    check(&cluster, &loose_config, &loose);
    assert!(dirs_of(&loose).intra_bytes < dirs_of(&tight).intra_bytes);
    assert!(dirs_of(&loose).worst_ratios().1.unwrap() <= 1.5);
}

#[test]
fn a_drained_dir_is_emptied_into_the_brokers_other_dirs() {
    let cluster = jbod_cluster();
    let config = PlanConfig {
        drain_log_dirs: BTreeSet::from([(2, "/d0".to_string())]),
        ..PlanConfig::default()
    };
    let o = plan(&cluster, &config).unwrap();
    check(&cluster, &config, &o);
    let d = dirs_of(&o);
    let drained = d
        .dirs
        .iter()
        .find(|x| x.broker == 2 && x.path == "/d0")
        .unwrap();
    assert!(drained.drained && drained.before_bytes > 0);
    assert_eq!((drained.after_bytes, drained.after_replicas), (0, 0));
    // /d1 of broker 2 has room for it all: nothing had to leave the broker for the drain.
    let b2_after = o.after.replicas.iter().filter(|r| r.contains(&2)).count();
    let b2_before = o.before.replicas.iter().filter(|r| r.contains(&2)).count();
    assert_eq!(b2_before, b2_after);
    // Everything that was in the drained dir counts in the bound.
    let b2 = d.brokers.iter().find(|b| b.broker == 2).unwrap();
    assert!(b2.intra_bound >= drained.before_bytes.min(b2.intra_bytes));
}

#[test]
fn a_drain_the_other_dirs_cannot_hold_moves_replicas_to_other_brokers() {
    let mut cluster = jbod_cluster();
    // Broker 3's /d1 can hold only a third of what its /d0 holds.
    let on_b3: u64 = cluster
        .partitions
        .iter()
        .filter(|p| p.replicas.contains(&3))
        .map(|p| p.size_bytes)
        .sum();
    let b3 = cluster.brokers.iter_mut().find(|b| b.id == 3).unwrap();
    b3.log_dirs[1].capacity_bytes = Some(on_b3 / 3);
    for b in cluster.brokers.iter_mut().filter(|b| b.id != 3) {
        for d in b.log_dirs.iter_mut() {
            d.capacity_bytes = d.capacity_bytes.map(|c| c * 10);
        }
    }
    let config = PlanConfig {
        drain_log_dirs: BTreeSet::from([(3, "/d0".to_string())]),
        ..PlanConfig::default()
    };
    let o = plan(&cluster, &config).unwrap();
    check(&cluster, &config, &o);
    let after_b3: u64 = cluster
        .partitions
        .iter()
        .zip(&o.after.replicas)
        .filter(|(_, r)| r.contains(&3))
        .map(|(p, _)| p.size_bytes)
        .sum();
    assert!(after_b3 <= on_b3 / 3, "{after_b3} > {}", on_b3 / 3);
    let d = dirs_of(&o);
    let d0 = d
        .dirs
        .iter()
        .find(|x| x.broker == 3 && x.path == "/d0")
        .unwrap();
    assert_eq!(d0.after_bytes, 0);
}

#[test]
fn replicas_on_an_offline_dir_leave_the_broker() {
    let mut cluster = jbod_cluster();
    let b4 = cluster.brokers.iter_mut().find(|b| b.id == 4).unwrap();
    b4.log_dirs[2].offline = true;
    let mut moved_off: Vec<TopicPartition> = Vec::new();
    for (k, p) in cluster.partitions.iter_mut().enumerate() {
        if let Some(pos) = p.replicas.iter().position(|&r| r == 4) {
            if k % 4 == 0 {
                p.log_dirs[pos] = Some("/d2".to_string());
                moved_off.push(p.tp.clone());
            }
        }
    }
    assert!(!moved_off.is_empty());
    let config = PlanConfig::default();
    let o = plan(&cluster, &config).unwrap();
    check(&cluster, &config, &o);
    for tp in &moved_off {
        let i = cluster.partition_index(tp).unwrap();
        assert!(!o.after.replicas[i].contains(&4), "{tp} stays on broker 4");
    }
    let d = dirs_of(&o);
    let off = d
        .dirs
        .iter()
        .find(|x| x.broker == 4 && x.path == "/d2")
        .unwrap();
    assert!(off.offline && off.after_bytes == 0);
    assert!(d.worst_ratios().1.unwrap() <= 1.05);
}

/// The rack rule sends the offline replicas of broker 4 to broker 1 (its only rack peer), whose
/// disk has no room for them: room is made by moving other replicas off broker 1 first.
#[test]
fn offline_replicas_get_room_on_a_full_rack_peer() {
    let mut cluster = jbod_cluster();
    for (k, p) in cluster.partitions.iter_mut().enumerate() {
        if let Some(pos) = p.replicas.iter().position(|&r| r == 4) {
            p.log_dirs[pos] = Some(if k % 4 == 0 { "/d2" } else { "/d0" }.to_string());
        }
    }
    let bytes_on = |c: &Cluster, id: BrokerId| -> u64 {
        c.partitions
            .iter()
            .filter(|p| p.replicas.contains(&id))
            .map(|p| p.size_bytes)
            .sum()
    };
    let full = bytes_on(&cluster, 1);
    for b in cluster.brokers.iter_mut() {
        match b.id {
            // Broker 1 (one dir): room for what it holds and 50 MB more, less than the ~160 MB
            // coming.
            1 => {
                b.log_dirs = vec![dir("/d0", Some(full + 50_000_000))];
            }
            // Broker 4: a quarter of its replicas in /d2, which fails; /d0 and /d1 are large.
            4 => {
                b.log_dirs[2].offline = true;
                b.log_dirs[2].capacity_bytes = Some(full * 2);
                b.log_dirs[0].capacity_bytes = Some(full * 2);
                b.log_dirs[1].capacity_bytes = Some(full * 2);
            }
            _ => {}
        }
    }
    for p in cluster.partitions.iter_mut() {
        if let Some(pos) = p.replicas.iter().position(|&r| r == 1) {
            p.log_dirs[pos] = Some("/d0".to_string());
        }
    }
    let config = PlanConfig::default();
    let o = plan(&cluster, &config).unwrap_or_else(|e| panic!("{e}"));
    check(&cluster, &config, &o);
    let mut evicted = 0;
    for (p, reps) in cluster.partitions.iter().zip(&o.after.replicas) {
        let offline = p
            .replicas
            .iter()
            .zip(&p.log_dirs)
            .any(|(&b, d)| b == 4 && d.as_deref() == Some("/d2"));
        if offline {
            evicted += 1;
            assert!(!reps.contains(&4), "{}: stays on broker 4", p.tp);
        }
    }
    assert!(evicted > 20, "{evicted}");
    assert!(dirs_of(&o).evicted >= evicted, "{}", dirs_of(&o).evicted);
    // Broker 1 took them within its disk: others left it to make room.
    let after_on_1: u64 = cluster
        .partitions
        .iter()
        .zip(&o.after.replicas)
        .filter(|(_, r)| r.contains(&1))
        .map(|(p, _)| p.size_bytes)
        .sum();
    assert!(after_on_1 <= full + 50_000_000, "{after_on_1}");
}

#[test]
fn replicas_whose_dir_is_unknown_stay_any() {
    let mut cluster = jbod_cluster();
    cluster.partitions[0].log_dirs[1] = None;
    cluster.partitions[1].log_dirs = Vec::new();
    let config = PlanConfig::default();
    let o = plan(&cluster, &config).unwrap();
    check(&cluster, &config, &o);
    let d = dirs_of(&o);
    assert!(d.unknown_dir_replicas >= 1);
    for p in [&cluster.partitions[0], &cluster.partitions[1]] {
        if let Some(e) = d.plan.get(&p.tp) {
            for (pos, b) in e.replicas.iter().enumerate() {
                let k = p.replicas.iter().position(|x| x == b);
                let unknown = k.is_some_and(|k| p.log_dirs.get(k).cloned().flatten().is_none());
                if unknown {
                    assert_eq!(e.log_dirs[pos], None, "{}", p.tp);
                }
            }
        }
    }
}

#[test]
fn without_known_dirs_nothing_changes() {
    let mut cluster = jbod_cluster();
    for b in cluster.brokers.iter_mut() {
        b.log_dirs.clear();
    }
    for p in cluster.partitions.iter_mut() {
        p.log_dirs.clear();
    }
    let o = plan(&cluster, &PlanConfig::default()).unwrap();
    assert!(o.log_dirs.is_none());
}

#[test]
fn a_drained_broker_whose_other_dir_is_tiny_sheds_its_replicas() {
    let mut cluster = jbod_cluster();
    let b5 = cluster.brokers.iter_mut().find(|b| b.id == 5).unwrap();
    b5.log_dirs = vec![dir("/d0", Some(200_000_000)), dir("/d1", Some(10))];
    let config = PlanConfig {
        drain_log_dirs: BTreeSet::from([(5, "/d0".to_string())]),
        ..PlanConfig::default()
    };
    // /d1 holds nothing of size: every replica leaves broker 5 (zero-size ones aside).
    let o = plan(&cluster, &config).unwrap();
    check(&cluster, &config, &o);
    assert!(o
        .after
        .replicas
        .iter()
        .zip(&cluster.partitions)
        .all(|(r, p)| !r.contains(&5) || p.size_bytes <= 10));
}

#[test]
fn validation_names_broker_and_path() {
    let mut cluster = jbod_cluster();
    cluster.partitions[0].log_dirs[0] = Some("/nope".into());
    cluster.brokers[1].log_dirs.push(dir("/d0", None));
    cluster.brokers[2].log_dirs[0].capacity_bytes = Some(5);
    let v: Vec<String> = validate_cluster(&cluster)
        .iter()
        .map(|v| v.to_string())
        .collect();
    let all = v.join("\n");
    assert!(
        all.contains("in log dir /nope, which broker 1 does not list"),
        "{all}"
    );
    assert!(
        all.contains("broker 2 lists log dir /d0 more than once"),
        "{all}"
    );
    assert!(
        all.contains("broker 3 log dir /d0: its replicas hold"),
        "{all}"
    );
}

// ---- CLI end to end ----

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

fn plan_cli(snapshot: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "plan".to_string(),
        "--snapshot".into(),
        snapshot.into(),
        "--output".into(),
        out.to_string_lossy().into_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    run(args)
}

#[test]
fn cli_plan_from_a_snapshot_with_dirs_writes_real_log_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let snap = write(dir.path(), "s.json", &write_snapshot(&jbod_cluster()));
    let out = dir.path().join("plan.json");
    let rollback = dir.path().join("rollback.json");
    let report = dir.path().join("report.json");
    let html = dir.path().join("report.html");
    let o = plan_cli(
        &snap,
        &out,
        &[
            "--rollback",
            rollback.to_str().unwrap(),
            "--report-json",
            report.to_str().unwrap(),
            "--report-html",
            html.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("log dirs:") && text.contains("intra-broker:"),
        "{text}"
    );
    let plan_text = std::fs::read_to_string(&out).unwrap();
    assert!(plan_text.contains("\"/d1\"") || plan_text.contains("\"/d2\""));
    assert!(plan_text.contains("\"any\""));
    let rb = std::fs::read_to_string(&rollback).unwrap();
    assert!(rb.contains("\"/d0\""));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let ld = &json["log_dirs"];
    assert_eq!(ld["capacity_violations"], 0);
    assert!(ld["worst_usage_ratio_after"].as_f64().unwrap() <= 1.05);
    assert!(ld["dirs"].as_array().unwrap().len() >= 13);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("Log dirs"),
        "no log-dir section in the HTML report"
    );
    // Kafka's own parser accepts what was written.
    let parsed = kafka_replan::formats::reassignment::parse_reassignment_json_for_execute(
        "plan.json",
        &plan_text,
    )
    .unwrap();
    assert!(!parsed.replica_log_dirs().is_empty());
}

const LOG_DIRS: &str = r#"Querying brokers for log directories information
Received log directory information from brokers 1,2,3
{"brokers":[{"broker":1,"logDirs":[{"logDir":"/a","error":null,"partitions":[{"partition":"t-0","size":300,"offsetLag":0,"isFuture":false},{"partition":"t-1","size":300,"offsetLag":0,"isFuture":false},{"partition":"t-2","size":300,"offsetLag":0,"isFuture":false}]},{"logDir":"/b","error":null,"partitions":[]}]},{"broker":2,"logDirs":[{"logDir":"/a","error":null,"partitions":[{"partition":"t-0","size":300,"offsetLag":0,"isFuture":false},{"partition":"t-1","size":300,"offsetLag":0,"isFuture":false}]},{"logDir":"/b","error":"org.apache.kafka.common.errors.KafkaStorageException","partitions":[]}]},{"broker":3,"logDirs":[{"logDir":"/a","error":null,"partitions":[{"partition":"t-2","size":300,"offsetLag":0,"isFuture":false}]}]}],"version":1}
"#;

const CURRENT: &str = r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","any"]},{"topic":"t","partition":1,"replicas":[2,1],"log_dirs":["any","any"]},{"topic":"t","partition":2,"replicas":[1,3],"log_dirs":["any","any"]},{"topic":"t","partition":3,"replicas":[2,3],"log_dirs":["any","any"]}]}"#;

#[test]
fn cli_plan_from_kafka_log_dirs_output() {
    let dir = tempfile::tempdir().unwrap();
    let logdirs = write(dir.path(), "logdirs.txt", LOG_DIRS);
    let current = write(dir.path(), "current.json", CURRENT);
    let racks = write(dir.path(), "racks.txt", "1 r1\n2 r2\n3 r3\n");
    let snap = dir.path().join("snap.json");
    let o = run([
        "snapshot",
        "--reassignment-json",
        &current,
        "--log-dirs",
        &logdirs,
        "--broker-racks",
        &racks,
        "--output",
        snap.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = std::fs::read_to_string(&snap).unwrap();
    assert!(
        s.contains("\"offline\":true") || s.contains("\"offline\": true"),
        "{s}"
    );
    // t-3's replica on broker 2 is listed in no dir: it is in the offline /b.
    let cluster =
        kafka_replan::formats::snapshot::parse_snapshot("snap", s.as_bytes().to_vec()).unwrap();
    let t3 = &cluster.partitions[3];
    assert_eq!(t3.log_dirs[0].as_deref(), Some("/b"));
    let out = dir.path().join("plan.json");
    let o = plan_cli(snap.to_str().unwrap(), &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan_text = std::fs::read_to_string(&out).unwrap();
    let parsed =
        kafka_replan::formats::reassignment::parse_reassignment_json("plan", &plan_text).unwrap();
    let t3 = parsed
        .entries
        .iter()
        .find(|e| e.tp == TopicPartition::new("t", 3))
        .expect("t-3 leaves the offline dir");
    assert!(!t3.replicas.contains(&2), "{plan_text}");
    // Broker 1's /a holds 900 B and /b nothing: dirs get balanced.
    assert!(plan_text.contains("\"/b\""), "{plan_text}");
}

fn bad_input(snapshot_text: &str, extra: &[&str], message: &str) {
    let dir = tempfile::tempdir().unwrap();
    let snap = write(dir.path(), "s.json", snapshot_text);
    let out = dir.path().join("plan.json");
    let o = plan_cli(&snap, &out, extra);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(message), "{}", stderr(&o));
    assert!(!out.exists(), "an output file was written");
}

const BROKERS: &str = r#"{"id":1,"log_dirs":[{"path":"/a","capacity_bytes":1000},{"path":"/b"}]},{"id":2,"log_dirs":[{"path":"/a"}]}"#;

#[test]
fn cli_bad_dirs_exit_2_naming_broker_and_path() {
    bad_input(
        &format!(
            r#"{{"brokers":[{BROKERS}],"partitions":[{{"topic":"t","partition":0,"replicas":[1,2],"size_bytes":5,"log_dirs":["/c","/a"]}}]}}"#
        ),
        &[],
        "which broker 1 does not list",
    );
    bad_input(
        r#"{"brokers":[{"id":1,"log_dirs":[{"path":"/a"},{"path":"/a"}]},{"id":2}],"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"size_bytes":5}]}"#,
        &[],
        "broker 1 lists log dir /a more than once",
    );
    bad_input(
        &format!(
            r#"{{"brokers":[{BROKERS}],"partitions":[{{"topic":"t","partition":0,"replicas":[1,2],"size_bytes":5000,"log_dirs":["/a","/a"]}}]}}"#
        ),
        &[],
        "broker 1 log dir /a: its replicas hold 5000 bytes, more than its capacity of 1000 bytes",
    );
    let fine = format!(
        r#"{{"brokers":[{BROKERS}],"partitions":[{{"topic":"t","partition":0,"replicas":[1,2],"size_bytes":5,"log_dirs":["/a","/a"]}}]}}"#
    );
    bad_input(
        &fine,
        &["--drain-log-dir", "1:/zz"],
        "broker 1 has no log dir /zz (its log dirs: /a, /b)",
    );
    bad_input(
        &fine,
        &["--drain-log-dir", "9:/a"],
        "broker 9 is not in the cluster",
    );
    bad_input(&fine, &["--drain-log-dir", "nope"], "expected BROKER:PATH");
}

#[test]
fn cli_without_dirs_writes_any_everywhere() {
    let mut cluster = jbod_cluster();
    for b in cluster.brokers.iter_mut() {
        b.log_dirs.clear();
    }
    for p in cluster.partitions.iter_mut() {
        p.log_dirs.clear();
    }
    // Unbalance the brokers so the plan moves something.
    for p in cluster.partitions.iter_mut().take(60) {
        p.replicas[0] = if p.replicas.contains(&1) {
            p.replicas[0]
        } else {
            1
        };
    }
    let dir = tempfile::tempdir().unwrap();
    let snap = write(dir.path(), "s.json", &write_snapshot(&cluster));
    let out = dir.path().join("plan.json");
    let o = plan_cli(&snap, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("\"any\"") && !text.contains("\"/d"));
    assert!(!stdout(&o).contains("log dirs:"));
}

#[test]
fn partitions_outside_the_movable_topics_keep_their_dirs() {
    let cluster = jbod_cluster();
    let config = PlanConfig {
        movable: Some(BTreeSet::from(["t0".to_string(), "t1".to_string()])),
        ..PlanConfig::default()
    };
    let o = plan(&cluster, &config).unwrap();
    check(&cluster, &config, &o);
    let d = dirs_of(&o);
    assert!(!d.plan.is_empty());
    assert!(
        d.plan.keys().all(|tp| tp.topic == "t0" || tp.topic == "t1"),
        "{:?}",
        d.plan.keys().collect::<Vec<_>>()
    );
    // The dirs still end closer to each other than they started.
    let (before, after) = d.worst_ratios();
    assert!(after.unwrap() < before.unwrap());
}
