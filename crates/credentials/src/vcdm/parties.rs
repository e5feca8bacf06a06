//! Who the document is from and about: `issuer` (§4.7), `credentialSubject` (§4.8), and a
//! presentation's `holder` and `verifiableCredential` (§4.13).

use serde_json::{Map, Value};

use super::url::is_url;
use super::{NonConforming, Rule, items, show};

/// §4.7: a URL, or an object whose `id` is a URL (with other members such as `name`).
pub(super) fn issuer_id(doc: &Map<String, Value>) -> Result<&str, NonConforming> {
    let issuer = doc
        .get("issuer")
        .ok_or_else(|| NonConforming::new(Rule::ISSUER_MISSING, "no issuer"))?;
    party_id(issuer, "issuer", Rule::ISSUER_URL)
}

/// §4.13: a presentation's `holder`, when present, follows the issuer's shape.
pub(super) fn check_holder(doc: &Map<String, Value>) -> Result<(), NonConforming> {
    doc.get("holder").map_or(Ok(()), |holder| {
        party_id(holder, "holder", Rule::HOLDER_URL).map(drop)
    })
}

fn party_id<'a>(value: &'a Value, name: &str, rule: Rule) -> Result<&'a str, NonConforming> {
    let id = match value {
        Value::Object(party) => party.get("id"),
        other => Some(other),
    };
    id.and_then(Value::as_str)
        .filter(|id| is_url(id))
        .ok_or_else(|| {
            NonConforming::new(
                rule,
                format!(
                    "{name} {} is not a URL or an object with a URL id",
                    show(value)
                ),
            )
        })
}

/// §4.8: one or more subject objects, each the subject of at least one claim (a member other
/// than `id`), each `id` a single URL.
pub(super) fn check_subjects(doc: &Map<String, Value>) -> Result<(), NonConforming> {
    let value = doc.get("credentialSubject").ok_or_else(|| {
        NonConforming::new(Rule::CREDENTIAL_SUBJECT_MISSING, "no credentialSubject")
    })?;
    let subjects = items(value);
    if subjects.is_empty() {
        return Err(NonConforming::new(
            Rule::CREDENTIAL_SUBJECT_SHAPE,
            "credentialSubject is an empty array",
        ));
    }
    for subject in subjects {
        let Value::Object(subject) = subject else {
            return Err(NonConforming::new(
                Rule::CREDENTIAL_SUBJECT_SHAPE,
                format!("credentialSubject {} is not an object", show(subject)),
            ));
        };
        if let Some(id) = subject.get("id")
            && !id.as_str().is_some_and(is_url)
        {
            return Err(NonConforming::new(
                Rule::CREDENTIAL_SUBJECT_ID,
                format!("credentialSubject id {} is not a single URL", show(id)),
            ));
        }
        if subject.keys().all(|k| k == "id") {
            return Err(NonConforming::new(
                Rule::CREDENTIAL_SUBJECT_EMPTY,
                "a credentialSubject makes no claim",
            ));
        }
    }
    Ok(())
}

/// §4.13: `verifiableCredential` holds objects (Llavero's presentations carry
/// `EnvelopedVerifiableCredential`s, checked as credentials once opened).
pub(super) fn check_credentials(doc: &Map<String, Value>) -> Result<(), NonConforming> {
    match doc
        .get("verifiableCredential")
        .map(items)
        .unwrap_or_default()
        .iter()
        .find(|c| !c.is_object())
    {
        Some(bad) => Err(NonConforming::new(
            Rule::VERIFIABLE_CREDENTIAL_SHAPE,
            format!("verifiableCredential entry {} is not an object", show(bad)),
        )),
        None => Ok(()),
    }
}
