//! Who asks: the relying parties the presentation authority registered, from its signed list
//! (`/verifier/relying-parties.jwt`, `typ: rp-list+jwt`, signed by a root the wallet trusts,
//! whose certificate is the list's `x5c`). A client identifier found there shows its
//! registered name; a request beyond what it registered (another format, type or claim)
//! warns the citizen. A client identifier not on any list is "not registered".

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use llavero_credentials::crypto::default_backend;
use llavero_credentials::jwk::{Jwk, PublicKey};
use llavero_credentials::jws::{AlgorithmPolicy, DecodedJws};
use llavero_credentials::sd_jwt::{ClaimPath, PathElement};
use llavero_holder::dcql::DcqlQuery;
use serde_json::Value;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer as _;

use crate::fetch::Outbound;
use crate::state::Wallet;

/// A relying party as a list registers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// Its registered name.
    pub name: String,
    /// What it may ask for: `[{format, types, claims}]`.
    pub credentials: Value,
}

/// The registration of `client_id` on the first configured list that names it. Lists that
/// cannot be read or do not verify are skipped (logged): the citizen is then warned.
pub async fn find(wallet: &Wallet, client_id: &str) -> Option<Registered> {
    for url in &wallet.config.relying_party_lists {
        match list(wallet, url).await {
            Ok(entries) => {
                let found = entries.into_iter().find(|e| {
                    e.get("client_ids")
                        .and_then(Value::as_array)
                        .is_some_and(|ids| ids.iter().any(|i| i.as_str() == Some(client_id)))
                });
                if let Some(entry) = found {
                    return Some(Registered {
                        name: entry
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        credentials: entry.get("credentials").cloned().unwrap_or(Value::Null),
                    });
                }
            }
            Err(e) => tracing::warn!(list = %url, error = %e, "relying-party list unusable"),
        }
    }
    None
}

/// The entries of a list, after checking its signature against a trusted root.
async fn list(wallet: &Wallet, url: &str) -> Result<Vec<Value>, String> {
    wallet.config.urls.check(url).map_err(|e| e.to_string())?;
    let answer = wallet
        .fetch
        .send(Outbound::get(url))
        .await
        .map_err(|e| e.to_string())?;
    if !(200..300).contains(&answer.status) {
        return Err(format!("HTTP {}", answer.status));
    }
    let text = String::from_utf8(answer.body).map_err(|e| e.to_string())?;
    let jws = DecodedJws::decode_with_limit(text.trim(), crate::fetch::MAX_DOCUMENT_BYTES)
        .map_err(|e| e.to_string())?;
    if jws.header().typ.as_deref() != Some("rp-list+jwt") {
        return Err("not an rp-list+jwt".into());
    }
    let signer_der = jws
        .header()
        .x5c
        .as_ref()
        .and_then(|c| c.first())
        .and_then(|c| STANDARD.decode(c).ok())
        .ok_or("no x5c")?;
    if !wallet.config.trusted_roots.contains(&signer_der) {
        return Err("signed by a certificate that is not a trusted root".into());
    }
    let (_, root) = X509Certificate::from_der(&signer_der).map_err(|e| e.to_string())?;
    let key = PublicKey::p256_from_sec1(&root.public_key().subject_public_key.data)
        .map_err(|e| e.to_string())?;
    jws.verify(
        default_backend(),
        &Jwk::new(key),
        &AlgorithmPolicy::es256_only(),
    )
    .map_err(|e| e.to_string())?;
    let claims = jws.unverified_value().map_err(|e| e.to_string())?;
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_none_or(|exp| exp <= wallet.now())
    {
        return Err("the list has expired".into());
    }
    Ok(claims
        .get("relying_parties")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn within(requested: &ClaimPath, allowed: &ClaimPath) -> bool {
    allowed.0.len() <= requested.0.len()
        && allowed
            .0
            .iter()
            .zip(&requested.0)
            .all(|(a, r)| a == r || matches!(a, PathElement::AllElements))
}

/// What `query` asks beyond `registered`: one plain sentence per finding (empty when within).
#[must_use]
pub fn beyond(registered: &Registered, query: &DcqlQuery) -> Vec<String> {
    let allowed: Vec<&Value> = registered
        .credentials
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let mut findings = Vec::new();
    for q in &query.credentials {
        let for_format: Vec<&&Value> = allowed
            .iter()
            .filter(|a| a.get("format").and_then(Value::as_str) == Some(q.format.as_str()))
            .collect();
        let types: Vec<String> = if let Some(vct) = q.meta.get("vct_values") {
            strings(Some(vct))
        } else {
            q.meta
                .get("type_values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .flat_map(|set| strings(Some(set)))
                .filter(|t| t != "VerifiableCredential")
                .collect()
        };
        let fits: Vec<&&Value> = for_format
            .into_iter()
            .filter(|a| {
                let registered = strings(a.get("types"));
                !types.is_empty() && types.iter().all(|t| registered.contains(t))
            })
            .collect();
        if fits.is_empty() {
            findings.push(format!("document {}", q.id));
            continue;
        }
        for claim in q.claims.iter().flatten() {
            let permitted = fits.iter().any(|a| {
                a.get("claims")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| serde_json::from_value::<ClaimPath>(p.clone()).ok())
                    .any(|allowed| within(&claim.path, &allowed))
            });
            if !permitted {
                findings.push(claim.path.to_string());
            }
        }
        if q.claims.is_none() {
            findings.push(format!("every claim of {}", q.id));
        }
    }
    findings
}
