//! Processing an SD-JWT's payload with its disclosures (RFC 9901 §7.1 step 3 onward): every
//! digest is replaced by what its disclosure reveals, and every rule that keeps a holder or an
//! attacker from smuggling claims in is enforced.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::disclosure::DIGEST_LEN;
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

/// The walk's state. The current path is one stack pushed and popped as the walk descends, so
/// only a disclosure's own path is ever copied.
struct Revealer<'a> {
    disclosures: &'a [Disclosure],
    /// Each disclosure's value, taken when its digest is found (a digest is found once).
    values: Vec<Option<Value>>,
    /// Disclosure index by digest, kept as the base64url bytes: no string per disclosure.
    by_digest: HashMap<[u8; DIGEST_LEN], usize>,
    seen_digests: HashSet<String>,
    paths: Vec<Option<ClaimPath>>,
    at: Vec<PathElement>,
}

/// Applies `disclosures` to the issuer-signed `payload`.
pub fn reveal(
    payload: Value,
    disclosures: &[Disclosure],
    crypto: &dyn CryptoBackend,
) -> Result<Revealed, SdJwtError> {
    let values = disclosures.iter().map(|d| d.value().clone()).collect();
    reveal_owned(payload, disclosures, values, crypto)
}

/// [`reveal`] with the disclosures' values given by value (`values[i]` is the value of
/// `disclosures[i]`), for a caller that is done with them: revealed claims are moved into
/// place, not copied.
pub(crate) fn reveal_owned(
    payload: Value,
    disclosures: &[Disclosure],
    values: Vec<Value>,
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
        if by_digest.insert(d.digest_bytes(crypto), i).is_some() {
            return Err(SdJwtError::DuplicateDisclosure);
        }
    }
    let mut revealer = Revealer {
        disclosures,
        values: values.into_iter().map(Some).collect(),
        by_digest,
        seen_digests: HashSet::with_capacity(disclosures.len() * 2),
        paths: vec![None; disclosures.len()],
        at: Vec::new(),
    };
    let claims = revealer.object(payload)?;
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
    /// index of the disclosure it refers to, if one was presented.
    fn take(&mut self, digest: String) -> Result<Option<usize>, SdJwtError> {
        if self.seen_digests.contains(&digest) {
            return Err(SdJwtError::DuplicateDigest(digest));
        }
        // A digest of another length matches no disclosure, but still may not repeat.
        let found = <[u8; DIGEST_LEN]>::try_from(digest.as_bytes())
            .ok()
            .and_then(|bytes| self.by_digest.get(&bytes).copied());
        self.seen_digests.insert(digest);
        Ok(found)
    }

    /// Walks `value` with `step` pushed on the current path if it is an object or an array;
    /// a scalar is returned as it is, without building the step (a name would be copied).
    fn nested(
        &mut self,
        step: impl FnOnce() -> PathElement,
        value: Value,
    ) -> Result<Value, SdJwtError> {
        match value {
            Value::Object(_) | Value::Array(_) => self.child(step(), value),
            scalar => Ok(scalar),
        }
    }

    /// Walks `value` with `step` pushed on the current path.
    fn child(&mut self, step: PathElement, value: Value) -> Result<Value, SdJwtError> {
        self.at.push(step);
        let out = match value {
            Value::Object(obj) => self.object(obj).map(Value::Object),
            Value::Array(items) => self.array(items).map(Value::Array),
            other => Ok(other),
        };
        self.at.pop();
        out
    }

    /// The value of disclosure `index`, moved out: each is revealed once, as digests are unique.
    fn value(&mut self, index: usize) -> Result<Value, SdJwtError> {
        self.values
            .get_mut(index)
            .and_then(Option::take)
            .ok_or(SdJwtError::DuplicateDisclosure)
    }

    fn record(&mut self, index: usize, step: PathElement) {
        if let Some(slot) = self.paths.get_mut(index) {
            let mut path = self.at.clone();
            path.push(step);
            *slot = Some(ClaimPath(path));
        }
    }

    fn object(&mut self, mut obj: Map<String, Value>) -> Result<Map<String, Value>, SdJwtError> {
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
        // The object is processed in place: its plain claims stay where they are.
        let mut out = obj;
        for (name, value) in &mut out {
            // Scalars need no walk and no path.
            if matches!(value, Value::Object(_) | Value::Array(_)) {
                let taken = std::mem::take(value);
                *value = self.child(PathElement::Key(name.clone()), taken)?;
            }
        }
        for digest in digests {
            let Some(index) = self.take(digest)? else {
                continue;
            };
            let d = self
                .disclosures
                .get(index)
                .ok_or(SdJwtError::DisclosureArity)?;
            let name = d.name().ok_or(SdJwtError::DisclosureArity)?.to_owned();
            if name == "_sd" || name == "..." {
                return Err(SdJwtError::ForbiddenClaimName(name));
            }
            if out.contains_key(&name) {
                return Err(SdJwtError::ClaimNameCollision(name));
            }
            let value = self.value(index)?;
            self.record(index, PathElement::Key(name.clone()));
            let value = self.nested(|| PathElement::Key(name.clone()), value)?;
            out.insert(name, value);
        }
        Ok(out)
    }

    fn array(&mut self, items: Vec<Value>) -> Result<Vec<Value>, SdJwtError> {
        let mut out = Vec::with_capacity(items.len());
        // Paths use the element's position in the issuer's array, so a holder's choice of
        // `["nationalities", 1]` means the same element whatever else is disclosed.
        for (index, item) in items.into_iter().enumerate() {
            match array_digest(&item)? {
                Some(digest) => {
                    let Some(found) = self.take(digest)? else {
                        // An undisclosed array element vanishes (§7.1 step 3.3.2).
                        continue;
                    };
                    let d = self
                        .disclosures
                        .get(found)
                        .ok_or(SdJwtError::DisclosureArity)?;
                    if d.name().is_some() {
                        return Err(SdJwtError::DisclosureArity);
                    }
                    let value = self.value(found)?;
                    self.record(found, PathElement::Index(index));
                    out.push(self.nested(|| PathElement::Index(index), value)?);
                }
                None => out.push(self.nested(|| PathElement::Index(index), item)?),
            }
        }
        Ok(out)
    }
}

/// The digest of an array element of the form `{"...": "<digest>"}`, if it is one.
fn array_digest(item: &Value) -> Result<Option<String>, SdJwtError> {
    let Value::Object(obj) = item else {
        return Ok(None);
    };
    match (obj.len(), obj.get("...")) {
        (1, Some(Value::String(digest))) => Ok(Some(digest.clone())),
        (1, Some(other)) => Err(SdJwtError::InvalidDigests(format!("... is {other}"))),
        _ => Ok(None),
    }
}
