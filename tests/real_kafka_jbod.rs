//! Log-dir (JBOD) moves on the real Kafka cluster, whose brokers have two log directories
//! each (`data-0`, `data-1`): (a) `kafka-replan apply` of a reassignment JSON with explicit
//! `log_dirs` (intra-broker moves, and a new replica placed in a named dir) puts the bytes in
//! the planned dirs and leaves no throttle, the log-dir one included; (b) Kafka's own
//! `kafka-reassign-partitions --execute` runs the same kind of JSON unchanged and its
//! `--verify` agrees with `kafka-replan verify`; (c) draining a dir of a broker leaves it
//! empty. KRaft brokers support several log dirs from Kafka 3.7 (KIP-858).

mod support;

use std::collections::BTreeMap;
use std::sync::Mutex;

use support::apply::{apply_args, assert_no_throttles, serial, write_plan};
use support::cli::{run as replan, run_ok as replan_ok};
use support::kafka::{broker_log_dirs, targets, unique_topic, Cluster, Target};
use support::versions::{self, KafkaUnderTest, Mode};

static SERIAL: Mutex<()> = Mutex::new(());

const LOG_DIR_RATE: &str = "replica.alter.log.dirs.io.max.bytes.per.second";

/// Whether the cluster can hold replicas in several log dirs per broker.
fn jbod_supported() -> bool {
    if KafkaUnderTest::from_env().mode == Mode::ZooKeeper {
        return true;
    }
    versions::requires(">=3.7", "several log dirs per KRaft broker (KIP-858)")
}

/// One replica's entries in `kafka-log-dirs --describe`: (dir, isFuture, size).
type Placement = BTreeMap<(String, i32), Vec<(String, bool, u64)>>;

/// Where every replica of `topics` is, with sizes; and every broker's dirs.
fn placement(cluster: &Cluster, topics: &[&str]) -> (Placement, BTreeMap<i32, Vec<String>>) {
    let out = cluster.describe_log_dirs(topics, &[]);
    let line = out
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in kafka-log-dirs output:\n{out}"));
    let json: serde_json::Value = serde_json::from_str(line).expect("kafka-log-dirs JSON");
    let mut at = Placement::new();
    for broker in json["brokers"].as_array().expect("brokers") {
        let id = broker["broker"].as_i64().expect("broker") as i32;
        for dir in broker["logDirs"].as_array().expect("logDirs") {
            let path = dir["logDir"].as_str().expect("logDir").to_string();
            for p in dir["partitions"].as_array().into_iter().flatten() {
                at.entry((p["partition"].as_str().expect("partition").to_string(), id))
                    .or_default()
                    .push((
                        path.clone(),
                        p["isFuture"].as_bool().expect("isFuture"),
                        p["size"].as_u64().expect("size"),
                    ));
            }
        }
    }
    (at, broker_log_dirs(&out))
}

/// The dir a replica is in now (panics if it is not in exactly one, without a future copy).
fn dir_of(at: &Placement, topic: &str, partition: i32, broker: i32) -> String {
    let key = (format!("{topic}-{partition}"), broker);
    match at.get(&key).map(Vec::as_slice) {
        Some([(dir, false, _)]) => dir.clone(),
        other => panic!("{key:?}: expected one current replica, found {other:?}"),
    }
}

/// The broker's other dir.
fn other_dir(dirs: &BTreeMap<i32, Vec<String>>, broker: i32, dir: &str) -> String {
    dirs[&broker]
        .iter()
        .find(|d| d.as_str() != dir)
        .unwrap_or_else(|| panic!("broker {broker} has one log dir: {:?}", dirs[&broker]))
        .clone()
}

/// The dir of `broker` holding most of the topic's replicas (of its first `partitions`):
/// the one a drain test treats as the failing disk.
fn fullest_dir(at: &Placement, topic: &str, partitions: usize, broker: i32) -> String {
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for p in 0..partitions as i32 {
        *count.entry(dir_of(at, topic, p, broker)).or_default() += 1;
    }
    count
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(d, _)| d)
        .expect("the broker holds replicas of the topic")
}

/// Polls until every explicit dir of `targets` holds its replica (no future copy left) with
/// at least `min_bytes`, and panics with the placement after a minute.
fn assert_placed(cluster: &Cluster, topic: &str, plan: &[Target], min_bytes: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (at, _) = placement(cluster, &[topic]);
        let wrong: Vec<String> = plan
            .iter()
            .flat_map(|t| {
                t.explicit_log_dirs()
                    .filter(|(b, d)| {
                        let key = (format!("{}-{}", t.topic, t.partition), *b);
                        !matches!(at.get(&key).map(Vec::as_slice),
                            Some([(dir, false, size)]) if dir == d && *size >= min_bytes)
                    })
                    .map(|(b, d)| format!("{}-{}-{b} not (only) in {d}", t.topic, t.partition))
                    .collect::<Vec<_>>()
            })
            .collect();
        if wrong.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{wrong:?}\nplacement: {at:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

fn assert_no_log_dir_throttle(cluster: &Cluster) {
    for b in &cluster.broker_ids {
        let out = cluster.tool_ok(
            "configs",
            &[
                "--bootstrap-server",
                &cluster.bootstrap,
                "--describe",
                "--entity-type",
                "brokers",
                "--entity-name",
                &b.to_string(),
            ],
        );
        assert!(
            !out.contains(LOG_DIR_RATE),
            "broker {b} still has the log-dir throttle:\n{out}"
        );
    }
}

#[test]
fn apply_moves_replicas_between_dirs_and_into_a_named_dir_then_clears_throttles() {
    let _serial = serial(&SERIAL);
    let cluster = Cluster::from_env();
    if !jbod_supported() {
        return;
    }
    let topic = unique_topic("jbod-apply");
    let before: &[&[i32]] = &[&[0, 1], &[1, 2], &[2, 0]];
    let _guard = cluster.topic_with_data(&topic, before, 6_000);
    let (at, dirs) = placement(&cluster, &[&topic]);
    // p0 and p2 stay on their brokers, one replica each moving to the broker's other dir;
    // p1 moves its replica from broker 2 to broker 3, into a dir named explicitly.
    let d00 = other_dir(&dirs, 0, &dir_of(&at, &topic, 0, 0));
    let d22 = other_dir(&dirs, 2, &dir_of(&at, &topic, 2, 2));
    let d3 = dirs[&3][1].clone();
    let plan = vec![
        Target::new(&topic, 0, &[0, 1]).with_log_dir(0, &d00),
        Target::new(&topic, 1, &[1, 3]).with_log_dir(3, &d3),
        Target::new(&topic, 2, &[2, 0]).with_log_dir(2, &d22),
    ];
    let tmp = tempfile::tempdir().expect("temp dir");
    let plan_path = write_plan(tmp.path(), "plan.json", &plan);
    let rollback = write_plan(tmp.path(), "rollback.json", &targets(&topic, before));
    let journal = tmp.path().join("journal");
    let mut args = apply_args(&cluster, &plan_path, &rollback, &journal, "50MB/s");
    args.extend(["--log-dir-throttle".to_string(), "50MB/s".to_string()]);
    let out = replan(&args);
    assert!(
        out.status.success(),
        "apply failed:\n{}",
        support::cli::describe(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for (p, b) in [(0, 0), (1, 3), (2, 2)] {
        assert!(
            stdout.contains(&format!(
                "Reassignment of replica {topic}-{p}-{b} completed successfully."
            )),
            "{stdout}"
        );
    }
    // About 2 MB per partition went into each planned dir.
    assert_placed(&cluster, &topic, &plan, 1_000_000);
    assert_no_throttles(&cluster, &[&topic]);
    assert_no_log_dir_throttle(&cluster);
    let verify = replan_ok(&[
        "verify",
        "--bootstrap-server",
        &cluster.bootstrap,
        "--plan",
        &plan_path,
        "--journal",
        &journal.to_string_lossy(),
    ]);
    assert!(
        verify.contains(&format!(
            "Reassignment of replica {topic}-0-0 completed successfully."
        )),
        "{verify}"
    );
}

#[test]
fn kafkas_tool_executes_our_json_with_log_dirs_and_verify_agrees() {
    let _serial = serial(&SERIAL);
    let cluster = Cluster::from_env();
    if !jbod_supported() {
        return;
    }
    let topic = unique_topic("jbod-kafka-tool");
    let before: &[&[i32]] = &[&[0, 1], &[1, 2]];
    let _guard = cluster.topic_with_data(&topic, before, 2_000);
    let (at, dirs) = placement(&cluster, &[&topic]);
    let d1 = other_dir(&dirs, 1, &dir_of(&at, &topic, 0, 1));
    let d3 = dirs[&3][0].clone();
    let plan = [
        Target::new(&topic, 0, &[0, 1]).with_log_dir(1, &d1),
        Target::new(&topic, 1, &[3, 2]).with_log_dir(3, &d3),
    ];
    // The JSON as kafka-replan emits it.
    let json = kafka_replan::formats::reassignment::ReassignmentJson {
        entries: plan
            .iter()
            .map(|t| kafka_replan::formats::reassignment::ReassignmentEntry {
                tp: kafka_replan::model::TopicPartition::new(t.topic.clone(), t.partition),
                replicas: t.replicas.clone(),
                log_dirs: t.log_dirs.clone(),
            })
            .collect(),
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("plan.json");
    std::fs::write(
        &path,
        kafka_replan::formats::reassignment::emit_reassignment_json(&json),
    )
    .expect("write plan");
    let done = cluster.execute_and_verify_reassignment(&path, std::time::Duration::from_secs(90));
    assert!(
        done.execute.contains(&format!(
            "Successfully started moving log directory to {d1} for replica {topic}-0 with broker 1"
        )),
        "{}",
        done.execute
    );
    let ours = replan_ok(&[
        "verify",
        "--bootstrap-server",
        &cluster.bootstrap,
        "--plan",
        &path.to_string_lossy(),
    ]);
    for line in ours.lines() {
        assert!(
            done.verify.contains(line),
            "kafka-replan verify says {line:?}; Kafka's --verify:\n{}",
            done.verify
        );
    }
    assert!(
        ours.contains(&format!(
            "Reassignment of replica {topic}-1-3 completed successfully."
        )),
        "{ours}"
    );
}

#[test]
fn draining_a_dir_of_a_broker_leaves_it_empty() {
    let _serial = serial(&SERIAL);
    let cluster = Cluster::from_env();
    if !jbod_supported() {
        return;
    }
    let topic = unique_topic("jbod-drain");
    let before: &[&[i32]] = &[&[1, 0], &[1, 2], &[2, 1], &[3, 1]];
    let _guard = cluster.topic_with_data(&topic, before, 4_000);
    // The dir of broker 1 holding most of the topic's replicas is the failing disk.
    let (at, dirs) = placement(&cluster, &[&topic]);
    let failing = fullest_dir(&at, &topic, before.len(), 1);
    let keep = other_dir(&dirs, 1, &failing);
    // Every replica in that dir, of any topic, goes to the other dir of broker 1.
    let (all, _) = placement(&cluster, &[]);
    let described: BTreeMap<String, Vec<i32>> = all
        .iter()
        .filter(|((_, b), v)| *b == 1 && v.iter().any(|(d, _, _)| *d == failing))
        .map(|((tp, _), _)| tp.clone())
        .map(|tp| {
            let (t, p) = tp.rsplit_once('-').expect("topic-partition");
            let d = cluster.describe_topic(t);
            let replicas = d.partitions[&p.parse::<i32>().expect("partition")]
                .replicas
                .clone();
            (tp, replicas)
        })
        .collect();
    assert!(described.len() >= 2, "{failing} holds {described:?}");
    let plan: Vec<Target> = described
        .iter()
        .map(|(tp, replicas)| {
            let (t, p) = tp.rsplit_once('-').expect("topic-partition");
            Target::new(t, p.parse().expect("partition"), replicas).with_log_dir(1, &keep)
        })
        .collect();
    let unchanged: Vec<Target> = described
        .iter()
        .map(|(tp, replicas)| {
            let (t, p) = tp.rsplit_once('-').expect("topic-partition");
            Target::new(t, p.parse().expect("partition"), replicas)
        })
        .collect();
    let tmp = tempfile::tempdir().expect("temp dir");
    let plan_path = write_plan(tmp.path(), "drain.json", &plan);
    let rollback = write_plan(tmp.path(), "rollback.json", &unchanged);
    let journal = tmp.path().join("journal");
    let out = replan(apply_args(
        &cluster, &plan_path, &rollback, &journal, "50MB/s",
    ));
    assert!(
        out.status.success(),
        "drain failed:\n{}",
        support::cli::describe(&out)
    );
    let (after, _) = placement(&cluster, &[]);
    let left: Vec<&(String, i32)> = after
        .iter()
        .filter(|((_, b), v)| *b == 1 && v.iter().any(|(d, _, _)| *d == failing))
        .map(|(k, _)| k)
        .collect();
    assert!(
        left.is_empty(),
        "{failing} of broker 1 still holds {left:?}"
    );
    for tp in described.keys() {
        let (t, p) = tp.rsplit_once('-').expect("topic-partition");
        assert_eq!(
            dir_of(&after, t, p.parse().expect("partition"), 1),
            keep,
            "{tp}"
        );
    }
    assert_no_throttles(&cluster, &[&topic]);
    assert_no_log_dir_throttle(&cluster);
}

/// The whole workflow on a failing disk: `kafka-replan plan` reads the live cluster's log
/// dirs and drains one (`--drain-log-dir`), `apply` runs the plan, and the dir holds none of
/// the topic's replicas afterwards, every replica where the plan put it.
#[test]
fn plan_from_the_live_cluster_drains_a_dir_and_apply_empties_it() {
    let _serial = serial(&SERIAL);
    let cluster = Cluster::from_env();
    if !jbod_supported() {
        return;
    }
    let topic = unique_topic("jbod-plan-drain");
    let before: &[&[i32]] = &[&[1, 0], &[1, 2], &[2, 1], &[3, 1]];
    let _guard = cluster.topic_with_data(&topic, before, 4_000);
    let (at, _) = placement(&cluster, &[&topic]);
    let failing = fullest_dir(&at, &topic, before.len(), 1);

    let tmp = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| tmp.path().join(name).to_string_lossy().into_owned();
    let drain = format!("1:{failing}");
    let out = replan_ok(&[
        "plan",
        "--bootstrap-server",
        cluster.bootstrap.as_str(),
        "--topics",
        topic.as_str(),
        "--drain-log-dir",
        drain.as_str(),
        "--output",
        path("plan.json").as_str(),
        "--rollback",
        path("rollback.json").as_str(),
    ]);
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("plan.json")).expect("plan written"))
            .expect("plan JSON");
    let entries = plan["partitions"].as_array().expect("partitions");
    // Every replica of broker 1 that was in the failing dir gets an explicit other dir.
    for p in 0..before.len() as i32 {
        if dir_of(&at, &topic, p, 1) != failing {
            continue;
        }
        let entry = entries
            .iter()
            .find(|e| e["partition"] == p)
            .unwrap_or_else(|| panic!("{topic}-{p} is not in the plan:\n{out}\n{plan}"));
        let replicas = entry["replicas"].as_array().expect("replicas");
        if let Some(i) = replicas.iter().position(|b| b == 1) {
            let dir = entry["log_dirs"][i].as_str().expect("log dir");
            assert!(dir != "any" && dir != failing, "{entry}");
        }
    }

    let journal = tmp.path().join("journal");
    let out = replan(apply_args(
        &cluster,
        &path("plan.json"),
        &path("rollback.json"),
        &journal,
        "50MB/s",
    ));
    assert!(
        out.status.success(),
        "apply failed:\n{}",
        support::cli::describe(&out)
    );
    let (after, _) = placement(&cluster, &[&topic]);
    let left: Vec<&(String, i32)> = after
        .iter()
        .filter(|((_, b), v)| *b == 1 && v.iter().any(|(d, _, _)| *d == failing))
        .map(|(k, _)| k)
        .collect();
    assert!(
        left.is_empty(),
        "{failing} of broker 1 still holds {left:?}"
    );
    let described = cluster.describe_topic(&topic);
    for e in entries {
        let p = e["partition"].as_i64().expect("partition") as i32;
        let replicas: Vec<i32> = e["replicas"]
            .as_array()
            .expect("replicas")
            .iter()
            .map(|b| b.as_i64().expect("broker") as i32)
            .collect();
        assert_eq!(described.partitions[&p].replicas, replicas, "{topic}-{p}");
        for (b, dir) in replicas
            .iter()
            .zip(e["log_dirs"].as_array().expect("log_dirs"))
        {
            let dir = dir.as_str().expect("log dir");
            if dir != "any" {
                assert_eq!(dir_of(&after, &topic, p, *b), dir, "{topic}-{p} on {b}");
            }
        }
    }
    assert_no_throttles(&cluster, &[&topic]);
    assert_no_log_dir_throttle(&cluster);
}
