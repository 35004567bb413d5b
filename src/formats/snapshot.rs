//! The snapshot file: the bench suite's format (`../shared/bench/README.md` §1) plus optional
//! fields for live data. Unknown keys (e.g. the bench's `scenario`) are ignored.
//!
//! ```json
//! {"brokers": [{"id": 1, "rack": "r1", "disk_capacity_bytes": 2000000000000}],
//!  "partitions": [{"topic": "t0", "partition": 0, "replicas": [1, 2, 3], "size_bytes": 123}]}
//! ```
//! Optional per broker: `rack` may be null/absent (no rack), `disk_capacity_bytes` may be
//! null/absent (unknown), `log_dirs` (JBOD: `[{"path": "/d1", "capacity_bytes": N,
//! "usable_bytes": N, "offline": false}]`, every key but `path` optional). Optional per
//! partition: `leader`, `isr`, `adding_replicas`, `removing_replicas`, `log_dirs` (one path or
//! null per replica, in replica order), `bytes_in_per_sec` / `bytes_out_per_sec` (measured
//! produce and consumer traffic; non-negative numbers, rounded to whole bytes). Optional at
//! the top: `rates_window_ms` (the window the rates were measured over). A snapshot without
//! these keys reads as before, and one without them is written byte for byte as before.
//!
//! Reading streams: a gzip snapshot is decompressed while it is parsed (the decompressed text
//! is never held whole), and each partition object becomes a [`Partition`] as soon as it is
//! read, so the only per-partition memory is the model's own. At 5 M partitions the text
//! alone is 420 MB and a parsed-but-unconverted copy of the partitions as large again.

use std::fmt;
use std::io::{BufReader, Read};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::{FormatError, Problem, MAX_INPUT_BYTES};
use crate::model::{
    validate_cluster, Broker, BrokerId, BrokerLogDir, Cluster, InFlight, Partition, PartitionRates,
    TopicPartition,
};

#[derive(Deserialize, Serialize)]
struct RawBroker {
    id: BrokerId,
    #[serde(default)]
    rack: Option<String>,
    #[serde(default)]
    disk_capacity_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    log_dirs: Vec<RawLogDir>,
}

#[derive(Deserialize, Serialize)]
struct RawLogDir {
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    capacity_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    usable_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "is_false")]
    offline: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One partition as written: borrows the model's fields (writing allocates nothing per
/// partition but the output line).
#[derive(Serialize)]
struct PartitionOut<'a> {
    topic: &'a str,
    partition: i32,
    replicas: &'a [BrokerId],
    size_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    leader: Option<BrokerId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    isr: Option<&'a [BrokerId]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    adding_replicas: Option<&'a [BrokerId]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    removing_replicas: Option<&'a [BrokerId]>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    log_dirs: &'a [Option<String>],
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_in_per_sec: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_out_per_sec: Option<f64>,
}

/// A measured rate as whole bytes per second; negative, NaN or infinite rates are refused.
fn rate_bytes(tp: &TopicPartition, key: &str, value: Option<f64>) -> Result<u64, String> {
    match value {
        None => Ok(0),
        Some(v) if v.is_finite() && v >= 0.0 => Ok(v.round() as u64),
        Some(v) => Err(format!(
            "partition {tp}: {key} is {v}; a rate must be a non-negative number of bytes per second"
        )),
    }
}

/// What the top-level object gives: the model's parts plus the rate problems found on the
/// way (reported with the structural violations, after the whole file is read).
struct Parsed {
    brokers: Vec<Broker>,
    partitions: Vec<Partition>,
    rates_window_ms: Option<u64>,
    rate_problems: Vec<String>,
}

/// The top-level object. Written by hand (not derived) so the partition list can be read
/// element by element straight into the model.
struct SnapshotVisitor;

impl<'de> Visitor<'de> for SnapshotVisitor {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a snapshot object with `brokers` and `partitions`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let mut brokers: Option<Vec<RawBroker>> = None;
        let mut partitions: Option<Vec<Partition>> = None;
        let mut rates_window_ms: Option<Option<u64>> = None;
        let mut rate_problems = Vec::new();
        while let Some(key) = map.next_key::<TopKey>()? {
            match key {
                TopKey::Brokers => {
                    if brokers.is_some() {
                        return Err(de::Error::duplicate_field("brokers"));
                    }
                    brokers = Some(map.next_value()?);
                }
                TopKey::Partitions => {
                    if partitions.is_some() {
                        return Err(de::Error::duplicate_field("partitions"));
                    }
                    partitions = Some(map.next_value_seed(PartitionList {
                        rate_problems: &mut rate_problems,
                    })?);
                }
                TopKey::RatesWindowMs => {
                    if rates_window_ms.is_some() {
                        return Err(de::Error::duplicate_field("rates_window_ms"));
                    }
                    rates_window_ms = Some(map.next_value()?);
                }
                TopKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let brokers = brokers.ok_or_else(|| de::Error::missing_field("brokers"))?;
        let partitions = partitions.ok_or_else(|| de::Error::missing_field("partitions"))?;
        Ok(Parsed {
            brokers: brokers.into_iter().map(broker_of).collect(),
            partitions,
            rates_window_ms: rates_window_ms.flatten(),
            rate_problems,
        })
    }
}

fn broker_of(b: RawBroker) -> Broker {
    let mut log_dirs: Vec<BrokerLogDir> = b
        .log_dirs
        .into_iter()
        .map(|d| BrokerLogDir {
            path: d.path,
            capacity_bytes: d.capacity_bytes,
            usable_bytes: d.usable_bytes,
            offline: d.offline,
        })
        .collect();
    log_dirs.sort_by(|a, b| a.path.cmp(&b.path));
    Broker {
        id: b.id,
        rack: b.rack,
        capacity_bytes: b.disk_capacity_bytes,
        log_dirs,
    }
}

/// Keys of the top-level object; anything else is ignored (the bench's `scenario`).
enum TopKey {
    Brokers,
    Partitions,
    RatesWindowMs,
    Other,
}

impl<'de> Deserialize<'de> for TopKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = TopKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TopKey, E> {
                Ok(match s {
                    "brokers" => TopKey::Brokers,
                    "partitions" => TopKey::Partitions,
                    "rates_window_ms" => TopKey::RatesWindowMs,
                    _ => TopKey::Other,
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

/// The partition list, read one element at a time into the model.
struct PartitionList<'p> {
    rate_problems: &'p mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for PartitionList<'_> {
    type Value = Vec<Partition>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Partition>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PartitionList<'_> {
    type Value = Vec<Partition>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Partition>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
        while let Some(raw) = seq.next_element::<RawPartition>()? {
            out.push(partition_of(raw, self.rate_problems));
        }
        Ok(out)
    }
}

/// One partition object as read. The optional lists stay `Option` so an absent key costs
/// nothing.
#[derive(Deserialize)]
struct RawPartition {
    topic: String,
    partition: i32,
    replicas: Vec<BrokerId>,
    size_bytes: u64,
    #[serde(default)]
    leader: Option<BrokerId>,
    #[serde(default)]
    isr: Option<Vec<BrokerId>>,
    #[serde(default)]
    adding_replicas: Option<Vec<BrokerId>>,
    #[serde(default)]
    removing_replicas: Option<Vec<BrokerId>>,
    #[serde(default)]
    log_dirs: Vec<Option<String>>,
    #[serde(default)]
    bytes_in_per_sec: Option<f64>,
    #[serde(default)]
    bytes_out_per_sec: Option<f64>,
}

fn partition_of(p: RawPartition, rate_problems: &mut Vec<String>) -> Partition {
    let tp = TopicPartition::new(p.topic, p.partition);
    let rates = if p.bytes_in_per_sec.is_some() || p.bytes_out_per_sec.is_some() {
        let bytes_in = rate_bytes(&tp, "bytes_in_per_sec", p.bytes_in_per_sec);
        let bytes_out = rate_bytes(&tp, "bytes_out_per_sec", p.bytes_out_per_sec);
        match (bytes_in, bytes_out) {
            (Ok(bytes_in_per_sec), Ok(bytes_out_per_sec)) => Some(PartitionRates {
                bytes_in_per_sec,
                bytes_out_per_sec,
            }),
            (a, b) => {
                rate_problems.extend(a.err());
                rate_problems.extend(b.err());
                None
            }
        }
    } else {
        None
    };
    let in_flight = if p.adding_replicas.is_some() || p.removing_replicas.is_some() {
        Some(InFlight {
            adding: p.adding_replicas.unwrap_or_default(),
            removing: p.removing_replicas.unwrap_or_default(),
        })
    } else {
        None
    };
    Partition {
        tp,
        replicas: p.replicas,
        size_bytes: p.size_bytes,
        leader: p.leader,
        isr: p.isr,
        in_flight,
        log_dirs: p.log_dirs,
        rates,
    }
}

/// The decompressed stream of a gzip snapshot, with the size limit applied as it is read and
/// what went wrong below the JSON parser remembered (serde_json only keeps an I/O error's
/// text).
struct GzipStream<'a> {
    decoder: flate2::read::GzDecoder<&'a [u8]>,
    read: u64,
    /// Something other than whitespace was decompressed (else the file counts as empty).
    content: bool,
    failure: Option<FormatError>,
    source_name: &'a str,
}

impl Read for GzipStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = match self.decoder.read(buf) {
            Ok(n) => n,
            Err(e) => {
                self.failure = Some(FormatError::one(
                    self.source_name,
                    None,
                    format!("invalid gzip data: {e}"),
                ));
                return Err(e);
            }
        };
        self.read += n as u64;
        if self.read > MAX_INPUT_BYTES {
            self.failure = Some(FormatError::one(
                self.source_name,
                None,
                format!("decompressed input exceeds {MAX_INPUT_BYTES} bytes"),
            ));
            return Err(std::io::Error::other("input too large"));
        }
        if !self.content {
            self.content = buf[..n].iter().any(|b| !b.is_ascii_whitespace());
        }
        Ok(n)
    }
}

/// Reads the whole document (nothing but whitespace may follow it).
fn read_document<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
) -> Result<Parsed, serde_json::Error> {
    let parsed = de.deserialize_map(SnapshotVisitor)?;
    de.end()?;
    Ok(parsed)
}

/// Parses a snapshot (plain or gzip JSON) and validates it structurally; every violation is
/// reported, not only the first.
pub fn parse_snapshot(source_name: &str, bytes: Vec<u8>) -> Result<Cluster, FormatError> {
    let gzip = bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
    let parsed = if gzip {
        let mut stream = GzipStream {
            decoder: flate2::read::GzDecoder::new(&bytes[..]),
            read: 0,
            content: false,
            failure: None,
            source_name,
        };
        let result = {
            let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(
                1 << 16,
                &mut stream,
            ));
            read_document(&mut de)
        };
        match result {
            Ok(parsed) => parsed,
            Err(e) => {
                // Decompress the rest first, so the error is reported in the order the
                // checks have always run: gzip data, size limit, empty file, then JSON.
                let _ = std::io::copy(&mut stream, &mut std::io::sink());
                if let Some(failure) = stream.failure.take() {
                    return Err(failure);
                }
                if !stream.content {
                    return Err(FormatError::one(source_name, None, "the file is empty"));
                }
                return Err(FormatError::json(source_name, &e));
            }
        }
    } else {
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(FormatError::one(source_name, None, "the file is empty"));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        read_document(&mut de).map_err(|e| FormatError::json(source_name, &e))?
    };
    drop(bytes);
    let Parsed {
        brokers,
        partitions,
        rates_window_ms,
        rate_problems,
    } = parsed;
    let mut cluster = Cluster::new(brokers, partitions);
    cluster.rates_window_ms = rates_window_ms;
    let violations = validate_cluster(&cluster);
    if !violations.is_empty() || !rate_problems.is_empty() {
        let problems = violations
            .into_iter()
            .map(|v| v.to_string())
            .chain(rate_problems)
            .map(|message| Problem {
                line: None,
                message,
            })
            .collect();
        return Err(FormatError::many(source_name, problems));
    }
    Ok(cluster)
}

/// Writes a snapshot: stable key order, one broker or partition per line (diffable), ends
/// with a newline. Reading it back gives the same cluster.
pub fn write_snapshot(cluster: &Cluster) -> String {
    let mut out = String::from("{");
    if let Some(ms) = cluster.rates_window_ms {
        out.push_str(&format!("\"rates_window_ms\":{ms},\n"));
    }
    out.push_str("\"brokers\":[\n");
    for (i, b) in cluster.brokers.iter().enumerate() {
        let raw = RawBroker {
            id: b.id,
            rack: b.rack.clone(),
            disk_capacity_bytes: b.capacity_bytes,
            log_dirs: b
                .log_dirs
                .iter()
                .map(|d| RawLogDir {
                    path: d.path.clone(),
                    capacity_bytes: d.capacity_bytes,
                    usable_bytes: d.usable_bytes,
                    offline: d.offline,
                })
                .collect(),
        };
        out.push_str(&to_json(&raw));
        out.push_str(if i + 1 < cluster.brokers.len() {
            ",\n"
        } else {
            "\n"
        });
    }
    out.push_str("],\n\"partitions\":[\n");
    for (i, p) in cluster.partitions.iter().enumerate() {
        let raw = PartitionOut {
            topic: &p.tp.topic,
            partition: p.tp.partition,
            replicas: &p.replicas,
            size_bytes: p.size_bytes,
            leader: p.leader,
            isr: p.isr.as_deref(),
            adding_replicas: p.in_flight.as_ref().map(|f| f.adding.as_slice()),
            removing_replicas: p.in_flight.as_ref().map(|f| f.removing.as_slice()),
            log_dirs: &p.log_dirs,
            bytes_in_per_sec: p.rates.map(|r| r.bytes_in_per_sec as f64),
            bytes_out_per_sec: p.rates.map(|r| r.bytes_out_per_sec as f64),
        };
        out.push_str(&to_json(&raw));
        out.push_str(if i + 1 < cluster.partitions.len() {
            ",\n"
        } else {
            "\n"
        });
    }
    out.push_str("]}\n");
    out
}

fn to_json<T: Serialize>(v: &T) -> String {
    // Serialising plain structs of strings and integers cannot fail.
    serde_json::to_string(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"{"brokers":[{"id":2,"rack":"r2","disk_capacity_bytes":100},
        {"id":1,"rack":"r1","disk_capacity_bytes":100}],
        "partitions":[{"topic":"t","partition":1,"replicas":[1,2],"size_bytes":5},
                      {"topic":"t","partition":0,"replicas":[2,1],"size_bytes":7}],
        "scenario":{"name":"x","exclude_brokers":[]}}"#;

    #[test]
    fn parses_bench_format_and_ignores_scenario() {
        let c = parse_snapshot("s.json", SMALL.as_bytes().to_vec()).unwrap();
        assert_eq!(c.broker_ids(), vec![1, 2]);
        assert_eq!(c.partitions[0].tp, TopicPartition::new("t", 0));
        assert_eq!(c.partitions[0].size_bytes, 7);
    }

    #[test]
    fn round_trips() {
        let mut c = parse_snapshot("s.json", SMALL.as_bytes().to_vec()).unwrap();
        c.brokers[0].rack = None;
        c.brokers[1].capacity_bytes = None;
        c.partitions[0].leader = Some(2);
        c.partitions[0].isr = Some(vec![2]);
        c.partitions[1].in_flight = Some(InFlight {
            adding: vec![2],
            removing: vec![],
        });
        let text = write_snapshot(&c);
        let back = parse_snapshot("w.json", text.into_bytes()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn log_dirs_and_rates_round_trip_and_stay_out_when_unknown() {
        let plain = parse_snapshot("s.json", SMALL.as_bytes().to_vec()).unwrap();
        let text = write_snapshot(&plain);
        assert!(
            !text.contains("log_dirs") && !text.contains("per_sec"),
            "{text}"
        );
        assert!(!text.contains("rates_window_ms"), "{text}");

        let mut c = plain;
        c.rates_window_ms = Some(60_000);
        c.brokers[0].log_dirs = vec![
            BrokerLogDir {
                path: "/d0".into(),
                capacity_bytes: Some(50),
                usable_bytes: Some(40),
                offline: false,
            },
            BrokerLogDir {
                path: "/d1".into(),
                capacity_bytes: None,
                usable_bytes: None,
                offline: true,
            },
        ];
        c.partitions[0].log_dirs = vec![None, Some("/d1".into())];
        c.partitions[1].rates = Some(PartitionRates {
            bytes_in_per_sec: 1_000,
            bytes_out_per_sec: 3_000,
        });
        let back = parse_snapshot("w.json", write_snapshot(&c).into_bytes()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn bad_rates_and_dirs_name_the_partition() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"brokers":[{"id":1}],"partitions":[{"topic":"t","partition":0,"replicas":[1],"size_bytes":1,"bytes_in_per_sec":-5}]}"#,
                "partition t-0: bytes_in_per_sec is -5",
            ),
            (
                r#"{"brokers":[{"id":1}],"partitions":[{"topic":"t","partition":0,"replicas":[1],"size_bytes":1,"bytes_out_per_sec":"fast"}]}"#,
                "invalid JSON",
            ),
            (
                r#"{"brokers":[{"id":1},{"id":2}],"partitions":[{"topic":"t","partition":3,"replicas":[1,2],"size_bytes":1,"log_dirs":["/d"]}]}"#,
                "partition t-3 lists 1 log dirs for 2 replicas",
            ),
        ];
        for (input, want) in cases {
            let err = parse_snapshot("in.json", input.as_bytes().to_vec()).unwrap_err();
            assert!(err.to_string().contains(want), "{input:?}: {err}");
        }
    }

    #[test]
    fn gzip_is_detected_by_magic() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(SMALL.as_bytes()).unwrap();
        let gz = enc.finish().unwrap();
        let c = parse_snapshot("s.json", gz).unwrap();
        assert_eq!(c.partitions.len(), 2);
    }

    #[test]
    fn bad_inputs_name_the_problem() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("{\"brokers\":[", "invalid JSON"),
            ("[]", "invalid JSON"),
            (
                r#"{"brokers":[{"id":1}],"partitions":[{"topic":"t","partition":0,"replicas":[1],"size_bytes":-1}]}"#,
                "invalid JSON",
            ),
            (
                r#"{"brokers":[{"id":1}],"partitions":[{"topic":"t","partition":0,"replicas":[1]}]}"#,
                "size_bytes",
            ),
            (
                r#"{"brokers":[{"id":1}],"partitions":[{"topic":"t","partition":2147483648,"replicas":[1],"size_bytes":1}]}"#,
                "2147483648",
            ),
            (
                r#"{"brokers":[{"id":1},{"id":1}],"partitions":[]}"#,
                "broker 1 is listed more than once",
            ),
            (
                r#"{"brokers":[{"id":1}],"partitions":[{"topic":"t","partition":0,"replicas":[1,1],"size_bytes":1}]}"#,
                "t-0 lists broker 1 more than once",
            ),
            (
                r#"{"brokers":[{"id":1}],"partitions":[{"topic":"t","partition":0,"replicas":[7],"size_bytes":1}]}"#,
                "broker 7, which is not in the broker list",
            ),
            (r#"{"brokers":[],"partitions":[]}"#, "broker list is empty"),
        ];
        for (input, want) in cases {
            let err = parse_snapshot("in.json", input.as_bytes().to_vec()).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(want), "{input:?}: {text}");
            assert!(text.starts_with("in.json"), "{text}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!(
            "{{\"scenario\":{}{},\"brokers\":[],\"partitions\":[]}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        // Ignored keys are skipped without recursion; the rest of the file is still checked.
        let err = parse_snapshot("deep.json", deep.into_bytes()).unwrap_err();
        assert!(err.to_string().contains("broker list is empty"), "{err}");
        let deep_brokers = format!("{{\"brokers\":{}", "[".repeat(100_000));
        let err = parse_snapshot("deep.json", deep_brokers.into_bytes()).unwrap_err();
        assert!(err.to_string().contains("invalid JSON"), "{err}");
    }

    #[test]
    fn non_utf8_is_an_error() {
        let mut bytes = br#"{"brokers":[{"id":1,"rack":""#.to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        bytes.extend_from_slice(br#""}],"partitions":[]}"#);
        let err = parse_snapshot("x.json", bytes).unwrap_err();
        assert!(err.to_string().contains("invalid"), "{err}");
    }
}
