//! W3C Verifiable Credentials Data Model 2.0 conformance: the normative rules of §4 and §5
//! that a document must follow whatever secures it, checked before Llavero signs a credential
//! or presentation and after it verifies one (VCDM 2.0 §1.3: a conforming verifier checks every
//! required property and reports non-conforming documents).
//!
//! ```text
//!  document ──check_credential / check_presentation──▶ Ok(())
//!                                                  └─▶ NonConforming { rule, detail }
//! ```
//!
//! Each group of rules lives in its own module; each rule is a [`Rule`] with a stable code
//! (`vcdm.credentialSubject.empty`). The first broken rule is reported.
//!
//! What is **not** checked, because an offline verifier cannot: rules that need JSON-LD
//! processing (that every term is defined by a context, that `type` values expand to URLs,
//! that a context is processable) and rules that need a fetched resource (that a
//! `relatedResource` matches its digest, that a `credentialSchema` validates the credential,
//! that a `refreshService` answers).
//!
//! ```
//! use llavero_credentials::vcdm::{self, Rule};
//! use serde_json::json;
//!
//! let credential = json!({
//!     "@context": ["https://www.w3.org/ns/credentials/v2"],
//!     "type": ["VerifiableCredential"],
//!     "issuer": "https://registro.llavero.cl",
//!     "credentialSubject": {},
//! });
//! let err = vcdm::check_credential(&credential).unwrap_err();
//! assert_eq!(err.rule(), Rule::CREDENTIAL_SUBJECT_EMPTY);
//! assert_eq!(err.rule().code(), "vcdm.credentialSubject.empty");
//! ```

mod core;
mod entries;
mod language;
mod parties;
mod related;
mod rules;
mod url;
mod validity;

use serde_json::{Map, Value};

pub use self::rules::Rule;
pub use self::url::is_url;

/// A document that breaks a rule of the data model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {detail}")]
pub struct NonConforming {
    rule: Rule,
    detail: String,
}

impl NonConforming {
    pub(crate) fn new(rule: Rule, detail: impl Into<String>) -> Self {
        Self {
            rule,
            detail: detail.into(),
        }
    }

    /// The rule broken.
    #[must_use]
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// What in the document breaks it.
    #[must_use]
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

/// Checks a verifiable credential against every rule Llavero can check offline.
pub fn check_credential(document: &Value) -> Result<(), NonConforming> {
    let doc = object(document)?;
    core::check_context(doc)?;
    core::check_id(doc)?;
    core::check_type(doc, "VerifiableCredential")?;
    language::check(doc, "name", Rule::NAME_VALUE)?;
    language::check(doc, "description", Rule::DESCRIPTION_VALUE)?;
    parties::issuer_id(doc)?;
    parties::check_subjects(doc)?;
    validity::check(doc)?;
    entries::check_all(doc, &entries::CREDENTIAL)?;
    related::check(doc)
}

/// Checks a verifiable presentation (its own properties; enveloped credentials are checked
/// when each is verified).
pub fn check_presentation(document: &Value) -> Result<(), NonConforming> {
    let doc = object(document)?;
    core::check_context(doc)?;
    core::check_id(doc)?;
    core::check_type(doc, "VerifiablePresentation")?;
    parties::check_holder(doc)?;
    parties::check_credentials(doc)?;
    entries::check_all(doc, &entries::PRESENTATION)
}

/// The `issuer` id of a credential (the URL, or the `id` of the issuer object), checked as
/// §4.7 requires: what a verifier looks its key up by.
pub fn issuer_id(document: &Value) -> Result<&str, NonConforming> {
    parties::issuer_id(object(document)?)
}

fn object(document: &Value) -> Result<&Map<String, Value>, NonConforming> {
    document
        .as_object()
        .ok_or_else(|| NonConforming::new(Rule::DOCUMENT_OBJECT, "the document is not an object"))
}

/// A value that may be one item or an array of items, as a slice.
fn items(value: &Value) -> &[Value] {
    match value {
        Value::Array(items) => items,
        one => std::slice::from_ref(one),
    }
}

/// A short rendering of a value for an error detail (documents may be large).
fn show(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
        None => text,
    }
}
