//! `kafka-replan score --json` must print what the bench scorer (`../shared/bench/score.py`)
//! prints, key for key, on the public suite snapshots and on valid and invalid plans.
//!
//! Needs `python3` and the bench folder next to the repository (`../shared/bench`); without
//! them the test fails rather than skips, so a broken CI layout cannot pass silently.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use support::cli::command;

fn bench_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/bench"))
}

/// Small deterministic generator (xorshift64*), so the plans are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn read_snapshot(path: &Path) -> Value {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_string(&mut s)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        s
    } else {
        String::from_utf8(raw).unwrap()
    };
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

struct Snap {
    brokers: Vec<i64>,
    excluded: Vec<i64>,
    /// (topic, partition, replicas)
    parts: Vec<(String, i64, Vec<i64>)>,
}

impl Snap {
    fn new(v: &Value) -> Self {
        let brokers = v["brokers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_i64().unwrap())
            .collect();
        let excluded = v["scenario"]["exclude_brokers"]
            .as_array()
            .map(|a| a.iter().map(|b| b.as_i64().unwrap()).collect())
            .unwrap_or_default();
        let parts = v["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["topic"].as_str().unwrap().to_string(),
                    p["partition"].as_i64().unwrap(),
                    p["replicas"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_i64().unwrap())
                        .collect(),
                )
            })
            .collect();
        Snap {
            brokers,
            excluded,
            parts,
        }
    }

    fn allowed(&self) -> Vec<i64> {
        self.brokers
            .iter()
            .copied()
            .filter(|b| !self.excluded.contains(b))
            .collect()
    }
}

fn entry(topic: &str, partition: i64, replicas: &[i64]) -> Value {
    json!({"topic": topic, "partition": partition, "replicas": replicas})
}

fn plan(entries: Vec<Value>) -> Value {
    json!({"version": 1, "partitions": entries})
}

/// Random single-replica moves onto allowed brokers, and some leader swaps.
fn random_moves(s: &Snap, rng: &mut Rng) -> Value {
    let allowed = s.allowed();
    let n = (s.parts.len() / 10).clamp(1, 300);
    let mut picked = std::collections::BTreeSet::new();
    for _ in 0..n {
        picked.insert(rng.below(s.parts.len()));
    }
    let mut entries = Vec::new();
    for i in picked {
        let (t, p, reps) = &s.parts[i];
        let mut reps = reps.clone();
        if rng.below(3) == 0 && reps.len() > 1 {
            reps.rotate_left(1);
        } else {
            let free: Vec<i64> = allowed
                .iter()
                .copied()
                .filter(|b| !reps.contains(b))
                .collect();
            if free.is_empty() {
                continue;
            }
            let j = rng.below(reps.len());
            reps[j] = free[rng.below(free.len())];
        }
        entries.push(entry(t, *p, &reps));
    }
    plan(entries)
}

/// Moves every replica off the excluded brokers onto the allowed broker with the fewest
/// replicas so far that the partition does not use.
fn drain_excluded(s: &Snap) -> Value {
    let allowed = s.allowed();
    let mut count: std::collections::BTreeMap<i64, usize> =
        allowed.iter().map(|b| (*b, 0)).collect();
    for (_, _, reps) in &s.parts {
        for b in reps {
            if let Some(c) = count.get_mut(b) {
                *c += 1;
            }
        }
    }
    let mut entries = Vec::new();
    for (t, p, reps) in &s.parts {
        if !reps.iter().any(|b| s.excluded.contains(b)) {
            continue;
        }
        let mut new = reps.clone();
        for j in 0..new.len() {
            if s.excluded.contains(&new[j]) {
                let best = allowed
                    .iter()
                    .copied()
                    .filter(|b| !new.contains(b))
                    .min_by_key(|b| (count[b], *b));
                if let Some(b) = best {
                    new[j] = b;
                    *count.entry(b).or_insert(0) += 1;
                }
            }
        }
        entries.push(entry(t, *p, &new));
    }
    plan(entries)
}

/// One entry of every kind of mistake the scorer reports, plus JSON oddities whose messages
/// depend on Python's `str`/`repr` (floats, booleans, strings).
fn invalid_mix(s: &Snap) -> Value {
    let (t0, p0, r0) = &s.parts[0];
    let (t1, p1, r1) = &s.parts[1];
    let (t2, p2, r2) = &s.parts[2];
    let (t3, p3, _) = &s.parts[3];
    let mut dup = r0.clone();
    if dup.len() > 1 {
        dup[1] = dup[0];
    }
    let mut unknown = r1.clone();
    unknown[0] = 9999;
    let mut shorter = r2.clone();
    shorter.pop();
    let mut entries = vec![
        entry(t0, *p0, &dup),
        entry(t1, *p1, &unknown),
        entry(t2, *p2, &shorter),
        entry(t2, *p2, r2),
        entry("no-such-topic", 0, &[1]),
        json!({"topic": t3, "partition": *p3 as f64, "replicas": [1, 2.0]}),
        json!({"topic": t3, "partition": (*p3).to_string(), "replicas": [1]}),
        json!({"topic": 7, "partition": 0, "replicas": [1]}),
        json!({"topic": t3, "partition": 0.5, "replicas": [1]}),
        json!({"topic": t3, "partition": *p3, "replicas": "1,2"}),
        json!({"topic": t3, "partition": *p3}),
        json!([1, 2, 3]),
    ];
    // Booleans are ints in Python: `true` is broker 1 (a duplicate when 1 is listed too).
    let mut with_bool: Vec<Value> = s.parts[4].2.iter().map(|b| json!(b)).collect();
    with_bool[0] = json!(true);
    entries.push(json!({"topic": s.parts[4].0, "partition": s.parts[4].1, "replicas": with_bool}));
    if let Some(&ex) = s.excluded.first() {
        let (t, p, r) = s.parts.iter().find(|(_, _, r)| !r.contains(&ex)).unwrap();
        let mut onto = r.clone();
        onto[0] = ex;
        entries.push(entry(t, *p, &onto));
    }
    json!({"version": 2, "partitions": entries})
}

fn many_errors() -> Value {
    plan(
        (0..30)
            .map(|i| entry("no-such-topic", i, &[1, 2, 3]))
            .collect(),
    )
}

fn plans_for(s: &Snap, small: bool) -> Vec<(&'static str, Value)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = vec![
        ("empty", plan(vec![])),
        ("random-moves", random_moves(s, &mut rng)),
        ("invalid-mix", invalid_mix(s)),
    ];
    if !s.excluded.is_empty() {
        out.push(("drain-excluded", drain_excluded(s)));
    }
    if small {
        let (t, p, r) = &s.parts[0];
        let mut moved = random_moves(s, &mut rng);
        moved["version"] = json!("1");
        out.push(("version-string", moved));
        out.push((
            "float-version",
            json!({"version": 1.0, "partitions": [entry(t, *p, r)]}),
        ));
        out.push(("many-errors", many_errors()));
        out.push(("not-a-plan", json!([])));
        out.push(("no-partitions", json!({"version": 1})));
    }
    out
}

fn num_eq(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
        (Some(x), Some(y), _, _) => x == y,
        (_, _, Some(x), Some(y)) => x == y,
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
            _ => false,
        },
    }
}

/// The first difference between `ours` and `theirs`, with its JSON path.
fn first_diff(path: &str, ours: &Value, theirs: &Value) -> Option<String> {
    match (ours, theirs) {
        (Value::Number(a), Value::Number(b)) => {
            (!num_eq(a, b)).then(|| format!("{path}: ours {a}, score.py {b}"))
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!(
                    "{path}: ours has {} items, score.py {}: ours {ours}, score.py {theirs}",
                    a.len(),
                    b.len()
                ));
            }
            a.iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| first_diff(&format!("{path}[{i}]"), x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            for k in b.keys() {
                if path.is_empty() && k == "snapshot" {
                    continue;
                }
                let Some(x) = a.get(k) else {
                    return Some(format!("{path}.{k}: missing in ours"));
                };
                if let Some(d) = first_diff(&format!("{path}.{k}"), x, &b[k]) {
                    return Some(d);
                }
            }
            a.keys()
                .find(|k| !b.contains_key(*k))
                .map(|k| format!("{path}.{k}: not in score.py's output"))
        }
        _ => (ours != theirs).then(|| format!("{path}: ours {ours}, score.py {theirs}")),
    }
}

fn run_json(cmd: &mut Command, what: &str) -> (Value, Option<i32>) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: no JSON on stdout ({e}); exit {:?}; stderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out.status.code())
}

#[test]
fn score_json_agrees_with_the_bench_scorer() {
    let bench = bench_dir();
    let scorer = bench.join("score.py");
    assert!(
        scorer.is_file(),
        "the bench scorer is missing: expected {} (the repository must sit next to a copy of \
         shared/, i.e. ../shared/bench relative to the repository root)",
        scorer.display()
    );
    let suite = bench.join("suite");
    let mut snapshots: Vec<PathBuf> = std::fs::read_dir(&suite)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", suite.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (n.starts_with("small-") || n.starts_with("medium-"))
                && (n.ends_with(".json") || n.ends_with(".json.gz"))
        })
        .collect();
    snapshots.sort();
    assert!(
        !snapshots.is_empty(),
        "no small-*/medium-* snapshots in {}",
        suite.display()
    );
    let python = Command::new("python3").arg("--version").output();
    assert!(
        python.is_ok_and(|o| o.status.success()),
        "python3 is needed to run the bench scorer"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut compared = 0;
    for snap_path in &snapshots {
        let name = snap_path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let snap = Snap::new(&read_snapshot(snap_path));
        let small = name.starts_with("small-");
        for (label, plan) in plans_for(&snap, small) {
            let plan_path = dir.path().join(format!("{name}.{label}.json"));
            std::fs::write(&plan_path, serde_json::to_vec(&plan).unwrap()).unwrap();
            let (theirs, their_code) = run_json(
                Command::new("python3")
                    .arg(&scorer)
                    .arg(snap_path)
                    .arg(&plan_path),
                &format!("score.py on {name} / {label}"),
            );
            let mut cmd = command();
            cmd.arg("score")
                .arg("--snapshot")
                .arg(snap_path)
                .arg("--plan")
                .arg(&plan_path)
                .arg("--json");
            if !snap.excluded.is_empty() {
                let ids: Vec<String> = snap.excluded.iter().map(|b| b.to_string()).collect();
                cmd.arg("--exclude-brokers").arg(ids.join(","));
            }
            let (ours, our_code) = run_json(&mut cmd, &format!("kafka-replan on {name} / {label}"));
            if let Some(d) = first_diff("", &ours, &theirs) {
                panic!("{name} / {label}: first difference at {d}");
            }
            assert_eq!(our_code, their_code, "{name} / {label}: exit codes differ");
            compared += 1;
        }
    }
    assert!(compared >= snapshots.len() * 3);
}
