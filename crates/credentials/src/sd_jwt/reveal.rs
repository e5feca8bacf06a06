//! Processing an SD-JWT's payload with its disclosures (RFC 9901 §7.1 step 3 onward): every
//! digest is replaced by what its disclosure reveals, and every rule that keeps a holder or an
//! attacker from smuggling claims in is enforced.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::path::{ClaimPath, PathElement};
use super::{Disclosure, SdJwtError};
use crate::crypto::CryptoBackend;

/// The processed claims, and where each disclosure was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Revealed {
    /// The claims with disclosures applied, `_sd`, `_sd_alg` and undisclosed digests removed.
    pub claims: Value,
    /// For each disclosure (by position in the SD-JWT), the path of the claim it revealed.
    pub paths: Vec<ClaimPath>,
}

struct Revealer<'a> {
    disclosures: &'a [Disclosure],
    by_digest: HashMap<String, usize>,
    seen_digests: HashSet<String>,
    paths: Vec<Option<ClaimPath>>,
}

/// Applies `disclosures` to the issuer-signed `payload`.
pub fn reveal(
    payload: Value,
    disclosures: &[Disclosure],
    crypto: &dyn CryptoBackend,
) -> Result<Revealed, SdJwtError> {
    let Value::Object(mut payload) = payload else {
        return Err(SdJwtError::Malformed("payload is not a JSON object".into()));
    };
    match payload.remove("_sd_alg") {
        None => {}
        Some(Value::String(alg)) if alg == "sha-256" => {}
        Some(other) => {
            return Err(SdJwtError::UnsupportedHashAlgorithm(
                other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_owned),
            ));
        }
    }
    let mut by_digest = HashMap::with_capacity(disclosures.len());
    for (i, d) in disclosures.iter().enumerate() {
        if by_digest.insert(d.digest(crypto), i).is_some() {
            return Err(SdJwtError::DuplicateDisclosure);
        }
    }
    let mut revealer = Revealer {
        disclosures,
        by_digest,
        seen_digests: HashSet::new(),
        paths: vec![None; disclosures.len()],
    };
    let claims = revealer.object(payload, &ClaimPath::default())?;
    let paths = revealer
        .paths
        .into_iter()
        .zip(disclosures)
        .map(|(path, d)| {
            path.ok_or_else(|| SdJwtError::UnreferencedDisclosure(d.encoded().to_owned()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Revealed {
        claims: Value::Object(claims),
        paths,
    })
}

impl Revealer<'_> {
    /// Records `digest` as seen (§7.1 step 4: no digest may appear twice) and returns the
    /// disclosure it refers to, if any was presented.
    fn take(&mut self, digest: &str, path: ClaimPath) -> Result<Option<&Disclosure>, SdJwtError> {
        if !self.seen_digests.insert(digest.to_owned()) {
            return Err(SdJwtError::DuplicateDigest(digest.to_owned()));
        }
        let Some(&i) = self.by_digest.get(digest) else {
            return Ok(None);
        };
        if let Some(slot) = self.paths.get_mut(i) {
            *slot = Some(path);
        }
        Ok(self.disclosures.get(i))
    }

    fn value(&mut self, value: Value, path: &ClaimPath) -> Result<Value, SdJwtError> {
        match value {
            Value::Object(obj) => self.object(obj, path).map(Value::Object),
            Value::Array(items) => self.array(items, path).map(Value::Array),
            other => Ok(other),
        }
    }

    fn object(
        &mut self,
        mut obj: Map<String, Value>,
        path: &ClaimPath,
    ) -> Result<Map<String, Value>, SdJwtError> {
        let digests = match obj.remove("_sd") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|d| match d {
                    Value::String(s) => Ok(s),
                    other => Err(SdJwtError::InvalidDigests(format!("_sd element {other}"))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(SdJwtError::InvalidDigests(format!("_sd is {other}")));
            }
        };
        let mut out = Map::with_capacity(obj.len() + digests.len());
        for (name, value) in obj {
            let child = path.child(PathElement::Key(name.clone()));
            out.insert(name, self.value(value, &child)?);
        }
        for digest in digests {
            let Some(d) = self.take(&digest, path.clone())? else {
                continue;
            };
            let name = d.name().ok_or(SdJwtError::DisclosureArity)?.to_owned();
            if name == "_sd" || name == "..." {
                return Err(SdJwtError::ForbiddenClaimName(name));
            }
            if out.contains_key(&name) {
                return Err(SdJwtError::ClaimNameCollision(name));
            }
            let value = d.value().clone();
            let child = path.child(PathElement::Key(name.clone()));
            self.set_path(&digest, child.clone());
            let value = self.value(value, &child)?;
            out.insert(name, value);
        }
        Ok(out)
    }

    fn array(&mut self, items: Vec<Value>, path: &ClaimPath) -> Result<Vec<Value>, SdJwtError> {
        let mut out = Vec::with_capacity(items.len());
        // Paths use the element's position in the issuer's array, so a holder's choice of
        // `["nationalities", 1]` means the same element whatever else is disclosed.
        for (index, item) in items.into_iter().enumerate() {
            let child = path.child(PathElement::Index(index));
            match array_digest(&item)? {
                Some(digest) => {
                    let Some(d) = self.take(&digest, child.clone())? else {
                        // An undisclosed array element vanishes (§7.1 step 3.3.2).
                        continue;
                    };
                    if d.name().is_some() {
                        return Err(SdJwtError::DisclosureArity);
                    }
                    let value = d.value().clone();
                    out.push(self.value(value, &child)?);
                }
                None => out.push(self.value(item, &child)?),
            }
        }
        Ok(out)
    }

    /// Records the final path of the disclosure with `digest` (object members learn their
    /// name only after the disclosure is read).
    fn set_path(&mut self, digest: &str, path: ClaimPath) {
        if let Some(slot) = self
            .by_digest
            .get(digest)
            .and_then(|&i| self.paths.get_mut(i))
        {
            *slot = Some(path);
        }
    }
}

/// The digest of an array element of the form `{"...": "<digest>"}`, if it is one.
fn array_digest(item: &Value) -> Result<Option<String>, SdJwtError> {
    let Value::Object(obj) = item else {
        return Ok(None);
    };
    match (obj.len(), obj.get("...")) {
        (1, Some(Value::String(digest))) => Ok(Some(digest.clone())),
        (_, Some(other)) if obj.len() == 1 => {
            Err(SdJwtError::InvalidDigests(format!("... is {other}")))
        }
        _ => Ok(None),
    }
}
