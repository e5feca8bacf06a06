//! The typed entries that point elsewhere: `credentialStatus` (§4.10), `credentialSchema`
//! (§4.11), `refreshService` (§5.4), `termsOfUse` (§5.5), `evidence` (§5.6). Each is one object
//! or an array of objects, each with a `type`, an `id` that is a URL where present (required
//! for a schema), and no two with the same `id`.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::core::type_values;
use super::url::is_url;
use super::{NonConforming, Rule, items, show};

/// The rules of one kind of entry.
pub(super) struct Entry {
    property: &'static str,
    id_required: bool,
    shape: Rule,
    type_rule: Rule,
    id: Rule,
    duplicate_id: Rule,
}

const STATUS: Entry = Entry {
    property: "credentialStatus",
    id_required: false,
    shape: Rule::CREDENTIAL_STATUS_SHAPE,
    type_rule: Rule::CREDENTIAL_STATUS_TYPE,
    id: Rule::CREDENTIAL_STATUS_ID,
    duplicate_id: Rule::CREDENTIAL_STATUS_DUPLICATE_ID,
};

const SCHEMA: Entry = Entry {
    property: "credentialSchema",
    id_required: true,
    shape: Rule::CREDENTIAL_SCHEMA_SHAPE,
    type_rule: Rule::CREDENTIAL_SCHEMA_TYPE,
    id: Rule::CREDENTIAL_SCHEMA_ID,
    duplicate_id: Rule::CREDENTIAL_SCHEMA_DUPLICATE_ID,
};

const REFRESH: Entry = Entry {
    property: "refreshService",
    id_required: false,
    shape: Rule::REFRESH_SERVICE_SHAPE,
    type_rule: Rule::REFRESH_SERVICE_TYPE,
    id: Rule::REFRESH_SERVICE_ID,
    duplicate_id: Rule::REFRESH_SERVICE_DUPLICATE_ID,
};

const TERMS: Entry = Entry {
    property: "termsOfUse",
    id_required: false,
    shape: Rule::TERMS_OF_USE_SHAPE,
    type_rule: Rule::TERMS_OF_USE_TYPE,
    id: Rule::TERMS_OF_USE_ID,
    duplicate_id: Rule::TERMS_OF_USE_DUPLICATE_ID,
};

const EVIDENCE: Entry = Entry {
    property: "evidence",
    id_required: false,
    shape: Rule::EVIDENCE_SHAPE,
    type_rule: Rule::EVIDENCE_TYPE,
    id: Rule::EVIDENCE_ID,
    duplicate_id: Rule::EVIDENCE_DUPLICATE_ID,
};

/// The entries a credential may carry.
pub(super) const CREDENTIAL: [Entry; 5] = [STATUS, SCHEMA, REFRESH, TERMS, EVIDENCE];
/// The entries a presentation may carry (§5.5: terms of use apply to presentations too).
pub(super) const PRESENTATION: [Entry; 1] = [TERMS];

pub(super) fn check_all(doc: &Map<String, Value>, kinds: &[Entry]) -> Result<(), NonConforming> {
    kinds.iter().try_for_each(|kind| check(doc, kind))
}

fn check(doc: &Map<String, Value>, kind: &Entry) -> Result<(), NonConforming> {
    let Some(value) = doc.get(kind.property) else {
        return Ok(());
    };
    let property = kind.property;
    let entries = items(value);
    // Ids are only collected when there are several entries to compare (a set allocates).
    let mut ids = HashSet::new();
    for entry in entries {
        let Value::Object(entry) = entry else {
            return Err(NonConforming::new(
                kind.shape,
                format!("{property} entry {} is not an object", show(entry)),
            ));
        };
        if entry.get("type").and_then(type_values).is_none() {
            return Err(NonConforming::new(
                kind.type_rule,
                format!("a {property} entry has no type"),
            ));
        }
        match entry.get("id") {
            None if kind.id_required => {
                return Err(NonConforming::new(
                    kind.id,
                    format!("a {property} entry has no id"),
                ));
            }
            None => {}
            Some(id) => {
                let id = id.as_str().filter(|id| is_url(id)).ok_or_else(|| {
                    NonConforming::new(kind.id, format!("{property} id {} is not a URL", show(id)))
                })?;
                if entries.len() > 1 && !ids.insert(id) {
                    return Err(NonConforming::new(
                        kind.duplicate_id,
                        format!("two {property} entries have the id {id}"),
                    ));
                }
            }
        }
    }
    Ok(())
}
