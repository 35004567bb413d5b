//! SASL client messages carried in SaslAuthenticate.AuthBytes (spec §D9): PLAIN (RFC 4616)
//! and SCRAM-SHA-256/512 (RFC 5802, RFC 7677) as Kafka's `ScramSaslClient` speaks them.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

use super::properties::{SaslMechanism, Secret};

/// Kafka's `ScramMechanism.minIterations` for both SHA-256 and SHA-512.
pub const SCRAM_MIN_ITERATIONS: u32 = 4096;

/// Kafka caps iterations too (`ScramMechanism.maxIterations`); a larger count from a broker
/// would only burn CPU.
pub const SCRAM_MAX_ITERATIONS: u32 = 16384;

/// Why a SASL exchange failed on the client side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    #[error("SCRAM server-first message is malformed: {0}")]
    Malformed(String),
    #[error(
        "SCRAM iteration count {got} is below the mechanism minimum {min}: aborting authentication"
    )]
    IterationsTooLow { got: u32, min: u32 },
    #[error("SCRAM iteration count {got} is above the mechanism maximum {max}")]
    IterationsTooHigh { got: u32, max: u32 },
    #[error("SCRAM server nonce does not start with the client nonce")]
    NonceMismatch,
    #[error("SCRAM server requires an unsupported extension")]
    MandatoryExtension,
    #[error("SCRAM authentication failed: server error '{0}'")]
    ServerError(String),
    #[error(
        "SCRAM server signature does not match: the broker did not prove it knows the credentials"
    )]
    ServerSignatureMismatch,
    #[error("SCRAM exchange used out of order")]
    OutOfOrder,
}

/// The PLAIN message: `authzid NUL authcid NUL password` with an empty authzid.
pub fn plain_message(username: &str, password: &Secret) -> Vec<u8> {
    let mut out = Vec::with_capacity(username.len() + password.expose().len() + 2);
    out.push(0);
    out.extend_from_slice(username.as_bytes());
    out.push(0);
    out.extend_from_slice(password.expose().as_bytes());
    out
}

/// SCRAM `saslname` escaping of the user name: `=` → `=3D`, `,` → `=2C`.
pub fn scram_escape_username(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

/// A fresh client nonce: 32 printable characters from the system CSPRNG (Kafka uses a
/// base-36 rendering of 130 random bits; any printable, comma-free string is valid).
pub fn random_nonce() -> Result<String, ring::error::Unspecified> {
    use ring::rand::SecureRandom;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut bytes)?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScramHash {
    Sha256,
    Sha512,
}

impl ScramHash {
    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        // `new_from_slice` accepts keys of any length for HMAC, so the error arm is unreachable
        // in practice; an empty output would then fail signature checks rather than panic.
        match self {
            ScramHash::Sha256 => Hmac::<Sha256>::new_from_slice(key)
                .map(|mut m| {
                    m.update(data);
                    m.finalize().into_bytes().to_vec()
                })
                .unwrap_or_default(),
            ScramHash::Sha512 => Hmac::<Sha512>::new_from_slice(key)
                .map(|mut m| {
                    m.update(data);
                    m.finalize().into_bytes().to_vec()
                })
                .unwrap_or_default(),
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                let mut out = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out.to_vec()
            }
            ScramHash::Sha512 => {
                let mut out = [0u8; 64];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
                out.to_vec()
            }
        }
    }
}

enum ScramState {
    Initial,
    SentFirst,
    SentFinal { server_signature: Vec<u8> },
    Done,
}

/// One SCRAM client exchange: `client_first` → `handle_server_first` (gives the client-final
/// message) → `handle_server_final` (verifies the server signature).
pub struct ScramClient {
    hash: ScramHash,
    username: String,
    password: Secret,
    nonce: String,
    token_auth: bool,
    state: ScramState,
}

impl std::fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramClient")
            .field("hash", &self.hash)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl ScramClient {
    /// `mechanism` must be a SCRAM mechanism; PLAIN yields `None`.
    pub fn new(
        mechanism: SaslMechanism,
        username: &str,
        password: Secret,
        nonce: String,
        token_auth: bool,
    ) -> Option<ScramClient> {
        let hash = match mechanism {
            SaslMechanism::ScramSha256 => ScramHash::Sha256,
            SaslMechanism::ScramSha512 => ScramHash::Sha512,
            SaslMechanism::Plain => return None,
        };
        Some(ScramClient {
            hash,
            username: username.to_string(),
            password,
            nonce,
            token_auth,
            state: ScramState::Initial,
        })
    }

    fn client_first_bare(&self) -> String {
        let mut s = format!(
            "n={},r={}",
            scram_escape_username(&self.username),
            self.nonce
        );
        if self.token_auth {
            s.push_str(",tokenauth=true");
        }
        s
    }

    /// The client-first message (`n,,` gs2 header: no channel binding, no authzid).
    pub fn client_first(&mut self) -> Vec<u8> {
        self.state = ScramState::SentFirst;
        format!("n,,{}", self.client_first_bare()).into_bytes()
    }

    /// Checks the server-first message and returns the client-final message.
    pub fn handle_server_first(&mut self, msg: &[u8]) -> Result<Vec<u8>, SaslError> {
        if !matches!(self.state, ScramState::SentFirst) {
            return Err(SaslError::OutOfOrder);
        }
        let text =
            std::str::from_utf8(msg).map_err(|_| SaslError::Malformed("not UTF-8".into()))?;
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for (i, attr) in text.split(',').enumerate() {
            let (k, v) = attr
                .split_once('=')
                .ok_or_else(|| SaslError::Malformed(format!("attribute '{attr}'")))?;
            match k {
                "m" if i == 0 => return Err(SaslError::MandatoryExtension),
                "e" => return Err(SaslError::ServerError(v.to_string())),
                "r" => nonce = Some(v.to_string()),
                "s" => salt = Some(v.to_string()),
                "i" => iterations = Some(v.to_string()),
                // Unknown optional extensions after the mandatory attributes are allowed.
                _ => {}
            }
        }
        let nonce = nonce.ok_or_else(|| SaslError::Malformed("missing r=".into()))?;
        let salt_b64 = salt.ok_or_else(|| SaslError::Malformed("missing s=".into()))?;
        let iterations: u32 = iterations
            .ok_or_else(|| SaslError::Malformed("missing i=".into()))?
            .parse()
            .map_err(|_| SaslError::Malformed("i= is not a positive integer".into()))?;
        if !nonce.starts_with(&self.nonce) || nonce.len() <= self.nonce.len() {
            return Err(SaslError::NonceMismatch);
        }
        if iterations < SCRAM_MIN_ITERATIONS {
            return Err(SaslError::IterationsTooLow {
                got: iterations,
                min: SCRAM_MIN_ITERATIONS,
            });
        }
        if iterations > SCRAM_MAX_ITERATIONS {
            return Err(SaslError::IterationsTooHigh {
                got: iterations,
                max: SCRAM_MAX_ITERATIONS,
            });
        }
        let salt = B64
            .decode(salt_b64.as_bytes())
            .map_err(|_| SaslError::Malformed("s= is not base64".into()))?;

        let h = self.hash;
        let salted = h.salted_password(self.password.expose().as_bytes(), &salt, iterations);
        let client_key = h.hmac(&salted, b"Client Key");
        let stored_key = h.hash(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{},{}", self.client_first_bare(), text, without_proof);
        let client_signature = h.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = h.hmac(&salted, b"Server Key");
        let server_signature = h.hmac(&server_key, auth_message.as_bytes());
        self.state = ScramState::SentFinal { server_signature };
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// The server signature expected in server-final, once client-final was produced. The
    /// in-process test broker plays the server side with it.
    #[cfg(test)]
    pub(crate) fn expected_server_signature(&self) -> Option<Vec<u8>> {
        match &self.state {
            ScramState::SentFinal { server_signature } => Some(server_signature.clone()),
            _ => None,
        }
    }

    /// Verifies the server-final message (`v=<signature>` or `e=<error>`).
    pub fn handle_server_final(&mut self, msg: &[u8]) -> Result<(), SaslError> {
        let ScramState::SentFinal { server_signature } = &self.state else {
            return Err(SaslError::OutOfOrder);
        };
        let text = std::str::from_utf8(msg)
            .map_err(|_| SaslError::Malformed("server-final is not UTF-8".into()))?;
        let first = text.split(',').next().unwrap_or("");
        if let Some(e) = first.strip_prefix("e=") {
            return Err(SaslError::ServerError(e.to_string()));
        }
        let v = first
            .strip_prefix("v=")
            .ok_or_else(|| SaslError::Malformed("server-final lacks v=".into()))?;
        let got = B64
            .decode(v.as_bytes())
            .map_err(|_| SaslError::Malformed("v= is not base64".into()))?;
        // Compare without an early exit: the signature is a secret-derived value.
        let same = got.len() == server_signature.len()
            && got
                .iter()
                .zip(server_signature)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return Err(SaslError::ServerSignatureMismatch);
        }
        self.state = ScramState::Done;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> Option<serde_json::Value> {
        // A copy of the spec vector file, kept in the repository.
        serde_json::from_str(include_str!("../../fixtures/vectors/sasl-cases.json")).ok()
    }

    fn case(id: &str) -> Option<serde_json::Value> {
        vectors()?["cases"]
            .as_array()?
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
    }

    /// Runs a full SCRAM exchange against the recorded messages.
    fn run_exchange(
        mech: SaslMechanism,
        user: &str,
        password: &str,
        client_first: &str,
        server_first: &str,
        client_final: &str,
        server_final: &str,
    ) {
        let nonce = client_first.rsplit_once("r=").unwrap().1.to_string();
        let mut c = ScramClient::new(mech, user, Secret::new(password), nonce, false).unwrap();
        assert_eq!(String::from_utf8(c.client_first()).unwrap(), client_first);
        let fin = c.handle_server_first(server_first.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(fin).unwrap(), client_final);
        c.handle_server_final(server_final.as_bytes()).unwrap();
    }

    #[test]
    fn f_d6_plain_vector_s01() {
        let bytes = plain_message("alice", &Secret::new("alice-secret"));
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "00616c69636500616c6963652d736563726574");
        if let Some(c) = case("S01") {
            assert_eq!(c["client_message_hex"], hex);
        }
    }

    const S02: [&str; 7] = [
        "user",
        "pencil",
        "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        "SCRAM-SHA-256",
    ];

    const S03: [&str; 7] = [
        "admin",
        "admin-secret",
        "n,,n=admin,r=fyko+d2lbbFgONRv9qkxdawL",
        "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=T+R7ACYhTW17VdE3jcXv94cRFqe2UR4NbqADjWTtPhgGcZQ0nCpy7Gelf0KzsEfC5OtPbvA93/YlyiKKVJlC5g==",
        "v=sFxsgR8dP4+XE8Ov9PMnP47U3cJXP4wlotPIFALG8XKttcvbTflLAyNQVQd41ebwunB9YziAiCDjJ/rNobjZ6Q==",
        "SCRAM-SHA-512",
    ];

    fn check_vector_file(id: &str, v: &[&str; 7]) {
        if let Some(c) = case(id) {
            assert_eq!(c["username"], v[0]);
            assert_eq!(c["password"], v[1]);
            assert_eq!(c["client_first"], v[2]);
            assert_eq!(c["server_first"], v[3]);
            assert_eq!(c["client_final"], v[4]);
            assert_eq!(c["server_final"], v[5]);
            assert_eq!(c["mechanism"], v[6]);
        }
    }

    #[test]
    fn f_d6_scram_sha_256_vector_s02() {
        check_vector_file("S02", &S02);
        run_exchange(
            SaslMechanism::ScramSha256,
            S02[0],
            S02[1],
            S02[2],
            S02[3],
            S02[4],
            S02[5],
        );
    }

    #[test]
    fn f_d6_scram_sha_512_vector_s03() {
        check_vector_file("S03", &S03);
        run_exchange(
            SaslMechanism::ScramSha512,
            S03[0],
            S03[1],
            S03[2],
            S03[3],
            S03[4],
            S03[5],
        );
    }

    #[test]
    fn f_d6_scram_username_escaping_s04() {
        let mut c = ScramClient::new(
            SaslMechanism::ScramSha256,
            "a=b,c",
            Secret::new("x"),
            "NONCE".into(),
            false,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(c.client_first()).unwrap(),
            "n,,n=a=3Db=2Cc,r=NONCE"
        );
        if let Some(v) = case("S04") {
            let expected = v["client_first_bare"]
                .as_str()
                .unwrap()
                .replace("<nonce>", "NONCE");
            assert_eq!(c.client_first_bare(), expected);
        }
    }

    #[test]
    fn f_d6_scram_low_iterations_abort_s05() {
        let server_first = case("S05")
            .map(|c| c["server_first"].as_str().unwrap().to_string())
            .unwrap_or("r=<cnonce><snonce>,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1024".into())
            .replace("<cnonce>", "CN")
            .replace("<snonce>", "SN");
        let mut c = ScramClient::new(
            SaslMechanism::ScramSha256,
            "u",
            Secret::new("p"),
            "CN".into(),
            false,
        )
        .unwrap();
        c.client_first();
        assert_eq!(
            c.handle_server_first(server_first.as_bytes()).unwrap_err(),
            SaslError::IterationsTooLow {
                got: 1024,
                min: 4096
            }
        );
    }

    #[test]
    fn scram_rejects_bad_server_messages() {
        let new = || {
            let mut c = ScramClient::new(
                SaslMechanism::ScramSha256,
                "user",
                Secret::new("pencil"),
                "rOprNGfwEbeRWgbNEkqO".into(),
                false,
            )
            .unwrap();
            c.client_first();
            c
        };
        // Nonce not prefixed by ours.
        assert_eq!(
            new()
                .handle_server_first(b"r=other,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
                .unwrap_err(),
            SaslError::NonceMismatch
        );
        // Server error.
        assert!(matches!(
            new().handle_server_first(b"e=invalid-proof").unwrap_err(),
            SaslError::ServerError(_)
        ));
        // Wrong server signature.
        let mut c = new();
        c.handle_server_first(S02[3].as_bytes()).unwrap();
        assert_eq!(
            c.handle_server_final(b"v=AAAA").unwrap_err(),
            SaslError::ServerSignatureMismatch
        );
        // Garbage never panics.
        for garbage in [&b""[..], b",,,", b"\xff\xfe", b"r=", b"i=99999999999999"] {
            let _ = new().handle_server_first(garbage);
        }
        let mut c = new();
        c.handle_server_first(S02[3].as_bytes()).unwrap();
        assert!(c.handle_server_final(b"e=other-error").is_err());
    }

    #[test]
    fn token_auth_extension() {
        let mut c = ScramClient::new(
            SaslMechanism::ScramSha512,
            "tok",
            Secret::new("hmac"),
            "N".into(),
            true,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(c.client_first()).unwrap(),
            "n,,n=tok,r=N,tokenauth=true"
        );
        let n = random_nonce().unwrap();
        assert_eq!(n.len(), 32);
        assert!(!n.contains(','));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever a broker sends as server-first/server-final, the client errors or
        /// proceeds, never panics.
        #[test]
        fn scram_never_panics(first in proptest::collection::vec(any::<u8>(), 0..120),
                              fin in proptest::collection::vec(any::<u8>(), 0..120),
                              iters in 0u32..20000) {
            let mut c = ScramClient::new(SaslMechanism::ScramSha256, "u", Secret::new("p"), "N".into(), false).unwrap();
            c.client_first();
            let _ = c.handle_server_first(&first);
            let _ = c.handle_server_final(&fin);
            let mut c = ScramClient::new(SaslMechanism::ScramSha512, "u", Secret::new("p"), "N".into(), false).unwrap();
            c.client_first();
            let msg = format!("r=Nx,s=c2FsdA==,i={iters}");
            if c.handle_server_first(msg.as_bytes()).is_ok() {
                prop_assert!((SCRAM_MIN_ITERATIONS..=SCRAM_MAX_ITERATIONS).contains(&iters));
                let _ = c.handle_server_final(&fin);
            } else {
                prop_assert!(!(SCRAM_MIN_ITERATIONS..=SCRAM_MAX_ITERATIONS).contains(&iters));
            }
        }
    }
}
