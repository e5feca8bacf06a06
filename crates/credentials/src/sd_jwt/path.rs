//! Claim paths: how a caller names a claim inside a nested credential, as SD-JWT VC §7 and
//! OpenID4VP §7 define them: a JSON array whose elements are a string (object key), a
//! non-negative integer (array index) or `null` (every element of an array).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// One step of a [`ClaimPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathElement {
    /// An object member.
    Key(String),
    /// One array element.
    Index(usize),
    /// Every element of an array.
    AllElements,
}

impl PathElement {
    /// Whether this step selects the concrete step `other` (`AllElements` matches any index).
    #[must_use]
    pub fn matches(&self, concrete: &PathElement) -> bool {
        match (self, concrete) {
            (Self::AllElements, Self::Index(_) | Self::AllElements) => true,
            (a, b) => a == b,
        }
    }
}

/// A path to a claim, such as `["address", "locality"]` or `["nationalities", null]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ClaimPath(pub Vec<PathElement>);

/// A claim path that is not an array of strings, indexes and nulls.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid claim path: {0}")]
pub struct ClaimPathError(String);

impl ClaimPath {
    /// The path to a top-level claim.
    #[must_use]
    pub fn claim(name: &str) -> Self {
        Self(vec![PathElement::Key(name.to_owned())])
    }

    /// Parses the JSON array form.
    pub fn from_value(value: &Value) -> Result<Self, ClaimPathError> {
        let items = value
            .as_array()
            .ok_or_else(|| ClaimPathError("not an array".into()))?;
        items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(PathElement::Key(s.clone())),
                Value::Null => Ok(PathElement::AllElements),
                Value::Number(n) => n
                    .as_u64()
                    .and_then(|i| usize::try_from(i).ok())
                    .map(PathElement::Index)
                    .ok_or_else(|| ClaimPathError(format!("bad index {n}"))),
                other => Err(ClaimPathError(format!("unexpected element {other}"))),
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Parses the dotted form used on the command line: `address.locality`, `nationalities.0`,
    /// `nationalities.*`. A segment of digits is an index.
    pub fn parse_dotted(text: &str) -> Result<Self, ClaimPathError> {
        if text.is_empty() {
            return Err(ClaimPathError("empty path".into()));
        }
        Ok(Self(
            text.split('.')
                .map(|segment| match segment {
                    "*" => PathElement::AllElements,
                    s if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
                        .parse()
                        .map_or_else(|_| PathElement::Key(s.to_owned()), PathElement::Index),
                    s => PathElement::Key(s.to_owned()),
                })
                .collect(),
        ))
    }

    /// Parses an RFC 6901 JSON pointer (`/is_over/18`, `/nationalities/0`, `~1` for `/` and
    /// `~0` for `~` in a key) against `document`, the claims it points into: as RFC 6901 §4
    /// says, a step into an object is a key, whatever its characters, and a step into an array
    /// is an index. So `/is_over/18` names the key `"18"` of an object, which a dotted path
    /// could not say. The pointer must name a value that exists.
    ///
    /// ```
    /// use llavero_credentials::sd_jwt::{ClaimPath, PathElement};
    /// let claims = serde_json::json!({"is_over": {"18": true}, "nationalities": ["CL", "AR"]});
    /// let over = ClaimPath::from_json_pointer("/is_over/18", &claims)?;
    /// assert_eq!(over.to_value(), serde_json::json!(["is_over", "18"]));
    /// let second = ClaimPath::from_json_pointer("/nationalities/1", &claims)?;
    /// assert_eq!(second.to_value(), serde_json::json!(["nationalities", 1]));
    /// # Ok::<(), llavero_credentials::sd_jwt::ClaimPathError>(())
    /// ```
    pub fn from_json_pointer(pointer: &str, document: &Value) -> Result<Self, ClaimPathError> {
        let Some(tokens) = pointer.strip_prefix('/') else {
            return Err(ClaimPathError(format!(
                "{pointer:?} is not a JSON pointer to a claim (it starts with /)"
            )));
        };
        let mut steps = Vec::new();
        let mut at = document;
        for raw in tokens.split('/') {
            let token = unescape_pointer_token(raw)
                .ok_or_else(|| ClaimPathError(format!("bad escape in {raw:?} (~0 or ~1 only)")))?;
            let (step, next) = match at {
                Value::Object(members) => {
                    let next = members.get(&token);
                    (PathElement::Key(token), next)
                }
                Value::Array(items) => {
                    // RFC 6901 §4: an array index is `0` or digits without a leading zero.
                    let index = Some(token.as_str())
                        .filter(|t| *t == "0" || (!t.starts_with('0') && !t.is_empty()))
                        .filter(|t| t.bytes().all(|b| b.is_ascii_digit()))
                        .and_then(|t| t.parse::<usize>().ok())
                        .ok_or_else(|| {
                            ClaimPathError(format!("{token:?} is not an index into an array"))
                        })?;
                    (PathElement::Index(index), items.get(index))
                }
                _ => (PathElement::Key(token), None),
            };
            at = next.ok_or_else(|| {
                ClaimPathError(format!("{pointer:?} names no claim of the document"))
            })?;
            steps.push(step);
        }
        Ok(Self(steps))
    }

    /// The JSON array form.
    #[must_use]
    pub fn to_value(&self) -> Value {
        Value::Array(
            self.0
                .iter()
                .map(|e| match e {
                    PathElement::Key(k) => Value::String(k.clone()),
                    PathElement::Index(i) => Value::from(*i),
                    PathElement::AllElements => Value::Null,
                })
                .collect(),
        )
    }

    /// The path extended by one step.
    #[must_use]
    pub fn child(&self, element: PathElement) -> Self {
        let mut steps = self.0.clone();
        steps.push(element);
        Self(steps)
    }

    /// Whether this (possibly wildcard) path selects the concrete path `concrete` exactly.
    #[must_use]
    pub fn selects(&self, concrete: &ClaimPath) -> bool {
        self.0.len() == concrete.0.len() && self.selects_prefix_of(concrete)
    }

    /// Whether this path selects a prefix of `concrete` (or all of it): `concrete` is inside
    /// what this path names.
    #[must_use]
    pub fn selects_prefix_of(&self, concrete: &ClaimPath) -> bool {
        self.0.len() <= concrete.0.len()
            && self.0.iter().zip(&concrete.0).all(|(a, b)| a.matches(b))
    }

    /// Whether `concrete` is a proper ancestor of what this path names (a parent that must be
    /// disclosed for this path to be reachable).
    #[must_use]
    pub fn descends_from(&self, concrete: &ClaimPath) -> bool {
        concrete.0.len() < self.0.len() && self.0.iter().zip(&concrete.0).all(|(a, b)| a.matches(b))
    }
}

/// An RFC 6901 reference token with `~1` → `/` and `~0` → `~` (in that order, §4); `None` for
/// any other `~` sequence.
fn unescape_pointer_token(token: &str) -> Option<String> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        match c {
            '~' => match chars.next()? {
                '0' => out.push('~'),
                '1' => out.push('/'),
                _ => return None,
            },
            c => out.push(c),
        }
    }
    Some(out)
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

impl Serialize for ClaimPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ClaimPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::from_value(&Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_both_forms_and_matches_wildcards() {
        let p = ClaimPath::from_value(&json!(["nationalities", null])).unwrap();
        assert_eq!(p, ClaimPath::parse_dotted("nationalities.*").unwrap());
        let concrete = ClaimPath::parse_dotted("nationalities.1").unwrap();
        assert!(p.selects(&concrete));
        assert!(!p.selects(&ClaimPath::claim("nationalities")));
        assert!(p.descends_from(&ClaimPath::claim("nationalities")));
        assert!(
            ClaimPath::claim("address")
                .selects_prefix_of(&ClaimPath::parse_dotted("address.locality").unwrap())
        );
        assert_eq!(p.to_value(), json!(["nationalities", null]));
        assert!(ClaimPath::from_value(&json!(["a", -1])).is_err());
        assert!(ClaimPath::from_value(&json!("a")).is_err());
    }

    #[test]
    fn json_pointers_follow_the_document() {
        let doc =
            json!({"is_over": {"13": true, "18": true}, "a/b": {"m~n": 1}, "list": [{"x": 1}, 2]});
        let p = |s| ClaimPath::from_json_pointer(s, &doc);
        assert_eq!(
            p("/is_over/18").unwrap().to_value(),
            json!(["is_over", "18"])
        );
        assert_eq!(p("/a~1b/m~0n").unwrap().to_value(), json!(["a/b", "m~n"]));
        assert_eq!(p("/list/0/x").unwrap().to_value(), json!(["list", 0, "x"]));
        assert!(p("/list/01").is_err(), "leading zero");
        assert!(p("/list/2").is_err(), "past the end");
        assert!(p("/list/-").is_err());
        assert!(p("/is_over/21").is_err(), "absent");
        assert!(p("/a~2b").is_err(), "bad escape");
        assert!(p("is_over").is_err(), "not a pointer");
        assert!(p("").is_err(), "the whole document is no claim");
    }
}
