//! The responses the rate sampler reads (ListOffsets, ListGroups, FindCoordinator,
//! OffsetFetch) through the connection's decode path and the admin layer's conversions:
//! valid frames at every version kafka-replan speaks give the right model values; truncated
//! frames and frames claiming huge counts are one-line errors (never a panic or an
//! allocation beyond the frame's size); hostile contents (negative offsets, answers nobody
//! asked for, missing answers, a coordinator node -1) become errors naming the item.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, HeaderVersion, Message, StrBytes};
use kafka_replan::kafka::admin::{
    committed_offsets_from_group, committed_offsets_from_single, coordinator_from_single,
    coordinators_from_batch, groups_from_list, offsets_from_list_offsets,
};
use kafka_replan::kafka::conn::{decode_response, ApiRequest};
use kafka_replan::model::TopicPartition;

const CID: i32 = 0x0a0b_0c0d;

fn frame<T: Encodable + HeaderVersion>(version: i16, resp: &T) -> Vec<u8> {
    let mut buf = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(CID)
        .encode(&mut buf, T::header_version(version))
        .unwrap();
    resp.encode(&mut buf, version)
        .unwrap_or_else(|e| panic!("v{version}: {e}"));
    buf.to_vec()
}

fn decode<R: ApiRequest>(frame: &[u8], version: i16) -> Result<R::Response, String> {
    decode_response::<R>(Bytes::copy_from_slice(frame), version, CID)
}

/// Every prefix of the frame and the frame with a huge count written at every position:
/// the decoder answers with a one-line error or a value, and `convert` never panics on
/// whatever decodes. At least one position must be refused as a huge array count.
fn hostile_variants<R: ApiRequest>(frame: &[u8], version: i16, convert: impl Fn(&R::Response)) {
    for len in 0..frame.len() {
        match decode::<R>(&frame[..len], version) {
            Err(e) => assert!(!e.contains('\n') && !e.is_empty(), "{e:?}"),
            Ok(r) => convert(&r),
        }
    }
    let mut refused = 0;
    for at in 0..frame.len() {
        for big in [
            [0x7f, 0xff, 0xff, 0xff, 0xff],
            [0xff, 0xff, 0xff, 0xff, 0x07],
        ] {
            let mut f = frame.to_vec();
            for (i, b) in big.iter().enumerate() {
                if let Some(slot) = f.get_mut(at + i) {
                    *slot = *b;
                }
            }
            match decode::<R>(&f, version) {
                Err(e) => {
                    assert!(!e.contains('\n'), "{e:?}");
                    if e.starts_with("array of ") {
                        refused += 1;
                    }
                }
                Ok(r) => convert(&r),
            }
        }
    }
    assert!(refused > 0, "{} v{version}: no huge count refused", R::NAME);
}

fn tp(t: &str, p: i32) -> TopicPartition {
    TopicPartition::new(t, p)
}

fn topic(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

#[test]
fn list_offsets_at_every_version() {
    let resp =
        ListOffsetsResponse::default().with_topics(vec![ListOffsetsTopicResponse::default()
            .with_name(topic("foo"))
            .with_partitions(vec![
                ListOffsetsPartitionResponse::default()
                    .with_partition_index(0)
                    .with_offset(1234),
                ListOffsetsPartitionResponse::default()
                    .with_partition_index(1)
                    .with_error_code(6),
                // No error code but no offset either: not taken for offset -1.
                ListOffsetsPartitionResponse::default()
                    .with_partition_index(2)
                    .with_offset(-1),
                // Not asked: ignored.
                ListOffsetsPartitionResponse::default()
                    .with_partition_index(7)
                    .with_offset(5),
            ])]);
    let asked = [tp("foo", 0), tp("foo", 1), tp("foo", 2), tp("foo", 3)];
    for v in ListOffsetsRequest::VERSIONS.min..=ListOffsetsRequest::VERSIONS.max {
        let f = frame(v, &resp);
        let decoded = decode::<ListOffsetsRequest>(&f, v).unwrap();
        let out = offsets_from_list_offsets(&decoded, &asked);
        assert_eq!(out.len(), 4, "v{v}");
        assert_eq!(out[&tp("foo", 0)], Ok(1234));
        assert_eq!(
            out[&tp("foo", 1)].as_ref().unwrap_err().to_string(),
            "ListOffsets failed: NOT_LEADER_OR_FOLLOWER (6)"
        );
        assert_eq!(
            out[&tp("foo", 2)].as_ref().unwrap_err().to_string(),
            "ListOffsets: the broker answered offset -1 for foo-2"
        );
        assert_eq!(
            out[&tp("foo", 3)].as_ref().unwrap_err().to_string(),
            "ListOffsets: no result for foo-3 in the broker's answer"
        );
        hostile_variants::<ListOffsetsRequest>(&f, v, |r| {
            offsets_from_list_offsets(r, &asked);
        });
    }
}

#[test]
fn list_groups_at_every_version() {
    for v in ListGroupsRequest::VERSIONS.min..=ListGroupsRequest::VERSIONS.max {
        let group = |id: &str| {
            let g = ListedGroup::default()
                .with_group_id(GroupId(s(id)))
                .with_protocol_type(s("consumer"));
            let g = if v >= 4 {
                g.with_group_state(s("Stable"))
            } else {
                g
            };
            if v >= 5 {
                g.with_group_type(s("classic"))
            } else {
                g
            }
        };
        let resp = ListGroupsResponse::default().with_groups(vec![
            group("zeta"),
            group("alpha"),
            group("zeta"),
        ]);
        let f = frame(v, &resp);
        let groups = groups_from_list(&decode::<ListGroupsRequest>(&f, v).unwrap()).unwrap();
        let ids: Vec<&str> = groups.iter().map(|g| g.group_id.as_str()).collect();
        assert_eq!(ids, ["alpha", "zeta"], "v{v}");
        assert_eq!(groups[0].protocol_type, "consumer");
        assert_eq!(groups[0].state.as_deref(), (v >= 4).then_some("Stable"));
        assert_eq!(
            groups[0].group_type.as_deref(),
            (v >= 5).then_some("classic")
        );
        hostile_variants::<ListGroupsRequest>(&f, v, |r| {
            let _ = groups_from_list(r);
        });

        let loading = ListGroupsResponse::default().with_error_code(14);
        let f = frame(v, &loading);
        let e = groups_from_list(&decode::<ListGroupsRequest>(&f, v).unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ListGroups failed: COORDINATOR_LOAD_IN_PROGRESS (14)"
        );
    }
}

#[test]
fn find_coordinator_at_every_version() {
    let asked = ["g1".to_string(), "g2".to_string(), "g3".to_string()];
    for v in FindCoordinatorRequest::VERSIONS.min..=FindCoordinatorRequest::VERSIONS.max {
        let f = if v >= 4 {
            frame(
                v,
                &FindCoordinatorResponse::default().with_coordinators(vec![
                    Coordinator::default()
                        .with_key(s("g1"))
                        .with_node_id(BrokerId(2))
                        .with_host(s("b2"))
                        .with_port(9092),
                    Coordinator::default()
                        .with_key(s("g2"))
                        .with_node_id(BrokerId(-1))
                        .with_error_code(15)
                        .with_error_message(Some(s("not\navailable"))),
                    Coordinator::default()
                        .with_key(s("nobody-asked"))
                        .with_node_id(BrokerId(1)),
                ]),
            )
        } else {
            let r = FindCoordinatorResponse::default()
                .with_node_id(BrokerId(2))
                .with_host(s("b2"))
                .with_port(9092);
            let r = if v >= 1 {
                r.with_error_message(None)
            } else {
                r
            };
            frame(v, &r)
        };
        let decoded = decode::<FindCoordinatorRequest>(&f, v).unwrap();
        if v >= 4 {
            let out = coordinators_from_batch(&decoded, &asked);
            assert_eq!(out.len(), 3, "v{v}");
            assert_eq!(out["g1"], Ok(2));
            assert_eq!(
                out["g2"].as_ref().unwrap_err().to_string(),
                "FindCoordinator failed: COORDINATOR_NOT_AVAILABLE (15): not available"
            );
            assert_eq!(
                out["g3"].as_ref().unwrap_err().to_string(),
                "FindCoordinator: no result for g3 in the broker's answer"
            );
            hostile_variants::<FindCoordinatorRequest>(&f, v, |r| {
                coordinators_from_batch(r, &asked);
            });
        } else {
            assert_eq!(coordinator_from_single(&decoded, "g1"), Ok(2), "v{v}");
            hostile_variants_without_counts::<FindCoordinatorRequest>(&f, v, |r| {
                let _ = coordinator_from_single(r, "g1");
            });
        }
    }
    // A coordinator node -1 without an error code names the group.
    let bad = FindCoordinatorResponse::default().with_node_id(BrokerId(-1));
    let decoded = decode::<FindCoordinatorRequest>(&frame(3, &bad), 3).unwrap();
    assert_eq!(
        coordinator_from_single(&decoded, "g\u{1b}[31m")
            .unwrap_err()
            .to_string(),
        "FindCoordinator: the broker answered node -1 as the coordinator of group 'g [31m'"
    );
}

/// FindCoordinator before v4 has no array: only truncation applies.
fn hostile_variants_without_counts<R: ApiRequest>(
    frame: &[u8],
    version: i16,
    convert: impl Fn(&R::Response),
) {
    for len in 0..frame.len() {
        match decode::<R>(&frame[..len], version) {
            Err(e) => assert!(!e.contains('\n') && !e.is_empty(), "{e:?}"),
            Ok(r) => convert(&r),
        }
    }
}

#[test]
fn offset_fetch_at_every_version() {
    let asked = ["g1".to_string(), "g2".to_string(), "g3".to_string()];
    for v in OffsetFetchRequest::VERSIONS.min..=OffsetFetchRequest::VERSIONS.max {
        let f = if v >= 8 {
            let parts = vec![
                OffsetFetchResponsePartitions::default()
                    .with_partition_index(0)
                    .with_committed_offset(42),
                // No committed offset: left out.
                OffsetFetchResponsePartitions::default()
                    .with_partition_index(1)
                    .with_committed_offset(-1),
                OffsetFetchResponsePartitions::default()
                    .with_partition_index(2)
                    .with_committed_offset(-1)
                    .with_error_code(3),
            ];
            frame(
                v,
                &OffsetFetchResponse::default().with_groups(vec![
                    OffsetFetchResponseGroup::default()
                        .with_group_id(GroupId(s("g1")))
                        .with_topics(vec![OffsetFetchResponseTopics::default()
                            .with_name(topic("foo"))
                            .with_partitions(parts)]),
                    OffsetFetchResponseGroup::default()
                        .with_group_id(GroupId(s("g2")))
                        .with_error_code(14),
                ]),
            )
        } else {
            let parts = vec![
                OffsetFetchResponsePartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(42),
                OffsetFetchResponsePartition::default()
                    .with_partition_index(1)
                    .with_committed_offset(-1),
                OffsetFetchResponsePartition::default()
                    .with_partition_index(2)
                    .with_committed_offset(-1)
                    .with_error_code(3),
            ];
            frame(
                v,
                &OffsetFetchResponse::default().with_topics(vec![
                    OffsetFetchResponseTopic::default()
                        .with_name(topic("foo"))
                        .with_partitions(parts),
                ]),
            )
        };
        let decoded = decode::<OffsetFetchRequest>(&f, v).unwrap();
        let g1 = if v >= 8 {
            let out = committed_offsets_from_group(&decoded, &asked);
            assert_eq!(
                out["g2"].as_ref().unwrap_err().to_string(),
                "OffsetFetch failed: COORDINATOR_LOAD_IN_PROGRESS (14)"
            );
            assert_eq!(
                out["g3"].as_ref().unwrap_err().to_string(),
                "OffsetFetch: no result for g3 in the broker's answer"
            );
            hostile_variants::<OffsetFetchRequest>(&f, v, |r| {
                committed_offsets_from_group(r, &asked);
            });
            out["g1"].clone().unwrap()
        } else {
            hostile_variants::<OffsetFetchRequest>(&f, v, |r| {
                let _ = committed_offsets_from_single(r);
            });
            committed_offsets_from_single(&decoded).unwrap()
        };
        assert_eq!(g1.len(), 2, "v{v}: {g1:?}");
        assert_eq!(g1[&tp("foo", 0)], Ok(42));
        assert_eq!(
            g1[&tp("foo", 2)].as_ref().unwrap_err().to_string(),
            "OffsetFetch failed: UNKNOWN_TOPIC_OR_PARTITION (3)"
        );
    }
    // A group-level error before v8 is the answer's top-level error code (v2+).
    let decoded = decode::<OffsetFetchRequest>(
        &frame(3, &OffsetFetchResponse::default().with_error_code(16)),
        3,
    )
    .unwrap();
    assert_eq!(
        committed_offsets_from_single(&decoded)
            .unwrap_err()
            .to_string(),
        "OffsetFetch failed: NOT_COORDINATOR (16)"
    );
}
