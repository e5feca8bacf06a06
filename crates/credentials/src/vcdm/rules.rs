//! The rules a conforming document follows, each with the stable code a rejection carries
//! (`vcdm.<property>.<what>`), so that an issuer's error, a verifier's rejection and a test case
//! name the same rule.

use std::fmt;

/// One normative rule of the VC Data Model 2.0 that Llavero checks offline.
///
/// Rules are constants (`Rule::CREDENTIAL_SUBJECT_EMPTY`); [`Rule::code`] is the stable
/// identifier (`vcdm.credentialSubject.empty`) used in error bodies, CLI output and test
/// vectors, and [`Rule::ALL`] lists them for documentation and tests.
///
/// The code is private, so a rule outside the crate is one of those constants or comes from
/// [`Rule::from_code`], never a made-up code:
///
/// ```compile_fail,E0603
/// let made_up = llavero_credentials::vcdm::Rule("vcdm.anything.goes");
/// ```
///
/// ```
/// use llavero_credentials::vcdm::Rule;
/// assert_eq!(Rule::from_code("vcdm.credentialSubject.empty"), Some(Rule::CREDENTIAL_SUBJECT_EMPTY));
/// assert_eq!(Rule::from_code("vcdm.anything.goes"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rule(&'static str);

impl Rule {
    /// The stable code, `vcdm.<property>.<what>`.
    #[must_use]
    pub fn code(self) -> &'static str {
        self.0
    }

    /// The rule with this code, if Llavero checks it.
    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.0 == code)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

macro_rules! rules {
    ($($(#[doc = $doc:literal])* $name:ident = $code:literal;)*) => {
        impl Rule {
            $($(#[doc = $doc])* pub const $name: Rule = Rule($code);)*
            /// Every rule, in the order of the data model's sections.
            pub const ALL: &'static [Rule] = &[$(Rule::$name),*];
        }
    };
}

rules! {
    /// The document is not a JSON object.
    DOCUMENT_OBJECT = "vcdm.document.object";
    /// §4.3: `@context` is required.
    CONTEXT_MISSING = "vcdm.@context.missing";
    /// §4.3: the first `@context` item is `https://www.w3.org/ns/credentials/v2`.
    CONTEXT_FIRST = "vcdm.@context.first";
    /// §4.3: later `@context` items are URLs or objects.
    CONTEXT_ITEM = "vcdm.@context.item";
    /// §4.4: `id`, when present, is a single URL.
    ID_URL = "vcdm.id.url";
    /// §4.5: `type` is required.
    TYPE_MISSING = "vcdm.type.missing";
    /// §4.5: `type` is a string or an array of non-empty strings.
    TYPE_VALUE = "vcdm.type.value";
    /// §4.5: `type` includes `VerifiableCredential` (`VerifiablePresentation` for a presentation).
    TYPE_REQUIRED = "vcdm.type.required";
    /// §4.6: `name` is a string, a language value object or an array of them.
    NAME_VALUE = "vcdm.name.value";
    /// §4.6: `description` is a string, a language value object or an array of them.
    DESCRIPTION_VALUE = "vcdm.description.value";
    /// §4.7: `issuer` is required.
    ISSUER_MISSING = "vcdm.issuer.missing";
    /// §4.7: `issuer` is a URL or an object whose `id` is a URL.
    ISSUER_URL = "vcdm.issuer.url";
    /// §4.8: `credentialSubject` is required.
    CREDENTIAL_SUBJECT_MISSING = "vcdm.credentialSubject.missing";
    /// §4.8: `credentialSubject` is an object or a non-empty array of objects.
    CREDENTIAL_SUBJECT_SHAPE = "vcdm.credentialSubject.shape";
    /// §4.8: each subject is the subject of at least one claim (a member besides `id`).
    CREDENTIAL_SUBJECT_EMPTY = "vcdm.credentialSubject.empty";
    /// §4.8: a subject's `id`, when present, is a single URL.
    CREDENTIAL_SUBJECT_ID = "vcdm.credentialSubject.id";
    /// §4.9: `validFrom` is an XML Schema `dateTimeStamp` (a time zone is required).
    VALID_FROM_DATETIME = "vcdm.validFrom.dateTimeStamp";
    /// §4.9: `validUntil` is an XML Schema `dateTimeStamp` (a time zone is required).
    VALID_UNTIL_DATETIME = "vcdm.validUntil.dateTimeStamp";
    /// §4.9: `validFrom` is not later than `validUntil`.
    VALID_UNTIL_BEFORE_VALID_FROM = "vcdm.validUntil.beforeValidFrom";
    /// §4.10: each `credentialStatus` entry is an object.
    CREDENTIAL_STATUS_SHAPE = "vcdm.credentialStatus.shape";
    /// §4.10: each `credentialStatus` entry has a `type`.
    CREDENTIAL_STATUS_TYPE = "vcdm.credentialStatus.type";
    /// §4.10: a `credentialStatus` entry's `id`, when present, is a URL.
    CREDENTIAL_STATUS_ID = "vcdm.credentialStatus.id";
    /// §4.10: no two `credentialStatus` entries share an `id`.
    CREDENTIAL_STATUS_DUPLICATE_ID = "vcdm.credentialStatus.duplicateId";
    /// §4.11: each `credentialSchema` entry is an object.
    CREDENTIAL_SCHEMA_SHAPE = "vcdm.credentialSchema.shape";
    /// §4.11: each `credentialSchema` entry has a `type`.
    CREDENTIAL_SCHEMA_TYPE = "vcdm.credentialSchema.type";
    /// §4.11: each `credentialSchema` entry has an `id`, a URL.
    CREDENTIAL_SCHEMA_ID = "vcdm.credentialSchema.id";
    /// §4.11: no two `credentialSchema` entries share an `id`.
    CREDENTIAL_SCHEMA_DUPLICATE_ID = "vcdm.credentialSchema.duplicateId";
    /// §5.3: `relatedResource` entries are objects.
    RELATED_RESOURCE_SHAPE = "vcdm.relatedResource.shape";
    /// §5.3: each `relatedResource` entry has an `id`, a URL.
    RELATED_RESOURCE_ID = "vcdm.relatedResource.id";
    /// §5.3: no two `relatedResource` entries share an `id`.
    RELATED_RESOURCE_DUPLICATE_ID = "vcdm.relatedResource.duplicateId";
    /// §5.3: each `relatedResource` entry has a `digestSRI` or `digestMultibase` digest.
    RELATED_RESOURCE_DIGEST = "vcdm.relatedResource.digest";
    /// §5.4: each `refreshService` entry is an object.
    REFRESH_SERVICE_SHAPE = "vcdm.refreshService.shape";
    /// §5.4: each `refreshService` entry has a `type`.
    REFRESH_SERVICE_TYPE = "vcdm.refreshService.type";
    /// §5.4: a `refreshService` entry's `id`, when present, is a URL.
    REFRESH_SERVICE_ID = "vcdm.refreshService.id";
    /// §5.4: no two `refreshService` entries share an `id`.
    REFRESH_SERVICE_DUPLICATE_ID = "vcdm.refreshService.duplicateId";
    /// §5.5: each `termsOfUse` entry is an object.
    TERMS_OF_USE_SHAPE = "vcdm.termsOfUse.shape";
    /// §5.5: each `termsOfUse` entry has a `type`.
    TERMS_OF_USE_TYPE = "vcdm.termsOfUse.type";
    /// §5.5: a `termsOfUse` entry's `id`, when present, is a URL.
    TERMS_OF_USE_ID = "vcdm.termsOfUse.id";
    /// §5.5: no two `termsOfUse` entries share an `id`.
    TERMS_OF_USE_DUPLICATE_ID = "vcdm.termsOfUse.duplicateId";
    /// §5.6: each `evidence` entry is an object.
    EVIDENCE_SHAPE = "vcdm.evidence.shape";
    /// §5.6: each `evidence` entry has a `type`.
    EVIDENCE_TYPE = "vcdm.evidence.type";
    /// §5.6: an `evidence` entry's `id`, when present, is a URL.
    EVIDENCE_ID = "vcdm.evidence.id";
    /// §5.6: no two `evidence` entries share an `id`.
    EVIDENCE_DUPLICATE_ID = "vcdm.evidence.duplicateId";
    /// §4.13: a presentation's `holder`, when present, is a URL or an object whose `id` is a URL.
    HOLDER_URL = "vcdm.holder.url";
    /// §4.13: `verifiableCredential` entries are objects.
    VERIFIABLE_CREDENTIAL_SHAPE = "vcdm.verifiableCredential.shape";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for rule in Rule::ALL {
            assert!(seen.insert(rule.code()), "{rule} twice");
            assert!(rule.code().starts_with("vcdm."));
            assert_eq!(Rule::from_code(rule.code()), Some(*rule));
        }
        assert_eq!(Rule::from_code("vcdm.nothing"), None);
    }
}
