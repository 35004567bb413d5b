//! The admin calls kafka-replan needs, in model terms (no wire types in signatures), and
//! `KafkaAdmin`, their implementation over real connections (spec §D2–§D7).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::create_topics_request::{CreatableReplicaAssignment, CreatableTopic};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, ApiKey, BrokerId as WireBrokerId, CreateTopicsRequest,
    DeleteTopicsRequest, DescribeClusterRequest, DescribeClusterResponse, DescribeConfigsRequest,
    DescribeConfigsResponse, DescribeLogDirsRequest, DescribeLogDirsResponse, ElectLeadersRequest,
    IncrementalAlterConfigsRequest, ListPartitionReassignmentsRequest, MetadataRequest,
    MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::Mutex;

use super::conn::{parse_host_port, ApiRequest, Connection};
use super::error::{is_retriable_code, Error};
use super::properties::ClientConfig;
use crate::model::{BrokerId, TopicPartition};

/// A broker as the cluster describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerNode {
    pub id: BrokerId,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
    /// Fenced (KRaft): registered but not serving. Only reported by DescribeCluster v2+.
    pub fenced: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterDescription {
    pub cluster_id: Option<String>,
    /// In KRaft, a live broker that forwards controller requests (§D1 routing).
    pub controller_id: Option<BrokerId>,
    /// Sorted by id.
    pub brokers: Vec<BrokerNode>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMetadata {
    pub partition: i32,
    /// `None` when the partition has no live leader.
    pub leader: Option<BrokerId>,
    /// Ordered; `[0]` is the preferred leader. May contain ids of dead brokers.
    pub replicas: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
    pub offline: Vec<BrokerId>,
    /// A partition-level error carried as data (e.g. LEADER_NOT_AVAILABLE, §D5).
    pub error: Option<Error>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    pub name: String,
    pub internal: bool,
    /// Sorted by partition.
    pub partitions: Vec<PartitionMetadata>,
    /// A topic-level error (e.g. UNKNOWN_TOPIC_OR_PARTITION for a named topic).
    pub error: Option<Error>,
}

/// One replica in one log directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDirReplica {
    pub tp: TopicPartition,
    pub size_bytes: u64,
    pub offset_lag: i64,
    /// The destination copy of an intra-broker move (§D6).
    pub is_future: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDir {
    pub path: String,
    /// E.g. KAFKA_STORAGE_ERROR for an offline directory.
    pub error: Option<Error>,
    /// Reported by DescribeLogDirs v4+ (Kafka 3.3+); `None` when unknown.
    pub total_bytes: Option<u64>,
    pub usable_bytes: Option<u64>,
    pub replicas: Vec<LogDirReplica>,
}

/// A reassignment in flight (KIP-455).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OngoingReassignment {
    pub replicas: Vec<BrokerId>,
    pub adding: Vec<BrokerId>,
    pub removing: Vec<BrokerId>,
}

/// A config resource. `BrokerDefault` is the cluster-wide dynamic broker default
/// (resource name `""`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigResource {
    Topic(String),
    Broker(BrokerId),
    BrokerDefault,
}

impl ConfigResource {
    fn wire(&self) -> (i8, String) {
        match self {
            ConfigResource::Topic(t) => (2, t.clone()),
            ConfigResource::Broker(id) => (4, id.to_string()),
            ConfigResource::BrokerDefault => (4, String::new()),
        }
    }

    fn from_wire(ty: i8, name: &str) -> Option<ConfigResource> {
        match ty {
            2 => Some(ConfigResource::Topic(name.to_string())),
            4 if name.is_empty() => Some(ConfigResource::BrokerDefault),
            4 => name.parse().ok().map(ConfigResource::Broker),
            _ => None,
        }
    }
}

impl std::fmt::Display for ConfigResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigResource::Topic(t) => write!(f, "topic {t}"),
            ConfigResource::Broker(b) => write!(f, "broker {b}"),
            ConfigResource::BrokerDefault => f.write_str("broker default"),
        }
    }
}

/// Where a config value comes from (DescribeConfigs ConfigSource).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    Topic,
    DynamicBroker,
    DynamicDefaultBroker,
    StaticBroker,
    Default,
    Other(i8),
}

impl ConfigSource {
    fn from_wire(v: i8) -> ConfigSource {
        match v {
            1 => ConfigSource::Topic,
            2 => ConfigSource::DynamicBroker,
            3 => ConfigSource::DynamicDefaultBroker,
            4 => ConfigSource::StaticBroker,
            5 => ConfigSource::Default,
            other => ConfigSource::Other(other),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    /// `None` for sensitive values and unset keys.
    pub value: Option<String>,
    pub source: ConfigSource,
    pub read_only: bool,
    pub sensitive: bool,
}

/// IncrementalAlterConfigs operations (§D7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOp {
    Set(String),
    Delete,
    Append(String),
    Subtract(String),
}

impl ConfigOp {
    fn wire(&self) -> (i8, Option<&str>) {
        match self {
            ConfigOp::Set(v) => (0, Some(v)),
            ConfigOp::Delete => (1, None),
            ConfigOp::Append(v) => (2, Some(v)),
            ConfigOp::Subtract(v) => (3, Some(v)),
        }
    }
}

/// Per-item outcomes of a call that acts on many items.
pub type Outcomes<K> = BTreeMap<K, Result<(), Error>>;

/// The admin calls kafka-replan makes, in model terms. Implemented by `KafkaAdmin` (a real
/// cluster) and `FakeAdmin` (in memory, with fault injection). The futures are `Send`, so
/// callers may drive them on any runtime; implementations write plain `async fn`.
pub trait Admin: Sync {
    /// Brokers (with racks), controller id and cluster id.
    fn describe_cluster(&self) -> impl Future<Output = Result<ClusterDescription, Error>> + Send;

    /// Topic/partition metadata; `None` = every topic. Never creates topics (§F D3).
    fn describe_topics(
        &self,
        topics: Option<&[String]>,
    ) -> impl Future<Output = Result<Vec<TopicMetadata>, Error>> + Send;

    /// Log directories of each broker asked for; a broker that cannot answer gets an `Err`.
    fn describe_log_dirs(
        &self,
        brokers: &[BrokerId],
    ) -> impl Future<Output = Result<BTreeMap<BrokerId, Result<Vec<LogDir>, Error>>, Error>> + Send;

    /// Reassignments in flight; `None` = all.
    fn list_reassignments(
        &self,
        partitions: Option<&[TopicPartition]>,
    ) -> impl Future<Output = Result<BTreeMap<TopicPartition, OngoingReassignment>, Error>> + Send;

    /// Starts (`Some(target)`) or cancels (`None`) reassignments. Per-partition errors such
    /// as NO_REASSIGNMENT_IN_PROGRESS are reported, not retried (§F D4). Not resent after a
    /// timeout: the outcome is then `Error::OutcomeUnknown`.
    fn alter_reassignments(
        &self,
        targets: &BTreeMap<TopicPartition, Option<Vec<BrokerId>>>,
        allow_replication_factor_change: bool,
    ) -> impl Future<Output = Result<Outcomes<TopicPartition>, Error>> + Send;

    /// Config entries per resource; `keys` = `None` for all.
    fn describe_configs(
        &self,
        resources: &[ConfigResource],
        keys: Option<&[String]>,
    ) -> impl Future<Output = Result<BTreeMap<ConfigResource, Result<Vec<ConfigEntry>, Error>>, Error>>
           + Send;

    fn incremental_alter_configs(
        &self,
        changes: &BTreeMap<ConfigResource, Vec<(String, ConfigOp)>>,
    ) -> impl Future<Output = Result<Outcomes<ConfigResource>, Error>> + Send;

    /// PREFERRED election; ELECTION_NOT_NEEDED counts as success (§F D5).
    fn elect_preferred_leaders(
        &self,
        partitions: &[TopicPartition],
    ) -> impl Future<Output = Result<Outcomes<TopicPartition>, Error>> + Send;
}

// ---------------------------------------------------------------------------------------
// Wire → model conversions (pure, unit-tested).

fn ids(v: &[WireBrokerId]) -> Vec<BrokerId> {
    v.iter().map(|b| b.0).collect()
}

fn opt_str(s: &Option<StrBytes>) -> Option<String> {
    s.as_ref().map(|s| s.to_string())
}

fn code_err(api: &'static str, code: i16, msg: &Option<StrBytes>) -> Option<Error> {
    (code != 0).then(|| Error::broker(api, code, opt_str(msg)))
}

/// Cluster description from a Metadata response.
pub fn cluster_from_metadata(resp: &MetadataResponse) -> ClusterDescription {
    let mut brokers: Vec<BrokerNode> = resp
        .brokers
        .iter()
        .map(|b| BrokerNode {
            id: b.node_id.0,
            host: b.host.to_string(),
            port: b.port,
            rack: opt_str(&b.rack),
            fenced: false,
        })
        .collect();
    brokers.sort_by_key(|b| b.id);
    ClusterDescription {
        cluster_id: opt_str(&resp.cluster_id),
        controller_id: (resp.controller_id.0 >= 0).then_some(resp.controller_id.0),
        brokers,
    }
}

/// Cluster description from a DescribeCluster response.
pub fn cluster_from_describe(resp: &DescribeClusterResponse) -> ClusterDescription {
    let mut brokers: Vec<BrokerNode> = resp
        .brokers
        .iter()
        .map(|b| BrokerNode {
            id: b.broker_id.0,
            host: b.host.to_string(),
            port: b.port,
            rack: opt_str(&b.rack),
            fenced: b.is_fenced,
        })
        .collect();
    brokers.sort_by_key(|b| b.id);
    ClusterDescription {
        cluster_id: Some(resp.cluster_id.to_string()),
        controller_id: (resp.controller_id.0 >= 0).then_some(resp.controller_id.0),
        brokers,
    }
}

/// Topics from a Metadata response, sorted by name, partitions sorted by index.
pub fn topics_from_metadata(resp: &MetadataResponse) -> Vec<TopicMetadata> {
    let mut topics: Vec<TopicMetadata> = resp
        .topics
        .iter()
        .filter_map(|t| {
            let name = t.name.as_ref()?.0.to_string();
            let mut partitions: Vec<PartitionMetadata> = t
                .partitions
                .iter()
                .map(|p| PartitionMetadata {
                    partition: p.partition_index,
                    leader: (p.leader_id.0 >= 0).then_some(p.leader_id.0),
                    replicas: ids(&p.replica_nodes),
                    isr: ids(&p.isr_nodes),
                    offline: ids(&p.offline_replicas),
                    error: code_err("Metadata", p.error_code, &None),
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            Some(TopicMetadata {
                name,
                internal: t.is_internal,
                partitions,
                error: code_err("Metadata", t.error_code, &None),
            })
        })
        .collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    topics
}

/// Log dirs from a DescribeLogDirs response.
pub fn log_dirs_from_response(resp: &DescribeLogDirsResponse) -> Result<Vec<LogDir>, Error> {
    if resp.error_code != 0 {
        return Err(Error::broker("DescribeLogDirs", resp.error_code, None));
    }
    let mut dirs: Vec<LogDir> = resp
        .results
        .iter()
        .map(|r| {
            let mut replicas = Vec::new();
            for t in &r.topics {
                for p in &t.partitions {
                    replicas.push(LogDirReplica {
                        tp: TopicPartition::new(t.name.0.to_string(), p.partition_index),
                        size_bytes: u64::try_from(p.partition_size).unwrap_or(0),
                        offset_lag: p.offset_lag,
                        is_future: p.is_future_key,
                    });
                }
            }
            replicas.sort_by(|a, b| a.tp.cmp(&b.tp).then(a.is_future.cmp(&b.is_future)));
            LogDir {
                path: r.log_dir.to_string(),
                error: code_err("DescribeLogDirs", r.error_code, &None),
                total_bytes: u64::try_from(r.total_bytes).ok(),
                usable_bytes: u64::try_from(r.usable_bytes).ok(),
                replicas,
            }
        })
        .collect();
    dirs.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(dirs)
}

fn configs_from_response(
    resp: &DescribeConfigsResponse,
) -> BTreeMap<ConfigResource, Result<Vec<ConfigEntry>, Error>> {
    let mut out = BTreeMap::new();
    for r in &resp.results {
        let Some(res) = ConfigResource::from_wire(r.resource_type, &r.resource_name) else {
            continue;
        };
        let entry = match code_err("DescribeConfigs", r.error_code, &r.error_message) {
            Some(e) => Err(e),
            None => {
                let mut entries: Vec<ConfigEntry> = r
                    .configs
                    .iter()
                    .map(|c| ConfigEntry {
                        name: c.name.to_string(),
                        value: opt_str(&c.value),
                        source: ConfigSource::from_wire(c.config_source),
                        read_only: c.read_only,
                        sensitive: c.is_sensitive,
                    })
                    .collect();
                entries.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(entries)
            }
        };
        out.insert(res, entry);
    }
    out
}

fn group_by_topic(tps: impl IntoIterator<Item = TopicPartition>) -> BTreeMap<String, Vec<i32>> {
    let mut m: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for tp in tps {
        m.entry(tp.topic).or_default().push(tp.partition);
    }
    for v in m.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    m
}

fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

// ---------------------------------------------------------------------------------------
// The real client.

/// Where a request goes (§D1 routing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Any,
    Controller,
    Broker(BrokerId),
}

/// Whether a request may be resent after its fate became unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resend {
    Safe,
    /// AlterPartitionReassignments, IncrementalAlterConfigs, ElectLeaders.
    Never,
}

struct Inner {
    /// Open connections by address.
    conns: BTreeMap<String, Connection>,
    /// Advertised address of each broker, from the last metadata.
    brokers: BTreeMap<BrokerId, String>,
    controller: Option<BrokerId>,
    /// Whether any request has been answered yet (see `call`).
    ever_answered: bool,
}

/// The admin client over real connections.
pub struct KafkaAdmin {
    cfg: ClientConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    bootstrap: Vec<String>,
    inner: Mutex<Inner>,
}

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// Connection attempts to the bootstrap servers before giving up when none ever answered.
const BOOTSTRAP_ATTEMPTS: u32 = 3;

impl KafkaAdmin {
    /// Prepares a client for `bootstrap` (`host:port[,host:port]`); connects lazily. Builds
    /// the TLS context now so certificate problems surface before any network I/O.
    pub fn new(bootstrap: &str, cfg: ClientConfig) -> Result<KafkaAdmin, Error> {
        let addrs: Vec<String> = bootstrap
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if addrs.is_empty() {
            return Err(Error::BadAddress {
                addr: bootstrap.to_string(),
                reason: "no host:port given".into(),
            });
        }
        for a in &addrs {
            parse_host_port(a)?;
        }
        let tls = match &cfg.tls {
            Some(t) => Some(super::tls::client_config(t)?),
            None => None,
        };
        Ok(KafkaAdmin {
            cfg,
            tls,
            bootstrap: addrs,
            inner: Mutex::new(Inner {
                conns: BTreeMap::new(),
                brokers: BTreeMap::new(),
                controller: None,
                ever_answered: false,
            }),
        })
    }

    /// The client configuration in use (warnings included).
    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    async fn connect_addr(&self, inner: &mut Inner, addr: &str) -> Result<(), Error> {
        if inner.conns.get(addr).is_some_and(|c| c.is_usable()) {
            return Ok(());
        }
        inner.conns.remove(addr);
        let conn = Connection::connect(addr, &self.cfg, self.tls.as_ref()).await?;
        inner.conns.insert(addr.to_string(), conn);
        Ok(())
    }

    /// Any usable connection: an open one, else bootstrap servers in order, else known
    /// brokers. Returns its address.
    async fn any_addr(&self, inner: &mut Inner) -> Result<String, Error> {
        if let Some((addr, _)) = inner.conns.iter().find(|(_, c)| c.is_usable()) {
            return Ok(addr.clone());
        }
        let mut candidates = self.bootstrap.clone();
        candidates.extend(inner.brokers.values().cloned());
        let mut last = None;
        for addr in candidates {
            match self.connect_addr(inner, &addr).await {
                Ok(()) => return Ok(addr),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Other("no broker address to connect to".into())))
    }

    /// Refreshes broker addresses and the controller id with a topic-less Metadata request.
    async fn refresh(&self, inner: &mut Inner) -> Result<ClusterDescription, Error> {
        let addr = self.any_addr(inner).await?;
        let conn = inner
            .conns
            .get_mut(&addr)
            .ok_or_else(|| Error::Other("internal: connection vanished".into()))?;
        let version = conn.version::<MetadataRequest>()?;
        let req = metadata_request(Some(&[]), version);
        let resp = match conn.send_at(&req, version).await {
            Ok(r) => r,
            Err(e) => {
                inner.conns.remove(&addr);
                return Err(e);
            }
        };
        if resp.error_code != 0 {
            return Err(Error::broker("Metadata", resp.error_code, None));
        }
        let desc = cluster_from_metadata(&resp);
        inner.brokers = desc
            .brokers
            .iter()
            .map(|b| (b.id, format_addr(&b.host, b.port)))
            .collect();
        inner.controller = desc.controller_id;
        Ok(desc)
    }

    async fn route_addr(&self, inner: &mut Inner, route: Route) -> Result<String, Error> {
        match route {
            Route::Any => self.any_addr(inner).await,
            Route::Controller => {
                if inner.controller.is_none() {
                    self.refresh(inner).await?;
                }
                match inner
                    .controller
                    .and_then(|c| inner.brokers.get(&c).cloned())
                {
                    Some(addr) => {
                        self.connect_addr(inner, &addr).await?;
                        Ok(addr)
                    }
                    // No controller known: in KRaft any broker forwards.
                    None => self.any_addr(inner).await,
                }
            }
            Route::Broker(id) => {
                if !inner.brokers.contains_key(&id) {
                    self.refresh(inner).await?;
                }
                let addr = inner
                    .brokers
                    .get(&id)
                    .cloned()
                    .ok_or(Error::UnknownBroker(id))?;
                self.connect_addr(inner, &addr).await?;
                Ok(addr)
            }
        }
    }

    /// Sends one request with retries: retriable errors and network failures are retried
    /// with backoff until `default.api.timeout.ms`, except that a request with
    /// `Resend::Never` whose fate is unknown (timeout, lost connection, unreadable answer)
    /// is reported as `OutcomeUnknown` instead of being sent again.
    /// `top` extracts the top-level (error code, throttle ms) to decide on retries.
    async fn call<R: ApiRequest>(
        &self,
        route: Route,
        resend: Resend,
        build: impl Fn(i16) -> Result<R, Error>,
        top: impl Fn(&R::Response) -> (i16, i32),
    ) -> Result<R::Response, Error> {
        let deadline = Instant::now() + self.cfg.default_api_timeout;
        let mut backoff = BACKOFF_START;
        let mut inner = self.inner.lock().await;
        let mut unreachable_attempts = 0;
        loop {
            let attempt: Result<R::Response, Error> = async {
                let addr = self.route_addr(&mut inner, route).await?;
                let conn = inner
                    .conns
                    .get_mut(&addr)
                    .ok_or_else(|| Error::Other("internal: connection vanished".into()))?;
                let version = conn.version::<R>()?;
                let req = build(version)?;
                let result = conn.send_at(&req, version).await;
                if !conn.is_usable() {
                    inner.conns.remove(&addr);
                }
                match result {
                    Err(
                        e @ (Error::Timeout { .. }
                        | Error::ConnectionLost { .. }
                        | Error::Protocol { .. }),
                    ) if resend == Resend::Never => Err(Error::OutcomeUnknown {
                        api: R::NAME,
                        reason: e.to_string(),
                    }),
                    other => other,
                }
            }
            .await;
            let (err, wait) = match attempt {
                Ok(resp) => {
                    inner.ever_answered = true;
                    let (code, throttle_ms) = top(&resp);
                    // REQUEST_TIMED_OUT on a write means the controller may still apply it.
                    if code == 7 && resend == Resend::Never {
                        return Err(Error::OutcomeUnknown {
                            api: R::NAME,
                            reason: "the broker answered REQUEST_TIMED_OUT".into(),
                        });
                    }
                    if !is_retriable_code(code) {
                        return Ok(resp);
                    }
                    if code == 41 {
                        // NOT_CONTROLLER: the controller moved; learn the new one.
                        inner.controller = None;
                    }
                    let wait = Duration::from_millis(u64::try_from(throttle_ms).unwrap_or(0));
                    (Error::broker(R::NAME, code, None), wait)
                }
                // Nothing ever answered (a wrong address or port, a listener down, another
                // security protocol): say so after a few quick tries instead of retrying for
                // the whole API timeout.
                Err(
                    e @ (Error::Connect { .. }
                    | Error::ConnectionLost { .. }
                    | Error::TlsHandshake { .. }),
                ) if !inner.ever_answered => {
                    unreachable_attempts += 1;
                    if unreachable_attempts >= BOOTSTRAP_ATTEMPTS {
                        return Err(e);
                    }
                    (e, Duration::ZERO)
                }
                Err(e) if e.is_retriable() => {
                    // The broker we routed to may be gone: re-learn the controller.
                    inner.controller = None;
                    (e, Duration::ZERO)
                }
                Err(e) => return Err(e),
            };
            let wait = wait.max(backoff);
            if Instant::now() + wait >= deadline {
                return Err(err);
            }
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }
}

/// Topic creation and deletion, outside the `Admin` trait: kafka-replan itself never
/// creates or deletes topics; tests against a real cluster and tooling do.
impl KafkaAdmin {
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
        let resp = self
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
                Some(e) => Err(e),
                None => Ok(()),
            },
            None => Err(Error::Other(format!("CreateTopics: no result for {name}"))),
        }
    }

    /// Deletes a topic by name.
    pub async fn delete_topic(&self, name: &str) -> Result<(), Error> {
        let timeout_ms = timeout_ms(self.cfg.default_api_timeout);
        let resp = self
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
                Some(e) => Err(e),
                None => Ok(()),
            },
            None => Err(Error::Other(format!("DeleteTopics: no result for {name}"))),
        }
    }
}

fn format_addr(host: &str, port: i32) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A Metadata request: `None` = all topics, `Some(&[])` = none. AllowAutoTopicCreation is
/// false from v4 on (§F D3); older versions cannot carry the flag (and default to true).
pub fn metadata_request(topics: Option<&[String]>, version: i16) -> MetadataRequest {
    MetadataRequest::default()
        .with_topics(topics.map(|ts| {
            ts.iter()
                .map(|t| MetadataRequestTopic::default().with_name(Some(topic_name(t))))
                .collect()
        }))
        .with_allow_auto_topic_creation(version < 4)
}

impl Admin for KafkaAdmin {
    async fn describe_cluster(&self) -> Result<ClusterDescription, Error> {
        let supports_describe_cluster = {
            let mut inner = self.inner.lock().await;
            let addr = self.any_addr(&mut inner).await?;
            inner
                .conns
                .get(&addr)
                .and_then(|c| c.broker_range(ApiKey::DescribeCluster))
                .is_some()
        };
        let desc = if supports_describe_cluster {
            let resp = self
                .call::<DescribeClusterRequest>(
                    Route::Any,
                    Resend::Safe,
                    |_| Ok(DescribeClusterRequest::default()),
                    |r| (r.error_code, r.throttle_time_ms),
                )
                .await?;
            if let Some(e) = code_err("DescribeCluster", resp.error_code, &resp.error_message) {
                return Err(e);
            }
            cluster_from_describe(&resp)
        } else {
            let resp = self
                .call::<MetadataRequest>(
                    Route::Any,
                    Resend::Safe,
                    |v| Ok(metadata_request(Some(&[]), v)),
                    |r| (r.error_code, r.throttle_time_ms),
                )
                .await?;
            cluster_from_metadata(&resp)
        };
        let mut inner = self.inner.lock().await;
        inner.brokers = desc
            .brokers
            .iter()
            .map(|b| (b.id, format_addr(&b.host, b.port)))
            .collect();
        inner.controller = desc.controller_id;
        Ok(desc)
    }

    async fn describe_topics(
        &self,
        topics: Option<&[String]>,
    ) -> Result<Vec<TopicMetadata>, Error> {
        let resp = self
            .call::<MetadataRequest>(
                Route::Any,
                Resend::Safe,
                |v| Ok(metadata_request(topics, v)),
                |r| (r.error_code, r.throttle_time_ms),
            )
            .await?;
        if resp.error_code != 0 {
            return Err(Error::broker("Metadata", resp.error_code, None));
        }
        Ok(topics_from_metadata(&resp))
    }

    async fn describe_log_dirs(
        &self,
        brokers: &[BrokerId],
    ) -> Result<BTreeMap<BrokerId, Result<Vec<LogDir>, Error>>, Error> {
        let mut out = BTreeMap::new();
        for &b in brokers {
            let r = self
                .call::<DescribeLogDirsRequest>(
                    Route::Broker(b),
                    Resend::Safe,
                    |_| Ok(DescribeLogDirsRequest::default().with_topics(None)),
                    |r| (r.error_code, r.throttle_time_ms),
                )
                .await
                .and_then(|resp| log_dirs_from_response(&resp));
            out.insert(b, r);
        }
        Ok(out)
    }

    async fn list_reassignments(
        &self,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<BTreeMap<TopicPartition, OngoingReassignment>, Error> {
        let timeout_ms = timeout_ms(self.cfg.default_api_timeout);
        let topics = partitions.map(|ps| {
            group_by_topic(ps.iter().cloned())
                .into_iter()
                .map(|(t, parts)| {
                    ListPartitionReassignmentsTopics::default()
                        .with_name(topic_name(&t))
                        .with_partition_indexes(parts)
                })
                .collect::<Vec<_>>()
        });
        let resp = self
            .call::<ListPartitionReassignmentsRequest>(
                Route::Controller,
                Resend::Safe,
                |_| {
                    Ok(ListPartitionReassignmentsRequest::default()
                        .with_timeout_ms(timeout_ms)
                        .with_topics(topics.clone()))
                },
                |r| (r.error_code, r.throttle_time_ms),
            )
            .await?;
        if let Some(e) = code_err(
            "ListPartitionReassignments",
            resp.error_code,
            &resp.error_message,
        ) {
            return Err(e);
        }
        let mut out = BTreeMap::new();
        for t in &resp.topics {
            for p in &t.partitions {
                out.insert(
                    TopicPartition::new(t.name.0.to_string(), p.partition_index),
                    OngoingReassignment {
                        replicas: ids(&p.replicas),
                        adding: ids(&p.adding_replicas),
                        removing: ids(&p.removing_replicas),
                    },
                );
            }
        }
        Ok(out)
    }

    async fn alter_reassignments(
        &self,
        targets: &BTreeMap<TopicPartition, Option<Vec<BrokerId>>>,
        allow_replication_factor_change: bool,
    ) -> Result<Outcomes<TopicPartition>, Error> {
        if targets.is_empty() {
            return Ok(BTreeMap::new());
        }
        let timeout_ms = timeout_ms(self.cfg.default_api_timeout);
        let mut by_topic: BTreeMap<&str, Vec<ReassignablePartition>> = BTreeMap::new();
        for (tp, replicas) in targets {
            by_topic.entry(&tp.topic).or_default().push(
                ReassignablePartition::default()
                    .with_partition_index(tp.partition)
                    .with_replicas(
                        replicas
                            .as_ref()
                            .map(|r| r.iter().map(|b| WireBrokerId(*b)).collect()),
                    ),
            );
        }
        let topics: Vec<ReassignableTopic> = by_topic
            .into_iter()
            .map(|(t, ps)| {
                ReassignableTopic::default()
                    .with_name(topic_name(t))
                    .with_partitions(ps)
            })
            .collect();
        let resp = self
            .call::<AlterPartitionReassignmentsRequest>(
                Route::Controller,
                Resend::Never,
                |v| {
                    // Brokers before 4.1 (v0) cannot be asked to refuse a replication factor
                    // change. Callers that ask for the refusal have already compared every
                    // target with the replica list they read, so v0 goes out without it (the
                    // field does not exist there) instead of making apply and cancel
                    // impossible on every 3.x cluster.
                    let allow = allow_replication_factor_change || v < 1;
                    Ok(AlterPartitionReassignmentsRequest::default()
                        .with_timeout_ms(timeout_ms)
                        .with_allow_replication_factor_change(allow)
                        .with_topics(topics.clone()))
                },
                |r| (r.error_code, r.throttle_time_ms),
            )
            .await?;
        if let Some(e) = code_err(
            "AlterPartitionReassignments",
            resp.error_code,
            &resp.error_message,
        ) {
            return Err(e);
        }
        let mut out: Outcomes<TopicPartition> = BTreeMap::new();
        for t in &resp.responses {
            for p in &t.partitions {
                let tp = TopicPartition::new(t.name.0.to_string(), p.partition_index);
                let r = match code_err(
                    "AlterPartitionReassignments",
                    p.error_code,
                    &p.error_message,
                ) {
                    Some(e) => Err(e),
                    None => Ok(()),
                };
                out.insert(tp, r);
            }
        }
        for tp in targets.keys() {
            out.entry(tp.clone()).or_insert_with(|| {
                Err(Error::Other(format!(
                    "AlterPartitionReassignments: no result for {tp} in the broker's answer"
                )))
            });
        }
        Ok(out)
    }

    async fn describe_configs(
        &self,
        resources: &[ConfigResource],
        keys: Option<&[String]>,
    ) -> Result<BTreeMap<ConfigResource, Result<Vec<ConfigEntry>, Error>>, Error> {
        let mut groups: BTreeMap<Option<BrokerId>, Vec<&ConfigResource>> = BTreeMap::new();
        for r in resources {
            let target = match r {
                ConfigResource::Broker(id) => Some(*id),
                _ => None,
            };
            groups.entry(target).or_default().push(r);
        }
        let mut out = BTreeMap::new();
        for (target, rs) in groups {
            let route = target.map(Route::Broker).unwrap_or(Route::Any);
            let wire: Vec<DescribeConfigsResource> = rs
                .iter()
                .map(|r| {
                    let (ty, name) = r.wire();
                    DescribeConfigsResource::default()
                        .with_resource_type(ty)
                        .with_resource_name(StrBytes::from_string(name))
                        .with_configuration_keys(keys.map(|ks| {
                            ks.iter()
                                .map(|k| StrBytes::from_string(k.clone()))
                                .collect()
                        }))
                })
                .collect();
            let resp = self
                .call::<DescribeConfigsRequest>(
                    route,
                    Resend::Safe,
                    |_| Ok(DescribeConfigsRequest::default().with_resources(wire.clone())),
                    |r| (0, r.throttle_time_ms),
                )
                .await?;
            out.extend(configs_from_response(&resp));
            for r in rs {
                out.entry(r.clone()).or_insert_with(|| {
                    Err(Error::Other(format!("DescribeConfigs: no result for {r}")))
                });
            }
        }
        Ok(out)
    }

    async fn incremental_alter_configs(
        &self,
        changes: &BTreeMap<ConfigResource, Vec<(String, ConfigOp)>>,
    ) -> Result<Outcomes<ConfigResource>, Error> {
        let mut groups: BTreeMap<Option<BrokerId>, Vec<AlterConfigsResource>> = BTreeMap::new();
        for (r, ops) in changes {
            let target = match r {
                ConfigResource::Broker(id) => Some(*id),
                _ => None,
            };
            let (ty, name) = r.wire();
            let configs = ops
                .iter()
                .map(|(k, op)| {
                    let (code, value) = op.wire();
                    AlterableConfig::default()
                        .with_name(StrBytes::from_string(k.clone()))
                        .with_config_operation(code)
                        .with_value(value.map(|v| StrBytes::from_string(v.to_string())))
                })
                .collect();
            groups.entry(target).or_default().push(
                AlterConfigsResource::default()
                    .with_resource_type(ty)
                    .with_resource_name(StrBytes::from_string(name))
                    .with_configs(configs),
            );
        }
        let mut out: Outcomes<ConfigResource> = BTreeMap::new();
        for (target, wire) in groups {
            let route = target.map(Route::Broker).unwrap_or(Route::Any);
            let resp = self
                .call::<IncrementalAlterConfigsRequest>(
                    route,
                    Resend::Never,
                    |_| Ok(IncrementalAlterConfigsRequest::default().with_resources(wire.clone())),
                    |r| (0, r.throttle_time_ms),
                )
                .await?;
            for r in &resp.responses {
                if let Some(res) = ConfigResource::from_wire(r.resource_type, &r.resource_name) {
                    let result =
                        match code_err("IncrementalAlterConfigs", r.error_code, &r.error_message) {
                            Some(e) => Err(e),
                            None => Ok(()),
                        };
                    out.insert(res, result);
                }
            }
        }
        for r in changes.keys() {
            out.entry(r.clone()).or_insert_with(|| {
                Err(Error::Other(format!(
                    "IncrementalAlterConfigs: no result for {r}"
                )))
            });
        }
        Ok(out)
    }

    async fn elect_preferred_leaders(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<Outcomes<TopicPartition>, Error> {
        if partitions.is_empty() {
            return Ok(BTreeMap::new());
        }
        let timeout_ms = timeout_ms(self.cfg.default_api_timeout);
        let tps: Vec<TopicPartitions> = group_by_topic(partitions.iter().cloned())
            .into_iter()
            .map(|(t, ps)| {
                TopicPartitions::default()
                    .with_topic(topic_name(&t))
                    .with_partitions(ps)
            })
            .collect();
        let resp = self
            .call::<ElectLeadersRequest>(
                Route::Controller,
                Resend::Never,
                |_| {
                    // ElectionType 0 = PREFERRED (v0 has no field and means the same).
                    Ok(ElectLeadersRequest::default()
                        .with_election_type(0)
                        .with_topic_partitions(Some(tps.clone()))
                        .with_timeout_ms(timeout_ms))
                },
                |r| (r.error_code, r.throttle_time_ms),
            )
            .await?;
        if let Some(e) = code_err("ElectLeaders", resp.error_code, &None) {
            return Err(e);
        }
        Ok(election_outcomes(&resp, partitions))
    }
}

/// Per-partition results of a PREFERRED election: ELECTION_NOT_NEEDED (84) is success.
pub fn election_outcomes(
    resp: &kafka_protocol::messages::ElectLeadersResponse,
    asked: &[TopicPartition],
) -> Outcomes<TopicPartition> {
    let mut out: Outcomes<TopicPartition> = BTreeMap::new();
    for t in &resp.replica_election_results {
        for p in &t.partition_result {
            let tp = TopicPartition::new(t.topic.0.to_string(), p.partition_id);
            let r = match p.error_code {
                0 | 84 => Ok(()),
                code => Err(Error::broker(
                    "ElectLeaders",
                    code,
                    opt_str(&p.error_message),
                )),
            };
            out.insert(tp, r);
        }
    }
    for tp in asked {
        out.entry(tp.clone()).or_insert_with(|| {
            Err(Error::Other(format!(
                "ElectLeaders: no result for {tp} in the broker's answer"
            )))
        });
    }
    out
}

fn timeout_ms(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::testbroker::{self, FakeBroker, Handler};
    use bytes::Bytes;
    use kafka_protocol::messages::alter_partition_reassignments_response::{
        ReassignablePartitionResponse, ReassignableTopicResponse,
    };
    use kafka_protocol::messages::elect_leaders_response::{
        PartitionResult, ReplicaElectionResult,
    };
    use kafka_protocol::messages::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };
    use kafka_protocol::messages::{
        AlterPartitionReassignmentsResponse, ElectLeadersResponse, ResponseHeader,
    };
    use kafka_protocol::protocol::{Decodable, Encodable};

    /// A Metadata response with two brokers, one healthy and one leaderless partition.
    pub(crate) fn sample_metadata(port: i32) -> MetadataResponse {
        let p = |idx: i32, leader: i32, replicas: &[i32], isr: &[i32], code: i16| {
            MetadataResponsePartition::default()
                .with_partition_index(idx)
                .with_leader_id(WireBrokerId(leader))
                .with_replica_nodes(replicas.iter().map(|b| WireBrokerId(*b)).collect())
                .with_isr_nodes(isr.iter().map(|b| WireBrokerId(*b)).collect())
                .with_error_code(code)
        };
        MetadataResponse::default()
            .with_brokers(vec![
                MetadataResponseBroker::default()
                    .with_node_id(WireBrokerId(2))
                    .with_host(StrBytes::from_static_str("127.0.0.1"))
                    .with_port(port)
                    .with_rack(None),
                MetadataResponseBroker::default()
                    .with_node_id(WireBrokerId(1))
                    .with_host(StrBytes::from_static_str("127.0.0.1"))
                    .with_port(port)
                    .with_rack(Some(StrBytes::from_static_str("rack-a"))),
            ])
            .with_controller_id(WireBrokerId(1))
            .with_cluster_id(Some(StrBytes::from_static_str("c1")))
            .with_topics(vec![
                MetadataResponseTopic::default()
                    .with_name(Some(topic_name("foo")))
                    .with_partitions(vec![
                        p(1, -1, &[2, 3], &[], 5),
                        p(0, 1, &[1, 2], &[1, 2], 0),
                    ]),
                MetadataResponseTopic::default()
                    .with_name(Some(topic_name("__consumer_offsets")))
                    .with_is_internal(true)
                    .with_partitions(vec![p(0, 1, &[1], &[1], 0)]),
            ])
    }

    #[test]
    fn metadata_wire_to_model_round_trip() {
        // Encode with kafka-protocol, decode as the client does, convert.
        let resp = sample_metadata(9092);
        let mut buf = bytes::BytesMut::new();
        resp.encode(&mut buf, 12).unwrap();
        let mut bytes = buf.freeze();
        let decoded = MetadataResponse::decode(&mut bytes, 12).unwrap();
        let cluster = cluster_from_metadata(&decoded);
        assert_eq!(cluster.controller_id, Some(1));
        assert_eq!(cluster.cluster_id.as_deref(), Some("c1"));
        assert_eq!(
            cluster.brokers.iter().map(|b| b.id).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(cluster.brokers[0].rack.as_deref(), Some("rack-a"));
        assert_eq!(cluster.brokers[1].rack, None);
        let topics = topics_from_metadata(&decoded);
        assert_eq!(topics[0].name, "__consumer_offsets");
        assert!(topics[0].internal);
        let foo = &topics[1];
        assert_eq!(foo.partitions[0].partition, 0);
        assert_eq!(foo.partitions[0].leader, Some(1));
        assert_eq!(foo.partitions[0].replicas, [1, 2]);
        assert_eq!(foo.partitions[0].isr, [1, 2]);
        assert_eq!(foo.partitions[1].leader, None);
        assert_eq!(foo.partitions[1].replicas, [2, 3], "dead broker 3 kept");
        assert_eq!(
            foo.partitions[1].error.as_ref().and_then(Error::code),
            Some(5)
        );
    }

    #[test]
    fn log_dirs_wire_to_model_v1_and_v4() {
        use kafka_protocol::messages::describe_log_dirs_response::{
            DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
        };
        let part = |p: i32, size: i64, future: bool| {
            DescribeLogDirsPartition::default()
                .with_partition_index(p)
                .with_partition_size(size)
                .with_is_future_key(future)
        };
        let resp = DescribeLogDirsResponse::default().with_results(vec![
            DescribeLogDirsResult::default()
                .with_log_dir(StrBytes::from_static_str("/b"))
                .with_error_code(56),
            DescribeLogDirsResult::default()
                .with_log_dir(StrBytes::from_static_str("/a"))
                .with_total_bytes(1000)
                .with_usable_bytes(400)
                .with_topics(vec![DescribeLogDirsTopic::default()
                    .with_name(topic_name("foo"))
                    .with_partitions(vec![
                        part(1, 5, true),
                        part(1, 7, false),
                        part(0, 3, false),
                    ])]),
        ]);
        for version in [1i16, 4] {
            let mut buf = bytes::BytesMut::new();
            let wire = if version < 4 {
                // v1 cannot carry the sizes: a broker before 3.3 does not report them.
                resp.clone().with_results(
                    resp.results
                        .iter()
                        .map(|r| r.clone().with_total_bytes(-1).with_usable_bytes(-1))
                        .collect(),
                )
            } else {
                resp.clone()
            };
            wire.encode(&mut buf, version).unwrap();
            let decoded = DescribeLogDirsResponse::decode(&mut buf.freeze(), version).unwrap();
            let dirs = log_dirs_from_response(&decoded).unwrap();
            assert_eq!(dirs[0].path, "/a");
            assert_eq!(dirs[1].error.as_ref().and_then(Error::code), Some(56));
            let r = &dirs[0].replicas;
            assert_eq!(r.len(), 3);
            assert_eq!((r[0].tp.partition, r[0].size_bytes), (0, 3));
            assert_eq!((r[1].size_bytes, r[1].is_future), (7, false));
            assert_eq!((r[2].size_bytes, r[2].is_future), (5, true));
            if version == 4 {
                assert_eq!(dirs[0].total_bytes, Some(1000));
                assert_eq!(dirs[0].usable_bytes, Some(400));
            } else {
                assert_eq!(dirs[0].total_bytes, None);
            }
        }
        let top = DescribeLogDirsResponse::default().with_error_code(31);
        assert!(log_dirs_from_response(&top)
            .unwrap_err()
            .to_string()
            .contains("CLUSTER_AUTHORIZATION_FAILED"));
    }

    fn respond_body<T: Encodable>(version: i16, resp: &T) -> Option<Vec<u8>> {
        Some(testbroker::body(version, resp))
    }

    async fn admin_for(state: testbroker::State) -> (FakeBroker, KafkaAdmin) {
        let broker = FakeBroker::start(state).await;
        let cfg = ClientConfig {
            request_timeout: Duration::from_millis(500),
            default_api_timeout: Duration::from_millis(1500),
            ..ClientConfig::default()
        };
        let admin = KafkaAdmin::new(&broker.addr(), cfg).unwrap();
        (broker, admin)
    }

    #[tokio::test]
    async fn describe_topics_end_to_end_sets_no_auto_create() {
        let (broker, admin) = admin_for(testbroker::State::default()).await;
        // The default fake answers with its own single broker and no topics.
        let topics = admin
            .describe_topics(Some(&["foo".to_string()]))
            .await
            .unwrap();
        assert!(topics.is_empty());
        let cluster = admin.describe_cluster().await.unwrap();
        assert_eq!(cluster.brokers.len(), 1);
        assert!(broker
            .log()
            .iter()
            .any(|r| r.api_key == 3 && r.api_version == 12));
    }

    #[test]
    fn f_d3_metadata_request_never_auto_creates() {
        for v in 4..=13 {
            assert!(!metadata_request(Some(&["t".into()]), v).allow_auto_topic_creation);
        }
        assert!(metadata_request(None, 12).topics.is_none());
        assert_eq!(metadata_request(Some(&[]), 12).topics, Some(vec![]));
    }

    fn cancel_handler(
        seen: Arc<std::sync::Mutex<Vec<AlterPartitionReassignmentsRequest>>>,
    ) -> Handler {
        Arc::new(move |key, version, mut body: Bytes| {
            if key != 45 {
                return None;
            }
            let req = AlterPartitionReassignmentsRequest::decode(&mut body, version).unwrap();
            let responses = req
                .topics
                .iter()
                .map(|t| {
                    ReassignableTopicResponse::default()
                        .with_name(t.name.clone())
                        .with_partitions(
                            t.partitions
                                .iter()
                                .map(|p| {
                                    let code = if p.replicas.is_none() { 85 } else { 0 };
                                    ReassignablePartitionResponse::default()
                                        .with_partition_index(p.partition_index)
                                        .with_error_code(code)
                                })
                                .collect(),
                        )
                })
                .collect();
            seen.lock().unwrap().push(req);
            respond_body(
                version,
                &AlterPartitionReassignmentsResponse::default().with_responses(responses),
            )
        })
    }

    #[tokio::test]
    async fn f_d4_cancel_sends_null_replicas_and_reports_no_reassignment() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (broker, admin) = admin_for(testbroker::State {
            handler: Some(cancel_handler(seen.clone())),
            ..Default::default()
        })
        .await;
        let mut targets = BTreeMap::new();
        targets.insert(TopicPartition::new("foo", 0), None);
        targets.insert(TopicPartition::new("foo", 1), Some(vec![1, 2]));
        let out = admin.alter_reassignments(&targets, true).await.unwrap();
        assert_eq!(out[&TopicPartition::new("foo", 1)], Ok(()));
        let err = out[&TopicPartition::new("foo", 0)].clone().unwrap_err();
        assert_eq!(err.code(), Some(85));
        assert!(
            err.to_string().contains("NO_REASSIGNMENT_IN_PROGRESS"),
            "{err}"
        );
        // Sent once (not retried), grouped by topic, cancel as null replicas.
        let reqs = seen.lock().unwrap().clone();
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].topics.len(), 1);
        assert_eq!(reqs[0].topics[0].partitions[0].replicas, None);
        assert_eq!(broker.log().iter().filter(|r| r.api_key == 45).count(), 1);
    }

    #[tokio::test]
    async fn non_idempotent_timeout_is_outcome_unknown_and_not_resent() {
        // The handler never answers AlterPartitionReassignments.
        let (broker, admin) = admin_for(testbroker::State {
            handler: Some(Arc::new(|_, _, _| None)),
            ..Default::default()
        })
        .await;
        let mut targets = BTreeMap::new();
        targets.insert(TopicPartition::new("foo", 0), Some(vec![1]));
        let err = admin.alter_reassignments(&targets, true).await.unwrap_err();
        assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err}");
        assert!(err.to_string().contains("outcome unknown"), "{err}");
        assert_eq!(broker.log().iter().filter(|r| r.api_key == 45).count(), 1);
    }

    #[tokio::test]
    async fn idempotent_not_controller_is_retried() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c2 = calls.clone();
        let handler: Handler = Arc::new(move |key, version, _body| {
            if key != 46 {
                return None;
            }
            let n = c2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let code = if n == 0 { 41 } else { 0 };
            respond_body(
                version,
                &kafka_protocol::messages::ListPartitionReassignmentsResponse::default()
                    .with_error_code(code),
            )
        });
        let (_broker, admin) = admin_for(testbroker::State {
            handler: Some(handler),
            ..Default::default()
        })
        .await;
        let out = admin.list_reassignments(None).await.unwrap();
        assert!(out.is_empty());
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn unreachable_bootstrap_fails_fast_with_one_line() {
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        };
        let cfg = ClientConfig::default(); // 60 s API timeout
        let admin = KafkaAdmin::new(&addr, cfg).unwrap();
        let start = Instant::now();
        let e = admin.describe_cluster().await.unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(5));
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("cannot connect to {addr}:")),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
        assert!(KafkaAdmin::new("nohostport", ClientConfig::default()).is_err());
        assert!(KafkaAdmin::new(" , ", ClientConfig::default()).is_err());
    }

    #[test]
    fn f_d5_election_not_needed_is_success() {
        let resp = ElectLeadersResponse::default().with_replica_election_results(vec![
            ReplicaElectionResult::default()
                .with_topic(topic_name("foo"))
                .with_partition_result(vec![
                    PartitionResult::default().with_partition_id(0),
                    PartitionResult::default()
                        .with_partition_id(1)
                        .with_error_code(84),
                    PartitionResult::default()
                        .with_partition_id(2)
                        .with_error_code(80),
                ]),
        ]);
        let asked: Vec<TopicPartition> = (0..4).map(|p| TopicPartition::new("foo", p)).collect();
        let out = election_outcomes(&resp, &asked);
        assert_eq!(out[&asked[0]], Ok(()));
        assert_eq!(out[&asked[1]], Ok(()));
        assert!(out[&asked[2]]
            .clone()
            .unwrap_err()
            .to_string()
            .contains("PREFERRED_LEADER_NOT_AVAILABLE"));
        assert!(out[&asked[3]].is_err());
    }

    #[test]
    fn response_header_helper_is_v0_for_non_flexible() {
        // Guard for the fake broker's handler path: AlterPartitionReassignments is flexible
        // from v0 (header v1), ListPartitionReassignments too.
        assert_eq!(
            ApiKey::AlterPartitionReassignments.response_header_version(0),
            1
        );
        let _ = ResponseHeader::default();
    }
}
