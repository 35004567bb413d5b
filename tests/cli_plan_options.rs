//! `plan` options end to end (`--throttle`, in-flight partitions, what-if scenarios) and
//! `simulate`: the batches respect the per-broker byte limit, the estimate is printed, and
//! bad rates are rejected with exit 2.

mod support;

use support::cli::{command, fixture_snapshot as fixture};

#[test]
fn simulate_batches_under_the_limit_and_estimates_time() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let out = command()
        .args([
            "plan",
            "-q",
            "--snapshot",
            &fixture("scale-out"),
            "--output",
        ])
        .arg(&plan)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = command()
        .args([
            "simulate",
            "--snapshot",
            &fixture("scale-out"),
            "--throttle",
            "50MB/s",
            "--max-inflight-bytes-per-broker",
            "20GB",
            "--plan",
        ])
        .arg(&plan)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let batches: Vec<&str> = text.lines().filter(|l| l.starts_with("batch")).collect();
    assert!(batches.len() >= 2, "{text}");
    assert!(text.contains("estimate:"), "{text}");
    // The busiest broker of every batch stays under 20 GB in each direction.
    for line in batches {
        for part in line.split("broker ").skip(1) {
            let gb: f64 = part.split_whitespace().nth(1).unwrap().parse().unwrap();
            let unit = part.split_whitespace().nth(2).unwrap();
            let bytes = gb
                * if unit.starts_with("GB") {
                    1e9
                } else if unit.starts_with("MB") {
                    1e6
                } else {
                    1e12
                };
            assert!(bytes <= 20e9 + 1e7, "{line}");
        }
    }
}

#[test]
fn plan_with_throttle_prints_the_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let out = command()
        .args([
            "plan",
            "--snapshot",
            &fixture("scale-out"),
            "--throttle",
            "100MB/s",
            "--output",
        ])
        .arg(dir.path().join("plan.json"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("estimate:"));
}

#[test]
fn bad_rates_and_unknown_partitions_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    std::fs::write(
        &plan,
        r#"{"version":1,"partitions":[{"topic":"nope","partition":0,"replicas":[1,2]}]}"#,
    )
    .unwrap();
    for (throttle, want) in [
        ("0", "above 0"),
        ("fast", "not a size"),
        ("50MB/s", "nope-0"),
    ] {
        let out = command()
            .args([
                "simulate",
                "--snapshot",
                &fixture("scale-out"),
                "--throttle",
                throttle,
                "--plan",
            ])
            .arg(&plan)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{throttle}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{throttle}: {err}");
    }
}

#[test]
fn in_flight_partitions_are_refused_or_planned_around() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let out = command()
        .args([
            "plan",
            "-q",
            "--snapshot",
            &fixture("in-flight"),
            "--output",
        ])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("busy-3 (adding 4, removing 1)"));
    assert!(!plan.exists());
    let out = command()
        .args([
            "plan",
            "-q",
            "--plan-around-in-flight",
            "--snapshot",
            &fixture("in-flight"),
            "--output",
        ])
        .arg(&plan)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&plan).unwrap();
    assert!(
        text.contains("\"busy\""),
        "the other partitions are balanced: {text}"
    );
    assert!(
        !text.contains("\"partition\":3,"),
        "the in-flight partition is left alone: {text}"
    );
    let rb: serde_json::Value = serde_json::from_str(&text).unwrap();
    // Brokers 4-6 receive replicas; broker 4 already counts busy-3's target replica.
    assert!(!rb["partitions"].as_array().unwrap().is_empty());
}

#[test]
fn what_if_added_brokers_and_drained_rack() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let report = dir.path().join("report.json");
    let out = command()
        .args([
            "plan",
            "--snapshot",
            &fixture("skewed"),
            "--add-brokers",
            "3",
            "--rack",
            "r1",
            "--capacity",
            "2TB",
            "--output",
        ])
        .arg(&plan)
        .arg("--report-json")
        .arg(&report)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("scenario: hypothetical brokers 10,11,12 added in rack r1"),
        "{text}"
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let new: Vec<&serde_json::Value> = r["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["id"].as_i64().unwrap() >= 10)
        .collect();
    assert_eq!(new.len(), 3);
    assert!(new.iter().all(|b| b["rack"] == "r1"
        && b["capacity_bytes"] == 2_000_000_000_000u64
        && b["replicas_after"].as_u64().unwrap() > 0));

    let out = command()
        .args([
            "plan",
            "--snapshot",
            &fixture("skewed"),
            "--drain-rack",
            "r3",
            "--output",
        ])
        .arg(&plan)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("scenario: draining rack r3: brokers 3,6,9"),
        "{text}"
    );
    let p: serde_json::Value = serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap();
    for e in p["partitions"].as_array().unwrap() {
        for b in e["replicas"].as_array().unwrap() {
            assert!(![3, 6, 9].contains(&b.as_i64().unwrap()), "{e}");
        }
    }
    let out = command()
        .args([
            "plan",
            "--snapshot",
            &fixture("skewed"),
            "--drain-rack",
            "r9",
            "--output",
        ])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rack r9 has no brokers"));
}

/// `--replace FROM=TO`: a 1:1 copy of the broker's replicas onto the new one, same
/// positions; rack mismatches refused unless forced; the rollback restores the layout.
#[test]
fn replace_copies_a_broker_one_to_one() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let rollback = dir.path().join("rollback.json");
    let run = |extra: &[&str]| {
        command()
            .args(["plan", "--snapshot", &fixture("scale-out"), "--output"])
            .arg(&plan)
            .arg("--rollback")
            .arg(&rollback)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&["--add-brokers", "1", "--rack", "r2", "--replace", "2=10"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("plan:              broker replacement 2 -> 10 (given, not optimised)"),
        "{text}"
    );
    assert!(text.contains("rack violations:   0 -> 0"), "{text}");
    let snap: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("scale-out")).unwrap()).unwrap();
    let planned: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let with_2: Vec<&serde_json::Value> = snap["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["replicas"].as_array().unwrap().iter().any(|b| b == 2))
        .collect();
    let entries = planned["partitions"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        with_2.len(),
        "exactly the partitions on broker 2 change"
    );
    for p in with_2 {
        let e = entries
            .iter()
            .find(|e| e["topic"] == p["topic"] && e["partition"] == p["partition"])
            .expect("planned");
        let expected: Vec<i64> = p["replicas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| if b == 2 { 10 } else { b.as_i64().unwrap() })
            .collect();
        let got: Vec<i64> = e["replicas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_i64().unwrap())
            .collect();
        assert_eq!(got, expected, "same positions");
    }

    // Another rack: refused (exit 2, nothing written), unless forced.
    std::fs::remove_file(&plan).unwrap();
    let out = run(&["--add-brokers", "1", "--rack", "r3", "--replace", "2=10"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broker 2 is in rack r2 but 10 in rack r3"),
        "{err}"
    );
    assert!(!plan.exists());
    let out = run(&[
        "--add-brokers",
        "1",
        "--rack",
        "r3",
        "--replace",
        "2=10",
        "--force-rack-change",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rack violations:   0 -> 30"), "{text}");

    // A replacement onto a broker that shares partitions with the old one: bad input.
    std::fs::remove_file(&plan).unwrap();
    let out = run(&["--replace", "2=1", "--force-rack-change"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already has a replica on broker 1"));
    // Onto a loaded broker of the same rack: its disk would overflow (exit 1, the broker
    // and the bytes named).
    let out = run(&["--replace", "2=5"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broker 5: 117898511160 bytes exceed its limit"),
        "{err}"
    );
    assert!(!plan.exists());
}

/// `--set-replication-factor`: RF 1 raised to 3 and RF 5 lowered to 3, one replica per
/// rack (the flow balances the whole cluster at the same time); the rollback brings the old factors back; a regex
/// that matches nothing and a factor above the broker count are refused.
#[test]
fn set_replication_factor_raises_and_lowers_rack_aware() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let rollback = dir.path().join("rollback.json");
    let run = |extra: &[&str]| {
        command()
            .args(["plan", "--snapshot", &fixture("mixed-rf"), "--output"])
            .arg(&plan)
            .arg("--rollback")
            .arg(&rollback)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[
        "--set-replication-factor",
        "rf1=3",
        "--set-replication-factor",
        "rf5=3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let snap = read(std::path::Path::new(&fixture("mixed-rf")));
    let racks: std::collections::BTreeMap<i64, String> = snap["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["id"].as_i64().unwrap(),
                b["rack"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let planned = read(&plan);
    let mut seen = 0;
    for p in snap["partitions"].as_array().unwrap() {
        let topic = p["topic"].as_str().unwrap();
        if topic != "rf1" && topic != "rf5" {
            continue;
        }
        let entry = planned["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["topic"] == p["topic"] && e["partition"] == p["partition"])
            .expect("every changed partition is in the plan");
        let reps: Vec<i64> = entry["replicas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_i64().unwrap())
            .collect();
        assert_eq!(reps.len(), 3, "{entry}");
        let distinct_racks: std::collections::BTreeSet<&String> =
            reps.iter().map(|b| &racks[b]).collect();
        assert_eq!(distinct_racks.len(), 3, "one replica per rack: {entry}");
        seen += 1;
    }
    assert_eq!(seen, 18);
    // The rollback restores the old factors.
    let back = read(&rollback);
    for e in back["partitions"].as_array().unwrap() {
        let p = snap["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["topic"] == e["topic"] && p["partition"] == e["partition"])
            .unwrap();
        assert_eq!(e["replicas"], p["replicas"]);
    }

    let out = run(&["--set-replication-factor", "nothing.*=2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("matches no topic"));
    let out = run(&["--set-replication-factor", "rf1=10"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("replication factor 10 needs 10 distinct brokers"),
        "{err}"
    );
}

/// `--max-moves` with `--tradeoff`: the plan keeps the budget, the curve is printed and
/// written as JSON, each point within its budget and balancing no worse as budgets grow.
#[test]
fn budget_and_tradeoff_curve() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let curve = dir.path().join("curve.json");
    let out = command()
        .args([
            "plan",
            "--snapshot",
            &fixture("scale-out"),
            "--max-moves",
            "30",
            "--output",
        ])
        .arg(&plan)
        .arg("--tradeoff")
        .arg(&curve)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("replica moves:     30 "), "{text}");
    assert!(
        text.contains("trade-off (budget -> balance; the full balance needs 60 moves, "),
        "{text}"
    );
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&curve).unwrap()).unwrap();
    assert_eq!(c["full_balance_moves"], 60);
    let points = c["points"].as_array().unwrap();
    assert_eq!(points.len(), 6);
    let mut last = u64::MAX;
    for p in points {
        assert!(
            p["moves"].as_u64().unwrap() <= p["budget_moves"].as_u64().unwrap(),
            "{p}"
        );
        let spread = p["replica_spread"].as_u64().unwrap();
        assert!(spread <= last, "{p}");
        last = spread;
    }
    assert_eq!(last, 0, "the full budget balances completely");
    // A budget below the forced moves: exit 1, both numbers named, nothing written.
    std::fs::remove_file(&plan).unwrap();
    let out = command()
        .args([
            "plan",
            "--snapshot",
            &fixture("decommission"),
            "--exclude-brokers",
            "9",
            "--max-moves",
            "3",
            "--output",
        ])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the budget of 3 moves is too small: the hard rules (excluded brokers, rack repairs) force 24 moves"), "{err}");
    assert!(!plan.exists());
}

/// `--balance bytes` end to end: disks within the tolerance, the bytes bound and the disk
/// balance in the text and JSON reports; `--max-bytes` kept and the trade-off curve over
/// bytes budgets; a bad tolerance or size is a usage error that writes nothing.
#[test]
fn bytes_first_balance_budget_and_curve() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let report = dir.path().join("report.json");
    let curve = dir.path().join("curve.json");
    let run = |extra: &[&str]| {
        command()
            .args([
                "plan",
                "--snapshot",
                &fixture("scale-out"),
                "--balance",
                "bytes",
            ])
            .args(extra)
            .arg("--output")
            .arg(&plan)
            .arg("--report-json")
            .arg(&report)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("bytes bound:"), "{text}");
    assert!(
        text.contains("disk balance:      bytes first, every broker within 0.5 % of its share"),
        "{text}"
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["balance"], "bytes");
    assert!(r["after"]["disk_max_mean_ratio"].as_f64().unwrap() <= 1.005);
    let bound = r["bytes_lower_bound"]["bytes"].as_u64().unwrap();
    let full = r["bytes_moved"].as_u64().unwrap();
    assert!(bound > 0 && bound <= full, "{bound} {full}");
    assert_eq!(r["rack_violations"], 0);

    // Half the bytes: kept, the tolerance loosened, the curve over bytes budgets.
    let half = (full / 2).to_string();
    let out = run(&["--max-bytes", &half, "--tradeoff", curve.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("loosened to fit the budget"), "{text}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(r["bytes_moved"].as_u64().unwrap() <= full / 2);
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&curve).unwrap()).unwrap();
    let points = c["points"].as_array().unwrap();
    assert!(points.len() >= 5, "{c}");
    let mut last = f64::MAX;
    for p in points {
        if p["feasible"] == false {
            continue;
        }
        assert!(
            p["bytes_moved"].as_u64().unwrap() <= p["budget_bytes"].as_u64().unwrap(),
            "{p}"
        );
        let ratio = p["disk_max_mean_ratio"].as_f64().unwrap();
        assert!(ratio <= last + 0.02, "{p}");
        last = ratio;
    }
    assert!(last <= 1.005, "the full budget balances the disks");

    // Usage errors: exit 2, nothing written.
    std::fs::remove_file(&plan).unwrap();
    for bad in [["--disk-tolerance", "150%"], ["--max-bytes", "lots"]] {
        let out = run(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(!plan.exists());
    }
}

/// Flags that do not go together are usage errors (exit 2) naming the rule, nothing written.
#[test]
fn disk_tolerance_and_topic_spread_need_the_right_balance() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    for (args, says) in [
        (
            vec!["--disk-tolerance", "1%"],
            "--disk-tolerance applies to --balance bytes only",
        ),
        (
            vec!["--balance", "bytes", "--topic-spread"],
            "cannot be combined with --balance bytes",
        ),
    ] {
        let out = command()
            .args(["plan", "--snapshot", &fixture("scale-out"), "--output"])
            .arg(&plan)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}"
        );
        assert!(!plan.exists());
    }
}
