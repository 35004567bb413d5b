//! `kafka-replan score` on bad input: exit codes and messages that name the file.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;
use support::cli::command;

const SNAPSHOT: &str = r#"{"brokers":[
 {"id":1,"rack":"a","disk_capacity_bytes":1000},
 {"id":2,"rack":"b","disk_capacity_bytes":1000},
 {"id":3,"rack":"c","disk_capacity_bytes":1000},
 {"id":4,"rack":"a","disk_capacity_bytes":1000}],
 "partitions":[
 {"topic":"t","partition":0,"replicas":[1,2],"size_bytes":100},
 {"topic":"t","partition":1,"replicas":[2,4],"size_bytes":200}]}"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn score(snapshot: &Path, plan: &Path, extra: &[&str]) -> Output {
    command()
        .arg("score")
        .arg("--snapshot")
        .arg(snapshot)
        .arg("--plan")
        .arg(plan)
        .args(extra)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn valid_plan_exits_0_with_a_table() {
    let d = tempfile::tempdir().unwrap();
    let snap = write(d.path(), "snap.json", SNAPSHOT);
    let plan = write(
        d.path(),
        "plan.json",
        r#"{"version":1,"partitions":[{"topic":"t","partition":1,"replicas":[3,2]}]}"#,
    );
    let out = score(&snap, &plan, &["--exclude-brokers", "4"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("valid     yes"), "{stdout}");
    assert!(stdout.contains("replica moves"), "{stdout}");
    assert!(stdout.contains("200 B (200 bytes)"), "{stdout}");
    assert!(stdout.contains("replicas_on_excluded"), "{stdout}");
}

#[test]
fn invalid_plan_exits_1_and_lists_errors() {
    let d = tempfile::tempdir().unwrap();
    let snap = write(d.path(), "snap.json", SNAPSHOT);
    for (plan_text, want) in [
        (
            r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,1]}]}"#,
            "t-0: duplicate brokers in [1, 1]",
        ),
        (
            r#"[1, 2]"#,
            "plan is not a reassignment JSON object with a 'partitions' list",
        ),
    ] {
        let plan = write(d.path(), "plan.json", plan_text);
        let out = score(&snap, &plan, &[]);
        assert_eq!(out.status.code(), Some(1), "{plan_text}");
        assert!(text(&out.stdout).contains(want), "{}", text(&out.stdout));
        let out = score(&snap, &plan, &["--json"]);
        assert_eq!(out.status.code(), Some(1));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["valid"], false);
        assert_eq!(v["errors"][0], want);
    }
}

#[test]
fn malformed_plan_json_exits_2_naming_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let snap = write(d.path(), "snap.json", SNAPSHOT);
    let plan = write(
        d.path(),
        "broken-plan.json",
        "{\"version\":1,\n\"partitions\":[}\n",
    );
    let out = score(&snap, &plan, &["--json"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("broken-plan.json:2:"), "{err}");
    assert!(err.contains("invalid JSON"), "{err}");
    assert!(out.stdout.is_empty());

    let empty = write(d.path(), "empty-plan.json", "  \n");
    let out = score(&snap, &empty, &[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("empty-plan.json") && err.contains("empty"),
        "{err}"
    );
}

#[test]
fn missing_files_exit_2_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    let snap = write(d.path(), "snap.json", SNAPSHOT);
    let plan = write(d.path(), "plan.json", r#"{"version":1,"partitions":[]}"#);
    let gone = d.path().join("no-such-plan.json");
    let out = score(&snap, &gone, &[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no-such-plan.json"), "{err}");

    let gone = d.path().join("no-such-snapshot.json");
    let out = score(&gone, &plan, &[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no-such-snapshot.json"), "{err}");
}

#[test]
fn malformed_snapshot_exits_2_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    let snap = write(d.path(), "bad-snap.json", "{\"brokers\": [");
    let plan = write(d.path(), "plan.json", r#"{"version":1,"partitions":[]}"#);
    let out = score(&snap, &plan, &[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad-snap.json"), "{err}");
}

#[test]
fn unknown_or_malformed_exclude_ids_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let snap = write(d.path(), "snap.json", SNAPSHOT);
    let plan = write(d.path(), "plan.json", r#"{"version":1,"partitions":[]}"#);
    let out = score(&snap, &plan, &["--exclude-brokers", "4,42"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--exclude-brokers") && err.contains("42"),
        "{err}"
    );
    let out = score(&snap, &plan, &["--exclude-brokers", "x"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("'x'"), "{err}");
}

#[test]
fn text_names_brokers_over_capacity() {
    let d = tempfile::tempdir().unwrap();
    let snap = write(
        d.path(),
        "snap.json",
        &SNAPSHOT.replace(
            r#"{"id":3,"rack":"c","disk_capacity_bytes":1000}"#,
            r#"{"id":3,"rack":"c","disk_capacity_bytes":150}"#,
        ),
    );
    let plan = write(
        d.path(),
        "plan.json",
        r#"{"version":1,"partitions":[{"topic":"t","partition":1,"replicas":[3,2]}]}"#,
    );
    let out = score(&snap, &plan, &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("over capacity after the plan: brokers 3"),
        "{stdout}"
    );
}
