//! The properties every credential and presentation has: `@context` (§4.3), `id` (§4.4) and
//! `type` (§4.5).

use serde_json::{Map, Value};

use super::url::is_url;
use super::{NonConforming, Rule, show};
use crate::vc_jwt::CREDENTIALS_V2;

/// §4.3: an ordered set whose first item is the v2 base context; the others are URLs or
/// objects (inline contexts). A lone string is the one-item set.
pub(super) fn check_context(doc: &Map<String, Value>) -> Result<(), NonConforming> {
    let context = doc
        .get("@context")
        .ok_or_else(|| NonConforming::new(Rule::CONTEXT_MISSING, "no @context"))?;
    let (first, rest) = match context {
        Value::Array(items) => match items.split_first() {
            Some((first, rest)) => (first, rest),
            None => return Err(NonConforming::new(Rule::CONTEXT_FIRST, "@context is empty")),
        },
        one => (one, &[][..]),
    };
    if first.as_str() != Some(CREDENTIALS_V2) {
        return Err(NonConforming::new(
            Rule::CONTEXT_FIRST,
            format!(
                "the first @context item is {}, not {CREDENTIALS_V2}",
                show(first)
            ),
        ));
    }
    match rest
        .iter()
        .find(|item| !matches!(item, Value::Object(_)) && !item.as_str().is_some_and(is_url))
    {
        Some(bad) => Err(NonConforming::new(
            Rule::CONTEXT_ITEM,
            format!("@context item {} is neither a URL nor an object", show(bad)),
        )),
        None => Ok(()),
    }
}

/// §4.4: `id`, when present, is one URL.
pub(super) fn check_id(doc: &Map<String, Value>) -> Result<(), NonConforming> {
    match doc.get("id") {
        None => Ok(()),
        Some(id) if id.as_str().is_some_and(is_url) => Ok(()),
        Some(other) => Err(NonConforming::new(
            Rule::ID_URL,
            format!("id {} is not a single URL", show(other)),
        )),
    }
}

/// §4.5: `type` is present, made of strings, and includes `required`.
pub(super) fn check_type(
    doc: &Map<String, Value>,
    required: &'static str,
) -> Result<(), NonConforming> {
    let value = doc
        .get("type")
        .ok_or_else(|| NonConforming::new(Rule::TYPE_MISSING, "no type"))?;
    let types = type_values(value)
        .ok_or_else(|| NonConforming::new(Rule::TYPE_VALUE, format!("type {}", show(value))))?;
    if types.iter().any(|t| t == required) {
        Ok(())
    } else {
        Err(NonConforming::new(
            Rule::TYPE_REQUIRED,
            format!("type does not include {required}"),
        ))
    }
}

/// The values of a `type` property (the document's or an entry's) when it has a right shape:
/// one non-empty string or a non-empty array of them; `None` for any other shape. Borrowed
/// from the document: checking a type allocates nothing.
pub(super) fn type_values(value: &Value) -> Option<&[Value]> {
    let types = super::items(value);
    (!types.is_empty()
        && types
            .iter()
            .all(|t| t.as_str().is_some_and(|t| !t.is_empty())))
    .then_some(types)
}
