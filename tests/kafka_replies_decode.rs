//! Real broker replies, captured from the test cluster into `tests/fixtures/replies/`
//! (`<Api>-v<version>.bin`: one response frame, header and body, without its length prefix,
//! correlation id 0x01020304), decode through the connection's decode path and into the
//! model where kafka-replan reads them. `tests/fuzz_decoders.rs` mutates them as seeds.
//!
//! `capture_replies_from_the_test_cluster` (ignored) writes them again from a running
//! cluster: `scripts/capture-replies.sh` starts one, makes a topic with data, a consumer
//! group with commits, runs it and stops the cluster.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_replan::kafka::admin::{
    cluster_from_describe, cluster_from_metadata, log_dirs_from_response, topics_from_metadata,
};
use kafka_replan::kafka::conn::{decode_response, encode_request, negotiate, ApiRequest};

/// The correlation id of every captured frame (the fuzz tests' own).
const CID: i32 = 0x0102_0304;

fn replies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replies")
}

/// Every captured frame: (API name, version, frame).
fn captured() -> Vec<(String, i16, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(replies_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".bin") else {
            continue;
        };
        let (api, v) = stem.rsplit_once("-v").unwrap_or_else(|| panic!("{name}"));
        let v: i16 = v.parse().unwrap_or_else(|_| panic!("{name}"));
        out.push((api.to_string(), v, std::fs::read(&path).unwrap()));
    }
    out.sort();
    out
}

fn decode<R: ApiRequest>(frame: &[u8], v: i16) -> R::Response {
    decode_response::<R>(Bytes::from(frame.to_vec()), v, CID)
        .unwrap_or_else(|e| panic!("{} v{v}: captured reply refused: {e}", R::NAME))
}

/// The APIs whose real replies the fixtures must hold (the SASL ones come from the SASL
/// listener).
const EXPECTED: &[&str] = &[
    "ApiVersions",
    "Metadata",
    "DescribeCluster",
    "DescribeTopicPartitions",
    "DescribeLogDirs",
    "DescribeConfigs",
    "ListPartitionReassignments",
    "ListOffsets",
    "ListGroups",
    "FindCoordinator",
    "OffsetFetch",
    "ElectLeaders",
    "AlterPartitionReassignments",
    "IncrementalAlterConfigs",
    "SaslHandshake",
    "SaslAuthenticate",
];

#[test]
fn captured_replies_decode_and_convert() {
    let frames = captured();
    for api in EXPECTED {
        assert!(
            frames.iter().any(|(a, _, _)| a == api),
            "no captured {api} reply in {}",
            replies_dir().display()
        );
    }
    for (api, v, frame) in &frames {
        match api.as_str() {
            "ApiVersions" => {
                let r = decode::<ApiVersionsRequest>(frame, *v);
                assert_eq!(r.error_code, 0);
                assert!(r
                    .api_keys
                    .iter()
                    .any(|k| k.api_key == ApiKey::Metadata as i16));
            }
            "Metadata" => {
                let r = decode::<MetadataRequest>(frame, *v);
                assert_eq!(cluster_from_metadata(&r).brokers.len(), 4, "{api}");
                let topics = topics_from_metadata(&r);
                assert!(topics.iter().any(|t| t.name == "capture"), "{topics:?}");
            }
            "DescribeCluster" => {
                let r = decode::<DescribeClusterRequest>(frame, *v);
                assert_eq!(cluster_from_describe(&r).brokers.len(), 4, "{api}");
            }
            "DescribeTopicPartitions" => {
                let r = decode::<DescribeTopicPartitionsRequest>(frame, *v);
                assert!(r.topics.iter().any(|t| t.partitions.len() == 3));
            }
            "DescribeLogDirs" => {
                let r = decode::<DescribeLogDirsRequest>(frame, *v);
                let dirs = log_dirs_from_response(&r).unwrap();
                assert_eq!(dirs.len(), 2, "two log dirs per broker: {dirs:?}");
            }
            "DescribeConfigs" => {
                let r = decode::<DescribeConfigsRequest>(frame, *v);
                assert!(r.results.iter().all(|c| c.error_code == 0), "{r:?}");
            }
            "ListPartitionReassignments" => {
                let r = decode::<ListPartitionReassignmentsRequest>(frame, *v);
                assert_eq!(r.error_code, 0);
            }
            "ListOffsets" => {
                let r = decode::<ListOffsetsRequest>(frame, *v);
                assert!(!r.topics.is_empty());
            }
            "ListGroups" => {
                let r = decode::<ListGroupsRequest>(frame, *v);
                assert!(r
                    .groups
                    .iter()
                    .any(|g| g.group_id.0.as_str() == "capture-group"));
            }
            "FindCoordinator" => {
                let r = decode::<FindCoordinatorRequest>(frame, *v);
                assert_eq!(r.coordinators.len(), 1);
            }
            "OffsetFetch" => {
                let r = decode::<OffsetFetchRequest>(frame, *v);
                assert!(r.groups.iter().any(|g| !g.topics.is_empty()), "{r:?}");
            }
            "ElectLeaders" => {
                decode::<ElectLeadersRequest>(frame, *v);
            }
            "AlterPartitionReassignments" => {
                decode::<AlterPartitionReassignmentsRequest>(frame, *v);
            }
            "IncrementalAlterConfigs" => {
                let r = decode::<IncrementalAlterConfigsRequest>(frame, *v);
                assert!(r.responses.iter().all(|c| c.error_code == 0), "{r:?}");
            }
            "SaslHandshake" => {
                let r = decode::<SaslHandshakeRequest>(frame, *v);
                assert_eq!(r.error_code, 0);
            }
            "SaslAuthenticate" => {
                let r = decode::<SaslAuthenticateRequest>(frame, *v);
                assert_eq!(r.error_code, 0);
            }
            other => panic!("a captured reply of an API this test does not know: {other}"),
        }
    }
}

/// The default frame limit reads a whole-cluster Metadata answer (the one answer that
/// cannot be asked in slices on brokers before 3.7) of 180,000 partitions at replication
/// factor 3 in topics of 20 partitions, as docs/reliability.md says.
#[test]
fn default_limit_reads_a_metadata_answer_of_180000_partitions() {
    use kafka_protocol::messages::metadata_response::{
        MetadataResponsePartition, MetadataResponseTopic,
    };
    use kafka_protocol::protocol::{Encodable, StrBytes};
    use kafka_replan::kafka::properties::DEFAULT_MAX_RESPONSE_BYTES;
    let replicas = vec![BrokerId(101), BrokerId(102), BrokerId(103)];
    let partition = |p: i32| {
        MetadataResponsePartition::default()
            .with_partition_index(p)
            .with_leader_id(BrokerId(101))
            .with_leader_epoch(12)
            .with_replica_nodes(replicas.clone())
            .with_isr_nodes(replicas.clone())
    };
    let topics: Vec<MetadataResponseTopic> = (0..9_000)
        .map(|t| {
            MetadataResponseTopic::default()
                .with_name(Some(TopicName(StrBytes::from_string(format!(
                    "service-events-{t:05}"
                )))))
                .with_partitions((0..20).map(partition).collect())
        })
        .collect();
    let resp = MetadataResponse::default().with_topics(topics);
    let mut buf = Vec::new();
    resp.encode(&mut buf, 12).unwrap();
    eprintln!(
        "180,000 partitions: {} bytes, {:.0} per partition",
        buf.len(),
        buf.len() as f64 / 180_000.0
    );
    assert!(
        buf.len() < DEFAULT_MAX_RESPONSE_BYTES,
        "{} bytes",
        buf.len()
    );
}

// ------------------------------------------------------------------------- capture

/// ApiVersions as kafka-replan sends it (v3+ requires a valid client software name).
fn api_versions_request() -> ApiVersionsRequest {
    use kafka_protocol::protocol::StrBytes;
    ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("kafka-replan"))
        .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")))
}

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

/// A blocking client speaking just enough Kafka to capture raw frames.
struct Raw {
    sock: Box<dyn Stream>,
    versions: Vec<(i16, i16, i16)>,
}

impl Raw {
    fn connect(addr: &str) -> Raw {
        let sock = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{addr}: {e}"));
        Raw::over(Box::new(sock))
    }

    /// TLS with the client properties' trust store (the SASL listener is SASL_SSL).
    fn connect_tls(addr: &str, properties: &str) -> Raw {
        use kafka_replan::kafka::properties::ClientConfig;
        let text = std::fs::read_to_string(properties).unwrap();
        let cfg = ClientConfig::from_properties_text(&text).unwrap();
        let tls = kafka_replan::kafka::tls::client_config(cfg.tls.as_ref().unwrap()).unwrap();
        let (host, _) = addr.rsplit_once(':').unwrap();
        let name = rustls::pki_types::ServerName::try_from(host.to_string()).unwrap();
        let conn = rustls::ClientConnection::new(tls, name).unwrap();
        let sock = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{addr}: {e}"));
        Raw::over(Box::new(rustls::StreamOwned::new(conn, sock)))
    }

    fn over(sock: Box<dyn Stream>) -> Raw {
        let mut raw = Raw {
            sock,
            versions: Vec::new(),
        };
        let (v, frame) = raw.exchange(&api_versions_request(), 3);
        let resp = decode::<ApiVersionsRequest>(&frame, v);
        raw.versions = resp
            .api_keys
            .iter()
            .map(|k| (k.api_key, k.min_version, k.max_version))
            .collect();
        raw
    }

    /// The version kafka-replan would pick for `R` on this broker.
    fn version<R: ApiRequest>(&self) -> i16 {
        let broker = self
            .versions
            .iter()
            .find(|(k, _, _)| *k == R::KEY as i16)
            .map(|(_, lo, hi)| (*lo, *hi));
        negotiate(
            "capture",
            R::NAME,
            (R::VERSIONS.min, R::VERSIONS.max),
            broker,
        )
        .unwrap()
    }

    fn exchange<R: ApiRequest>(&mut self, req: &R, v: i16) -> (i16, Vec<u8>) {
        let out = encode_request(req, v, CID, "kafka-replan").unwrap();
        self.sock.write_all(&out).unwrap();
        self.sock.flush().unwrap();
        let mut len = [0u8; 4];
        self.sock.read_exact(&mut len).unwrap();
        let mut frame = vec![0u8; i32::from_be_bytes(len) as usize];
        self.sock.read_exact(&mut frame).unwrap();
        (v, frame)
    }

    /// Sends `req` at the negotiated version (or `at`), checks the reply decodes, and
    /// writes it to the fixtures.
    fn capture<R: ApiRequest>(&mut self, req: &R, at: Option<i16>) -> R::Response {
        let v = at.unwrap_or_else(|| self.version::<R>());
        let (v, frame) = self.exchange(req, v);
        let resp = decode::<R>(&frame, v);
        let path = replies_dir().join(format!("{}-v{v}.bin", R::NAME));
        std::fs::write(&path, &frame).unwrap();
        eprintln!("{}: {} bytes", path.display(), frame.len());
        resp
    }
}

fn first(list_var: &str) -> String {
    let list = std::env::var(list_var)
        .unwrap_or_else(|_| panic!("{list_var} not set: run scripts/capture-replies.sh"));
    list.split(',').next().unwrap().to_string()
}

#[test]
#[ignore = "needs the test cluster: scripts/capture-replies.sh"]
fn capture_replies_from_the_test_cluster() {
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    use kafka_protocol::messages::describe_topic_partitions_request::TopicRequest;
    use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
    use kafka_protocol::messages::incremental_alter_configs_request::{
        AlterConfigsResource, AlterableConfig,
    };
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
    use kafka_protocol::protocol::StrBytes;
    use kafka_replan::kafka::admin::metadata_request;
    std::fs::create_dir_all(replies_dir()).unwrap();
    for entry in std::fs::read_dir(replies_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "bin") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let topic = || TopicName(StrBytes::from_static_str("capture"));
    let mut c = Raw::connect(&first("KAFKA_REPLAN_TEST_BOOTSTRAP"));
    c.capture(&api_versions_request(), None);
    let v = c.version::<MetadataRequest>();
    let md = c.capture(&metadata_request(None, v), None);
    let leader = md
        .topics
        .iter()
        .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == "capture"))
        .and_then(|t| t.partitions.iter().find(|p| p.partition_index == 0))
        .map(|p| p.leader_id)
        .expect("topic capture (made by scripts/capture-replies.sh)");
    c.capture(&DescribeClusterRequest::default(), None);
    c.capture(
        &DescribeTopicPartitionsRequest::default()
            .with_topics(vec![TopicRequest::default().with_name(topic())])
            .with_response_partition_limit(2_000),
        None,
    );
    c.capture(&DescribeLogDirsRequest::default().with_topics(None), None);
    c.capture(
        &DescribeConfigsRequest::default().with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str("capture"))
                .with_configuration_keys(Some(vec![
                    StrBytes::from_static_str("leader.replication.throttled.replicas"),
                    StrBytes::from_static_str("min.insync.replicas"),
                ])),
            DescribeConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(StrBytes::from_static_str("0"))
                .with_configuration_keys(Some(vec![StrBytes::from_static_str(
                    "leader.replication.throttled.rate",
                )])),
        ]),
        None,
    );
    c.capture(
        &ListPartitionReassignmentsRequest::default()
            .with_timeout_ms(10_000)
            .with_topics(None),
        None,
    );
    c.capture(&ListGroupsRequest::default(), None);
    c.capture(
        &FindCoordinatorRequest::default()
            .with_coordinator_keys(vec![StrBytes::from_static_str("capture-group")]),
        None,
    );
    // Kafka-replan asks in the batched form (v8+).
    c.capture(
        &OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(StrBytes::from_static_str("capture-group")))
            .with_member_id(None)
            .with_member_epoch(-1)
            .with_topics(None)]),
        None,
    );
    // Changes nothing: cancelling a reassignment that is not running is a per-partition
    // NO_REASSIGNMENT_IN_PROGRESS, a preferred election of a partition whose leader is
    // its preferred replica is ELECTION_NOT_NEEDED, and the config change only validates.
    c.capture(
        &AlterPartitionReassignmentsRequest::default()
            .with_timeout_ms(10_000)
            .with_topics(vec![
                alter_partition_reassignments_request::ReassignableTopic::default()
                    .with_name(topic())
                    .with_partitions(vec![
                        alter_partition_reassignments_request::ReassignablePartition::default()
                            .with_partition_index(0)
                            .with_replicas(None),
                    ]),
            ]),
        Some(0),
    );
    c.capture(
        &ElectLeadersRequest::default()
            .with_election_type(0)
            .with_topic_partitions(Some(vec![TopicPartitions::default()
                .with_topic(topic())
                .with_partitions(vec![0, 1, 2])]))
            .with_timeout_ms(10_000),
        None,
    );
    c.capture(
        &IncrementalAlterConfigsRequest::default()
            .with_validate_only(true)
            .with_resources(vec![AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str("capture"))
                .with_configs(vec![AlterableConfig::default()
                    .with_name(StrBytes::from_static_str("retention.ms"))
                    .with_config_operation(0)
                    .with_value(Some(StrBytes::from_static_str("86400000")))])]),
        None,
    );
    // ListOffsets goes to the leader of the partitions asked.
    let leader_addr = md
        .brokers
        .iter()
        .find(|b| b.node_id == leader)
        .map(|b| format!("{}:{}", b.host.as_str(), b.port))
        .unwrap();
    let mut l = Raw::connect(&leader_addr);
    l.capture(
        &ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(topic())
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_current_leader_epoch(-1)
                    .with_timestamp(-1)])]),
        None,
    );
    // SASL PLAIN on the SASL listener: handshake, then the PLAIN message.
    let mut s = Raw::connect_tls(
        &first("KAFKA_REPLAN_TEST_SASL_BOOTSTRAP"),
        &std::env::var("KAFKA_REPLAN_TEST_PLAIN_CLIENT_PROPERTIES").unwrap(),
    );
    s.capture(
        &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN")),
        None,
    );
    let user = std::env::var("KAFKA_REPLAN_TEST_PLAIN_USER").unwrap();
    let password = std::env::var("KAFKA_REPLAN_TEST_PLAIN_PASSWORD").unwrap();
    let token = format!("\0{user}\0{password}");
    s.capture(
        &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token.into_bytes())),
        None,
    );
}
