//! Reading topics across a rolling upgrade, and topic creation and deletion, outside the
//! `Admin` trait: kafka-replan itself never creates or deletes topics; tests against a real
//! cluster and tooling do.

use kafka_protocol::messages::create_topics_request::{CreatableReplicaAssignment, CreatableTopic};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::{
    BrokerId as WireBrokerId, CreateTopicsRequest, DeleteTopicsRequest,
};

use super::calls::timeout_ms;
use super::client::{KafkaAdmin, Resend, Route};
use super::decode::{code_err, topic_name};
use super::TopicMetadata;
use crate::kafka::error::Error;
use crate::model::BrokerId;

/// Kafka's UNSUPPORTED_VERSION: what a broker answers for an API version it stopped
/// serving.
const UNSUPPORTED_VERSION: i16 = 35;

impl KafkaAdmin {
    /// Topics through DescribeTopicPartitions pages, or `None` when the brokers stopped
    /// offering it part-way (a rolling downgrade, or a rolling upgrade that moves the
    /// connection to a broker still on the old version): the caller then reads every topic
    /// again with Metadata. The pages read so far are dropped rather than mixed with
    /// Metadata's answer, which is one consistent view of its own. Said on stderr (through
    /// the snapshot's warnings), since the Metadata answer needs a frame limit the pages do
    /// not.
    pub(super) async fn topic_pages_unless_withdrawn(
        &self,
        topics: Option<&[String]>,
    ) -> Result<Option<Vec<TopicMetadata>>, Error> {
        let why = match self.describe_topics_paged(topics).await {
            Err(e @ (Error::UnsupportedApi { .. } | Error::NoCommonVersion { .. })) => {
                e.to_string()
            }
            Err(e) if e.code() == Some(UNSUPPORTED_VERSION) => e.to_string(),
            Err(e) => return Err(e),
            Ok(read) => {
                let refused = read.iter().find_map(|t| {
                    t.error
                        .as_ref()
                        .filter(|e| e.code() == Some(UNSUPPORTED_VERSION))
                        .map(|e| format!("topic {}: {e}", t.name))
                });
                match refused {
                    Some(why) => why,
                    None => return Ok(Some(read)),
                }
            }
        };
        self.notice(format!(
            "DescribeTopicPartitions stopped being offered during the read ({why}), as in \
             a rolling upgrade or downgrade: all topics were read again with Metadata"
        ));
        Ok(None)
    }

    /// Creates a topic with an explicit replica assignment (`assignment[p]` = replicas of
    /// partition `p`).
    pub async fn create_topic(
        &self,
        name: &str,
        assignment: &[Vec<BrokerId>],
    ) -> Result<(), Error> {
        let topic = CreatableTopic::default()
            .with_name(topic_name(name))
            .with_num_partitions(-1)
            .with_replication_factor(-1)
            .with_assignments(
                assignment
                    .iter()
                    .enumerate()
                    .map(|(p, reps)| {
                        CreatableReplicaAssignment::default()
                            .with_partition_index(i32::try_from(p).unwrap_or(i32::MAX))
                            .with_broker_ids(reps.iter().map(|b| WireBrokerId(*b)).collect())
                    })
                    .collect(),
            );
        let timeout_ms = timeout_ms(self.cfg.default_api_timeout);
        let (resp, peer) = self
            .call::<CreateTopicsRequest>(
                Route::Controller,
                Resend::Never,
                |_| {
                    Ok(CreateTopicsRequest::default()
                        .with_topics(vec![topic.clone()])
                        .with_timeout_ms(timeout_ms))
                },
                |r| (0, r.throttle_time_ms),
            )
            .await?;
        match resp.topics.first() {
            Some(t) => match code_err("CreateTopics", t.error_code, &t.error_message) {
                Some(e) => Err(e.with_peer(&peer)),
                None => Ok(()),
            },
            None => Err(Error::Other(format!("CreateTopics: no result for {name}"))),
        }
    }

    /// Deletes a topic by name.
    pub async fn delete_topic(&self, name: &str) -> Result<(), Error> {
        let timeout_ms = timeout_ms(self.cfg.default_api_timeout);
        let (resp, peer) = self
            .call::<DeleteTopicsRequest>(
                Route::Controller,
                Resend::Never,
                |v| {
                    let req = DeleteTopicsRequest::default().with_timeout_ms(timeout_ms);
                    // v6 names topics in `Topics` (name or id); older versions in `TopicNames`.
                    Ok(if v >= 6 {
                        req.with_topics(vec![
                            DeleteTopicState::default().with_name(Some(topic_name(name)))
                        ])
                    } else {
                        req.with_topic_names(vec![topic_name(name)])
                    })
                },
                |r| (0, r.throttle_time_ms),
            )
            .await?;
        match resp.responses.first() {
            Some(t) => match code_err("DeleteTopics", t.error_code, &t.error_message) {
                Some(e) => Err(e.with_peer(&peer)),
                None => Ok(()),
            },
            None => Err(Error::Other(format!("DeleteTopics: no result for {name}"))),
        }
    }
}
