//! The admin API, for operators' tools: activation codes and client registration. Every call
//! carries `Authorization: Bearer <admin token>`; the configuration holds only the token's
//! SHA-256, compared in constant time. Without a configured token the API answers 404.

use axum::Json;
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use llavero_store::hash_secret;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq as _;

use crate::accounts::{self, ActivationCodeError};
use crate::clients::{self, Registration, RegistrationError};
use crate::registry::Run;
use crate::state::{Idp, IdpState};

/// `Some(answer)` when the caller is not the admin.
fn refused(idp: &Idp, headers: &HeaderMap) -> Option<Response> {
    let Some(expected) = &idp.config.admin_token_hash else {
        return Some(StatusCode::NOT_FOUND.into_response());
    };
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(hash_secret)
        .unwrap_or_default();
    if bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        None
    } else {
        Some(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": "unauthorized"})),
            )
                .into_response(),
        )
    }
}

fn problem(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

/// Body of `POST /admin/activation-codes`.
#[derive(Debug, Deserialize)]
pub struct ActivationCodeRequest {
    run: String,
}

/// `POST /admin/activation-codes`: `{"run": "12.345.678-5"}` → the code (shown once).
pub async fn activation_code(
    State(idp): State<IdpState>,
    headers: HeaderMap,
    Json(body): Json<ActivationCodeRequest>,
) -> Response {
    if let Some(r) = refused(&idp, &headers) {
        return r;
    }
    let run: Run = match body.run.parse() {
        Ok(run) => run,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    match accounts::issue_activation_code(&idp, run).await {
        Ok(issued) => {
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
            (
            StatusCode::CREATED,
            Json(json!({"run": issued.run, "code": issued.code, "expires_at": issued.expires_at})),
        )
            .into_response()
        }
        Err(
            e @ (ActivationCodeError::NotInRegistry(_) | ActivationCodeError::NotActive { .. }),
        ) => problem(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
        Err(e) => crate::web::internal(&e),
    }
}

/// `POST /admin/clients`: registers a relying party; answers its `client_id` and secret.
pub async fn register_client(
    State(idp): State<IdpState>,
    headers: HeaderMap,
    Json(body): Json<Registration>,
) -> Response {
    if let Some(r) = refused(&idp, &headers) {
        return r;
    }
    match clients::register(&idp, body, &crate::audit::Origin::default()).await {
        Ok(registered) => (StatusCode::CREATED, Json(registered)).into_response(),
        Err(RegistrationError::Invalid(m)) => problem(StatusCode::BAD_REQUEST, &m),
        Err(e) => crate::web::internal(&e),
    }
}
