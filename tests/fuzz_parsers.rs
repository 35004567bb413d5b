//! Mutation fuzzing of every file parser, seeded from the spec vectors and the repository's
//! fixtures (compiled in, so the test reads no path at run time): snapshot JSON and gzip
//! snapshots, reassignment JSON (plain, for execute, and as a plan), election JSON,
//! topics-to-move JSON, `kafka-topics --describe` text, `kafka-log-dirs --describe` output,
//! racks files, disk capacities, the four kafka files combined, `client.properties` with
//! its JAAS line, and the apply journal.
//!
//! Each case takes a valid seed and applies a few structure-blind mutations: byte flips,
//! truncation, deletion, repeats, splices from other seeds, a number replaced by a huge or
//! negative one, and deep nesting. The parser must return (no panic, no stack overflow),
//! and an error must have a message naming its source (the file name or journal path;
//! for properties, JAAS and the capacity flag, whose callers add the file or flag name,
//! a non-empty message).
//!
//! `tests/formats_proptest.rs` covers random text and round trips; this file is about
//! inputs that are almost valid, which reach the parsers' deeper checks.
//!
//! Cases per property: `PROPTEST_CASES` (default 512 here, about a second in release);
//! `scripts/fuzz.sh` runs many more.

mod support;

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;

use kafka_replan::apply::journal::Journal;
use kafka_replan::formats::election::parse_election_json;
use kafka_replan::formats::generate::parse_topics_to_move;
use kafka_replan::formats::kafka_files::{cluster_from_kafka_files, KafkaFiles, SourceText};
use kafka_replan::formats::log_dirs::parse_log_dirs;
use kafka_replan::formats::racks::{parse_broker_racks, parse_byte_size, parse_capacity_spec};
use kafka_replan::formats::reassignment::{
    parse_reassignment_json, parse_reassignment_json_for_execute,
};
use kafka_replan::formats::snapshot::parse_snapshot;
use kafka_replan::formats::topics_describe::parse_topics_describe;
use kafka_replan::formats::{decode_text, FormatError};
use kafka_replan::kafka::properties::{parse_jaas_config, parse_properties, ClientConfig};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

// ---------------------------------------------------------------------------------------
// Seeds

const SNAPSHOTS: &[&str] = &[
    include_str!("../fixtures/capacity-bound/snapshot.json"),
    include_str!("../fixtures/decommission/snapshot.json"),
    include_str!("../fixtures/in-flight/snapshot.json"),
    include_str!("../fixtures/infeasible/snapshot.json"),
    include_str!("../fixtures/mixed-rf/snapshot.json"),
    include_str!("../fixtures/no-racks/snapshot.json"),
    include_str!("../fixtures/rack-repair/snapshot.json"),
    include_str!("../fixtures/scale-out/snapshot.json"),
    include_str!("../fixtures/skewed/snapshot.json"),
    include_str!("../fixtures/unequal-racks/snapshot.json"),
];

const REASSIGNMENTS: &[&str] = &[
    include_str!("vectors/docs-custom-reassignment.json"),
    include_str!("vectors/docs-increase-replication-factor.json"),
    include_str!("vectors/execute-input.json"),
    include_str!("../fixtures/kafka-files/current.json"),
    include_str!("../fixtures/kafka-files/current-unknown-broker.json"),
    include_str!("../fixtures/decommission/expected-plan.json"),
    include_str!("../fixtures/decommission/expected-rollback.json"),
];

/// What `snapshot --from-files` also takes in the current assignment's place: whole
/// `--generate` outputs (two JSON documents under their headings).
const GENERATE_OUTPUTS: &[&str] = &[
    include_str!("vectors/generate-output-4.1.txt"),
    include_str!("vectors/generate-output-4.2.txt"),
];

/// Seeds that parse but fail a later check (R30: replicas and log dirs of different sizes):
/// their mutations reach the validation past the syntax.
const INVALID_REASSIGNMENTS: &[&str] = &[include_str!("vectors/docs-rollback-json-stale.json")];

const ELECTIONS: &[&str] = &[include_str!("vectors/leader-election-example.json")];

const TOPICS_TO_MOVE: &[&str] = &[
    include_str!("vectors/docs-topics-to-move.json"),
    include_str!("../fixtures/generate/topics-foo-bar.json"),
    include_str!("../fixtures/generate/topics-orders-clicks.json"),
];

const TOPICS_DESCRIBE: &[&str] = &[
    include_str!("vectors/topics-describe-4x.txt"),
    include_str!("vectors/topics-describe-legacy.txt"),
    include_str!("../fixtures/kafka-files/topics-describe.txt"),
];

const LOG_DIRS: &[&str] = &[
    include_str!("vectors/log-dirs-describe-3.5.txt"),
    include_str!("vectors/log-dirs-describe-3.6plus.txt"),
    include_str!("../fixtures/kafka-files/log-dirs.txt"),
];

const RACKS: &[&str] = &[
    include_str!("../fixtures/kafka-files/racks.txt"),
    "# id rack\n1 r1\n2 r2\n3\n4:r4\n5\tr5 # trailing comment\n",
];

const CAPACITIES: &[&str] = &["2TB", "1=500GiB,2=1.5TB,3=750000000000", "4=2TiB,5=1000"];

const PROPERTIES: &[&str] = &[
    include_str!("../fixtures/vectors/command-config-scram-pem.properties"),
    "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n\
     sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \
     username=\"alice\" password=\"a\\\\\\\"b\";\nrequest.timeout.ms=30000\n\
     kafka-replan.max.response.bytes=67108864\n",
    "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=/etc/ca.pem\n\
     ssl.keystore.type=PEM\nssl.keystore.location=/etc/client.pem\nssl.key.password=k\n\
     default.api.timeout.ms=60000\nclient.id=x\n",
    "bootstrap.servers=a:9092,b:9092\n! comment\nsecurity.protocol : PLAINTEXT\n\
     key\\ with\\ spaces = v\\u0041lue \\\n  continued\n",
];

const JAAS: &[&str] = &[
    "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"p@ss;w=rd\";",
    "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"a\\\"b\";",
    "org.apache.kafka.common.security.scram.ScramLoginModule required username=admin password=secret tokenauth=true;",
];

/// The text of a journal as `apply` writes it: the shared fake cluster's plan, prepared.
fn journal_seed() -> &'static [u8] {
    static SEED: OnceLock<Vec<u8>> = OnceLock::new();
    SEED.get_or_init(|| {
        let (admin, plan, rollback, _) = support::fake_apply::cluster();
        let dir = tempfile::tempdir().unwrap();
        let mut j = support::fake_apply::start(&admin, &plan, &rollback, dir.path());
        j.record(Some(0), "submitted").unwrap();
        std::fs::read(Journal::path_in(dir.path())).unwrap()
    })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn gzip_snapshots() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| SNAPSHOTS.iter().map(|s| gzip(s.as_bytes())).collect())
}

fn bytes_of(seeds: &[&str]) -> Vec<Vec<u8>> {
    seeds.iter().map(|s| s.as_bytes().to_vec()).collect()
}

// ---------------------------------------------------------------------------------------
// Mutations

/// Numbers that break parsers that trust them: past i32/i64/u64, negative, exponents.
const HUGE_NUMBERS: &[&str] = &[
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "99999999999999999999999999999999999999",
    "-1",
    "0",
    "1e308",
    "1e999",
    "-0.0",
    "4294967296",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Sets one byte.
    Flip(Index, u8),
    /// Cuts the input here.
    Truncate(Index),
    /// Removes up to `len` bytes.
    Delete(Index, usize),
    /// Adds copies of a stretch of the input after it (a duplicated line, key or array
    /// element).
    Repeat(Index, usize, usize),
    /// Inserts a stretch of another seed of the same parser.
    Splice(Index, Index, usize, Index),
    /// Replaces the digit run at or after a position with a huge or odd number.
    HugeNumber(Index, usize),
    /// Inserts `depth` opening brackets or braces (closed or not).
    Nest(Index, usize, bool, bool),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => (any::<Index>(), 1usize..64, 1usize..200)
            .prop_map(|(i, n, k)| Mutation::Repeat(i, n, k)),
        2 => (any::<Index>(), any::<Index>(), 1usize..200, any::<Index>())
            .prop_map(|(s, from, n, at)| Mutation::Splice(s, from, n, at)),
        2 => (any::<Index>(), 0..HUGE_NUMBERS.len()).prop_map(|(i, n)| Mutation::HugeNumber(i, n)),
        1 => (any::<Index>(), prop_oneof![1usize..200, 1000usize..20_000], any::<bool>(), any::<bool>())
            .prop_map(|(i, d, brace, closed)| Mutation::Nest(i, d, brace, closed)),
    ]
}

/// `seed` with `mutations` applied in order; `others` are the seeds splices take from.
fn mutate(seed: &[u8], others: &[Vec<u8>], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for m in mutations {
        let at = |i: &Index, len: usize| i.index(len + 1);
        match m {
            Mutation::Flip(i, byte) => {
                if !b.is_empty() {
                    let k = i.index(b.len());
                    b[k] = *byte;
                }
            }
            Mutation::Truncate(i) => b.truncate(at(i, b.len())),
            Mutation::Delete(i, n) => {
                let k = at(i, b.len());
                let end = (k + n).min(b.len());
                b.drain(k..end);
            }
            Mutation::Repeat(i, n, times) => {
                let k = at(i, b.len());
                let end = (k + n).min(b.len());
                let part = b[k..end].to_vec();
                let tail = b.split_off(end);
                for _ in 0..*times {
                    b.extend_from_slice(&part);
                }
                b.extend_from_slice(&tail);
            }
            Mutation::Splice(s, from, n, into) => {
                let src = &others[s.index(others.len())];
                let k = at(from, src.len());
                let end = (k + n).min(src.len());
                let part = src[k..end].to_vec();
                let pos = at(into, b.len());
                b.splice(pos..pos, part);
            }
            Mutation::HugeNumber(i, which) => {
                let start = at(i, b.len());
                if let Some(d) = b[start..].iter().position(u8::is_ascii_digit) {
                    let s = start + d;
                    let e = s + b[s..].iter().take_while(|c| c.is_ascii_digit()).count();
                    b.splice(s..e, HUGE_NUMBERS[*which].bytes());
                }
            }
            Mutation::Nest(i, depth, brace, closed) => {
                let (open, close): (&[u8], &[u8]) = if *brace {
                    (b"{\"a\":", b"}")
                } else {
                    (b"[", b"]")
                };
                let pos = at(i, b.len());
                let mut ins = Vec::with_capacity(depth * (open.len() + 1));
                for _ in 0..*depth {
                    ins.extend_from_slice(open);
                }
                ins.push(b'1');
                if *closed {
                    for _ in 0..*depth {
                        ins.extend_from_slice(close);
                    }
                }
                b.splice(pos..pos, ins);
            }
        }
    }
    b
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(mutation(), 1..5)
}

// ---------------------------------------------------------------------------------------
// Checks

/// An error of a file parser: at least one problem, each line starting with the file name.
fn assert_names_source(e: &FormatError, name: &str) {
    assert!(!e.problems.is_empty(), "an error without a problem");
    let text = e.to_string();
    assert!(!text.trim().is_empty(), "empty message");
    for line in text.lines() {
        assert!(
            line.starts_with(&format!("{name}:")),
            "{line:?} does not name {name}"
        );
        assert!(
            line.len() > name.len() + 2,
            "no message after the name: {line:?}"
        );
    }
}

fn check_format<T>(r: Result<T, FormatError>, name: &str) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            assert_names_source(&e, name);
            None
        }
    }
}

/// Text as the CLI gets it: UTF-8 decoding is the first check, and names the file too.
fn text_of<'a>(bytes: &'a [u8], name: &str) -> Option<&'a str> {
    check_format(decode_text(name, bytes), name)
}

/// A parser error that its caller prefixes with the file or flag name: a real message.
fn assert_message(e: &impl std::fmt::Display) {
    let text = e.to_string();
    assert!(!text.trim().is_empty(), "empty message");
}

fn reassignment(bytes: &[u8]) {
    let name = "plan.json";
    let Some(text) = text_of(bytes, name) else {
        return;
    };
    if let Some(json) = check_format(parse_reassignment_json(name, text), name) {
        check_format(json.to_plan(name), name);
        check_format(json.check_for_execute(name), name);
    }
    check_format(parse_reassignment_json_for_execute(name, text), name);
}

fn snapshot(bytes: Vec<u8>) {
    check_format(parse_snapshot("snap.json.gz", bytes), "snap.json.gz");
}

fn properties(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    match parse_properties(text) {
        Ok(props) => {
            if let Err(e) = ClientConfig::from_properties(&props) {
                assert_message(&e);
            }
            if let Some(jaas) = props.get("sasl.jaas.config") {
                if let Err(e) = parse_jaas_config(jaas) {
                    assert_message(&e);
                }
            }
        }
        Err(e) => assert_message(&e),
    }
}

fn journal(dir: &Path, bytes: &[u8]) {
    std::fs::write(Journal::path_in(dir), bytes).unwrap();
    if let Err(e) = Journal::open(dir) {
        let text = e.to_string();
        assert!(
            text.contains(&dir.display().to_string()),
            "does not name the journal: {text}"
        );
        assert!(
            text.len() > dir.display().to_string().len() + 10,
            "no reason: {text}"
        );
    }
}

/// The four kafka files, one of them mutated: an error names one of the files (or the
/// capacity flag), whichever the problem is in.
fn kafka_files(which: usize, with_describe: bool, mutated: &[u8]) {
    let names = [
        "current.json",
        "topics-describe.txt",
        "racks.txt",
        "log-dirs.txt",
    ];
    let mut texts: Vec<Vec<u8>> = vec![
        include_bytes!("../fixtures/kafka-files/current.json").to_vec(),
        include_bytes!("../fixtures/kafka-files/topics-describe.txt").to_vec(),
        include_bytes!("../fixtures/kafka-files/racks.txt").to_vec(),
        include_bytes!("../fixtures/kafka-files/log-dirs.txt").to_vec(),
    ];
    texts[which] = mutated.to_vec();
    let Some(strs) = texts
        .iter()
        .zip(names)
        .map(|(t, n)| text_of(t, n))
        .collect::<Option<Vec<&str>>>()
    else {
        return;
    };
    let capacity = parse_capacity_spec("2TB").unwrap();
    let files = KafkaFiles {
        reassignment_json: (!with_describe).then_some(SourceText {
            name: names[0],
            text: strs[0],
        }),
        topics_describe: with_describe.then_some(SourceText {
            name: names[1],
            text: strs[1],
        }),
        broker_racks: SourceText {
            name: names[2],
            text: strs[2],
        },
        log_dirs: Some(SourceText {
            name: names[3],
            text: strs[3],
        }),
        capacity: Some(&capacity),
        capacity_source: "--broker-capacity",
    };
    if let Err(e) = cluster_from_kafka_files(&files) {
        let text = e.to_string();
        assert!(!e.problems.is_empty() && !text.trim().is_empty());
        for line in text.lines() {
            assert!(
                names
                    .iter()
                    .chain(&["--broker-capacity"])
                    .any(|n| line.starts_with(&format!("{n}:"))),
                "names no source: {line:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        // Shrinking a failing case of these inputs takes long and says little more than the
        // case itself; proptest still prints the failing input and persists its seed.
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_snapshots(seed in any::<Index>(), m in mutations(), gz in any::<bool>()) {
        let seeds = bytes_of(SNAPSHOTS);
        let bytes = mutate(&seeds[seed.index(seeds.len())], &seeds, &m);
        // Mutated JSON, sometimes inside a valid gzip stream (the reader's other path).
        snapshot(if gz { gzip(&bytes) } else { bytes });
    }

    #[test]
    fn mutated_gzip_streams(seed in any::<Index>(), m in mutations()) {
        let seeds = gzip_snapshots();
        snapshot(mutate(&seeds[seed.index(seeds.len())], seeds, &m));
    }

    #[test]
    fn mutated_reassignment_json(seed in any::<Index>(), m in mutations()) {
        let seeds = bytes_of(&[REASSIGNMENTS, INVALID_REASSIGNMENTS].concat());
        reassignment(&mutate(&seeds[seed.index(seeds.len())], &seeds, &m));
    }

    #[test]
    fn mutated_election_and_topics_to_move_json(seed in any::<Index>(), m in mutations()) {
        let seeds = bytes_of(ELECTIONS);
        let bytes = mutate(&seeds[seed.index(seeds.len())], &seeds, &m);
        if let Some(text) = text_of(&bytes, "elect.json") {
            check_format(parse_election_json("elect.json", text), "elect.json");
        }
        let seeds = bytes_of(TOPICS_TO_MOVE);
        let bytes = mutate(&seeds[seed.index(seeds.len())], &seeds, &m);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if let Err(e) = parse_topics_to_move(text) {
                assert_message(&e);
            }
        }
    }

    #[test]
    fn mutated_topics_describe(seed in any::<Index>(), m in mutations()) {
        let seeds = bytes_of(TOPICS_DESCRIBE);
        let bytes = mutate(&seeds[seed.index(seeds.len())], &seeds, &m);
        if let Some(text) = text_of(&bytes, "describe.txt") {
            check_format(parse_topics_describe("describe.txt", text), "describe.txt");
        }
    }

    #[test]
    fn mutated_log_dirs(seed in any::<Index>(), m in mutations()) {
        let seeds = bytes_of(LOG_DIRS);
        let bytes = mutate(&seeds[seed.index(seeds.len())], &seeds, &m);
        if let Some(text) = text_of(&bytes, "log-dirs.txt") {
            check_format(parse_log_dirs("log-dirs.txt", text), "log-dirs.txt");
        }
    }

    #[test]
    fn mutated_racks_and_capacities(seed in any::<Index>(), m in mutations()) {
        let seeds = bytes_of(RACKS);
        let bytes = mutate(&seeds[seed.index(seeds.len())], &seeds, &m);
        if let Some(text) = text_of(&bytes, "racks.txt") {
            check_format(parse_broker_racks("racks.txt", text), "racks.txt");
        }
        let seeds = bytes_of(CAPACITIES);
        let bytes = mutate(&seeds[seed.index(seeds.len())], &seeds, &m);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if let Err(e) = parse_capacity_spec(text) {
                assert_message(&e);
            }
            if let Err(e) = parse_byte_size(text) {
                assert_message(&e);
            }
        }
    }

    #[test]
    fn mutated_kafka_file_sets(
        which in 0usize..4,
        with_describe in any::<bool>(),
        generate in any::<Index>(),
        m in mutations(),
    ) {
        let seeds = bytes_of(&[
            include_str!("../fixtures/kafka-files/current.json"),
            include_str!("../fixtures/kafka-files/topics-describe.txt"),
            include_str!("../fixtures/kafka-files/racks.txt"),
            include_str!("../fixtures/kafka-files/log-dirs.txt"),
        ]);
        // The current assignment is sometimes a whole `--generate` output instead.
        let generated = bytes_of(GENERATE_OUTPUTS);
        let seed = match generate.index(GENERATE_OUTPUTS.len() + 1) {
            k if which == 0 && k < generated.len() => &generated[k],
            _ => &seeds[which],
        };
        kafka_files(which, with_describe, &mutate(seed, &seeds, &m));
    }

    #[test]
    fn mutated_client_properties_and_jaas(seed in any::<Index>(), m in mutations()) {
        let seeds = bytes_of(PROPERTIES);
        properties(&mutate(&seeds[seed.index(seeds.len())], &seeds, &m));
        let seeds = bytes_of(JAAS);
        let bytes = mutate(&seeds[seed.index(seeds.len())], &seeds, &m);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if let Err(e) = parse_jaas_config(text) {
                assert_message(&e);
            }
            // The same line inside a properties file, as the client reads it.
            properties(format!("security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.jaas.config={text}\n").as_bytes());
        }
    }

    #[test]
    fn mutated_journals(m in mutations()) {
        let seed = journal_seed().to_vec();
        let dir = tempfile::tempdir().unwrap();
        journal(dir.path(), &mutate(&seed, std::slice::from_ref(&seed), &m));
    }
}

/// The seeds themselves parse: a mutation starts from a valid input, so the fuzzing
/// reaches past the first syntax check.
#[test]
fn seeds_are_valid() {
    for s in SNAPSHOTS {
        parse_snapshot("s", s.as_bytes().to_vec()).unwrap();
    }
    for s in gzip_snapshots() {
        parse_snapshot("s", s.clone()).unwrap();
    }
    for s in REASSIGNMENTS {
        parse_reassignment_json("r", s).unwrap();
    }
    for s in INVALID_REASSIGNMENTS {
        assert_names_source(&parse_reassignment_json("r", s).unwrap_err(), "r");
    }
    for s in ELECTIONS {
        parse_election_json("e", s).unwrap();
    }
    for s in TOPICS_TO_MOVE {
        parse_topics_to_move(s).unwrap();
    }
    for s in TOPICS_DESCRIBE {
        parse_topics_describe("t", s).unwrap();
    }
    for s in LOG_DIRS {
        parse_log_dirs("l", s).unwrap();
    }
    for s in RACKS {
        parse_broker_racks("r", s).unwrap();
    }
    for s in CAPACITIES {
        parse_capacity_spec(s).unwrap();
    }
    for s in PROPERTIES {
        let props = parse_properties(s).unwrap();
        ClientConfig::from_properties(&props).unwrap();
    }
    for s in JAAS {
        parse_jaas_config(s).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(Journal::path_in(dir.path()), journal_seed()).unwrap();
    Journal::open(dir.path()).unwrap();
    kafka_files(
        2,
        false,
        include_bytes!("../fixtures/kafka-files/racks.txt"),
    );
    let racks = include_str!("../fixtures/kafka-files/racks.txt");
    for g in GENERATE_OUTPUTS {
        // The generate vectors' brokers are not those of racks.txt: give them racks.
        let files = KafkaFiles {
            reassignment_json: Some(SourceText { name: "g", text: g }),
            topics_describe: None,
            broker_racks: SourceText {
                name: "r",
                text: &format!("{racks}0 r0\n5 r5\n6 r6\n"),
            },
            log_dirs: None,
            capacity: None,
            capacity_source: "--broker-capacity",
        };
        cluster_from_kafka_files(&files).unwrap();
    }
}

/// The mutations do what they say (a fuzzer whose mutations are no-ops tests nothing).
#[test]
fn mutations_change_the_input() {
    let seed = b"{\"a\":[1,22,333]}".to_vec();
    let others = vec![b"XYZ".to_vec()];
    let idx = |n: usize, len: usize| {
        // An Index that picks position `n` of `len + 1`.
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        loop {
            let i = any::<Index>().new_tree(&mut runner).unwrap().current();
            if i.index(len + 1) == n {
                return i;
            }
        }
    };
    let n = seed.len();
    assert_eq!(
        mutate(&seed, &others, &[Mutation::HugeNumber(idx(7, n), 2)]),
        b"{\"a\":[1,9223372036854775808,333]}".to_vec()
    );
    assert_eq!(
        mutate(&seed, &others, &[Mutation::Truncate(idx(3, n))]),
        b"{\"a".to_vec()
    );
    assert_eq!(
        mutate(&seed, &others, &[Mutation::Nest(idx(0, n), 2, false, true)]),
        [b"[[1]]".as_slice(), &seed].concat()
    );
    assert_eq!(
        mutate(
            &seed,
            &others,
            &[Mutation::Splice(idx(0, 0), idx(1, 3), 5, idx(1, n))]
        ),
        [b"{".as_slice(), b"YZ", &seed[1..]].concat()
    );
    assert_eq!(
        mutate(&seed, &others, &[Mutation::Repeat(idx(0, n), 1, 3)]),
        [b"{{{{".as_slice(), &seed[1..]].concat()
    );
}
