//! A tiny in-process Kafka broker on 127.0.0.1 for connection tests: it answers
//! ApiVersions, SaslHandshake, SaslAuthenticate (PLAIN and SCRAM) and Metadata with encoded
//! responses, logs every request header, and hands other APIs to a test-supplied handler.
//! Several of them make a cluster ([`FakeBroker::start_cluster`]), each listed in the
//! others' Metadata; a handler's answers can be delayed and counted while outstanding (to
//! see how many brokers a client asks at once), and a broker can change the APIs it offers
//! and drop the connection after a request (a rolling restart onto another version).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::metadata_response::MetadataResponseBroker;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, DescribeClusterResponse, MetadataResponse,
    ResponseHeader, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
    SaslHandshakeResponse,
};
use kafka_protocol::protocol::{
    decode_request_header_from_buffer, Decodable, Encodable, HeaderVersion, StrBytes,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use super::properties::{SaslMechanism, Secret};
use super::sasl::ScramClient;

/// A handler for APIs the broker does not answer itself: `(api_key, version, body)` to an
/// encoded response body, or `None` to never answer (the client then times out).
pub type Handler = Arc<dyn Fn(i16, i16, Bytes) -> Option<Vec<u8>> + Send + Sync>;

/// Version ranges (api key, min, max) a test may change while the broker runs.
pub type LiveRanges = Arc<Mutex<Vec<(i16, i16, i16)>>>;

/// Requests handed to handlers and not answered yet, over every broker that shares it.
#[derive(Debug, Default)]
pub struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl InFlight {
    /// The most that were outstanding at once.
    pub fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }

    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Clone, Default)]
pub struct State {
    /// Highest ApiVersions version understood (0 = 4, the crate's max).
    pub api_versions_max: i16,
    /// Required SASL credentials, if any.
    pub sasl: Option<(String, String)>,
    /// Canned Metadata response; `None` = one broker (id 1, this listener), no topics.
    pub metadata: Option<MetadataResponse>,
    pub handler: Option<Handler>,
    /// Version ranges offered, overriding the default table: (api key, min, max).
    pub ranges: Option<Vec<(i16, i16, i16)>>,
    /// Version ranges read at each ApiVersions request, overriding `ranges`: a test changes
    /// them to make the broker come back from a restart on another version.
    pub live_ranges: Option<LiveRanges>,
    /// Waited before each handler answer is written (a broker's own time to answer).
    pub delay: Option<Duration>,
    /// Counts handler requests outstanding, across all brokers given the same one.
    pub in_flight: Option<Arc<InFlight>>,
    /// Asked with each request's API key after the handler ran: `true` drops the
    /// connection instead of answering (a broker going down mid-request).
    pub close_after: Option<Arc<dyn Fn(i16) -> bool + Send + Sync>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoggedRequest {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
    pub client_id: Option<String>,
}

pub struct FakeBroker {
    addr: String,
    log: Arc<Mutex<Vec<LoggedRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Default version table: what Kafka 4.1 offers for the APIs kafka-replan uses (trimmed to
/// what kafka-protocol 0.18 encodes).
pub fn default_ranges(api_versions_max: i16) -> Vec<(i16, i16, i16)> {
    vec![
        (ApiKey::Metadata as i16, 0, 12),
        (ApiKey::ApiVersions as i16, 0, api_versions_max),
        (ApiKey::SaslHandshake as i16, 0, 1),
        (ApiKey::SaslAuthenticate as i16, 0, 2),
        (ApiKey::DescribeCluster as i16, 0, 1),
        (ApiKey::DescribeLogDirs as i16, 1, 4),
        (ApiKey::AlterReplicaLogDirs as i16, 1, 2),
        (ApiKey::ListPartitionReassignments as i16, 0, 0),
        (ApiKey::AlterPartitionReassignments as i16, 0, 1),
        (ApiKey::DescribeConfigs as i16, 1, 4),
        (ApiKey::IncrementalAlterConfigs as i16, 0, 1),
        (ApiKey::ElectLeaders as i16, 0, 2),
    ]
}

/// Encodes a response frame (length, header, body) for a response type.
pub fn frame<T: Encodable + HeaderVersion>(cid: i32, version: i16, resp: &T) -> Vec<u8> {
    let mut buf = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(cid)
        .encode(&mut buf, T::header_version(version))
        .unwrap();
    resp.encode(&mut buf, version).unwrap();
    let mut out = (buf.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&buf);
    out
}

/// Encodes a response body only (for handlers).
pub fn body<T: Encodable>(version: i16, resp: &T) -> Vec<u8> {
    let mut buf = BytesMut::new();
    resp.encode(&mut buf, version).unwrap();
    buf.to_vec()
}

impl FakeBroker {
    pub async fn start(state: State) -> FakeBroker {
        FakeBroker::start_with(state, None).await
    }

    /// A broker behind TLS (the handshake failing just drops that connection).
    pub async fn start_tls(state: State, tls: Arc<rustls::ServerConfig>) -> FakeBroker {
        FakeBroker::start_with(state, Some(tls)).await
    }

    async fn start_with(state: State, tls: Option<Arc<rustls::ServerConfig>>) -> FakeBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        FakeBroker::serve_on(listener, state, tls)
    }

    fn serve_on(
        listener: TcpListener,
        state: State,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> FakeBroker {
        let addr = listener.local_addr().unwrap().to_string();
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = log.clone();
        let addr2 = addr.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let state = state.clone();
                let log = log2.clone();
                let addr = addr2.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        None => {
                            let _ = serve(sock, state, log, addr).await;
                        }
                        Some(cfg) => {
                            if let Ok(s) = tokio_rustls::TlsAcceptor::from(cfg).accept(sock).await {
                                let _ = serve(s, state, log, addr).await;
                            }
                        }
                    }
                });
            }
        });
        FakeBroker { addr, log, task }
    }

    pub fn addr(&self) -> String {
        self.addr.clone()
    }

    pub fn port(&self) -> i32 {
        self.addr.rsplit(':').next().unwrap().parse().unwrap()
    }

    pub fn log(&self) -> Vec<LoggedRequest> {
        self.log.lock().unwrap().clone()
    }

    /// `n` brokers, ids 1..=n on their own ports, racks `r0`..`r2` by id, broker 1 the
    /// controller: every one answers Metadata and DescribeCluster with all of them (and
    /// `topics`, for Metadata), and gets the state `state(id)` otherwise.
    pub async fn start_cluster(
        n: i32,
        topics: Vec<kafka_protocol::messages::metadata_response::MetadataResponseTopic>,
        state: impl Fn(i32) -> State,
    ) -> Vec<FakeBroker> {
        let mut listeners = Vec::new();
        for _ in 0..n {
            listeners.push(TcpListener::bind("127.0.0.1:0").await.unwrap());
        }
        let brokers = listeners
            .iter()
            .zip(1..)
            .map(|(l, id)| {
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(id))
                    .with_host(StrBytes::from_static_str("127.0.0.1"))
                    .with_port(i32::from(l.local_addr().unwrap().port()))
                    .with_rack(Some(StrBytes::from_string(format!("r{}", id % 3))))
            })
            .collect();
        let md = MetadataResponse::default()
            .with_brokers(brokers)
            .with_controller_id(BrokerId(1))
            .with_cluster_id(Some(StrBytes::from_static_str("fake-cluster")))
            .with_topics(topics);
        let mut out = Vec::new();
        for (listener, id) in listeners.into_iter().zip(1..) {
            let st = State {
                metadata: Some(md.clone()),
                ..state(id)
            };
            out.push(FakeBroker::serve_on(listener, st, None));
        }
        out
    }
}

struct ScramServer {
    client_first_bare: String,
    client: ScramClient,
    expected_final: Vec<u8>,
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut sock: S,
    state: State,
    log: Arc<Mutex<Vec<LoggedRequest>>>,
    addr: String,
) -> std::io::Result<()> {
    let av_max = if state.api_versions_max == 0 {
        4
    } else {
        state.api_versions_max
    };
    let fixed_ranges = state
        .ranges
        .clone()
        .unwrap_or_else(|| default_ranges(av_max));
    let mut mechanism: Option<String> = None;
    let mut scram: Option<ScramServer> = None;
    let mut authenticated = state.sasl.is_none();
    loop {
        let mut len = [0u8; 4];
        sock.read_exact(&mut len).await?;
        let mut buf = vec![0u8; i32::from_be_bytes(len) as usize];
        sock.read_exact(&mut buf).await?;
        let mut bytes = Bytes::from(buf);
        let header = decode_request_header_from_buffer(&mut bytes).unwrap();
        let (key, version, cid) = (
            header.request_api_key,
            header.request_api_version,
            header.correlation_id,
        );
        log.lock().unwrap().push(LoggedRequest {
            api_key: key,
            api_version: version,
            correlation_id: cid,
            client_id: header.client_id.map(|s| s.to_string()),
        });
        if !authenticated && !matches!(key, 17 | 18 | 36) {
            // Like Kafka: an unauthenticated client on a SASL listener is disconnected.
            return Ok(());
        }
        let out: Option<Vec<u8>> = match key {
            18 => {
                let ranges = match &state.live_ranges {
                    Some(live) => live.lock().unwrap().clone(),
                    None => fixed_ranges.clone(),
                };
                let versions: Vec<ApiVersion> = ranges
                    .iter()
                    .map(|(k, lo, hi)| {
                        ApiVersion::default()
                            .with_api_key(*k)
                            .with_min_version(*lo)
                            .with_max_version(*hi)
                    })
                    .collect();
                if version > av_max {
                    let resp = ApiVersionsResponse::default()
                        .with_error_code(35)
                        .with_api_keys(versions);
                    Some(frame(cid, 0, &resp))
                } else {
                    let resp = ApiVersionsResponse::default().with_api_keys(versions);
                    Some(frame(cid, version, &resp))
                }
            }
            17 => {
                let req = SaslHandshakeRequest::decode(&mut bytes, version).unwrap();
                mechanism = Some(req.mechanism.to_string());
                let code = if state.sasl.is_some() { 0 } else { 34 };
                let resp = SaslHandshakeResponse::default()
                    .with_error_code(code)
                    .with_mechanisms(vec![
                        StrBytes::from_static_str("PLAIN"),
                        StrBytes::from_static_str("SCRAM-SHA-256"),
                        StrBytes::from_static_str("SCRAM-SHA-512"),
                    ]);
                Some(frame(cid, version, &resp))
            }
            36 => {
                let req = SaslAuthenticateRequest::decode(&mut bytes, version).unwrap();
                let (user, pass) = state.sasl.clone().unwrap_or_default();
                let fail = |msg: &str| {
                    SaslAuthenticateResponse::default()
                        .with_error_code(58)
                        .with_error_message(Some(StrBytes::from_string(msg.to_string())))
                };
                let resp = match mechanism.as_deref() {
                    Some("PLAIN") => {
                        let mut want = vec![0u8];
                        want.extend_from_slice(user.as_bytes());
                        want.push(0);
                        want.extend_from_slice(pass.as_bytes());
                        if req.auth_bytes[..] == want[..] {
                            authenticated = true;
                            SaslAuthenticateResponse::default()
                        } else {
                            fail("Authentication failed: Invalid username or password")
                        }
                    }
                    Some(m @ ("SCRAM-SHA-256" | "SCRAM-SHA-512")) => {
                        let mech = if m == "SCRAM-SHA-256" {
                            SaslMechanism::ScramSha256
                        } else {
                            SaslMechanism::ScramSha512
                        };
                        let msg = String::from_utf8(req.auth_bytes.to_vec()).unwrap();
                        match scram.take() {
                            None => {
                                let bare = msg.strip_prefix("n,,").unwrap().to_string();
                                let cnonce = bare.split(",r=").nth(1).unwrap().to_string();
                                let salt = B64.encode(b"fake-broker-salt");
                                let server_first = format!("r={cnonce}srv-nonce,s={salt},i=4096");
                                let mut client = ScramClient::new(
                                    mech,
                                    &user,
                                    Secret::new(pass.clone()),
                                    cnonce,
                                    false,
                                )
                                .unwrap();
                                client.client_first();
                                let expected_final =
                                    client.handle_server_first(server_first.as_bytes()).unwrap();
                                scram = Some(ScramServer {
                                    client_first_bare: bare,
                                    client,
                                    expected_final,
                                });
                                SaslAuthenticateResponse::default()
                                    .with_auth_bytes(Bytes::from(server_first))
                            }
                            Some(server) => {
                                let user_ok = server.client_first_bare.starts_with(&format!(
                                    "n={},",
                                    super::sasl::scram_escape_username(&user)
                                ));
                                if user_ok && msg.as_bytes() == &server.expected_final[..] {
                                    authenticated = true;
                                    let sig = server.client.expected_server_signature().unwrap();
                                    SaslAuthenticateResponse::default().with_auth_bytes(
                                        Bytes::from(format!("v={}", B64.encode(sig))),
                                    )
                                } else {
                                    fail(&format!("Authentication failed during authentication due to invalid credentials with SASL mechanism {m}"))
                                }
                            }
                        }
                    }
                    _ => SaslAuthenticateResponse::default().with_error_code(34),
                };
                Some(frame(cid, version, &resp))
            }
            3 | 60 => {
                let md = state.metadata.clone().unwrap_or_else(|| {
                    let (host, port) = addr.rsplit_once(':').unwrap();
                    MetadataResponse::default()
                        .with_brokers(vec![MetadataResponseBroker::default()
                            .with_node_id(BrokerId(1))
                            .with_host(StrBytes::from_string(host.to_string()))
                            .with_port(port.parse().unwrap())
                            .with_rack(Some(StrBytes::from_static_str("r1")))])
                        .with_controller_id(BrokerId(1))
                        .with_cluster_id(Some(StrBytes::from_static_str("fake-cluster")))
                });
                if key == 3 {
                    Some(frame(cid, version, &md))
                } else {
                    let resp = DescribeClusterResponse::default()
                        .with_cluster_id(md.cluster_id.clone().unwrap_or_default())
                        .with_controller_id(md.controller_id)
                        .with_brokers(
                            md.brokers
                                .iter()
                                .map(|b| {
                                    DescribeClusterBroker::default()
                                        .with_broker_id(b.node_id)
                                        .with_host(b.host.clone())
                                        .with_port(b.port)
                                        .with_rack(b.rack.clone())
                                })
                                .collect(),
                        );
                    Some(frame(cid, version, &resp))
                }
            }
            _ => match &state.handler {
                Some(h) => {
                    if let Some(f) = &state.in_flight {
                        f.enter();
                    }
                    let answer = h(key, version, bytes);
                    if let Some(d) = state.delay {
                        tokio::time::sleep(d).await;
                    }
                    if let Some(f) = &state.in_flight {
                        f.leave();
                    }
                    if state.close_after.as_ref().is_some_and(|c| c(key)) {
                        return Ok(());
                    }
                    answer.map(|body| {
                        // The header version follows the response type; the handler encodes the
                        // body only, so build the header from the API's flexible-version rule.
                        let hv = ApiKey::try_from(key)
                            .map(|k| k.response_header_version(version))
                            .unwrap_or(0);
                        let mut hbuf = BytesMut::new();
                        ResponseHeader::default()
                            .with_correlation_id(cid)
                            .encode(&mut hbuf, hv)
                            .unwrap();
                        let mut out = ((hbuf.len() + body.len()) as i32).to_be_bytes().to_vec();
                        out.extend_from_slice(&hbuf);
                        out.extend_from_slice(&body);
                        out
                    })
                }
                None => None,
            },
        };
        // `None`: never answer, keep reading (the client times out).
        if let Some(bytes) = out {
            sock.write_all(&bytes).await?;
        }
    }
}
