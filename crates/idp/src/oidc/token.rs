//! `POST /token`: the authorization code grant (PKCE S256 required) and the refresh token
//! grant (rotation on every use; reuse revokes the family).
//!
//! Access tokens are opaque 256-bit random strings stored hashed, not JWTs: the only resource
//! server for them is this provider's userinfo endpoint, and revocation (code replay, refresh
//! reuse, logout, a registry status change) must take effect at once. A self-contained JWT
//! would need the same database lookup to honour that, and would leak claims to whoever holds it.

use axum::Json;
use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use llavero_store::{
    Client, CodeRedemption, Grant, NewAuditEvent, PkcePolicy, RefreshRotation, Rotation,
    hash_secret,
};
use serde_json::json;
use subtle::ConstantTimeEq as _;

use super::{ErrorCode, OAuthError, claims, client_auth, no_store};
use crate::audit::{self, Origin};
use crate::error::IdpError;
use crate::state::{Idp, IdpState};
use crate::write_queue;

/// The caller's address (see [`crate::web::client_address`]).
pub(crate) fn peer(extensions: &Extensions) -> crate::web::ClientAddress {
    crate::web::ClientAddress::of(extensions)
}

/// `POST /token`.
pub async fn token(
    State(idp): State<IdpState>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, IdpError> {
    let origin = Origin::of(&extensions, &headers);
    if let Some(extra) = idp.extra_grant.as_deref() {
        let grant_type = form_urlencoded::parse(&body).find(|(name, _)| name == "grant_type");
        if grant_type.is_some_and(|(_, value)| value == extra.grant_type()) {
            // Anonymous wallets are held to the same per-IP limit as clients.
            crate::web::rate_limit(&idp, crate::web::RateClass::Client, &peer(&extensions)).await?;
            // The same parsing as every other grant: a repeated parameter is refused, never
            // resolved by taking one of the values (RFC 6749 §3.2).
            let form = super::request::parse_params(&body)
                .map_err(|e| OAuthError::bad(ErrorCode::InvalidRequest, e))?;
            return Ok(extra.token(form, origin).await);
        }
    }
    let (form, client) =
        client_auth::client_request(&idp, &extensions, &headers, &body, "token").await?;
    Ok(grant(&idp, &form, &client, &origin).await?)
}

async fn grant(
    idp: &Idp,
    form: &BTreeMap<String, String>,
    client: &Client,
    origin: &Origin,
) -> Result<Response, OAuthError> {
    let get = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    match get("grant_type") {
        Some("authorization_code") => {
            let code = get("code")
                .ok_or_else(|| OAuthError::bad(ErrorCode::InvalidRequest, "code is required"))?;
            let redirect_uri = get("redirect_uri").ok_or_else(|| {
                OAuthError::bad(ErrorCode::InvalidRequest, "redirect_uri is required")
            })?;
            let verifier = get("code_verifier");
            // Refused before the code is spent, as before PKCE could be optional.
            if verifier.is_none() && client.pkce == PkcePolicy::Required {
                return Err(missing_verifier());
            }
            authorization_code(idp, client, code, redirect_uri, verifier, origin).await
        }
        Some("refresh_token") => {
            let token = get("refresh_token").ok_or_else(|| {
                OAuthError::bad(ErrorCode::InvalidRequest, "refresh_token is required")
            })?;
            refresh(idp, client, token, origin).await
        }
        Some(_) => Err(OAuthError::bad(
            ErrorCode::UnsupportedGrantType,
            "grant_type must be authorization_code or refresh_token",
        )),
        None => Err(OAuthError::bad(
            ErrorCode::InvalidRequest,
            "grant_type is required",
        )),
    }
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Z a-z 0-9 - . _ ~]`.
fn verifier_well_formed(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks the code's PKCE binding. A code issued with a challenge needs its verifier. A code
/// issued without one (a confidential client registered with PKCE optional) must come
/// without a verifier: one sent anyway means the authorization request was not the client's
/// own, the downgrade RFC 9700 §4.8.2 tells servers to refuse.
fn pkce_check(
    client: &Client,
    challenge: Option<&str>,
    verifier: Option<&str>,
) -> Result<(), OAuthError> {
    let invalid = |why: &str| OAuthError::bad(ErrorCode::InvalidGrant, why);
    match (challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            if verifier_well_formed(verifier) && pkce_matches(verifier, challenge) {
                Ok(())
            } else {
                Err(invalid("code_verifier does not match the code_challenge"))
            }
        }
        (None, Some(_)) => Err(invalid(
            "code_verifier sent for a code issued without a code_challenge",
        )),
        (None, None) if client.pkce == PkcePolicy::Optional => Ok(()),
        (Some(_) | None, None) => Err(missing_verifier()),
    }
}

fn missing_verifier() -> OAuthError {
    OAuthError::bad(
        ErrorCode::InvalidRequest,
        "code_verifier is required (PKCE)",
    )
}

fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    let computed = URL_SAFE_NO_PAD.encode(digest.as_ref());
    bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

async fn authorization_code(
    idp: &Idp,
    client: &Client,
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
    origin: &Origin,
) -> Result<Response, OAuthError> {
    let now = idp.now();
    let invalid = |why: &str| OAuthError::bad(ErrorCode::InvalidGrant, why);
    let issued = match idp
        .store
        .redeem_code(&hash_secret(code), now)
        .await
        .map_err(OAuthError::server)?
    {
        CodeRedemption::Unknown => return Err(invalid("unknown code")),
        CodeRedemption::Replayed => {
            audit::record(
                idp,
                origin,
                "code.replayed",
                None,
                Some(&client.id),
                json!({"effect": "grant revoked"}),
            )
            .await;
            tracing::warn!(client = %client.id, "authorization code replayed: its grant and tokens were revoked");
            return Err(invalid(
                "code already used; every token it produced is revoked",
            ));
        }
        CodeRedemption::First(issued) => issued,
    };
    if issued.grant.client_id != client.id {
        return Err(invalid("code was issued to another client"));
    }
    if issued.expires_at <= now {
        return Err(invalid("code expired"));
    }
    if issued.redirect_uri != redirect_uri {
        return Err(invalid(
            "redirect_uri differs from the authorization request",
        ));
    }
    pkce_check(client, issued.code_challenge.as_deref(), verifier)?;
    let (access, refresh) = (crate::random::token(), crate::random::token());
    let refresh_hash = hash_secret(&refresh);
    idp.store
        .store_tokens(
            &issued.grant.id,
            (&hash_secret(&access), now + idp.config.access_token_secs),
            (&refresh_hash, now + idp.config.refresh_token_secs),
        )
        .await
        .map_err(OAuthError::server)?;
    idp.refresh_grants
        .remember(refresh_hash, issued.grant.clone());
    audit::append(
        idp,
        issued_event(origin, &issued.grant, "authorization_code"),
    )
    .await;
    respond(
        idp,
        client,
        &issued.grant,
        issued.nonce.as_deref(),
        &access,
        &refresh,
    )
    .await
}

async fn refresh(
    idp: &Idp,
    client: &Client,
    token: &str,
    origin: &Origin,
) -> Result<Response, OAuthError> {
    let now = idp.now();
    let old_hash = hash_secret(token);
    // The token's grant gives the audit entry committed with the rotation: remembered by
    // this instance if it issued the token, read otherwise.
    let grant = match idp.refresh_grants.take(&old_hash, &client.id) {
        Some(grant) => grant,
        None => idp
            .store
            .refresh_token_grant(&old_hash, &client.id)
            .await
            .map_err(OAuthError::server)?
            .ok_or_else(unknown_refresh_token)?,
    };
    let entry = issued_event(origin, &grant, "refresh_token");
    let (access, refresh) = (crate::random::token(), crate::random::token());
    let refresh_hash = hash_secret(&refresh);
    let rotation = Rotation {
        client_id: client.id.clone(),
        old_hash,
        access: (hash_secret(&access), now + idp.config.access_token_secs),
        refresh: (refresh_hash.clone(), now + idp.config.refresh_token_secs),
        now,
        entry: Some(entry.clone()),
        grace_secs: idp.config.refresh_grace_secs,
    };
    let (rotation, seq) = write_queue::rotate(idp.writes.as_ref(), &idp.store, rotation)
        .await
        .map_err(OAuthError::server)?;
    if let Some(seq) = seq {
        audit::appended_at(idp, seq).await;
    }
    match rotation {
        RefreshRotation::Rotated(grant) => {
            audit::log(&entry);
            let response = respond(idp, client, &grant, None, &access, &refresh).await;
            idp.refresh_grants.remember(refresh_hash, *grant);
            response
        }
        RefreshRotation::Reused => {
            audit::record(
                idp,
                origin,
                "refresh_token.reused",
                None,
                Some(&client.id),
                json!({"effect": "family revoked"}),
            )
            .await;
            tracing::warn!(client = %client.id, "refresh token reused: its family was revoked");
            Err(OAuthError::bad(
                ErrorCode::InvalidGrant,
                "refresh token already used; the whole family is revoked",
            ))
        }
        RefreshRotation::Inactive => Err(OAuthError::bad(
            ErrorCode::InvalidGrant,
            "refresh token expired or revoked",
        )),
        RefreshRotation::Unknown => Err(unknown_refresh_token()),
    }
}

fn unknown_refresh_token() -> OAuthError {
    OAuthError::bad(ErrorCode::InvalidGrant, "unknown refresh token")
}

/// The `token.issued` entry for tokens of `grant`.
fn issued_event(origin: &Origin, grant: &Grant, grant_type: &str) -> NewAuditEvent {
    let scopes: Vec<&str> = grant.scope.split(' ').collect();
    let detail = json!({"grant_type": grant_type, "scopes": scopes, "sid": grant.session_handle});
    audit::event(
        origin,
        "token.issued",
        Some(&grant.account_id),
        Some(&grant.client_id),
        detail,
    )
}

async fn respond(
    idp: &Idp,
    client: &Client,
    grant: &Grant,
    nonce: Option<&str>,
    access: &str,
    refresh: &str,
) -> Result<Response, OAuthError> {
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": idp.config.access_token_secs,
        "refresh_token": refresh,
        "scope": super::credentials::reported_scope(&grant.scope),
    });
    if let Some(obj) = body.as_object_mut() {
        // A pure OpenID4VCI request (no `openid`) gets no ID token.
        if grant.scope.split(' ').any(|s| s == "openid") {
            let id_token = claims::id_token(idp, client, grant, nonce)
                .await
                .map_err(OAuthError::server)?;
            obj.insert("id_token".into(), id_token.into());
        }
        if let Some(details) = super::credentials::token_details(&grant.scope) {
            obj.insert("authorization_details".into(), details);
        }
    }
    let mut response = Json(body).into_response();
    no_store(&mut response);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_known_answer() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        assert!(verifier_well_formed(verifier));
        assert!(!verifier_well_formed("short"));
        assert!(!verifier_well_formed(&"a".repeat(129)));
        assert!(!verifier_well_formed(&format!("{}+", "a".repeat(43))));
    }
}
