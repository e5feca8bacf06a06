//! The issuer service's HTTP API described as `OpenAPI` 3.1 (`specs/openapi/issuer.yaml`),
//! served as it is in the source tree.

use axum::http::header;
use axum::response::IntoResponse;

/// The `OpenAPI` document.
pub const DOCUMENT: &str = include_str!("../../../specs/openapi/issuer.yaml");

/// `GET /openapi/issuer.yaml`.
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], DOCUMENT)
}
