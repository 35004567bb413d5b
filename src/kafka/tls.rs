//! TLS client context from the `ssl.*` properties: PEM trust and key material (read with a
//! parser as tolerant as Kafka's), TLS 1.2/1.3 on rustls with the `ring` provider, and an
//! optional verifier that skips only the host name check.

use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
    ServerName, UnixTime,
};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::properties::{ClientIdentity, Secret, TlsConfig, TrustSource};

/// Why the TLS context could not be built. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    #[error("{what}: cannot read {path}: {reason}")]
    Read {
        what: &'static str,
        path: String,
        reason: String,
    },
    #[error("{what}: {reason}")]
    Pem { what: &'static str, reason: String },
    #[error("{0}")]
    Rustls(String),
}

/// One PEM block: its label (`CERTIFICATE`, `PRIVATE KEY`, ...) and decoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemBlock {
    pub label: String,
    pub der: Vec<u8>,
}

/// Parses every PEM block in `text`. Whitespace of any kind (or none) is allowed inside the
/// base64 body, because inline PEM values arrive with their line breaks removed by the
/// Properties line joining (§D10). Text outside blocks is ignored.
pub fn parse_pem(text: &str) -> Result<Vec<PemBlock>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let label_end = after
            .find("-----")
            .ok_or_else(|| "unterminated PEM BEGIN line".to_string())?;
        let label = after[..label_end].trim().to_string();
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let body_end = body_start
            .find(&end_marker)
            .ok_or_else(|| format!("PEM block '{label}' has no END line"))?;
        let body: String = body_start[..body_end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = B64
            .decode(body.as_bytes())
            .map_err(|e| format!("PEM block '{label}' is not valid base64: {e}"))?;
        out.push(PemBlock { label, der });
        rest = &body_start[body_end + end_marker.len()..];
    }
    Ok(out)
}

fn read_file(what: &'static str, path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|e| TlsError::Read {
        what,
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn certificates(what: &'static str, text: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let blocks = parse_pem(text).map_err(|reason| TlsError::Pem { what, reason })?;
    let certs: Vec<CertificateDer<'static>> = blocks
        .into_iter()
        .filter(|b| b.label == "CERTIFICATE" || b.label == "TRUSTED CERTIFICATE")
        .map(|b| CertificateDer::from(b.der))
        .collect();
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what,
            reason: "no CERTIFICATE block found".into(),
        });
    }
    Ok(certs)
}

fn private_key(
    what: &'static str,
    text: &str,
    key_password: Option<&Secret>,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    // The parser's messages name labels only, never the body.
    let blocks = parse_pem(text).map_err(|reason| TlsError::Pem { what, reason })?;
    for b in blocks {
        match b.label.as_str() {
            "PRIVATE KEY" => return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(b.der))),
            "RSA PRIVATE KEY" => return Ok(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(b.der))),
            "EC PRIVATE KEY" => return Ok(PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(b.der))),
            "ENCRYPTED PRIVATE KEY" => {
                let Some(password) = key_password else {
                    return Err(TlsError::Pem {
                        what,
                        reason: "the private key is encrypted: set ssl.key.password".into(),
                    });
                };
                return decrypt_pkcs8(what, &b.der, password);
            }
            _ => {}
        }
    }
    Err(TlsError::Pem {
        what,
        reason: "no PRIVATE KEY block found".into(),
    })
}

/// Decrypts an `ENCRYPTED PRIVATE KEY` (PKCS#8 with PBES2: PBKDF2 or scrypt, AES-CBC), as
/// Kafka does with `ssl.key.password`.
fn decrypt_pkcs8(
    what: &'static str,
    der: &[u8],
    password: &Secret,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der).map_err(|e| TlsError::Pem {
        what,
        reason: format!("ENCRYPTED PRIVATE KEY is not valid PKCS#8: {e}"),
    })?;
    let doc = info
        .decrypt(password.expose().as_bytes())
        .map_err(|e| TlsError::Pem {
            what,
            reason: format!(
                "cannot decrypt the private key with ssl.key.password ({e}); supported: PBES2 \
                 (PBKDF2-HMAC-SHA256 or scrypt with AES-CBC), e.g. `openssl pkcs8 -topk8 -v2 \
                 aes-256-cbc`"
            ),
        })?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        doc.as_bytes().to_vec(),
    )))
}

/// Well-known locations of the system CA bundle (Debian/Ubuntu, RHEL/Fedora, Alpine/macOS).
const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

fn system_roots() -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let from_env = std::env::var("SSL_CERT_FILE").ok();
    let candidates = from_env
        .iter()
        .map(String::as_str)
        .chain(SYSTEM_CA_BUNDLES.iter().copied());
    for path in candidates {
        if let Ok(text) = std::fs::read_to_string(path) {
            return certificates("system CA bundle", &text);
        }
    }
    Err(TlsError::Pem {
        what: "ssl.truststore.location",
        reason: "no truststore configured and no system CA bundle found; set \
                 ssl.truststore.type=PEM and ssl.truststore.location"
            .into(),
    })
}

/// Accepts certificates that chain to the trusted roots whatever name they carry: what
/// Kafka does with `ssl.endpoint.identification.algorithm=` (empty).
#[derive(Debug)]
struct NoHostnameVerifier {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for NoHostnameVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// rustls' names for TLS 1.3 suites carry a `TLS13_` prefix; IANA's do not.
fn rustls_suite_name(iana: &str) -> String {
    match iana {
        "TLS_AES_128_GCM_SHA256" | "TLS_AES_256_GCM_SHA384" | "TLS_CHACHA20_POLY1305_SHA256" => {
            format!("TLS13_{}", &iana["TLS_".len()..])
        }
        other => other.to_string(),
    }
}

/// Builds the rustls client configuration. Reads the PEM files named in the config.
pub fn client_config(cfg: &TlsConfig) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(names) = &cfg.cipher_suites {
        let wanted: Vec<String> = names.iter().map(|n| rustls_suite_name(n)).collect();
        provider.cipher_suites.retain(|s| {
            s.suite()
                .as_str()
                .is_some_and(|n| wanted.iter().any(|w| w == n))
        });
        if provider.cipher_suites.is_empty() {
            return Err(TlsError::Rustls(
                "ssl.cipher.suites leaves no cipher suite rustls supports".into(),
            ));
        }
    }
    let provider = Arc::new(provider);

    let roots_der = match &cfg.trust {
        TrustSource::System => system_roots()?,
        TrustSource::PemFile(path) => certificates(
            "ssl.truststore.location",
            &read_file("ssl.truststore.location", path)?,
        )?,
        TrustSource::PemInline(text) => certificates("ssl.truststore.certificates", text)?,
    };
    let mut roots = RootCertStore::empty();
    let (_added, ignored) = roots.add_parsable_certificates(roots_der);
    if roots.is_empty() {
        return Err(TlsError::Pem {
            what: "truststore",
            reason: format!("none of the {ignored} certificates could be used as a trust anchor"),
        });
    }
    let roots = Arc::new(roots);

    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    if cfg.versions.tls13 {
        versions.push(&rustls::version::TLS13);
    }
    if cfg.versions.tls12 {
        versions.push(&rustls::version::TLS12);
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| TlsError::Rustls(format!("TLS versions/cipher suites: {e}")))?;

    let builder = if cfg.hostname_verification {
        builder.with_root_certificates(roots)
    } else {
        let inner = WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|e| TlsError::Rustls(format!("certificate verifier: {e}")))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoHostnameVerifier { inner }))
    };

    let config = match &cfg.identity {
        None => builder.with_no_client_auth(),
        Some(identity) => {
            let (chain, key) = match identity {
                ClientIdentity::PemFile { path, key_password } => {
                    let text = read_file("ssl.keystore.location", path)?;
                    (
                        certificates("ssl.keystore.location", &text)?,
                        private_key("ssl.keystore.location", &text, key_password.as_ref())?,
                    )
                }
                ClientIdentity::PemInline {
                    chain,
                    key,
                    key_password,
                } => (
                    certificates("ssl.keystore.certificate.chain", chain)?,
                    private_key("ssl.keystore.key", key.expose(), key_password.as_ref())?,
                ),
            };
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TlsError::Rustls(format!("client certificate: {e}")))?
        }
    };
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_tolerates_missing_whitespace() {
        let body = B64.encode(b"hello certificate bytes");
        let (a, b) = body.split_at(8);
        let joined = format!("-----BEGIN CERTIFICATE-----{a}{b}-----END CERTIFICATE-----");
        let spaced = format!(
            "junk\n-----BEGIN CERTIFICATE-----\n {a}\n\t{b} \n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----{a}{b}-----END PRIVATE KEY-----"
        );
        let one = parse_pem(&joined).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].der, b"hello certificate bytes");
        let two = parse_pem(&spaced).unwrap();
        assert_eq!(two.len(), 2);
        assert_eq!(two[1].label, "PRIVATE KEY");
        assert!(parse_pem("-----BEGIN CERTIFICATE-----abc").is_err());
        assert!(parse_pem("-----BEGIN CERTIFICATE-----!!!-----END CERTIFICATE-----").is_err());
    }

    #[test]
    fn encrypted_key_needs_password_and_decrypts() {
        let key = rcgen::KeyPair::generate().unwrap();
        let plain = key.serialize_der();
        let info = pkcs8::PrivateKeyInfo::try_from(plain.as_slice()).unwrap();
        let params =
            pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, b"saltsalt", &[7u8; 16])
                .unwrap();
        let enc = info.encrypt_with_params(params, b"changeit").unwrap();
        let pem = format!(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\n{}\n-----END ENCRYPTED PRIVATE KEY-----\n",
            B64.encode(enc.as_bytes())
        );
        let msg = private_key("ssl.keystore.key", &pem, None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("ssl.key.password"), "{msg}");
        let wrong = private_key("ssl.keystore.key", &pem, Some(&Secret::new("nope")))
            .unwrap_err()
            .to_string();
        assert!(wrong.contains("cannot decrypt"), "{wrong}");
        assert!(!wrong.contains("nope"));
        let got = private_key("ssl.keystore.key", &pem, Some(&Secret::new("changeit"))).unwrap();
        assert_eq!(got.secret_der(), plain.as_slice());
    }

    #[test]
    fn missing_truststore_file_is_a_clear_error() {
        let cfg = TlsConfig {
            trust: TrustSource::PemFile("/nonexistent/ca.pem".into()),
            identity: None,
            hostname_verification: true,
            versions: super::super::properties::TlsVersions {
                tls12: true,
                tls13: true,
            },
            cipher_suites: None,
        };
        let msg = client_config(&cfg).unwrap_err().to_string();
        assert!(
            msg.contains("ssl.truststore.location: cannot read /nonexistent/ca.pem"),
            "{msg}"
        );
    }

    mod end_to_end {
        use super::super::super::conn::Connection;
        use super::super::super::properties::ClientConfig;
        use super::super::super::testbroker::{FakeBroker, State};
        use super::*;
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

        struct Pki {
            ca_pem: String,
            server_chain: Vec<CertificateDer<'static>>,
            server_key: PrivateKeyDer<'static>,
            client_pem: String,
            ca_der: CertificateDer<'static>,
        }

        fn pki() -> Pki {
            let ca_key = KeyPair::generate().unwrap();
            let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
            ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let ca_cert = ca_params.self_signed(&ca_key).unwrap();
            let issuer = Issuer::new(ca_params, ca_key);
            let srv_key = KeyPair::generate().unwrap();
            let srv = CertificateParams::new(vec!["localhost".to_string()])
                .unwrap()
                .signed_by(&srv_key, &issuer)
                .unwrap();
            let cli_key = KeyPair::generate().unwrap();
            let cli = CertificateParams::new(vec!["client".to_string()])
                .unwrap()
                .signed_by(&cli_key, &issuer)
                .unwrap();
            Pki {
                ca_pem: ca_cert.pem(),
                ca_der: ca_cert.der().clone(),
                server_chain: vec![srv.der().clone()],
                server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(srv_key.serialize_der())),
                client_pem: format!("{}{}", cli_key.serialize_pem(), cli.pem()),
            }
        }

        fn server_config(pki: &Pki, require_client_cert: bool) -> Arc<rustls::ServerConfig> {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .unwrap();
            let builder = if require_client_cert {
                let mut roots = RootCertStore::empty();
                roots.add(pki.ca_der.clone()).unwrap();
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .unwrap();
                builder.with_client_cert_verifier(verifier)
            } else {
                builder.with_no_client_auth()
            };
            Arc::new(
                builder
                    .with_single_cert(pki.server_chain.clone(), pki.server_key.clone_key())
                    .unwrap(),
            )
        }

        async fn connect(addr: &str, props: &str) -> Result<Connection, crate::kafka::Error> {
            let cfg = ClientConfig::from_properties_text(props).unwrap();
            let tls = client_config(cfg.tls.as_ref().unwrap())?;
            Connection::connect(addr, &cfg, Some(&tls)).await
        }

        #[tokio::test]
        async fn tls_pem_trust_hostname_check_and_mtls() {
            let pki = pki();
            let dir = tempfile::tempdir().unwrap();
            let ca_path = dir.path().join("ca.pem");
            std::fs::write(&ca_path, &pki.ca_pem).unwrap();
            let client_path = dir.path().join("client.pem");
            std::fs::write(&client_path, &pki.client_pem).unwrap();

            let broker = FakeBroker::start_tls(State::default(), server_config(&pki, false)).await;
            let port = broker.port();
            let base = format!(
                "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location={}\nrequest.timeout.ms=3000\n",
                ca_path.display()
            );
            // The certificate names localhost: verified by name.
            connect(&format!("localhost:{port}"), &base).await.unwrap();
            // By IP the name does not match: refused unless the check is turned off.
            let e = connect(&format!("127.0.0.1:{port}"), &base)
                .await
                .unwrap_err();
            assert!(matches!(e, crate::kafka::Error::TlsHandshake { .. }), "{e}");
            let off = format!("{base}ssl.endpoint.identification.algorithm=\n");
            connect(&format!("127.0.0.1:{port}"), &off).await.unwrap();
            // Inline PEM with its line breaks removed (Properties line joining) also works.
            let inline: String = pki.ca_pem.lines().collect::<Vec<_>>().join("");
            let inline_props = format!(
                "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.certificates={inline}\n"
            );
            connect(&format!("localhost:{port}"), &inline_props)
                .await
                .unwrap();

            // A broker that requires a client certificate.
            let mtls = FakeBroker::start_tls(State::default(), server_config(&pki, true)).await;
            let addr = format!("localhost:{}", mtls.port());
            let with_cert = format!(
                "{base}ssl.keystore.type=PEM\nssl.keystore.location={}\n",
                client_path.display()
            );
            connect(&addr, &with_cert).await.unwrap();
            assert!(connect(&addr, &base).await.is_err());
        }

        #[tokio::test]
        async fn tls_client_on_plaintext_listener_hints() {
            let pki = pki();
            let dir = tempfile::tempdir().unwrap();
            let ca_path = dir.path().join("ca.pem");
            std::fs::write(&ca_path, &pki.ca_pem).unwrap();
            let plain = FakeBroker::start(State::default()).await;
            let props = format!(
                "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location={}\nrequest.timeout.ms=500\n",
                ca_path.display()
            );
            let e = connect(&format!("localhost:{}", plain.port()), &props)
                .await
                .unwrap_err();
            assert!(matches!(e, crate::kafka::Error::TlsHandshake { .. }), "{e}");
            assert!(
                e.to_string().contains("does this listener speak TLS"),
                "{e}"
            );
        }

        #[tokio::test]
        async fn tls_untrusted_ca_fails() {
            let pki = pki();
            let other = super::super::super::tls::tests::end_to_end::pki();
            let dir = tempfile::tempdir().unwrap();
            let ca_path = dir.path().join("other-ca.pem");
            std::fs::write(&ca_path, &other.ca_pem).unwrap();
            let broker = FakeBroker::start_tls(State::default(), server_config(&pki, false)).await;
            let props = format!(
                "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location={}\n",
                ca_path.display()
            );
            let e = connect(&format!("localhost:{}", broker.port()), &props)
                .await
                .unwrap_err();
            assert!(e.to_string().contains("TLS handshake"), "{e}");
        }
    }

    #[test]
    fn suite_names_map() {
        assert_eq!(
            rustls_suite_name("TLS_AES_128_GCM_SHA256"),
            "TLS13_AES_128_GCM_SHA256"
        );
        for name in super::super::properties::SUPPORTED_CIPHER_SUITES {
            let n = rustls_suite_name(name);
            assert!(
                rustls::crypto::ring::default_provider()
                    .cipher_suites
                    .iter()
                    .any(|s| s.suite().as_str() == Some(n.as_str())),
                "{name}"
            );
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pem_never_panics(text in "(?s)(-----(BEGIN|END) [A-Z ]{0,12}-----|[A-Za-z0-9+/= \n]{0,30}){0,6}") {
            let _ = parse_pem(&text);
            let _ = certificates("x", &text);
            let _ = private_key("x", &text, None);
        }
    }
}
