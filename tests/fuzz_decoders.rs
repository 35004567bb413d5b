//! Fuzzing every response decoder the client uses, through the decode path the connection
//! uses (`conn::decode_response`: response header, correlation id, body at the negotiated
//! version): random frames and mutations of valid frames at every version kafka-replan
//! speaks. No panic, no abort, a one-line error, and no single allocation beyond a bound
//! proportional to the frame (a counting allocator watches each decode).
//!
//! Seeds: a populated sample of each response at every version, and the real replies
//! captured from a Kafka cluster in `tests/fixtures/replies/` (`scripts/capture-replies.sh`).
//!
//! Cases per property: `PROPTEST_CASES` (default 1000 here); `scripts/fuzz.sh` runs many more.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::sync::OnceLock;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, HeaderVersion, Message, StrBytes};
use kafka_replan::kafka::conn::{decode_response, ApiRequest};
use proptest::prelude::*;

/// Largest single allocation seen on this thread since the last reset.
struct CountingAlloc;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LARGEST.try_with(|m| m.set(m.get().max(layout.size())));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = LARGEST.try_with(|m| m.set(m.get().max(new_size)));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// The bound on one allocation while decoding a frame of `len` bytes: the decoder's 1 MiB
/// up-front reservation cap, or what the frame's elements can need (a decoded element is at
/// most a few hundred bytes, each takes at least one wire byte, vectors double).
fn allocation_bound(len: usize) -> usize {
    (1 << 20).max(len * 2 * 512)
}

const CID: i32 = 0x0102_0304;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// A response frame (header + body, no length prefix), or `None` when the sample sets a
/// field the version does not have.
fn encode<T: Encodable + HeaderVersion>(version: i16, resp: &T) -> Option<Vec<u8>> {
    let mut buf = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(CID)
        .encode(&mut buf, T::header_version(version))
        .ok()?;
    resp.encode(&mut buf, version).ok()?;
    Some(buf.to_vec())
}

/// Valid frames of `R`'s response at every version the client speaks: the populated sample
/// where the version has its fields, the default response otherwise. Each must decode.
fn valid_frames<R: ApiRequest>(sample: R::Response) -> Vec<(i16, Vec<u8>)>
where
    R::Response: Encodable + Default + PartialEq + std::fmt::Debug,
{
    let mut out = Vec::new();
    for v in R::VERSIONS.min..=R::VERSIONS.max {
        if v < <R::Response as Message>::VERSIONS.min || v > <R::Response as Message>::VERSIONS.max
        {
            continue;
        }
        let frame = encode(v, &sample)
            .or_else(|| encode(v, &R::Response::default()))
            .expect("default response encodes");
        decode_response::<R>(Bytes::from(frame.clone()), v, CID)
            .unwrap_or_else(|e| panic!("{} v{v}: valid frame refused: {e}", R::NAME));
        out.push((v, frame));
    }
    for (v, frame) in captured(R::NAME) {
        decode_response::<R>(Bytes::from(frame.clone()), v, CID)
            .unwrap_or_else(|e| panic!("{} v{v}: captured reply refused: {e}", R::NAME));
        out.push((v, frame));
    }
    assert!(!out.is_empty(), "{}", R::NAME);
    out
}

/// Real replies of `api` captured from a Kafka cluster (`tests/fixtures/replies/`, see its
/// README): (version, frame), seeds next to the generated frames. Read once.
fn captured(api: &str) -> Vec<(i16, Vec<u8>)> {
    static ALL: OnceLock<Vec<(String, i16, Vec<u8>)>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replies");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("tests/fixtures/replies") {
            let path = entry.expect("fixture entry").path();
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let Some((api, v)) = name.strip_suffix(".bin").and_then(|s| s.rsplit_once("-v")) else {
                continue;
            };
            let v: i16 = v.parse().unwrap_or_else(|_| panic!("{name}: version"));
            out.push((api.to_string(), v, std::fs::read(&path).expect("fixture")));
        }
        out.sort();
        out
    });
    all.iter()
        .filter(|(a, _, _)| a == api)
        .map(|(_, v, f)| (*v, f.clone()))
        .collect()
}

/// Every API fuzzed here has a captured real reply among its seeds.
#[test]
fn every_fuzzed_api_has_a_captured_reply() {
    for api in [
        "ApiVersions",
        "Metadata",
        "DescribeCluster",
        "DescribeTopicPartitions",
        "DescribeLogDirs",
        "DescribeConfigs",
        "IncrementalAlterConfigs",
        "AlterPartitionReassignments",
        "ListPartitionReassignments",
        "ElectLeaders",
        "ListOffsets",
        "ListGroups",
        "FindCoordinator",
        "OffsetFetch",
        "SaslHandshake",
        "SaslAuthenticate",
    ] {
        assert!(!captured(api).is_empty(), "no captured {api} reply");
    }
}

/// Decodes `frame` as `R`'s response at `version`: must not panic, errors on one line, no
/// allocation over the bound.
fn check<R: ApiRequest>(frame: Vec<u8>, version: i16) -> Result<(), TestCaseError> {
    let len = frame.len();
    LARGEST.with(|m| m.set(0));
    let result = decode_response::<R>(Bytes::from(frame), version, CID);
    let largest = LARGEST.with(|m| m.get());
    if let Err(e) = &result {
        prop_assert!(!e.contains('\n'), "{} v{version}: {e:?}", R::NAME);
        prop_assert!(!e.is_empty());
    }
    drop(result);
    prop_assert!(
        largest <= allocation_bound(len),
        "{} v{version}: allocation of {largest} bytes for a {len}-byte frame",
        R::NAME
    );
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Set {
        at: usize,
        byte: u8,
    },
    /// A large count or length written over 4 bytes (int32 or a 4/5-byte varint).
    BigCount {
        at: usize,
        bytes: [u8; 5],
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Delete {
        at: usize,
        len: usize,
    },
    Truncate {
        at: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        (
            any::<usize>(),
            prop_oneof![
                Just([0x7f, 0xff, 0xff, 0xff, 0x00]),
                Just([0xff, 0xff, 0xff, 0xff, 0x0f]),
                Just([0x80, 0x80, 0x80, 0x80, 0x08]),
                Just([0x00, 0x10, 0x00, 0x00, 0x00]),
                any::<[u8; 5]>(),
            ]
        )
            .prop_map(|(at, bytes)| Mutation::BigCount { at, bytes }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1usize..8).prop_map(|(at, len)| Mutation::Delete { at, len }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn mutate(mut frame: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let n = frame.len().max(1);
        match m {
            Mutation::Set { at, byte } => {
                if let Some(b) = frame.get_mut(at % n) {
                    *b = *byte;
                }
            }
            Mutation::BigCount { at, bytes } => {
                let at = at % n;
                for (i, b) in bytes.iter().enumerate() {
                    if let Some(slot) = frame.get_mut(at + i) {
                        *slot = *b;
                    }
                }
            }
            Mutation::Insert { at, bytes } => {
                let at = at % (frame.len() + 1);
                frame.splice(at..at, bytes.iter().copied());
            }
            Mutation::Delete { at, len } => {
                let at = at % n;
                let end = (at + len).min(frame.len());
                if at < end {
                    frame.drain(at..end);
                }
            }
            Mutation::Truncate { at } => frame.truncate(at % n),
        }
    }
    frame
}

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

fn topic(text: &str) -> TopicName {
    TopicName(s(text))
}

/// One property per API: random frames (behind a valid header half the time) and mutated
/// valid frames, at a version drawn from those the client speaks.
macro_rules! fuzz_api {
    ($name:ident, $req:ty, $sample:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]
            #[test]
            fn $name(
                pick in any::<prop::sample::Index>(),
                mutations in prop::collection::vec(mutation(), 1..4),
                random in prop::collection::vec(any::<u8>(), 0..200),
                keep_header in any::<bool>(),
            ) {
                let frames = valid_frames::<$req>($sample);
                let (version, frame) = frames[pick.index(frames.len())].clone();
                check::<$req>(mutate(frame, &mutations), version)?;
                let mut junk = if keep_header { CID.to_be_bytes().to_vec() } else { Vec::new() };
                junk.extend_from_slice(&random);
                check::<$req>(junk, version)?;
            }
        }
    };
}

fuzz_api!(
    api_versions,
    ApiVersionsRequest,
    ApiVersionsResponse::default().with_api_keys(vec![
        ApiVersion::default().with_api_key(3).with_max_version(12),
        ApiVersion::default().with_api_key(18).with_max_version(4),
    ])
);

fuzz_api!(
    metadata,
    MetadataRequest,
    MetadataResponse::default()
        .with_brokers(vec![
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(1))
                .with_host(s("b1"))
                .with_port(9092),
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(2))
                .with_host(s("b2"))
                .with_port(9092)
        ])
        .with_topics(vec![MetadataResponseTopic::default()
            .with_name(Some(topic("orders")))
            .with_partitions(vec![
                MetadataResponsePartition::default()
                    .with_leader_id(BrokerId(1))
                    .with_replica_nodes(vec![BrokerId(1), BrokerId(2)])
                    .with_isr_nodes(vec![BrokerId(1)]),
                MetadataResponsePartition::default().with_partition_index(1)
            ])])
);

fuzz_api!(
    describe_cluster,
    DescribeClusterRequest,
    DescribeClusterResponse::default()
        .with_cluster_id(s("c"))
        .with_brokers(vec![DescribeClusterBroker::default()
            .with_broker_id(BrokerId(1))
            .with_host(s("b1"))
            .with_port(9092)
            .with_rack(Some(s("r1")))])
);

fuzz_api!(
    describe_log_dirs,
    DescribeLogDirsRequest,
    DescribeLogDirsResponse::default().with_results(vec![DescribeLogDirsResult::default()
        .with_log_dir(s("/data"))
        .with_topics(vec![DescribeLogDirsTopic::default()
            .with_name(topic("orders"))
            .with_partitions(vec![
                DescribeLogDirsPartition::default().with_partition_size(100),
                DescribeLogDirsPartition::default().with_partition_index(1)
            ])])])
);

fuzz_api!(
    describe_configs,
    DescribeConfigsRequest,
    DescribeConfigsResponse::default().with_results(vec![DescribeConfigsResult::default()
        .with_resource_type(4)
        .with_resource_name(s("1"))
        .with_configs(vec![DescribeConfigsResourceResult::default()
            .with_name(s("leader.replication.throttled.rate"))
            .with_value(Some(s("1000")))])])
);

fuzz_api!(
    incremental_alter_configs,
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse::default().with_responses(vec![
        AlterConfigsResourceResponse::default()
            .with_resource_type(2)
            .with_resource_name(s("orders"))
    ])
);

fuzz_api!(
    alter_partition_reassignments,
    AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse::default().with_responses(vec![
        ReassignableTopicResponse::default()
            .with_name(topic("orders"))
            .with_partitions(vec![
                ReassignablePartitionResponse::default(),
                ReassignablePartitionResponse::default()
                    .with_partition_index(1)
                    .with_error_code(60)
            ])
    ])
);

fuzz_api!(
    list_partition_reassignments,
    ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse::default().with_topics(vec![
        OngoingTopicReassignment::default()
            .with_name(topic("orders"))
            .with_partitions(vec![OngoingPartitionReassignment::default()
                .with_replicas(vec![BrokerId(1), BrokerId(2), BrokerId(3)])
                .with_adding_replicas(vec![BrokerId(3)])
                .with_removing_replicas(vec![BrokerId(1)])])
    ])
);

fuzz_api!(
    elect_leaders,
    ElectLeadersRequest,
    ElectLeadersResponse::default().with_replica_election_results(vec![
        ReplicaElectionResult::default()
            .with_topic(topic("orders"))
            .with_partition_result(vec![
                PartitionResult::default(),
                PartitionResult::default()
                    .with_partition_id(1)
                    .with_error_code(84)
            ])
    ])
);

fuzz_api!(
    sasl_handshake,
    SaslHandshakeRequest,
    SaslHandshakeResponse::default().with_mechanisms(vec![s("PLAIN"), s("SCRAM-SHA-512")])
);

fuzz_api!(
    sasl_authenticate,
    SaslAuthenticateRequest,
    SaslAuthenticateResponse::default()
        .with_auth_bytes(Bytes::from_static(b"r=abc,s=c2FsdA==,i=4096"))
);

fuzz_api!(
    describe_topic_partitions,
    DescribeTopicPartitionsRequest,
    DescribeTopicPartitionsResponse::default().with_topics(vec![
        describe_topic_partitions_response::DescribeTopicPartitionsResponseTopic::default()
            .with_name(Some(topic("orders")))
            .with_partitions(vec![
                describe_topic_partitions_response::DescribeTopicPartitionsResponsePartition::default()
                    .with_leader_id(BrokerId(1))
                    .with_replica_nodes(vec![BrokerId(1), BrokerId(2)])
                    .with_isr_nodes(vec![BrokerId(1)])
            ])
    ])
);

fuzz_api!(
    list_offsets,
    ListOffsetsRequest,
    ListOffsetsResponse::default().with_topics(vec![
        list_offsets_response::ListOffsetsTopicResponse::default()
            .with_name(topic("orders"))
            .with_partitions(vec![
                list_offsets_response::ListOffsetsPartitionResponse::default().with_offset(42),
                list_offsets_response::ListOffsetsPartitionResponse::default()
                    .with_partition_index(1)
                    .with_error_code(6)
            ])
    ])
);

fuzz_api!(
    list_groups,
    ListGroupsRequest,
    ListGroupsResponse::default().with_groups(vec![list_groups_response::ListedGroup::default()
        .with_group_id(GroupId(s("g")))
        .with_protocol_type(s("consumer"))])
);

fuzz_api!(
    find_coordinator,
    FindCoordinatorRequest,
    FindCoordinatorResponse::default()
        .with_node_id(BrokerId(1))
        .with_host(s("b1"))
        .with_port(9092)
);

fuzz_api!(
    offset_fetch,
    OffsetFetchRequest,
    OffsetFetchResponse::default().with_groups(vec![
        offset_fetch_response::OffsetFetchResponseGroup::default()
            .with_group_id(GroupId(s("g")))
            .with_topics(vec![
                offset_fetch_response::OffsetFetchResponseTopics::default()
                    .with_name(topic("orders"))
                    .with_partitions(vec![
                        offset_fetch_response::OffsetFetchResponsePartitions::default()
                            .with_committed_offset(7)
                    ])
            ])
    ])
);

/// The reproduction at the decoder: each API's first array claiming 2^31 - 1
/// entries in a small frame is a clear error, not an abort.
#[test]
fn huge_counts_in_every_api_are_errors() {
    fn huge_first_count<R: ApiRequest>(sample: R::Response)
    where
        R::Response: Encodable + Default + PartialEq + std::fmt::Debug,
    {
        for (version, frame) in valid_frames::<R>(sample) {
            // Overwrite every position in turn with a huge count: wherever a count sits,
            // the decoder refuses it; elsewhere it is just a corrupt field.
            let mut refused = 0;
            for at in 0..frame.len() {
                for big in [
                    [0x7f, 0xff, 0xff, 0xff, 0xff],
                    [0xff, 0xff, 0xff, 0xff, 0x07],
                ] {
                    let mut f = frame.clone();
                    for (i, b) in big.iter().enumerate() {
                        if let Some(slot) = f.get_mut(at + i) {
                            *slot = *b;
                        }
                    }
                    LARGEST.with(|m| m.set(0));
                    let r = decode_response::<R>(Bytes::from(f), version, CID);
                    let largest = LARGEST.with(|m| m.get());
                    assert!(
                        largest <= allocation_bound(frame.len()),
                        "{} v{version} at {at}: {largest} bytes",
                        R::NAME
                    );
                    if let Err(e) = r {
                        if e.starts_with("array of ") {
                            refused += 1;
                        }
                    }
                }
            }
            assert!(refused > 0, "{} v{version}: no count refused", R::NAME);
        }
    }
    huge_first_count::<MetadataRequest>(
        MetadataResponse::default().with_brokers(vec![MetadataResponseBroker::default()]),
    );
    huge_first_count::<ApiVersionsRequest>(
        ApiVersionsResponse::default().with_api_keys(vec![ApiVersion::default()]),
    );
    huge_first_count::<DescribeLogDirsRequest>(
        DescribeLogDirsResponse::default().with_results(vec![DescribeLogDirsResult::default()]),
    );
    huge_first_count::<ListPartitionReassignmentsRequest>(
        ListPartitionReassignmentsResponse::default()
            .with_topics(vec![OngoingTopicReassignment::default()]),
    );
    huge_first_count::<ElectLeadersRequest>(
        ElectLeadersResponse::default()
            .with_replica_election_results(vec![ReplicaElectionResult::default()]),
    );
}
