//! Disclosures (RFC 9901 §4.2): base64url of a JSON array `[salt, name, value]` for an object
//! property or `[salt, value]` for an array element. The digest is taken over the base64url
//! *string* exactly as received (§4.2.3), so the original text is kept.

use serde_json::Value;

use super::SdJwtError;
use crate::b64;
use crate::crypto::{CryptoBackend, SecureRandom};

/// Salt length in bytes: 128 bits, the minimum RFC 9901 §9.3 recommends.
pub const SALT_BYTES: usize = 16;

/// The length of a SHA-256 digest in base64url: 32 bytes make 43 characters.
pub(crate) const DIGEST_LEN: usize = 43;

/// A parsed disclosure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosure {
    encoded: String,
    salt: String,
    name: Option<String>,
    value: Value,
}

impl Disclosure {
    /// Creates a disclosure with a fresh salt: a property when `name` is given, otherwise an
    /// array element.
    pub fn new(
        name: Option<&str>,
        value: Value,
        rng: &dyn SecureRandom,
    ) -> Result<Self, SdJwtError> {
        let mut salt_bytes = [0u8; SALT_BYTES];
        rng.fill(&mut salt_bytes).map_err(SdJwtError::Crypto)?;
        let salt = b64::encode(salt_bytes);
        // Serialize the array straight from borrowed parts: no intermediate `Value`.
        let json = match name {
            Some(name) => serde_json::to_string(&(&salt, name, &value)),
            None => serde_json::to_string(&(&salt, &value)),
        }
        .map_err(|e| SdJwtError::Malformed(e.to_string()))?;
        let encoded = b64::encode(json);
        Ok(Self {
            encoded,
            salt,
            name: name.map(str::to_owned),
            value,
        })
    }

    /// Parses an encoded disclosure.
    pub fn parse(encoded: &str) -> Result<Self, SdJwtError> {
        let bytes = b64::decode(encoded)
            .map_err(|e| SdJwtError::Malformed(format!("disclosure is not base64url: {e}")))?;
        let Value::Array(array) = crate::json::parse_value(&bytes)
            .map_err(|e| SdJwtError::Malformed(format!("disclosure is not JSON: {e}")))?
        else {
            return Err(SdJwtError::DisclosureArity);
        };
        let mut items = array.into_iter();
        let (salt, name, value) = match (items.next(), items.next(), items.next(), items.next()) {
            (Some(Value::String(salt)), Some(value), None, None) => (salt, None, value),
            (Some(Value::String(salt)), Some(Value::String(name)), Some(value), None) => {
                (salt, Some(name), value)
            }
            (Some(Value::String(_)), Some(_), Some(_), None) => {
                return Err(SdJwtError::Malformed(
                    "disclosure claim name is not a string".into(),
                ));
            }
            _ => return Err(SdJwtError::DisclosureArity),
        };
        Ok(Self {
            encoded: encoded.to_owned(),
            salt,
            name,
            value,
        })
    }

    /// The base64url text as received or produced.
    #[must_use]
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// The salt.
    #[must_use]
    pub fn salt(&self) -> &str {
        &self.salt
    }

    /// The claim name, for an object property disclosure.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The disclosed value.
    #[must_use]
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The SHA-256 digest, base64url: what the issuer put in `_sd` or `...`.
    #[must_use]
    pub fn digest(&self, crypto: &dyn CryptoBackend) -> String {
        b64::encode(crypto.sha256(self.encoded.as_bytes()))
    }

    /// [`Disclosure::digest`] as the bytes of its base64url text, without a string.
    pub(crate) fn digest_bytes(&self, crypto: &dyn CryptoBackend) -> [u8; DIGEST_LEN] {
        b64::encode_32(&crypto.sha256(self.encoded.as_bytes()))
    }

    /// Moves the value out, leaving `null`: for a verifier done with the disclosure.
    pub(crate) fn take_value(&mut self) -> Value {
        std::mem::take(&mut self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::default_backend;

    #[test]
    fn known_answer_digests_from_rfc9901() {
        // RFC 9901 §4.2.1 and §4.2.2 examples.
        for (encoded, digest) in [
            (
                "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0",
                "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0",
            ),
            (
                "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0",
                "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs",
            ),
        ] {
            let d = Disclosure::parse(encoded).unwrap();
            assert_eq!(d.digest(default_backend()), digest);
            assert_eq!(&d.digest_bytes(default_backend())[..], digest.as_bytes());
        }
        let d = Disclosure::parse(
            "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0",
        )
        .unwrap();
        assert_eq!(d.name(), Some("family_name"));
        assert_eq!(d.value(), "Möbius");
    }

    #[test]
    fn arity_and_types_are_checked() {
        for json in [r#"["s"]"#, r#"["s","a","b","c"]"#, r#"[1,"a","b"]"#, "{}"] {
            assert!(Disclosure::parse(&b64::encode(json)).is_err(), "{json}");
        }
        assert!(Disclosure::parse(&b64::encode(r#"["s",1,"b"]"#)).is_err());
    }
}
