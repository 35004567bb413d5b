//! Golden fixture cases: every folder under `fixtures/` holds a `snapshot.json`, optional
//! `args` (extra `plan` flags) and either the expected outputs (`expected-plan.json`,
//! `expected-rollback.json`, `expected-summary.json`) or `expected-error.txt` (lines the
//! error must contain). Each case runs the real binary, compares by value (naming the first
//! differing partition), checks every invariant with the library's verifier, and checks
//! that a second run writes the same bytes. `UPDATE_FIXTURES=1` rewrites the expectations.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kafka_replan::formats::snapshot::parse_snapshot;
use kafka_replan::model::{BrokerId, Layout, Plan, TopicPartition};
use kafka_replan::plan::bounds::move_bounds;
use kafka_replan::plan::verify::{count_moves, verify_plan, VerifyRules};
use serde_json::Value;
use support::cli::command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn read_plan(path: &Path) -> Plan {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut plan = Plan::default();
    for e in v["partitions"].as_array().unwrap() {
        let tp = TopicPartition::new(
            e["topic"].as_str().unwrap(),
            e["partition"].as_i64().unwrap() as i32,
        );
        let reps = e["replicas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap() as BrokerId)
            .collect();
        plan.changes.insert(tp, reps);
    }
    plan
}

/// Compares two plans by value and names the first difference.
fn first_difference(want: &Plan, got: &Plan) -> Option<String> {
    let keys: BTreeSet<&TopicPartition> = want.changes.keys().chain(got.changes.keys()).collect();
    for tp in keys {
        let (w, g) = (want.changes.get(tp), got.changes.get(tp));
        if w != g {
            return Some(format!("{tp}: expected {w:?}, got {g:?}"));
        }
    }
    None
}

fn args_of(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("args"))
        .map(|s| s.split_whitespace().map(String::from).collect())
        .unwrap_or_default()
}

fn run_plan(dir: &Path, out: &Path) -> std::process::Output {
    command()
        .arg("plan")
        .arg("--snapshot")
        .arg(dir.join("snapshot.json"))
        .arg("--output")
        .arg(out.join("plan.json"))
        .arg("--rollback")
        .arg(out.join("rollback.json"))
        .arg("--election")
        .arg(out.join("election.json"))
        .arg("--report-json")
        .arg(out.join("report.json"))
        .args(args_of(dir))
        .output()
        .unwrap()
}

#[test]
fn fixture_cases() {
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("snapshot.json").exists())
        .collect();
    cases.sort();
    assert!(cases.len() >= 8, "fixture cases missing: {cases:?}");
    for dir in cases {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let tmp = tempfile::tempdir().unwrap();
        let out = run_plan(&dir, tmp.path());
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let err_file = dir.join("expected-error.txt");
        if err_file.exists() {
            assert_eq!(
                out.status.code(),
                Some(1),
                "{name}: expected exit 1, stderr: {stderr}"
            );
            for line in std::fs::read_to_string(&err_file)
                .unwrap()
                .lines()
                .filter(|l| !l.is_empty())
            {
                assert!(
                    stderr.contains(line),
                    "{name}: stderr lacks {line:?}:\n{stderr}"
                );
            }
            assert!(
                !tmp.path().join("plan.json").exists(),
                "{name}: a plan was written"
            );
            continue;
        }
        assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");

        // Invariants, from scratch.
        let cluster = parse_snapshot(
            "snapshot",
            std::fs::read(dir.join("snapshot.json")).unwrap(),
        )
        .unwrap();
        let args = args_of(&dir);
        let excluded: BTreeSet<BrokerId> = args
            .iter()
            .position(|a| a == "--exclude-brokers")
            .map(|i| args[i + 1].split(',').map(|x| x.parse().unwrap()).collect())
            .unwrap_or_default();
        let plan = read_plan(&tmp.path().join("plan.json"));
        let rollback = read_plan(&tmp.path().join("rollback.json"));
        let before = cluster.current_layout();
        let after: Layout = before.apply(&cluster, &plan).unwrap();
        let bounds = move_bounds(&cluster, &before, &excluded);
        let rules = VerifyRules {
            excluded: &excluded,
            max_disk_util: Some(1.0),
            min_moves: bounds.forced_moves,
            max_moves: None,
            max_bytes: None,
            max_leader_changes: None,
        };
        let violations = verify_plan(&cluster, &before, &after, &plan, &rollback, &rules);
        assert!(violations.is_empty(), "{name}: {violations:?}");
        let report: Value =
            serde_json::from_slice(&std::fs::read(tmp.path().join("report.json")).unwrap())
                .unwrap();
        let moves = count_moves(&before, &after);
        assert_eq!(
            report["replica_moves"].as_u64(),
            Some(moves as u64),
            "{name}"
        );
        if report["replica_band_reached"] == Value::Bool(true) {
            assert!(
                moves >= bounds.combined,
                "{name}: {moves} moves beat LB* {}",
                bounds.combined
            );
            assert_eq!(
                report["after"]["replicas_spread"].as_u64().map(|s| s <= 1),
                Some(true),
                "{name}"
            );
        }

        // Determinism: a second run writes the same bytes.
        let tmp2 = tempfile::tempdir().unwrap();
        let out2 = run_plan(&dir, tmp2.path());
        assert_eq!(out2.status.code(), Some(0));
        for f in ["plan.json", "rollback.json", "election.json"] {
            assert_eq!(
                std::fs::read(tmp.path().join(f)).unwrap(),
                std::fs::read(tmp2.path().join(f)).unwrap(),
                "{name}: {f} differs between runs"
            );
        }

        // Golden comparison.
        let summary = serde_json::json!({
            "replica_moves": report["replica_moves"],
            "optimum_moves": report["optimum_moves"],
            "lb_combined": report["lb_combined"],
            "leader_changes": report["leader_changes"],
            "replica_band_reached": report["replica_band_reached"],
            "after_replicas_spread": report["after"]["replicas_spread"],
            "after_leaders_spread": report["after"]["leaders_spread"],
        });
        if update {
            std::fs::copy(tmp.path().join("plan.json"), dir.join("expected-plan.json")).unwrap();
            std::fs::copy(
                tmp.path().join("rollback.json"),
                dir.join("expected-rollback.json"),
            )
            .unwrap();
            std::fs::write(
                dir.join("expected-summary.json"),
                serde_json::to_string_pretty(&summary).unwrap() + "\n",
            )
            .unwrap();
            continue;
        }
        let want = read_plan(&dir.join("expected-plan.json"));
        if let Some(d) = first_difference(&want, &plan) {
            panic!("{name}: plan differs from expected-plan.json: {d}");
        }
        let want_rb = read_plan(&dir.join("expected-rollback.json"));
        if let Some(d) = first_difference(&want_rb, &rollback) {
            panic!("{name}: rollback differs from expected-rollback.json: {d}");
        }
        let want_summary: Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected-summary.json")).unwrap())
                .unwrap();
        assert_eq!(want_summary, summary, "{name}: summary differs");
    }
}
