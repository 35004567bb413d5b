//! Integration tests against a real Apache Kafka cluster (started by scripts/test.sh), using
//! only Kafka's own tools: they pin down the formats and behaviour kafka-replan must match.
//! Without the cluster's environment every test here fails, by design.

mod support;

use std::time::Duration;

use support::kafka::{
    broker_log_dirs, reassignment_json, replica_log_dirs, unique_topic, Cluster, Target,
};
use support::versions;

#[test]
fn topic_created_with_explicit_replica_assignment_is_described_as_given() {
    let cluster = Cluster::from_env();
    let topic = unique_topic("assign");
    let assignment: &[&[i32]] = &[&[0, 1, 2], &[1, 2, 3], &[3, 0, 1]];
    let _guard = cluster.create_topic_with_assignment(&topic, assignment);

    // Leaders and ISRs settle a moment after creation; the replica lists never change.
    let described = cluster.wait_for_topic(&topic, Duration::from_secs(30), |d| {
        d.partitions.len() == assignment.len()
            && d.partitions
                .values()
                .all(|p| p.isr.len() == p.replicas.len())
    });
    assert!(
        described
            .text
            .starts_with(&format!("Topic: {topic}\tTopicId: ")),
        "{}",
        described.text
    );
    assert!(
        described
            .text
            .contains("\tPartitionCount: 3\tReplicationFactor: 3\t"),
        "{}",
        described.text
    );
    for (p, replicas) in assignment.iter().enumerate() {
        let state = &described.partitions[&(p as i32)];
        assert_eq!(
            state.replicas, *replicas,
            "partition {p}:\n{}",
            described.text
        );
        // A new partition's leader is its preferred (first) replica.
        assert_eq!(
            state.leader,
            Some(replicas[0]),
            "partition {p}:\n{}",
            described.text
        );
        let mut isr = state.isr.clone();
        isr.sort_unstable();
        let mut want = replicas.to_vec();
        want.sort_unstable();
        assert_eq!(isr, want, "partition {p}:\n{}", described.text);
    }
}

#[test]
fn reassignment_json_is_executed_and_verified_by_kafka_reassign_partitions() {
    let cluster = Cluster::from_env();
    let topic = unique_topic("reassign");
    let _guard = cluster.create_topic_with_assignment(&topic, &[&[0, 1], &[1, 2]]);
    // A little real data, so the new replicas have something to copy.
    cluster.produce(&topic, 2_000, 100);

    // Moves both replicas of partition 0, one of partition 1, and changes partition 1's
    // preferred leader.
    let targets = [
        Target::new(&topic, 0, &[2, 3]),
        Target::new(&topic, 1, &[3, 1]),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    let plan = dir.path().join("reassignment.json");
    std::fs::write(&plan, reassignment_json(&targets)).expect("write plan");

    let run = cluster.execute_and_verify_reassignment(&plan, Duration::from_secs(90));

    // §A4: the rollback block holds the pre-move assignment in Kafka's compact form
    // (4.1 prints "any" for every log dir).
    let rollback = reassignment_json(&[
        Target::new(&topic, 0, &[0, 1]),
        Target::new(&topic, 1, &[1, 2]),
    ]);
    let expected_head = format!(
        "Current partition replica assignment\n\n{rollback}\n\n\
         Save this to use as the --reassignment-json-file option during rollback\n"
    );
    assert!(
        run.execute.starts_with(&expected_head),
        "--execute output:\n{}\nexpected it to start with:\n{expected_head}",
        run.execute
    );
    assert!(
        run.execute.contains(&format!(
            "Successfully started partition reassignments for {topic}-0,{topic}-1\n"
        )),
        "--execute output:\n{}",
        run.execute
    );
    // §A5: the status block, one line per partition in TP order.
    assert!(
        run.verify.starts_with(&format!(
            "Status of partition reassignment:\n\
             Reassignment of partition {topic}-0 is completed.\n\
             Reassignment of partition {topic}-1 is completed.\n"
        )),
        "--verify output:\n{}",
        run.verify
    );
}

#[test]
fn log_dir_move_in_reassignment_json_is_executed_and_verified() {
    let cluster = Cluster::from_env();
    let topic = unique_topic("logdir-move");
    let _guard = cluster.create_topic_with_assignment(&topic, &[&[1, 2]]);
    cluster.produce(&topic, 500, 100);

    // Broker 1 has two log directories; move the replica to the one it is not in.
    let out = cluster.describe_log_dirs(&[&topic], &[1]);
    let (current, _) = replica_log_dirs(&out)[&(format!("{topic}-0"), 1)][0].clone();
    let target = broker_log_dirs(&out)[&1]
        .iter()
        .find(|d| **d != current)
        .unwrap_or_else(|| panic!("broker 1 has a single log dir:\n{out}"))
        .clone();

    let dir = tempfile::tempdir().expect("temp dir");
    let plan = dir.path().join("reassignment.json");
    let targets = [Target::new(&topic, 0, &[1, 2]).with_log_dir(1, &target)];
    std::fs::write(&plan, reassignment_json(&targets)).expect("write plan");

    let run = cluster.execute_and_verify_reassignment(&plan, Duration::from_secs(90));
    // §A4 item 5, trailing space included. The Scala tool before 3.7 words it differently.
    let started = if versions::KafkaUnderTest::from_env().at_least(">=3.7") {
        format!("Successfully started moving log directory to {target} for replica {topic}-0 with broker 1 \n")
    } else {
        format!("Successfully started log directory move for: {topic}-0-1\n")
    };
    assert!(
        run.execute.contains(&started),
        "--execute output:\n{}",
        run.execute
    );
}

#[test]
fn reassignment_to_unknown_broker_is_refused_by_execute() {
    let cluster = Cluster::from_env();
    let topic = unique_topic("unknown-broker");
    let _guard = cluster.create_topic_with_assignment(&topic, &[&[0, 1]]);
    let dir = tempfile::tempdir().expect("temp dir");
    let plan = dir.path().join("reassignment.json");
    std::fs::write(&plan, reassignment_json(&[Target::new(&topic, 0, &[0, 9])]))
        .expect("write plan");

    let out = cluster.tool(
        "reassign-partitions",
        &[
            "--bootstrap-server",
            &cluster.bootstrap,
            "--execute",
            "--reassignment-json-file",
            plan.to_str().expect("UTF-8 path"),
        ],
    );
    // §C1 step 3 (checklist C2).
    assert_eq!(out.status.code(), Some(1), "{}", out.describe());
    assert!(
        out.stdout.contains("Unknown broker id 9") || out.stderr.contains("Unknown broker id 9"),
        "{}",
        out.describe()
    );
    assert_eq!(
        cluster.describe_topic(&topic).partitions[&0].replicas,
        [0, 1]
    );
}

#[test]
fn log_dirs_describe_reports_every_replica_in_a_broker_log_dir() {
    let cluster = Cluster::from_env();
    let topic = unique_topic("logdirs");
    let assignment: &[&[i32]] = &[&[0, 1], &[2, 3]];
    let _guard = cluster.create_topic_with_assignment(&topic, assignment);
    cluster.produce(&topic, 500, 100);

    let out = cluster.describe_log_dirs(&[&topic], &[]);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("Querying brokers for log directories information")
    );
    let all = cluster
        .broker_ids
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        lines.next(),
        Some(format!("Received log directory information from brokers {all}").as_str())
    );
    let json: serde_json::Value =
        serde_json::from_str(lines.next().expect("JSON line")).expect("log-dirs JSON");
    assert_eq!(json["version"], 1, "{out}");

    // Which brokers hold which partition of the topic, per the tool.
    let mut found: Vec<(String, i64)> = Vec::new();
    for broker in json["brokers"].as_array().expect("brokers") {
        let id = broker["broker"].as_i64().expect("broker id");
        let dirs = broker["logDirs"].as_array().expect("logDirs");
        // The test cluster gives every broker two log directories.
        assert_eq!(dirs.len(), 2, "{out}");
        for dir in dirs {
            assert!(dir["error"].is_null(), "{out}");
            assert!(
                dir["logDir"].as_str().expect("logDir").starts_with('/'),
                "{out}"
            );
            for p in dir["partitions"].as_array().expect("partitions") {
                assert_eq!(p["isFuture"], false, "{out}");
                assert!(p["size"].as_i64().expect("size") >= 0, "{out}");
                found.push((p["partition"].as_str().expect("partition").to_string(), id));
            }
        }
    }
    found.sort();
    let mut want: Vec<(String, i64)> = assignment
        .iter()
        .enumerate()
        .flat_map(|(p, replicas)| {
            let topic = &topic;
            replicas
                .iter()
                .map(move |&b| (format!("{topic}-{p}"), i64::from(b)))
        })
        .collect();
    want.sort();
    assert_eq!(found, want, "{out}");
}

#[test]
fn sasl_ssl_listener_accepts_plain_and_scram_and_rejects_a_wrong_password() {
    let cluster = Cluster::from_env();
    for props in [
        &cluster.plain_client_properties,
        &cluster.scram_client_properties,
    ] {
        cluster.tool_ok(
            "topics",
            &[
                "--bootstrap-server",
                &cluster.sasl_bootstrap,
                "--command-config",
                props.to_str().expect("UTF-8 path"),
                "--list",
            ],
        );
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let wrong = dir.path().join("wrong.properties");
    std::fs::write(
        &wrong,
        format!(
            "security.protocol=SASL_SSL\n\
             sasl.mechanism=SCRAM-SHA-512\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
             username=\"{}\" password=\"not-the-password\";\n\
             ssl.truststore.type=PEM\n\
             ssl.truststore.location={}\n",
            cluster.scram_user,
            cluster.ca_file.display()
        ),
    )
    .expect("write properties");
    let out = cluster.tool(
        "topics",
        &[
            "--bootstrap-server",
            &cluster.sasl_bootstrap,
            "--command-config",
            wrong.to_str().expect("UTF-8 path"),
            "--list",
        ],
    );
    assert!(!out.status.success(), "{}", out.describe());
    assert!(
        out.describe().contains("Authentication failed"),
        "{}",
        out.describe()
    );
}
