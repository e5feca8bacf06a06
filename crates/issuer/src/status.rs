//! Publication of each agency's status lists, in the two forms its credentials reference: an
//! IETF Token Status List (`statuslist+jwt`, 2 bits: 0 valid, 1 revoked, 2 suspended) for
//! SD-JWT VCs, and W3C Bitstring Status List credentials (`vc+jwt`, one per purpose) for
//! `vc+jwt` credentials. Both are built from the same slots.
//!
//! Every request reads the list's non-valid entries (one indexed query), so a revocation is in
//! the next response; the signed document is cached per content and re-signed only when the
//! entries change or the cached copy has aged past half its `ttl`. Responses carry the `ttl`
//! as `max-age` and a weak `ETag` of the content.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use llavero_credentials::status::bitstring::{BitstringStatusList, StatusListCredential};
use llavero_credentials::status::token::{
    StatusList, StatusListTokenClaims, sign_status_list_token,
};
use llavero_store::{CredentialStatus, StatusListRow};

use crate::error::ApiError;
use crate::issue::{bitstring_list_uri, token_list_uri};
use crate::state::{Issuer, IssuerState};

/// Which published form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListForm {
    /// `statuslist+jwt`.
    Token,
    /// W3C list of revocations.
    Revocation,
    /// W3C list of suspensions.
    Suspension,
}

impl ListForm {
    fn media_type(self) -> &'static str {
        match self {
            Self::Token => "application/statuslist+jwt",
            Self::Revocation | Self::Suspension => "application/vc+jwt",
        }
    }

    fn purpose(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Revocation => "revocation",
            Self::Suspension => "suspension",
        }
    }
}

#[derive(Clone)]
struct Signed {
    at: i64,
    etag: String,
    body: String,
}

/// Signed lists by `(list, form)`.
#[derive(Default)]
pub struct ListCache {
    signed: RwLock<HashMap<(String, ListForm), Signed>>,
}

impl std::fmt::Debug for ListCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListCache(..)")
    }
}

/// A published list: its URI, the signed document and its `ETag`.
#[derive(Debug, Clone)]
pub struct PublishedList {
    /// The URI credentials reference.
    pub uri: String,
    /// The signed document.
    pub token: String,
    /// Weak `ETag` of the content.
    pub etag: String,
}

fn etag(form: ListForm, list: &StatusListRow, entries: &[(i64, CredentialStatus)]) -> String {
    let mut text = format!("{}|{}|{}", list.id, form.purpose(), list.size);
    for (idx, status) in entries {
        use std::fmt::Write as _;
        let _ = write!(text, "|{idx}:{}", status.as_str());
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    format!(
        "W/\"{}\"",
        URL_SAFE_NO_PAD.encode(digest.as_ref().get(..16).unwrap_or_default())
    )
}

fn build(
    issuer: &Issuer,
    signer: &dyn llavero_credentials::crypto::Signer,
    list: &StatusListRow,
    form: ListForm,
    entries: &[(i64, CredentialStatus)],
    now: i64,
) -> Result<String, ApiError> {
    let size = usize::try_from(list.size).map_err(|e| ApiError::server(&e))?;
    let index = |idx: i64| usize::try_from(idx).map_err(|e| ApiError::server(&e));
    let ttl = issuer.config.status_ttl_secs;
    let exp = now + issuer.config.status_validity_secs;
    let failed = |e: &dyn std::fmt::Display| ApiError::server(e);
    match form {
        ListForm::Token => {
            let mut bits = StatusList::new(size, 2).map_err(|e| failed(&e))?;
            for (idx, status) in entries {
                let value = match status {
                    CredentialStatus::Valid => 0,
                    CredentialStatus::Revoked => 1,
                    CredentialStatus::Suspended => 2,
                };
                bits.set(index(*idx)?, value).map_err(|e| failed(&e))?;
            }
            let claims = StatusListTokenClaims {
                uri: token_list_uri(issuer, &list.agency_id, list.number),
                iat: now,
                exp: Some(exp),
                ttl: u64::try_from(ttl).ok(),
                iss: Some(issuer.agency_url(&list.agency_id)),
            };
            sign_status_list_token(&bits, &claims, signer).map_err(|e| failed(&e))
        }
        ListForm::Revocation | ListForm::Suspension => {
            let wanted = if form == ListForm::Revocation {
                CredentialStatus::Revoked
            } else {
                CredentialStatus::Suspended
            };
            let mut bits = BitstringStatusList::new(size).map_err(|e| failed(&e))?;
            for (idx, _) in entries.iter().filter(|(_, s)| *s == wanted) {
                bits.set(index(*idx)?, true).map_err(|e| failed(&e))?;
            }
            let credential = StatusListCredential {
                id: bitstring_list_uri(issuer, &list.agency_id, list.number, form.purpose()),
                issuer: issuer.agency_url(&list.agency_id),
                purpose: form.purpose().into(),
                valid_from: Some(now),
                valid_until: Some(exp),
                ttl_ms: u64::try_from(ttl * 1000).ok(),
                list: bits,
            };
            credential.sign(signer).map_err(|e| failed(&e))
        }
    }
}

/// The current signed form of a list (cached while its content is unchanged and fresh).
pub async fn publish(
    issuer: &Issuer,
    list: &StatusListRow,
    form: ListForm,
) -> Result<PublishedList, ApiError> {
    let now = issuer.now();
    let entries = issuer.platform.store.list_entries(&list.id).await?;
    let tag = etag(form, list, &entries);
    let uri = match form {
        ListForm::Token => token_list_uri(issuer, &list.agency_id, list.number),
        _ => bitstring_list_uri(issuer, &list.agency_id, list.number, form.purpose()),
    };
    let key = (list.id.clone(), form);
    let fresh = |s: &Signed| s.etag == tag && now - s.at < issuer.config.status_ttl_secs / 2;
    if let Ok(cache) = issuer.lists.signed.read()
        && let Some(signed) = cache.get(&key).filter(|s| fresh(s))
    {
        return Ok(PublishedList {
            uri,
            token: signed.body.clone(),
            etag: signed.etag.clone(),
        });
    }
    let keys = issuer.agency_keys(&list.agency_id).await?;
    let body = build(issuer, keys.signer.as_ref(), list, form, &entries, now)?;
    if let Ok(mut cache) = issuer.lists.signed.write() {
        cache.insert(
            key,
            Signed {
                at: now,
                etag: tag.clone(),
                body: body.clone(),
            },
        );
    }
    Ok(PublishedList {
        uri,
        token: body,
        etag: tag,
    })
}

/// Every list of every agency in every form (for the offline bundle).
pub async fn publish_all(issuer: &Issuer) -> Result<Vec<PublishedList>, ApiError> {
    let mut out = Vec::new();
    for agency in issuer.platform.store.agencies().await? {
        for list in issuer.platform.store.status_lists(&agency.id).await? {
            for form in [ListForm::Token, ListForm::Revocation, ListForm::Suspension] {
                out.push(publish(issuer, &list, form).await?);
            }
        }
    }
    Ok(out)
}

async fn respond(
    issuer: &Issuer,
    headers: &HeaderMap,
    agency: &str,
    number: i64,
    form: ListForm,
) -> Result<Response, ApiError> {
    let list = issuer
        .platform
        .store
        .status_list(agency, number)
        .await?
        .ok_or_else(|| ApiError::not_found("no such status list"))?;
    let published = publish(issuer, &list, form).await?;
    let cache_control = format!("public, max-age={}", issuer.config.status_ttl_secs);
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == published.etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, form.media_type())], published.token).into_response()
    };
    let out = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&cache_control) {
        out.insert(header::CACHE_CONTROL, value);
    }
    if let Ok(value) = HeaderValue::from_str(&published.etag) {
        out.insert(header::ETAG, value);
    }
    Ok(response)
}

/// `GET /{agency}/status/{n}`: the Token Status List.
pub async fn token_list(
    State(issuer): State<IssuerState>,
    Path((agency, number)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    respond(&issuer, &headers, &agency, number, ListForm::Token).await
}

/// `GET /{agency}/status/{n}/{purpose}`: a W3C Bitstring Status List credential.
pub async fn bitstring_list(
    State(issuer): State<IssuerState>,
    Path((agency, number, purpose)): Path<(String, i64, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let form = match purpose.as_str() {
        "revocation" => ListForm::Revocation,
        "suspension" => ListForm::Suspension,
        _ => return Err(ApiError::not_found("purpose is revocation or suspension")),
    };
    respond(&issuer, &headers, &agency, number, form).await
}
