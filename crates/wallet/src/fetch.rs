//! The wallet's outbound HTTP: issuers' metadata, offers, tokens, credentials, status lists;
//! verifiers' request objects and responses. Behind [`Fetch`] so tests can answer from an
//! in-process router; [`HttpFetch`] is the network. Every answer is bounded in size, and no
//! redirect is followed (a document's origin is what was asked for).

use std::time::Duration;

use crate::boxed::BoxFuture;

/// The largest document the wallet reads from another party: metadata, offers, request
/// objects and credential responses are a few KiB; a status list token of a million
/// entries is about 200 KiB.
pub const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

/// How long one exchange with another party may take.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// One outbound request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The URL.
    pub url: String,
    /// `Authorization: Bearer …`.
    pub bearer: Option<String>,
    /// The body's content type and bytes.
    pub body: Option<(&'static str, Vec<u8>)>,
}

impl Outbound {
    /// A `GET`.
    #[must_use]
    pub fn get(url: &str) -> Self {
        Self {
            method: "GET",
            url: url.to_owned(),
            bearer: None,
            body: None,
        }
    }

    /// A form `POST`.
    #[must_use]
    pub fn form(url: &str, fields: &[(&str, &str)]) -> Self {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        Self {
            method: "POST",
            url: url.to_owned(),
            bearer: None,
            body: Some(("application/x-www-form-urlencoded", body.into_bytes())),
        }
    }

    /// A JSON `POST`.
    #[must_use]
    pub fn json(url: &str, body: &serde_json::Value) -> Self {
        Self {
            method: "POST",
            url: url.to_owned(),
            bearer: None,
            body: Some(("application/json", body.to_string().into_bytes())),
        }
    }

    /// With a bearer token.
    #[must_use]
    pub fn bearer(mut self, token: &str) -> Self {
        self.bearer = Some(token.to_owned());
        self
    }
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// Its `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body (at most [`MAX_DOCUMENT_BYTES`]).
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON, when the status is a success.
    pub fn json(&self) -> Result<serde_json::Value, FetchError> {
        if !(200..300).contains(&self.status) {
            return Err(FetchError::Status(
                self.status,
                String::from_utf8_lossy(self.body.get(..200).unwrap_or(&self.body)).into_owned(),
            ));
        }
        llavero_credentials::json::from_slice(&self.body)
            .map_err(|e| FetchError::Malformed(e.to_string()))
    }
}

/// Why an exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The URL is not one the wallet may reach (not https outside development).
    #[error("refused URL {0}: only https is allowed")]
    NotHttps(String),
    /// Unreachable, timed out, or TLS failed.
    #[error("could not reach {0}")]
    Unreachable(String),
    /// Longer than [`MAX_DOCUMENT_BYTES`].
    #[error("the answer is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
    /// An error status.
    #[error("HTTP {0}: {1}")]
    Status(u16, String),
    /// Not the JSON expected.
    #[error("malformed answer: {0}")]
    Malformed(String),
}

/// Which URLs the wallet may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlPolicy {
    /// Development only: `http://` too (a local test issuer or verifier).
    pub dangerous_allow_http: bool,
}

impl UrlPolicy {
    /// Refuses a URL that is not https (or http when allowed), or has no host.
    pub fn check(self, url: &str) -> Result<(), FetchError> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| {
                url.strip_prefix("http://")
                    .filter(|_| self.dangerous_allow_http)
            })
            .ok_or_else(|| FetchError::NotHttps(url.to_owned()))?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if host.is_empty() || host.contains('@') {
            return Err(FetchError::NotHttps(url.to_owned()));
        }
        Ok(())
    }
}

/// Sends outbound requests.
pub trait Fetch: Send + Sync {
    /// Sends `request` and reads at most [`MAX_DOCUMENT_BYTES`] of the answer.
    fn send(&self, request: Outbound) -> BoxFuture<'_, Result<Answer, FetchError>>;
}

/// The network, over rustls with the web's root certificates.
#[derive(Debug, Clone)]
pub struct HttpFetch {
    client: reqwest::Client,
}

impl HttpFetch {
    /// A client with [`TIMEOUT`], no redirects, no cookies.
    pub fn new() -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Llavero-wallet/0.1")
            .build()
            .map_err(|e| FetchError::Unreachable(e.to_string()))?;
        Ok(Self { client })
    }
}

impl Fetch for HttpFetch {
    fn send(&self, request: Outbound) -> BoxFuture<'_, Result<Answer, FetchError>> {
        Box::pin(async move {
            let unreachable = |e: reqwest::Error| FetchError::Unreachable(e.to_string());
            let mut builder = if request.method == "POST" {
                self.client.post(&request.url)
            } else {
                self.client.get(&request.url)
            };
            if let Some(token) = &request.bearer {
                builder = builder.bearer_auth(token);
            }
            if let Some((content_type, body)) = request.body {
                builder = builder
                    .header(reqwest::header::CONTENT_TYPE, content_type)
                    .body(body);
            }
            let mut response = builder.send().await.map_err(unreachable)?;
            if response
                .content_length()
                .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
            {
                return Err(FetchError::TooLarge);
            }
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
                if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                    return Err(FetchError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Answer {
                status,
                content_type,
                body,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_outside_development() {
        let strict = UrlPolicy {
            dangerous_allow_http: false,
        };
        assert!(strict.check("https://issuer.example/x").is_ok());
        assert!(strict.check("http://issuer.example/x").is_err());
        assert!(strict.check("https://").is_err());
        assert!(strict.check("https://user@evil.example").is_err());
        assert!(strict.check("file:///etc/passwd").is_err());
        let dev = UrlPolicy {
            dangerous_allow_http: true,
        };
        assert!(dev.check("http://localhost:3000/x").is_ok());
        assert!(dev.check("ftp://x").is_err());
    }
}
