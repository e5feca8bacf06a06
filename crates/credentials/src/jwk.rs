//! JSON Web Keys (RFC 7517, RFC 7518 §6.2, RFC 8037) and their thumbprints (RFC 7638).
//!
//! A [`Jwk`] is a *public* key that has been checked: the coordinates have the curve's length
//! and, for P-256, lie on the curve. Parsing a public JWK that carries a private part (`d`) is
//! refused, so a secret pasted where a public key belongs is never echoed back or stored.
//! Private keys are a separate type, [`PrivateJwk`], whose `Debug` prints no secret and whose
//! scalar is wiped on drop.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::b64;
use crate::crypto::{CryptoBackend, CryptoError, SecureRandom};

/// Why a JWK was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwkError {
    /// `kty`/`crv` name a key type Llavero does not support.
    #[error("unsupported key type {kty}/{crv}")]
    Unsupported {
        /// The `kty` member.
        kty: String,
        /// The `crv` member.
        crv: String,
    },
    /// A required member is missing.
    #[error("JWK is missing `{0}`")]
    Missing(&'static str),
    /// A coordinate is not base64url of the right length.
    #[error("JWK member `{0}` is malformed")]
    Malformed(&'static str),
    /// The point is not on the curve.
    #[error("JWK point is not on the curve")]
    NotOnCurve,
    /// A private key was given where only a public key is acceptable.
    #[error("JWK contains a private key where a public key was expected")]
    PrivatePartPresent,
    /// The JWK is not a JSON object.
    #[error("JWK is not a JSON object: {0}")]
    NotJson(String),
}

/// A checked public key.
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PublicKey {
    /// P-256, as the uncompressed SEC1 point `04 || x || y`.
    P256([u8; 65]),
    /// P-384, as the uncompressed SEC1 point `04 || x || y` (97 bytes).
    P384(Vec<u8>),
    /// Ed25519, the 32-byte public key.
    Ed25519([u8; 32]),
}

impl PublicKey {
    /// A short name of the key's kind, for error messages.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::P256(_) => "P-256",
            Self::P384(_) => "P-384",
            Self::Ed25519(_) => "Ed25519",
        }
    }

    /// Builds a P-256 key from a SEC1 point, compressed (33 bytes) or uncompressed (65 bytes),
    /// checking that it lies on the curve.
    pub fn p256_from_sec1(bytes: &[u8]) -> Result<Self, JwkError> {
        let point = p256::PublicKey::from_sec1_bytes(bytes).map_err(|_| JwkError::NotOnCurve)?;
        let encoded = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&point, false);
        let array: [u8; 65] = encoded
            .as_bytes()
            .try_into()
            .map_err(|_| JwkError::NotOnCurve)?;
        Ok(Self::P256(array))
    }

    /// The compressed SEC1 form of a P-256 key (used by `did:key`).
    #[must_use]
    pub fn p256_compressed(&self) -> Option<[u8; 33]> {
        let Self::P256(point) = self else { return None };
        let y_last = *point.last()?;
        let mut out = [0u8; 33];
        out[0] = if y_last & 1 == 1 { 0x03 } else { 0x02 };
        out[1..].copy_from_slice(point.get(1..33)?);
        Some(out)
    }

    fn ec_coordinates(point: &[u8]) -> (&[u8], &[u8]) {
        let body = point.get(1..).unwrap_or_default();
        body.split_at(body.len() / 2)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.kind(), b64::encode(self.raw_bytes()))
    }
}

impl PublicKey {
    fn raw_bytes(&self) -> &[u8] {
        match self {
            Self::P256(p) => p,
            Self::P384(p) => p,
            Self::Ed25519(k) => k,
        }
    }
}

/// A public JWK: the checked key plus the optional members Llavero reads (`kid`, `alg`, `use`).
/// Unknown members are dropped.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Jwk {
    key: PublicKey,
    kid: Option<String>,
    alg: Option<String>,
    use_: Option<String>,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("key", &self.key)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Jwk {
    /// Wraps a checked key.
    #[must_use]
    pub fn new(key: PublicKey) -> Self {
        Self {
            key,
            kid: None,
            alg: None,
            use_: None,
        }
    }

    /// The same key with a `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The same key with an `alg`.
    #[must_use]
    pub fn with_alg(mut self, alg: impl Into<String>) -> Self {
        self.alg = Some(alg.into());
        self
    }

    /// The key.
    #[must_use]
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// The `kid` member.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The `alg` member, if the key is restricted to one algorithm.
    #[must_use]
    pub fn alg(&self) -> Option<&str> {
        self.alg.as_deref()
    }

    /// Parses and checks a public JWK from a JSON value.
    pub fn from_value(value: &Value) -> Result<Self, JwkError> {
        let obj = value
            .as_object()
            .ok_or_else(|| JwkError::NotJson("not an object".into()))?;
        if obj.contains_key("d") {
            return Err(JwkError::PrivatePartPresent);
        }
        Self::from_object(obj)
    }

    fn from_object(obj: &Map<String, Value>) -> Result<Self, JwkError> {
        let text = |name: &'static str| -> Result<&str, JwkError> {
            obj.get(name)
                .ok_or(JwkError::Missing(name))?
                .as_str()
                .ok_or(JwkError::Malformed(name))
        };
        let optional = |name: &str| obj.get(name).and_then(Value::as_str).map(str::to_owned);
        let kty = text("kty")?;
        let crv = text("crv")?;
        let key = match (kty, crv) {
            ("EC", "P-256") => {
                let x =
                    b64::decode_array::<32>(text("x")?).map_err(|_| JwkError::Malformed("x"))?;
                let y =
                    b64::decode_array::<32>(text("y")?).map_err(|_| JwkError::Malformed("y"))?;
                let mut sec1 = [0u8; 65];
                sec1[0] = 4;
                sec1[1..33].copy_from_slice(&x);
                sec1[33..].copy_from_slice(&y);
                PublicKey::p256_from_sec1(&sec1)?
            }
            ("EC", "P-384") => {
                let x =
                    b64::decode_array::<48>(text("x")?).map_err(|_| JwkError::Malformed("x"))?;
                let y =
                    b64::decode_array::<48>(text("y")?).map_err(|_| JwkError::Malformed("y"))?;
                let mut sec1 = Vec::with_capacity(97);
                sec1.push(4);
                sec1.extend_from_slice(&x);
                sec1.extend_from_slice(&y);
                PublicKey::P384(sec1)
            }
            ("OKP", "Ed25519") => PublicKey::Ed25519(
                b64::decode_array::<32>(text("x")?).map_err(|_| JwkError::Malformed("x"))?,
            ),
            (kty, crv) => {
                return Err(JwkError::Unsupported {
                    kty: kty.to_owned(),
                    crv: crv.to_owned(),
                });
            }
        };
        Ok(Self {
            key,
            kid: optional("kid"),
            alg: optional("alg"),
            use_: optional("use"),
        })
    }

    /// The JWK as a JSON object (public members only).
    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut obj = self.required_members();
        if let Some(kid) = &self.kid {
            obj.insert("kid".into(), kid.clone().into());
        }
        if let Some(alg) = &self.alg {
            obj.insert("alg".into(), alg.clone().into());
        }
        if let Some(use_) = &self.use_ {
            obj.insert("use".into(), use_.clone().into());
        }
        Value::Object(obj)
    }

    /// The members RFC 7638 §3.2 hashes, for each key type.
    fn required_members(&self) -> Map<String, Value> {
        let mut obj = Map::new();
        match &self.key {
            PublicKey::P256(point) => {
                let (x, y) = PublicKey::ec_coordinates(point);
                obj.insert("crv".into(), "P-256".into());
                obj.insert("kty".into(), "EC".into());
                obj.insert("x".into(), b64::encode(x).into());
                obj.insert("y".into(), b64::encode(y).into());
            }
            PublicKey::P384(point) => {
                let (x, y) = PublicKey::ec_coordinates(point);
                obj.insert("crv".into(), "P-384".into());
                obj.insert("kty".into(), "EC".into());
                obj.insert("x".into(), b64::encode(x).into());
                obj.insert("y".into(), b64::encode(y).into());
            }
            PublicKey::Ed25519(raw) => {
                obj.insert("crv".into(), "Ed25519".into());
                obj.insert("kty".into(), "OKP".into());
                obj.insert("x".into(), b64::encode(raw).into());
            }
        }
        obj
    }

    /// The RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order,
    /// without whitespace, base64url-encoded.
    #[must_use]
    pub fn thumbprint(&self, crypto: &dyn CryptoBackend) -> String {
        // serde_json's Map is a BTreeMap here, so members serialize sorted, as §3.3 requires.
        let canonical = Value::Object(self.required_members()).to_string();
        b64::encode(crypto.sha256(canonical.as_bytes()))
    }
}

impl Serialize for Jwk {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Jwk {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value(&value).map_err(serde::de::Error::custom)
    }
}

/// A P-256 private key in JWK form (`d` present). Its scalar is wiped on drop and never printed.
#[derive(Clone)]
pub struct PrivateJwk {
    public: Jwk,
    d: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for PrivateJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateJwk")
            .field("public", &self.public)
            .field("d", &"[redacted]")
            .finish()
    }
}

impl PrivateJwk {
    /// Generates a P-256 key from `rng` (deterministic with a seeded generator in tests).
    pub fn generate_p256(rng: &dyn SecureRandom, kid: Option<String>) -> Result<Self, CryptoError> {
        loop {
            let mut d = Zeroizing::new([0u8; 32]);
            rng.fill(d.as_mut())?;
            // Rejection sampling: zero or a value ≥ n is not a scalar; try again.
            if let Ok(secret) = p256::SecretKey::from_slice(d.as_ref()) {
                let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
                    &secret.public_key(),
                    false,
                );
                let key = PublicKey::p256_from_sec1(point.as_bytes())
                    .map_err(|_| CryptoError::InvalidKey("generated point invalid"))?;
                let mut public = Jwk::new(key).with_alg("ES256");
                public.kid = kid;
                return Ok(Self { public, d });
            }
        }
    }

    /// Parses a private P-256 JWK, checking that `d` matches `x`/`y`.
    pub fn from_value(value: &Value) -> Result<Self, JwkError> {
        let obj = value
            .as_object()
            .ok_or_else(|| JwkError::NotJson("not an object".into()))?;
        let public = Jwk::from_object(obj)?;
        if !matches!(public.key, PublicKey::P256(_)) {
            return Err(JwkError::Unsupported {
                kty: "private".into(),
                crv: public.key.kind().into(),
            });
        }
        let d_text = obj
            .get("d")
            .and_then(Value::as_str)
            .ok_or(JwkError::Missing("d"))?;
        let d =
            Zeroizing::new(b64::decode_array::<32>(d_text).map_err(|_| JwkError::Malformed("d"))?);
        let secret =
            p256::SecretKey::from_slice(d.as_ref()).map_err(|_| JwkError::Malformed("d"))?;
        let derived = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
            &secret.public_key(),
            false,
        );
        if PublicKey::p256_from_sec1(derived.as_bytes())? != public.key {
            return Err(JwkError::Malformed("d"));
        }
        Ok(Self { public, d })
    }

    /// Parses a private JWK from JSON text.
    pub fn from_json(text: &str) -> Result<Self, JwkError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| JwkError::NotJson(e.to_string()))?;
        Self::from_value(&value)
    }

    /// The JWK including `d`, for writing to a protected file. Handle the result as a secret.
    #[must_use]
    pub fn to_secret_value(&self) -> Zeroizing<String> {
        let mut value = self.public.to_value();
        if let Some(obj) = value.as_object_mut() {
            obj.insert("d".into(), b64::encode(self.d.as_ref()).into());
        }
        Zeroizing::new(value.to_string())
    }

    /// The public half.
    #[must_use]
    pub fn public(&self) -> Jwk {
        self.public.clone()
    }

    /// The secret scalar, big-endian.
    #[must_use]
    pub fn secret_scalar(&self) -> &[u8] {
        self.d.as_ref()
    }

    /// Sets the `kid` of the key.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.public.kid = Some(kid.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::crypto::{DangerousSeededRandom, default_backend};

    #[test]
    fn rfc7638_thumbprint_of_example_key() {
        // RFC 7638 §3.1 uses an RSA key; this is the P-256 key of RFC 7517 Appendix A.1 with its
        // thumbprint as computed by independent libraries (jose, jwcrypto).
        let jwk = Jwk::from_value(&json!({
            "kty":"EC","crv":"P-256",
            "x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
            "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","kid":"1"}))
        .unwrap();
        assert_eq!(
            jwk.thumbprint(default_backend()),
            "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s"
        );
    }

    #[test]
    fn refuses_off_curve_private_and_unknown_keys() {
        let off = json!({"kty":"EC","crv":"P-256",
            "x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
            "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyA"});
        assert_eq!(Jwk::from_value(&off), Err(JwkError::NotOnCurve));
        let key = PrivateJwk::generate_p256(&DangerousSeededRandom::new(1), None).unwrap();
        let secret: Value = serde_json::from_str(&key.to_secret_value()).unwrap();
        assert_eq!(Jwk::from_value(&secret), Err(JwkError::PrivatePartPresent));
        let oct = json!({"kty":"oct","crv":"", "k":"AAAA"});
        assert!(matches!(
            Jwk::from_value(&oct),
            Err(JwkError::Unsupported { .. })
        ));
        assert!(!format!("{key:?}").contains(&b64::encode(key.secret_scalar())));
    }

    #[test]
    fn private_jwk_round_trips_and_checks_d() {
        let key =
            PrivateJwk::generate_p256(&DangerousSeededRandom::new(9), Some("k1".into())).unwrap();
        let again = PrivateJwk::from_json(&key.to_secret_value()).unwrap();
        assert_eq!(again.public(), key.public());
        let other = PrivateJwk::generate_p256(&DangerousSeededRandom::new(10), None).unwrap();
        let mut mixed: Value = serde_json::from_str(&key.to_secret_value()).unwrap();
        mixed["d"] = b64::encode(other.secret_scalar()).into();
        assert_eq!(
            PrivateJwk::from_value(&mixed).unwrap_err(),
            JwkError::Malformed("d")
        );
    }

    #[test]
    fn compressed_point_round_trip() {
        let key = PrivateJwk::generate_p256(&DangerousSeededRandom::new(3), None).unwrap();
        let compressed = key.public().key().p256_compressed().unwrap();
        assert_eq!(
            &PublicKey::p256_from_sec1(&compressed).unwrap(),
            key.public().key()
        );
    }
}
