//! `--sample-rates` on the command line: a window without a unit or out of range, and the
//! flag without a live cluster, are usage errors (exit 2) that write nothing.

mod support;

use support::cli::{fixture_snapshot, run, stderr};

fn assert_usage_error(args: &[&str], needle: &str, out: &std::path::Path) {
    let o = run(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    assert!(!out.exists(), "{args:?} wrote {}", out.display());
}

#[test]
fn bad_windows_and_offline_sources_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cluster.json");
    let out_s = out.to_str().unwrap();
    // An address nothing listens on: the flags must be refused before any connection.
    let live = [
        "snapshot",
        "--bootstrap-server",
        "127.0.0.1:1",
        "--output",
        out_s,
    ];
    for (window, needle) in [
        ("60", "has no unit"),
        ("0s", "between 1 s and 3600 s"),
        ("2h", "between 1 s and 3600 s"),
        ("fast", "not a duration"),
    ] {
        let mut args = live.to_vec();
        args.extend(["--sample-rates", window]);
        assert_usage_error(&args, needle, &out);
    }
    let snapshot = fixture_snapshot("scale-out");
    assert_usage_error(
        &["plan", "--snapshot", &snapshot, "--sample-rates", "10s"],
        "--bootstrap-server",
        &out,
    );
    assert_usage_error(
        &[
            "snapshot",
            "--reassignment-json",
            &snapshot,
            "--sample-rates",
            "10s",
            "--output",
            out_s,
        ],
        "--bootstrap-server",
        &out,
    );
}

#[test]
fn help_describes_the_flag() {
    let o = run(["snapshot", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("--sample-rates <DURATION>"), "{help}");
    assert!(help.contains("Read-only"), "{help}");
}
