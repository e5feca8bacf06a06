//! Form and query parameters as OAuth reads them.

use std::collections::BTreeMap;

/// Largest parameter string accepted.
pub const MAX_PARAMS_BYTES: usize = 16 * 1024;

/// Parses `application/x-www-form-urlencoded` parameters, refusing repeated ones (RFC 6749
/// §3.1) and oversized input.
pub fn parse_params(raw: &[u8]) -> Result<BTreeMap<String, String>, &'static str> {
    if raw.len() > MAX_PARAMS_BYTES {
        return Err("request too large");
    }
    let mut out = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(raw) {
        if out.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err("a parameter is repeated");
        }
    }
    Ok(out)
}

/// HTTP Basic client credentials (RFC 6749 §2.3.1): the client id and secret, each
/// form-urlencoded before encoding; `None` when the header is absent or not such credentials.
#[must_use]
pub fn basic_credentials(headers: &axum::http::HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let encoded = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}
