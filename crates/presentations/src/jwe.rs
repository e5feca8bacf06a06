//! Encrypted responses (`direct_post.jwt`, OpenID4VP 1.0 §8.3; HAIP 1.0): each transaction has
//! a fresh P-256 key the wallet encrypts to with ECDH-ES (key agreement directly into the
//! content key) and `A128GCM` or `A256GCM`. The protected header is read and checked before
//! any decryption: only those algorithms, no compression (a small JWE must not inflate into a
//! large one), the transaction's key id if one is named, and a bounded size.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwe::ECDH_ES;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jwk::{Jwk, KeyPair as _};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

/// The content encryption algorithms offered (`encrypted_response_enc_values_supported`).
pub const ENC_VALUES: [&str; 2] = ["A128GCM", "A256GCM"];
/// The key agreement algorithm.
pub const ALG: &str = "ECDH-ES";
/// The largest encrypted response accepted.
pub const MAX_JWE_BYTES: usize = 384 * 1024;

/// Why a response could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JweError {
    /// Not a compact JWE, or larger than allowed.
    #[error("malformed JWE: {0}")]
    Malformed(String),
    /// An algorithm other than those offered, or compression.
    #[error("JWE header not accepted: {0}")]
    Header(String),
    /// Encrypted to another key, or tampered.
    #[error("the response does not decrypt with this transaction's key")]
    Decrypt,
    /// The key could not be made or read.
    #[error("response key: {0}")]
    Key(String),
}

/// A transaction's response key.
pub struct ResponseKey {
    private: Zeroizing<Vec<u8>>,
    kid: String,
}

impl std::fmt::Debug for ResponseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl ResponseKey {
    /// A new key with id `kid`.
    pub fn generate(kid: &str) -> Result<Self, JweError> {
        let pair = ECDH_ES
            .generate_ec_key_pair(EcCurve::P256)
            .map_err(|e| JweError::Key(e.to_string()))?;
        let jwk = pair.to_jwk_key_pair();
        Ok(Self {
            private: Zeroizing::new(jwk.to_string().into_bytes()),
            kid: kid.to_owned(),
        })
    }

    /// The key from its private JWK (as sealed).
    #[must_use]
    pub fn from_private(private: Zeroizing<Vec<u8>>, kid: &str) -> Self {
        Self {
            private,
            kid: kid.to_owned(),
        }
    }

    /// The private JWK's bytes, to be sealed.
    #[must_use]
    pub fn private_bytes(&self) -> &[u8] {
        &self.private
    }

    fn jwk(&self) -> Result<Jwk, JweError> {
        Jwk::from_bytes(self.private.as_slice()).map_err(|e| JweError::Key(e.to_string()))
    }

    /// The public JWK for `client_metadata.jwks` (`kid`, `use: enc`, `alg: ECDH-ES`).
    pub fn public_jwk(&self) -> Result<Value, JweError> {
        let jwk = self.jwk()?;
        let map: &Map<String, Value> = jwk.as_ref();
        let mut public = Map::new();
        for member in ["kty", "crv", "x", "y"] {
            let value = map
                .get(member)
                .ok_or_else(|| JweError::Key(format!("no {member}")))?;
            public.insert(member.into(), value.clone());
        }
        public.insert("kid".into(), self.kid.clone().into());
        public.insert("use".into(), "enc".into());
        public.insert("alg".into(), ALG.into());
        Ok(Value::Object(public))
    }

    /// Decrypts a compact JWE sent to this key, checking its header first.
    pub fn decrypt(&self, compact: &str) -> Result<Vec<u8>, JweError> {
        let compact = compact.trim();
        if compact.len() > MAX_JWE_BYTES {
            return Err(JweError::Malformed(format!(
                "{} bytes, more than allowed",
                compact.len()
            )));
        }
        let parts: Vec<&str> = compact.split('.').collect();
        let [protected, _, _, _, _] = parts.as_slice() else {
            return Err(JweError::Malformed("a compact JWE has five parts".into()));
        };
        let header: Map<String, Value> = URL_SAFE_NO_PAD
            .decode(protected)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| JweError::Malformed("protected header".into()))?;
        let text = |name: &str| header.get(name).and_then(Value::as_str);
        if text("alg") != Some(ALG) {
            return Err(JweError::Header(format!("alg must be {ALG}")));
        }
        if !text("enc").is_some_and(|enc| ENC_VALUES.contains(&enc)) {
            return Err(JweError::Header("enc must be A128GCM or A256GCM".into()));
        }
        if header.contains_key("zip") {
            return Err(JweError::Header("compressed responses are refused".into()));
        }
        if header.contains_key("crit") {
            return Err(JweError::Header(
                "no critical extensions are understood".into(),
            ));
        }
        if header.contains_key("kid") && text("kid") != Some(self.kid.as_str()) {
            return Err(JweError::Decrypt);
        }
        let decrypter = ECDH_ES
            .decrypter_from_jwk(&self.jwk()?)
            .map_err(|e| JweError::Key(e.to_string()))?;
        let (payload, _) = josekit::jwe::deserialize_compact(compact, &decrypter)
            .map_err(|_| JweError::Decrypt)?;
        Ok(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jwe::JweHeader;

    fn encrypt(to: &Value, enc: &str, extra: Option<(&str, Value)>) -> String {
        let jwk = Jwk::from_map(to.as_object().unwrap().clone()).unwrap();
        let encrypter = ECDH_ES.encrypter_from_jwk(&jwk).unwrap();
        let mut header = JweHeader::new();
        header.set_content_encryption(enc);
        header.set_key_id(to["kid"].as_str().unwrap());
        if let Some((name, value)) = extra {
            header.set_claim(name, Some(value)).unwrap();
        }
        josekit::jwe::serialize_compact(br#"{"vp_token":{}}"#, &header, &encrypter).unwrap()
    }

    #[test]
    fn decrypts_what_is_sent_to_it_and_nothing_else() {
        let key = ResponseKey::generate("k1").unwrap();
        let public = key.public_jwk().unwrap();
        for enc in ENC_VALUES {
            assert_eq!(
                key.decrypt(&encrypt(&public, enc, None)).unwrap(),
                br#"{"vp_token":{}}"#
            );
        }
        // Another transaction's key.
        let other = ResponseKey::generate("k1").unwrap();
        let to_other = encrypt(&other.public_jwk().unwrap(), "A128GCM", None);
        assert_eq!(key.decrypt(&to_other), Err(JweError::Decrypt));
        // Tampered ciphertext.
        let good = encrypt(&public, "A256GCM", None);
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        parts[3] = parts[3].chars().rev().collect();
        assert_eq!(key.decrypt(&parts.join(".")), Err(JweError::Decrypt));
        // Other algorithms and compression are refused before decryption.
        assert!(matches!(
            key.decrypt(&encrypt(&public, "A192GCM", None)),
            Err(JweError::Header(_))
        ));
        assert!(matches!(
            key.decrypt(&encrypt(&public, "A128GCM", Some(("zip", "DEF".into())))),
            Err(JweError::Header(_))
        ));
        assert!(matches!(key.decrypt("a.b.c"), Err(JweError::Malformed(_))));
        // The key survives sealing as bytes.
        let again = ResponseKey::from_private(Zeroizing::new(key.private_bytes().to_vec()), "k1");
        assert!(again.decrypt(&encrypt(&public, "A128GCM", None)).is_ok());
    }
}
