//! Builds a [`Cluster`] from files Kafka's own tools produce, for operators who cannot (or do
//! not want to) point kafka-replan at a live cluster:
//! - the current assignment as reassignment JSON (e.g. the "Current partition replica
//!   assignment" JSON of `kafka-reassign-partitions --generate`; the whole `--generate` or
//!   `--execute` output is accepted too) and/or `kafka-topics --describe` output (which adds leader, ISR
//!   and in-flight reassignments); when both are given their replica lists must agree;
//! - a broker/rack list (the broker set: a listed broker without replicas is a new, empty
//!   broker; a replica on an unlisted broker is an error);
//! - optionally `kafka-log-dirs --describe` output for sizes (a partition's size is the
//!   largest size reported for any non-future replica; a partition without one counts 0);
//! - optionally a capacity spec.

use std::collections::BTreeMap;

use super::log_dirs::parse_log_dirs;
use super::racks::{parse_broker_racks, CapacitySpec};
use super::reassignment::parse_reassignment_json;
use super::topics_describe::parse_topics_describe;
use super::{FormatError, Problem};
use crate::model::{
    validate_cluster, Broker, BrokerId, BrokerLogDir, Cluster, Partition, TopicPartition,
};

/// One input text and the name to report it by (usually its path).
#[derive(Debug, Clone, Copy)]
pub struct SourceText<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// The inputs of [`cluster_from_kafka_files`].
#[derive(Debug, Clone, Copy)]
pub struct KafkaFiles<'a> {
    /// Current assignment as reassignment JSON (or whole `--generate` output).
    pub reassignment_json: Option<SourceText<'a>>,
    /// `kafka-topics --describe` output.
    pub topics_describe: Option<SourceText<'a>>,
    /// Broker/rack list (required: it defines the brokers).
    pub broker_racks: SourceText<'a>,
    /// `kafka-log-dirs --describe` output.
    pub log_dirs: Option<SourceText<'a>>,
    /// Disk capacities; `capacity_source` names it in errors (e.g. `--broker-capacity`).
    pub capacity: Option<&'a CapacitySpec>,
    pub capacity_source: &'a str,
}

/// A cluster built from files, with what the user should know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltCluster {
    pub cluster: Cluster,
    /// Human-readable warnings, deterministic order.
    pub warnings: Vec<String>,
}

/// The first line of the current-assignment block in `--generate` output.
const GENERATE_CURRENT_HEADER: &str = "Current partition replica assignment";

/// From whole `--generate` output, the JSON line after the "Current partition replica
/// assignment" header (with its line number); otherwise the text itself.
fn current_assignment_json(text: &str) -> (&str, usize) {
    let mut lines = text.lines().enumerate();
    while let Some((_, l)) = lines.next() {
        if l.trim().is_empty() {
            continue;
        }
        if l.trim() != GENERATE_CURRENT_HEADER {
            break;
        }
        // `--execute` prints an empty line between the header and the JSON.
        if let Some((i, json)) = lines.find(|(_, l)| !l.trim().is_empty()) {
            return (json, i);
        }
    }
    (text, 0)
}

/// Builds the cluster and lists every problem found (not only the first). Errors name the
/// file, and the partition and broker concerned.
pub fn cluster_from_kafka_files(files: &KafkaFiles<'_>) -> Result<BuiltCluster, FormatError> {
    let mut warnings = Vec::new();
    let racks = parse_broker_racks(files.broker_racks.name, files.broker_racks.text)?;
    let broker_ids: Vec<BrokerId> = racks.keys().copied().collect();

    // Replicas by partition from each assignment source.
    // Dirs the current assignment JSON names (`log_dirs` other than "any").
    let mut json_dirs: BTreeMap<(TopicPartition, BrokerId), String> = BTreeMap::new();
    let from_json: Option<BTreeMap<TopicPartition, Vec<BrokerId>>> = match files.reassignment_json {
        Some(src) => {
            let (json, skipped) = current_assignment_json(src.text);
            let parsed = parse_reassignment_json(src.name, json).map_err(|mut e| {
                for p in &mut e.problems {
                    p.line = p.line.map(|l| l + skipped);
                }
                e
            })?;
            json_dirs = parsed.replica_log_dirs();
            Some(parsed.to_plan(src.name)?.changes)
        }
        None => None,
    };
    let describe = match files.topics_describe {
        Some(src) => Some(parse_topics_describe(src.name, src.text)?),
        None => None,
    };
    if from_json.is_none() && describe.is_none() {
        return Err(FormatError::one(
            files.broker_racks.name,
            None,
            "no assignment given: need the current reassignment JSON or `kafka-topics --describe` output",
        ));
    }

    let mut partitions: BTreeMap<TopicPartition, Partition> = BTreeMap::new();
    if let Some(d) = &describe {
        for (tp, dp) in d.partitions() {
            partitions.insert(
                tp.clone(),
                Partition {
                    tp,
                    replicas: dp.replicas.clone(),
                    size_bytes: 0,
                    leader: dp.leader,
                    isr: Some(dp.isr.clone()),
                    in_flight: dp.in_flight(),
                    log_dirs: Vec::new(),
                    rates: None,
                },
            );
        }
    }
    if let (Some(json), Some(d_src), Some(j_src)) =
        (&from_json, files.topics_describe, files.reassignment_json)
    {
        // Both sources must describe the same partitions with the same replicas; every
        // disagreement is listed so the user can tell stale files apart in one go.
        let mut problems = Vec::new();
        for (tp, reps) in json {
            match partitions.get(tp) {
                Some(p) if &p.replicas == reps => {}
                Some(p) => problems.push(Problem {
                    line: None,
                    message: format!(
                        "partition {tp}: replicas [{}] in {} differ from [{}] in {}",
                        super::join_ids(reps),
                        j_src.name,
                        super::join_ids(&p.replicas),
                        d_src.name
                    ),
                }),
                None => problems.push(Problem {
                    line: None,
                    message: format!(
                        "partition {tp} is in {} but not in {}",
                        j_src.name, d_src.name
                    ),
                }),
            }
        }
        for tp in partitions.keys().filter(|tp| !json.contains_key(*tp)) {
            problems.push(Problem {
                line: None,
                message: format!(
                    "partition {tp} is in {} but not in {}",
                    d_src.name, j_src.name
                ),
            });
        }
        if !problems.is_empty() {
            return Err(FormatError::many(j_src.name, problems));
        }
    } else if let Some(json) = from_json {
        for (tp, replicas) in json {
            partitions.insert(
                tp.clone(),
                Partition {
                    tp,
                    replicas,
                    size_bytes: 0,
                    leader: None,
                    isr: None,
                    in_flight: None,
                    log_dirs: Vec::new(),
                    rates: None,
                },
            );
        }
    }

    // A replica on a broker that the rack list does not know: name the partition, the
    // broker and the file the replica came from.
    let assignment_source = files
        .topics_describe
        .or(files.reassignment_json)
        .map(|s| s.name)
        .unwrap_or_default();
    let mut unknown = Vec::new();
    for p in partitions.values() {
        for b in &p.replicas {
            if !racks.contains_key(b) {
                unknown.push(Problem {
                    line: None,
                    message: format!(
                        "partition {} has a replica on broker {b}, which is not in the broker list {}",
                        p.tp, files.broker_racks.name
                    ),
                });
            }
        }
    }
    if !unknown.is_empty() {
        return Err(FormatError::many(assignment_source, unknown));
    }

    let mut broker_dirs: BTreeMap<BrokerId, Vec<BrokerLogDir>> = BTreeMap::new();
    let mut json_only_dirs: BTreeMap<BrokerId, Vec<String>> = BTreeMap::new();
    let mut replica_dirs: BTreeMap<(TopicPartition, BrokerId), String> = BTreeMap::new();
    match files.log_dirs {
        Some(src) => {
            let report = parse_log_dirs(src.name, src.text)?;
            for (b, dirs) in report
                .brokers
                .iter()
                .filter(|(b, _)| racks.contains_key(*b))
            {
                let listed = dirs
                    .iter()
                    .map(|(path, info)| BrokerLogDir {
                        path: path.clone(),
                        capacity_bytes: info.total_bytes,
                        usable_bytes: info.usable_bytes,
                        offline: info.error.is_some(),
                    })
                    .collect();
                broker_dirs.insert(*b, listed);
                for (path, info) in dirs {
                    for r in info.replicas.iter().filter(|r| !r.is_future) {
                        replica_dirs.insert((r.tp.clone(), *b), path.clone());
                    }
                }
            }
            let sizes = report.partition_sizes();
            let mut missing = 0usize;
            for p in partitions.values_mut() {
                match sizes.get(&p.tp) {
                    Some(s) => p.size_bytes = *s,
                    None => missing += 1,
                }
            }
            if missing > 0 {
                warnings.push(format!(
                    "{missing} partition(s) have no size in {}: their size is taken as 0",
                    src.name
                ));
            }
            let unknown_parts = sizes
                .keys()
                .filter(|tp| !partitions.contains_key(*tp))
                .count();
            if unknown_parts > 0 {
                warnings.push(format!(
                    "{unknown_parts} partition(s) in {} are not in the assignment and are ignored",
                    src.name
                ));
            }
            for (b, dir, err) in report.failed_dirs() {
                warnings.push(format!(
                    "broker {b} log dir {dir} reports {err} (offline?): sizes of replicas there are unknown"
                ));
            }
            for b in report.brokers.keys().filter(|b| !racks.contains_key(*b)) {
                warnings.push(format!(
                    "broker {b} is in {} but not in the broker list {}; it is ignored",
                    src.name, files.broker_racks.name
                ));
            }
        }
        None => warnings.push(
            "no log-dirs output: every partition size is 0, so balance by bytes is off".to_string(),
        ),
    }

    let capacities = match files.capacity {
        Some(spec) => spec
            .resolve(&broker_ids)
            .map_err(|m| FormatError::one(files.capacity_source, None, m))?,
        None => BTreeMap::new(),
    };
    if capacities.is_empty() {
        warnings.push("no disk capacity known: capacity checks are off".to_string());
    } else {
        let without: Vec<BrokerId> = broker_ids
            .iter()
            .copied()
            .filter(|b| !capacities.contains_key(b))
            .collect();
        if !without.is_empty() {
            warnings.push(format!(
                "no disk capacity known for broker(s) {}: capacity checks are off for them",
                super::join_ids(&without)
            ));
        }
    }

    // The JSON's dirs where the log-dirs output does not place the replica; a broker the
    // log-dirs output does not describe lists the dirs the JSON names for it.
    // A dir the broker's listing lacks is kept, so that validation names it.
    let mut disagree = 0usize;
    for ((tp, b), path) in json_dirs {
        match broker_dirs.get(&b) {
            None => {
                let listed = json_only_dirs.entry(b).or_default();
                if !listed.contains(&path) {
                    listed.push(path.clone());
                }
            }
            Some(listed) if !listed.iter().any(|d| d.path == path) => {
                replica_dirs.insert((tp, b), path);
                continue;
            }
            Some(_) => {}
        }
        match replica_dirs.get(&(tp.clone(), b)) {
            Some(now) if *now != path => disagree += 1,
            Some(_) => {}
            None => {
                replica_dirs.insert((tp, b), path);
            }
        }
    }
    if disagree > 0 {
        warnings.push(format!(
            "{disagree} replica(s) are in another log dir than the reassignment JSON says: the log-dirs output is taken"
        ));
    }
    for (b, mut paths) in json_only_dirs {
        paths.sort();
        broker_dirs.insert(
            b,
            paths
                .into_iter()
                .map(|path| BrokerLogDir {
                    path,
                    capacity_bytes: None,
                    usable_bytes: None,
                    offline: false,
                })
                .collect(),
        );
    }
    if !replica_dirs.is_empty() {
        for p in partitions.values_mut() {
            let dirs: Vec<Option<String>> = p
                .replicas
                .iter()
                .map(|b| replica_dirs.get(&(p.tp.clone(), *b)).cloned())
                .collect();
            if dirs.iter().any(Option::is_some) {
                p.log_dirs = dirs;
            }
        }
    }
    let brokers = racks
        .into_iter()
        .map(|(id, rack)| Broker {
            id,
            rack,
            capacity_bytes: capacities.get(&id).copied(),
            log_dirs: broker_dirs.remove(&id).unwrap_or_default(),
        })
        .collect();
    let mut cluster = Cluster::new(brokers, partitions.into_values().collect());
    let in_offline = cluster.place_unlisted_in_offline_dirs();
    if in_offline > 0 {
        warnings.push(format!(
            "{in_offline} replica(s) are listed in no log dir of their broker, whose only offline dir is taken to hold them"
        ));
    }
    let violations = validate_cluster(&cluster);
    if !violations.is_empty() {
        let problems = violations
            .into_iter()
            .map(|v| Problem {
                line: None,
                message: v.to_string(),
            })
            .collect();
        return Err(FormatError::many(assignment_source, problems));
    }
    Ok(BuiltCluster { cluster, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RACKS: &str = "1 a\n2 b\n3 c\n4 a\n";
    const JSON: &str = r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","any"]},{"topic":"t","partition":1,"replicas":[2,3],"log_dirs":["any","any"]}]}"#;
    const DESCRIBE: &str = "Topic: t\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: \n\tTopic: t\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2\n\tTopic: t\tPartition: 1\tLeader: none\tReplicas: 2,3\tIsr: 3\n";
    const LOG_DIRS: &str = r#"{"brokers":[{"broker":1,"logDirs":[{"logDir":"/d","error":null,"partitions":[{"partition":"t-0","size":100,"offsetLag":0,"isFuture":false}]}]},{"broker":2,"logDirs":[{"logDir":"/d","error":null,"partitions":[{"partition":"t-0","size":120,"offsetLag":0,"isFuture":false},{"partition":"t-1","size":999,"offsetLag":0,"isFuture":true}]}]}],"version":1}"#;

    fn src<'a>(name: &'a str, text: &'a str) -> SourceText<'a> {
        SourceText { name, text }
    }

    fn files<'a>() -> KafkaFiles<'a> {
        KafkaFiles {
            reassignment_json: Some(src("cur.json", JSON)),
            topics_describe: None,
            broker_racks: src("racks.txt", RACKS),
            log_dirs: None,
            capacity: None,
            capacity_source: "--broker-capacity",
        }
    }

    #[test]
    fn log_dirs_from_the_log_dirs_output_and_the_json() {
        const DIRS: &str = r#"{"brokers":[{"broker":1,"logDirs":[{"logDir":"/d","error":null,"totalBytes":5000,"usableBytes":4000,"partitions":[{"partition":"t-0","size":100,"offsetLag":0,"isFuture":false}]},{"logDir":"/e","error":null,"totalBytes":-1,"partitions":[]}]}],"version":1}"#;
        const CUR: &str = r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","/j"]},{"topic":"t","partition":1,"replicas":[2,3],"log_dirs":["any","any"]}]}"#;
        let mut f = files();
        f.reassignment_json = Some(src("cur.json", CUR));
        f.log_dirs = Some(src("l.txt", DIRS));
        let b = cluster_from_kafka_files(&f).unwrap();
        let b1 = &b.cluster.brokers[0];
        assert_eq!(b1.log_dirs.len(), 2);
        assert_eq!(b1.log_dirs[0].capacity_bytes, Some(5000));
        assert_eq!(b1.log_dirs[0].usable_bytes, Some(4000));
        assert_eq!(b1.log_dirs[1].capacity_bytes, None);
        // Broker 2 is not in the log-dirs output: it lists the dir the JSON names.
        assert_eq!(b.cluster.brokers[1].log_dirs[0].path, "/j");
        assert_eq!(
            b.cluster.partitions[0].log_dirs,
            [Some("/d".to_string()), Some("/j".to_string())]
        );
        assert!(b.cluster.partitions[1].log_dirs.is_empty());
        // A dir the JSON names that the broker's listing lacks is an error naming both.
        const BAD: &str = r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["/zz","any"]},{"topic":"t","partition":1,"replicas":[2,3],"log_dirs":["any","any"]}]}"#;
        f.reassignment_json = Some(src("cur.json", BAD));
        let e = cluster_from_kafka_files(&f).unwrap_err().to_string();
        assert!(
            e.contains(
                "t-0 has a replica on broker 1 in log dir /zz, which broker 1 does not list"
            ),
            "{e}"
        );
    }

    #[test]
    fn json_only_with_empty_broker() {
        let b = cluster_from_kafka_files(&files()).unwrap();
        assert_eq!(b.cluster.broker_ids(), vec![1, 2, 3, 4]);
        assert_eq!(b.cluster.partitions.len(), 2);
        assert!(b
            .warnings
            .contains(&"no disk capacity known: capacity checks are off".to_string()));
    }

    #[test]
    fn describe_and_log_dirs_and_capacity() {
        let spec = CapacitySpec::Uniform(1000);
        let mut f = files();
        f.topics_describe = Some(src("d.txt", DESCRIBE));
        f.log_dirs = Some(src("l.txt", LOG_DIRS));
        f.capacity = Some(&spec);
        let b = cluster_from_kafka_files(&f).unwrap();
        let p0 = &b.cluster.partitions[0];
        assert_eq!(p0.size_bytes, 120);
        assert_eq!(p0.leader, Some(1));
        let p1 = &b.cluster.partitions[1];
        assert_eq!(p1.size_bytes, 0);
        assert_eq!(p1.leader, None);
        assert_eq!(p1.isr, Some(vec![3]));
        assert_eq!(b.cluster.brokers[3].capacity_bytes, Some(1000));
        assert_eq!(
            b.warnings,
            vec!["1 partition(s) have no size in l.txt: their size is taken as 0".to_string()]
        );
    }

    #[test]
    fn disagreements_are_all_listed() {
        let mut f = files();
        let describe = DESCRIBE.replace("Replicas: 1,2", "Replicas: 2,1")
            + "\tTopic: u\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\n";
        f.topics_describe = Some(src("d.txt", &describe));
        let e = cluster_from_kafka_files(&f).unwrap_err().to_string();
        assert!(
            e.contains("partition t-0: replicas [1,2] in cur.json differ from [2,1] in d.txt"),
            "{e}"
        );
        assert!(
            e.contains("partition u-0 is in d.txt but not in cur.json"),
            "{e}"
        );
    }

    #[test]
    fn unknown_broker_names_partition_and_broker() {
        let mut f = files();
        f.broker_racks = src("racks.txt", "1 a\n2 b\n");
        let e = cluster_from_kafka_files(&f).unwrap_err().to_string();
        assert_eq!(
            e,
            "cur.json: partition t-1 has a replica on broker 3, which is not in the broker list racks.txt"
        );
    }

    #[test]
    fn whole_generate_output_is_accepted() {
        let text = format!(
            "Current partition replica assignment\n{JSON}\n\nProposed partition reassignment configuration\n{{}}\n"
        );
        let mut f = files();
        f.reassignment_json = Some(src("gen.txt", &text));
        let b = cluster_from_kafka_files(&f).unwrap();
        assert_eq!(b.cluster.partitions.len(), 2);
        // Errors in the JSON line keep the file's line numbering.
        let bad = "Current partition replica assignment\n{bad\n";
        f.reassignment_json = Some(src("gen.txt", bad));
        let e = cluster_from_kafka_files(&f).unwrap_err();
        assert_eq!(e.problems[0].line, Some(2));
    }

    #[test]
    fn needs_an_assignment_and_known_capacity_brokers() {
        let mut f = files();
        f.reassignment_json = None;
        assert!(cluster_from_kafka_files(&f).is_err());
        let spec = CapacitySpec::PerBroker(BTreeMap::from([(9, 1)]));
        let mut f = files();
        f.capacity = Some(&spec);
        let e = cluster_from_kafka_files(&f).unwrap_err().to_string();
        assert!(e.starts_with("--broker-capacity: broker(s) 9"), "{e}");
    }
}
