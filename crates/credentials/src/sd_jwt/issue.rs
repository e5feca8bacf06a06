//! Issuance (RFC 9901 §4.1–4.2): replace the chosen claims by digests, innermost first, so a
//! disclosable object may itself contain disclosable claims (recursive disclosure, §4.2.6).

use serde_json::{Map, Value};

use super::path::{ClaimPath, PathElement};
use super::{Disclosure, SdJwtError};
use crate::b64;
use crate::crypto::{CryptoBackend, SecureRandom, Signer};
use crate::jws::{self, Header};

/// Choices of the issuer beyond the claims.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssueOptions {
    /// The JWS `typ` (`dc+sd-jwt` for SD-JWT VC, `example+sd-jwt` in RFC 9901's examples).
    pub typ: String,
    /// The JWS `kid`.
    pub kid: Option<String>,
    /// Decoy digests added to every `_sd` array, so the number of claims does not show (§4.2.5).
    pub decoys_per_object: usize,
}

impl Default for IssueOptions {
    fn default() -> Self {
        Self {
            typ: "dc+sd-jwt".into(),
            kid: None,
            decoys_per_object: 0,
        }
    }
}

/// What issuance needs besides the claims.
struct Issuer<'a> {
    disclosable: &'a [ClaimPath],
    options: &'a IssueOptions,
    rng: &'a dyn SecureRandom,
    crypto: &'a dyn CryptoBackend,
    disclosures: Vec<Disclosure>,
    found: Vec<bool>,
    /// The path of the object or array being walked, pushed and popped as the walk descends:
    /// a claim is matched against the disclosable paths without building its own path.
    at: Vec<PathElement>,
}

/// The last step of the path of a claim being considered, borrowed from the claim.
#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl Step<'_> {
    /// Whether the (possibly wildcard) element `pattern` selects this step.
    fn matched_by(self, pattern: &PathElement) -> bool {
        match (pattern, self) {
            (PathElement::Key(a), Step::Key(b)) => a == b,
            (PathElement::Index(a), Step::Index(b)) => *a == b,
            (PathElement::AllElements, Step::Index(_)) => true,
            _ => false,
        }
    }

    fn to_element(self) -> PathElement {
        match self {
            Step::Key(name) => PathElement::Key(name.to_owned()),
            Step::Index(i) => PathElement::Index(i),
        }
    }
}

/// Issues an SD-JWT: `claims` with every path in `disclosable` replaced by a digest, signed by
/// `signer`. Returns `<jwt>~<d1>~…~<dn>~`. Digests are sorted, which hides the original claim
/// order as well as a shuffle does (§4.2.4.1).
pub fn issue(
    claims: &Map<String, Value>,
    disclosable: &[ClaimPath],
    options: &IssueOptions,
    signer: &dyn Signer,
    rng: &dyn SecureRandom,
    crypto: &dyn CryptoBackend,
) -> Result<String, SdJwtError> {
    issue_owned(claims.clone(), disclosable, options, signer, rng, crypto)
}

/// [`issue`] taking the claims by value, for callers that built them.
pub(crate) fn issue_owned(
    claims: Map<String, Value>,
    disclosable: &[ClaimPath],
    options: &IssueOptions,
    signer: &dyn Signer,
    rng: &dyn SecureRandom,
    crypto: &dyn CryptoBackend,
) -> Result<String, SdJwtError> {
    if claims.contains_key("_sd") || claims.contains_key("_sd_alg") {
        return Err(SdJwtError::ForbiddenClaimName("_sd".into()));
    }
    // One call to the generator for all salts: an OS generator costs a system call per fill.
    let rng = BufferedRandom::new(rng, (disclosable.len() + options.decoys_per_object) * 32)?;
    let mut issuer = Issuer {
        disclosable,
        options,
        rng: &rng,
        crypto,
        disclosures: Vec::with_capacity(disclosable.len()),
        found: vec![false; disclosable.len()],
        at: Vec::new(),
    };
    let mut payload = issuer.conceal_object(claims)?;
    if let Some(missing) = issuer.found.iter().position(|f| !f) {
        let path = disclosable
            .get(missing)
            .map(ToString::to_string)
            .unwrap_or_default();
        return Err(SdJwtError::PathNotFound(path));
    }
    if !issuer.disclosures.is_empty() || options.decoys_per_object > 0 {
        payload.insert("_sd_alg".into(), "sha-256".into());
    }
    let mut header = Header::new(&options.typ);
    header.kid.clone_from(&options.kid);
    let disclosures_len = issuer
        .disclosures
        .iter()
        .map(|d| d.encoded().len() + 1)
        .sum::<usize>()
        + 1;
    let mut out =
        jws::sign_json_reserving(header, &Value::Object(payload), signer, disclosures_len)?;
    out.push('~');
    for d in &issuer.disclosures {
        out.push_str(d.encoded());
        out.push('~');
    }
    Ok(out)
}

impl Issuer<'_> {
    /// Whether `pattern` names the walked path followed by `step`, or (`strictly_inside`) a
    /// path below it.
    fn reaches(&self, pattern: &ClaimPath, step: Step<'_>, strictly_inside: bool) -> bool {
        let depth = self.at.len() + 1;
        let long_enough = if strictly_inside {
            pattern.0.len() > depth
        } else {
            pattern.0.len() == depth
        };
        long_enough
            && pattern.0.iter().zip(&self.at).all(|(p, c)| p.matches(c))
            && pattern.0.get(depth - 1).is_some_and(|p| step.matched_by(p))
    }

    /// Marks the paths that select the walked path followed by `step`; whether any does.
    fn is_disclosable(&mut self, step: Step<'_>) -> bool {
        let mut any = false;
        for i in 0..self.disclosable.len() {
            if self
                .disclosable
                .get(i)
                .is_some_and(|p| self.reaches(p, step, false))
            {
                any = true;
                if let Some(f) = self.found.get_mut(i) {
                    *f = true;
                }
            }
        }
        any
    }

    /// Walks `value`, at the walked path followed by `step`, when a disclosable path lies
    /// strictly inside it.
    fn conceal(&mut self, value: Value, step: Step<'_>) -> Result<Value, SdJwtError> {
        if !self.disclosable.iter().any(|p| self.reaches(p, step, true)) {
            return Ok(value);
        }
        self.at.push(step.to_element());
        let out = match value {
            Value::Object(obj) => self.conceal_object(obj).map(Value::Object),
            Value::Array(items) => self.conceal_array(items).map(Value::Array),
            other => Ok(other),
        };
        self.at.pop();
        out
    }

    fn conceal_object(
        &mut self,
        obj: Map<String, Value>,
    ) -> Result<Map<String, Value>, SdJwtError> {
        let mut out = Map::new();
        let mut digests = Vec::new();
        for (name, value) in obj {
            let step = Step::Key(&name);
            let value = self.conceal(value, step)?;
            if self.is_disclosable(step) {
                if name == "_sd" || name == "..." {
                    return Err(SdJwtError::ForbiddenClaimName(name));
                }
                let d = Disclosure::new(Some(&name), value, self.rng)?;
                digests.push(d.digest(self.crypto));
                self.disclosures.push(d);
            } else {
                out.insert(name, value);
            }
        }
        if !digests.is_empty() || (self.at.is_empty() && self.options.decoys_per_object > 0) {
            for _ in 0..self.options.decoys_per_object {
                digests.push(self.decoy()?);
            }
            digests.sort_unstable();
            out.insert(
                "_sd".into(),
                Value::Array(digests.into_iter().map(Value::String).collect()),
            );
        }
        Ok(out)
    }

    fn conceal_array(&mut self, items: Vec<Value>) -> Result<Vec<Value>, SdJwtError> {
        let mut out = Vec::with_capacity(items.len());
        for (i, value) in items.into_iter().enumerate() {
            let step = Step::Index(i);
            let value = self.conceal(value, step)?;
            if self.is_disclosable(step) {
                let d = Disclosure::new(None, value, self.rng)?;
                let mut digest = Map::new();
                digest.insert("...".into(), d.digest(self.crypto).into());
                out.push(Value::Object(digest));
                self.disclosures.push(d);
            } else {
                out.push(value);
            }
        }
        Ok(out)
    }

    /// A digest of random bytes, indistinguishable from a real one (§4.2.5).
    fn decoy(&self) -> Result<String, SdJwtError> {
        let mut bytes = [0u8; 32];
        self.rng.fill(&mut bytes).map_err(SdJwtError::Crypto)?;
        Ok(b64::encode(self.crypto.sha256(&bytes)))
    }
}

/// Serves random bytes from one up-front fill of the underlying generator, refilling when
/// exhausted. The bytes are the generator's own output, only fetched in bulk.
struct BufferedRandom<'a> {
    inner: &'a dyn SecureRandom,
    buffer: std::sync::Mutex<(Vec<u8>, usize)>,
}

impl<'a> BufferedRandom<'a> {
    fn new(inner: &'a dyn SecureRandom, size: usize) -> Result<Self, SdJwtError> {
        let mut bytes = vec![0u8; size.max(32)];
        inner.fill(&mut bytes).map_err(SdJwtError::Crypto)?;
        Ok(Self {
            inner,
            buffer: std::sync::Mutex::new((bytes, 0)),
        })
    }
}

impl SecureRandom for BufferedRandom<'_> {
    fn fill(&self, dest: &mut [u8]) -> Result<(), crate::crypto::CryptoError> {
        let mut guard = self
            .buffer
            .lock()
            .map_err(|_| crate::crypto::CryptoError::Random)?;
        let (bytes, used) = &mut *guard;
        match bytes.get(*used..*used + dest.len()) {
            Some(chunk) => {
                dest.copy_from_slice(chunk);
                // Served bytes are wiped so they exist once.
                if let Some(served) = bytes.get_mut(*used..*used + dest.len()) {
                    served.fill(0);
                }
                *used += dest.len();
                Ok(())
            }
            None => self.inner.fill(dest),
        }
    }
}
