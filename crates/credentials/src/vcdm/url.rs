//! "URL" in the data model (§4.4 and every `id`): an absolute URI per RFC 3986 §3 (a scheme,
//! then the rest of the grammar), such as `https://…`, `did:…` or `urn:uuid:…`. A relative
//! reference (`fake-issuer`, `/path`) is not one: it cannot identify anything outside the
//! document.

/// Whether `text` is a URI with a scheme, per RFC 3986.
///
/// ```
/// use llavero_credentials::vcdm::is_url;
/// assert!(is_url("https://registro.llavero.cl"));
/// assert!(is_url("did:jwk:eyJrdHkiOiJFQyJ9"));
/// assert!(is_url("urn:uuid:3978344f-8596-4c3a-a978-8fcaba3903c5"));
/// assert!(!is_url("fake-issuer"));
/// assert!(!is_url("https://bad host"));
/// ```
#[must_use]
pub fn is_url(text: &str) -> bool {
    fluent_uri::Uri::parse(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_uris_are_urls() {
        for good in [
            "https://example.edu/credentials/3732",
            "http://university.example/credentials/1872",
            "https://example.edu/credentials/status/3#94567",
            "did:example:123",
            "urn:uuid:3978344f-8596-4c3a-a978-8fcaba3903c5",
            "data:application/vc+jwt,eyJ.eyJ.sig",
        ] {
            assert!(is_url(good), "{good}");
        }
        for bad in [
            "",
            "fake-issuer",
            "/relative/path",
            "//example.com",
            "#fragment",
            "https://exa mple.com",
            "1http://example.com",
            "https://example.com/%zz",
        ] {
            assert!(!is_url(bad), "{bad}");
        }
    }
}
