//! `apply` at the command line without a cluster: usage errors come before any connection,
//! and a resume without a journal fails clearly.

mod support;

use support::cli::run_in;

const PLAN: &str = r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3],"log_dirs":["any","any"]}]}"#;

#[test]
fn apply_requires_a_fingerprint_or_an_explicit_opt_out() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.json"), PLAN).unwrap();
    let out = run_in(
        dir.path(),
        [
            "apply",
            "--bootstrap-server",
            "127.0.0.1:1",
            "--plan",
            "plan.json",
            "--throttle",
            "10MB/s",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--rollback FILE"), "{err}");
    assert!(!dir.path().join("kafka-replan-journal").exists());
}

#[test]
fn apply_rejects_bad_rates_and_plans_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.json"), PLAN).unwrap();
    std::fs::write(
        dir.path().join("bad.json"),
        "{\"version\":1,\"partitions\":[",
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        [
            "apply",
            "--bootstrap-server",
            "127.0.0.1:1",
            "--plan",
            "plan.json",
            "--no-fingerprint-check",
            "--throttle",
            "fast",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--throttle"));
    let out = run_in(
        dir.path(),
        [
            "apply",
            "--bootstrap-server",
            "127.0.0.1:1",
            "--plan",
            "bad.json",
            "--no-fingerprint-check",
            "--throttle",
            "10MB/s",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.json"));
}

#[test]
fn resume_without_a_journal_fails_and_an_unreachable_cluster_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        ["apply", "--resume", "--bootstrap-server", "127.0.0.1:1"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("kafka-replan-journal"), "{err}");

    std::fs::write(dir.path().join("plan.json"), PLAN).unwrap();
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let out = run_in(
        dir.path(),
        [
            "apply",
            "--bootstrap-server",
            &addr,
            "--plan",
            "plan.json",
            "--no-fingerprint-check",
            "--throttle",
            "10MB/s",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect"), "{err}");
    assert!(!dir.path().join("kafka-replan-journal").exists());
}
