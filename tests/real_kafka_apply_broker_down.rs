//! `kafka-replan apply` when the destination broker of the running batch goes down: after
//! --broker-down-grace the run rolls the batch back, restores the throttles and exits
//! non-zero; once the broker is back, `apply --resume` finishes. Its own test binary because
//! it stops a broker of the shared cluster (test binaries run one after another).

mod support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use support::apply::{
    apply_args, assert_no_throttles, in_flight, read_journal, serial, spawn, throttle_configs,
    wait_for_phase, write_plan, KillOnDrop,
};
use support::cli::{describe, run as replan};
use support::kafka::{targets, unique_topic, Cluster};

static SERIAL: Mutex<()> = Mutex::new(());

/// Starts the broker again even if the test fails half way.
struct Restart<'a> {
    cluster: &'a Cluster,
    broker: i32,
    armed: bool,
}

impl Drop for Restart<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.cluster.start_broker(self.broker);
        }
    }
}

#[test]
fn destination_broker_down_stops_the_run_and_resume_finishes_it() {
    let _serial = serial(&SERIAL);
    let cluster = Cluster::from_env();
    let topic = unique_topic("apply-down");
    let before: &[&[i32]] = &[&[0, 1], &[1, 0]];
    let after: &[&[i32]] = &[&[3, 0], &[1, 3]];
    let _guard = cluster.topic_with_data(&topic, before, 30_000);

    let dir = tempfile::tempdir().expect("temp dir");
    let plan = write_plan(dir.path(), "plan.json", &targets(&topic, after));
    let rollback = write_plan(dir.path(), "rollback.json", &targets(&topic, before));
    let journal = dir.path().join("journal");
    let mut args = apply_args(&cluster, &plan, &rollback, &journal, "1MB/s");
    args.extend(["--broker-down-grace".to_string(), "5".to_string()]);
    let (child, _, stderr) = spawn(&args, dir.path(), "apply");
    let mut child = KillOnDrop(child);
    wait_for_phase(&journal, "copying", &mut child.0, Duration::from_secs(60));

    let mut restart = Restart {
        cluster: &cluster,
        broker: 3,
        armed: true,
    };
    cluster.stop_broker(3);
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(s) = child.0.try_wait().expect("wait for apply") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "apply still running 180 s after broker 3 stopped; journal: {:?}",
            read_journal(&journal)
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let err_text = std::fs::read_to_string(&stderr).unwrap_or_default();
    assert!(!status.success(), "apply exited 0:\n{err_text}");
    assert!(err_text.contains("has been down"), "{err_text}");
    let j = read_journal(&journal).expect("journal");
    assert_eq!(j["phase"], "stopped", "{j}\n{err_text}");
    // Only broker 3's own rates (it is down: its configs are reached through it) stay
    // recorded, for the resume to restore.
    let ledger = &j["ledger"];
    assert!(
        ledger.is_null()
            || (ledger["topics"].as_object().is_some_and(|t| t.is_empty())
                && ledger["brokers"]
                    .as_object()
                    .is_some_and(|b| b.keys().all(|k| k == "3"))),
        "throttles left recorded: {j}"
    );
    assert!(!in_flight(&cluster, &topic), "the batch was rolled back");
    // Broker 3 is down: its own configs are read once it is back.
    assert!(throttle_configs(&cluster, "topics", &topic).is_empty());
    for b in [0, 1, 2] {
        let c = throttle_configs(&cluster, "brokers", &b.to_string());
        assert!(c.is_empty(), "broker {b}: {c:?}");
    }

    restart.armed = false;
    cluster.start_broker(3);

    let out = replan([
        "apply",
        "--resume",
        "--journal",
        &journal.to_string_lossy(),
        "--bootstrap-server",
        &cluster.bootstrap,
        "--throttle",
        "20MB/s",
        "--poll-interval",
        "0.5",
        "--progress",
        "plain",
    ]);
    assert!(out.status.success(), "resume failed:\n{}", describe(&out));
    let ok = |d: &support::kafka::TopicDescription| {
        after.iter().enumerate().all(|(p, r)| {
            d.partitions
                .get(&(p as i32))
                .is_some_and(|s| s.replicas == *r && s.leader == Some(r[0]))
        })
    };
    let d = cluster.wait_for_topic(&topic, Duration::from_secs(30), ok);
    assert!(ok(&d), "wanted {after:?}:\n{}", d.text);
    assert_no_throttles(&cluster, &[&topic]);
    assert!(!in_flight(&cluster, &topic));
}
