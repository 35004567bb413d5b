//! A scripted fake broker on 127.0.0.1 for hostile-peer tests. Each request is handed to a
//! script that answers with a well-formed reply, raw bytes of any shape (huge counts, a
//! truncated frame, a wrong correlation id), a slow trickle, silence or a close. Plain TCP
//! or TLS. Also: running the real binary with its peak RSS measured by `wait4`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, DescribeClusterResponse, DescribeLogDirsResponse,
    ListPartitionReassignmentsResponse, MetadataResponse, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{
    decode_request_header_from_buffer, Encodable, HeaderVersion, StrBytes,
};

/// One request as the broker read it.
#[derive(Debug, Clone)]
pub struct Request {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
    pub body: Bytes,
}

/// What the broker does with a request.
pub enum Reply {
    /// These bytes, length prefix included, as they are.
    Raw(Vec<u8>),
    /// These bytes, then close the connection.
    RawThenClose(Vec<u8>),
    /// These bytes one at a time with a pause between them, then silence.
    Trickle(Vec<u8>, Duration),
    /// Keep the connection open and never answer.
    Silence,
    /// Close the connection.
    Close,
}

/// The script: request and the broker's own `host:port` to a reply.
pub type Script = Arc<dyn Fn(&Request, &str) -> Reply + Send + Sync>;

pub struct ScriptedBroker {
    addr: String,
    log: Arc<Mutex<Vec<Request>>>,
}

impl ScriptedBroker {
    /// A plaintext broker running `script` on every connection.
    pub fn start(script: Script) -> ScriptedBroker {
        ScriptedBroker::start_with(script, None)
    }

    /// A broker behind TLS with this server config.
    pub fn start_tls(script: Script, tls: Arc<rustls::ServerConfig>) -> ScriptedBroker {
        ScriptedBroker::start_with(script, Some(tls))
    }

    fn start_with(script: Script, tls: Option<Arc<rustls::ServerConfig>>) -> ScriptedBroker {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (log2, addr2) = (log.clone(), addr.clone());
        thread::spawn(move || {
            for sock in listener.incoming() {
                let Ok(sock) = sock else { return };
                let (script, log, addr, tls) =
                    (script.clone(), log2.clone(), addr2.clone(), tls.clone());
                thread::spawn(move || match tls {
                    None => serve(sock, &script, &log, &addr),
                    Some(cfg) => {
                        let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                            return;
                        };
                        serve(rustls::StreamOwned::new(conn, sock), &script, &log, &addr)
                    }
                });
            }
        });
        ScriptedBroker { addr, log }
    }

    pub fn addr(&self) -> String {
        self.addr.clone()
    }

    /// Every request read so far, in order.
    pub fn log(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    /// The API keys of the requests read so far.
    pub fn keys(&self) -> Vec<i16> {
        self.log().iter().map(|r| r.api_key).collect()
    }
}

fn serve<S: Read + Write>(mut sock: S, script: &Script, log: &Mutex<Vec<Request>>, addr: &str) {
    loop {
        let mut len = [0u8; 4];
        if sock.read_exact(&mut len).is_err() {
            return;
        }
        let len = i32::from_be_bytes(len);
        // A request this broker cannot read (e.g. a TLS ClientHello on plaintext): close, as
        // Kafka does.
        if !(8..=1 << 20).contains(&len) {
            return;
        }
        let mut buf = vec![0u8; len as usize];
        if sock.read_exact(&mut buf).is_err() {
            return;
        }
        let mut bytes = Bytes::from(buf);
        let Ok(header) = decode_request_header_from_buffer(&mut bytes) else {
            return;
        };
        let req = Request {
            api_key: header.request_api_key,
            api_version: header.request_api_version,
            correlation_id: header.correlation_id,
            body: bytes,
        };
        log.lock().unwrap().push(req.clone());
        match script(&req, addr) {
            Reply::Raw(out) => {
                if sock.write_all(&out).and_then(|_| sock.flush()).is_err() {
                    return;
                }
            }
            Reply::RawThenClose(out) => {
                let _ = sock.write_all(&out).and_then(|_| sock.flush());
                return;
            }
            Reply::Trickle(out, pause) => {
                for b in out {
                    if sock.write_all(&[b]).and_then(|_| sock.flush()).is_err() {
                        return;
                    }
                    thread::sleep(pause);
                }
                loop {
                    thread::sleep(Duration::from_secs(1));
                    if sock.write(&[]).is_err() {
                        return;
                    }
                }
            }
            Reply::Silence => {
                // Hold the socket until the client gives up and closes it.
                let mut sink = [0u8; 1024];
                while matches!(sock.read(&mut sink), Ok(n) if n > 0) {}
                return;
            }
            Reply::Close => return,
        }
    }
}

/// A response frame: length, header at the version the API uses, body.
pub fn frame<T: Encodable + HeaderVersion>(cid: i32, version: i16, resp: &T) -> Vec<u8> {
    let mut buf = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(cid)
        .encode(&mut buf, T::header_version(version))
        .unwrap();
    resp.encode(&mut buf, version).unwrap();
    with_length(&buf)
}

/// `bytes` behind a length prefix that states their length.
pub fn with_length(bytes: &[u8]) -> Vec<u8> {
    let mut out = (bytes.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

/// Kafka's unsigned varint.
pub fn uvarint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// What a Kafka 4.1 broker offers for the APIs kafka-replan uses (trimmed to what
/// kafka-protocol 0.18 encodes).
pub fn version_table() -> Vec<ApiVersion> {
    [
        (ApiKey::Metadata, 0, 12),
        (ApiKey::ApiVersions, 0, 4),
        (ApiKey::SaslHandshake, 0, 1),
        (ApiKey::SaslAuthenticate, 0, 2),
        (ApiKey::DescribeCluster, 0, 1),
        (ApiKey::DescribeLogDirs, 1, 4),
        (ApiKey::ListPartitionReassignments, 0, 0),
        (ApiKey::AlterPartitionReassignments, 0, 1),
        (ApiKey::DescribeConfigs, 1, 4),
        (ApiKey::IncrementalAlterConfigs, 0, 1),
        (ApiKey::ElectLeaders, 0, 2),
    ]
    .into_iter()
    .map(|(k, lo, hi)| {
        ApiVersion::default()
            .with_api_key(k as i16)
            .with_min_version(lo)
            .with_max_version(hi)
    })
    .collect()
}

/// A one-broker cluster (id 1 at `addr`, rack r1) with topic `t`, one partition on broker 1.
pub fn metadata(addr: &str) -> MetadataResponse {
    let (host, port) = addr.rsplit_once(':').unwrap();
    MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(BrokerId(1))
            .with_host(StrBytes::from_string(host.to_string()))
            .with_port(port.parse().unwrap())
            .with_rack(Some(StrBytes::from_static_str("r1")))])
        .with_controller_id(BrokerId(1))
        .with_cluster_id(Some(StrBytes::from_static_str("hostile-test")))
        .with_topics(vec![MetadataResponseTopic::default()
            .with_name(Some(TopicName(StrBytes::from_static_str("t"))))
            .with_partitions(vec![MetadataResponsePartition::default()
                .with_partition_index(0)
                .with_leader_id(BrokerId(1))
                .with_replica_nodes(vec![BrokerId(1)])
                .with_isr_nodes(vec![BrokerId(1)])])])
}

/// The answer a healthy broker gives to the requests a snapshot makes.
pub fn normal_reply(req: &Request, addr: &str) -> Reply {
    let (cid, v) = (req.correlation_id, req.api_version);
    let key = ApiKey::try_from(req.api_key).ok();
    let out = match key {
        Some(ApiKey::ApiVersions) => frame(
            cid,
            v,
            &ApiVersionsResponse::default().with_api_keys(version_table()),
        ),
        Some(ApiKey::Metadata) => frame(cid, v, &metadata(addr)),
        Some(ApiKey::DescribeCluster) => {
            let md = metadata(addr);
            let resp = DescribeClusterResponse::default()
                .with_cluster_id(StrBytes::from_static_str("hostile-test"))
                .with_controller_id(BrokerId(1))
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
            frame(cid, v, &resp)
        }
        Some(ApiKey::ListPartitionReassignments) => {
            frame(cid, v, &ListPartitionReassignmentsResponse::default())
        }
        Some(ApiKey::DescribeLogDirs) => frame(cid, v, &DescribeLogDirsResponse::default()),
        _ => return Reply::Close,
    };
    Reply::Raw(out)
}

/// Output of the binary, with its peak resident set size.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Peak RSS of the binary alone, when GNU time is there to measure it.
    pub max_rss_kib: Option<i64>,
}

const GNU_TIME: &str = "/usr/bin/time";

/// Runs `kafka-replan args...` in `dir`. Peak RSS comes from GNU time (`%M`): the kernel
/// carries a process's RSS high-water mark across fork and exec, so `wait4` on a child of
/// the (large, multi-threaded) test process reports the test process's own peak, while
/// GNU time's child is forked from a small process.
pub fn run_measured(dir: &Path, args: &[&str]) -> Run {
    let out_path = dir.join("stdout.txt");
    let err_path = dir.join("stderr.txt");
    let rss_path = dir.join("rss.txt");
    let bin = env!("CARGO_BIN_EXE_kafka-replan");
    let measured = Path::new(GNU_TIME).exists();
    let mut cmd = if measured {
        let mut c = std::process::Command::new(GNU_TIME);
        c.arg("-f").arg("%M").arg("-o").arg(&rss_path).arg(bin);
        c
    } else {
        std::process::Command::new(bin)
    };
    let status = cmd
        .args(args)
        .current_dir(dir)
        // A backtrace captured with an error (anyhow does when these are set) reads the debug
        // info into memory: tens of MiB that have nothing to do with the peer.
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .status()
        .expect("run kafka-replan");
    let rss = std::fs::read_to_string(&rss_path).unwrap_or_default();
    let _ = std::fs::remove_file(&rss_path);
    // GNU time writes "Command exited with non-zero status N" or "Command terminated by
    // signal N" before the figure; a signal means the binary did not exit on its own.
    let max_rss_kib = rss
        .lines()
        .last()
        .and_then(|l| l.trim().parse::<i64>().ok());
    let code = if rss.contains("terminated by signal") {
        None
    } else {
        status.code()
    };
    Run {
        code,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        max_rss_kib,
    }
}
