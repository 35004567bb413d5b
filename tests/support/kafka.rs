//! Access to the real Apache Kafka cluster that `scripts/test.sh` starts (through
//! `scripts/kafka-cluster.sh run`), and wrappers around Kafka's own CLI tools.
//!
//! Every test shares that one cluster, so each test creates its own uniquely named topics
//! ([`unique_topic`]) and lets a [`TopicGuard`] delete them, also when the test panics.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A Kafka tool that runs longer than this is hung (a normal call takes 1-3 s).
const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

/// Connection details of the test cluster, from the environment `scripts/kafka-cluster.sh`
/// exports (names `KAFKA_REPLAN_TEST_*`, see docs/real-kafka-tests.md).
#[derive(Debug, Clone)]
pub struct Cluster {
    /// PLAINTEXT listeners, `127.0.0.1:port,...`.
    pub bootstrap: String,
    /// SASL_SSL listeners (PLAIN and SCRAM-SHA-512), `127.0.0.1:port,...`.
    pub sasl_bootstrap: String,
    /// The KRaft controller, for `--bootstrap-controller`.
    pub controller: String,
    pub broker_ids: Vec<i32>,
    pub racks: BTreeMap<i32, String>,
    /// PEM file of the CA that signed the brokers' certificate.
    pub ca_file: PathBuf,
    pub plain_user: String,
    pub plain_password: String,
    pub scram_user: String,
    pub scram_password: String,
    /// Kafka client properties for the SASL_SSL listener, as an operator would write them.
    pub plain_client_properties: PathBuf,
    pub scram_client_properties: PathBuf,
    /// `scripts/kafka-tool.sh`.
    pub tool: PathBuf,
    /// `scripts/kafka-cluster.sh`.
    pub cluster_script: PathBuf,
    /// Held while the test (and its topic guards) use the cluster: the tests of one binary
    /// run in parallel threads, and Kafka's `--execute` refuses to start while any other
    /// reassignment exists in the cluster, so tests that move partitions must not overlap.
    _exclusive: Rc<MutexGuard<'static, ()>>,
}

static CLUSTER_LOCK: Mutex<()> = Mutex::new(());

fn required_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{name} is not set: the real-Kafka tests need the cluster that scripts/test.sh \
             starts. Run scripts/test.sh, or start one with `scripts/kafka-cluster.sh start` and \
             load its environment (`. .cache/kafka-run/env`) before `cargo test --test real_kafka`."
        ),
    }
}

impl Cluster {
    /// Reads the cluster's environment. Panics (fails the test) when it is missing: these
    /// tests must never pass without having talked to Kafka.
    pub fn from_env() -> Cluster {
        // A test that panicked while holding the lock leaves the cluster usable.
        let exclusive = Rc::new(CLUSTER_LOCK.lock().unwrap_or_else(|e| e.into_inner()));
        let bootstrap = required_env("KAFKA_REPLAN_TEST_BOOTSTRAP");
        let broker_ids = required_env("KAFKA_REPLAN_TEST_BROKER_IDS")
            .split(',')
            .map(|s| {
                s.parse()
                    .expect("KAFKA_REPLAN_TEST_BROKER_IDS: integer ids")
            })
            .collect();
        let racks = required_env("KAFKA_REPLAN_TEST_BROKER_RACKS")
            .split(',')
            .map(|pair| {
                let (id, rack) = pair
                    .split_once(':')
                    .expect("KAFKA_REPLAN_TEST_BROKER_RACKS: id:rack pairs");
                (id.parse().expect("broker id"), rack.to_string())
            })
            .collect();
        let tool = std::env::var("KAFKA_REPLAN_TEST_KAFKA_TOOL")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka-tool.sh")
            });
        let cluster_script = std::env::var("KAFKA_REPLAN_TEST_CLUSTER_SCRIPT")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka-cluster.sh")
            });
        Cluster {
            bootstrap,
            sasl_bootstrap: required_env("KAFKA_REPLAN_TEST_SASL_BOOTSTRAP"),
            controller: required_env("KAFKA_REPLAN_TEST_CONTROLLER"),
            broker_ids,
            racks,
            ca_file: required_env("KAFKA_REPLAN_TEST_CA_FILE").into(),
            plain_user: required_env("KAFKA_REPLAN_TEST_PLAIN_USER"),
            plain_password: required_env("KAFKA_REPLAN_TEST_PLAIN_PASSWORD"),
            scram_user: required_env("KAFKA_REPLAN_TEST_SCRAM_USER"),
            scram_password: required_env("KAFKA_REPLAN_TEST_SCRAM_PASSWORD"),
            plain_client_properties: required_env("KAFKA_REPLAN_TEST_PLAIN_CLIENT_PROPERTIES")
                .into(),
            scram_client_properties: required_env("KAFKA_REPLAN_TEST_SCRAM_CLIENT_PROPERTIES")
                .into(),
            tool,
            cluster_script,
            _exclusive: exclusive,
        }
    }

    /// SIGKILLs broker `id` (`scripts/kafka-cluster.sh kill-broker`). Every other test shares
    /// the cluster: only use this from a test binary whose tests do not run in parallel, and
    /// call [`Cluster::start_broker`] before the test ends.
    pub fn kill_broker(&self, id: i32) {
        self.cluster_script_ok("kill-broker", id);
    }

    /// Shuts broker `id` down cleanly (controlled shutdown); same caveats as `kill_broker`.
    pub fn stop_broker(&self, id: i32) {
        self.cluster_script_ok("stop-broker", id);
    }

    /// Starts a stopped broker again with its ports and data, returning once it is registered.
    pub fn start_broker(&self, id: i32) {
        self.cluster_script_ok("start-broker", id);
    }

    fn cluster_script_ok(&self, action: &str, id: i32) {
        let out = run_with_timeout(
            Command::new(&self.cluster_script)
                .arg(action)
                .arg(id.to_string()),
            TOOL_TIMEOUT * 2,
        );
        assert!(
            out.status.success(),
            "kafka-cluster.sh {action} {id} failed:\n{}",
            out.describe()
        );
    }

    /// Runs one of Kafka's CLI tools (`topics`, `reassign-partitions`, `log-dirs`,
    /// `leader-election`, `configs`, ... — see scripts/kafka-tool.sh) and returns what it did.
    pub fn tool(&self, name: &str, args: &[&str]) -> ToolOutput {
        run_with_timeout(Command::new(&self.tool).arg(name).args(args), TOOL_TIMEOUT)
    }

    /// [`Cluster::tool`] that must succeed; returns stdout.
    pub fn tool_ok(&self, name: &str, args: &[&str]) -> String {
        let out = self.tool(name, args);
        assert!(
            out.status.success(),
            "kafka-{name} {args:?} failed ({}):\n{}",
            out.status,
            out.describe()
        );
        out.stdout
    }

    /// Creates `topic` with exactly the given replica lists (partition `p` gets
    /// `assignment[p]`, first replica = preferred leader) and returns a guard that deletes it.
    pub fn create_topic_with_assignment(&self, topic: &str, assignment: &[&[i32]]) -> TopicGuard {
        let spec = assignment
            .iter()
            .map(|replicas| join(replicas, ":"))
            .collect::<Vec<_>>()
            .join(",");
        let guard = TopicGuard {
            cluster: self.clone(),
            topic: topic.to_string(),
        };
        let out = self.tool_ok(
            "topics",
            &[
                "--bootstrap-server",
                &self.bootstrap,
                "--create",
                "--topic",
                topic,
                "--replica-assignment",
                &spec,
            ],
        );
        assert!(
            out.contains(&format!("Created topic {topic}.")),
            "unexpected kafka-topics --create output:\n{out}"
        );
        guard
    }

    /// The set-up of a test that moves data: creates `topic` with `assignment`, writes
    /// `records` records of 1000 bytes and waits until every replica is in sync (panics with
    /// the description if they are not within a minute).
    pub fn topic_with_data(&self, topic: &str, assignment: &[&[i32]], records: u32) -> TopicGuard {
        let guard = self.create_topic_with_assignment(topic, assignment);
        self.produce(topic, records, 1000);
        let d = self.wait_for_topic(topic, Duration::from_secs(60), |d| {
            d.partitions.len() == assignment.len()
                && d.partitions
                    .values()
                    .all(|p| p.isr.len() == p.replicas.len())
        });
        assert!(
            d.partitions
                .values()
                .all(|p| p.isr.len() == p.replicas.len()),
            "replicas of {topic} not in sync:\n{}",
            d.text
        );
        guard
    }

    /// `kafka-topics --describe --topic T`, raw text and parsed partition lines.
    pub fn describe_topic(&self, topic: &str) -> TopicDescription {
        let text = self.tool_ok(
            "topics",
            &[
                "--bootstrap-server",
                &self.bootstrap,
                "--describe",
                "--topic",
                topic,
            ],
        );
        TopicDescription::parse(topic, &text)
    }

    /// Polls `kafka-topics --describe` until `check` accepts it (metadata reaches every broker
    /// a little after the controller commits it) or `timeout` passes; returns the last one.
    pub fn wait_for_topic(
        &self,
        topic: &str,
        timeout: Duration,
        check: impl Fn(&TopicDescription) -> bool,
    ) -> TopicDescription {
        let deadline = Instant::now() + timeout;
        loop {
            let d = self.describe_topic(topic);
            if check(&d) || Instant::now() >= deadline {
                return d;
            }
            thread::sleep(Duration::from_millis(500));
        }
    }

    /// Writes `records` records of `record_size` bytes into `topic` with Kafka's
    /// producer-perf-test, so replica moves have bytes to copy.
    pub fn produce(&self, topic: &str, records: u32, record_size: u32) {
        let bootstrap = format!("bootstrap.servers={}", self.bootstrap);
        let records = records.to_string();
        let record_size = record_size.to_string();
        self.tool_ok(
            "producer-perf-test",
            &[
                "--topic",
                topic,
                "--num-records",
                &records,
                "--record-size",
                &record_size,
                "--throughput",
                "-1",
                "--producer-props",
                &bootstrap,
                "acks=all",
            ],
        );
    }

    /// Feeds a reassignment JSON file (Kafka's `--reassignment-json-file` format) through
    /// Kafka's own `kafka-reassign-partitions`: `--execute`, then `--verify` until every
    /// partition (and every replica with an explicit `log_dirs` entry) reports completion,
    /// then checks with `kafka-topics --describe` that each partition's replica list equals
    /// the file's (order included: element 0 is the preferred leader) and, for explicit log
    /// dirs, with `kafka-log-dirs --describe` that the replica is in that directory. Panics
    /// with the tools' output on any failure or after `timeout`.
    pub fn execute_and_verify_reassignment(&self, json: &Path, timeout: Duration) -> Reassignment {
        let targets = read_reassignment_targets(json);
        assert!(
            !targets.is_empty(),
            "{} lists no partitions",
            json.display()
        );
        let json_arg = json.to_str().expect("UTF-8 path");

        let execute = self.tool_ok(
            "reassign-partitions",
            &[
                "--bootstrap-server",
                &self.bootstrap,
                "--execute",
                "--reassignment-json-file",
                json_arg,
            ],
        );
        assert!(
            execute.contains("Successfully started partition reassignment"),
            "kafka-reassign-partitions --execute did not start the reassignment:\n{execute}"
        );

        let deadline = Instant::now() + timeout;
        let verify = loop {
            let out = self.tool_ok(
                "reassign-partitions",
                &[
                    "--bootstrap-server",
                    &self.bootstrap,
                    "--verify",
                    "--reassignment-json-file",
                    json_arg,
                ],
            );
            let done = targets.iter().all(|t| {
                out.contains(&format!(
                    "Reassignment of partition {}-{} is completed.",
                    t.topic, t.partition
                )) && t.explicit_log_dirs().all(|(b, _)| {
                    out.contains(&format!(
                        "Reassignment of replica {}-{}-{b} completed successfully.",
                        t.topic, t.partition
                    ))
                })
            });
            if done {
                break out;
            }
            assert!(
                Instant::now() < deadline,
                "reassignment of {} not complete after {timeout:?}; last --verify:\n{out}",
                json.display()
            );
            thread::sleep(Duration::from_secs(1));
        };

        for topic in topics_of(&targets) {
            let want: BTreeMap<i32, Vec<i32>> = targets
                .iter()
                .filter(|t| t.topic == topic)
                .map(|t| (t.partition, t.replicas.clone()))
                .collect();
            let matches = |d: &TopicDescription| {
                want.iter()
                    .all(|(p, r)| d.partitions.get(p).is_some_and(|got| &got.replicas == r))
            };
            let described = self.wait_for_topic(topic, Duration::from_secs(15), matches);
            assert!(
                matches(&described),
                "after the reassignment, kafka-topics --describe disagrees with {}:\nwanted {want:?}\n{}",
                json.display(),
                described.text
            );
        }

        let explicit: Vec<(String, i32, String)> = targets
            .iter()
            .flat_map(|t| {
                t.explicit_log_dirs()
                    .map(|(b, d)| (format!("{}-{}", t.topic, t.partition), b, d.to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        if !explicit.is_empty() {
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                let out = self.describe_log_dirs(&topics_of(&targets), &[]);
                let dirs = replica_log_dirs(&out);
                let placed = explicit.iter().all(|(tp, b, d)| {
                    dirs.get(&(tp.clone(), *b))
                        .is_some_and(|v| v.as_slice() == [(d.clone(), false)])
                });
                if placed {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "after the reassignment, kafka-log-dirs disagrees with {}: wanted {explicit:?}\n{out}",
                    json.display()
                );
                thread::sleep(Duration::from_millis(500));
            }
        }
        Reassignment { execute, verify }
    }

    /// stdout of `kafka-log-dirs --describe` (the three lines: "Querying ...", "Received ...",
    /// JSON), optionally limited to some topics / brokers, kept verbatim so offline parsers of
    /// that output can be checked against the real thing.
    pub fn describe_log_dirs(&self, topics: &[&str], brokers: &[i32]) -> String {
        let mut args = vec!["--bootstrap-server", self.bootstrap.as_str(), "--describe"];
        let topic_list = topics.join(",");
        let broker_list = join(brokers, ",");
        if !topics.is_empty() {
            args.extend(["--topic-list", topic_list.as_str()]);
        }
        if !brokers.is_empty() {
            args.extend(["--broker-list", broker_list.as_str()]);
        }
        self.tool_ok("log-dirs", &args)
    }
}

/// Output of one Kafka tool run.
#[derive(Debug)]
pub struct ToolOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl ToolOutput {
    pub fn describe(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}", self.stdout, self.stderr)
    }
}

/// Runs `cmd` with stdout/stderr captured in files (no pipe can fill up and block it) and
/// kills it after `timeout`, so a hung tool fails the test instead of hanging the run.
fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> ToolOutput {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for Kafka tool") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} still running after {timeout:?}; stdout so far:\n{}",
                std::fs::read_to_string(&out_path).unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(50));
    };
    ToolOutput {
        status,
        stdout: std::fs::read_to_string(&out_path).expect("read stdout"),
        stderr: std::fs::read_to_string(&err_path).expect("read stderr"),
    }
}

/// Deletes its topic when dropped, so a failing test does not leave topics behind in the
/// shared cluster.
pub struct TopicGuard {
    cluster: Cluster,
    pub topic: String,
}

impl Drop for TopicGuard {
    fn drop(&mut self) {
        let out = self.cluster.tool(
            "topics",
            &[
                "--bootstrap-server",
                &self.cluster.bootstrap,
                "--delete",
                "--topic",
                &self.topic,
            ],
        );
        // Never panic here: during unwinding that would abort and hide the real failure.
        if !out.status.success() {
            eprintln!("could not delete topic {}:\n{}", self.topic, out.describe());
        }
    }
}

/// A topic name no other test (or earlier run) uses: prefix, process id, time, counter.
pub fn unique_topic(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() % 1_000_000_000)
        .unwrap_or(0);
    format!("{prefix}-{}-{micros}-{n}", std::process::id())
}

fn topics_of(targets: &[Target]) -> Vec<&str> {
    let mut topics: Vec<&str> = targets.iter().map(|t| t.topic.as_str()).collect();
    topics.sort_unstable();
    topics.dedup();
    topics
}

fn join(ids: &[i32], sep: &str) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(sep)
}

/// One partition line of `kafka-topics --describe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

#[derive(Debug, Clone)]
pub struct TopicDescription {
    pub text: String,
    pub partitions: BTreeMap<i32, PartitionState>,
}

impl TopicDescription {
    /// Reads the `\tTopic: T\tPartition: P\tLeader: L\tReplicas: a,b\tIsr: a,b...` lines of
    /// `topic`; enough for these tests (the full format is the offline parser's job).
    pub fn parse(topic: &str, text: &str) -> TopicDescription {
        let mut partitions = BTreeMap::new();
        for line in text.lines() {
            let fields: BTreeMap<&str, &str> = line
                .split('\t')
                .filter_map(|f| {
                    f.split_once(": ")
                        .or_else(|| f.strip_suffix(':').map(|k| (k, "")))
                })
                .map(|(k, v)| (k.trim(), v.trim()))
                .collect();
            let (Some(&t), Some(p)) = (fields.get("Topic"), fields.get("Partition")) else {
                continue;
            };
            if t != topic {
                continue;
            }
            let ids = |key: &str| -> Vec<i32> {
                fields
                    .get(key)
                    .map(|v| {
                        v.split(',')
                            .filter(|s| !s.is_empty())
                            .map(|s| s.parse().expect("broker id"))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            partitions.insert(
                p.parse().expect("partition number"),
                PartitionState {
                    leader: fields.get("Leader").and_then(|l| l.parse().ok()),
                    replicas: ids("Replicas"),
                    isr: ids("Isr"),
                },
            );
        }
        TopicDescription {
            text: text.to_string(),
            partitions,
        }
    }
}

/// stdout of the two steps of [`Cluster::execute_and_verify_reassignment`].
#[derive(Debug)]
pub struct Reassignment {
    pub execute: String,
    /// The `--verify` output that reported every partition complete.
    pub verify: String,
}

/// One entry of a reassignment JSON file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub topic: String,
    pub partition: i32,
    pub replicas: Vec<i32>,
    /// One per replica: `any`, or the absolute log directory that replica must end up in.
    pub log_dirs: Vec<String>,
}

impl Target {
    pub fn new(topic: &str, partition: i32, replicas: &[i32]) -> Target {
        Target {
            topic: topic.to_string(),
            partition,
            replicas: replicas.to_vec(),
            log_dirs: vec!["any".to_string(); replicas.len()],
        }
    }

    /// Asks for the replica on `broker` to be placed in log directory `dir`.
    pub fn with_log_dir(mut self, broker: i32, dir: &str) -> Target {
        let i = self
            .replicas
            .iter()
            .position(|&r| r == broker)
            .expect("broker is one of the replicas");
        self.log_dirs[i] = dir.to_string();
        self
    }

    /// `(broker, dir)` of every replica with an explicit log directory.
    pub fn explicit_log_dirs(&self) -> impl Iterator<Item = (i32, &str)> {
        self.replicas
            .iter()
            .zip(&self.log_dirs)
            .filter(|(_, d)| d.as_str() != "any")
            .map(|(&b, d)| (b, d.as_str()))
    }
}

/// One target per partition of `topic`: partition `p` to `assignment[p]`.
pub fn targets(topic: &str, assignment: &[&[i32]]) -> Vec<Target> {
    assignment
        .iter()
        .enumerate()
        .map(|(p, r)| Target::new(topic, p as i32, r))
        .collect()
}

/// Renders targets the way Kafka's tool emits a reassignment (compact, keys `version`,
/// `partitions`, then `topic`, `partition`, `replicas`, `log_dirs`).
pub fn reassignment_json(targets: &[Target]) -> String {
    let partitions = targets
        .iter()
        .map(|t| {
            format!(
                "{{\"topic\":{},\"partition\":{},\"replicas\":[{}],\"log_dirs\":{}}}",
                serde_json::Value::from(t.topic.as_str()),
                t.partition,
                join(&t.replicas, ","),
                serde_json::Value::from(t.log_dirs.clone()),
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    format!("{{\"version\":1,\"partitions\":[{partitions}]}}")
}

/// The entries of a reassignment JSON file (absent `log_dirs` = all `any`, as in Kafka).
pub fn read_reassignment_targets(path: &Path) -> Vec<Target> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    json["partitions"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let replicas: Vec<i32> = p["replicas"]
                        .as_array()
                        .expect("replicas")
                        .iter()
                        .map(|r| r.as_i64().expect("replica id") as i32)
                        .collect();
                    let log_dirs = match p.get("log_dirs") {
                        Some(dirs) => dirs
                            .as_array()
                            .expect("log_dirs")
                            .iter()
                            .map(|d| d.as_str().expect("log dir").to_string())
                            .collect(),
                        None => vec!["any".to_string(); replicas.len()],
                    };
                    Target {
                        topic: p["topic"].as_str().expect("topic").to_string(),
                        partition: p["partition"].as_i64().expect("partition") as i32,
                        replicas,
                        log_dirs,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every broker's log directories in `kafka-log-dirs --describe` output, in output order.
pub fn broker_log_dirs(log_dirs_output: &str) -> BTreeMap<i32, Vec<String>> {
    let line = log_dirs_output
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in kafka-log-dirs output:\n{log_dirs_output}"));
    let json: serde_json::Value = serde_json::from_str(line).expect("kafka-log-dirs JSON");
    json["brokers"]
        .as_array()
        .expect("brokers")
        .iter()
        .map(|b| {
            let dirs = b["logDirs"]
                .as_array()
                .expect("logDirs")
                .iter()
                .map(|d| d["logDir"].as_str().expect("logDir").to_string())
                .collect();
            (b["broker"].as_i64().expect("broker") as i32, dirs)
        })
        .collect()
}

/// Where `kafka-log-dirs --describe` output places each replica: (TP string, broker) →
/// (log dir, isFuture) entries.
pub fn replica_log_dirs(log_dirs_output: &str) -> BTreeMap<(String, i32), Vec<(String, bool)>> {
    let line = log_dirs_output
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in kafka-log-dirs output:\n{log_dirs_output}"));
    let json: serde_json::Value = serde_json::from_str(line).expect("kafka-log-dirs JSON");
    let mut out: BTreeMap<(String, i32), Vec<(String, bool)>> = BTreeMap::new();
    for broker in json["brokers"].as_array().expect("brokers") {
        let id = broker["broker"].as_i64().expect("broker") as i32;
        for dir in broker["logDirs"].as_array().expect("logDirs") {
            let path = dir["logDir"].as_str().expect("logDir");
            for p in dir["partitions"].as_array().into_iter().flatten() {
                let tp = p["partition"].as_str().expect("partition").to_string();
                let future = p["isFuture"].as_bool().expect("isFuture");
                out.entry((tp, id))
                    .or_default()
                    .push((path.to_string(), future));
            }
        }
    }
    out
}
