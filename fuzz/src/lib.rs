//! What the fuzz targets share: the verifier tests' world (trust anchor, issuers, holder, signed
//! status lists and the offline bundle, all from fixed test keys) and the assembly of signed
//! inputs from a fuzzer's plain text, so that mutations reach the code after a good signature.

use std::sync::OnceLock;

use llavero_credentials::b64;
use llavero_credentials::crypto::{default_backend, signer_from_jwk};
use llavero_credentials::did;
use llavero_credentials::jwk::PrivateJwk;
use llavero_credentials::jws::{self, Header};
use llavero_verifier::{OfflineBundle, Verifier};

/// The verifier tests' fixture, used as is so that the fuzz targets and the tests share one world.
#[path = "../../crates/verifier/tests/fixture.rs"]
#[allow(dead_code, clippy::all, clippy::pedantic)]
pub mod fixture;

/// Keys and documents built once per process: key generation and signing are far slower than
/// one fuzz iteration.
pub struct World {
    /// A verifier loaded from the fixture's bundle (trust list and three status lists).
    pub verifier: Verifier,
    /// The fixture's bundle, parsed (its status lists are reused around fuzzed trust lists).
    pub bundle: OfflineBundle,
    /// The trust anchor's key.
    pub anchor: PrivateJwk,
    /// The civil registry's key (an issuer in the trust list, `kid` `registro-2026`).
    pub registro: PrivateJwk,
    /// The holder's key (bound in the fixture's credentials).
    pub holder: PrivateJwk,
    /// `did:jwk` of the holder.
    pub holder_did: String,
}

/// The shared world.
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let bundle = fixture::bundle();
        let holder = fixture::holder();
        World {
            verifier: fixture::verifier(),
            bundle: OfflineBundle::parse(&bundle).expect("the fixture's bundle parses"),
            anchor: fixture::anchor(),
            registro: fixture::registro(),
            holder_did: did::did_jwk(&holder.public()),
            holder,
        }
    })
}

/// Signs `payload` as a compact JWS with header `typ` and `kid`.
pub fn sign(key: &PrivateJwk, typ: &str, kid: Option<&str>, payload: &[u8]) -> String {
    let mut header = Header::new(typ);
    header.kid = kid.map(str::to_owned);
    let signer = signer_from_jwk(key).expect("a test key signs");
    jws::sign(header, payload, signer.as_ref()).expect("signing with a test key succeeds")
}

/// Signs `payload` as the civil registry (a trusted issuer).
pub fn sign_as_registro(typ: &str, payload: &[u8]) -> String {
    let w = world();
    sign(&w.registro, typ, w.registro.public().kid(), payload)
}

/// base64url(SHA-256(`text`)): an SD-JWT disclosure digest, or a KB-JWT `sd_hash`.
pub fn digest(text: &str) -> String {
    b64::encode(default_backend().sha256(text.as_bytes()))
}

/// The most attachments one assembled input may carry: each enveloped credential costs a
/// signature, and a few already reach every rule about several of them.
pub const MAX_ATTACHMENTS: usize = 16;

/// Builds a credential or presentation from the fuzzer's text, signed by the test keys:
///
/// ```text
/// <typ>\n<payload>[~<attachment 0>~…~<attachment n>~[<key-binding claims>]]
/// ```
///
/// - a `typ` containing `vp` makes a presentation signed by the holder (`kid` its `did:jwk#0`);
///   each attachment is a credential payload signed by the registry as `vc+jwt`, and `@i@` in
///   the payload becomes the compact JWT of attachment `i`;
/// - otherwise, with a `~`, an SD-JWT signed by the registry: each attachment is a disclosure's
///   JSON (base64url-encoded here), `@i@` in the payload or in an earlier disclosure becomes the
///   digest of disclosure `i`, and non-empty key-binding claims are signed by the holder as a
///   `kb+jwt`, with `@h@` replaced by the `sd_hash`;
/// - otherwise a plain JWS of the payload signed by the registry.
///
/// `None` when the text has no `typ` line or too many attachments.
pub fn assemble(text: &str) -> Option<String> {
    let (typ, rest) = text.split_once('\n')?;
    let mut parts: Vec<&str> = rest.split('~').collect();
    if parts.len() > MAX_ATTACHMENTS + 2 {
        return None;
    }
    let payload = parts.remove(0);
    let key_binding = if parts.is_empty() { None } else { parts.pop() };
    let w = world();
    if typ.to_ascii_lowercase().contains("vp") {
        let mut payload = payload.to_owned();
        for (i, attachment) in parts.iter().enumerate() {
            let credential = sign_as_registro("vc+jwt", attachment.as_bytes());
            payload = payload.replace(&format!("@{i}@"), &credential);
        }
        let kid = format!("{}#0", w.holder_did);
        return Some(sign(&w.holder, typ, Some(&kid), payload.as_bytes()));
    }
    let Some(key_binding) = key_binding else {
        return Some(sign_as_registro(typ, payload.as_bytes()));
    };
    // Later disclosures first, so that an earlier one (a parent) can name a later one's digest.
    let mut encoded = vec![String::new(); parts.len()];
    let mut digests = vec![String::new(); parts.len()];
    for (i, part) in parts.iter().enumerate().rev() {
        let mut text = (*part).to_owned();
        for (j, d) in digests.iter().enumerate().skip(i + 1) {
            text = text.replace(&format!("@{j}@"), d);
        }
        let e = b64::encode(text);
        digests[i] = digest(&e);
        encoded[i] = e;
    }
    let mut payload = payload.to_owned();
    for (i, d) in digests.iter().enumerate() {
        payload = payload.replace(&format!("@{i}@"), d);
    }
    let mut out = sign_as_registro(typ, payload.as_bytes());
    out.push('~');
    for e in &encoded {
        out.push_str(e);
        out.push('~');
    }
    if !key_binding.is_empty() {
        let claims = key_binding.replace("@h@", &digest(&out));
        out.push_str(&sign(&w.holder, "kb+jwt", None, claims.as_bytes()));
    }
    Some(out)
}
