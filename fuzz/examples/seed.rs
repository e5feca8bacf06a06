//! Writes the fuzz targets' seed corpora: valid inputs made from the verifier tests' fixture
//! (in each target's input form) and, when a vectors directory is given, the shared test
//! vectors that fit each target.
//!
//! `seed <corpus dir> [<vectors dir>] [<repository root>]` writes `<corpus dir>/<target>/<name>`.

use std::fs;
use std::path::{Path, PathBuf};

use llavero_credentials::b64;
use llavero_credentials::crypto::default_backend;
use llavero_credentials::did;
use llavero_credentials::jws::DecodedJws;
use llavero_credentials::sd_jwt::SdJwt;
use llavero_credentials::status::token::StatusList;
use llavero_fuzz::fixture::{self, AUD, BIRTH, NONCE, NOW, SdJwtSpec};
use llavero_fuzz::{digest, world};
use serde_json::{Value, json};

/// Writes seeds under one directory per target.
struct Corpus {
    root: PathBuf,
    written: usize,
}

impl Corpus {
    fn put(&mut self, target: &str, name: &str, data: impl AsRef<[u8]>) {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).expect("the corpus directory can be created");
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        fs::write(dir.join(name), data).expect("a seed can be written");
        self.written += 1;
    }
}

fn main() {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let root = args
        .next()
        .expect("usage: seed <corpus dir> [<vectors dir>] [<repository root>]");
    let mut corpus = Corpus { root, written: 0 };
    from_fixture(&mut corpus);
    if let Some(vectors) = args.next().filter(|v| v.is_dir()) {
        from_vectors(&mut corpus, &vectors);
    }
    if let Some(repo) = args.next()
        && let Ok(example) = fs::read(repo.join("specs/trust-list/example.json"))
    {
        corpus.put("bundle", "specs-trust-list-example", example);
    }
    println!(
        "{} seeds written to {}",
        corpus.written,
        corpus.root.display()
    );
}

/// The payload of a compact JWS as text.
fn payload(compact: &str) -> String {
    let jws = DecodedJws::decode_with_limit(compact, usize::MAX).expect("a fixture JWS decodes");
    String::from_utf8(jws.unverified_payload().to_vec()).expect("a fixture payload is text")
}

/// An SD-JWT in `verify_signed`'s text form: digests replaced by `@i@`, `sd_hash` by `@h@`.
fn sd_jwt_as_text(compact: &str) -> String {
    let sd_jwt = SdJwt::parse(compact).expect("a fixture SD-JWT parses");
    let typ = sd_jwt.issuer_jws().header().typ.clone().unwrap_or_default();
    let mut claims = String::from_utf8(sd_jwt.issuer_jws().unverified_payload().to_vec())
        .expect("a fixture payload is text");
    let mut disclosures = Vec::new();
    for (i, d) in sd_jwt.disclosures().iter().enumerate() {
        claims = claims.replace(&d.digest(default_backend()), &format!("@{i}@"));
        let text = b64::decode(d.encoded()).expect("a fixture disclosure decodes");
        disclosures.push(String::from_utf8(text).expect("a fixture disclosure is text"));
    }
    let key_binding = sd_jwt.key_binding_jwt().map_or_else(String::new, |kb| {
        payload(kb).replace(&digest(&sd_jwt.without_key_binding()), "@h@")
    });
    let mut out = format!("{typ}\n{claims}~");
    for d in disclosures {
        out.push_str(&d);
        out.push('~');
    }
    out.push_str(&key_binding);
    out
}

fn from_fixture(corpus: &mut Corpus) {
    let w = world();
    let issued = fixture::sd_jwt_vc(SdJwtSpec::default());
    let one = fixture::present(&issued, &["given_name"], AUD, NONCE, NOW);
    let all = fixture::present(
        &issued,
        &["given_name", "family_name", "birthdate", "run"],
        AUD,
        NONCE,
        NOW,
    );
    let revoked = fixture::present(
        &fixture::sd_jwt_vc(SdJwtSpec {
            status_idx: Some(7),
            ..SdJwtSpec::default()
        }),
        &["run"],
        AUD,
        NONCE,
        NOW,
    );
    let vc = fixture::vc_jwt(
        &["IdentityCardCredential"],
        Some(("revocation", fixture::REVOCATION_URI, 4)),
        "2030-01-01T00:00:00Z",
    );
    let suspended = fixture::vc_jwt(
        &["IdentityCardCredential"],
        Some(("suspension", fixture::SUSPENSION_URI, 6)),
        "2030-01-01T00:00:00Z",
    );
    let vp = fixture::vp_jwt(std::slice::from_ref(&vc), AUD, NONCE);

    for (name, input) in [
        ("sd-jwt-issued", &issued),
        ("sd-jwt-one", &one),
        ("sd-jwt-all", &all),
        ("sd-jwt-revoked", &revoked),
        ("vc-jwt", &vc),
        ("vc-jwt-suspended", &suspended),
        ("vp-jwt", &vp),
    ] {
        corpus.put("verify", name, input);
    }
    for (name, input) in [("issued", &issued), ("one", &one), ("all", &all)] {
        corpus.put("sd_jwt", name, input);
        corpus.put("verify_signed", name, sd_jwt_as_text(input));
    }
    corpus.put(
        "verify_signed",
        "vc-jwt",
        format!("vc+jwt\n{}", payload(&vc)),
    );
    corpus.put(
        "verify_signed",
        "vp-jwt",
        format!(
            "vp+jwt\n{}~{}~",
            payload(&vp).replace(&vc, "@0@"),
            payload(&vc)
        ),
    );

    let bundle = fixture::bundle();
    let trust_list = fixture::trust_list();
    corpus.put("bundle", "fixture-bundle", &bundle);
    corpus.put("bundle", "fixture-trust-list", &trust_list);
    corpus.put("bundle", "fixture-trust-list-claims", payload(&trust_list));

    let holder = w.holder.public();
    let did_jwk = did::did_jwk(&holder);
    let did_key = did::did_key(&holder).expect("a P-256 key has a did:key");
    for (name, input) in [
        ("jwk-public", holder.to_value().to_string()),
        ("jwk-private", w.holder.to_secret_value().to_string()),
        ("did-jwk", format!("{did_jwk}#0")),
        (
            "did-key",
            format!("{did_key}#{}", &did_key["did:key:".len()..]),
        ),
        (
            "did-web",
            "did:web:registro.llavero.cl%3A8443:issuers:rc".into(),
        ),
    ] {
        corpus.put("jwk_did", name, input);
    }

    for list in &w.bundle.status_lists {
        let claims: Value = serde_json::from_str(&payload(&list.token)).expect("claims are JSON");
        let name = list.uri.rsplit('/').next().unwrap_or("list");
        if let Some(encoded) = claims.get("status_list") {
            corpus.put("status_token", "fixture-status-list", encoded.to_string());
            corpus.put("status_token", "fixture-token-claims", claims.to_string());
            let decoded = StatusList::decode(
                &serde_json::from_value(encoded.clone()).expect("a fixture list deserializes"),
            )
            .expect("a fixture list decodes");
            let mut raw = vec![decoded.bits().trailing_zeros() as u8];
            raw.extend(b64::decode(decoded.encode().expect("a list encodes").lst).expect("b64"));
            corpus.put("status_token", "fixture-raw", raw);
        } else if let Some(encoded) = claims["credentialSubject"]["encodedList"].as_str() {
            corpus.put("status_bitstring", &format!("{name}-encoded-list"), encoded);
            corpus.put(
                "status_bitstring",
                &format!("{name}-credential"),
                claims.to_string(),
            );
            let raw = b64::decode(encoded.trim_start_matches('u')).expect("a fixture list is b64");
            corpus.put("status_bitstring", &format!("{name}-raw"), raw);
        }
    }

    let query = json!({"credentials": [{
        "id": "birth", "format": "dc+sd-jwt", "meta": {"vct_values": [BIRTH]},
        "claims": [{"id": "g", "path": ["given_name"]}, {"id": "b", "path": ["birthdate"], "values": ["1990-05-01"]},
                   {"id": "r", "path": ["run"]}],
        "claim_sets": [["g", "b"], ["r"]]
    }, {
        "id": "card", "format": "jwt_vc_json", "multiple": true,
        "meta": {"type_values": [["IdentityCardCredential"]]},
        "claims": [{"path": ["credentialSubject", "given_name"]}]
    }, {
        "id": "pid", "format": "dc+sd-jwt",
        "claims": [{"path": ["nationalities", null]}, {"path": ["degrees", 0, "type"]}]
    }], "credential_sets": [{"options": [["birth"], ["card"]]}, {"options": [["pid"]], "required": false}]});
    corpus.put("dcql", "fixture-query", query.to_string());
    let mut with_claims = query.to_string().into_bytes();
    with_claims.push(0);
    with_claims.extend(
        json!({"vct": "x", "nationalities": ["CL"], "degrees": [{"type": "PhD"}]})
            .to_string()
            .into_bytes(),
    );
    corpus.put("dcql", "fixture-query-held", with_claims);

    let offer = json!({
        "credential_issuer": "https://registro.llavero.cl",
        "credential_configuration_ids": ["birth-certificate"],
        "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code": {
            "pre-authorized_code": "oaKazRN8I0IbtZ0C7JuMn5",
            "tx_code": {"input_mode": "numeric", "length": 6, "description": "SMS"}},
            "authorization_code": {"issuer_state": "eyJhbGciOiJSU0Et"}}
    });
    offer_seeds(corpus, "fixture", &offer);
    corpus.put(
        "offer",
        "fixture-by-reference",
        "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fregistro.llavero.cl%2Foffer%2F1",
    );
}

/// An offer as JSON and as the URI a wallet scans.
fn offer_seeds(corpus: &mut Corpus, name: &str, offer: &Value) {
    let text = offer.to_string();
    let encoded: String = text
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    corpus.put("offer", &format!("{name}-json"), &text);
    corpus.put(
        "offer",
        &format!("{name}-uri"),
        format!("openid-credential-offer://?credential_offer={encoded}"),
    );
}

/// The JSON objects of a text that starts some lines with `{` (a Markdown or HTTP example).
fn json_objects(text: &str) -> Vec<Value> {
    let mut found = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with('{') {
            let rest = &text[offset..];
            if let Some(Ok(value)) = serde_json::Deserializer::from_str(rest)
                .into_iter::<Value>()
                .next()
            {
                found.push(value);
            }
        }
        offset += line.len();
    }
    found
}

/// Every file directly in `dir` with one of `extensions`, sorted.
fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e))
        })
        .collect();
    out.sort();
    out
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Strings starting with `did:` and objects with a `kty`, anywhere in `value`.
fn keys_and_dids(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.starts_with("did:") => out.push(s.clone()),
        Value::Object(map) => {
            if map.contains_key("kty") {
                out.push(value.to_string());
            }
            for (k, v) in map {
                if k.starts_with("did:") {
                    out.push(k.clone());
                }
                keys_and_dids(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys_and_dids(v, out)),
        _ => {}
    }
}

fn from_vectors(corpus: &mut Corpus, vectors: &Path) {
    let compact = |path: &Path| -> Option<String> {
        let text: String = fs::read_to_string(path).ok()?.split_whitespace().collect();
        (!text.is_empty()).then_some(text)
    };
    let example = vectors.join("sd-jwt-vc-openid4vp-example/01");
    for name in ["sd_jwt_issuance", "sd_jwt_presentation"] {
        if let Some(text) = compact(&example.join(format!("{name}.txt"))) {
            corpus.put("verify", name, &text);
            corpus.put("sd_jwt", name, &text);
        }
    }
    for path in files(&vectors.join("vc-jose-cose"), &["txt"]) {
        if let Some(text) = compact(&path) {
            let target = if text.contains('~') {
                "sd_jwt"
            } else {
                "verify"
            };
            corpus.put(target, &format!("vc-jose-cose-{}", stem(&path)), &text);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for path in files(&vectors.join("did-key"), &["json"])
        .into_iter()
        .chain(files(&vectors.join("vc-jose-cose"), &["json"]))
        .chain(files(&vectors.join("openid4vci"), &["json"]))
    {
        let Some(value) = fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
        else {
            continue;
        };
        let mut found = Vec::new();
        keys_and_dids(&value, &mut found);
        for (i, item) in found.into_iter().enumerate().take(16) {
            if seen.insert(item.clone()) {
                corpus.put("jwk_did", &format!("{}-{i}", stem(&path)), item);
            }
        }
    }
    for path in files(&vectors.join("token-status-list"), &["md"]) {
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        for (i, value) in json_objects(&text).into_iter().enumerate() {
            corpus.put(
                "status_token",
                &format!("{}-{i}", stem(&path)),
                value.to_string(),
            );
        }
    }
    for path in files(&vectors.join("openid4vp/dcql"), &["json"]) {
        if let Ok(text) = fs::read_to_string(&path) {
            corpus.put("dcql", &stem(&path), text);
        }
    }
    for path in files(&vectors.join("openid4vci"), &["json", "txt"]) {
        let name = stem(&path);
        if !name.starts_with("credential_offer") {
            continue;
        }
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        for (i, value) in json_objects(&text).into_iter().enumerate() {
            offer_seeds(corpus, &format!("{name}-{i}"), &value);
        }
    }
}
