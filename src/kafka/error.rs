//! The client's error type. Every variant names the broker or API concerned, and none
//! carries a secret. Errors are `Clone` so a fake can inject the same error repeatedly.

use std::time::Duration;

use super::properties::ConfigError;
use super::sasl::SaslError;
use super::tls::TlsError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    #[error("bad bootstrap address '{addr}': {reason}")]
    BadAddress { addr: String, reason: String },
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: String, reason: String },
    #[error("TLS handshake with {addr} failed: {reason}")]
    TlsHandshake { addr: String, reason: String },
    /// The connection broke while a request was outstanding or being written.
    #[error("connection to {addr} lost during {api}: {reason}")]
    ConnectionLost {
        addr: String,
        api: &'static str,
        reason: String,
    },
    #[error("{api} to {addr} timed out after {} ms", after.as_millis())]
    Timeout {
        addr: String,
        api: &'static str,
        after: Duration,
    },
    /// A non-idempotent request may or may not have been applied: resending it blindly could
    /// apply it twice (or apply a stale intent), so the caller must re-read the state.
    #[error("{api}: outcome unknown ({reason}); check the cluster state before retrying")]
    OutcomeUnknown { api: &'static str, reason: String },
    /// A reply that is not a valid answer: refused frame, wrong correlation id, undecodable.
    #[error("{api} response from {addr}: {reason}")]
    Protocol {
        addr: String,
        api: &'static str,
        reason: String,
    },
    #[error("broker {addr} does not support {api}")]
    UnsupportedApi { addr: String, api: &'static str },
    #[error(
        "no common version for {api}: kafka-replan speaks v{client_min}-v{client_max}, broker {addr} v{broker_min}-v{broker_max}"
    )]
    NoCommonVersion {
        addr: String,
        api: &'static str,
        client_min: i16,
        client_max: i16,
        broker_min: i16,
        broker_max: i16,
    },
    /// A Kafka error code, named as Kafka names it (`NOT_CONTROLLER`), and the broker that
    /// answered with it when the error came over the network (`10.0.0.5:9092 (broker 3)`):
    /// an operator facing UNKNOWN_SERVER_ERROR needs to know whose log to read.
    #[error(
        "{api}{} failed: {name} ({code}){}",
        peer.as_ref().map(|p| format!(" to {p}")).unwrap_or_default(),
        message.as_ref().map(|m| format!(": {m}")).unwrap_or_default()
    )]
    Broker {
        api: &'static str,
        code: i16,
        name: String,
        message: Option<String>,
        peer: Option<String>,
    },
    #[error("SASL authentication with {addr} failed: {reason}")]
    SaslAuthentication { addr: String, reason: String },
    #[error("SASL with {addr}: {source}")]
    Sasl {
        addr: String,
        #[source]
        source: SaslError,
    },
    #[error("unknown broker id {0} (not in cluster metadata)")]
    UnknownBroker(i32),
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// A broker error from a Kafka error code.
    pub fn broker(api: &'static str, code: i16, message: Option<String>) -> Error {
        Error::Broker {
            api,
            code,
            name: error_name(code),
            message: message.map(|m| one_line(&m)).filter(|m| !m.is_empty()),
            peer: None,
        }
    }

    /// Names the broker that answered (see [`peer_name`]) in a broker error that does not
    /// name one yet; every other error is returned as it is (they name their address
    /// already, or are not about one broker).
    pub fn with_peer(self, peer: &str) -> Error {
        match self {
            Error::Broker {
                api,
                code,
                name,
                message,
                peer: None,
            } => Error::Broker {
                api,
                code,
                name,
                message,
                peer: Some(peer.to_string()),
            },
            other => other,
        }
    }

    /// The Kafka error code, for broker errors.
    pub fn code(&self) -> Option<i16> {
        match self {
            Error::Broker { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Worth retrying for an idempotent request: the retriable codes of §D8 and network
    /// failures.
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Broker { code, .. } => is_retriable_code(*code),
            Error::Connect { .. }
            | Error::ConnectionLost { .. }
            | Error::Timeout { .. }
            | Error::TlsHandshake { .. } => true,
            _ => false,
        }
    }
}

/// How an error names a broker: its address, and its id when the cluster metadata gives one
/// (`10.0.0.5:9092 (broker 3)`; a bootstrap address not yet matched to an id is just the
/// address).
pub fn peer_name(addr: &str, broker: Option<i32>) -> String {
    match broker {
        Some(id) => format!("{addr} (broker {id})"),
        None => addr.to_string(),
    }
}

/// Most characters of a peer's text (an error message) shown in an error.
const MAX_PEER_TEXT_CHARS: usize = 300;

/// A peer's text made fit for a one-line error: control characters (line breaks, escape
/// sequences) become spaces and a long text is cut, whatever the peer sent.
pub fn one_line(text: &str) -> String {
    let mut out: String = text
        .trim()
        .chars()
        .take(MAX_PEER_TEXT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.trim().chars().count() > MAX_PEER_TEXT_CHARS {
        out.push_str("...");
    }
    out
}

/// Kafka error codes kafka-replan retries (§D8): LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER,
/// REQUEST_TIMED_OUT, NOT_CONTROLLER, THROTTLING_QUOTA_EXCEEDED.
pub fn is_retriable_code(code: i16) -> bool {
    matches!(code, 5 | 6 | 7 | 41 | 89)
}

/// Kafka's name for an error code (`41` → `NOT_CONTROLLER`), from kafka-protocol's table.
pub fn error_name(code: i16) -> String {
    match kafka_protocol::error::ResponseError::try_from_code(code) {
        None => "NONE".to_string(),
        Some(kafka_protocol::error::ResponseError::Unknown(c)) => format!("UNKNOWN_ERROR_CODE_{c}"),
        Some(e) => screaming_snake(&format!("{e:?}")),
    }
}

fn screaming_snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_names() {
        let cases = [
            (-1, "UNKNOWN_SERVER_ERROR"),
            (0, "NONE"),
            (3, "UNKNOWN_TOPIC_OR_PARTITION"),
            (5, "LEADER_NOT_AVAILABLE"),
            (6, "NOT_LEADER_OR_FOLLOWER"),
            (7, "REQUEST_TIMED_OUT"),
            (9, "REPLICA_NOT_AVAILABLE"),
            (29, "TOPIC_AUTHORIZATION_FAILED"),
            (31, "CLUSTER_AUTHORIZATION_FAILED"),
            (33, "UNSUPPORTED_SASL_MECHANISM"),
            (34, "ILLEGAL_SASL_STATE"),
            (35, "UNSUPPORTED_VERSION"),
            (38, "INVALID_REPLICATION_FACTOR"),
            (39, "INVALID_REPLICA_ASSIGNMENT"),
            (40, "INVALID_CONFIG"),
            (41, "NOT_CONTROLLER"),
            (42, "INVALID_REQUEST"),
            (56, "KAFKA_STORAGE_ERROR"),
            (57, "LOG_DIR_NOT_FOUND"),
            (58, "SASL_AUTHENTICATION_FAILED"),
            (60, "REASSIGNMENT_IN_PROGRESS"),
            (80, "PREFERRED_LEADER_NOT_AVAILABLE"),
            (83, "ELIGIBLE_LEADERS_NOT_AVAILABLE"),
            (84, "ELECTION_NOT_NEEDED"),
            (85, "NO_REASSIGNMENT_IN_PROGRESS"),
            (89, "THROTTLING_QUOTA_EXCEEDED"),
            (114, "MISMATCHED_ENDPOINT_TYPE"),
            (115, "UNSUPPORTED_ENDPOINT_TYPE"),
            (9999, "UNKNOWN_ERROR_CODE_9999"),
        ];
        for (code, name) in cases {
            assert_eq!(error_name(code), name, "code {code}");
        }
        let e = Error::broker("AlterPartitionReassignments", 41, Some("moved".into()));
        assert_eq!(
            e.to_string(),
            "AlterPartitionReassignments failed: NOT_CONTROLLER (41): moved"
        );
        assert!(e.is_retriable());
        assert!(!Error::broker("ElectLeaders", 85, None).is_retriable());
    }

    #[test]
    fn broker_errors_name_the_peer_once() {
        let peer = peer_name("10.0.0.5:9092", Some(3));
        let e = Error::broker("DescribeLogDirs", -1, None).with_peer(&peer);
        assert_eq!(
            e.to_string(),
            "DescribeLogDirs to 10.0.0.5:9092 (broker 3) failed: UNKNOWN_SERVER_ERROR (-1)"
        );
        assert_eq!(e.code(), Some(-1));
        // The first peer named stays: a retry loop re-wrapping it must not rename it.
        let again = e.clone().with_peer("other:1");
        assert_eq!(again, e);
        let e = Error::broker("ElectLeaders", 41, Some("moved".into()))
            .with_peer(&peer_name("[::1]:9092", None));
        assert_eq!(
            e.to_string(),
            "ElectLeaders to [::1]:9092 failed: NOT_CONTROLLER (41): moved"
        );
        assert!(e.is_retriable());
        // Errors that are not a broker's error code are left alone.
        let other = Error::Other("x".into());
        assert_eq!(other.clone().with_peer("p:1"), other);
    }

    #[test]
    fn peer_text_is_one_line_and_bounded() {
        let e = Error::broker("Metadata", 9999, Some("line1\nline2\r\x1b[31mred".into()));
        assert_eq!(
            e.to_string(),
            "Metadata failed: UNKNOWN_ERROR_CODE_9999 (9999): line1 line2  [31mred"
        );
        let long = one_line(&"x".repeat(10_000));
        assert_eq!(long.len(), MAX_PEER_TEXT_CHARS + 3);
        assert_eq!(one_line("  \n "), "");
    }
}
