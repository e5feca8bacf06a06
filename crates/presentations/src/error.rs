//! Errors as OAuth and OpenID4VP put them on the wire: the services' shared [`ApiError`], and
//! how the presentation service's own failures become one.

pub use llavero_platform::api_error::{ApiError, no_store};

impl From<crate::state::SealFailed> for ApiError {
    fn from(e: crate::state::SealFailed) -> Self {
        Self::server(&e)
    }
}

impl From<crate::jwe::JweError> for ApiError {
    fn from(e: crate::jwe::JweError) -> Self {
        Self::server(&e)
    }
}

impl From<crate::authority::AuthorityError> for ApiError {
    fn from(e: crate::authority::AuthorityError) -> Self {
        Self::server(&e)
    }
}
