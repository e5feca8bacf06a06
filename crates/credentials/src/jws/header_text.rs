//! Reading a JOSE header's JSON text member by member, without an intermediate map: each
//! member Llavero knows goes to its own slot, and only the others are kept as a map.

use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{Header, JwsError};

/// The members of a header as last given in the text, not yet checked.
#[derive(Default)]
pub(super) struct Members {
    alg: Option<Value>,
    typ: Option<Value>,
    cty: Option<Value>,
    kid: Option<Value>,
    jwk: Option<Value>,
    x5c: Option<Value>,
    jku: Option<Value>,
    crit: Option<Value>,
    other: Map<String, Value>,
}

impl Members {
    /// Checks the members' types: `alg` is required; `alg`, `typ`, `cty` and `jku` must be
    /// strings, `x5c` and `crit` arrays of strings.
    pub(super) fn into_header(self) -> Result<Header, JwsError> {
        let text = |value: Option<Value>, name: &str| match value {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(JwsError::Malformed(format!(
                "header {name} is not a string"
            ))),
        };
        let strings = |value: Option<Value>, name: &str| {
            value
                .map(|v| {
                    serde_json::from_value::<Vec<String>>(v)
                        .map_err(|_| JwsError::Malformed(format!("header {name}")))
                })
                .transpose()
        };
        let alg = text(self.alg, "alg")?
            .ok_or_else(|| JwsError::Malformed("header has no alg".into()))?;
        let typ = text(self.typ, "typ")?;
        let cty = text(self.cty, "cty")?;
        let jku = text(self.jku, "jku")?;
        // A non-string `kid` (the SD-JWT reference suite's `header_mod` case uses `42`) is read
        // as absent: it can only ever select a key, never authenticate one.
        let kid = match self.kid {
            Some(Value::String(kid)) => Some(kid),
            _ => None,
        };
        Ok(Header {
            alg,
            typ,
            cty,
            kid,
            jwk: self.jwk,
            x5c: strings(self.x5c, "x5c")?,
            jku,
            crit: strings(self.crit, "crit")?,
            other: self.other,
        })
    }
}

/// Collects the members of a JSON object; any other JSON value yields `None`.
pub(super) struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Option<Members>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Members::default();
        while let Some(name) = map.next_key::<Name>()? {
            let value: Value = map.next_value()?;
            let slot = match name {
                Name::Alg => &mut members.alg,
                Name::Typ => &mut members.typ,
                Name::Cty => &mut members.cty,
                Name::Kid => &mut members.kid,
                Name::Jwk => &mut members.jwk,
                Name::X5c => &mut members.x5c,
                Name::Jku => &mut members.jku,
                Name::Crit => &mut members.crit,
                Name::Other(name) => {
                    members.other.insert(name, value);
                    continue;
                }
            };
            *slot = Some(value);
        }
        Ok(Some(members))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A header member's name: the ones Llavero reads need no allocation.
enum Name {
    Alg,
    Typ,
    Cty,
    Kid,
    Jwk,
    X5c,
    Jku,
    Crit,
    Other(String),
}

impl Name {
    fn known(name: &str) -> Option<Self> {
        Some(match name {
            "alg" => Self::Alg,
            "typ" => Self::Typ,
            "cty" => Self::Cty,
            "kid" => Self::Kid,
            "jwk" => Self::Jwk,
            "x5c" => Self::X5c,
            "jku" => Self::Jku,
            "crit" => Self::Crit,
            _ => return None,
        })
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(NameVisitor)
    }
}

struct NameVisitor;

impl Visitor<'_> for NameVisitor {
    type Value = Name;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a header member name")
    }

    fn visit_str<E>(self, name: &str) -> Result<Name, E> {
        Ok(Name::known(name).unwrap_or_else(|| Name::Other(name.to_owned())))
    }

    fn visit_string<E>(self, name: String) -> Result<Name, E> {
        Ok(Name::known(&name).unwrap_or(Name::Other(name)))
    }
}
