//! The admin API, for operators' tools: activation codes and client registration. Every call
//! carries `Authorization: Bearer <admin token>`; the configuration holds only the token's
//! SHA-256, compared in constant time. Without a configured token the API answers 404.
//!
//! The token must carry at least [`MIN_ADMIN_TOKEN_BITS`] bits ([`admin_token_hash`] refuses a
//! weaker one, so the service does not start with it), and a caller's address that fails
//! [`ADMIN_FAILURES_PER_MINUTE`] times in a minute is answered 429 until the minute ends,
//! right token or not, so guessing gets no answer at all.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use llavero_store::hash_secret;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq as _;

use crate::accounts::{self, ActivationCodeError};
use crate::clients::{self, Registration, RegistrationError};
use crate::error::{AdminError, IdpError};
use crate::extract::Bearer;
use crate::registry::Run;
use crate::state::IdpState;

/// The least entropy of an admin token: the admin API registers clients and issues activation
/// codes, so its token must be as unguessable as a key (NIST SP 800-57: 128-bit security).
pub const MIN_ADMIN_TOKEN_BITS: usize = 128;

/// Failed admin calls per caller address (an IPv6 caller's /64) per minute before 429.
pub const ADMIN_FAILURES_PER_MINUTE: i64 = 10;

/// An admin token that cannot guard the admin API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminTokenError {
    /// Too short for its alphabet.
    #[error(
        "admin_token is too weak: about {bits} bits, at least {MIN_ADMIN_TOKEN_BITS} needed \
         (22 random base64url characters or 32 hex digits; e.g. `openssl rand -hex 32`)"
    )]
    TooWeak {
        /// The estimated bits.
        bits: usize,
    },
    /// So few different characters that it cannot be random (`aaaa…`, `abab…`).
    #[error("admin_token repeats a few characters ({distinct} different): use a random token")]
    Repetitive {
        /// Different characters found.
        distinct: usize,
    },
    /// A character that cannot travel in an `Authorization` header as it is.
    #[error("admin_token must be visible ASCII without spaces")]
    NotPrintable,
}

/// The SHA-256 (as the configuration keeps it) of `token`, if it is strong enough: at least
/// [`MIN_ADMIN_TOKEN_BITS`] bits counted at 4 bits a character for hex digits, 6 for base64
/// (url) characters, and no more for other printable ones — what a random token of that
/// alphabet carries.
pub fn admin_token_hash(token: &str) -> Result<String, AdminTokenError> {
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AdminTokenError::NotPrintable);
    }
    let per_char = if token.bytes().all(|b| b.is_ascii_hexdigit()) {
        4
    } else {
        6
    };
    let bits = token.len() * per_char;
    if bits < MIN_ADMIN_TOKEN_BITS {
        return Err(AdminTokenError::TooWeak { bits });
    }
    let distinct = token
        .bytes()
        .collect::<std::collections::BTreeSet<u8>>()
        .len();
    // A random 32-hex-digit token has fewer than 8 different digits with probability < 1e-9.
    if distinct < 8 {
        return Err(AdminTokenError::Repetitive { distinct });
    }
    Ok(hash_secret(token))
}

/// The admin, as an extractor: the request's bearer token is the admin token. Refused with
/// 404 when no admin token is configured, 429 after too many failures from the caller's
/// address, 401 for a missing or wrong token.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<IdpState> for Admin {
    type Rejection = IdpError;

    async fn from_request_parts(parts: &mut Parts, idp: &IdpState) -> Result<Self, IdpError> {
        let expected = idp
            .config
            .admin_token_hash
            .as_ref()
            .ok_or(AdminError::NotEnabled)?;
        let address = crate::web::ClientAddress::of(&parts.extensions);
        let key = format!("admin-failure:{}", address.limit_key());
        let now = idp.now();
        if let Some(retry_after) =
            idp.client_limiter
                .exceeded(&key, 60, ADMIN_FAILURES_PER_MINUTE, now)
        {
            return Err(AdminError::TooManyFailures { retry_after }.into());
        }
        let presented = Bearer::from_headers(&parts.headers)
            .map(|Bearer(token)| hash_secret(&token))
            .unwrap_or_default();
        if bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
            return Ok(Self);
        }
        idp.client_limiter
            .hit(&key, 60, ADMIN_FAILURES_PER_MINUTE, now);
        tracing::warn!(%address, "admin API: wrong token");
        Err(AdminError::Unauthorized.into())
    }
}

/// Body of `POST /admin/activation-codes`.
#[derive(Debug, Deserialize)]
pub struct ActivationCodeRequest {
    run: String,
}

/// `POST /admin/activation-codes`: `{"run": "12.345.678-5"}` → the code (shown once).
pub async fn activation_code(
    State(idp): State<IdpState>,
    _admin: Admin,
    Json(body): Json<ActivationCodeRequest>,
) -> Result<Response, IdpError> {
    let run: Run = body
        .run
        .parse()
        .map_err(|e: crate::registry::RunError| AdminError::Invalid(e.to_string()))?;
    let issued = accounts::issue_activation_code(&idp, run)
        .await
        .map_err(|e| match e {
            ActivationCodeError::NotInRegistry(_) | ActivationCodeError::NotActive { .. } => {
                AdminError::Unprocessable(e.to_string()).into()
            }
            e => IdpError::internal(e),
        })?;
    let detail = json!({"action": "activation code issued", "run": issued.run});
    crate::audit::record(
        &idp,
        &crate::audit::Origin::default(),
        "admin",
        None,
        None,
        detail,
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(json!({"run": issued.run, "code": issued.code, "expires_at": issued.expires_at})),
    )
        .into_response())
}

/// `POST /admin/clients`: registers a relying party; answers its `client_id` and secret.
pub async fn register_client(
    State(idp): State<IdpState>,
    _admin: Admin,
    Json(body): Json<Registration>,
) -> Result<Response, IdpError> {
    let registered = clients::register(&idp, body, &crate::audit::Origin::default())
        .await
        .map_err(|e| match e {
            RegistrationError::Invalid(m) => AdminError::Invalid(m).into(),
            e => IdpError::internal(e),
        })?;
    Ok((StatusCode::CREATED, Json(registered)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_tokens_under_128_bits_are_refused() {
        assert_eq!(
            admin_token_hash("a"),
            Err(AdminTokenError::TooWeak { bits: 4 })
        );
        assert_eq!(
            admin_token_hash("z"),
            Err(AdminTokenError::TooWeak { bits: 6 })
        );
        // 31 hex digits: 124 bits; 32: 128.
        let hex = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
        assert_eq!(
            admin_token_hash(hex.get(1..).unwrap()),
            Err(AdminTokenError::TooWeak { bits: 124 })
        );
        assert_eq!(admin_token_hash(hex), Ok(hash_secret(hex)));
        // 21 base64url characters: 126 bits; 22: 132.
        let b64 = "Zq3_x-9KpL0aVbN7cWm2Rt";
        assert!(matches!(
            admin_token_hash(b64.get(1..).unwrap()),
            Err(AdminTokenError::TooWeak { bits: 126 })
        ));
        assert!(admin_token_hash(b64).is_ok());
        assert_eq!(
            admin_token_hash(&"ab".repeat(20)),
            Err(AdminTokenError::Repetitive { distinct: 2 })
        );
        assert_eq!(
            admin_token_hash("Zq3_x-9KpL0aVbN7 cWm2Rt"),
            Err(AdminTokenError::NotPrintable)
        );
        assert!(
            AdminTokenError::TooWeak { bits: 6 }
                .to_string()
                .contains("at least 128")
        );
    }
}
