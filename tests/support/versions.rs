//! Which Apache Kafka the test cluster runs (release and metadata mode, from the environment
//! `scripts/kafka-cluster.sh` exports), and what a test needs of it.
//!
//! A test that needs something older releases lack says so first thing:
//!
//! ```ignore
//! if !versions::requires(">=3.7", "kafka-reassign-partitions --cancel --preserve-throttles") {
//!     return;
//! }
//! ```
//!
//! On a cluster that does not qualify the test prints why it is skipped (stderr, and a line
//! in `$KAFKA_REPLAN_TEST_RUN_DIR/skipped.tsv` that `scripts/test-kafka-versions.sh` puts in
//! its table) and returns. A requirement the default release (the one pinned in
//! `tests/kafka/pom.xml`, the only one CI runs) does not meet fails the test instead, so no
//! test can pass in CI without having run. This file uses nothing else from `support`, so a
//! test file without `mod support` can include it by `#[path]`.

use std::fmt;
use std::io::Write;

/// How the cluster keeps its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Kraft,
    ZooKeeper,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Kraft => "KRaft",
            Mode::ZooKeeper => "ZooKeeper mode",
        })
    }
}

/// A Kafka release number, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Release(pub u32, pub u32, pub u32);

impl Release {
    /// `3.9.1`, or `3.3` (patch 0).
    pub fn parse(text: &str) -> Option<Release> {
        let mut parts = text.trim().split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = match parts.next() {
            Some(p) => p?,
            None => 0,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Release(major, minor, patch))
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// A requirement on the release: `>=3.3`, `<4.0`, `>3.6`, `<=3.9.1`, `=3.9.1`.
fn satisfies(release: Release, requirement: &str) -> bool {
    let req = requirement.trim();
    let (op, rest) = [">=", "<=", ">", "<", "="]
        .iter()
        .find_map(|op| req.strip_prefix(op).map(|rest| (*op, rest)))
        .unwrap_or_else(|| panic!("version requirement {requirement:?}: no operator (>=, <, ...)"));
    let bound = Release::parse(rest)
        .unwrap_or_else(|| panic!("version requirement {requirement:?}: not a release number"));
    match op {
        ">=" => release >= bound,
        "<=" => release <= bound,
        ">" => release > bound,
        "<" => release < bound,
        _ => release == bound,
    }
}

/// The cluster the tests talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KafkaUnderTest {
    pub release: Release,
    pub mode: Mode,
}

impl fmt::Display for KafkaUnderTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kafka {} ({})", self.release, self.mode)
    }
}

/// The release `tests/kafka/pom.xml` pins: what `scripts/test.sh` and CI run.
pub fn default_release() -> Release {
    let pom = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kafka/pom.xml"));
    pom.split_once("<kafka.version>")
        .and_then(|(_, rest)| rest.split_once("</kafka.version>"))
        .and_then(|(v, _)| Release::parse(v))
        .expect("tests/kafka/pom.xml pins <kafka.version>")
}

impl KafkaUnderTest {
    /// From `KAFKA_REPLAN_TEST_KAFKA_VERSION` and `KAFKA_REPLAN_TEST_KAFKA_MODE`. Panics (fails
    /// the test) when they are missing: a test must not decide what to run without knowing.
    pub fn from_env() -> KafkaUnderTest {
        let version = std::env::var("KAFKA_REPLAN_TEST_KAFKA_VERSION").unwrap_or_default();
        let release = Release::parse(&version).unwrap_or_else(|| {
            panic!(
                "KAFKA_REPLAN_TEST_KAFKA_VERSION is {version:?}: the real-Kafka tests need the \
                 cluster that scripts/kafka-cluster.sh starts (it exports the version)"
            )
        });
        let mode = match std::env::var("KAFKA_REPLAN_TEST_KAFKA_MODE").as_deref() {
            Ok("zk") => Mode::ZooKeeper,
            // Clusters started before the variable existed were all KRaft.
            Ok("kraft") | Ok("") | Err(_) => Mode::Kraft,
            Ok(other) => panic!("KAFKA_REPLAN_TEST_KAFKA_MODE is {other:?}, not kraft or zk"),
        };
        KafkaUnderTest { release, mode }
    }

    pub fn at_least(&self, requirement: &str) -> bool {
        satisfies(self.release, requirement)
    }
}

/// True when the cluster's release meets `requirement` (e.g. `">=3.3"`); otherwise reports
/// the test skipped, naming `feature`, and returns false. Fails the test when the default
/// release itself does not meet it.
pub fn requires(requirement: &str, feature: &str) -> bool {
    let kafka = KafkaUnderTest::from_env();
    if satisfies(kafka.release, requirement) {
        return true;
    }
    assert!(
        satisfies(default_release(), requirement),
        "requirement {requirement} ({feature}) excludes the default Kafka {}: the test would \
         never run in CI",
        default_release()
    );
    skip(&kafka, &format!("needs Kafka {requirement} for {feature}"));
    false
}

/// True on a KRaft cluster; otherwise reports the test skipped, naming `feature`.
pub fn requires_kraft(feature: &str) -> bool {
    let kafka = KafkaUnderTest::from_env();
    if kafka.mode == Mode::Kraft {
        return true;
    }
    skip(&kafka, &format!("needs KRaft mode for {feature}"));
    false
}

/// True on a ZooKeeper-mode cluster; otherwise reports the test skipped. For checks of
/// behaviour only ZooKeeper mode has (there is no ZooKeeper in the default release, so such a
/// test is never meant to run in CI).
pub fn requires_zookeeper(feature: &str) -> bool {
    let kafka = KafkaUnderTest::from_env();
    if kafka.mode == Mode::ZooKeeper {
        return true;
    }
    skip(&kafka, &format!("needs ZooKeeper mode for {feature}"));
    false
}

fn skip(kafka: &KafkaUnderTest, reason: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_string();
    eprintln!("SKIPPED {test} on {kafka}: {reason}");
    // The matrix script lists skips next to passes and failures; a test that cannot record
    // its skip still printed it above, so a failed write is only reported.
    if let Ok(dir) = std::env::var("KAFKA_REPLAN_TEST_RUN_DIR") {
        let path = std::path::Path::new(&dir).join("skipped.tsv");
        let line = format!(
            "{}\t{test}\t{}\t{reason}\n",
            env!("CARGO_CRATE_NAME"),
            kafka
        );
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            eprintln!("could not record the skip in {}: {e}", path.display());
        }
    }
}
