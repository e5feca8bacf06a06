//! Credential types: one definition file per type (`specs/credential-types/<id>.json`, SD-JWT
//! VC type metadata plus an `issuance` member) and a JSON Schema beside it
//! (`<id>.schema.json`) that every credential's claims must pass before signing.
//!
//! A type says where its claims come from: the `registry` map names, for each claim, the
//! civil-registry field that fills it; every other claim is supplied by the agency in its offer.
//! Adding a type is adding two files: no code knows any type by name.

use std::collections::BTreeMap;
use std::path::Path;

use llavero_credentials::sd_jwt::ClaimPath;
use llavero_store::Person;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The definitions shipped with Llavero (`specs/credential-types/`).
const BUILTIN: [(&str, &str, &str); 4] = [
    (
        "birth-certificate",
        include_str!("../../../specs/credential-types/birth-certificate.json"),
        include_str!("../../../specs/credential-types/birth-certificate.schema.json"),
    ),
    (
        "identity-card",
        include_str!("../../../specs/credential-types/identity-card.json"),
        include_str!("../../../specs/credential-types/identity-card.schema.json"),
    ),
    (
        "driving-licence",
        include_str!("../../../specs/credential-types/driving-licence.json"),
        include_str!("../../../specs/credential-types/driving-licence.schema.json"),
    ),
    (
        "criminal-record",
        include_str!("../../../specs/credential-types/criminal-record.json"),
        include_str!("../../../specs/credential-types/criminal-record.schema.json"),
    ),
];

/// Why a definition or a set of claims was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TypeError {
    /// A definition file could not be read.
    #[error("reading {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A definition is not what this module expects.
    #[error("credential type {id}: {reason}")]
    Definition {
        /// The type.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// Claims fail the type's JSON Schema.
    #[error("claims do not match the {id} schema: {}", errors.join("; "))]
    Schema {
        /// The type.
        id: String,
        /// Each violation (`/classes/0: "Z" is not one of …`).
        errors: Vec<String>,
    },
    /// A registry field the definition names does not exist.
    #[error("credential type {id}: unknown registry field {field:?}")]
    UnknownRegistryField {
        /// The type.
        id: String,
        /// The field.
        field: String,
    },
}

/// A credential format Llavero issues, by its OpenID4VCI name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum Format {
    /// SD-JWT VC (`dc+sd-jwt`): selective disclosure; always offered.
    #[serde(rename = "dc+sd-jwt")]
    SdJwtVc,
    /// W3C VC 2.0 secured with JOSE (`vc+jwt`), for relying parties that need the W3C model.
    #[serde(rename = "jwt_vc_json")]
    VcJwt,
}

impl Format {
    /// The OpenID4VCI `format`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SdJwtVc => "dc+sd-jwt",
            Self::VcJwt => "jwt_vc_json",
        }
    }

    /// The suffix of its credential configuration ids.
    fn suffix(self) -> &'static str {
        match self {
            Self::SdJwtVc => "sd-jwt",
            Self::VcJwt => "vc-jwt",
        }
    }
}

/// How credentials of a type are issued.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuanceRules {
    /// The W3C `type` next to `VerifiableCredential`.
    pub w3c_type: String,
    /// Validity from issuance.
    pub validity_days: i64,
    /// Formats offered.
    pub formats: Vec<Format>,
    /// Whether the agency approves each issuance before the wallet gets it.
    #[serde(default)]
    pub deferred: bool,
    /// Claim name → civil-registry field.
    #[serde(default)]
    pub registry: BTreeMap<String, String>,
}

/// One claim of a type (SD-JWT VC type metadata, §9).
#[derive(Debug, Clone, Deserialize)]
pub struct ClaimDefinition {
    /// Where it is.
    pub path: Vec<Value>,
    /// Labels by locale.
    #[serde(default)]
    pub display: Vec<Value>,
    /// `always`, `allowed` or `never`.
    #[serde(default = "allowed")]
    pub sd: String,
    /// Whether every credential has it.
    #[serde(default)]
    pub mandatory: bool,
}

fn allowed() -> String {
    "allowed".into()
}

#[derive(Debug, Deserialize)]
struct Definition {
    vct: String,
    display: Vec<Value>,
    claims: Vec<ClaimDefinition>,
    issuance: IssuanceRules,
}

/// A credential type, its schema compiled.
pub struct CredentialType {
    /// Id (the definition's file name).
    pub id: String,
    /// `vct`.
    pub vct: String,
    /// Names and descriptions by locale.
    pub display: Vec<Value>,
    /// The claims.
    pub claims: Vec<ClaimDefinition>,
    /// How it is issued.
    pub issuance: IssuanceRules,
    schema: jsonschema::Validator,
}

impl std::fmt::Debug for CredentialType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialType")
            .field("id", &self.id)
            .field("vct", &self.vct)
            .finish_non_exhaustive()
    }
}

/// The registry fields a type may draw from.
pub const REGISTRY_FIELDS: [&str; 9] = [
    "run",
    "given_names",
    "family_names",
    "paternal_surname",
    "maternal_surname",
    "birth_date",
    "sex",
    "nationality",
    "document_serial",
];

fn registry_value(person: &Person, field: &str) -> Option<Value> {
    let run = || {
        u32::try_from(person.run)
            .ok()
            .and_then(|n| llavero_platform::Run::from_number(n).ok())
            .map(|run| run.to_string())
    };
    Some(match field {
        "run" => run()?.into(),
        "given_names" => person.given_names.clone().into(),
        "family_names" => format!("{} {}", person.paternal_surname, person.maternal_surname)
            .trim()
            .into(),
        "paternal_surname" => person.paternal_surname.clone().into(),
        "maternal_surname" => person.maternal_surname.clone().into(),
        "birth_date" => person.birth_date.clone().into(),
        "sex" => person.sex.clone().into(),
        "nationality" => person.nationality.clone().into(),
        "document_serial" => person.document_serial.clone().into(),
        _ => return None,
    })
}

impl CredentialType {
    /// Parses a definition and its schema.
    pub fn parse(id: &str, definition: &str, schema: &str) -> Result<Self, TypeError> {
        let bad = |reason: String| TypeError::Definition {
            id: id.to_owned(),
            reason,
        };
        let definition: Definition =
            serde_json::from_str(definition).map_err(|e| bad(e.to_string()))?;
        let schema: Value =
            serde_json::from_str(schema).map_err(|e| bad(format!("schema: {e}")))?;
        let schema = jsonschema::validator_for(&schema).map_err(|e| bad(format!("schema: {e}")))?;
        if !definition.issuance.formats.contains(&Format::SdJwtVc) {
            return Err(bad("every type is offered as dc+sd-jwt".into()));
        }
        if definition.issuance.validity_days <= 0 {
            return Err(bad("validity_days must be positive".into()));
        }
        if let Some(field) = definition
            .issuance
            .registry
            .values()
            .find(|f| !REGISTRY_FIELDS.contains(&f.as_str()))
        {
            return Err(TypeError::UnknownRegistryField {
                id: id.to_owned(),
                field: field.clone(),
            });
        }
        Ok(Self {
            id: id.to_owned(),
            vct: definition.vct,
            display: definition.display,
            claims: definition.claims,
            issuance: definition.issuance,
            schema,
        })
    }

    /// The configuration id of this type in `format`.
    #[must_use]
    pub fn configuration_id(&self, format: Format) -> String {
        format!("{}_{}", self.id, format.suffix())
    }

    /// Checks claims against the schema.
    pub fn validate(&self, claims: &Map<String, Value>) -> Result<(), TypeError> {
        let instance = Value::Object(claims.clone());
        let errors: Vec<String> = self
            .schema
            .iter_errors(&instance)
            .map(|e| format!("{}: {e}", e.instance_path))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(TypeError::Schema {
                id: self.id.clone(),
                errors,
            })
        }
    }

    /// The claims the registry supplies for `person`.
    #[must_use]
    pub fn registry_claims(&self, person: &Person) -> Map<String, Value> {
        self.issuance
            .registry
            .iter()
            .filter_map(|(claim, field)| Some((claim.clone(), registry_value(person, field)?)))
            .collect()
    }

    /// The claims the agency must or may supply (those the registry does not).
    pub fn agency_claims(&self) -> impl Iterator<Item = &ClaimDefinition> {
        self.claims.iter().filter(|c| {
            c.path
                .first()
                .and_then(Value::as_str)
                .is_none_or(|name| !self.issuance.registry.contains_key(name))
        })
    }

    /// Paths concealed in an SD-JWT VC with these claims: optional claims that are absent
    /// have nothing to conceal.
    #[must_use]
    pub fn disclosable_in(&self, claims: &Map<String, Value>) -> Vec<ClaimPath> {
        self.claims
            .iter()
            .filter(|c| c.sd != "never")
            .filter(|c| {
                c.path
                    .first()
                    .and_then(Value::as_str)
                    .is_some_and(|name| claims.contains_key(name))
            })
            .filter_map(|c| ClaimPath::from_value(&Value::Array(c.path.clone())).ok())
            .collect()
    }

    /// Whether the type is offered in `format`.
    #[must_use]
    pub fn offers(&self, format: Format) -> bool {
        self.issuance.formats.contains(&format)
    }
}

/// Every type the service knows.
#[derive(Debug, Default)]
pub struct Catalog {
    types: BTreeMap<String, CredentialType>,
}

impl Catalog {
    /// The types shipped with Llavero.
    pub fn builtin() -> Result<Self, TypeError> {
        let mut catalog = Self::default();
        for (id, definition, schema) in BUILTIN {
            catalog.insert(CredentialType::parse(id, definition, schema)?);
        }
        Ok(catalog)
    }

    /// The built-in types plus (replacing same-named ones) every `<id>.json` with its
    /// `<id>.schema.json` in `dir`.
    pub fn with_dir(dir: &Path) -> Result<Self, TypeError> {
        let mut catalog = Self::builtin()?;
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|e| TypeError::Read {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        };
        let entries = std::fs::read_dir(dir).map_err(|e| TypeError::Read {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            if id.ends_with(".schema") {
                continue;
            }
            let schema = read(&dir.join(format!("{id}.schema.json")))?;
            catalog.insert(CredentialType::parse(id, &read(&path)?, &schema)?);
        }
        Ok(catalog)
    }

    fn insert(&mut self, credential_type: CredentialType) {
        self.types
            .insert(credential_type.id.clone(), credential_type);
    }

    /// A type by id.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&CredentialType> {
        self.types.get(id)
    }

    /// Every type.
    pub fn iter(&self) -> impl Iterator<Item = &CredentialType> {
        self.types.values()
    }

    /// The type and format of a credential configuration id.
    #[must_use]
    pub fn configuration(&self, configuration_id: &str) -> Option<(&CredentialType, Format)> {
        let (id, suffix) = configuration_id.rsplit_once('_')?;
        let format = [Format::SdJwtVc, Format::VcJwt]
            .into_iter()
            .find(|f| f.suffix() == suffix)?;
        let credential_type = self.get(id)?;
        credential_type
            .offers(format)
            .then_some((credential_type, format))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llavero_store::PersonStatus;
    use serde_json::json;

    fn person() -> Person {
        Person {
            run: 12_345_678,
            given_names: "María José".into(),
            paternal_surname: "González".into(),
            maternal_surname: "Rojas".into(),
            birth_date: "1990-04-12".into(),
            sex: "F".into(),
            nationality: "CL".into(),
            document_serial: "A123456789".into(),
            status: PersonStatus::Active,
            registry_updated_at: 0,
        }
    }

    #[test]
    fn builtin_types_load_and_name_their_configurations() {
        let catalog = Catalog::builtin().unwrap();
        assert_eq!(catalog.iter().count(), 4);
        let (birth, format) = catalog.configuration("birth-certificate_sd-jwt").unwrap();
        assert_eq!(format, Format::SdJwtVc);
        assert_eq!(birth.vct, "https://llavero.cl/vct/birth-certificate");
        assert!(catalog.configuration("birth-certificate_vc-jwt").is_some());
        // The driving licence is not offered in the W3C model.
        assert!(catalog.configuration("driving-licence_vc-jwt").is_none());
        assert!(catalog.configuration("passport_sd-jwt").is_none());
        assert!(catalog.get("criminal-record").unwrap().issuance.deferred);
    }

    #[test]
    fn registry_claims_come_from_the_record_and_pass_the_schema() {
        let catalog = Catalog::builtin().unwrap();
        let birth = catalog.get("birth-certificate").unwrap();
        let claims = birth.registry_claims(&person());
        assert_eq!(claims["run"], "12.345.678-5");
        assert_eq!(claims["family_name"], "González Rojas");
        assert_eq!(claims["birthdate"], "1990-04-12");
        birth.validate(&claims).unwrap();
        let agency: Vec<_> = birth.agency_claims().map(|c| c.path[0].clone()).collect();
        assert_eq!(agency, vec![json!("birth_place")]);
    }

    #[test]
    fn claims_failing_the_schema_are_refused_with_each_reason() {
        let catalog = Catalog::builtin().unwrap();
        let licence = catalog.get("driving-licence").unwrap();
        let mut claims = licence.registry_claims(&person());
        claims.insert("classes".into(), json!(["B", "Z"]));
        claims.insert("licence_expiry".into(), json!("next year"));
        claims.insert("blood_type".into(), json!("O+"));
        let TypeError::Schema { errors, .. } = licence.validate(&claims).unwrap_err() else {
            panic!("expected a schema error");
        };
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("/classes/1")));
        claims.insert("classes".into(), json!(["B", "C"]));
        claims.insert("licence_expiry".into(), json!("2031-01-01"));
        claims.remove("blood_type");
        licence.validate(&claims).unwrap();
    }

    #[test]
    fn a_new_type_from_a_directory_needs_no_code() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("fishing-licence.json"),
            json!({
                "vct": "https://llavero.cl/vct/fishing-licence",
                "display": [{"locale": "es", "name": "Licencia de pesca"}],
                "claims": [{"path": ["given_name"], "sd": "always", "mandatory": true},
                           {"path": ["waters"], "sd": "always", "mandatory": true}],
                "issuance": {"w3c_type": "FishingLicenceCredential", "validity_days": 365,
                             "formats": ["dc+sd-jwt"], "registry": {"given_name": "given_names"}}
            })
            .to_string(),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("fishing-licence.schema.json"),
            json!({"type": "object", "required": ["given_name", "waters"],
                   "properties": {"waters": {"enum": ["sea", "river"]}}})
            .to_string(),
        )
        .unwrap();
        let catalog = Catalog::with_dir(dir.path()).unwrap();
        let (fishing, _) = catalog.configuration("fishing-licence_sd-jwt").unwrap();
        let mut claims = fishing.registry_claims(&person());
        assert!(fishing.validate(&claims).is_err());
        claims.insert("waters".into(), json!("river"));
        fishing.validate(&claims).unwrap();
    }

    #[test]
    fn a_definition_naming_an_unknown_registry_field_is_refused() {
        let definition = json!({
            "vct": "x", "display": [], "claims": [],
            "issuance": {"w3c_type": "X", "validity_days": 1, "formats": ["dc+sd-jwt"],
                         "registry": {"salary": "income"}}
        });
        let err = CredentialType::parse("x", &definition.to_string(), "{}").unwrap_err();
        assert!(matches!(err, TypeError::UnknownRegistryField { field, .. } if field == "income"));
    }
}
