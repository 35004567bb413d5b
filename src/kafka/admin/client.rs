//! `KafkaAdmin`: a pool of connections by address, routing of a request (any broker, the
//! controller, one broker) and the one `call` every `Admin` call goes through, with its
//! retry, backoff and resend rules.
//!
//! Each connection has a lock of its own, held for one exchange, so requests to different
//! brokers run at the same time (the calls that ask every broker send up to
//! `kafka-replan.max.concurrent.requests` at once) while requests to one broker queue on its
//! connection. The routing facts (broker addresses, the controller) sit behind a short
//! lock that is never held across network I/O.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use kafka_protocol::messages::{ApiKey, MetadataRequest};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use super::calls::metadata_request;
use super::decode::cluster_from_metadata;
use super::ClusterDescription;
use crate::kafka::conn::{parse_host_port, ApiRequest, Connection};
use crate::kafka::error::{is_retriable_code, peer_name, Error};
use crate::kafka::properties::ClientConfig;
use crate::model::BrokerId;

/// Where a request goes (§D1 routing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    Any,
    Controller,
    Broker(BrokerId),
}

/// Whether a request may be resent after its fate became unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resend {
    Safe,
    /// AlterPartitionReassignments, IncrementalAlterConfigs, ElectLeaders.
    Never,
}

/// What the client knows about the cluster's layout, from the last metadata.
#[derive(Debug, Default)]
struct Routing {
    /// Advertised address of each broker.
    brokers: BTreeMap<BrokerId, String>,
    controller: Option<BrokerId>,
}

/// One connection, or none yet (or none since it broke). Its lock is held for a whole
/// exchange: Kafka answers one connection's requests in order, and the client sends one at
/// a time on each.
type Slot = Arc<AsyncMutex<Option<Connection>>>;
/// A locked, open connection.
type ConnGuard = OwnedMutexGuard<Option<Connection>>;

struct PoolEntry {
    slot: Slot,
    /// When it was last handed out (a counter), to close the least recently used first.
    last_used: u64,
}

/// Open connections kept at most. A client asking each of 2,700 brokers would otherwise
/// hold 2,700 sockets and their TLS buffers for the whole run, past the 1,024 descriptors
/// many systems allow a process by default; connections idle the longest are closed first,
/// and reopened (ApiVersions and SASL again) when a request needs them. Clusters of up to
/// this many brokers never see a connection closed.
pub(super) const MAX_OPEN_CONNECTIONS: usize = 256;

/// The admin client over real connections.
pub struct KafkaAdmin {
    pub(super) cfg: ClientConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    bootstrap: Vec<String>,
    routing: std::sync::Mutex<Routing>,
    pool: std::sync::Mutex<BTreeMap<String, PoolEntry>>,
    uses: AtomicU64,
    /// Held while refreshing the metadata, so that requests to many unknown brokers at once
    /// read it once instead of once each.
    refreshing: AsyncMutex<()>,
    /// Whether any request has been answered yet (see `call`).
    ever_answered: AtomicBool,
    /// What the user should hear about that is not an error (see [`KafkaAdmin::notice`]).
    notices: std::sync::Mutex<Vec<String>>,
}

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// Connection attempts to the bootstrap servers before giving up when none ever answered.
const BOOTSTRAP_ATTEMPTS: u32 = 3;

/// A plain lock that a panic elsewhere cannot make unusable: the data behind these locks is
/// replaced whole on each write, so a poisoned one holds a consistent value.
fn lock<T>(m: &std::sync::Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn conn_of(guard: &mut ConnGuard) -> Result<&mut Connection, Error> {
    guard
        .as_mut()
        .ok_or_else(|| Error::Other("internal: connection vanished".into()))
}

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
            Some(t) => Some(crate::kafka::tls::client_config(t)?),
            None => None,
        };
        Ok(KafkaAdmin {
            cfg,
            tls,
            bootstrap: addrs,
            routing: std::sync::Mutex::new(Routing::default()),
            pool: std::sync::Mutex::new(BTreeMap::new()),
            uses: AtomicU64::new(0),
            refreshing: AsyncMutex::new(()),
            ever_answered: AtomicBool::new(false),
            notices: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The client configuration in use (warnings included).
    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// How many requests the calls that ask many brokers send at once.
    pub(super) fn concurrency(&self) -> usize {
        self.cfg.max_concurrent_requests.max(1)
    }

    /// Records something the user should be told that is not an error (a fallback taken);
    /// `Admin::take_notices` hands them out.
    pub(super) fn notice(&self, text: String) {
        lock(&self.notices).push(text);
    }

    pub(super) fn drain_notices(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.notices))
    }

    /// Connections currently open (for tests of the pool bound).
    #[cfg(test)]
    pub(super) fn open_connections(&self) -> usize {
        lock(&self.pool)
            .values()
            .filter(|e| match e.slot.try_lock() {
                Ok(g) => g.is_some(),
                Err(_) => true,
            })
            .count()
    }

    /// Learns broker addresses and the controller from a cluster description.
    pub(super) fn learn(&self, desc: &ClusterDescription) {
        let mut routing = lock(&self.routing);
        routing.brokers = desc
            .brokers
            .iter()
            .map(|b| (b.id, format_addr(&b.host, b.port)))
            .collect();
        routing.controller = desc.controller_id;
    }

    fn forget_controller(&self) {
        lock(&self.routing).controller = None;
    }

    /// The pool's slot for `addr` (created empty if new), marked as just used.
    fn slot(&self, addr: &str) -> Slot {
        let stamp = self.uses.fetch_add(1, Ordering::Relaxed);
        let mut pool = lock(&self.pool);
        let entry = pool.entry(addr.to_string()).or_insert_with(|| PoolEntry {
            slot: Arc::new(AsyncMutex::new(None)),
            last_used: stamp,
        });
        entry.last_used = stamp;
        entry.slot.clone()
    }

    /// Closes idle connections, least recently used first, until opening one more keeps
    /// the pool within [`MAX_OPEN_CONNECTIONS`]. Connections in use are left alone.
    fn make_room(&self, keep: &str) {
        let mut pool = lock(&self.pool);
        if pool.len() < MAX_OPEN_CONNECTIONS {
            return;
        }
        let mut by_age: Vec<(u64, String)> = pool
            .iter()
            .filter(|(a, _)| a.as_str() != keep)
            .map(|(a, e)| (e.last_used, a.clone()))
            .collect();
        by_age.sort();
        for (_, addr) in by_age {
            if pool.len() < MAX_OPEN_CONNECTIONS {
                break;
            }
            let idle = pool
                .get(&addr)
                .is_some_and(|e| Arc::strong_count(&e.slot) == 1 && e.slot.try_lock().is_ok());
            if idle {
                // Dropping the only handle closes the socket.
                pool.remove(&addr);
            }
        }
    }

    /// Locks the connection to `addr`, opening it (ApiVersions, SASL) if there is none or
    /// the last one broke.
    async fn connected(&self, addr: &str) -> Result<ConnGuard, Error> {
        let slot = self.slot(addr);
        let mut guard = slot.lock_owned().await;
        if !guard.as_ref().is_some_and(Connection::is_usable) {
            *guard = None;
            self.make_room(addr);
            *guard = Some(Connection::connect(addr, &self.cfg, self.tls.as_ref()).await?);
        }
        Ok(guard)
    }

    /// Any usable connection: an open idle one, else bootstrap servers in order, else known
    /// brokers. Returns its address and the locked connection.
    async fn any_conn(&self) -> Result<(String, ConnGuard), Error> {
        let open: Vec<(String, Slot)> = lock(&self.pool)
            .iter()
            .map(|(a, e)| (a.clone(), e.slot.clone()))
            .collect();
        for (addr, slot) in open {
            if let Ok(guard) = slot.try_lock_owned() {
                if guard.as_ref().is_some_and(Connection::is_usable) {
                    self.slot(&addr);
                    return Ok((addr, guard));
                }
            }
        }
        let mut candidates = self.bootstrap.clone();
        candidates.extend(lock(&self.routing).brokers.values().cloned());
        let mut last = None;
        for addr in candidates {
            match self.connected(&addr).await {
                Ok(guard) => return Ok((addr, guard)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Other("no broker address to connect to".into())))
    }

    /// Whether the broker `Route::Any` reaches offers `key`.
    pub(super) async fn any_offers(&self, key: ApiKey) -> Result<bool, Error> {
        let (_, guard) = self.any_conn().await?;
        Ok(guard.as_ref().and_then(|c| c.broker_range(key)).is_some())
    }

    /// Refreshes broker addresses and the controller id with a topic-less Metadata request.
    async fn refresh(&self) -> Result<ClusterDescription, Error> {
        let (addr, mut guard) = self.any_conn().await?;
        let conn = conn_of(&mut guard)?;
        let version = conn.version::<MetadataRequest>()?;
        let req = metadata_request(Some(&[]), version);
        let result = conn.send_at(&req, version).await;
        if !conn.is_usable() {
            *guard = None;
        }
        drop(guard);
        let resp = result?;
        if resp.error_code != 0 {
            let peer = self.peer(&addr, None);
            return Err(Error::broker("Metadata", resp.error_code, None).with_peer(&peer));
        }
        let desc = cluster_from_metadata(&resp);
        self.learn(&desc);
        Ok(desc)
    }

    /// The address of broker `id`, reading the metadata once if it is not known yet (one
    /// read however many requests ask at the same time).
    async fn broker_addr(&self, id: BrokerId) -> Result<String, Error> {
        if let Some(a) = lock(&self.routing).brokers.get(&id) {
            return Ok(a.clone());
        }
        let _one_at_a_time = self.refreshing.lock().await;
        if let Some(a) = lock(&self.routing).brokers.get(&id) {
            return Ok(a.clone());
        }
        self.refresh().await?;
        lock(&self.routing)
            .brokers
            .get(&id)
            .cloned()
            .ok_or(Error::UnknownBroker(id))
    }

    async fn route_conn(&self, route: Route) -> Result<(String, ConnGuard), Error> {
        match route {
            Route::Any => self.any_conn().await,
            Route::Controller => {
                let known = lock(&self.routing).controller.is_some();
                if !known {
                    let _one_at_a_time = self.refreshing.lock().await;
                    if lock(&self.routing).controller.is_none() {
                        self.refresh().await?;
                    }
                }
                let addr = {
                    let routing = lock(&self.routing);
                    routing
                        .controller
                        .and_then(|c| routing.brokers.get(&c).cloned())
                };
                match addr {
                    Some(addr) => {
                        let guard = self.connected(&addr).await?;
                        Ok((addr, guard))
                    }
                    // No controller known: in KRaft any broker forwards.
                    None => self.any_conn().await,
                }
            }
            Route::Broker(id) => {
                let addr = self.broker_addr(id).await?;
                let guard = self.connected(&addr).await?;
                Ok((addr, guard))
            }
        }
    }

    /// How errors name the broker at `addr`: with its id when routed to one, else when the
    /// last metadata lists that address.
    fn peer(&self, addr: &str, broker: Option<BrokerId>) -> String {
        let id = broker.or_else(|| {
            lock(&self.routing)
                .brokers
                .iter()
                .find(|(_, a)| a.as_str() == addr)
                .map(|(id, _)| *id)
        });
        peer_name(addr, id)
    }

    /// Sends one request with retries: retriable errors and network failures are retried
    /// with backoff until `default.api.timeout.ms`, except that a request with
    /// `Resend::Never` whose fate is unknown (timeout, lost connection, unreadable answer)
    /// is reported as `OutcomeUnknown` instead of being sent again.
    /// `top` extracts the top-level (error code, throttle ms) to decide on retries.
    /// Returns the answer with the name of the broker that gave it, for the errors the
    /// answer carries (see [`peer_name`]). Only the connection the request goes to is
    /// locked, and only for the exchange: other requests run meanwhile.
    pub(super) async fn call<R: ApiRequest>(
        &self,
        route: Route,
        resend: Resend,
        build: impl Fn(i16) -> Result<R, Error>,
        top: impl Fn(&R::Response) -> (i16, i32),
    ) -> Result<(R::Response, String), Error> {
        let deadline = Instant::now() + self.cfg.default_api_timeout;
        let mut backoff = BACKOFF_START;
        let mut unreachable_attempts = 0;
        loop {
            let attempt: Result<(R::Response, String), Error> = async {
                let (addr, mut guard) = self.route_conn(route).await?;
                let conn = conn_of(&mut guard)?;
                let version = conn.version::<R>()?;
                let req = build(version)?;
                let result = conn.send_at(&req, version).await;
                if !conn.is_usable() {
                    *guard = None;
                }
                drop(guard);
                match result {
                    Err(
                        e @ (Error::Timeout { .. }
                        | Error::ConnectionLost { .. }
                        | Error::Protocol { .. }),
                    ) if resend == Resend::Never => Err(Error::OutcomeUnknown {
                        api: R::NAME,
                        reason: e.to_string(),
                    }),
                    Ok(resp) => {
                        let broker = match route {
                            Route::Broker(id) => Some(id),
                            Route::Any | Route::Controller => None,
                        };
                        Ok((resp, self.peer(&addr, broker)))
                    }
                    Err(e) => Err(e),
                }
            }
            .await;
            let (err, wait) = match attempt {
                Ok((resp, peer)) => {
                    self.ever_answered.store(true, Ordering::Relaxed);
                    let (code, throttle_ms) = top(&resp);
                    // REQUEST_TIMED_OUT on a write means the controller may still apply it.
                    if code == 7 && resend == Resend::Never {
                        return Err(Error::OutcomeUnknown {
                            api: R::NAME,
                            reason: format!("{peer} answered REQUEST_TIMED_OUT"),
                        });
                    }
                    if !is_retriable_code(code) {
                        return Ok((resp, peer));
                    }
                    if code == 41 {
                        // NOT_CONTROLLER: the controller moved; learn the new one.
                        self.forget_controller();
                    }
                    let wait = Duration::from_millis(u64::try_from(throttle_ms).unwrap_or(0));
                    (Error::broker(R::NAME, code, None).with_peer(&peer), wait)
                }
                // Nothing ever answered (a wrong address or port, a listener down, another
                // security protocol): say so after a few quick tries instead of retrying for
                // the whole API timeout.
                Err(
                    e @ (Error::Connect { .. }
                    | Error::ConnectionLost { .. }
                    | Error::TlsHandshake { .. }),
                ) if !self.ever_answered.load(Ordering::Relaxed) => {
                    unreachable_attempts += 1;
                    if unreachable_attempts >= BOOTSTRAP_ATTEMPTS {
                        return Err(e);
                    }
                    (e, Duration::ZERO)
                }
                Err(e) if e.is_retriable() => {
                    // The broker we routed to may be gone: re-learn the controller.
                    self.forget_controller();
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

/// `host:port`, with brackets around an IPv6 host.
pub(super) fn format_addr(host: &str, port: i32) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
