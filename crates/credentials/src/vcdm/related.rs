//! §5.3 integrity of related resources: each `relatedResource` entry is an object with a URL
//! `id`, unique among the entries, and at least one digest of the resource (`digestSRI`, a
//! Subresource Integrity string, or `digestMultibase`). Matching the digest against the
//! resource needs the resource: that is left to whoever fetches it.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::url::is_url;
use super::{NonConforming, Rule, items, show};

pub(super) fn check(doc: &Map<String, Value>) -> Result<(), NonConforming> {
    let Some(value) = doc.get("relatedResource") else {
        return Ok(());
    };
    let mut ids = HashSet::new();
    for entry in items(value) {
        let Value::Object(entry) = entry else {
            return Err(NonConforming::new(
                Rule::RELATED_RESOURCE_SHAPE,
                format!("relatedResource entry {} is not an object", show(entry)),
            ));
        };
        let id = entry
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| is_url(id))
            .ok_or_else(|| {
                NonConforming::new(
                    Rule::RELATED_RESOURCE_ID,
                    "a relatedResource entry has no URL id",
                )
            })?;
        if !ids.insert(id) {
            return Err(NonConforming::new(
                Rule::RELATED_RESOURCE_DUPLICATE_ID,
                format!("two relatedResource entries have the id {id}"),
            ));
        }
        let sri = entry
            .get("digestSRI")
            .map(|d| d.as_str().is_some_and(is_sri));
        let multibase = entry
            .get("digestMultibase")
            .map(|d| d.as_str().is_some_and(is_multibase));
        let digest_ok = match (sri, multibase) {
            (None, None) => false,
            (a, b) => a.unwrap_or(true) && b.unwrap_or(true),
        };
        if !digest_ok {
            return Err(NonConforming::new(
                Rule::RELATED_RESOURCE_DIGEST,
                format!("relatedResource {id} has no well-formed digestSRI or digestMultibase"),
            ));
        }
    }
    Ok(())
}

/// A Subresource Integrity metadata value: `sha256-`, `sha384-` or `sha512-` and base64.
fn is_sri(text: &str) -> bool {
    text.split_once('-').is_some_and(|(alg, digest)| {
        matches!(alg, "sha256" | "sha384" | "sha512")
            && !digest.is_empty()
            && digest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    })
}

/// A multibase string: a base prefix character and a non-empty body.
fn is_multibase(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric()) && chars.next().is_some()
}
