//! `kafka-replan apply` on the real Kafka cluster: a throttled run copies no faster than the
//! throttle, throttles only the moving replicas and leaves no throttle behind, ends with the
//! planned replicas and leaders; a killed run is finished by `apply --resume` or rolled back
//! by `cancel`; and it reaches the same replicas as Kafka's own tool for the same plan.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use support::apply::{
    apply_args, assert_no_throttles, batch_copy_times, entries, in_flight, read_journal, serial,
    spawn, throttle_configs, wait_for_phase, write_plan, KillOnDrop,
};
use support::cli::{command, describe, run_ok as replan_ok};
use support::kafka::{targets, unique_topic, Cluster};

static SERIAL: Mutex<()> = Mutex::new(());

/// Waits until `kafka-topics --describe` shows exactly `want` (replicas in order) with the
/// first replica leading, and panics with the description otherwise.
fn assert_replicas_and_leaders(cluster: &Cluster, topic: &str, want: &[&[i32]]) {
    let ok = |d: &support::kafka::TopicDescription| {
        want.iter().enumerate().all(|(p, r)| {
            d.partitions
                .get(&(p as i32))
                .is_some_and(|s| s.replicas == *r && s.leader == Some(r[0]))
        })
    };
    let d = cluster.wait_for_topic(topic, Duration::from_secs(30), ok);
    assert!(
        ok(&d),
        "{topic}: wanted replicas (first = leader) {want:?}\n{}",
        d.text
    );
}

fn assert_replicas(cluster: &Cluster, topic: &str, want: &[&[i32]]) {
    let ok = |d: &support::kafka::TopicDescription| {
        want.iter().enumerate().all(|(p, r)| {
            d.partitions
                .get(&(p as i32))
                .is_some_and(|s| s.replicas == *r)
        })
    };
    let d = cluster.wait_for_topic(topic, Duration::from_secs(30), ok);
    assert!(ok(&d), "{topic}: wanted replicas {want:?}\n{}", d.text);
}

/// (a) + (f): two partitions of ~40 MB whose only new replicas are on broker 3, so broker
/// 3's inbound throttle bounds the whole copy.
#[test]
fn throttled_apply_copies_at_the_throttle_and_leaves_no_throttle() {
    let _serial = serial(&SERIAL);
    let cluster = Cluster::from_env();
    let topic = unique_topic("apply-rate");
    let before: &[&[i32]] = &[&[0, 1], &[1, 2]];
    let after: &[&[i32]] = &[&[3, 0], &[1, 3]];
    let _guard = cluster.topic_with_data(&topic, before, 80_000);
    let throttle: u64 = 5_000_000;

    let dir = tempfile::tempdir().expect("temp dir");
    let plan = write_plan(dir.path(), "plan.json", &targets(&topic, after));
    let rollback = write_plan(dir.path(), "rollback.json", &targets(&topic, before));
    let snap = dir.path().join("snap.json").to_string_lossy().into_owned();
    replan_ok(&[
        "snapshot",
        "--bootstrap-server",
        &cluster.bootstrap,
        "--topics",
        &format!("^{topic}$"),
        "--output",
        &snap,
    ]);
    let journal = dir.path().join("journal");

    let started = Instant::now();
    let (child, stdout, stderr) = spawn(
        &apply_args(&cluster, &plan, &rollback, &journal, "5MB/s"),
        dir.path(),
        "apply",
    );
    let mut child = KillOnDrop(child);

    // While it runs: only the moving partitions' replicas are throttled, the leader list
    // with the replicas before the move, the follower list with the added ones (on 3).
    let allowed_leader: BTreeSet<String> = ["0:0", "0:1", "1:1", "1:2"].map(String::from).into();
    let allowed_follower: BTreeSet<String> = ["0:3", "1:3"].map(String::from).into();
    let mut seen_follower = BTreeSet::new();
    let mut seen_rate_on = BTreeSet::new();
    let status = loop {
        if let Some(s) = child.0.try_wait().expect("wait for apply") {
            break s;
        }
        for (k, v) in throttle_configs(&cluster, "topics", &topic) {
            let e = entries(&v);
            match k.as_str() {
                "leader.replication.throttled.replicas" => assert!(
                    e.is_subset(&allowed_leader),
                    "leader throttled replicas {e:?} beyond {allowed_leader:?}"
                ),
                "follower.replication.throttled.replicas" => {
                    assert!(
                        e.is_subset(&allowed_follower),
                        "follower throttled replicas {e:?} beyond {allowed_follower:?}"
                    );
                    seen_follower.extend(e);
                }
                other => panic!("unexpected topic config {other}={v}"),
            }
        }
        for b in [3, 0] {
            for (k, v) in throttle_configs(&cluster, "brokers", &b.to_string()) {
                assert!(
                    k == "leader.replication.throttled.rate"
                        || k == "follower.replication.throttled.rate",
                    "broker {b}: unexpected {k}={v}"
                );
                assert_eq!(v, throttle.to_string(), "broker {b}: {k}");
                seen_rate_on.insert(b);
            }
        }
    };
    let wall_s = started.elapsed().as_secs_f64();
    let out_text = std::fs::read_to_string(&stdout).unwrap_or_default();
    let err_text = std::fs::read_to_string(&stderr).unwrap_or_default();
    assert!(
        status.success(),
        "apply failed ({status}):\n{out_text}\n{err_text}"
    );
    assert_eq!(
        seen_follower, allowed_follower,
        "the follower throttle was never seen set while copying"
    );
    assert!(
        seen_rate_on.contains(&3),
        "the destination broker's rate was never seen set"
    );
    for p in 0..2 {
        assert!(
            out_text.contains(&format!(
                "Reassignment of partition {topic}-{p} is completed."
            )),
            "{out_text}"
        );
    }
    assert!(out_text.contains("applied: "), "{out_text}");

    // (f) the planned replicas, in order, with the first one leading.
    assert_replicas_and_leaders(&cluster, &topic, after);
    assert_no_throttles(&cluster, &[&topic]);
    assert!(!in_flight(&cluster, &topic));

    let j = read_journal(&journal).expect("journal");
    assert_eq!(j["phase"], "done", "{j}");
    assert!(j["ledger"].is_null(), "{j}");
    let times = batch_copy_times(&j);
    let bytes: u64 = times.iter().map(|t| t.2).sum();
    let copy_s: f64 = times.iter().map(|t| t.1).sum();
    assert!(
        bytes >= 60_000_000,
        "journal bytes {bytes}: less than produced"
    );
    for (k, secs, b) in &times {
        let rate = *b as f64 / secs.max(1e-3);
        eprintln!("batch {k}: {b} bytes in {secs:.1} s = {rate:.0} B/s");
        assert!(
            rate <= 1.2 * throttle as f64,
            "batch {k} copied {b} bytes in {secs:.1} s = {rate:.0} B/s, above 1.2 x {throttle}"
        );
    }

    let sim = replan_ok(&[
        "simulate",
        "--plan",
        &plan,
        "--snapshot",
        &snap,
        "--throttle",
        "5MB/s",
    ]);
    let simulate_s: f64 = sim
        .lines()
        .find(|l| l.starts_with("estimate:"))
        .and_then(|l| l.split('(').nth(1))
        .and_then(|s| s.split(" s,").next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no estimate in simulate output:\n{sim}"));
    eprintln!(
        "APPLY-MEASUREMENT bytes={bytes} throttle={throttle} wall_s={wall_s:.1} copy_s={copy_s:.1} n_over_t_s={:.1} simulate_s={simulate_s:.0}",
        bytes as f64 / throttle as f64
    );
}

/// (b): SIGKILL while copying leaves the journal and the throttles; `apply --resume` with
/// only the journal finishes: planned replicas and leaders, no throttle left.
#[test]
fn killed_apply_is_finished_by_resume() {
    let _serial = serial(&SERIAL);
    let cluster = Cluster::from_env();
    let topic = unique_topic("apply-resume");
    let before: &[&[i32]] = &[&[0, 1], &[1, 0]];
    let after: &[&[i32]] = &[&[2, 1], &[3, 0]];
    let _guard = cluster.topic_with_data(&topic, before, 30_000);

    let dir = tempfile::tempdir().expect("temp dir");
    let plan = write_plan(dir.path(), "plan.json", &targets(&topic, after));
    let rollback = write_plan(dir.path(), "rollback.json", &targets(&topic, before));
    let journal = dir.path().join("journal");
    let (child, _, _) = spawn(
        &apply_args(&cluster, &plan, &rollback, &journal, "2MB/s"),
        dir.path(),
        "apply",
    );
    let mut child = KillOnDrop(child);
    wait_for_phase(&journal, "copying", &mut child.0, Duration::from_secs(60));
    child.0.kill().expect("SIGKILL apply");
    child.0.wait().expect("reap apply");

    let j = read_journal(&journal).expect("journal");
    assert_eq!(j["phase"], "copying", "{j}");
    assert!(!j["ledger"].is_null(), "the throttles are recorded: {j}");

    let out = support::cli::run([
        "apply",
        "--resume",
        "--journal",
        &journal.to_string_lossy(),
        "--bootstrap-server",
        &cluster.bootstrap,
        "--poll-interval",
        "0.5",
        "--progress",
        "plain",
    ]);
    assert!(out.status.success(), "resume failed:\n{}", describe(&out));
    assert_replicas_and_leaders(&cluster, &topic, after);
    assert_no_throttles(&cluster, &[&topic]);
    assert!(!in_flight(&cluster, &topic));
    assert_eq!(read_journal(&journal).expect("journal")["phase"], "done");
}

/// (c): SIGKILL while copying, then `cancel --journal`: nothing in flight, the replicas
/// before the move (in order), no throttle left.
#[test]
fn cancel_rolls_back_a_killed_apply() {
    let _serial = serial(&SERIAL);
    let cluster = Cluster::from_env();
    let topic = unique_topic("apply-cancel");
    let before: &[&[i32]] = &[&[0, 1], &[1, 2]];
    let after: &[&[i32]] = &[&[3, 2], &[2, 3]];
    let _guard = cluster.topic_with_data(&topic, before, 30_000);

    let dir = tempfile::tempdir().expect("temp dir");
    let plan = write_plan(dir.path(), "plan.json", &targets(&topic, after));
    let rollback = write_plan(dir.path(), "rollback.json", &targets(&topic, before));
    let journal = dir.path().join("journal");
    let (child, _, _) = spawn(
        &apply_args(&cluster, &plan, &rollback, &journal, "1MB/s"),
        dir.path(),
        "apply",
    );
    let mut child = KillOnDrop(child);
    wait_for_phase(&journal, "copying", &mut child.0, Duration::from_secs(60));
    child.0.kill().expect("SIGKILL apply");
    child.0.wait().expect("reap apply");
    assert!(
        in_flight(&cluster, &topic),
        "the killed run's moves are in flight"
    );

    let out = replan_ok(&[
        "cancel",
        "--journal",
        &journal.to_string_lossy(),
        "--bootstrap-server",
        &cluster.bootstrap,
    ]);
    eprintln!("cancel:\n{out}");
    assert!(!in_flight(&cluster, &topic));
    let status = replan_ok(&["status", "--bootstrap-server", &cluster.bootstrap]);
    assert!(!status.contains(&format!("{topic}-")), "{status}");
    assert_replicas(&cluster, &topic, before);
    assert_no_throttles(&cluster, &[&topic]);
    assert_eq!(
        read_journal(&journal).expect("journal")["phase"],
        "cancelled"
    );
}

/// (e): the same plan for two identical topics, one run by Kafka's kafka-reassign-partitions,
/// the other by `apply`: the same replica lists in the end.
#[test]
fn apply_and_kafka_tool_reach_the_same_replicas() {
    let _serial = serial(&SERIAL);
    let cluster = Cluster::from_env();
    let before: &[&[i32]] = &[&[0, 1], &[1, 2], &[2, 3]];
    let after: &[&[i32]] = &[&[2, 3], &[0, 3], &[1, 0]];
    let by_kafka = unique_topic("apply-same-kafka");
    let by_apply = unique_topic("apply-same-replan");
    let _g1 = cluster.topic_with_data(&by_kafka, before, 3_000);
    let _g2 = cluster.topic_with_data(&by_apply, before, 3_000);

    let dir = tempfile::tempdir().expect("temp dir");
    let kafka_plan = write_plan(dir.path(), "kafka.json", &targets(&by_kafka, after));
    cluster.execute_and_verify_reassignment(
        std::path::Path::new(&kafka_plan),
        Duration::from_secs(120),
    );

    let plan = write_plan(dir.path(), "plan.json", &targets(&by_apply, after));
    let rollback = write_plan(dir.path(), "rollback.json", &targets(&by_apply, before));
    let journal = dir.path().join("journal");
    let mut args = apply_args(&cluster, &plan, &rollback, &journal, "10MB/s");
    // Machine-readable progress: one JSON object per stdout line, the last one "done".
    let mode = args
        .iter()
        .position(|a| a == "--progress")
        .expect("--progress")
        + 1;
    args[mode] = "json".into();
    let out = command().args(&args).output().expect("run apply");
    assert!(out.status.success(), "apply failed:\n{}", describe(&out));
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    assert!(
        events.iter().any(|e| e["event"] == "progress"),
        "{events:?}"
    );
    let last = events.last().expect("events");
    assert_eq!(last["event"], "done", "{last}");
    assert_eq!(last["complete"], true, "{last}");

    assert_replicas(&cluster, &by_kafka, after);
    assert_replicas_and_leaders(&cluster, &by_apply, after);
    let replicas = |topic: &str| -> BTreeMap<i32, Vec<i32>> {
        cluster
            .describe_topic(topic)
            .partitions
            .into_iter()
            .map(|(p, s)| (p, s.replicas))
            .collect()
    };
    assert_eq!(replicas(&by_kafka), replicas(&by_apply));
    assert_no_throttles(&cluster, &[&by_apply]);
}
