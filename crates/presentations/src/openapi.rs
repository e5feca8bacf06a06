//! The presentation service's HTTP API described as `OpenAPI` 3.1
//! (`specs/openapi/presentations.yaml`), served as it is in the source tree.

use axum::http::header;
use axum::response::IntoResponse;

/// The `OpenAPI` document.
pub const DOCUMENT: &str = include_str!("../../../specs/openapi/presentations.yaml");

/// `GET /openapi/presentations.yaml`.
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], DOCUMENT)
}
