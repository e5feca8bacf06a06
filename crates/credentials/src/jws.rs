//! Compact JWS (RFC 7515) with an explicit algorithm allow-list.
//!
//! ```text
//!   "h.p.s" ──decode──▶ DecodedJws ──verify(key, policy)──▶ payload you may trust
//!                         │ header, unverified payload
//!                         └─ `alg: none`, HMAC, unknown `crit`, oversize: refused here
//! ```
//!
//! Keys are always supplied by the caller. A key carried in the header (`jwk`, `x5c`, `jku`) is
//! only *data* here: [`DecodedJws::header`] exposes it, and whether to believe it is the
//! caller's policy (SD-JWT key binding uses `cnf`, never the header).
//!
//! ```
//! use llavero_credentials::crypto::{default_backend, generate_p256, signer_from_jwk};
//! use llavero_credentials::jws::{self, AlgorithmPolicy, DecodedJws, Header, JwsError};
//!
//! let key = generate_p256(Some("k1".into()))?;
//! let signer = signer_from_jwk(&key)?;
//! let jwt = jws::sign_json(Header::new("JWT"), &serde_json::json!({"sub": "ana"}), signer.as_ref())?;
//!
//! let decoded = DecodedJws::decode(&jwt)?;
//! decoded.verify(default_backend(), &key.public(), &AlgorithmPolicy::es256_only())?;
//!
//! // An unsecured JWS is refused whatever key is offered.
//! let forged = format!("eyJhbGciOiJub25lIn0.{}.", jwt.split('.').nth(1).unwrap_or_default());
//! let refused = DecodedJws::decode(&forged)?.verify(default_backend(), &key.public(), &AlgorithmPolicy::default());
//! assert_eq!(refused, Err(JwsError::AlgorithmNone));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::b64;
use crate::crypto::{Algorithm, CryptoBackend, CryptoError, Signer};
use crate::json::{self, JsonError};
use crate::jwk::Jwk;

mod header_text;

/// The largest compact JWS accepted: 64 KiB. Credentials in the wild are a few KiB; a status
/// list JWT for a million entries at 1 bit compresses to far less.
pub const MAX_COMPACT_LEN: usize = 64 * 1024;

/// Why a JWS was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwsError {
    /// The input is longer than allowed.
    #[error("JWS is {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not three base64url parts with a JSON header.
    #[error("malformed JWS: {0}")]
    Malformed(String),
    /// `alg: none` (an unsecured JWS) is never accepted.
    #[error("unsecured JWS (alg none) refused")]
    AlgorithmNone,
    /// An algorithm that is not on the allow-list (HMAC, RSA, unknown names).
    #[error("algorithm {0:?} is not allowed")]
    UnsupportedAlgorithm(String),
    /// A `crit` header names an extension this library does not implement (RFC 7515 §4.1.11).
    #[error("critical header {0:?} is not understood")]
    UnknownCritical(String),
    /// The header `typ` is not the one the format requires.
    #[error("expected typ {expected:?}, found {found:?}")]
    WrongType {
        /// The accepted value(s).
        expected: String,
        /// The value found.
        found: Option<String>,
    },
    /// The key does not suit the header's algorithm (algorithm confusion), or the key is
    /// restricted to another algorithm by its own `alg`.
    #[error("a {key} key cannot verify {alg}")]
    KeyMismatch {
        /// The header's algorithm.
        alg: Algorithm,
        /// The kind of key.
        key: &'static str,
    },
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// A signer failed.
    #[error(transparent)]
    Crypto(CryptoError),
}

impl From<JsonError> for JwsError {
    fn from(e: JsonError) -> Self {
        Self::Malformed(e.to_string())
    }
}

impl From<CryptoError> for JwsError {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::BadSignature => Self::BadSignature,
            CryptoError::KeyMismatch { alg, key } => Self::KeyMismatch { alg, key },
            other => Self::Crypto(other),
        }
    }
}

/// The JOSE header members Llavero reads, plus any others, kept for the caller.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// `alg`: the algorithm name as written.
    pub alg: String,
    /// `typ`: the media type of the whole JWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// `cty`: the media type of the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cty: Option<String>,
    /// `kid`: which of the signer's keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// `jwk`: a key carried in the header (untrusted by itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwk: Option<Value>,
    /// `x5c`: a certificate chain (untrusted by itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
    /// `jku`: a URL of keys; never fetched by this library.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jku: Option<String>,
    /// `crit`: extensions the verifier must understand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<Vec<String>>,
    /// Every other member.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Header {
    /// Parses a header's JSON text, reading the members Llavero knows straight into their
    /// fields; only the others are kept as values in `other`. (Done by hand: serde's
    /// `flatten` buffers every member, and an intermediate map costs an allocation per member,
    /// more than the rest of decoding.) A member given twice counts as its last occurrence, as
    /// in a JSON object parsed into a map.
    fn parse(bytes: &[u8]) -> Result<Self, JwsError> {
        if json::depth(bytes) > json::MAX_DEPTH {
            return Err(JsonError::TooDeep.into());
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let members = serde::Deserializer::deserialize_any(&mut de, header_text::MembersVisitor)
            .and_then(|members| de.end().map(|()| members))
            .map_err(|e| JwsError::from(JsonError::Invalid(e.to_string())))?;
        members
            .ok_or_else(|| JwsError::Malformed("header is not a JSON object".into()))?
            .into_header()
    }

    /// A header with `typ` for a signer's algorithm; the caller adds `kid` or others.
    #[must_use]
    pub fn new(typ: &str) -> Self {
        Self {
            typ: Some(typ.to_owned()),
            ..Self::default()
        }
    }

    /// Refuses the JWS unless `typ` is one of `accepted` (compared case-insensitively, as
    /// media types are; RFC 7515 §4.1.9).
    pub fn expect_typ(&self, accepted: &[&str]) -> Result<(), JwsError> {
        match &self.typ {
            Some(t) if accepted.iter().any(|a| a.eq_ignore_ascii_case(t)) => Ok(()),
            found => Err(JwsError::WrongType {
                expected: accepted.join(" or "),
                found: found.clone(),
            }),
        }
    }
}

/// Which algorithms a verifier accepts. Defaults to ES256, ES384 and EdDSA.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AlgorithmPolicy {
    /// The accepted algorithms.
    pub allowed: Vec<Algorithm>,
}

impl Default for AlgorithmPolicy {
    fn default() -> Self {
        Self {
            allowed: vec![Algorithm::Es256, Algorithm::Es384, Algorithm::EdDsa],
        }
    }
}

impl AlgorithmPolicy {
    /// Only ES256 (HAIP's profile, and what Llavero issues).
    #[must_use]
    pub fn es256_only() -> Self {
        Self {
            allowed: vec![Algorithm::Es256],
        }
    }

    /// The allowed algorithm named by `alg`, or the reason it is refused.
    pub fn check(&self, alg: &str) -> Result<Algorithm, JwsError> {
        if alg.eq_ignore_ascii_case("none") {
            return Err(JwsError::AlgorithmNone);
        }
        Algorithm::from_name(alg)
            .filter(|a| self.allowed.contains(a))
            .ok_or_else(|| JwsError::UnsupportedAlgorithm(alg.to_owned()))
    }
}

/// A compact JWS split and decoded, not yet verified.
#[derive(Debug, Clone)]
pub struct DecodedJws {
    header: Header,
    payload: Vec<u8>,
    signature: Vec<u8>,
    signing_input: String,
}

impl DecodedJws {
    /// Splits and decodes `compact`, refusing oversize input, bad base64url, a non-JSON header,
    /// and unknown `crit` extensions.
    pub fn decode(compact: &str) -> Result<Self, JwsError> {
        Self::decode_with_limit(compact, MAX_COMPACT_LEN)
    }

    /// As [`DecodedJws::decode`] with another size limit, for documents that are legitimately
    /// larger than a credential (a status list of millions of entries).
    pub fn decode_with_limit(compact: &str, max: usize) -> Result<Self, JwsError> {
        if compact.len() > max {
            return Err(JwsError::TooLarge {
                len: compact.len(),
                max,
            });
        }
        let (signing_input, sig) = compact
            .rsplit_once('.')
            .ok_or_else(|| JwsError::Malformed("expected three dot-separated parts".into()))?;
        let (header_b64, payload_b64) = signing_input
            .split_once('.')
            .ok_or_else(|| JwsError::Malformed("expected three dot-separated parts".into()))?;
        if payload_b64.contains('.') {
            return Err(JwsError::Malformed("more than three parts".into()));
        }
        let header_bytes =
            b64::decode(header_b64).map_err(|e| JwsError::Malformed(format!("header: {e}")))?;
        let header = Header::parse(&header_bytes)?;
        if let Some(crit) = &header.crit {
            // Llavero implements no JWS extension, so any critical one must be refused.
            let first = crit
                .first()
                .cloned()
                .unwrap_or_else(|| "(empty crit)".into());
            return Err(JwsError::UnknownCritical(first));
        }
        let payload =
            b64::decode(payload_b64).map_err(|e| JwsError::Malformed(format!("payload: {e}")))?;
        let signature =
            b64::decode(sig).map_err(|e| JwsError::Malformed(format!("signature: {e}")))?;
        Ok(Self {
            header,
            payload,
            signature,
            signing_input: signing_input.to_owned(),
        })
    }

    /// The protected header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The protected header, moved out: for a caller done with the rest.
    pub(crate) fn into_header(self) -> Header {
        self.header
    }

    /// The payload bytes, **not yet authenticated**: read them to find which key to use, never
    /// to decide anything else.
    #[must_use]
    pub fn unverified_payload(&self) -> &[u8] {
        &self.payload
    }

    /// The payload parsed as a JSON value, not yet authenticated.
    pub fn unverified_value(&self) -> Result<Value, JwsError> {
        Ok(json::parse_value(&self.payload)?)
    }

    /// The payload parsed as JSON, not yet authenticated.
    pub fn unverified_claims<T: serde::de::DeserializeOwned>(&self) -> Result<T, JwsError> {
        Ok(json::from_slice(&self.payload)?)
    }

    /// The header's algorithm if `policy` allows it.
    pub fn algorithm(&self, policy: &AlgorithmPolicy) -> Result<Algorithm, JwsError> {
        policy.check(&self.header.alg)
    }

    /// Verifies the signature with `key`. The header's `alg` must be allowed by `policy`, fit the
    /// key's type, and equal the key's own `alg` restriction when it has one.
    pub fn verify(
        &self,
        crypto: &dyn CryptoBackend,
        key: &Jwk,
        policy: &AlgorithmPolicy,
    ) -> Result<(), JwsError> {
        let alg = self.algorithm(policy)?;
        let restricted = key.alg().is_some_and(|a| a != alg.as_str());
        if !alg.fits(key.key()) || restricted {
            return Err(JwsError::KeyMismatch {
                alg,
                key: key.key().kind(),
            });
        }
        crypto.verify(
            alg,
            key.key(),
            self.signing_input.as_bytes(),
            &self.signature,
        )?;
        Ok(())
    }
}

/// Signs `payload` under `header` (whose `alg` is set from the signer) and returns the compact
/// serialization.
pub fn sign(header: Header, payload: &[u8], signer: &dyn Signer) -> Result<String, JwsError> {
    sign_reserving(header, payload, signer, 0)
}

/// As [`sign`], with room for `extra` more bytes in the returned string (an SD-JWT's
/// disclosures), so appending them copies nothing. Each part is encoded straight into the
/// result.
pub(crate) fn sign_reserving(
    mut header: Header,
    payload: &[u8],
    signer: &dyn Signer,
    extra: usize,
) -> Result<String, JwsError> {
    signer.algorithm().as_str().clone_into(&mut header.alg);
    let header_json =
        serde_json::to_vec(&header).map_err(|e| JwsError::Malformed(e.to_string()))?;
    // Base64url of both parts, two dots, and a signature of up to 132 bytes (ES512's).
    let encoded = (header_json.len() + payload.len()).div_ceil(3) * 4;
    let mut out = String::with_capacity(encoded + 2 + 176 + extra);
    b64::encode_into(header_json, &mut out);
    out.push('.');
    b64::encode_into(payload, &mut out);
    let signature = signer.sign(out.as_bytes()).map_err(JwsError::Crypto)?;
    out.push('.');
    b64::encode_into(signature, &mut out);
    Ok(out)
}

/// Signs a JSON payload.
pub fn sign_json(header: Header, claims: &Value, signer: &dyn Signer) -> Result<String, JwsError> {
    sign_json_reserving(header, claims, signer, 0)
}

/// As [`sign_json`], with room for `extra` more bytes (see [`sign_reserving`]).
pub(crate) fn sign_json_reserving(
    header: Header,
    claims: &Value,
    signer: &dyn Signer,
    extra: usize,
) -> Result<String, JwsError> {
    // Credentials serialize to a few hundred bytes: start there rather than grow from zero.
    let mut payload = Vec::with_capacity(1024);
    serde_json::to_writer(&mut payload, claims).map_err(|e| JwsError::Malformed(e.to_string()))?;
    sign_reserving(header, &payload, signer, extra)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::crypto::{DangerousSeededRandom, default_backend, signer_from_jwk};
    use crate::jwk::PrivateJwk;

    fn key(seed: u64) -> PrivateJwk {
        PrivateJwk::generate_p256(&DangerousSeededRandom::new(seed), Some(format!("k{seed}")))
            .unwrap()
    }

    #[test]
    fn sign_then_verify() {
        let k = key(1);
        let signer = signer_from_jwk(&k).unwrap();
        let jws = sign_json(Header::new("JWT"), &json!({"a": 1}), signer.as_ref()).unwrap();
        let decoded = DecodedJws::decode(&jws).unwrap();
        assert_eq!(decoded.header().alg, "ES256");
        decoded
            .verify(default_backend(), &k.public(), &AlgorithmPolicy::default())
            .unwrap();
        assert_eq!(
            decoded.verify(
                default_backend(),
                &key(2).public(),
                &AlgorithmPolicy::default()
            ),
            Err(JwsError::BadSignature)
        );
    }

    #[test]
    fn header_members_read_as_a_map_would() {
        let decode = |json: &str| DecodedJws::decode(&format!("{}.e30.AA", b64::encode(json)));
        // The last occurrence of a member counts, a non-string `kid` is absent, others are kept.
        let jws =
            decode(r#"{"alg":1,"alg":"ES256","kid":42,"x":{"y":[1]},"typ":"JWT","x":2}"#).unwrap();
        let header = jws.header();
        assert_eq!(header.alg, "ES256");
        assert_eq!(header.kid, None);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.other.get("x"), Some(&json!(2)));
        let full = decode(
            r#"{"alg":"ES256","kid":"k","jwk":{"kty":"EC"},"x5c":["MII"],"jku":"u","cty":"vc"}"#,
        )
        .unwrap();
        assert_eq!(full.header().kid.as_deref(), Some("k"));
        assert_eq!(full.header().jwk, Some(json!({"kty": "EC"})));
        assert_eq!(full.header().x5c, Some(vec!["MII".to_owned()]));
        assert_eq!(full.header().jku.as_deref(), Some("u"));
        assert_eq!(full.header().cty.as_deref(), Some("vc"));
        assert!(full.header().other.is_empty());
        let malformed = |json: &str, message: &str| {
            assert_eq!(
                decode(json).unwrap_err(),
                JwsError::Malformed(message.into()),
                "{json}"
            );
        };
        malformed(r#"{"alg":"ES256","typ":7}"#, "header typ is not a string");
        malformed(r#"{"alg":null}"#, "header alg is not a string");
        malformed(r#"{"typ":"JWT"}"#, "header has no alg");
        malformed(r#"{"alg":"ES256","x5c":[1]}"#, "header x5c");
        malformed(r#"{"alg":"ES256","crit":"b64"}"#, "header crit");
        for not_object in [r#"["alg"]"#, "7", r#""ES256""#, "null", "true"] {
            malformed(not_object, "header is not a JSON object");
        }
        assert!(matches!(
            decode(r#"{"alg":"ES256"} x"#),
            Err(JwsError::Malformed(_))
        ));
        let deep = format!(
            r#"{{"alg":"ES256","x":{}{}}}"#,
            "[".repeat(json::MAX_DEPTH),
            "]".repeat(json::MAX_DEPTH)
        );
        assert_eq!(
            decode(&deep).unwrap_err(),
            JwsError::from(JsonError::TooDeep)
        );
    }

    #[test]
    fn alg_none_and_hmac_are_refused() {
        let k = key(1);
        let payload = b64::encode(br#"{"a":1}"#);
        for (alg, expected) in [
            ("none", JwsError::AlgorithmNone),
            ("HS256", JwsError::UnsupportedAlgorithm("HS256".into())),
            ("RS256", JwsError::UnsupportedAlgorithm("RS256".into())),
        ] {
            let header = b64::encode(format!(r#"{{"alg":"{alg}"}}"#));
            let jws = DecodedJws::decode(&format!("{header}.{payload}.")).unwrap();
            assert_eq!(
                jws.verify(default_backend(), &k.public(), &AlgorithmPolicy::default()),
                Err(expected)
            );
        }
    }

    #[test]
    fn crit_oversize_and_malformed_are_refused() {
        let header = b64::encode(r#"{"alg":"ES256","crit":["b64"],"b64":false}"#);
        assert_eq!(
            DecodedJws::decode(&format!("{header}.e30.AA")).unwrap_err(),
            JwsError::UnknownCritical("b64".into())
        );
        let big = "a".repeat(MAX_COMPACT_LEN + 1);
        assert!(matches!(
            DecodedJws::decode(&big),
            Err(JwsError::TooLarge { .. })
        ));
        for bad in ["", "a.b", "a.b.c.d", "e30.e30.AA=", "!!.e30.AA"] {
            assert!(
                matches!(DecodedJws::decode(bad), Err(JwsError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn algorithm_confusion_is_refused() {
        let k = key(1);
        let signer = signer_from_jwk(&k).unwrap();
        let jws = sign_json(Header::new("JWT"), &json!({}), signer.as_ref()).unwrap();
        let decoded = DecodedJws::decode(&jws).unwrap();
        let restricted = k.public().with_alg("ES384");
        assert!(matches!(
            decoded.verify(default_backend(), &restricted, &AlgorithmPolicy::default()),
            Err(JwsError::KeyMismatch { .. })
        ));
        let ed = Jwk::from_value(&json!({"kty":"OKP","crv":"Ed25519",
            "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}))
        .unwrap();
        assert!(matches!(
            decoded.verify(default_backend(), &ed, &AlgorithmPolicy::default()),
            Err(JwsError::KeyMismatch { .. })
        ));
        assert_eq!(
            decoded.verify(
                default_backend(),
                &k.public(),
                &AlgorithmPolicy {
                    allowed: vec![Algorithm::EdDsa]
                }
            ),
            Err(JwsError::UnsupportedAlgorithm("ES256".into()))
        );
    }

    #[test]
    fn rfc8037_ed25519_example_verifies() {
        // RFC 8037 Appendix A.4.
        let key = Jwk::from_value(&json!({"kty":"OKP","crv":"Ed25519",
            "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}))
        .unwrap();
        let jws = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
        let decoded = DecodedJws::decode(jws).unwrap();
        #[cfg(feature = "ring")]
        decoded
            .verify(default_backend(), &key, &AlgorithmPolicy::default())
            .unwrap();
        #[cfg(not(feature = "ring"))]
        let _ = (decoded, key);
    }
}
