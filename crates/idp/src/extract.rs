//! Axum extractors for what the provider's handlers check before they act: the form's CSRF
//! token and the signed-in citizen. A handler that takes them starts where its work starts; a
//! request that fails a check is answered by the extractor (its rejection) and never reaches
//! the handler.

use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use llavero_platform::Origin;
use llavero_store::Session;
use serde::de::DeserializeOwned;

use crate::error::IdpError;
use crate::session::current_session;
use crate::state::IdpState;
use crate::web::csrf_valid;
use crate::web::pages::Locale;

/// A form that carries the provider's CSRF token (its `csrf` field).
pub trait CsrfToken {
    /// The submitted token.
    fn csrf(&self) -> &str;
}

/// A form whose CSRF token is this browser's (signed double-submit, [`csrf_valid`]). A wrong
/// or missing token is answered with the 403 page in the browser's language.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

impl<T> FromRequest<IdpState> for CsrfForm<T>
where
    T: CsrfToken + DeserializeOwned + Send,
{
    type Rejection = IdpError;

    async fn from_request(request: Request, idp: &IdpState) -> Result<Self, IdpError> {
        let headers = request.headers().clone();
        let axum::Form(form) = axum::Form::<T>::from_request(request, idp).await?;
        if !csrf_valid(idp, &headers, form.csrf()) {
            return Err(IdpError::page(idp.pages.error(
                StatusCode::FORBIDDEN,
                Locale::choose(None, &headers),
                "error_csrf",
            )));
        }
        Ok(Self(form))
    }
}

/// The signed-in citizen: the live session behind the request's cookie. Without one the
/// browser is sent to the login page.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Session);

impl FromRequestParts<IdpState> for SignedIn {
    type Rejection = IdpError;

    async fn from_request_parts(parts: &mut Parts, idp: &IdpState) -> Result<Self, IdpError> {
        current_session(idp, &parts.headers)
            .await?
            .map(Self)
            .ok_or_else(|| IdpError::SignInFirst {
                location: "/login".to_owned(),
            })
    }
}

/// The token of an `Authorization: Bearer …` header (RFC 6750 §2.1; the scheme is
/// case-insensitive, RFC 9110 §11.1). As an extractor it is optional: each endpoint answers
/// its absence in its own protocol's terms.
#[derive(Debug, Clone)]
pub struct Bearer(pub String);

impl Bearer {
    /// The bearer token of `headers`, if they carry one.
    #[must_use]
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| Self(token.trim().to_owned()))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Bearer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(Self::from_headers(&parts.headers))
    }
}

/// Where the request came from (the caller's address, its browser), for the audit trail.
#[derive(Debug, Clone)]
pub struct RequestOrigin(pub Origin);

impl<S: Send + Sync> FromRequestParts<S> for RequestOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(Origin::of(&parts.extensions, &parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_other_schemes_are_not_bearer() {
        let token = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                AUTHORIZATION,
                value.parse().unwrap_or_else(|_| unreachable!()),
            );
            Bearer::from_headers(&headers).map(|b| b.0)
        };
        assert_eq!(token("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(token("bearer abc").as_deref(), Some("abc"));
        assert_eq!(token("BEARER  abc ").as_deref(), Some("abc"));
        assert_eq!(token("Basic abc"), None);
        assert_eq!(token("Bearerabc"), None);
        assert!(Bearer::from_headers(&HeaderMap::new()).is_none());
    }
}
