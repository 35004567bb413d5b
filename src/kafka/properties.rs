//! `--command-config` files: `java.util.Properties` syntax, the `sasl.jaas.config` grammar,
//! and the client configuration Kafka's tools would build from them (spec §D10).
//!
//! Parsing never touches the file system: paths are recorded and read when the TLS context
//! is built (`tls.rs`), so a config can be checked and printed without the files.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A secret value (password, private key). Its `Debug` and `Display` never show the value, so
/// a config can be logged or put into an error message without leaking it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself; call only where the value is put on the wire or into a crypto API.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why a property file or a value in it was rejected. Messages quote Kafka's own wording
/// where Kafka rejects the same input, and never contain secret values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("line {line}: malformed \\uxxxx encoding")]
    MalformedUnicodeEscape { line: usize },
    #[error("{key}: invalid value '{value}': {expected}")]
    InvalidValue {
        key: String,
        value: String,
        expected: String,
    },
    #[error("{key}={value} is not supported by kafka-replan: {hint}")]
    Unsupported {
        key: String,
        value: String,
        hint: String,
    },
    #[error("{key} is not supported by kafka-replan: {hint}")]
    UnsupportedKey { key: String, hint: String },
    /// `sasl.jaas.config` grammar errors, worded as Kafka's `JaasConfig`.
    #[error("sasl.jaas.config: {0}")]
    Jaas(String),
    /// A rule of Kafka's SSL engine factory (message as Kafka words it).
    #[error("{0}")]
    Ssl(String),
    #[error("{key} is required: {why}")]
    Missing { key: String, why: String },
}

/// Parses `java.util.Properties` text into key/value pairs. Later keys replace earlier ones,
/// as `Properties.load` does.
pub fn parse_properties(text: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut out = BTreeMap::new();
    for (line_no, logical) in logical_lines(text) {
        let (raw_key, raw_value) = split_key_value(&logical);
        let key = unescape(raw_key, line_no)?;
        let value = unescape(raw_value, line_no)?;
        out.insert(key, value);
    }
    Ok(out)
}

fn is_prop_ws(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\u{c}'
}

/// Joins natural lines into logical lines (continuations), drops blank and comment lines.
/// Backslash escapes other than the continuation are kept for `unescape`. Each logical line
/// comes with the 1-based number of its first natural line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    // Natural lines end at \n, \r or \r\n.
    let mut naturals = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find(['\n', '\r']) {
            Some(i) => {
                naturals.push(&rest[..i]);
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
            None => {
                naturals.push(rest);
                rest = "";
            }
        }
    }
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, natural) in naturals.iter().enumerate() {
        let trimmed = natural.trim_start_matches(is_prop_ws);
        let continuing = current.is_some();
        if !continuing && (trimmed.is_empty() || trimmed.starts_with(['#', '!'])) {
            // A comment line cannot be continued, even if it ends with a backslash.
            continue;
        }
        let trailing = trimmed.chars().rev().take_while(|&c| c == '\\').count();
        let (content, continues) = if trailing % 2 == 1 {
            (&trimmed[..trimmed.len() - 1], true)
        } else {
            (trimmed, false)
        };
        let entry = current.get_or_insert_with(|| (i + 1, String::new()));
        entry.1.push_str(content);
        if !continues {
            if let Some(done) = current.take() {
                out.push(done);
            }
        }
    }
    if let Some(done) = current.take() {
        out.push(done);
    }
    out
}

/// Splits a logical line at the first unescaped `=`, `:` or whitespace, as `Properties.load`.
fn split_key_value(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    let mut key_end = line.len();
    let mut has_sep = false;
    let mut escaped = false;
    while i < bytes.len() {
        let c = bytes[i];
        if escaped {
            escaped = false;
        } else if c == b'\\' {
            escaped = true;
        } else if c == b'=' || c == b':' {
            key_end = i;
            has_sep = true;
            break;
        } else if c == b' ' || c == b'\t' || c == b'\x0c' {
            key_end = i;
            break;
        }
        i += 1;
    }
    let key = &line[..key_end];
    let mut j = if has_sep { key_end + 1 } else { key_end };
    // Whitespace, then at most one `=`/`:` if the key ended at whitespace, then whitespace.
    while j < bytes.len() && matches!(bytes[j], b' ' | b'\t' | b'\x0c') {
        j += 1;
    }
    if !has_sep && j < bytes.len() && matches!(bytes[j], b'=' | b':') {
        j += 1;
        while j < bytes.len() && matches!(bytes[j], b' ' | b'\t' | b'\x0c') {
            j += 1;
        }
    }
    (key, line.get(j..).unwrap_or(""))
}

fn unescape(s: &str, line: usize) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let mut v: u32 = 0;
                for _ in 0..4 {
                    let d = chars
                        .next()
                        .and_then(|h| h.to_digit(16))
                        .ok_or(ConfigError::MalformedUnicodeEscape { line })?;
                    v = v * 16 + d;
                }
                // Java strings are UTF-16: a lone surrogate has no Rust `char`; keep U+FFFD.
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// JAAS

/// JAAS login module control flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlFlag {
    Required,
    Requisite,
    Sufficient,
    Optional,
}

/// One entry of a `sasl.jaas.config` value. Option values can be secrets, so `Debug` shows
/// the keys only.
#[derive(Clone, PartialEq, Eq)]
pub struct JaasEntry {
    pub login_module: String,
    pub control_flag: ControlFlag,
    pub options: BTreeMap<String, String>,
}

impl fmt::Debug for JaasEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JaasEntry")
            .field("login_module", &self.login_module)
            .field("control_flag", &self.control_flag)
            .field("option_keys", &self.options.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq)]
enum JaasToken {
    Word(String),
    Quoted(String),
    Char(char),
}

/// Tokenizes like `java.io.StreamTokenizer` as Kafka's `JaasConfig` sets it up: words,
/// quoted strings with C-style escapes, `//` and `/* */` comments, any other character alone.
fn jaas_tokens(s: &str) -> Result<Vec<JaasToken>, ConfigError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let is_word_start =
        |c: char| c.is_ascii_alphabetic() || matches!(c, '_' | '$' | '-') || c as u32 >= 0xa0;
    let is_word_part = |c: char| is_word_start(c) || c.is_ascii_digit() || c == '.';
    while i < chars.len() {
        let c = chars[i];
        if c <= ' ' {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' && chars[i] != '\r' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '"' || c == '\'' {
            let quote = c;
            let mut v = String::new();
            i += 1;
            while let Some(&d) = chars.get(i) {
                // StreamTokenizer ends an unterminated string at the end of the line.
                if d == quote || d == '\n' || d == '\r' {
                    if d == quote {
                        i += 1;
                    }
                    break;
                }
                if d == '\\' {
                    i += 1;
                    let Some(&e) = chars.get(i) else { break };
                    match e {
                        'a' => v.push('\u{7}'),
                        'b' => v.push('\u{8}'),
                        'f' => v.push('\u{c}'),
                        'n' => v.push('\n'),
                        'r' => v.push('\r'),
                        't' => v.push('\t'),
                        'v' => v.push('\u{b}'),
                        '0'..='7' => {
                            let mut n = 0u32;
                            let mut k = 0;
                            while k < 3 {
                                match chars.get(i).and_then(|c| c.to_digit(8)) {
                                    Some(d) => {
                                        n = n * 8 + d;
                                        i += 1;
                                        k += 1;
                                    }
                                    None => break,
                                }
                            }
                            i -= 1;
                            v.push(char::from_u32(n).unwrap_or('\u{fffd}'));
                        }
                        other => v.push(other),
                    }
                    i += 1;
                } else {
                    v.push(d);
                    i += 1;
                }
            }
            out.push(JaasToken::Quoted(v));
        } else if is_word_part(c) {
            let start = i;
            while i < chars.len() && is_word_part(chars[i]) {
                i += 1;
            }
            out.push(JaasToken::Word(chars[start..i].iter().collect()));
        } else {
            out.push(JaasToken::Char(c));
            i += 1;
        }
    }
    Ok(out)
}

/// Parses a `sasl.jaas.config` value: exactly one login module entry, as Kafka requires.
pub fn parse_jaas_config(s: &str) -> Result<JaasEntry, ConfigError> {
    let tokens = jaas_tokens(s)?;
    let mut it = tokens.into_iter().peekable();
    let mut entries = Vec::new();
    while let Some(first) = it.next() {
        let login_module = match first {
            JaasToken::Word(w) | JaasToken::Quoted(w) => w,
            JaasToken::Char(c) => {
                return Err(ConfigError::Jaas(format!(
                    "unexpected '{c}' where a login module name was expected"
                )))
            }
        };
        let flag = match it.next() {
            None => {
                return Err(ConfigError::Jaas(
                    "Login module control flag not specified in JAAS config".into(),
                ))
            }
            Some(JaasToken::Word(w)) | Some(JaasToken::Quoted(w)) => w,
            Some(JaasToken::Char(c)) => c.to_string(),
        };
        let control_flag = match flag.to_ascii_uppercase().as_str() {
            "REQUIRED" => ControlFlag::Required,
            "REQUISITE" => ControlFlag::Requisite,
            "SUFFICIENT" => ControlFlag::Sufficient,
            "OPTIONAL" => ControlFlag::Optional,
            _ => {
                return Err(ConfigError::Jaas(format!(
                    "Invalid login module control flag '{flag}' in JAAS config"
                )))
            }
        };
        let mut options = BTreeMap::new();
        let mut terminated = false;
        while let Some(tok) = it.next() {
            let key = match tok {
                JaasToken::Char(';') => {
                    terminated = true;
                    break;
                }
                JaasToken::Word(w) | JaasToken::Quoted(w) => w,
                JaasToken::Char(c) => c.to_string(),
            };
            let value = match (it.next(), it.next()) {
                (Some(JaasToken::Char('=')), Some(JaasToken::Word(v)))
                | (Some(JaasToken::Char('=')), Some(JaasToken::Quoted(v))) => v,
                _ => {
                    return Err(ConfigError::Jaas(format!(
                        "Value not specified for key '{key}' in JAAS config"
                    )))
                }
            };
            options.insert(key, value);
        }
        if !terminated {
            return Err(ConfigError::Jaas(
                "JAAS config entry not terminated by semi-colon".into(),
            ));
        }
        entries.push(JaasEntry {
            login_module,
            control_flag,
            options,
        });
    }
    match entries.len() {
        0 => Err(ConfigError::Jaas(
            "JAAS config property does not contain any login modules".into(),
        )),
        1 => Ok(entries.remove(0)),
        n => Err(ConfigError::Jaas(format!(
            "JAAS config property contains {n} login modules, should be 1 module"
        ))),
    }
}

// ---------------------------------------------------------------------------------------
// Client configuration

/// `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// The SASL mechanisms kafka-replan speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl SaslMechanism {
    /// The name sent in SaslHandshake.
    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

impl fmt::Display for SaslMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// SASL credentials taken from `sasl.jaas.config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslConfig {
    pub mechanism: SaslMechanism,
    pub username: String,
    pub password: Secret,
    /// `tokenauth=true`: the credentials are a delegation token (SCRAM extension).
    pub token_auth: bool,
}

/// Where trusted CA certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustSource {
    /// No truststore configured: the system CA bundle (the JVM would use its `cacerts`).
    System,
    /// `ssl.truststore.location` with `ssl.truststore.type=PEM`.
    PemFile(PathBuf),
    /// `ssl.truststore.certificates`: inline PEM.
    PemInline(String),
}

/// The client certificate for mutual TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientIdentity {
    /// `ssl.keystore.location` with `ssl.keystore.type=PEM`: a private key plus its chain.
    PemFile {
        path: PathBuf,
        key_password: Option<Secret>,
    },
    /// `ssl.keystore.certificate.chain` + `ssl.keystore.key`.
    PemInline {
        chain: String,
        key: Secret,
        key_password: Option<Secret>,
    },
}

/// TLS protocol versions allowed (`ssl.enabled.protocols`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsVersions {
    pub tls12: bool,
    pub tls13: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    pub trust: TrustSource,
    pub identity: Option<ClientIdentity>,
    /// `ssl.endpoint.identification.algorithm=https` (the default); off only when the
    /// property is set to the empty string.
    pub hostname_verification: bool,
    pub versions: TlsVersions,
    /// IANA cipher suite names from `ssl.cipher.suites`; `None` = rustls defaults.
    pub cipher_suites: Option<Vec<String>>,
}

/// The client configuration built from a property file (and CLI flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    pub bootstrap_servers: Option<String>,
    pub client_id: String,
    pub request_timeout: Duration,
    pub default_api_timeout: Duration,
    pub security_protocol: SecurityProtocol,
    pub tls: Option<TlsConfig>,
    pub sasl: Option<SaslConfig>,
    /// Largest response frame accepted from a broker (`kafka-replan.max.response.bytes`).
    pub max_response_bytes: usize,
    /// Requests sent at once by the calls that ask every broker (DescribeLogDirs,
    /// ListGroups, DescribeConfigs per broker) (`kafka-replan.max.concurrent.requests`).
    pub max_concurrent_requests: usize,
    /// Things the user should see (e.g. hostname verification turned off, ignored keys
    /// that Kafka would honour).
    pub warnings: Vec<String>,
    /// Debug-level notes (unknown keys ignored).
    pub notes: Vec<String>,
}

/// The client id Kafka's tools would not set, and ours does: it shows in broker logs.
pub const DEFAULT_CLIENT_ID: &str = "kafka-replan";

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            bootstrap_servers: None,
            client_id: DEFAULT_CLIENT_ID.to_string(),
            request_timeout: Duration::from_millis(30_000),
            default_api_timeout: Duration::from_millis(60_000),
            security_protocol: SecurityProtocol::Plaintext,
            tls: None,
            sasl: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            warnings: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// The property that sets the largest response frame kafka-replan accepts. Kafka has no
/// client key for this (its Java admin client reads any size), so the name is ours.
pub const MAX_RESPONSE_BYTES_KEY: &str = "kafka-replan.max.response.bytes";

/// The property that bounds how many brokers are asked at once by the calls that ask every
/// broker. Ours too: Kafka's admin client sends to all nodes at once, unbounded.
pub const MAX_CONCURRENT_REQUESTS_KEY: &str = "kafka-replan.max.concurrent.requests";

/// Default of [`MAX_CONCURRENT_REQUESTS_KEY`]: 32 brokers at once turn the 2,700 sequential
/// round trips of a 2,700-broker cluster into about 85, while each broker still sees one
/// request from this client at a time and at most 32 answers (each up to
/// `kafka-replan.max.response.bytes`) are in memory together.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 32;

/// Bounds of [`MAX_CONCURRENT_REQUESTS_KEY`]: 1 is one broker after another; above 1,024
/// the answers held at once could exceed any memory budget worth having.
const MAX_MAX_CONCURRENT_REQUESTS: usize = 1024;

/// Default response frame limit of the answers that grow with the cluster: 8 MiB. A frame
/// filled to it by a hostile peer costs at most about 70 MB of memory while it is decoded
/// (decoded values take up to 8 times their wire size; measured per API in
/// docs/reliability.md), under the 100 MB bound kafka-replan keeps to. Every such answer
/// but one is asked in slices that keep real answers far below it (see
/// `conn::response_limit`); the exception is Metadata of all topics on brokers before Kafka
/// 3.7 (no DescribeTopicPartitions), one answer for the whole cluster: a Metadata v12
/// partition at replication factor 3 is 44 bytes on the wire with its share of a topic
/// entry, so 8 MiB reads about 180,000 partitions, and a larger cluster on such brokers
/// needs this raised (the refusal names the property).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// Response frame limit of the APIs whose answers are small by nature, whatever the cluster
/// size (ApiVersions, SASL, DescribeCluster, FindCoordinator, one DescribeTopicPartitions
/// page): 4 MiB, or `kafka-replan.max.response.bytes` when that is lower. A real answer of
/// these is kilobytes (2,700 brokers in DescribeCluster are about 150 KB; a page of 2,000
/// partitions at replication factor 10 about 400 KB), and the limit is what a hostile peer
/// can make the process decode, so it bounds the memory of those replies to a few tens of
/// MB (docs/reliability.md) instead of a multiple of the configured limit.
pub const SMALL_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Bounds of the response frame limit: an ApiVersions answer alone is ~500 bytes, and a
/// Kafka frame length is an int32.
const MIN_MAX_RESPONSE_BYTES: u64 = 64 * 1024;
const MAX_MAX_RESPONSE_BYTES: u64 = i32::MAX as u64;

/// Cipher suites rustls (ring provider) offers, by IANA name.
pub const SUPPORTED_CIPHER_SUITES: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

/// Keys Kafka honours that kafka-replan ignores with a warning (§D10): they select Java
/// implementation classes that have no meaning here.
const IGNORED_WITH_WARNING: &[&str] = &[
    "ssl.provider",
    "ssl.engine.factory.class",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.secure.random.implementation",
    "sasl.client.callback.handler.class",
];

/// Keys that would change what the client connects to or how it authenticates, and that
/// kafka-replan cannot honour: refusing beats silently doing something else.
const UNSUPPORTED_KEYS: &[(&str, &str)] = &[
    (
        "bootstrap.controllers",
        "connect through brokers with --bootstrap-server (brokers forward admin requests to the controller)",
    ),
    (
        "security.providers",
        "Java security providers cannot be loaded; use PEM files and PLAIN/SCRAM",
    ),
];

/// Keys read by the config builder; everything else is noted as ignored.
const KNOWN_KEYS: &[&str] = &[
    "bootstrap.servers",
    "client.id",
    "request.timeout.ms",
    "default.api.timeout.ms",
    MAX_RESPONSE_BYTES_KEY,
    MAX_CONCURRENT_REQUESTS_KEY,
    "security.protocol",
    "sasl.mechanism",
    "sasl.jaas.config",
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.certificates",
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.keystore.key",
    "ssl.keystore.certificate.chain",
    "ssl.key.password",
    "ssl.endpoint.identification.algorithm",
    "ssl.enabled.protocols",
    "ssl.protocol",
    "ssl.cipher.suites",
];

fn jks_truststore_hint(kind: &str) -> String {
    format!(
        "kafka-replan reads PEM only; set ssl.truststore.type=PEM and point ssl.truststore.location \
         at a PEM file, e.g. `keytool -exportcert -rfc -alias <ca-alias> -keystore truststore.{ext} \
         -storepass <password> > ca.pem` ({kind} store)",
        ext = if kind == "PKCS12" { "p12" } else { "jks" }
    )
}

fn jks_keystore_hint(kind: &str) -> String {
    let p12 = if kind == "PKCS12" {
        String::from("keystore.p12")
    } else {
        String::from(
            "keystore.p12 (from JKS first: `keytool -importkeystore -srckeystore keystore.jks \
             -destkeystore keystore.p12 -deststoretype PKCS12`)",
        )
    };
    format!(
        "kafka-replan reads PEM only; set ssl.keystore.type=PEM and ssl.keystore.location to a PEM \
         file holding the PKCS#8 key and the certificate chain, e.g. `openssl pkcs12 -in {p12} \
         -nodes -out client.pem` ({kind} store)"
    )
}

fn parse_millis(
    props: &BTreeMap<String, String>,
    key: &str,
) -> Result<Option<Duration>, ConfigError> {
    match props.get(key) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(ms) => Ok(Some(Duration::from_millis(ms))),
            Err(_) => Err(ConfigError::InvalidValue {
                key: key.into(),
                value: v.clone(),
                expected: "a non-negative number of milliseconds".into(),
            }),
        },
    }
}

fn non_empty<'a>(props: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    props.get(key).map(|s| s.trim()).filter(|s| !s.is_empty())
}

impl ClientConfig {
    /// Parses a property file's text and builds the client configuration.
    pub fn from_properties_text(text: &str) -> Result<ClientConfig, ConfigError> {
        ClientConfig::from_properties(&parse_properties(text)?)
    }

    /// Builds the client configuration from parsed properties, applying Kafka's defaults
    /// and rules (§D10).
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<ClientConfig, ConfigError> {
        let mut cfg = ClientConfig::default();
        for (key, hint) in UNSUPPORTED_KEYS {
            if props.contains_key(*key) {
                return Err(ConfigError::UnsupportedKey {
                    key: (*key).into(),
                    hint: (*hint).into(),
                });
            }
        }
        for key in props.keys() {
            if IGNORED_WITH_WARNING.contains(&key.as_str()) || key.starts_with("sasl.login.") {
                cfg.warnings.push(format!(
                    "{key} is ignored: it selects a Java implementation"
                ));
            } else if !KNOWN_KEYS.contains(&key.as_str()) {
                cfg.notes.push(format!("{key} is ignored"));
            }
        }

        cfg.bootstrap_servers = non_empty(props, "bootstrap.servers").map(str::to_string);
        if let Some(id) = props.get("client.id") {
            cfg.client_id = id.clone();
        }
        if let Some(d) = parse_millis(props, "request.timeout.ms")? {
            cfg.request_timeout = d;
        }
        if let Some(d) = parse_millis(props, "default.api.timeout.ms")? {
            cfg.default_api_timeout = d;
        }
        if let Some(v) = props.get(MAX_RESPONSE_BYTES_KEY) {
            cfg.max_response_bytes = v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (MIN_MAX_RESPONSE_BYTES..=MAX_MAX_RESPONSE_BYTES).contains(n))
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| ConfigError::InvalidValue {
                    key: MAX_RESPONSE_BYTES_KEY.into(),
                    value: v.clone(),
                    expected: format!(
                        "a number of bytes from {MIN_MAX_RESPONSE_BYTES} to {MAX_MAX_RESPONSE_BYTES}"
                    ),
                })?;
        }
        if let Some(v) = props.get(MAX_CONCURRENT_REQUESTS_KEY) {
            cfg.max_concurrent_requests = v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_MAX_CONCURRENT_REQUESTS).contains(n))
                .ok_or_else(|| ConfigError::InvalidValue {
                    key: MAX_CONCURRENT_REQUESTS_KEY.into(),
                    value: v.clone(),
                    expected: format!("a number from 1 to {MAX_MAX_CONCURRENT_REQUESTS}"),
                })?;
        }

        let proto = props
            .get("security.protocol")
            .map(|s| s.trim().to_ascii_uppercase())
            .unwrap_or_else(|| "PLAINTEXT".into());
        cfg.security_protocol = match proto.as_str() {
            "PLAINTEXT" => SecurityProtocol::Plaintext,
            "SSL" => SecurityProtocol::Ssl,
            "SASL_PLAINTEXT" => SecurityProtocol::SaslPlaintext,
            "SASL_SSL" => SecurityProtocol::SaslSsl,
            _ => {
                return Err(ConfigError::InvalidValue {
                    key: "security.protocol".into(),
                    value: proto,
                    expected: "one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL".into(),
                })
            }
        };

        if cfg.security_protocol.uses_sasl() {
            cfg.sasl = Some(sasl_config(props)?);
        }
        if cfg.security_protocol.uses_tls() {
            let tls = tls_config(props, &mut cfg.warnings)?;
            cfg.tls = Some(tls);
        }
        Ok(cfg)
    }
}

fn sasl_config(props: &BTreeMap<String, String>) -> Result<SaslConfig, ConfigError> {
    // Kafka's default mechanism is GSSAPI.
    let mech = props
        .get("sasl.mechanism")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "GSSAPI".into());
    let mechanism = match mech.as_str() {
        "PLAIN" => SaslMechanism::Plain,
        "SCRAM-SHA-256" => SaslMechanism::ScramSha256,
        "SCRAM-SHA-512" => SaslMechanism::ScramSha512,
        "GSSAPI" | "OAUTHBEARER" => {
            let defaulted = if props.contains_key("sasl.mechanism") {
                ""
            } else {
                " (Kafka's default when sasl.mechanism is not set)"
            };
            return Err(ConfigError::Unsupported {
                key: "sasl.mechanism".into(),
                value: format!("{mech}{defaulted}"),
                hint: "supported SASL mechanisms are PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512".into(),
            });
        }
        _ => {
            return Err(ConfigError::InvalidValue {
                key: "sasl.mechanism".into(),
                value: mech,
                expected: "one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512".into(),
            })
        }
    };
    let Some(jaas_text) = props.get("sasl.jaas.config") else {
        return Err(ConfigError::Missing {
            key: "sasl.jaas.config".into(),
            why: format!(
                "{mechanism} needs a username and password from a PlainLoginModule or \
                 ScramLoginModule entry (a JAAS file via java.security.auth.login.config is \
                 not read)"
            ),
        });
    };
    let entry = parse_jaas_config(jaas_text)?;
    let username = entry.options.get("username").cloned();
    let password = entry.options.get("password").cloned();
    let (Some(username), Some(password)) = (username, password) else {
        return Err(ConfigError::Jaas(format!(
            "{} needs the options username and password for {mechanism}",
            entry.login_module
        )));
    };
    let token_auth = entry
        .options
        .get("tokenauth")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if token_auth && mechanism == SaslMechanism::Plain {
        return Err(ConfigError::Jaas(
            "tokenauth=true (delegation tokens) needs a SCRAM mechanism".into(),
        ));
    }
    Ok(SaslConfig {
        mechanism,
        username,
        password: Secret::new(password),
        token_auth,
    })
}

fn tls_config(
    props: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<TlsConfig, ConfigError> {
    // Trust store.
    let ts_type = props
        .get("ssl.truststore.type")
        .map(|s| s.trim().to_ascii_uppercase())
        .unwrap_or_else(|| "JKS".into());
    let ts_location = non_empty(props, "ssl.truststore.location");
    let ts_certs = non_empty(props, "ssl.truststore.certificates");
    let ts_password = non_empty(props, "ssl.truststore.password");
    if ts_location.is_some() && ts_certs.is_some() {
        return Err(ConfigError::Ssl(
            "Both SSL trust store location and certificates are specified.".into(),
        ));
    }
    let trust = if let Some(certs) = ts_certs {
        if ts_type != "PEM" {
            return Err(ConfigError::Ssl(format!(
                "SSL trust store certs can be specified only for PEM, but trust store type is {ts_type}."
            )));
        }
        if ts_password.is_some() {
            return Err(ConfigError::Ssl(
                "SSL trust store password cannot be specified for PEM format.".into(),
            ));
        }
        TrustSource::PemInline(certs.to_string())
    } else if let Some(loc) = ts_location {
        match ts_type.as_str() {
            "PEM" => {
                if ts_password.is_some() {
                    return Err(ConfigError::Ssl(
                        "SSL trust store password cannot be specified for PEM format.".into(),
                    ));
                }
                TrustSource::PemFile(PathBuf::from(loc))
            }
            "JKS" | "PKCS12" => {
                return Err(ConfigError::Unsupported {
                    key: "ssl.truststore.type".into(),
                    value: ts_type.clone(),
                    hint: jks_truststore_hint(&ts_type),
                })
            }
            _ => {
                return Err(ConfigError::InvalidValue {
                    key: "ssl.truststore.type".into(),
                    value: ts_type,
                    expected: "PEM (JKS and PKCS12 must be converted)".into(),
                })
            }
        }
    } else {
        TrustSource::System
    };

    // Key store (mutual TLS).
    let ks_type = props
        .get("ssl.keystore.type")
        .map(|s| s.trim().to_ascii_uppercase())
        .unwrap_or_else(|| "JKS".into());
    let ks_location = non_empty(props, "ssl.keystore.location");
    let ks_key = non_empty(props, "ssl.keystore.key");
    let ks_chain = non_empty(props, "ssl.keystore.certificate.chain");
    let ks_password = non_empty(props, "ssl.keystore.password");
    let key_password = non_empty(props, "ssl.key.password").map(Secret::new);
    let identity = if ks_key.is_some() || ks_chain.is_some() {
        if ks_type != "PEM" {
            return Err(ConfigError::Ssl(format!(
                "SSL private key can be specified only for PEM, but key store type is {ks_type}."
            )));
        }
        if ks_location.is_some() {
            return Err(ConfigError::Ssl(
                "Both SSL key store location and separate private key are specified.".into(),
            ));
        }
        let (Some(key), Some(chain)) = (ks_key, ks_chain) else {
            return Err(ConfigError::Ssl(
                "SSL key store certificate chain and private key must both be specified (ssl.keystore.certificate.chain, ssl.keystore.key)."
                    .into(),
            ));
        };
        if ks_password.is_some() {
            return Err(ConfigError::Ssl(
                "SSL key store password cannot be specified with PEM format, only key password may be specified."
                    .into(),
            ));
        }
        Some(ClientIdentity::PemInline {
            chain: chain.to_string(),
            key: Secret::new(key),
            key_password,
        })
    } else if let Some(loc) = ks_location {
        match ks_type.as_str() {
            "PEM" => {
                if ks_password.is_some() {
                    return Err(ConfigError::Ssl(
                        "SSL key store password cannot be specified with PEM format, only key password may be specified."
                            .into(),
                    ));
                }
                Some(ClientIdentity::PemFile {
                    path: PathBuf::from(loc),
                    key_password,
                })
            }
            "JKS" | "PKCS12" => {
                return Err(ConfigError::Unsupported {
                    key: "ssl.keystore.type".into(),
                    value: ks_type.clone(),
                    hint: jks_keystore_hint(&ks_type),
                })
            }
            _ => {
                return Err(ConfigError::InvalidValue {
                    key: "ssl.keystore.type".into(),
                    value: ks_type,
                    expected: "PEM (JKS and PKCS12 must be converted)".into(),
                })
            }
        }
    } else {
        None
    };

    let hostname_verification = match props.get("ssl.endpoint.identification.algorithm") {
        None => true,
        Some(v) if v.trim().is_empty() => {
            warnings.push(
                "ssl.endpoint.identification.algorithm is empty: broker host names are not \
                 checked against their certificates"
                    .into(),
            );
            false
        }
        Some(v) if v.trim().eq_ignore_ascii_case("https") => true,
        Some(v) => {
            return Err(ConfigError::InvalidValue {
                key: "ssl.endpoint.identification.algorithm".into(),
                value: v.clone(),
                expected: "https, or empty to turn host name verification off".into(),
            })
        }
    };

    let mut versions = TlsVersions {
        tls12: true,
        tls13: true,
    };
    if let Some(list) = props.get("ssl.enabled.protocols") {
        versions = TlsVersions {
            tls12: false,
            tls13: false,
        };
        for p in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match p {
                "TLSv1.2" => versions.tls12 = true,
                "TLSv1.3" => versions.tls13 = true,
                other => warnings.push(format!(
                    "ssl.enabled.protocols: {other} is not supported and is skipped (TLSv1.2 and TLSv1.3 only)"
                )),
            }
        }
        if !versions.tls12 && !versions.tls13 {
            return Err(ConfigError::InvalidValue {
                key: "ssl.enabled.protocols".into(),
                value: list.clone(),
                expected: "a list including TLSv1.2 or TLSv1.3".into(),
            });
        }
    }
    if let Some(p) = props.get("ssl.protocol") {
        if !matches!(p.trim(), "TLSv1.2" | "TLSv1.3" | "TLS") {
            return Err(ConfigError::InvalidValue {
                key: "ssl.protocol".into(),
                value: p.clone(),
                expected: "TLSv1.2, TLSv1.3 or TLS".into(),
            });
        }
    }
    let cipher_suites = match non_empty(props, "ssl.cipher.suites") {
        None => None,
        Some(list) => {
            let mut names = Vec::new();
            for name in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                if !SUPPORTED_CIPHER_SUITES.contains(&name) {
                    return Err(ConfigError::Unsupported {
                        key: "ssl.cipher.suites".into(),
                        value: name.into(),
                        hint: format!("supported suites: {}", SUPPORTED_CIPHER_SUITES.join(", ")),
                    });
                }
                names.push(name.to_string());
            }
            Some(names)
        }
    };

    Ok(TlsConfig {
        trust,
        identity,
        hostname_verification,
        versions,
        cipher_suites,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Copies of the spec vectors (`spec/vectors/`), kept in the repository so the tests do
    /// not depend on where the spec lives.
    fn vector_file(name: &str) -> Option<String> {
        match name {
            "command-config-cases.json" => {
                Some(include_str!("../../fixtures/vectors/command-config-cases.json").to_string())
            }
            "command-config-scram-pem.properties" => Some(
                include_str!("../../fixtures/vectors/command-config-scram-pem.properties")
                    .to_string(),
            ),
            _ => None,
        }
    }

    fn case(id: &str) -> Option<serde_json::Value> {
        let text = vector_file("command-config-cases.json")?;
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
    }

    const P01_TEXT: &str = "# admin client for prod\nsecurity.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n    username=\"admin\" \\\n    password=\"p@ss;w=rd\";\nssl.truststore.type=PEM\nssl.truststore.location=/etc/kafka/ca.pem\nssl.endpoint.identification.algorithm=\nclient.id=kafka-replan\n";

    #[test]
    fn f_d7_p01_scram_pem_properties_file() {
        let text = vector_file("command-config-scram-pem.properties").unwrap_or(P01_TEXT.into());
        assert_eq!(text, P01_TEXT, "vector file changed");
        let props = parse_properties(&text).unwrap();
        let expected: BTreeMap<String, String> = match case("P01") {
            Some(c) => c["expect"]["properties"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect(),
            None => props.clone(),
        };
        assert_eq!(props, expected);
        let jaas = parse_jaas_config(&props["sasl.jaas.config"]).unwrap();
        assert_eq!(
            jaas.login_module,
            "org.apache.kafka.common.security.scram.ScramLoginModule"
        );
        assert_eq!(jaas.control_flag, ControlFlag::Required);
        assert_eq!(jaas.options["username"], "admin");
        assert_eq!(jaas.options["password"], "p@ss;w=rd");

        let cfg = ClientConfig::from_properties(&props).unwrap();
        assert_eq!(cfg.security_protocol, SecurityProtocol::SaslSsl);
        let sasl = cfg.sasl.as_ref().unwrap();
        assert_eq!(sasl.mechanism, SaslMechanism::ScramSha512);
        assert_eq!(sasl.username, "admin");
        assert_eq!(sasl.password.expose(), "p@ss;w=rd");
        let tls = cfg.tls.as_ref().unwrap();
        assert_eq!(tls.trust, TrustSource::PemFile("/etc/kafka/ca.pem".into()));
        assert!(!tls.hostname_verification);
        assert!(cfg.warnings.iter().any(|w| w.contains("not checked")));
        assert_eq!(cfg.client_id, "kafka-replan");
    }

    #[test]
    fn f_d7_p02_plain_sasl_plaintext() {
        let text = "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\" password=\"alice-secret\";\n";
        if let Some(c) = case("P02") {
            assert_eq!(c["properties_text"], text);
        }
        let cfg = ClientConfig::from_properties_text(text).unwrap();
        assert_eq!(cfg.security_protocol, SecurityProtocol::SaslPlaintext);
        assert!(cfg.tls.is_none());
        let sasl = cfg.sasl.unwrap();
        assert_eq!(sasl.mechanism, SaslMechanism::Plain);
        let bytes = crate::kafka::sasl::plain_message(&sasl.username, &sasl.password);
        assert_eq!(
            bytes,
            b"\x00alice\x00alice-secret".to_vec(),
            "P02 plain_auth_bytes_hex 00616c69636500616c6963652d736563726574"
        );
    }

    #[test]
    fn f_d7_p03_mtls_pem_keystore_file() {
        let text = "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=/etc/kafka/ca.pem\nssl.keystore.type=PEM\nssl.keystore.location=/etc/kafka/client.pem\nssl.key.password=changeit\n";
        if let Some(c) = case("P03") {
            assert_eq!(c["properties_text"], text);
        }
        let cfg = ClientConfig::from_properties_text(text).unwrap();
        assert!(cfg.sasl.is_none());
        let tls = cfg.tls.unwrap();
        assert!(tls.hostname_verification);
        assert_eq!(tls.trust, TrustSource::PemFile("/etc/kafka/ca.pem".into()));
        match tls.identity.unwrap() {
            ClientIdentity::PemFile { path, key_password } => {
                assert_eq!(path, PathBuf::from("/etc/kafka/client.pem"));
                assert_eq!(key_password.unwrap().expose(), "changeit");
            }
            other => panic!("unexpected identity {other:?}"),
        }
    }

    #[test]
    fn f_d7_p04_jks_truststore_refused_with_pem_hint() {
        let text = "security.protocol=SSL\nssl.truststore.location=/etc/kafka/truststore.jks\nssl.truststore.password=changeit\n";
        if let Some(c) = case("P04") {
            assert_eq!(c["properties_text"], text);
        }
        let err = ClientConfig::from_properties_text(text).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("ssl.truststore.type"), "{msg}");
        assert!(msg.contains("PEM"), "{msg}");
        assert!(msg.contains("keytool -exportcert -rfc"), "{msg}");
        assert!(!msg.contains("changeit"), "{msg}");
    }

    #[test]
    fn f_d7_p05_gssapi_default_refused() {
        let text = "security.protocol=SASL_PLAINTEXT\nsasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;\n";
        if let Some(c) = case("P05") {
            assert_eq!(c["properties_text"], text);
        }
        let msg = ClientConfig::from_properties_text(text)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("GSSAPI"), "{msg}");
        assert!(
            msg.contains("PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512"),
            "{msg}"
        );
        let oauth = "security.protocol=SASL_SSL\nsasl.mechanism=OAUTHBEARER\n";
        let msg = ClientConfig::from_properties_text(oauth)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("OAUTHBEARER"), "{msg}");
    }

    #[test]
    fn f_d7_p06_jaas_missing_semicolon() {
        let text = "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"a\" password=\"b\"\n";
        let props = parse_properties(text).unwrap();
        let err = parse_jaas_config(&props["sasl.jaas.config"]).unwrap_err();
        let expected = case("P06")
            .map(|c| c["expect"]["message"].as_str().unwrap().to_string())
            .unwrap_or("JAAS config entry not terminated by semi-colon".into());
        assert_eq!(err, ConfigError::Jaas(expected));
    }

    #[test]
    fn f_d7_p07_jaas_bad_control_flag() {
        let text = "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule mandatory username=\"a\" password=\"b\";\n";
        let props = parse_properties(text).unwrap();
        let err = parse_jaas_config(&props["sasl.jaas.config"]).unwrap_err();
        let expected = case("P07")
            .map(|c| c["expect"]["message"].as_str().unwrap().to_string())
            .unwrap_or("Invalid login module control flag 'mandatory' in JAAS config".into());
        assert_eq!(err, ConfigError::Jaas(expected));
        // Through the config builder the same message surfaces.
        let full = format!("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n{text}");
        let msg = ClientConfig::from_properties_text(&full)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("Invalid login module control flag 'mandatory'"),
            "{msg}"
        );
    }

    #[test]
    fn f_d7_p08_pem_truststore_password_invalid() {
        let text = "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=/etc/kafka/ca.pem\nssl.truststore.password=x\n";
        let expected = case("P08")
            .map(|c| c["expect"]["message"].as_str().unwrap().to_string())
            .unwrap_or("SSL trust store password cannot be specified for PEM format.".into());
        let err = ClientConfig::from_properties_text(text).unwrap_err();
        assert_eq!(err.to_string(), expected);
    }

    #[test]
    fn f_d7_all_vector_cases_covered() {
        // Every P case in the vector file has a test above.
        if let Some(text) = vector_file("command-config-cases.json") {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            let ids: Vec<&str> = v["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap())
                .collect();
            assert_eq!(
                ids,
                ["P01", "P02", "P03", "P04", "P05", "P06", "P07", "P08"]
            );
        }
    }

    #[test]
    fn properties_syntax() {
        let text = "a=1\nb : 2\nc 3\n  d=4  \n! bang comment\n# hash\n\ne\nf=x\\\n   y\\\\\ng=\\t\\u0041\\q\nh\\=k=v\ni=a\\\n#notcomment\nkey\\ with\\ space = v\r\nj:=x\n";
        let p = parse_properties(text).unwrap();
        assert_eq!(p["a"], "1");
        assert_eq!(p["b"], "2");
        assert_eq!(p["c"], "3");
        assert_eq!(p["d"], "4  ");
        assert_eq!(p["e"], "");
        assert_eq!(p["f"], "xy\\");
        assert_eq!(p["g"], "\tAq");
        assert_eq!(p["h=k"], "v");
        assert_eq!(p["i"], "a#notcomment");
        assert_eq!(p["key with space"], "v");
        assert_eq!(p["j"], "=x");
        assert!(!p.contains_key("!"));
        assert!(parse_properties("x=\\u12").is_err());
        // A comment line ending in a backslash does not continue.
        let p = parse_properties("# c \\\nz=1\n").unwrap();
        assert_eq!(p["z"], "1");
        // Continuation at end of file.
        let p = parse_properties("k=v\\").unwrap();
        assert_eq!(p["k"], "v");
    }

    #[test]
    fn jaas_grammar() {
        let e = parse_jaas_config(
            "org.x.ScramLoginModule REQUIRED /* c */ username='a\\'b' // line\n password=\"p\\\"w\" tokenauth=true;",
        )
        .unwrap();
        assert_eq!(e.options["username"], "a'b");
        assert_eq!(e.options["password"], "p\"w");
        assert_eq!(e.options["tokenauth"], "true");
        assert_eq!(
            parse_jaas_config("m required key;").unwrap_err(),
            ConfigError::Jaas("Value not specified for key 'key' in JAAS config".into())
        );
        assert!(parse_jaas_config("").is_err());
        assert!(parse_jaas_config("a required; b required;")
            .unwrap_err()
            .to_string()
            .contains("2 login modules"));
        assert!(parse_jaas_config("m").is_err());
    }

    #[test]
    fn secret_never_formatted() {
        let text = "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-256\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"hunter2-very-secret\";\nssl.truststore.type=PEM\nssl.truststore.location=/ca.pem\nssl.keystore.type=PEM\nssl.keystore.key=KEYMATERIAL-secret\nssl.keystore.certificate.chain=CHAIN\nssl.key.password=keypass-secret\n";
        let cfg = ClientConfig::from_properties_text(text).unwrap();
        let dbg = format!("{cfg:?} {cfg:#?}");
        for secret in [
            "hunter2-very-secret",
            "KEYMATERIAL-secret",
            "keypass-secret",
        ] {
            assert!(!dbg.contains(secret), "{secret} leaked in {dbg}");
        }
        let s = Secret::new("pw");
        assert_eq!(format!("{s} {s:?}"), "[redacted] Secret([redacted])");
        let entry = parse_jaas_config("m required password=\"hunter2\";").unwrap();
        assert!(!format!("{entry:?}").contains("hunter2"));
    }

    #[test]
    fn ssl_rules() {
        let base = "security.protocol=SSL\n";
        // No trust store: system roots, host names verified.
        let cfg = ClientConfig::from_properties_text(base).unwrap();
        let tls = cfg.tls.unwrap();
        assert_eq!(tls.trust, TrustSource::System);
        assert!(tls.hostname_verification);
        // Keystore JKS refused with the openssl hint.
        let msg = ClientConfig::from_properties_text(&format!(
            "{base}ssl.keystore.location=/k.jks\nssl.keystore.password=pw\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(msg.contains("openssl pkcs12"), "{msg}");
        // PEM keystore with a store password is invalid.
        assert!(ClientConfig::from_properties_text(&format!(
            "{base}ssl.keystore.type=PEM\nssl.keystore.location=/k.pem\nssl.keystore.password=pw\n"
        ))
        .is_err());
        // Unknown cipher suite.
        assert!(ClientConfig::from_properties_text(&format!(
            "{base}ssl.cipher.suites=TLS_RSA_WITH_RC4_128_MD5\n"
        ))
        .is_err());
        // Unsupported key that matters.
        assert!(ClientConfig::from_properties_text("bootstrap.controllers=h:9093\n").is_err());
        // Unknown keys are noted, not errors.
        let cfg = ClientConfig::from_properties_text("retries=3\nssl.provider=X\n").unwrap();
        assert_eq!(cfg.notes, ["retries is ignored"]);
        assert_eq!(cfg.warnings.len(), 1);
        // Bad endpoint algorithm value.
        assert!(ClientConfig::from_properties_text(&format!(
            "{base}ssl.endpoint.identification.algorithm=ldap\n"
        ))
        .is_err());
        // SASL without a JAAS config.
        let msg = ClientConfig::from_properties_text(
            "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n",
        )
        .unwrap_err()
        .to_string();
        assert!(msg.contains("sasl.jaas.config"), "{msg}");
    }

    #[test]
    fn max_response_bytes_property() {
        assert_eq!(
            ClientConfig::default().max_response_bytes,
            DEFAULT_MAX_RESPONSE_BYTES
        );
        let cfg = ClientConfig::from_properties_text("kafka-replan.max.response.bytes=1048576\n")
            .unwrap();
        assert_eq!(cfg.max_response_bytes, 1 << 20);
        assert!(cfg.notes.is_empty(), "{:?}", cfg.notes);
        for bad in ["0", "65535", "2147483648", "-1", "64MiB", ""] {
            let e = ClientConfig::from_properties_text(&format!(
                "kafka-replan.max.response.bytes={bad}\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(
                e.starts_with("kafka-replan.max.response.bytes: invalid value")
                    && e.contains("65536 to 2147483647"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn max_concurrent_requests_property() {
        assert_eq!(ClientConfig::default().max_concurrent_requests, 32);
        let cfg = ClientConfig::from_properties_text(
            "kafka-replan.max.concurrent.requests=1
",
        )
        .unwrap();
        assert_eq!(cfg.max_concurrent_requests, 1);
        assert!(cfg.notes.is_empty(), "{:?}", cfg.notes);
        for bad in ["0", "1025", "-1", "many", ""] {
            let e = ClientConfig::from_properties_text(&format!(
                "kafka-replan.max.concurrent.requests={bad}\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(
                e.starts_with("kafka-replan.max.concurrent.requests: invalid value")
                    && e.contains("1 to 1024"),
                "{bad}: {e}"
            );
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Malformed property files and JAAS strings are errors or values, never panics.
        #[test]
        fn never_panics(text in "(?s).{0,200}", jaas in r#"[a-zA-Z0-9 ;='"\\/*.\n-]{0,80}"#) {
            let _ = parse_properties(&text);
            let _ = ClientConfig::from_properties_text(&text);
            let _ = parse_jaas_config(&jaas);
            let _ = parse_jaas_config(&text);
            let props = format!("security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.jaas.config={jaas}\n");
            let _ = ClientConfig::from_properties_text(&props);
        }

        /// A value written with Java's escaping reads back unchanged.
        #[test]
        fn escaped_values_round_trip(key in "[a-z.]{1,12}", value in "[ -~]{0,40}") {
            let mut escaped = String::new();
            for (i, c) in value.chars().enumerate() {
                match c {
                    '\\' | '#' | '!' | '=' | ':' => { escaped.push('\\'); escaped.push(c) }
                    ' ' if i == 0 => escaped.push_str("\\ "),
                    _ => escaped.push(c),
                }
            }
            let p = parse_properties(&format!("{key}={escaped}\n")).unwrap();
            prop_assert_eq!(&p[&key], &value);
        }
    }
}
