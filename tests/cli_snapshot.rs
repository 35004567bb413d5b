//! `kafka-replan snapshot` end to end: the built binary on the files in
//! `fixtures/kafka-files/`.

mod support;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use kafka_replan::formats::snapshot::parse_snapshot;
use kafka_replan::model::TopicPartition;
use support::cli::{repo_path, run, stderr, stdout};

fn fixture(name: &str) -> PathBuf {
    repo_path("fixtures/kafka-files").join(name)
}

#[test]
fn writes_snapshot_from_all_kafka_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cluster.json");
    let o = run([
        OsStr::new("snapshot"),
        "--reassignment-json".as_ref(),
        fixture("current.json").as_os_str(),
        "--topics-describe".as_ref(),
        fixture("topics-describe.txt").as_os_str(),
        "--broker-racks".as_ref(),
        fixture("racks.txt").as_os_str(),
        "--log-dirs".as_ref(),
        fixture("log-dirs.txt").as_os_str(),
        "--broker-capacity".as_ref(),
        "1=4TB,2=4TB,3=4TB,4=2TiB".as_ref(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    let stdout = stdout(&o);
    let stderr = stderr(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("brokers: 4 (1 without replicas, 0 without rack)"),
        "{stdout}"
    );
    assert!(stdout.contains("racks: 3\n"), "{stdout}");
    assert!(stdout.contains("partitions: 5\n"), "{stdout}");
    assert!(stdout.contains("replicas: 13\n"), "{stdout}");
    assert!(
        stdout.contains("total bytes: 19000 (all replicas)"),
        "{stdout}"
    );
    assert_eq!(
        stderr,
        format!(
            "warning: 1 partition(s) have no size in {}: their size is taken as 0\n",
            fixture("log-dirs.txt").display()
        )
    );

    let bytes = std::fs::read(&out).unwrap();
    let cluster = parse_snapshot("cluster.json", bytes).unwrap();
    assert_eq!(cluster.broker_ids(), vec![1, 2, 3, 4]);
    let b4 = cluster.broker(4).unwrap();
    assert_eq!(b4.rack.as_deref(), Some("r1"));
    assert_eq!(b4.capacity_bytes, Some(2 << 40));
    let size = |t: &str, p: i32| {
        let i = cluster.partition_index(&TopicPartition::new(t, p)).unwrap();
        &cluster.partitions[i]
    };
    assert_eq!(size("orders", 0).size_bytes, 1000);
    // orders-1: the 7000-byte future replica on broker 3 does not count.
    assert_eq!(size("orders", 1).size_bytes, 2000);
    assert_eq!(size("orders", 2).size_bytes, 3000);
    assert_eq!(size("orders", 2).isr, Some(vec![1, 2]));
    assert_eq!(size("payments", 1).size_bytes, 0);
    assert_eq!(size("payments", 1).leader, None);
    assert_eq!(size("payments", 0).replicas, vec![1, 2]);
}

#[test]
fn json_only_warns_that_capacity_and_sizes_are_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cluster.json");
    let o = run([
        OsStr::new("snapshot"),
        "--reassignment-json".as_ref(),
        fixture("current.json").as_os_str(),
        "--broker-racks".as_ref(),
        fixture("racks.txt").as_os_str(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stderr = stderr(&o);
    assert!(
        stderr.contains("warning: no disk capacity known: capacity checks are off\n"),
        "{stderr}"
    );
    assert!(stderr.contains("warning: no log-dirs output"), "{stderr}");
    let cluster = parse_snapshot("c", std::fs::read(&out).unwrap()).unwrap();
    assert!(!cluster.has_capacity());
    assert_eq!(cluster.partitions.len(), 5);
}

fn assert_bad_input(o: &Output, out: &Path, needles: &[&str]) {
    assert_eq!(o.status.code(), Some(2), "{}", stderr(o));
    let stderr = stderr(o);
    assert!(stderr.starts_with("error: "), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{n:?} not in {stderr}");
    }
    assert!(!out.exists(), "no output file on error");
    let leftovers: Vec<_> = std::fs::read_dir(out.parent().unwrap()).unwrap().collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
fn unknown_broker_exits_2_naming_partition_and_broker() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cluster.json");
    let o = run([
        OsStr::new("snapshot"),
        "--reassignment-json".as_ref(),
        fixture("current-unknown-broker.json").as_os_str(),
        "--broker-racks".as_ref(),
        fixture("racks.txt").as_os_str(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert_bad_input(
        &o,
        &out,
        &[
            "current-unknown-broker.json",
            "partition orders-0 has a replica on broker 7",
            "racks.txt",
        ],
    );
}

#[test]
fn malformed_json_exits_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cluster.json");
    let o = run([
        OsStr::new("snapshot"),
        "--reassignment-json".as_ref(),
        fixture("current-malformed.json").as_os_str(),
        "--broker-racks".as_ref(),
        fixture("racks.txt").as_os_str(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    let file = format!(
        "{}:2: Unexpected character",
        fixture("current-malformed.json").display()
    );
    assert_bad_input(&o, &out, &[&file]);
}

#[test]
fn missing_inputs_and_bad_capacity_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cluster.json");
    let o = run([
        OsStr::new("snapshot"),
        "--broker-racks".as_ref(),
        fixture("racks.txt").as_os_str(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert_bad_input(&o, &out, &["--reassignment-json", "--topics-describe"]);
    let o = run([
        OsStr::new("snapshot"),
        "--reassignment-json".as_ref(),
        fixture("current.json").as_os_str(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert_bad_input(&o, &out, &["--broker-racks"]);
    let o = run([
        OsStr::new("snapshot"),
        "--reassignment-json".as_ref(),
        fixture("current.json").as_os_str(),
        "--broker-racks".as_ref(),
        fixture("racks.txt").as_os_str(),
        "--broker-capacity".as_ref(),
        "9=1TB".as_ref(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert_bad_input(&o, &out, &["--broker-capacity: broker(s) 9"]);
}

#[test]
fn existing_output_is_untouched_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cluster.json");
    std::fs::write(&out, "previous").unwrap();
    let o = run([
        OsStr::new("snapshot"),
        "--reassignment-json".as_ref(),
        fixture("current-unknown-broker.json").as_os_str(),
        "--broker-racks".as_ref(),
        fixture("racks.txt").as_os_str(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous");
}

#[test]
fn help_states_the_size_rule() {
    let o = run(["snapshot", "--help"]);
    let help = stdout(&o).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        help.contains(
            "Partition size = the largest size reported by --log-dirs for any non-future replica"
        ),
        "{help}"
    );
}
