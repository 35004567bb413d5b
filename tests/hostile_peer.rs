//! The real binary against a peer that is not a healthy Kafka broker: every failure shape
//! (huge counts, truncated frames, a wrong correlation id, unknown error codes, a TLS
//! listener on a PLAINTEXT config and the reverse, a peer that never answers, a frame over
//! the limit, a peer trickling a large frame) ends with exit 1, one `error:` line naming
//! the peer and the API, no output file, and a peak RSS close to a normal run's.

mod support;

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, DescribeLogDirsResponse, ListPartitionReassignmentsResponse,
    MetadataResponse,
};
use support::hostile::{
    frame, metadata, normal_reply, run_measured, uvarint, version_table, with_length, Reply,
    Request, Run, Script, ScriptedBroker,
};

/// Timeouts short enough for the suite, long enough for a loaded 2-core machine.
const CONFIG: &str = "request.timeout.ms=1500\ndefault.api.timeout.ms=3000\n";

/// Runs `snapshot` against `addr` with `extra` appended to the client properties.
fn snapshot(dir: &Path, addr: &str, extra: &str) -> Run {
    std::fs::write(dir.join("client.properties"), format!("{CONFIG}{extra}")).unwrap();
    run_measured(
        dir,
        &[
            "snapshot",
            "--bootstrap-server",
            addr,
            "--command-config",
            "client.properties",
            "--output",
            "x.json",
        ],
    )
}

/// Peak RSS of a normal snapshot run against a healthy fake broker (KiB), measured once.
fn normal_rss_kib() -> Option<i64> {
    static RSS: OnceLock<Option<i64>> = OnceLock::new();
    *RSS.get_or_init(|| {
        let broker = ScriptedBroker::start(Arc::new(normal_reply));
        let dir = tempfile::tempdir().unwrap();
        let run = snapshot(dir.path(), &broker.addr(), "");
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        run.max_rss_kib
    })
}

/// How far above a normal run the peak RSS may go under a hostile peer. The target
/// is 100 MB; the bounded decoder and the incremental frame reader keep it far lower.
const RSS_HEADROOM_KIB: i64 = 16 * 1024;

const GNU_TIME_MISSING: &str = "note: /usr/bin/time (GNU time) not found: peak RSS not measured";

/// The run failed the way the issue asks: exit 1, one line, peer and API named, nothing
/// written, memory close to a normal run.
fn assert_refused(dir: &Path, run: &Run, addr: &str, api: &str, what: &str) {
    assert_eq!(run.code, Some(1), "exit code; stderr: {}", run.stderr);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.starts_with("warning:"))
        .collect();
    assert_eq!(lines.len(), 1, "one error line: {:?}", run.stderr);
    let line = lines[0];
    assert!(line.starts_with("error: "), "{line}");
    assert!(line.contains(addr), "names the peer: {line}");
    assert!(line.contains(api), "names the API: {line}");
    assert!(line.contains(what), "says what was wrong ({what}): {line}");
    assert!(!line.contains("panicked"), "{line}");
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            !matches!(
                n.as_str(),
                "stdout.txt" | "stderr.txt" | "client.properties"
            )
        })
        .filter(|n| !n.ends_with(".pem"))
        .collect();
    assert!(left.is_empty(), "files written: {left:?}");
    match (run.max_rss_kib, normal_rss_kib()) {
        (Some(rss), Some(normal)) => {
            assert!(
                rss < normal + RSS_HEADROOM_KIB,
                "peak RSS {rss} KiB vs {normal} KiB for a normal run"
            );
            eprintln!("{what}: peak RSS {rss} KiB (normal run {normal} KiB)");
        }
        _ => eprintln!("{GNU_TIME_MISSING}"),
    }
}

/// A broker that answers normally except where `hostile` returns a reply.
fn broker(
    hostile: impl Fn(&Request, &str) -> Option<Reply> + Send + Sync + 'static,
) -> ScriptedBroker {
    let script: Script = Arc::new(move |req: &Request, addr: &str| {
        hostile(req, addr).unwrap_or_else(|| normal_reply(req, addr))
    });
    ScriptedBroker::start(script)
}

fn is(req: &Request, key: ApiKey) -> bool {
    req.api_key == key as i16
}

#[test]
fn healthy_fake_broker_writes_the_snapshot() {
    // The control: the same broker without a hostile reply gives a snapshot.
    let b = ScriptedBroker::start(Arc::new(normal_reply));
    let dir = tempfile::tempdir().unwrap();
    let run = snapshot(dir.path(), &b.addr(), "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let text = std::fs::read_to_string(dir.path().join("x.json")).unwrap();
    assert!(text.contains("\"t\""), "{text}");
}

/// The reproduction: a 30-byte ApiVersions answer whose `api_keys` array claims
/// 2,147,483,631 entries (it aborted with "memory allocation of 68719476192 bytes failed").
#[test]
fn huge_array_count_in_api_versions() {
    let b = broker(|req, _| {
        is(req, ApiKey::ApiVersions).then(|| {
            let mut f = req.correlation_id.to_be_bytes().to_vec();
            f.extend_from_slice(&0i16.to_be_bytes());
            f.extend_from_slice(&uvarint(2_147_483_631 + 1));
            for key in [3i16, 18] {
                f.extend_from_slice(&key.to_be_bytes());
                f.extend_from_slice(&0i16.to_be_bytes());
                f.extend_from_slice(&4i16.to_be_bytes());
                f.push(0);
            }
            f.extend_from_slice(&0i32.to_be_bytes());
            f.push(0);
            assert_eq!(f.len(), 30);
            Reply::Raw(with_length(&f))
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let run = snapshot(dir.path(), &b.addr(), "");
    assert_refused(
        dir.path(),
        &run,
        &b.addr(),
        "ApiVersions response",
        "array of 2147483631 elements with 19 bytes left in a 30-byte frame (v4)",
    );
}

/// A valid Metadata v12 answer whose last array (topics) claims 2^31 - 1 entries.
#[test]
fn huge_array_count_in_metadata() {
    let b = broker(|req, addr| {
        is(req, ApiKey::Metadata).then(|| {
            let resp = metadata(addr).with_topics(vec![]);
            let mut f = frame(req.correlation_id, req.api_version, &resp);
            // Frame ends with the topics count (1 = empty compact array) and tagged fields.
            let n = f.len();
            assert_eq!(&f[n - 2..], &[1, 0], "v{}", req.api_version);
            f.truncate(n - 2);
            f.extend_from_slice(&uvarint(i32::MAX as u64 + 1));
            f.push(0);
            Reply::Raw(with_length(&f[4..]))
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let run = snapshot(dir.path(), &b.addr(), "");
    assert_refused(
        dir.path(),
        &run,
        &b.addr(),
        "Metadata response",
        "array of 2147483647 elements with 1 bytes left",
    );
}

/// A string length larger than the frame (a compact string of 4 GiB).
#[test]
fn huge_string_length_in_metadata() {
    let b = broker(|req, addr| {
        is(req, ApiKey::Metadata).then(|| {
            let resp = MetadataResponse::default().with_cluster_id(None);
            let mut f = frame(req.correlation_id, req.api_version, &resp);
            let _ = addr;
            // Header v1 (cid + tagged), throttle, brokers (empty), then the cluster id.
            assert_eq!(f[4 + 5 + 4], 1, "empty brokers");
            assert_eq!(f[4 + 5 + 4 + 1], 0, "null cluster id");
            f.truncate(4 + 5 + 4 + 1);
            f.extend_from_slice(&uvarint(u32::MAX as u64));
            f.extend_from_slice(b"abc");
            Reply::Raw(with_length(&f[4..]))
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let run = snapshot(dir.path(), &b.addr(), "");
    assert_refused(
        dir.path(),
        &run,
        &b.addr(),
        "Metadata response",
        "a field runs past the end of the message (truncated or corrupt) in a 18-byte frame (v12)",
    );
}

#[test]
fn truncated_frame_then_close() {
    // The length says 100 bytes, 10 arrive, the peer closes.
    let b = broker(|req, _| {
        is(req, ApiKey::ApiVersions).then(|| {
            let mut f = 100i32.to_be_bytes().to_vec();
            f.extend_from_slice(&req.correlation_id.to_be_bytes());
            f.extend_from_slice(&[0u8; 6]);
            Reply::RawThenClose(f)
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let run = snapshot(dir.path(), &b.addr(), "");
    assert_refused(
        dir.path(),
        &run,
        &b.addr(),
        "ApiVersions",
        "closed by the broker in the middle of a response (10 of 100 bytes received)",
    );
}

#[test]
fn truncated_message_in_a_complete_frame() {
    // A whole frame whose ApiVersions message stops in the middle of its first entry.
    let b = broker(|req, _| {
        is(req, ApiKey::ApiVersions).then(|| {
            let full = frame(
                req.correlation_id,
                req.api_version,
                &ApiVersionsResponse::default().with_api_keys(version_table()),
            );
            // Header, error code, a count of 11 entries, then 20 of their 77 bytes.
            Reply::Raw(with_length(&full[4..4 + 4 + 2 + 1 + 20]))
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let run = snapshot(dir.path(), &b.addr(), "");
    assert_refused(
        dir.path(),
        &run,
        &b.addr(),
        "ApiVersions response",
        "a field runs past the end of the message (truncated or corrupt) in a 27-byte frame (v4)",
    );
}

#[test]
fn wrong_correlation_id() {
    let b = broker(|req, addr| {
        is(req, ApiKey::Metadata).then(|| {
            Reply::Raw(frame(
                req.correlation_id + 1000,
                req.api_version,
                &metadata(addr),
            ))
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let run = snapshot(dir.path(), &b.addr(), "");
    assert_refused(
        dir.path(),
        &run,
        &b.addr(),
        "Metadata response",
        "correlation id mismatch",
    );
}

#[test]
fn unknown_error_code() {
    let b = broker(|req, _| {
        is(req, ApiKey::ApiVersions).then(|| {
            Reply::Raw(frame(
                req.correlation_id,
                req.api_version,
                &ApiVersionsResponse::default()
                    .with_error_code(9999)
                    .with_api_keys(version_table()),
            ))
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let run = snapshot(dir.path(), &b.addr(), "");
    assert_refused(
        dir.path(),
        &run,
        &b.addr(),
        "ApiVersions failed",
        "UNKNOWN_ERROR_CODE_9999 (9999)",
    );
}

#[test]
fn admin_error_code_names_the_broker() {
    // A valid reply carrying an error code: the one line says which broker (address and
    // id) answered it, so the operator knows whose log to read.
    let b = broker(|req, _| {
        is(req, ApiKey::ListPartitionReassignments).then(|| {
            Reply::Raw(frame(
                req.correlation_id,
                req.api_version,
                &ListPartitionReassignmentsResponse::default().with_error_code(-1),
            ))
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let run = snapshot(dir.path(), &b.addr(), "");
    assert_refused(
        dir.path(),
        &run,
        &format!("{} (broker 1)", b.addr()),
        "ListPartitionReassignments to",
        "failed: UNKNOWN_SERVER_ERROR (-1)",
    );
}

#[test]
fn log_dirs_error_code_warning_names_the_broker() {
    // A broker that cannot describe its log dirs does not stop the snapshot (its sizes are
    // unknown), and the warning names the broker that answered.
    let b = broker(|req, _| {
        is(req, ApiKey::DescribeLogDirs).then(|| {
            Reply::Raw(frame(
                req.correlation_id,
                req.api_version,
                &DescribeLogDirsResponse::default().with_error_code(-1),
            ))
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let run = snapshot(dir.path(), &b.addr(), "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let want = format!(
        "DescribeLogDirs to {} (broker 1) failed: UNKNOWN_SERVER_ERROR (-1)",
        b.addr()
    );
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("warning: broker 1:") && l.contains(&want)),
        "{}",
        run.stderr
    );
}

#[test]
fn peer_that_never_answers() {
    let b = broker(|req, _| is(req, ApiKey::ApiVersions).then_some(Reply::Silence));
    let dir = tempfile::tempdir().unwrap();
    let start = std::time::Instant::now();
    let run = snapshot(dir.path(), &b.addr(), "");
    assert_refused(
        dir.path(),
        &run,
        &b.addr(),
        "ApiVersions to",
        "timed out after 1500 ms",
    );
    // Bounded by default.api.timeout.ms (3 s) plus one request timeout, not hanging.
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn frame_header_over_the_limit_is_refused_unread() {
    // 2 GiB announced on the one answer of a snapshot that grows with the cluster (Metadata
    // of all topics, under the configured limit): refused at the length prefix, nothing
    // allocated for it. (Answers small by nature have a lower limit of their own: below.)
    let b = broker(|req, _| {
        is(req, ApiKey::Metadata).then(|| Reply::Raw(i32::MAX.to_be_bytes().to_vec()))
    });
    let dir = tempfile::tempdir().unwrap();
    let run = snapshot(dir.path(), &b.addr(), "");
    assert_refused(
        dir.path(),
        &run,
        &b.addr(),
        "Metadata response",
        "response frame of 2147483647 bytes is over the limit of 8388608 bytes (raise kafka-replan.max.response.bytes",
    );
}

#[test]
fn frame_limit_is_configurable() {
    // A valid 1 MiB-ish Metadata answer under a 64 KiB limit is refused; the default takes it.
    let big = |req: &Request, addr: &str| {
        is(req, ApiKey::Metadata).then(|| {
            let mut md = metadata(addr);
            let t = md.topics[0].clone();
            md.topics = (0..20_000)
                .map(|i| {
                    let mut t = t.clone();
                    t.name = Some(kafka_protocol::messages::TopicName(
                        kafka_protocol::protocol::StrBytes::from_string(format!("topic-{i:06}")),
                    ));
                    t
                })
                .collect();
            Reply::Raw(frame(req.correlation_id, req.api_version, &md))
        })
    };
    let b = broker(big);
    let dir = tempfile::tempdir().unwrap();
    let run = snapshot(
        dir.path(),
        &b.addr(),
        "kafka-replan.max.response.bytes=65536\n",
    );
    assert_refused(
        dir.path(),
        &run,
        &b.addr(),
        "Metadata response",
        "is over the limit of 65536 bytes",
    );
    let ok_dir = tempfile::tempdir().unwrap();
    let run = snapshot(ok_dir.path(), &b.addr(), "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

#[test]
fn slow_peer_is_bounded_by_the_request_timeout() {
    // 6 MiB announced (under the default limit of Metadata of all topics), then one byte every
    // 100 ms: the request timeout ends it, and memory grows only with what arrived.
    let b = broker(|req, _| {
        is(req, ApiKey::Metadata).then(|| {
            let mut f = (6i32 << 20).to_be_bytes().to_vec();
            f.extend_from_slice(&req.correlation_id.to_be_bytes());
            f.extend_from_slice(&[0u8; 60]);
            Reply::Trickle(f, Duration::from_millis(100))
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let run = snapshot(dir.path(), &b.addr(), "");
    assert_refused(
        dir.path(),
        &run,
        &b.addr(),
        "Metadata to",
        "timed out after 1500 ms",
    );
}

/// A CA and a `localhost` server certificate, the CA written to `dir/ca.pem`.
fn tls_server(dir: &Path) -> Arc<rustls::ServerConfig> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    Arc::new(cfg)
}

#[test]
fn tls_listener_on_a_plaintext_config() {
    let dir = tempfile::tempdir().unwrap();
    let b = ScriptedBroker::start_tls(Arc::new(normal_reply), tls_server(dir.path()));
    let run = snapshot(dir.path(), &b.addr(), "");
    assert_refused(
        dir.path(),
        &run,
        &b.addr(),
        "ApiVersions",
        "check security.protocol",
    );
}

#[test]
fn plaintext_listener_on_a_tls_config() {
    let dir = tempfile::tempdir().unwrap();
    tls_server(dir.path());
    let b = ScriptedBroker::start(Arc::new(normal_reply));
    let addr = b.addr().replace("127.0.0.1", "localhost");
    let run = snapshot(
        dir.path(),
        &addr,
        "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=ca.pem\n",
    );
    assert_refused(
        dir.path(),
        &run,
        &addr,
        "TLS handshake",
        "does this listener speak TLS? check security.protocol",
    );
    assert!(
        b.keys().is_empty(),
        "no Kafka request was readable: {:?}",
        b.keys()
    );
}

#[test]
fn healthy_tls_listener_works() {
    // The control for the two TLS shapes: the same certificates, matching config.
    let dir = tempfile::tempdir().unwrap();
    let b = ScriptedBroker::start_tls(Arc::new(normal_reply), tls_server(dir.path()));
    let run = snapshot(
        dir.path(),
        &b.addr(),
        "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=ca.pem\n",
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

/// A Metadata v12 frame of `frame_bytes` or a little less: one topic whose partitions
/// (valid, one replica each) fill it, with the last byte cut so that decoding fails only
/// after every element was decoded: the most a peer can make the client hold under the
/// frame limit.
fn metadata_filled_to(req: &Request, addr: &str, frame_bytes: usize) -> Vec<u8> {
    use kafka_protocol::messages::metadata_response::{
        MetadataResponsePartition, MetadataResponseTopic,
    };
    use kafka_protocol::messages::{BrokerId, TopicName};
    use kafka_protocol::protocol::StrBytes;
    let with = |n: usize| {
        let p = MetadataResponsePartition::default()
            .with_partition_index(7)
            .with_leader_id(BrokerId(1))
            .with_replica_nodes(vec![BrokerId(1)])
            .with_isr_nodes(vec![BrokerId(1)]);
        let resp = metadata(addr).with_topics(vec![MetadataResponseTopic::default()
            .with_name(Some(TopicName(StrBytes::from_static_str("t"))))
            .with_partitions(vec![p; n])]);
        frame(req.correlation_id, req.api_version, &resp)[4..].to_vec()
    };
    filled_to(with, frame_bytes)
}

/// A DescribeCluster v1 frame of `frame_bytes` or a little less, filled with valid broker
/// entries and cut by its last byte like [`metadata_filled_to`].
fn describe_cluster_filled_to(req: &Request, frame_bytes: usize) -> Vec<u8> {
    use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
    use kafka_protocol::messages::{BrokerId, DescribeClusterResponse};
    use kafka_protocol::protocol::StrBytes;
    let with = |n: usize| {
        let b = DescribeClusterBroker::default()
            .with_broker_id(BrokerId(1))
            .with_host(StrBytes::from_static_str("broker-1.example.com"))
            .with_port(9092)
            .with_rack(Some(StrBytes::from_static_str("r1")));
        let resp = DescribeClusterResponse::default()
            .with_cluster_id(StrBytes::from_static_str("hostile-test"))
            .with_brokers(vec![b; n]);
        frame(req.correlation_id, req.api_version, &resp)[4..].to_vec()
    };
    filled_to(with, frame_bytes)
}

/// A frame (length prefix included) of about `frame_bytes` whose one compact array repeats
/// the element of `with(1)`: `with(n)` is the frame body with n elements, and the array's
/// one-byte count is the first byte where `with(1)` and `with(2)` differ.
fn filled_to(with: impl Fn(usize) -> Vec<u8>, frame_bytes: usize) -> Vec<u8> {
    let (one, two) = (with(1), with(2));
    let at = one.iter().zip(&two).position(|(a, b)| a != b).unwrap();
    let elem = &one[at + 1..at + 1 + (two.len() - one.len())];
    let n = frame_bytes / elem.len();
    let mut f = one[..at].to_vec();
    f.extend_from_slice(&uvarint(n as u64 + 1));
    for _ in 0..n {
        f.extend_from_slice(elem);
    }
    f.extend_from_slice(&one[at + 1 + elem.len()..]);
    f.pop();
    with_length(&f)
}

/// Decoded partitions take about 8 times their wire size (structs, vectors, their growth),
/// so a peer that fills the frame limit with valid elements makes the client hold that
/// multiple of the limit before the last byte turns the frame into an error. The bound is
/// linear in the limit, never in a count the peer claims; with the default limit (8 MiB) it
/// stays under the 100 MB (docs/reliability.md has the measured curve).
const DECODED_BYTES_PER_WIRE_BYTE: i64 = 12;

#[test]
fn frame_filled_to_the_limit_costs_a_bounded_multiple_of_it() {
    let limit: usize = 8 << 20;
    let big: Arc<OnceLock<Vec<u8>>> = Arc::new(OnceLock::new());
    let b = broker(move |req, addr| {
        is(req, ApiKey::Metadata).then(|| {
            // Just under the limit: the length prefix is accepted and the body read.
            let f = big.get_or_init(|| metadata_filled_to(req, addr, limit - 1024));
            Reply::Raw(f.clone())
        })
    });
    let dir = tempfile::tempdir().unwrap();
    // Default settings: 8 MiB is the default limit of the answers that grow with the cluster.
    let run = snapshot(dir.path(), &b.addr(), "");
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let line = run.stderr.trim();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.contains(&format!("Metadata response from {}", b.addr()))
            && line.contains("a field runs past the end of the message"),
        "{line}"
    );
    assert!(!dir.path().join("x.json").exists());
    match (run.max_rss_kib, normal_rss_kib()) {
        (Some(rss), Some(normal)) => {
            let bound = normal + DECODED_BYTES_PER_WIRE_BYTE * (limit as i64 / 1024);
            assert!(rss < bound, "peak RSS {rss} KiB, bound {bound} KiB");
            assert!(
                rss < normal + 100 * 1024,
                "over the issue's 100 MB: {rss} KiB"
            );
            eprintln!("frame of {limit} bytes: peak RSS {rss} KiB (normal run {normal} KiB)");
        }
        _ => eprintln!("{GNU_TIME_MISSING}"),
    }
}

/// The answers small by nature (here DescribeCluster, the first call of a snapshot) have a
/// limit of their own, 4 MiB, under the default 8 MiB one: a peer that fills it with valid
/// entries at default settings costs a few tens of MB, far under the 100 MB.
#[test]
fn small_answer_filled_to_its_own_limit_at_default_settings() {
    let limit: usize = 4 << 20;
    let big: Arc<OnceLock<Vec<u8>>> = Arc::new(OnceLock::new());
    let b = broker(move |req, _| {
        is(req, ApiKey::DescribeCluster).then(|| {
            let f = big.get_or_init(|| describe_cluster_filled_to(req, limit - 1024));
            Reply::Raw(f.clone())
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let run = snapshot(dir.path(), &b.addr(), "");
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let line = run.stderr.trim();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.contains(&format!("DescribeCluster response from {}", b.addr()))
            && line.contains("a field runs past the end of the message"),
        "{line}"
    );
    assert!(!dir.path().join("x.json").exists());
    match (run.max_rss_kib, normal_rss_kib()) {
        (Some(rss), Some(normal)) => {
            let bound = normal + DECODED_BYTES_PER_WIRE_BYTE * (limit as i64 / 1024);
            assert!(rss < bound, "peak RSS {rss} KiB, bound {bound} KiB");
            eprintln!("DescribeCluster frame of {limit} bytes: peak RSS {rss} KiB (normal run {normal} KiB)");
        }
        _ => eprintln!("{GNU_TIME_MISSING}"),
    }
}

/// Past its own limit, a small answer is refused before its body is read, at default
/// settings, and the error does not send the user to a setting that would not help.
#[test]
fn small_answer_over_its_own_limit_is_refused_unread() {
    let b = broker(|req, _| {
        is(req, ApiKey::DescribeCluster).then(|| {
            let mut f = ((4 << 20) + 1i32).to_be_bytes().to_vec();
            f.extend_from_slice(&req.correlation_id.to_be_bytes());
            Reply::Raw(f)
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let run = snapshot(dir.path(), &b.addr(), "");
    assert_refused(
        dir.path(),
        &run,
        &b.addr(),
        "DescribeCluster",
        "response frame of 4194305 bytes is over the limit of 4194304 bytes for this API",
    );
}

// ---------------------------------------------------------------------------------------
// Peak RSS per API under a reply filled to that API's limit at default settings.
//
// Each API is measured in a child process (this test binary, running only
// `rss_child_sends_one_request`) that opens a real `Connection` with the default
// `ClientConfig` and sends the largest request kafka-replan makes of that API; the scripted
// broker (in this process) answers with a frame of valid elements filled to the limit the
// client will accept for that request, its last byte cut so decoding fails only after
// every element was decoded. GNU time gives the child's peak RSS; the baseline child only
// connects (ApiVersions). Run `cargo test --release --test hostile_peer rss_per_api --
// --nocapture` for the table of docs/reliability.md.

use kafka_replan::kafka::conn::response_limit;
use kafka_replan::kafka::properties::DEFAULT_MAX_RESPONSE_BYTES;

/// The APIs measured: Kafka's name, and the request the child sends (the largest shape
/// kafka-replan sends: a full slice of partitions, resources or groups).
const RSS_APIS: &[&str] = &[
    "none",
    "Metadata",
    "DescribeLogDirs",
    "ListPartitionReassignments",
    "ListPartitionReassignmentsNamed",
    "DescribeConfigs",
    "OffsetFetch",
    "ListOffsets",
    "ListGroups",
    "ElectLeaders",
    "DescribeCluster",
    "DescribeTopicPartitions",
];

const RSS_CHILD_API: &str = "KAFKA_REPLAN_RSS_CHILD_API";
const RSS_CHILD_ADDR: &str = "KAFKA_REPLAN_RSS_CHILD_ADDR";

/// Sends one request on the connection, on the runtime; `Err` when the reply decoded.
type SendOne = Box<
    dyn FnOnce(
        &mut kafka_replan::kafka::conn::Connection,
        &tokio::runtime::Runtime,
    ) -> Result<(), String>,
>;

/// Filled frames by (API key, version, limit), built once.
type FrameCache = Arc<Mutex<std::collections::BTreeMap<(i16, i16, usize), Vec<u8>>>>;

/// The largest request kafka-replan sends of `api` (see `admin::calls` for the slices).
fn rss_request(api: &str) -> SendOne {
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    use kafka_protocol::messages::describe_topic_partitions_request::TopicRequest;
    use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
    use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
    use kafka_protocol::messages::{
        BrokerId, DescribeClusterRequest, DescribeConfigsRequest, DescribeLogDirsRequest,
        DescribeTopicPartitionsRequest, ElectLeadersRequest, GroupId, ListGroupsRequest,
        ListOffsetsRequest, ListPartitionReassignmentsRequest, MetadataRequest, OffsetFetchRequest,
        TopicName,
    };
    use kafka_protocol::protocol::StrBytes;
    use kafka_replan::kafka::admin::{
        DESCRIBE_CONFIGS_RESOURCES_PER_REQUEST, LIST_OFFSETS_PARTITIONS_PER_REQUEST,
        LIST_REASSIGNMENTS_PARTITIONS_PER_REQUEST, OFFSET_FETCH_GROUPS_PER_REQUEST,
    };
    fn send<R: kafka_replan::kafka::conn::ApiRequest + 'static>(req: R) -> SendOne {
        Box::new(move |conn, rt| match rt.block_on(conn.send(&req)) {
            Ok(_) => Err(format!("{}: the filled frame decoded", R::NAME)),
            Err(e) => {
                eprintln!("{e}");
                Ok(())
            }
        })
    }
    let topic = |i: usize| TopicName(StrBytes::from_string(format!("topic-{i:05}")));
    let partitions = |n: usize| (0..n as i32).collect::<Vec<i32>>();
    match api {
        "Metadata" => send(MetadataRequest::default().with_topics(None)),
        "DescribeLogDirs" => send(DescribeLogDirsRequest::default().with_topics(None)),
        "ListPartitionReassignments" => {
            send(ListPartitionReassignmentsRequest::default().with_topics(None))
        }
        "ListPartitionReassignmentsNamed" => send(
            ListPartitionReassignmentsRequest::default().with_topics(Some(vec![
                ListPartitionReassignmentsTopics::default()
                    .with_name(topic(0))
                    .with_partition_indexes(partitions(LIST_REASSIGNMENTS_PARTITIONS_PER_REQUEST)),
            ])),
        ),
        "DescribeConfigs" => send(
            DescribeConfigsRequest::default().with_resources(
                (0..DESCRIBE_CONFIGS_RESOURCES_PER_REQUEST)
                    .map(|i| {
                        DescribeConfigsResource::default()
                            .with_resource_type(2)
                            .with_resource_name(topic(i).0)
                            .with_configuration_keys(Some(vec![
                                StrBytes::from_static_str("leader.replication.throttled.replicas"),
                                StrBytes::from_static_str(
                                    "follower.replication.throttled.replicas",
                                ),
                            ]))
                    })
                    .collect(),
            ),
        ),
        "OffsetFetch" => send(
            OffsetFetchRequest::default().with_groups(
                (0..OFFSET_FETCH_GROUPS_PER_REQUEST)
                    .map(|i| {
                        OffsetFetchRequestGroup::default()
                            .with_group_id(GroupId(StrBytes::from_string(format!("group-{i:05}"))))
                            .with_member_id(None)
                            .with_member_epoch(-1)
                            .with_topics(None)
                    })
                    .collect(),
            ),
        ),
        "ListOffsets" => send(
            ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![ListOffsetsTopic::default()
                    .with_name(topic(0))
                    .with_partitions(
                        partitions(LIST_OFFSETS_PARTITIONS_PER_REQUEST)
                            .into_iter()
                            .map(|p| {
                                ListOffsetsPartition::default()
                                    .with_partition_index(p)
                                    .with_current_leader_epoch(-1)
                                    .with_timestamp(-1)
                            })
                            .collect(),
                    )]),
        ),
        "ListGroups" => send(ListGroupsRequest::default()),
        // A preferred election of a batch of 2,000 partitions.
        "ElectLeaders" => send(
            ElectLeadersRequest::default()
                .with_election_type(0)
                .with_topic_partitions(Some(vec![TopicPartitions::default()
                    .with_topic(topic(0))
                    .with_partitions(partitions(2_000))]))
                .with_timeout_ms(1_000),
        ),
        "DescribeCluster" => send(DescribeClusterRequest::default()),
        "DescribeTopicPartitions" => send(
            DescribeTopicPartitionsRequest::default()
                .with_topics(vec![TopicRequest::default().with_name(topic(0))])
                .with_response_partition_limit(2_000),
        ),
        _ => Box::new(|_, _| Ok(())),
    }
}

/// A frame of valid elements of `api`'s largest array, about `frame_bytes` long, its last
/// byte cut.
fn rss_filled_frame(req: &Request, addr: &str, frame_bytes: usize) -> Vec<u8> {
    use kafka_protocol::messages::describe_configs_response::{
        DescribeConfigsResourceResult, DescribeConfigsResult,
    };
    use kafka_protocol::messages::describe_log_dirs_response::{
        DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
    };
    use kafka_protocol::messages::describe_topic_partitions_response::{
        DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
    };
    use kafka_protocol::messages::elect_leaders_response::{
        PartitionResult, ReplicaElectionResult,
    };
    use kafka_protocol::messages::list_groups_response::ListedGroup;
    use kafka_protocol::messages::list_offsets_response::{
        ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
    };
    use kafka_protocol::messages::list_partition_reassignments_response::{
        OngoingPartitionReassignment, OngoingTopicReassignment,
    };
    use kafka_protocol::messages::offset_fetch_response::{
        OffsetFetchResponseGroup, OffsetFetchResponsePartitions, OffsetFetchResponseTopics,
    };
    use kafka_protocol::messages::{
        BrokerId, DescribeConfigsResponse, DescribeTopicPartitionsResponse, ElectLeadersResponse,
        GroupId, ListGroupsResponse, ListOffsetsResponse, OffsetFetchResponse, TopicName,
    };
    use kafka_protocol::protocol::StrBytes;
    let key = ApiKey::try_from(req.api_key).unwrap();
    let (cid, v) = (req.correlation_id, req.api_version);
    let t = || TopicName(StrBytes::from_static_str("t"));
    let with: Box<dyn Fn(usize) -> Vec<u8>> = match key {
        ApiKey::Metadata => return metadata_filled_to(req, addr, frame_bytes),
        ApiKey::DescribeCluster => return describe_cluster_filled_to(req, frame_bytes),
        ApiKey::DescribeLogDirs => Box::new(move |n| {
            let p = DescribeLogDirsPartition::default()
                .with_partition_index(7)
                .with_partition_size(1);
            let resp = DescribeLogDirsResponse::default().with_results(vec![
                DescribeLogDirsResult::default()
                    .with_log_dir(StrBytes::from_static_str("/d"))
                    .with_topics(vec![DescribeLogDirsTopic::default()
                        .with_name(t())
                        .with_partitions(vec![p; n])]),
            ]);
            frame(cid, v, &resp)[4..].to_vec()
        }),
        ApiKey::ListPartitionReassignments => Box::new(move |n| {
            let p = OngoingPartitionReassignment::default()
                .with_partition_index(7)
                .with_replicas(vec![BrokerId(1)]);
            let resp = ListPartitionReassignmentsResponse::default().with_topics(vec![
                OngoingTopicReassignment::default()
                    .with_name(t())
                    .with_partitions(vec![p; n]),
            ]);
            frame(cid, v, &resp)[4..].to_vec()
        }),
        ApiKey::DescribeConfigs => Box::new(move |n| {
            let c = DescribeConfigsResourceResult::default()
                .with_name(StrBytes::from_static_str("a"))
                .with_value(Some(StrBytes::from_static_str("b")));
            let resp = DescribeConfigsResponse::default().with_results(vec![
                DescribeConfigsResult::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str("t"))
                    .with_configs(vec![c; n]),
            ]);
            frame(cid, v, &resp)[4..].to_vec()
        }),
        ApiKey::OffsetFetch => Box::new(move |n| {
            let p = OffsetFetchResponsePartitions::default()
                .with_partition_index(7)
                .with_committed_offset(1);
            let resp = OffsetFetchResponse::default().with_groups(vec![
                OffsetFetchResponseGroup::default()
                    .with_group_id(GroupId(StrBytes::from_static_str("g")))
                    .with_topics(vec![OffsetFetchResponseTopics::default()
                        .with_name(t())
                        .with_partitions(vec![p; n])]),
            ]);
            frame(cid, v, &resp)[4..].to_vec()
        }),
        ApiKey::ListOffsets => Box::new(move |n| {
            let p = ListOffsetsPartitionResponse::default()
                .with_partition_index(7)
                .with_offset(1);
            let resp = ListOffsetsResponse::default().with_topics(vec![
                ListOffsetsTopicResponse::default()
                    .with_name(t())
                    .with_partitions(vec![p; n]),
            ]);
            frame(cid, v, &resp)[4..].to_vec()
        }),
        ApiKey::ListGroups => Box::new(move |n| {
            let g = ListedGroup::default()
                .with_group_id(GroupId(StrBytes::from_static_str("g")))
                .with_protocol_type(StrBytes::from_static_str("consumer"))
                .with_group_state(StrBytes::from_static_str("Stable"))
                .with_group_type(StrBytes::from_static_str("classic"));
            frame(
                cid,
                v,
                &ListGroupsResponse::default().with_groups(vec![g; n]),
            )[4..]
                .to_vec()
        }),
        ApiKey::ElectLeaders => Box::new(move |n| {
            let p = PartitionResult::default().with_partition_id(7);
            let resp = ElectLeadersResponse::default().with_replica_election_results(vec![
                ReplicaElectionResult::default()
                    .with_topic(t())
                    .with_partition_result(vec![p; n]),
            ]);
            frame(cid, v, &resp)[4..].to_vec()
        }),
        ApiKey::DescribeTopicPartitions => Box::new(move |n| {
            let p = DescribeTopicPartitionsResponsePartition::default()
                .with_partition_index(7)
                .with_leader_id(BrokerId(1))
                .with_replica_nodes(vec![BrokerId(1)])
                .with_isr_nodes(vec![BrokerId(1)]);
            let resp = DescribeTopicPartitionsResponse::default().with_topics(vec![
                DescribeTopicPartitionsResponseTopic::default()
                    .with_name(Some(t()))
                    .with_partitions(vec![p; n]),
            ]);
            frame(cid, v, &resp)[4..].to_vec()
        }),
        other => panic!("no filled frame for {other:?}"),
    };
    filled_to(with, frame_bytes)
}

/// What the broker offers in the RSS measurement: the usual table plus the rate sampler's
/// APIs and DescribeTopicPartitions, at the versions a Kafka 4.1 broker offers.
fn rss_versions() -> Vec<kafka_protocol::messages::api_versions_response::ApiVersion> {
    use kafka_protocol::messages::api_versions_response::ApiVersion;
    let mut table = version_table();
    for (k, lo, hi) in [
        (ApiKey::ListOffsets, 1, 10),
        (ApiKey::OffsetFetch, 1, 9),
        (ApiKey::ListGroups, 0, 5),
        (ApiKey::FindCoordinator, 0, 6),
        (ApiKey::DescribeTopicPartitions, 0, 0),
    ] {
        table.push(
            ApiVersion::default()
                .with_api_key(k as i16)
                .with_min_version(lo)
                .with_max_version(hi),
        );
    }
    table
}

/// Peak RSS (KiB) of the child measuring `api` against `addr`, and its stderr. The child
/// reports its own high-water mark (`VmHWM` of /proc/self/status, Linux), so nothing outside
/// the repo (such as GNU time) is needed to measure it.
fn rss_child(api: &str, addr: &str) -> (Option<i64>, String) {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(&exe)
        .args([
            "--exact",
            "rss_child_sends_one_request",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(RSS_CHILD_API, api)
        .env(RSS_CHILD_ADDR, addr)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "child for {api}: {stderr}");
    let rss = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            l.split_once(RSS_CHILD_PEAK)
                .map(|(_, v)| v.trim().to_string())
        })
        .and_then(|v| v.parse().ok());
    (rss, stderr)
}

/// The line the RSS child prints its peak RSS on, in KiB.
const RSS_CHILD_PEAK: &str = "peak-rss-kib: ";

/// The process's peak RSS so far, in KiB (`VmHWM`), where /proc gives it.
fn own_peak_rss_kib() -> Option<i64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Run by `peak_rss_per_api_under_a_reply_filled_to_its_limit` in a child process.
#[test]
#[ignore = "run by peak_rss_per_api_under_a_reply_filled_to_its_limit"]
fn rss_child_sends_one_request() {
    let api = std::env::var(RSS_CHILD_API).expect("run by peak_rss_per_api_...");
    let addr = std::env::var(RSS_CHILD_ADDR).expect("run by peak_rss_per_api_...");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cfg = kafka_replan::kafka::properties::ClientConfig::default();
    let mut conn = rt
        .block_on(kafka_replan::kafka::conn::Connection::connect(
            &addr, &cfg, None,
        ))
        .unwrap();
    rss_request(&api)(&mut conn, &rt).unwrap();
    if let Some(kib) = own_peak_rss_kib() {
        // Its own line: libtest may have printed the test's name on the current one.
        println!("\n{RSS_CHILD_PEAK}{kib}");
    }
}

/// Every API's reply filled to the limit the client accepts for its largest request, at
/// default settings, costs under 100 MB over a connection that only negotiated versions.
#[test]
fn peak_rss_per_api_under_a_reply_filled_to_its_limit() {
    let frames: FrameCache = Arc::default();
    let script: Script = Arc::new(move |req: &Request, addr: &str| {
        if is(req, ApiKey::ApiVersions) {
            let resp = ApiVersionsResponse::default().with_api_keys(rss_versions());
            return Reply::Raw(frame(req.correlation_id, req.api_version, &resp));
        }
        let key = ApiKey::try_from(req.api_key).unwrap();
        // The request frame's length as the client counts it: prefix, header, body (the
        // header's client id is "kafka-replan").
        let request_bytes = 4 + 8 + 2 + "kafka-replan".len() + 1 + req.body.len();
        let named_reassignments = key == ApiKey::ListPartitionReassignments && req.body.len() > 16;
        let limit = if named_reassignments {
            response_limit(
                ApiKey::AlterPartitionReassignments,
                DEFAULT_MAX_RESPONSE_BYTES,
                request_bytes,
            )
        } else {
            response_limit(key, DEFAULT_MAX_RESPONSE_BYTES, request_bytes)
        };
        let mut frames = frames.lock().unwrap();
        let f = frames
            .entry((req.api_key, req.api_version, limit.bytes))
            .or_insert_with(|| rss_filled_frame(req, addr, limit.bytes - 1024));
        // The correlation id is the client's second (ApiVersions is the first).
        let mut f = f.clone();
        f[4..8].copy_from_slice(&req.correlation_id.to_be_bytes());
        Reply::Raw(f)
    });
    let broker = ScriptedBroker::start(script);
    let mut rows = Vec::new();
    let mut baseline = None;
    for api in RSS_APIS {
        let (rss, stderr) = rss_child(api, &broker.addr());
        if *api == "none" {
            baseline = rss;
            continue;
        }
        let error = stderr
            .lines()
            .find(|l| l.contains("response from"))
            .unwrap_or_else(|| panic!("{api}: no decode error: {stderr}"))
            .to_string();
        assert!(
            error.contains("a field runs past the end of the message"),
            "{api}: {error}"
        );
        rows.push((api, rss, error));
    }
    let Some(base) = baseline else {
        eprintln!("note: /proc/self/status has no VmHWM here: peak RSS not measured");
        return;
    };
    eprintln!("baseline (ApiVersions only): {base} KiB");
    let mut over_target = Vec::new();
    for (api, rss, error) in rows {
        let rss = rss.unwrap();
        let over = rss - base;
        let frame = error
            .split(" in a ")
            .nth(1)
            .and_then(|r| r.split('-').next())
            .unwrap_or("?")
            .to_string();
        eprintln!("| {api} | {frame} | {rss} KiB | {over} KiB |");
        if over >= 100 * 1000 * 1000 / 1024 {
            over_target.push(format!("{api}: {over} KiB over the baseline"));
        }
    }
    assert!(over_target.is_empty(), "over 100 MB: {over_target:?}");
}
