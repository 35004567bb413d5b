//! The offline workflow against a real Apache Kafka: Kafka's own `kafka-topics --describe` and
//! `kafka-log-dirs --describe` output goes into `kafka-replan snapshot`, `kafka-replan plan`
//! writes the plan and rollback, and Kafka's own `kafka-reassign-partitions` executes both
//! unchanged and verifies them complete.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::cli::{command, run_ok as replan};
use support::kafka::{read_reassignment_targets, unique_topic, Cluster};

#[test]
fn plan_from_kafka_tool_output_is_executed_and_verified_by_kafka() {
    let cluster = Cluster::from_env();
    // A topic skewed onto brokers 0 and 1, and an RF-3 topic with two replicas in rack r1
    // (brokers 0 and 3): a rack violation to repair.
    let topic = unique_topic("plan");
    let assignment: &[&[i32]] = &[&[0, 1], &[1, 0], &[0, 1], &[1, 0], &[0, 1]];
    let rf3 = unique_topic("plan-rf3");
    let rf3_assignment: &[&[i32]] = &[&[0, 3, 1]];
    let _guard = cluster.create_topic_with_assignment(&topic, assignment);
    let _guard3 = cluster.create_topic_with_assignment(&rf3, rf3_assignment);
    cluster.produce(&topic, 3_000, 200);
    let mut text = String::new();
    for (t, a) in [(&topic, assignment), (&rf3, rf3_assignment)] {
        let d = cluster.wait_for_topic(t, Duration::from_secs(30), |d| {
            d.partitions.len() == a.len()
                && d.partitions
                    .values()
                    .all(|p| p.isr.len() == p.replicas.len())
        });
        text.push_str(&d.text);
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    std::fs::write(path("describe.txt"), &text).expect("write describe");
    let log_dirs = cluster.describe_log_dirs(&[&topic, &rf3], &[]);
    std::fs::write(path("log-dirs.txt"), &log_dirs).expect("write log dirs");
    let racks: String = cluster
        .racks
        .iter()
        .map(|(id, rack)| format!("{id} {rack}\n"))
        .collect();
    std::fs::write(path("racks.txt"), racks).expect("write racks");

    replan(&[
        "snapshot",
        "--topics-describe",
        &path("describe.txt"),
        "--log-dirs",
        &path("log-dirs.txt"),
        "--broker-racks",
        &path("racks.txt"),
        "--output",
        &path("cluster.json"),
    ]);
    let snapshot: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path("cluster.json")).expect("read snapshot"))
            .expect("snapshot JSON");
    let sizes: Vec<u64> = snapshot["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| p["size_bytes"].as_u64().expect("size"))
        .collect();
    assert!(
        sizes.iter().sum::<u64>() > 0,
        "sizes from log dirs: {sizes:?}"
    );

    let report = replan(&[
        "plan",
        "--snapshot",
        &path("cluster.json"),
        "--output",
        &path("plan.json"),
        "--rollback",
        &path("rollback.json"),
    ]);
    assert!(report.contains("rack violations:   1 -> 0"), "{report}");

    // Kafka's own tool accepts the plan unchanged and completes it; the helper then checks
    // every partition's replica list (order included) against the plan.
    let plan = std::path::Path::new(&path("plan.json")).to_path_buf();
    // Before it runs, `verify` says the partitions differ and exits 1.
    let before = command()
        .args([
            "verify",
            "--bootstrap-server",
            &cluster.bootstrap,
            "--plan",
            &path("plan.json"),
        ])
        .output()
        .expect("run verify");
    assert_eq!(before.status.code(), Some(1));
    let text = String::from_utf8_lossy(&before.stdout);
    assert!(
        text.starts_with("Status of partition reassignment:\n"),
        "{text}"
    );
    assert!(
        text.contains("There is no active reassignment of partition"),
        "{text}"
    );
    cluster.execute_and_verify_reassignment(&plan, Duration::from_secs(120));
    // After: every partition completed, exit 0.
    let done = replan(&[
        "verify",
        "--bootstrap-server",
        &cluster.bootstrap,
        "--plan",
        &path("plan.json"),
    ]);
    // The snapshot came with Kafka's log dirs, so the plan names the dirs of the replicas it
    // places and `verify` also prints Kafka's per-replica log-dir lines for them.
    assert!(
        done.lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .all(|l| l.ends_with(" is completed.")
                || (l.starts_with("Reassignment of replica ")
                    && l.ends_with(" completed successfully."))),
        "{done}"
    );

    // The result is balanced and rack-safe on the real cluster.
    let mut per_broker: BTreeMap<i32, usize> = BTreeMap::new();
    let after: Vec<_> = [&topic, &rf3]
        .iter()
        .flat_map(|t| cluster.describe_topic(t).partitions.into_values())
        .collect();
    for p in &after {
        let mut racks: Vec<&String> = p.replicas.iter().map(|b| &cluster.racks[b]).collect();
        racks.sort();
        racks.dedup();
        assert_eq!(racks.len(), p.replicas.len(), "rack rule broken: {p:?}");
        for b in &p.replicas {
            *per_broker.entry(*b).or_insert(0) += 1;
        }
    }
    let counts: Vec<usize> = cluster
        .broker_ids
        .iter()
        .map(|b| per_broker.get(b).copied().unwrap_or(0))
        .collect();
    let spread = counts.iter().max().unwrap_or(&0) - counts.iter().min().unwrap_or(&0);
    assert!(spread <= 1, "replicas per broker {counts:?}");

    // The rollback JSON is accepted too and restores the original lists.
    let rollback = std::path::Path::new(&path("rollback.json")).to_path_buf();
    let targets = read_reassignment_targets(&rollback);
    assert!(!targets.is_empty());
    cluster.execute_and_verify_reassignment(&rollback, Duration::from_secs(120));
    for (t, a) in [(&topic, assignment), (&rf3, rf3_assignment)] {
        let restored = cluster.describe_topic(t);
        for (p, replicas) in a.iter().enumerate() {
            assert_eq!(restored.partitions[&(p as i32)].replicas, *replicas);
        }
    }
}

#[test]
fn generate_proposal_cut_out_like_scripts_do_is_executed_by_kafka() {
    let cluster = Cluster::from_env();
    let topic = unique_topic("generate");
    let assignment: &[&[i32]] = &[&[0, 1], &[1, 3], &[3, 0], &[0, 1]];
    let _guard = cluster.create_topic_with_assignment(&topic, assignment);
    let described = cluster.wait_for_topic(&topic, Duration::from_secs(30), |d| {
        d.partitions.len() == assignment.len()
            && d.partitions
                .values()
                .all(|p| p.isr.len() == p.replicas.len())
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    std::fs::write(path("describe.txt"), &described.text).expect("write describe");
    let racks: String = cluster
        .racks
        .iter()
        .map(|(id, rack)| format!("{id} {rack}\n"))
        .collect();
    std::fs::write(path("racks.txt"), racks).expect("write racks");
    std::fs::write(
        path("topics.json"),
        format!("{{\"topics\":[{{\"topic\":\"{topic}\"}}],\"version\":1}}"),
    )
    .expect("write topics");
    replan(&[
        "snapshot",
        "--topics-describe",
        &path("describe.txt"),
        "--broker-racks",
        &path("racks.txt"),
        "--output",
        &path("cluster.json"),
    ]);
    // Decommission broker 3: it is left out of the broker list, as operators do with
    // Kafka's --generate.
    let stdout = replan(&[
        "generate",
        "-q",
        "--topics-to-move-json-file",
        &path("topics.json"),
        "--broker-list",
        "0,1,2",
        "--snapshot",
        &path("cluster.json"),
    ]);
    // Cut the proposal out the way scripts do: the line after the second heading.
    let proposal = stdout
        .lines()
        .skip_while(|l| *l != "Proposed partition reassignment configuration")
        .nth(1)
        .expect("proposal line")
        .to_string();
    std::fs::write(path("proposal.json"), &proposal).expect("write proposal");
    let json = std::path::Path::new(&path("proposal.json")).to_path_buf();
    cluster.execute_and_verify_reassignment(&json, Duration::from_secs(120));
    let after = cluster.describe_topic(&topic);
    for p in after.partitions.values() {
        assert!(!p.replicas.contains(&3), "broker 3 still holds {p:?}");
    }

    // The same from the live cluster: a proposal that keeps broker 3 empty.
    let stdout = replan(&[
        "generate",
        "-q",
        "--topics-to-move-json-file",
        &path("topics.json"),
        "--broker-list",
        "0,1,2",
        "--bootstrap-server",
        &cluster.bootstrap,
    ]);
    let proposal = stdout
        .lines()
        .skip_while(|l| *l != "Proposed partition reassignment configuration")
        .nth(1)
        .expect("proposal line");
    let v: serde_json::Value = serde_json::from_str(proposal).expect("proposal JSON");
    let entries = v["partitions"].as_array().expect("partitions");
    assert_eq!(entries.len(), assignment.len(), "{proposal}");
    for e in entries {
        assert!(
            !e["replicas"]
                .as_array()
                .expect("replicas")
                .contains(&serde_json::Value::from(3)),
            "{e}"
        );
    }
}

#[test]
fn cancel_stops_a_throttled_move_and_restores_the_replica_order() {
    let cluster = Cluster::from_env();
    let topic = unique_topic("cancel");
    let _guard = cluster.create_topic_with_assignment(&topic, &[&[0, 1, 2]]);
    cluster.produce(&topic, 2_000, 500);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    std::fs::write(
        path("plan.json"),
        format!("{{\"version\":1,\"partitions\":[{{\"topic\":\"{topic}\",\"partition\":0,\"replicas\":[2,3,0]}}]}}"),
    )
    .expect("write");
    std::fs::write(
        path("rollback.json"),
        format!("{{\"version\":1,\"partitions\":[{{\"topic\":\"{topic}\",\"partition\":0,\"replicas\":[0,1,2]}}]}}"),
    )
    .expect("write");
    // Kafka's own tool starts the move at 1 byte/s, so it is still copying when we cancel.
    cluster.tool_ok(
        "reassign-partitions",
        &[
            "--bootstrap-server",
            &cluster.bootstrap,
            "--execute",
            "--throttle",
            "1",
            "--reassignment-json-file",
            &path("plan.json"),
        ],
    );
    let status = replan(&["status", "--bootstrap-server", &cluster.bootstrap]);
    assert!(
        status.contains(&format!("{topic}-0: replicas: ")),
        "{status}"
    );

    let out = replan(&[
        "cancel",
        "--bootstrap-server",
        &cluster.bootstrap,
        "--plan",
        &path("plan.json"),
        "--rollback",
        &path("rollback.json"),
    ]);
    assert!(
        out.contains(&format!("{topic}-0: cancelled; replicas 0,1,2")),
        "{out}"
    );
    let after = cluster.wait_for_topic(&topic, Duration::from_secs(30), |d| {
        d.partitions[&0].replicas == vec![0, 1, 2]
    });
    assert_eq!(
        after.partitions[&0].replicas,
        vec![0, 1, 2],
        "{}",
        after.text
    );
    let status = replan(&["status", "--bootstrap-server", &cluster.bootstrap]);
    assert!(!status.contains(&format!("{topic}-0:")), "{status}");
    // Kafka's tool set the throttles; its --verify clears them now that nothing is in flight.
    cluster.tool_ok(
        "reassign-partitions",
        &[
            "--bootstrap-server",
            &cluster.bootstrap,
            "--verify",
            "--reassignment-json-file",
            &path("rollback.json"),
        ],
    );
}
