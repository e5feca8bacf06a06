//! JSON parsing with limits checked before any allocation proportional to nesting.
//!
//! `serde_json` already stops at 128 levels; Llavero's documents never need more than
//! [`MAX_DEPTH`], and a deeply nested disclosure value is a denial-of-service attempt, so the
//! depth is measured with a byte scan first.

use serde::de::DeserializeOwned;

/// The deepest nesting of arrays and objects accepted in any credential document.
/// Real credentials (RFC 9901's most complex example, eIDAS PID) stay under 10.
pub const MAX_DEPTH: usize = 32;

/// Why a JSON document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The document nests arrays or objects more than [`MAX_DEPTH`] levels.
    #[error("JSON nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// The document is not valid JSON for the expected shape.
    #[error("invalid JSON: {0}")]
    Invalid(String),
}

/// The maximum nesting depth of a JSON text, ignoring brackets inside strings. Strings are
/// skipped a run at a time, so the scan costs little next to the parse it guards.
#[must_use]
pub fn depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut rest = bytes;
    while let Some(pos) = rest
        .iter()
        .position(|&b| matches!(b, b'"' | b'[' | b'{' | b']' | b'}'))
    {
        let Some((&b, after)) = rest.get(pos..).and_then(<[u8]>::split_first) else {
            break;
        };
        rest = after;
        match b {
            b'"' => rest = skip_string(rest),
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            _ => depth = depth.saturating_sub(1),
        }
    }
    max
}

/// The bytes after the closing quote of a string whose opening quote was just consumed.
fn skip_string(mut rest: &[u8]) -> &[u8] {
    while let Some(pos) = rest.iter().position(|&b| b == b'"' || b == b'\\') {
        let escaped = rest.get(pos) == Some(&b'\\');
        // Skip the quote, or the backslash and the character it escapes.
        rest = rest
            .get(pos + 1 + usize::from(escaped)..)
            .unwrap_or_default();
        if !escaped {
            return rest;
        }
    }
    &[]
}

/// Parses `bytes` as a JSON value and refuses it if it nests deeper than [`MAX_DEPTH`].
///
/// The parser itself stops at 128 levels (`serde_json`'s recursion limit), so the stack is safe
/// while parsing; the depth of the result is then measured on the tree, which is cheaper than
/// scanning the text first.
pub fn parse_value(bytes: &[u8]) -> Result<serde_json::Value, JsonError> {
    let value: serde_json::Value =
        serde_json::from_str(utf8(bytes)?).map_err(|e| JsonError::Invalid(e.to_string()))?;
    if value_depth(&value) > MAX_DEPTH {
        return Err(JsonError::TooDeep);
    }
    Ok(value)
}

/// The nesting depth of a parsed value (a scalar is 0, `[]` is 1).
#[must_use]
pub fn value_depth(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Array(items) => 1 + items.iter().map(value_depth).max().unwrap_or(0),
        serde_json::Value::Object(map) => 1 + map.values().map(value_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Parses `bytes` as `T` after checking the nesting depth.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    if depth(bytes) > MAX_DEPTH {
        return Err(JsonError::TooDeep);
    }
    serde_json::from_str(utf8(bytes)?).map_err(|e| JsonError::Invalid(e.to_string()))
}

/// `bytes` as text: JSON is UTF-8 (RFC 8259 §8.1). Checking the whole document at once and
/// parsing it as a `str` is faster than the byte parser checking every string on its own.
fn utf8(bytes: &[u8]) -> Result<&str, JsonError> {
    std::str::from_utf8(bytes).map_err(|e| JsonError::Invalid(format!("not UTF-8: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_ignores_strings_and_refuses_deep_nesting() {
        assert_eq!(depth(br#"{"a":"[[[[{{{","b":[1,{"c":[]}]}"#), 4);
        assert_eq!(depth(br#""\"[""#), 0);
        assert_eq!(
            depth(br#"["\\", ["]"]]"#),
            2,
            "an escaped backslash ends no string"
        );
        assert_eq!(depth(br#"{"a": "\"}]", "b": {}}"#), 2);
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(
            from_slice::<serde_json::Value>(deep.as_bytes()),
            Err(JsonError::TooDeep)
        );
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(from_slice::<serde_json::Value>(ok.as_bytes()).is_ok());
        assert!(parse_value(ok.as_bytes()).is_ok());
        assert_eq!(parse_value(deep.as_bytes()), Err(JsonError::TooDeep));
        let very_deep = "[".repeat(10_000);
        assert!(
            parse_value(very_deep.as_bytes()).is_err(),
            "the parser's own limit holds"
        );
        assert_eq!(value_depth(&serde_json::json!({"a": [1, {"b": []}]})), 4);
    }

    #[test]
    fn invalid_utf8_is_refused() {
        for bytes in [&b"\"\xff\""[..], b"{\"a\":\"\xc3\"}", b"[\"\xed\xa0\x80\"]"] {
            assert!(matches!(parse_value(bytes), Err(JsonError::Invalid(_))));
            assert!(matches!(
                from_slice::<serde_json::Value>(bytes),
                Err(JsonError::Invalid(_))
            ));
        }
        assert_eq!(parse_value("\"ñ\"".as_bytes()), Ok(serde_json::json!("ñ")));
    }
}
