//! A corrupt, truncated or hand-edited apply journal: `Journal::open` refuses it with a
//! clear error, and `apply --resume`, `cancel --journal` and `verify --journal` exit
//! without sending a single request to the cluster (a scripted broker logs every request).

mod support;

use std::path::Path;
use std::sync::Arc;

use kafka_replan::apply::journal::{Journal, JournalBatch, JournalState, Move};
use kafka_replan::model::{Plan, TopicPartition};
use proptest::prelude::*;
use support::hostile::{normal_reply, run_measured, ScriptedBroker};

fn plan(pairs: &[(&str, i32, &[i32])]) -> Plan {
    let mut p = Plan::default();
    for (t, n, r) in pairs {
        p.changes.insert(TopicPartition::new(*t, *n), r.to_vec());
    }
    p
}

/// A journal of a two-batch run stopped in its second batch, as text.
fn journal_text() -> String {
    let target = plan(&[("t", 0, &[3, 4]), ("t", 1, &[4, 1])]);
    let original = plan(&[("t", 0, &[1, 2]), ("t", 1, &[2, 1])]);
    let batches = vec![
        JournalBatch {
            moves: vec![Move {
                topic: "t".into(),
                partition: 0,
                from: vec![1, 2],
                to: vec![3, 4],
                bytes: 200,
            }],
        },
        JournalBatch {
            moves: vec![Move {
                topic: "t".into(),
                partition: 1,
                from: vec![2, 1],
                to: vec![4, 1],
                bytes: 80,
            }],
        },
    ];
    let mut state = JournalState::new(&target, &original, "127.0.0.1:9092", 1000, batches);
    state.current_batch = 1;
    let dir = tempfile::tempdir().unwrap();
    Journal::create(dir.path(), state).unwrap();
    std::fs::read_to_string(Journal::path_in(dir.path())).unwrap()
}

fn write_journal(dir: &Path, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(Journal::path_in(dir), text).unwrap();
}

fn edit(text: &str, f: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
    f(&mut v);
    serde_json::to_string_pretty(&v).unwrap()
}

/// Hand edits that break a rule, each with what the error must say.
fn hand_edits(text: &str) -> Vec<(&'static str, String, &'static str)> {
    vec![
        (
            "batch index past the batches",
            edit(text, |v| v["current_batch"] = 7.into()),
            "current batch 8 of 2 batches",
        ),
        (
            "target changed",
            edit(text, |v| {
                v["targets"][0]["replicas"] = serde_json::json!([5, 6])
            }),
            "the targets do not match the plan digest",
        ),
        (
            "digest changed",
            edit(text, |v| v["plan_sha256"] = "00".into()),
            "the targets do not match the plan digest",
        ),
        (
            "batch moves an unplanned partition",
            edit(text, |v| {
                v["batches"][1]["moves"][0]["topic"] = "other".into()
            }),
            "batch 2 moves other-1, which the plan does not",
        ),
        (
            "batch target lists a broker twice",
            edit(text, |v| {
                v["batches"][0]["moves"][0]["to"] = serde_json::json!([3, 3])
            }),
            "batch 1's target of t-0 lists broker 3 twice",
        ),
        (
            "original replicas emptied",
            edit(text, |v| {
                v["original"][0]["replicas"] = serde_json::json!([])
            }),
            "the original replicas of t-0 is empty",
        ),
        (
            "original partition removed",
            edit(text, |v| {
                v["original"].as_array_mut().unwrap().remove(1);
            }),
            "t-1 has a target but no original replicas",
        ),
        (
            "unknown phase",
            edit(text, |v| v["phase"] = "exploding".into()),
            "unknown variant",
        ),
        (
            "format from the future",
            edit(text, |v| v["format"] = 99.into()),
            "format 99",
        ),
        (
            "negative batch index",
            edit(text, |v| v["current_batch"] = (-1).into()),
            "invalid value",
        ),
    ]
}

#[test]
fn valid_journal_opens() {
    let dir = tempfile::tempdir().unwrap();
    write_journal(dir.path(), &journal_text());
    let j = Journal::open(dir.path()).unwrap();
    assert_eq!(j.state.current_batch, 1);
}

#[test]
fn hand_edited_journals_are_refused() {
    let text = journal_text();
    for (what, edited, want) in hand_edits(&text) {
        let dir = tempfile::tempdir().unwrap();
        write_journal(dir.path(), &edited);
        let e = Journal::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains(want), "{what}: {e}");
        assert!(e.starts_with("journal "), "{what}: {e}");
        assert!(!e.contains('\n'), "{what}: {e}");
    }
}

#[test]
fn truncated_journals_are_refused() {
    let text = journal_text();
    // Every cut that loses a byte of the JSON (a trailing newline is not part of it).
    for cut in 0..text.trim_end().len() {
        let dir = tempfile::tempdir().unwrap();
        write_journal(dir.path(), &text[..cut]);
        let e = Journal::open(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("not a kafka-replan journal"),
            "cut at {cut}: {e}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    })]
    /// Byte mutations of a valid journal: opened only when every rule still holds, never a
    /// panic.
    #[test]
    fn mutated_journals_never_panic(at in any::<prop::sample::Index>(), byte in any::<u8>(), n in 1usize..4) {
        let mut bytes = journal_text().into_bytes();
        for k in 0..n {
            let i = (at.index(bytes.len()) + k * 7) % bytes.len();
            bytes[i] = byte;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path()).unwrap();
        std::fs::write(Journal::path_in(dir.path()), &bytes).unwrap();
        match Journal::open(dir.path()) {
            Ok(j) => prop_assert!(j.state.check().is_ok()),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

/// Each command that acts from a journal, on each broken journal: a failure exit, the
/// journal named, and not one request on the wire.
#[test]
fn commands_send_nothing_for_a_broken_journal() {
    let text = journal_text();
    let mut broken: Vec<(&str, String)> = hand_edits(&text)
        .into_iter()
        .map(|(what, t, _)| (what, t))
        .collect();
    broken.push(("truncated", text[..text.len() / 2].to_string()));
    broken.push(("not JSON", "\u{0}\u{1}garbage".to_string()));
    for (what, edited) in broken {
        let broker = ScriptedBroker::start(Arc::new(normal_reply));
        let dir = tempfile::tempdir().unwrap();
        let jdir = dir.path().join("journal");
        write_journal(&jdir, &edited);
        let plan_path = dir.path().join("plan.json");
        std::fs::write(
            &plan_path,
            r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[3,4]},{"topic":"t","partition":1,"replicas":[4,1]}]}"#,
        )
        .unwrap();
        let addr = broker.addr();
        let j = jdir.to_str().unwrap();
        let p = plan_path.to_str().unwrap();
        for args in [
            vec![
                "apply",
                "--resume",
                "--journal",
                j,
                "--bootstrap-server",
                &addr,
            ],
            vec!["cancel", "--journal", j, "--bootstrap-server", &addr],
            vec![
                "verify",
                "--plan",
                p,
                "--journal",
                j,
                "--bootstrap-server",
                &addr,
            ],
        ] {
            let run = run_measured(dir.path(), &args);
            assert!(
                matches!(run.code, Some(1) | Some(2)),
                "{what}: {args:?}: {:?} {}",
                run.code,
                run.stderr
            );
            assert!(
                run.stderr.starts_with("error: journal "),
                "{what}: {args:?}: {}",
                run.stderr
            );
            assert_eq!(run.stderr.lines().count(), 1, "{what}: {}", run.stderr);
        }
        assert!(
            broker.log().is_empty(),
            "{what}: requests sent: {:?}",
            broker.keys()
        );
    }
}
