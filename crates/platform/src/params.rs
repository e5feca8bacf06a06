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
