//! Errors as OpenID4VCI and OAuth put them on the wire: the services' shared [`ApiError`], and
//! how the issuer's own failures become one.

pub use llavero_platform::api_error::{ApiError, no_store};

impl From<crate::keys::KeyError> for ApiError {
    fn from(e: crate::keys::KeyError) -> Self {
        Self::server(&e)
    }
}
