//! `KafkaAdmin`: connections by address, routing of a request (any broker, the controller,
//! one broker) and the one `call` every `Admin` call goes through, with its retry, backoff
//! and resend rules.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::MetadataRequest;
use tokio::sync::Mutex;

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

pub(super) struct Inner {
    /// Open connections by address.
    pub(super) conns: BTreeMap<String, Connection>,
    /// Advertised address of each broker, from the last metadata.
    pub(super) brokers: BTreeMap<BrokerId, String>,
    pub(super) controller: Option<BrokerId>,
    /// Whether any request has been answered yet (see `call`).
    ever_answered: bool,
}

/// The admin client over real connections.
pub struct KafkaAdmin {
    pub(super) cfg: ClientConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    bootstrap: Vec<String>,
    pub(super) inner: Mutex<Inner>,
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
            Some(t) => Some(crate::kafka::tls::client_config(t)?),
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
    pub(super) async fn any_addr(&self, inner: &mut Inner) -> Result<String, Error> {
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
            let peer = self.peer(inner, &addr, None);
            return Err(Error::broker("Metadata", resp.error_code, None).with_peer(&peer));
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

    /// How errors name the broker at `addr`: with its id when routed to one, else when the
    /// last metadata lists that address.
    fn peer(&self, inner: &Inner, addr: &str, broker: Option<BrokerId>) -> String {
        let id = broker.or_else(|| {
            inner
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
    /// answer carries (see [`peer_name`]).
    pub(super) async fn call<R: ApiRequest>(
        &self,
        route: Route,
        resend: Resend,
        build: impl Fn(i16) -> Result<R, Error>,
        top: impl Fn(&R::Response) -> (i16, i32),
    ) -> Result<(R::Response, String), Error> {
        let deadline = Instant::now() + self.cfg.default_api_timeout;
        let mut backoff = BACKOFF_START;
        let mut inner = self.inner.lock().await;
        let mut unreachable_attempts = 0;
        loop {
            let attempt: Result<(R::Response, String), Error> = async {
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
                    Ok(resp) => {
                        let broker = match route {
                            Route::Broker(id) => Some(id),
                            Route::Any | Route::Controller => None,
                        };
                        Ok((resp, self.peer(&inner, &addr, broker)))
                    }
                    Err(e) => Err(e),
                }
            }
            .await;
            let (err, wait) = match attempt {
                Ok((resp, peer)) => {
                    inner.ever_answered = true;
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
                        inner.controller = None;
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

/// `host:port`, with brackets around an IPv6 host.
pub(super) fn format_addr(host: &str, port: i32) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
