//! One connection to one broker (spec §D1, §D9): TCP (+TLS), 4-byte length framing, request
//! headers with correlation ids, ApiVersions first, per-API version negotiation, SASL, and
//! one generic typed `send`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse,
    AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse, ApiKey, ApiVersionsRequest,
    ApiVersionsResponse, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest,
    DeleteTopicsResponse, DescribeClusterRequest, DescribeClusterResponse, DescribeConfigsRequest,
    DescribeConfigsResponse, DescribeLogDirsRequest, DescribeLogDirsResponse,
    DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, ElectLeadersRequest,
    ElectLeadersResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, MetadataRequest,
    MetadataResponse, RequestHeader, ResponseHeader, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::messages::{
    FindCoordinatorRequest, FindCoordinatorResponse, ListGroupsRequest, ListGroupsResponse,
    ListOffsetsRequest, ListOffsetsResponse, OffsetFetchRequest, OffsetFetchResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Message, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::error::Error;
#[cfg(doc)]
use super::properties::DEFAULT_MAX_RESPONSE_BYTES;
use super::properties::{
    ClientConfig, SaslConfig, SaslMechanism, MAX_RESPONSE_BYTES_KEY, SMALL_RESPONSE_BYTES,
};
use super::sasl::{plain_message, random_nonce, ScramClient};

/// A request kafka-replan sends, paired with its response type. kafka-protocol's own
/// `Request` trait is only implemented when both its `client` and `broker` features are on;
/// this trait keeps the build to `client` and doubles as the table of APIs we speak.
pub trait ApiRequest: Encodable + HeaderVersion + Message {
    const KEY: ApiKey;
    /// Kafka's name for the API, used in errors.
    const NAME: &'static str;
    type Response: Decodable + HeaderVersion + Message;

    /// The largest answer accepted to this request, given the configured limit and the
    /// size of the encoded request (see [`response_limit`]).
    fn response_limit(&self, configured: usize, request_bytes: usize) -> ResponseLimit {
        response_limit(Self::KEY, configured, request_bytes)
    }
}

/// The largest response frame accepted for one request, and whether
/// `kafka-replan.max.response.bytes` sets it (so that raising it would help).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseLimit {
    pub bytes: usize,
    pub configurable: bool,
    /// The setting is this many times `bytes` when `configurable` (1 for most APIs, 2 for
    /// the densest answers), so a refusal can name the setting's value, not the share.
    pub setting_divisor: usize,
}

/// Bytes of answer allowed per byte of request for the APIs whose answer lists at most the
/// items the request named: each item's answer (index, error code, a one-line message) is
/// a few times its request entry, never more than this.
const ECHO_BYTES_PER_REQUEST_BYTE: usize = 16;

/// The share of the configured limit given to the answers whose elements decode to the
/// most memory per wire byte (see [`response_limit`]).
const DENSE_ANSWER_DIVISOR: usize = 2;

/// The frame limit per API. A frame of N bytes can make the client hold about 8 N of
/// decoded values (docs/reliability.md), so the limit is kept to what a real answer of that
/// API can need, and each request of the APIs whose answer would otherwise grow with the
/// cluster is shaped (in `admin::calls`) so that its real answer stays small:
/// - answers small by nature, whatever the cluster size: [`SMALL_RESPONSE_BYTES`];
/// - answers that list at most what the request named (one entry per topic, partition or
///   resource sent): [`SMALL_RESPONSE_BYTES`] plus [`ECHO_BYTES_PER_REQUEST_BYTE`] per
///   request byte, so a large batch is never refused while a small one bounds the reply.
///   ListOffsets is one (asked in slices of partitions), and ListPartitionReassignments
///   when it names partitions (also sliced);
/// - answers that grow with what the cluster holds rather than with the request, each
///   asked in a shape that bounds it: Metadata of topics on brokers without
///   DescribeTopicPartitions (the whole cluster in one answer, the one answer that cannot
///   be shaped), DescribeLogDirs (one broker's replicas), ListPartitionReassignments of all
///   partitions (what is in flight), DescribeConfigs (slices of resources, whose throttle
///   lists grow with their partitions), OffsetFetch (slices of groups, each with every
///   partition it committed), ListGroups (one broker's groups), and any API not listed
///   here: the configured limit, whose default ([`DEFAULT_MAX_RESPONSE_BYTES`], 8 MiB)
///   keeps a hostile answer filled to it under 100 MB of memory; half of it for
///   DescribeConfigs and ListPartitionReassignments of all partitions, whose entries
///   decode to the most memory per wire byte.
///
/// Limits and slices rather than a decoded-size budget in the vendored decoder: decoded
/// memory is already linear in the frame (3 to 15 times it per API), so a limit fitted to
/// each API's real answers bounds it as tightly, with no counter in every decode of the
/// patched crate, and a real answer over a budget would fail just the same.
///
/// Never above the configured limit.
pub fn response_limit(key: ApiKey, configured: usize, request_bytes: usize) -> ResponseLimit {
    let own = match key {
        ApiKey::ApiVersions
        | ApiKey::SaslHandshake
        | ApiKey::SaslAuthenticate
        | ApiKey::DescribeCluster
        | ApiKey::FindCoordinator
        | ApiKey::DescribeTopicPartitions => Some(SMALL_RESPONSE_BYTES),
        ApiKey::CreateTopics
        | ApiKey::DeleteTopics
        | ApiKey::ListOffsets
        | ApiKey::AlterPartitionReassignments
        | ApiKey::ElectLeaders
        | ApiKey::IncrementalAlterConfigs
        | ApiKey::AlterReplicaLogDirs => Some(
            SMALL_RESPONSE_BYTES
                .saturating_add(request_bytes.saturating_mul(ECHO_BYTES_PER_REQUEST_BYTE)),
        ),
        // The densest answers that grow with the cluster: a ListPartitionReassignments
        // entry (12 wire bytes at one replica) or a DescribeConfigs entry (12 at one-byte
        // name and value) decodes to 12-15 times its size, half as dense again as the
        // others, so half the configured limit keeps a hostile answer at their memory.
        // Raising the setting raises it.
        ApiKey::DescribeConfigs | ApiKey::ListPartitionReassignments => {
            return ResponseLimit {
                bytes: configured / DENSE_ANSWER_DIVISOR,
                configurable: true,
                setting_divisor: DENSE_ANSWER_DIVISOR,
            }
        }
        _ => None,
    };
    match own {
        Some(bytes) if bytes < configured => ResponseLimit {
            bytes,
            configurable: false,
            setting_divisor: 1,
        },
        _ => ResponseLimit {
            bytes: configured,
            configurable: true,
            setting_divisor: 1,
        },
    }
}

macro_rules! api_request {
    ($req:ty, $resp:ty, $key:expr, $name:literal) => {
        impl ApiRequest for $req {
            const KEY: ApiKey = $key;
            const NAME: &'static str = $name;
            type Response = $resp;
        }
    };
}

impl ApiRequest for MetadataRequest {
    const KEY: ApiKey = ApiKey::Metadata;
    const NAME: &'static str = "Metadata";
    type Response = MetadataResponse;

    /// A Metadata request for no topics (the broker list, the controller) has a small
    /// answer however large the cluster; one for topics keeps the configured limit.
    fn response_limit(&self, configured: usize, request_bytes: usize) -> ResponseLimit {
        if self.topics.as_ref().is_some_and(|t| t.is_empty()) {
            response_limit(ApiKey::DescribeCluster, configured, request_bytes)
        } else {
            response_limit(ApiKey::Metadata, configured, request_bytes)
        }
    }
}
api_request!(
    DescribeTopicPartitionsRequest,
    DescribeTopicPartitionsResponse,
    ApiKey::DescribeTopicPartitions,
    "DescribeTopicPartitions"
);
api_request!(
    ApiVersionsRequest,
    ApiVersionsResponse,
    ApiKey::ApiVersions,
    "ApiVersions"
);
api_request!(
    SaslHandshakeRequest,
    SaslHandshakeResponse,
    ApiKey::SaslHandshake,
    "SaslHandshake"
);
api_request!(
    SaslAuthenticateRequest,
    SaslAuthenticateResponse,
    ApiKey::SaslAuthenticate,
    "SaslAuthenticate"
);
api_request!(
    DescribeClusterRequest,
    DescribeClusterResponse,
    ApiKey::DescribeCluster,
    "DescribeCluster"
);
api_request!(
    DescribeLogDirsRequest,
    DescribeLogDirsResponse,
    ApiKey::DescribeLogDirs,
    "DescribeLogDirs"
);
api_request!(
    ListOffsetsRequest,
    ListOffsetsResponse,
    ApiKey::ListOffsets,
    "ListOffsets"
);
api_request!(
    ListGroupsRequest,
    ListGroupsResponse,
    ApiKey::ListGroups,
    "ListGroups"
);
api_request!(
    FindCoordinatorRequest,
    FindCoordinatorResponse,
    ApiKey::FindCoordinator,
    "FindCoordinator"
);
api_request!(
    OffsetFetchRequest,
    OffsetFetchResponse,
    ApiKey::OffsetFetch,
    "OffsetFetch"
);
impl ApiRequest for ListPartitionReassignmentsRequest {
    const KEY: ApiKey = ApiKey::ListPartitionReassignments;
    const NAME: &'static str = "ListPartitionReassignments";
    type Response = ListPartitionReassignmentsResponse;

    /// Asked about named partitions, the answer lists at most those (an echo of the
    /// request); asked about all, it lists what is in flight and keeps the configured limit.
    fn response_limit(&self, configured: usize, request_bytes: usize) -> ResponseLimit {
        if self.topics.is_some() {
            response_limit(
                ApiKey::AlterPartitionReassignments,
                configured,
                request_bytes,
            )
        } else {
            response_limit(
                ApiKey::ListPartitionReassignments,
                configured,
                request_bytes,
            )
        }
    }
}
api_request!(
    AlterPartitionReassignmentsRequest,
    AlterPartitionReassignmentsResponse,
    ApiKey::AlterPartitionReassignments,
    "AlterPartitionReassignments"
);
api_request!(
    AlterReplicaLogDirsRequest,
    AlterReplicaLogDirsResponse,
    ApiKey::AlterReplicaLogDirs,
    "AlterReplicaLogDirs"
);
api_request!(
    DescribeConfigsRequest,
    DescribeConfigsResponse,
    ApiKey::DescribeConfigs,
    "DescribeConfigs"
);
api_request!(
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
    ApiKey::IncrementalAlterConfigs,
    "IncrementalAlterConfigs"
);
api_request!(
    CreateTopicsRequest,
    CreateTopicsResponse,
    ApiKey::CreateTopics,
    "CreateTopics"
);
api_request!(
    DeleteTopicsRequest,
    DeleteTopicsResponse,
    ApiKey::DeleteTopics,
    "DeleteTopics"
);
api_request!(
    ElectLeadersRequest,
    ElectLeadersResponse,
    ApiKey::ElectLeaders,
    "ElectLeaders"
);

/// The client id sent in every request header unless `client.id` says otherwise.
pub const CLIENT_SOFTWARE_NAME: &str = "kafka-replan";

// Bounded decoding. A broker reply's counts are not trusted: the vendored kafka-protocol
// (vendor/kafka-protocol, PATCH.md) refuses an array count or string length larger than the
// bytes left in the frame before allocating from it, and reserves at most 1 MiB per array
// ahead of the elements it actually reads. So a frame of N bytes costs memory proportional
// to N whatever it claims, and N itself is capped by `ClientConfig::max_response_bytes`
// before the body is read. Patching the decoder was chosen over the alternatives:
// - a pre-pass validating counts against each API's schema would duplicate, by hand, the
//   schemas kafka-protocol generates from Kafka's JSON for every API and version (tagged
//   fields, flexible versions, nullable arrays), drift from them silently, and still leave
//   any API we add later unprotected until someone writes its pre-pass;
// - a different decoding path (our own decoder, or streaming the frame) means owning the
//   wire format of a dozen APIs instead of one two-line check;
// - the check itself is the one Kafka's own generated Java decoders make, sits in the two
//   array decoders every message goes through, and is small enough to be taken upstream.

/// Byte length of a frame's length prefix.
const FRAME_LENGTH_BYTES: usize = 4;

/// Picks the version for one API: the highest both sides speak (§D1).
pub fn negotiate(
    addr: &str,
    api: &'static str,
    client: (i16, i16),
    broker: Option<(i16, i16)>,
) -> Result<i16, Error> {
    let Some((bmin, bmax)) = broker else {
        return Err(Error::UnsupportedApi {
            addr: addr.to_string(),
            api,
        });
    };
    let lo = client.0.max(bmin);
    let hi = client.1.min(bmax);
    if hi < lo {
        return Err(Error::NoCommonVersion {
            addr: addr.to_string(),
            api,
            client_min: client.0,
            client_max: client.1,
            broker_min: bmin,
            broker_max: bmax,
        });
    }
    Ok(hi)
}

/// Encodes one request frame: length, header (v1 or v2 per `header_version`), body.
pub fn encode_request<R: ApiRequest>(
    req: &R,
    version: i16,
    correlation_id: i32,
    client_id: &str,
) -> Result<Vec<u8>, String> {
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_string(client_id.to_string())));
    let mut buf: Vec<u8> = vec![0, 0, 0, 0];
    header
        .encode(&mut buf, R::header_version(version))
        .map_err(|e| format!("encoding request header: {e}"))?;
    req.encode(&mut buf, version)
        .map_err(|e| format!("encoding {} v{version}: {e}", R::NAME))?;
    let len = i32::try_from(buf.len() - 4).map_err(|_| "request too large".to_string())?;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf)
}

/// Reads the response header of a frame (without its length prefix) and checks the
/// correlation id; returns the body.
pub fn split_response_header(
    mut frame: Bytes,
    header_version: i16,
    correlation_id: i32,
) -> Result<Bytes, String> {
    let header = ResponseHeader::decode(&mut frame, header_version)
        .map_err(|e| format!("decoding response header: {}", decode_reason(&e)))?;
    if header.correlation_id != correlation_id {
        return Err(format!(
            "correlation id mismatch: sent {correlation_id}, got {}",
            header.correlation_id
        ));
    }
    Ok(frame)
}

/// Decodes a response body at `version` on its own (benches, tools); the connection uses
/// `decode_frame_body`, whose error also gives the frame size.
pub fn decode_body<T: Decodable>(mut body: Bytes, version: i16, api: &str) -> Result<T, String> {
    T::decode(&mut body, version)
        .map_err(|e| format!("decoding {api} v{version} response: {}", decode_reason(&e)))
}

/// Decodes a response body at `version`. Trailing bytes are ignored: some brokers and mocks
/// append a byte kafka-protocol does not expect (measured against librdkafka's mock).
/// `frame_len` is the whole frame's length, for the error ("... in a 30-byte frame (v4)").
pub fn decode_frame_body<T: Decodable>(
    mut body: Bytes,
    version: i16,
    frame_len: usize,
) -> Result<T, String> {
    T::decode(&mut body, version).map_err(|e| {
        format!(
            "{} in a {frame_len}-byte frame (v{version})",
            decode_reason(&e)
        )
    })
}

/// One line from a kafka-protocol decode error: its messages joined, line breaks removed
/// (the crate's "not enough bytes" error ends with a newline), and that error said plainly.
fn decode_reason(e: &anyhow::Error) -> String {
    let text = e
        .chain()
        .map(|c| c.to_string().trim().to_string())
        .filter(|m| !m.is_empty())
        .collect::<Vec<_>>()
        .join(": ")
        .replace(['\n', '\r'], " ");
    if text.starts_with("Not enough bytes remaining in buffer") {
        "a field runs past the end of the message (truncated or corrupt)".to_string()
    } else {
        text
    }
}

/// Decodes a full response frame (without length prefix) for request type `R`.
pub fn decode_response<R: ApiRequest>(
    frame: Bytes,
    version: i16,
    correlation_id: i32,
) -> Result<R::Response, String> {
    let frame_len = frame.len();
    let body = split_response_header(frame, R::Response::header_version(version), correlation_id)?;
    decode_frame_body::<R::Response>(body, version, frame_len)
}

/// Checks a response frame's length prefix against the limit before anything is read or
/// allocated for the body. `tls_expected` is whether this connection runs TLS: a TLS record
/// read as a Kafka length (0x15 alert or 0x16 handshake, then version 3.x) means the
/// listener speaks TLS and the client does not.
pub fn check_frame_length(
    prefix: [u8; 4],
    limit: ResponseLimit,
    tls_expected: bool,
) -> Result<usize, String> {
    let ResponseLimit {
        bytes: limit,
        configurable,
        setting_divisor,
    } = limit;
    let len = i32::from_be_bytes(prefix);
    let looks_like_tls = matches!(prefix[0], 0x15 | 0x16) && prefix[1] == 3;
    let Ok(len) = usize::try_from(len) else {
        return Err(format!("response frame length {len} is negative"));
    };
    if len > limit {
        if looks_like_tls && !tls_expected {
            return Err(
                "the reply is a TLS record, not a Kafka frame: is this a TLS listener? \
                 check security.protocol"
                    .to_string(),
            );
        }
        if !configurable {
            return Err(format!(
                "response frame of {len} bytes is over the limit of {limit} bytes for this \
                 API, whose real answers are far smaller"
            ));
        }
        if setting_divisor > 1 {
            let setting = limit.saturating_mul(setting_divisor);
            return Err(format!(
                "response frame of {len} bytes is over the limit of {limit} bytes for this \
                 API (1/{setting_divisor} of {MAX_RESPONSE_BYTES_KEY} = {setting}: raise it in \
                 --command-config if this is a real broker)"
            ));
        }
        return Err(format!(
            "response frame of {len} bytes is over the limit of {limit} bytes \
             (raise {MAX_RESPONSE_BYTES_KEY} in --command-config if this is a real broker)"
        ));
    }
    Ok(len)
}

/// Byte stream under a connection: plain TCP, TLS, or an in-memory pipe in tests.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Splits `host:port` / `[v6]:port`.
pub fn parse_host_port(addr: &str) -> Result<(String, u16), Error> {
    let bad = |reason: &str| Error::BadAddress {
        addr: addr.to_string(),
        reason: reason.to_string(),
    };
    let addr_t = addr.trim();
    let (host, port) = if let Some(rest) = addr_t.strip_prefix('[') {
        let (h, p) = rest
            .split_once("]:")
            .ok_or_else(|| bad("expected [ipv6]:port"))?;
        (h, p)
    } else {
        addr_t
            .rsplit_once(':')
            .ok_or_else(|| bad("expected host:port"))?
    };
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| bad("port is not a number 1-65535"))?;
    if port == 0 {
        return Err(bad("port is not a number 1-65535"));
    }
    Ok((host.to_string(), port))
}

/// An authenticated connection with its negotiated API versions.
pub struct Connection {
    io: Box<dyn Io>,
    addr: String,
    client_id: String,
    next_correlation_id: i32,
    /// Broker's supported range per API key.
    broker_versions: BTreeMap<i16, (i16, i16)>,
    timeout: Duration,
    /// Largest response frame accepted (`ClientConfig::max_response_bytes`).
    max_response_bytes: usize,
    /// Whether the stream runs TLS (for the hint when a frame looks like a TLS record).
    uses_tls: bool,
    /// Set when the stream is unusable (timeout or I/O error mid-request): a late response
    /// would be read as the answer to the next request.
    broken: Option<String>,
    /// When the broker will drop the SASL session (SessionLifetimeMs).
    session_expires: Option<Instant>,
    /// Responses read since the handshake finished (for error hints).
    answered: u64,
    uses_sasl: bool,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.addr)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Connects to `addr` (`host:port`), runs TLS, ApiVersions and SASL as `cfg` says.
    pub async fn connect(
        addr: &str,
        cfg: &ClientConfig,
        tls: Option<&Arc<rustls::ClientConfig>>,
    ) -> Result<Connection, Error> {
        let (host, port) = parse_host_port(addr)?;
        let timeout = cfg.request_timeout;
        let tcp =
            match tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port))).await {
                Err(_) => {
                    return Err(Error::Connect {
                        addr: addr.to_string(),
                        reason: format!("timed out after {} ms", timeout.as_millis()),
                    })
                }
                Ok(Err(e)) => {
                    return Err(Error::Connect {
                        addr: addr.to_string(),
                        reason: e.to_string(),
                    })
                }
                Ok(Ok(s)) => s,
            };
        // Requests are small and latency matters more than packet count.
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Io> = if cfg.security_protocol.uses_tls() {
            let Some(tls) = tls else {
                return Err(Error::Other(
                    "internal: TLS configured but no TLS context built".into(),
                ));
            };
            let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| {
                Error::BadAddress {
                    addr: addr.to_string(),
                    reason: format!("not a valid TLS server name: {e}"),
                }
            })?;
            let connector = tokio_rustls::TlsConnector::from(tls.clone());
            match tokio::time::timeout(timeout, connector.connect(name, tcp)).await {
                Err(_) => {
                    return Err(Error::TlsHandshake {
                        addr: addr.to_string(),
                        reason: format!(
                            "timed out after {} ms (does this listener speak TLS? check security.protocol)",
                            timeout.as_millis()
                        ),
                    })
                }
                Ok(Err(e)) => {
                    let mut reason = e.to_string();
                    // A plaintext listener answers a ClientHello with Kafka framing or a
                    // close, which rustls reports as a corrupt message, an early EOF or a
                    // reset. A certificate or alert error means TLS is spoken: no hint.
                    let wrong_protocol =
                        match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                            Some(rustls::Error::InvalidMessage(_)) => true,
                            Some(_) => false,
                            None => matches!(
                                e.kind(),
                                std::io::ErrorKind::InvalidData
                                    | std::io::ErrorKind::UnexpectedEof
                                    | std::io::ErrorKind::ConnectionReset
                                    | std::io::ErrorKind::ConnectionAborted
                            ),
                        };
                    if wrong_protocol {
                        reason.push_str(" (does this listener speak TLS? check security.protocol)");
                    }
                    return Err(Error::TlsHandshake {
                        addr: addr.to_string(),
                        reason,
                    });
                }
                Ok(Ok(s)) => Box::new(s),
            }
        } else {
            Box::new(tcp)
        };
        Connection::handshake(io, addr, cfg).await
    }

    /// ApiVersions, then SASL if configured, over an established stream.
    pub async fn handshake(
        io: Box<dyn Io>,
        addr: &str,
        cfg: &ClientConfig,
    ) -> Result<Connection, Error> {
        let mut conn = Connection {
            io,
            addr: addr.to_string(),
            client_id: cfg.client_id.clone(),
            next_correlation_id: 0,
            broker_versions: BTreeMap::new(),
            timeout: cfg.request_timeout,
            max_response_bytes: cfg.max_response_bytes,
            uses_tls: cfg.security_protocol.uses_tls(),
            broken: None,
            session_expires: None,
            answered: 0,
            uses_sasl: cfg.sasl.is_some(),
        };
        conn.api_versions()
            .await
            .map_err(|e| hint_protocol(e, cfg))?;
        if let Some(sasl) = &cfg.sasl {
            conn.authenticate(sasl).await?;
        }
        conn.answered = 0;
        Ok(conn)
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// False once the stream broke or the SASL session is about to expire.
    pub fn is_usable(&self) -> bool {
        self.broken.is_none()
            && self
                .session_expires
                .is_none_or(|t| Instant::now() + Duration::from_secs(1) < t)
    }

    /// The broker's version range for an API, if it offers the API.
    pub fn broker_range(&self, key: ApiKey) -> Option<(i16, i16)> {
        self.broker_versions.get(&(key as i16)).copied()
    }

    /// The version `send` uses for `R`.
    pub fn version<R: ApiRequest>(&self) -> Result<i16, Error> {
        negotiate(
            &self.addr,
            R::NAME,
            (R::VERSIONS.min, R::VERSIONS.max),
            self.broker_range(R::KEY),
        )
    }

    /// Sends a request at the negotiated version and returns its typed response.
    pub async fn send<R: ApiRequest>(&mut self, req: &R) -> Result<R::Response, Error> {
        let version = self.version::<R>()?;
        self.send_at(req, version).await
    }

    /// Sends a request at an explicit version (for requests whose fields depend on it).
    pub async fn send_at<R: ApiRequest>(
        &mut self,
        req: &R,
        version: i16,
    ) -> Result<R::Response, Error> {
        let (cid, frame) = self.exchange::<R>(req, version).await?;
        decode_response::<R>(frame, version, cid).map_err(|reason| self.protocol(R::NAME, reason))
    }

    fn protocol(&mut self, api: &'static str, reason: String) -> Error {
        // After a framing or decode surprise we cannot trust the stream position.
        self.broken = Some(reason.clone());
        Error::Protocol {
            addr: self.addr.clone(),
            api,
            reason,
        }
    }

    /// Writes one request and reads its response frame (without the length prefix).
    async fn exchange<R: ApiRequest>(
        &mut self,
        req: &R,
        version: i16,
    ) -> Result<(i32, Bytes), Error> {
        if let Some(why) = &self.broken {
            return Err(Error::ConnectionLost {
                addr: self.addr.clone(),
                api: R::NAME,
                reason: format!("connection unusable after an earlier failure: {why}"),
            });
        }
        let cid = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        // Nothing was sent: an encoding failure is our bug, not an unknown outcome.
        let frame = encode_request(req, version, cid, &self.client_id).map_err(|reason| {
            Error::Other(format!("internal: {} to {}: {reason}", R::NAME, self.addr))
        })?;
        let timeout = self.timeout;
        let limit = req.response_limit(self.max_response_bytes, frame.len());
        let uses_tls = self.uses_tls;
        let io = &mut self.io;
        // One deadline for the whole exchange, so a peer trickling bytes is bounded by the
        // request timeout however slowly it sends.
        let result = tokio::time::timeout(timeout, async move {
            io.write_all(&frame).await.map_err(FrameError::Io)?;
            io.flush().await.map_err(FrameError::Io)?;
            let mut prefix = [0u8; FRAME_LENGTH_BYTES];
            io.read_exact(&mut prefix).await.map_err(FrameError::Io)?;
            let want = check_frame_length(prefix, limit, uses_tls).map_err(FrameError::Refused)?;
            read_frame_body(io, want).await
        })
        .await;
        match result {
            Err(_) => {
                self.broken = Some("request timed out".into());
                Err(Error::Timeout {
                    addr: self.addr.clone(),
                    api: R::NAME,
                    after: timeout,
                })
            }
            Ok(Err(FrameError::Refused(reason))) => Err(self.protocol(R::NAME, reason)),
            Ok(Err(FrameError::Truncated { got, want })) => {
                let reason = format!(
                    "closed by the broker in the middle of a response ({got} of {want} bytes received)"
                );
                self.broken = Some(reason.clone());
                Err(Error::ConnectionLost {
                    addr: self.addr.clone(),
                    api: R::NAME,
                    reason,
                })
            }
            Ok(Err(FrameError::Io(e))) => {
                self.broken = Some(e.to_string());
                let reason = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    if self.answered == 0 && !self.uses_sasl && R::KEY != ApiKey::ApiVersions {
                        // A SASL listener answers ApiVersions, then drops the first other
                        // request of an unauthenticated client.
                        "closed by the broker (the listener may require SASL: check security.protocol)".to_string()
                    } else {
                        "closed by the broker".to_string()
                    }
                } else {
                    e.to_string()
                };
                Err(Error::ConnectionLost {
                    addr: self.addr.clone(),
                    api: R::NAME,
                    reason,
                })
            }
            Ok(Ok(frame)) => {
                self.answered += 1;
                Ok((cid, frame))
            }
        }
    }

    /// ApiVersions at our highest version; a broker that does not know it answers
    /// UNSUPPORTED_VERSION with a v0 body listing its own range: retry at its max (§D1).
    async fn api_versions(&mut self) -> Result<(), Error> {
        let mut version = ApiVersionsRequest::VERSIONS.max;
        for _attempt in 0..3 {
            let mut req = ApiVersionsRequest::default();
            if version >= 3 {
                req = req
                    .with_client_software_name(StrBytes::from_static_str(CLIENT_SOFTWARE_NAME))
                    .with_client_software_version(StrBytes::from_static_str(env!(
                        "CARGO_PKG_VERSION"
                    )));
            }
            let (cid, frame) = self.exchange(&req, version).await?;
            let frame_len = frame.len();
            let body = split_response_header(frame, 0, cid)
                .map_err(|r| self.protocol("ApiVersions", r))?;
            let error_code = if body.len() >= 2 {
                (&body[..2]).get_i16()
            } else {
                return Err(self.protocol("ApiVersions", "empty response".into()));
            };
            if error_code == 35 && version > 0 {
                // Kafka answers in v0; some other implementations (librdkafka's mock cluster)
                // answer in the version asked for. Either way take their ApiVersions range;
                // when neither decodes, fall back to v0, which every broker speaks.
                let decoded: Option<ApiVersionsResponse> =
                    decode_frame_body::<ApiVersionsResponse>(body.clone(), 0, frame_len)
                        .ok()
                        .or_else(|| decode_frame_body(body.clone(), version, frame_len).ok());
                let theirs = decoded
                    .and_then(|r| {
                        r.api_keys
                            .iter()
                            .find(|k| k.api_key == ApiKey::ApiVersions as i16)
                            .map(|k| k.max_version)
                    })
                    .unwrap_or(0);
                let next = theirs.clamp(0, version - 1);
                version = next;
                continue;
            }
            let resp: ApiVersionsResponse = decode_frame_body(body, version, frame_len)
                .map_err(|r| self.protocol("ApiVersions", r))?;
            if error_code != 0 {
                // No broker message to show: name the peer instead, it may not be Kafka.
                return Err(Error::broker(
                    "ApiVersions",
                    error_code,
                    Some(format!("answered by {}", self.addr)),
                ));
            }
            self.broker_versions = resp
                .api_keys
                .iter()
                .map(|k| (k.api_key, (k.min_version, k.max_version)))
                .collect();
            return Ok(());
        }
        Err(self.protocol(
            "ApiVersions",
            "broker kept answering UNSUPPORTED_VERSION".into(),
        ))
    }

    /// SaslHandshake v1 then SaslAuthenticate round trips (§D9).
    async fn authenticate(&mut self, sasl: &SaslConfig) -> Result<(), Error> {
        let hs_version = self.version::<SaslHandshakeRequest>()?;
        if hs_version < 1 {
            return Err(Error::SaslAuthentication {
                addr: self.addr.clone(),
                reason: "broker only offers SaslHandshake v0 (raw SASL tokens), which kafka-replan does not speak".into(),
            });
        }
        let hs = SaslHandshakeRequest::default()
            .with_mechanism(StrBytes::from_static_str(sasl.mechanism.name()));
        let resp = self.send_at(&hs, 1).await?;
        if resp.error_code == 33 {
            let enabled: Vec<&str> = resp.mechanisms.iter().map(|m| m.as_str()).collect();
            return Err(Error::SaslAuthentication {
                addr: self.addr.clone(),
                reason: format!(
                    "the broker does not enable {} on this listener (enabled: {})",
                    sasl.mechanism,
                    if enabled.is_empty() {
                        "none listed".to_string()
                    } else {
                        enabled.join(", ")
                    }
                ),
            });
        }
        if resp.error_code == 34 {
            // ILLEGAL_SASL_STATE to a handshake: the listener does not do SASL at all.
            return Err(Error::SaslAuthentication {
                addr: self.addr.clone(),
                reason: "the listener does not expect SASL (ILLEGAL_SASL_STATE): check security.protocol".into(),
            });
        }
        if resp.error_code != 0 {
            return Err(Error::broker(
                "SaslHandshake",
                resp.error_code,
                Some(format!("answered by {}", self.addr)),
            ));
        }
        match sasl.mechanism {
            SaslMechanism::Plain => {
                self.sasl_round(plain_message(&sasl.username, &sasl.password))
                    .await?;
            }
            SaslMechanism::ScramSha256 | SaslMechanism::ScramSha512 => {
                let nonce = random_nonce()
                    .map_err(|_| Error::Other("system random number generator failed".into()))?;
                let Some(mut scram) = ScramClient::new(
                    sasl.mechanism,
                    &sasl.username,
                    sasl.password.clone(),
                    nonce,
                    sasl.token_auth,
                ) else {
                    return Err(Error::Other("internal: not a SCRAM mechanism".into()));
                };
                let server_first = self.sasl_round(scram.client_first()).await?;
                let client_final =
                    scram
                        .handle_server_first(&server_first)
                        .map_err(|source| Error::Sasl {
                            addr: self.addr.clone(),
                            source,
                        })?;
                let server_final = self.sasl_round(client_final).await?;
                scram
                    .handle_server_final(&server_final)
                    .map_err(|source| Error::Sasl {
                        addr: self.addr.clone(),
                        source,
                    })?;
            }
        }
        Ok(())
    }

    async fn sasl_round(&mut self, auth_bytes: Vec<u8>) -> Result<Bytes, Error> {
        let req = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(auth_bytes));
        let resp = self.send(&req).await?;
        if resp.error_code == 58 {
            return Err(Error::SaslAuthentication {
                addr: self.addr.clone(),
                reason: resp
                    .error_message
                    .map(|m| super::error::one_line(&m))
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| "SASL_AUTHENTICATION_FAILED".into()),
            });
        }
        if resp.error_code != 0 {
            return Err(Error::broker(
                "SaslAuthenticate",
                resp.error_code,
                resp.error_message.map(|m| m.to_string()),
            )
            .with_peer(&self.addr));
        }
        if resp.session_lifetime_ms > 0 {
            self.session_expires =
                Some(Instant::now() + Duration::from_millis(resp.session_lifetime_ms as u64));
        }
        Ok(resp.auth_bytes)
    }
}

/// Why reading a response frame failed: the stream broke, or the frame was refused unread.
enum FrameError {
    Io(std::io::Error),
    Refused(String),
    /// The peer closed after `got` of the `want` body bytes its length prefix announced.
    Truncated {
        got: usize,
        want: usize,
    },
}

/// Chunk in which a frame body is read: the buffer grows with the bytes that actually
/// arrived, never with the length the peer claimed, so a peer announcing a frame at the
/// limit and then stalling costs one chunk.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Reads exactly `want` body bytes of a frame whose length was already checked.
async fn read_frame_body(io: &mut Box<dyn Io>, want: usize) -> Result<Bytes, FrameError> {
    let mut body: Vec<u8> = Vec::with_capacity(want.min(READ_CHUNK_BYTES));
    let mut chunk = vec![0u8; READ_CHUNK_BYTES.min(want.max(1))];
    while body.len() < want {
        let n = (want - body.len()).min(chunk.len());
        let got = io.read(&mut chunk[..n]).await.map_err(FrameError::Io)?;
        if got == 0 {
            return Err(FrameError::Truncated {
                got: body.len(),
                want,
            });
        }
        body.extend_from_slice(&chunk[..got]);
    }
    Ok(Bytes::from(body))
}

/// A connection that closes during ApiVersions usually means the listener expects another
/// security protocol; say so.
fn hint_protocol(e: Error, cfg: &ClientConfig) -> Error {
    match e {
        Error::ConnectionLost { addr, api, reason } => Error::ConnectionLost {
            addr,
            api,
            reason: format!(
                "{reason} (security.protocol is {:?}: does the listener expect another protocol?)",
                cfg.security_protocol
            ),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::testbroker::{self, FakeBroker};
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    use kafka_protocol::messages::TopicName;

    #[test]
    fn f_d2_version_negotiation_table() {
        // (client range, broker range, expected)
        type Case = ((i16, i16), Option<(i16, i16)>, Result<i16, &'static str>);
        let cases: &[Case] = &[
            ((0, 13), Some((0, 12)), Ok(12)),
            ((0, 13), Some((0, 13)), Ok(13)),
            ((0, 4), Some((0, 3)), Ok(3)),
            ((1, 4), Some((0, 4)), Ok(4)),
            ((1, 4), Some((2, 9)), Ok(4)),
            ((0, 1), Some((0, 0)), Ok(0)),
            // No overlap: broker too new or too old.
            ((1, 4), Some((5, 6)), Err("no common version")),
            ((2, 4), Some((0, 1)), Err("no common version")),
            ((0, 2), None, Err("does not support")),
        ];
        for (client, broker, want) in cases {
            let got = negotiate("b:9092", "DescribeLogDirs", *client, *broker);
            match (want, got) {
                (Ok(v), Ok(g)) => assert_eq!(*v, g, "{client:?} {broker:?}"),
                (Err(s), Err(e)) => assert!(e.to_string().contains(s), "{e}"),
                (w, g) => panic!("{client:?} {broker:?}: want {w:?} got {g:?}"),
            }
        }
        let e = negotiate("b:9092", "DescribeLogDirs", (1, 4), Some((5, 6))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no common version for DescribeLogDirs: kafka-replan speaks v1-v4, broker b:9092 v5-v6"
        );
    }

    /// ApiVersions v4 request, derived by hand from the schema: header v2 (api_key 18,
    /// version 4, correlation id 7, client id "kafka-replan" as a non-compact string, empty
    /// tagged fields), then the flexible body (compact strings name + version, tagged fields).
    #[test]
    fn f_d1_api_versions_request_golden_bytes() {
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("kafka-replan"))
            .with_client_software_version(StrBytes::from_static_str("0.1.0"));
        let got = encode_request(&req, 4, 7, "kafka-replan").unwrap();
        let mut want: Vec<u8> = Vec::new();
        let mut body: Vec<u8> = Vec::new();
        body.extend_from_slice(&18i16.to_be_bytes());
        body.extend_from_slice(&4i16.to_be_bytes());
        body.extend_from_slice(&7i32.to_be_bytes());
        body.extend_from_slice(&12i16.to_be_bytes());
        body.extend_from_slice(b"kafka-replan");
        body.push(0); // header tagged fields
        body.push(13); // compact string length + 1
        body.extend_from_slice(b"kafka-replan");
        body.push(6);
        body.extend_from_slice(b"0.1.0");
        body.push(0); // body tagged fields
        want.extend_from_slice(&(body.len() as i32).to_be_bytes());
        want.extend_from_slice(&body);
        assert_eq!(got, want);
        // v0: header v1 and an empty body.
        let got0 = encode_request(&ApiVersionsRequest::default(), 0, 1, "x").unwrap();
        assert_eq!(got0, [0, 0, 0, 11, 0, 18, 0, 0, 0, 0, 0, 1, 0, 1, b'x']);
    }

    /// Metadata v12 for topic "foo", AllowAutoTopicCreation=false (§F D3), derived by hand.
    #[test]
    fn f_d3_metadata_request_golden_bytes() {
        let req = MetadataRequest::default()
            .with_topics(Some(vec![MetadataRequestTopic::default()
                .with_name(Some(TopicName(StrBytes::from_static_str("foo"))))]))
            .with_allow_auto_topic_creation(false);
        let got = encode_request(&req, 12, 0x01020304, "kr").unwrap();
        let mut body: Vec<u8> = vec![0, 3, 0, 12, 1, 2, 3, 4, 0, 2, b'k', b'r', 0];
        body.push(2); // compact array of 1 topic
        body.extend_from_slice(&[0u8; 16]); // topic id (zero uuid)
        body.push(4); // compact nullable string "foo"
        body.extend_from_slice(b"foo");
        body.push(0); // topic tagged fields
        body.push(0); // allow_auto_topic_creation = false
        body.push(0); // include_topic_authorized_operations
        body.push(0); // tagged fields
        let mut want = (body.len() as i32).to_be_bytes().to_vec();
        want.extend_from_slice(&body);
        assert_eq!(got, want);
        // Null topics (= all) at v4: int32 -1.
        let all = MetadataRequest::default()
            .with_topics(None)
            .with_allow_auto_topic_creation(false);
        let got = encode_request(&all, 4, 0, "").unwrap();
        assert_eq!(
            &got[4..],
            &[0, 3, 0, 4, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 0]
        );
    }

    #[test]
    fn response_header_and_lenient_decode() {
        // Response header v0 (cid 9) + SaslHandshake v1 body + one trailing byte.
        let mut frame: Vec<u8> = 9i32.to_be_bytes().to_vec();
        frame.extend_from_slice(&0i16.to_be_bytes());
        frame.extend_from_slice(&1i32.to_be_bytes());
        frame.extend_from_slice(&5i16.to_be_bytes());
        frame.extend_from_slice(b"PLAIN");
        frame.push(0); // trailing byte: ignored
        let r = decode_response::<SaslHandshakeRequest>(Bytes::from(frame.clone()), 1, 9).unwrap();
        assert_eq!(r.mechanisms.len(), 1);
        let e = decode_response::<SaslHandshakeRequest>(Bytes::from(frame), 1, 10).unwrap_err();
        assert!(e.contains("correlation id mismatch"), "{e}");
        // Truncated body is an error, not a panic.
        assert!(decode_response::<SaslHandshakeRequest>(
            Bytes::from_static(&[0, 0, 0, 9, 0]),
            1,
            9
        )
        .is_err());
    }

    #[test]
    fn frame_length_checked_before_the_body() {
        let limit = ResponseLimit {
            bytes: 1 << 20,
            configurable: true,
            setting_divisor: 1,
        };
        assert_eq!(
            check_frame_length(100i32.to_be_bytes(), limit, false),
            Ok(100)
        );
        assert_eq!(
            check_frame_length((1i32 << 20).to_be_bytes(), limit, false),
            Ok(1 << 20)
        );
        let e =
            check_frame_length((limit.bytes as i32 + 1).to_be_bytes(), limit, false).unwrap_err();
        assert!(
            e.starts_with("response frame of 1048577 bytes is over the limit of 1048576 bytes"),
            "{e}"
        );
        let e = check_frame_length((-5i32).to_be_bytes(), limit, false).unwrap_err();
        assert_eq!(e, "response frame length -5 is negative");
        // A TLS alert read as a length: named as TLS on a plaintext connection only.
        let alert = [0x15, 0x03, 0x03, 0x00];
        let e = check_frame_length(alert, limit, false).unwrap_err();
        assert!(e.contains("is this a TLS listener?"), "{e}");
        let e = check_frame_length(alert, limit, true).unwrap_err();
        assert!(e.contains("over the limit"), "{e}");
        // A limit of the API's own does not send the user to a setting that cannot help.
        let fixed = ResponseLimit {
            bytes: 1 << 20,
            configurable: false,
            setting_divisor: 1,
        };
        let e = check_frame_length((2i32 << 20).to_be_bytes(), fixed, false).unwrap_err();
        assert!(e.contains("for this API") && !e.contains("raise"), "{e}");
        // A share of the setting names the setting's value, not the share as the setting.
        let half = ResponseLimit {
            bytes: 1 << 20,
            configurable: true,
            setting_divisor: 2,
        };
        let e = check_frame_length((2i32 << 20).to_be_bytes(), half, false).unwrap_err();
        assert!(
            e.contains("over the limit of 1048576 bytes for this API")
                && e.contains("1/2 of kafka-replan.max.response.bytes = 2097152: raise it"),
            "{e}"
        );
    }

    #[test]
    fn response_limits_per_api() {
        let configured = 64 << 20;
        let small = SMALL_RESPONSE_BYTES;
        let fixed = |bytes| ResponseLimit {
            bytes,
            configurable: false,
            setting_divisor: 1,
        };
        let cfg = |bytes| ResponseLimit {
            bytes,
            configurable: true,
            setting_divisor: 1,
        };
        let half = |bytes| ResponseLimit {
            bytes,
            configurable: true,
            setting_divisor: 2,
        };
        for key in [
            ApiKey::ApiVersions,
            ApiKey::SaslAuthenticate,
            ApiKey::DescribeCluster,
            ApiKey::DescribeTopicPartitions,
        ] {
            assert_eq!(
                response_limit(key, configured, 1 << 20),
                fixed(small),
                "{key:?}"
            );
        }
        // Answers that list what was asked grow with the request.
        assert_eq!(
            response_limit(ApiKey::AlterPartitionReassignments, configured, 1000),
            fixed(small + 16_000)
        );
        assert_eq!(
            response_limit(ApiKey::ElectLeaders, configured, 10 << 20),
            cfg(configured)
        );
        assert_eq!(
            response_limit(ApiKey::ListOffsets, configured, 1000),
            fixed(small + 16_000)
        );
        for key in [ApiKey::ListPartitionReassignments, ApiKey::DescribeConfigs] {
            assert_eq!(
                response_limit(key, configured, 100),
                half(configured / 2),
                "{key:?}"
            );
        }
        for key in [
            ApiKey::Metadata,
            ApiKey::DescribeLogDirs,
            ApiKey::OffsetFetch,
            ApiKey::ListGroups,
        ] {
            assert_eq!(
                response_limit(key, configured, 100),
                cfg(configured),
                "{key:?}"
            );
        }
        // A configured limit below the API's own wins, and raising it would help.
        assert_eq!(
            response_limit(ApiKey::DescribeCluster, 1 << 16, 100),
            cfg(1 << 16)
        );
        // Metadata: small for the broker list alone, the configured limit for topics.
        let none = MetadataRequest::default().with_topics(Some(vec![]));
        assert_eq!(none.response_limit(configured, 30), fixed(small));
        let all = MetadataRequest::default().with_topics(None);
        assert_eq!(all.response_limit(configured, 30), cfg(configured));
        // ListPartitionReassignments: an echo for named partitions, the configured limit
        // for everything in flight.
        let named = ListPartitionReassignmentsRequest::default().with_topics(Some(vec![]));
        assert_eq!(named.response_limit(configured, 100), fixed(small + 1_600));
        let all = ListPartitionReassignmentsRequest::default().with_topics(None);
        assert_eq!(all.response_limit(configured, 100), half(configured / 2));
    }

    #[test]
    fn decode_errors_are_one_line_with_frame_size_and_version() {
        // ApiVersions v3 body: error code, then a compact array claiming 2^31 - 1 entries.
        let mut frame: Vec<u8> = 7i32.to_be_bytes().to_vec();
        frame.extend_from_slice(&[0, 0, 0x80, 0x80, 0x80, 0x80, 0x08, 1, 2, 3]);
        let e = decode_response::<ApiVersionsRequest>(Bytes::from(frame), 3, 7).unwrap_err();
        assert_eq!(
            e,
            "array of 2147483647 elements with 3 bytes left in a 14-byte frame (v3)"
        );
        // The crate's "not enough bytes" error ends with a line break: said plainly instead.
        let e = decode_response::<SaslHandshakeRequest>(Bytes::from_static(&[0, 0, 0, 9, 0]), 1, 9)
            .unwrap_err();
        assert_eq!(
            e,
            "a field runs past the end of the message (truncated or corrupt) in a 5-byte frame (v1)"
        );
    }

    #[test]
    fn host_port_parsing() {
        assert_eq!(parse_host_port("a:1").unwrap(), ("a".into(), 1));
        assert_eq!(parse_host_port("[::1]:9092").unwrap(), ("::1".into(), 9092));
        assert!(parse_host_port("a").is_err());
        assert!(parse_host_port("a:0").is_err());
        assert!(parse_host_port(":9").is_err());
        assert!(parse_host_port("a:99999").is_err());
    }

    fn cfg() -> ClientConfig {
        ClientConfig {
            request_timeout: Duration::from_millis(2000),
            ..ClientConfig::default()
        }
    }

    #[tokio::test]
    async fn f_d1_api_versions_first_and_correlation_ids() {
        let broker = FakeBroker::start(testbroker::State::default()).await;
        let mut conn = Connection::connect(&broker.addr(), &cfg(), None)
            .await
            .unwrap();
        let md = conn
            .send(&MetadataRequest::default().with_allow_auto_topic_creation(false))
            .await
            .unwrap();
        assert_eq!(md.brokers.len(), 1);
        let log = broker.log();
        assert_eq!(log[0].api_key, ApiKey::ApiVersions as i16);
        assert_eq!(log[0].api_version, 4);
        assert_eq!(log[1].api_key, ApiKey::Metadata as i16);
        assert_eq!(log[1].api_version, 12);
        assert_eq!(log[0].correlation_id + 1, log[1].correlation_id);
        assert_eq!(log[1].client_id.as_deref(), Some("kafka-replan"));
    }

    #[tokio::test]
    async fn f_d1_unsupported_version_retried_at_broker_max() {
        let state = testbroker::State {
            api_versions_max: 2,
            ..Default::default()
        };
        let broker = FakeBroker::start(state).await;
        let conn = Connection::connect(&broker.addr(), &cfg(), None)
            .await
            .unwrap();
        let log = broker.log();
        assert_eq!(log[0].api_version, 4);
        assert_eq!(log[1].api_key, ApiKey::ApiVersions as i16);
        assert_eq!(log[1].api_version, 2);
        assert!(conn.broker_range(ApiKey::Metadata).is_some());
    }

    #[tokio::test]
    async fn sasl_plain_and_scram_end_to_end() {
        for (mech, text) in [
            (SaslMechanism::Plain, "PLAIN"),
            (SaslMechanism::ScramSha256, "SCRAM-SHA-256"),
            (SaslMechanism::ScramSha512, "SCRAM-SHA-512"),
        ] {
            let broker = FakeBroker::start(testbroker::State {
                sasl: Some(("alice".into(), "alice-secret".into())),
                ..Default::default()
            })
            .await;
            let props = format!(
                "security.protocol=SASL_PLAINTEXT\nsasl.mechanism={text}\nsasl.jaas.config=x required username=\"alice\" password=\"alice-secret\";\nrequest.timeout.ms=2000\n"
            );
            let cfg = ClientConfig::from_properties_text(&props).unwrap();
            assert_eq!(cfg.sasl.as_ref().unwrap().mechanism, mech);
            let mut conn = Connection::connect(&broker.addr(), &cfg, None)
                .await
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            conn.send(&MetadataRequest::default().with_allow_auto_topic_creation(false))
                .await
                .unwrap();
            let keys: Vec<i16> = broker.log().iter().map(|r| r.api_key).collect();
            assert_eq!(&keys[..3], &[18, 17, 36], "{text}");
        }
    }

    #[tokio::test]
    async fn sasl_wrong_password_is_a_clear_error() {
        for text in ["PLAIN", "SCRAM-SHA-512"] {
            let broker = FakeBroker::start(testbroker::State {
                sasl: Some(("alice".into(), "right".into())),
                ..Default::default()
            })
            .await;
            let props = format!(
                "security.protocol=SASL_PLAINTEXT\nsasl.mechanism={text}\nsasl.jaas.config=x required username=\"alice\" password=\"wrong-pw\";\n"
            );
            let cfg = ClientConfig::from_properties_text(&props).unwrap();
            let e = Connection::connect(&broker.addr(), &cfg, None)
                .await
                .unwrap_err();
            let msg = e.to_string();
            assert!(matches!(e, Error::SaslAuthentication { .. }), "{msg}");
            assert!(msg.contains("Authentication failed"), "{msg}");
            assert!(!msg.contains("wrong-pw"), "{msg}");
        }
    }

    #[tokio::test]
    async fn wrong_security_protocol_hints() {
        // A plaintext client on a SASL listener is dropped after ApiVersions.
        let sasl_broker = FakeBroker::start(testbroker::State {
            sasl: Some(("u".into(), "p".into())),
            ..Default::default()
        })
        .await;
        let mut conn = Connection::connect(&sasl_broker.addr(), &cfg(), None)
            .await
            .unwrap();
        let e = conn
            .send(&MetadataRequest::default().with_allow_auto_topic_creation(false))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("may require SASL"), "{e}");
        // A SASL client on a plaintext listener gets ILLEGAL_SASL_STATE to its handshake.
        let plain = FakeBroker::start(testbroker::State::default()).await;
        let props = "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=x required username=\"u\" password=\"p\";\n";
        let sasl_cfg = ClientConfig::from_properties_text(props).unwrap();
        let e = Connection::connect(&plain.addr(), &sasl_cfg, None)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("does not expect SASL"), "{e}");
    }

    #[tokio::test]
    async fn timeout_when_broker_never_answers() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let hold = tokio::spawn(async move {
            // Accept and hold the socket open without answering.
            let (sock, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(sock);
        });
        let cfg = ClientConfig {
            request_timeout: Duration::from_millis(200),
            ..ClientConfig::default()
        };
        let start = Instant::now();
        let e = Connection::connect(&addr, &cfg, None).await.unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(2));
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        assert!(e.to_string().contains("timed out after 200 ms"), "{e}");
        hold.abort();
    }

    #[tokio::test]
    async fn refused_connection_is_one_line() {
        // Bind then drop to get a port nobody listens on.
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        };
        let e = Connection::connect(&addr, &cfg(), None).await.unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("cannot connect to {addr}: ")),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
    }

    #[tokio::test]
    async fn broker_closing_connection_hints_protocol() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let t = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            drop(sock);
        });
        let e = Connection::connect(&addr, &cfg(), None).await.unwrap_err();
        assert!(e.to_string().contains("security.protocol"), "{e}");
        t.await.unwrap();
    }
}
