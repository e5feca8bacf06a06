//! The caller's address, for the audit trail and every per-address limit.
//!
//! Behind a load balancer the TCP peer is the balancer: keyed on it, every citizen would share
//! one login budget. So when the peer is one of the configured trusted proxies, the address is
//! taken from the forwarding header the proxies append to (`Forwarded`, RFC 7239 §4, or
//! `X-Forwarded-For`), walked from the right: each hop a trusted proxy reports is skipped, and
//! the first address that is not a trusted proxy is the client. Entries further left were
//! written by the client itself and are never believed. Without trusted proxies (the default)
//! the headers are ignored altogether.
//!
//! A request that carries both headers is ambiguous — a proxy appends to one, so the other
//! came from the client untouched — and is keyed on the nearest trusted proxy, never on
//! anything the client wrote.
//!
//! Limits key on [`ClientAddress::limit_key`]: an IPv4 address, or an IPv6 address's /64,
//! since a single subscriber is routinely given a whole /64 and could otherwise rotate through
//! 2^64 budgets.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The networks whose requests may name the client in a forwarding header.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "Vec<String>")]
pub struct TrustedProxies(Vec<IpNet>);

/// A trusted proxy entry that is neither a CIDR nor an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trusted proxy {0:?} is not a CIDR (10.0.0.0/8, 2001:db8::/32) or an address")]
pub struct NotANetwork(pub String);

impl TrustedProxies {
    /// Parses CIDRs (`10.0.0.0/8`) or single addresses (`10.1.2.3`, a /32 or /128).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, NotANetwork> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                IpNet::from_str(entry)
                    .or_else(|_| IpAddr::from_str(entry).map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| NotANetwork(entry.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether no proxy is trusted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is a trusted proxy.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

impl TryFrom<Vec<String>> for TrustedProxies {
    type Error = NotANetwork;

    fn try_from(entries: Vec<String>) -> Result<Self, Self::Error> {
        Self::parse(&entries)
    }
}

/// The caller's address (`None` when the server gave no connection info, as in-process tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub Option<IpAddr>);

impl ClientAddress {
    /// The key of every per-address limit: the IPv4 address, or the IPv6 address's /64.
    #[must_use]
    pub fn limit_key(&self) -> String {
        match self.0 {
            Some(IpAddr::V6(v6)) => match ipnet::Ipv6Net::new(v6, 64) {
                Ok(net) => net.trunc().to_string(),
                Err(_) => v6.to_string(),
            },
            Some(ip @ IpAddr::V4(_)) => ip.to_string(),
            None => "unknown".to_owned(),
        }
    }

    /// The address of a request: the one [`resolve`] left in its extensions, else the TCP
    /// peer.
    #[must_use]
    pub fn of(extensions: &axum::http::Extensions) -> Self {
        extensions.get::<Self>().copied().unwrap_or_else(|| {
            Self(
                extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|ConnectInfo(peer)| peer.ip().to_canonical()),
            )
        })
    }
}

impl fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ip) => ip.fmt(f),
            None => f.write_str("unknown"),
        }
    }
}

/// The client behind `peer`: the right-most address in the forwarding header that is not a
/// trusted proxy, when `peer` is one; `peer` otherwise (see the module documentation).
#[must_use]
pub fn client_behind(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    let joined = |name: &str| {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    let hops: Vec<Option<IpAddr>> = match (joined("forwarded"), joined("x-forwarded-for")) {
        (Some(forwarded), None) => forwarded.split(',').map(forwarded_for).collect(),
        (None, Some(xff)) => xff.split(',').map(node).collect(),
        _ => return peer,
    };
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        // A hop a trusted proxy could not name (`unknown`, an obfuscated id): the last
        // address known is as far as the chain can be followed.
        let Some(ip) = hop else { return client };
        client = ip.to_canonical();
        if !trusted.contains(client) {
            return client;
        }
    }
    client
}

/// The `for=` node of one `Forwarded` element (RFC 7239 §4, §6).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| node(value.trim().trim_matches('"')))?
    })
}

/// An address with an optional port: `192.0.2.1`, `192.0.2.1:80`, `2001:db8::1`,
/// `[2001:db8::1]:80`.
fn node(value: &str) -> Option<IpAddr> {
    let value = value.trim();
    if let Ok(ip) = value.parse() {
        return Some(ip);
    }
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    value.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// Middleware: resolves the caller's address once and leaves it in the request's extensions
/// for every handler, limit and audit entry.
pub async fn resolve(
    State(trusted): State<std::sync::Arc<TrustedProxies>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let address = ClientAddress(peer.map(|peer| client_behind(peer, request.headers(), &trusted)));
    request.extensions_mut().insert(address);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn proxies() -> TrustedProxies {
        TrustedProxies::parse(&["10.0.0.0/8", "2001:db8:ffff::1"]).unwrap()
    }

    #[test]
    fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.7"),
            ("forwarded", "for=1.2.3.4"),
        ]);
        assert_eq!(
            client_behind(ip("203.0.113.9"), &h, &proxies()),
            ip("203.0.113.9")
        );
        let h = headers(&[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(
            client_behind(ip("10.0.0.2"), &h, &TrustedProxies::default()),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn a_trusted_peer_names_the_client_and_spoofed_left_entries_are_skipped() {
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(
            client_behind(ip("10.0.0.2"), &h, &proxies()),
            ip("198.51.100.7")
        );
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "198.51.100.7:5123"),
        ]);
        assert_eq!(
            client_behind(ip("10.0.0.2"), &h, &proxies()),
            ip("198.51.100.7")
        );
        let h = headers(&[(
            "forwarded",
            r#"for=6.6.6.6, for="[2001:db8:1:2::77]:4711";proto=https, for=10.9.9.9"#,
        )]);
        assert_eq!(
            client_behind(ip("2001:db8:ffff::1"), &h, &proxies()),
            ip("2001:db8:1:2::77")
        );
    }

    #[test]
    fn unusable_or_ambiguous_chains_stop_at_the_nearest_trusted_hop() {
        let h = headers(&[("forwarded", "for=198.51.100.7, for=unknown")]);
        assert_eq!(
            client_behind(ip("10.0.0.2"), &h, &proxies()),
            ip("10.0.0.2")
        );
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.7"),
            ("forwarded", "for=1.2.3.4"),
        ]);
        assert_eq!(
            client_behind(ip("10.0.0.2"), &h, &proxies()),
            ip("10.0.0.2")
        );
        let h = headers(&[("x-forwarded-for", "10.3.3.3, 10.4.4.4")]);
        assert_eq!(
            client_behind(ip("10.0.0.2"), &h, &proxies()),
            ip("10.3.3.3")
        );
        assert_eq!(
            client_behind(ip("10.0.0.2"), &HeaderMap::new(), &proxies()),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn ipv6_limits_key_on_the_64_and_mapped_ipv4_on_the_address() {
        let a = ClientAddress(Some(ip("2001:db8:1:2:aaaa::1")));
        let b = ClientAddress(Some(ip("2001:db8:1:2:bbbb::2")));
        let c = ClientAddress(Some(ip("2001:db8:1:3::1")));
        assert_eq!(a.limit_key(), "2001:db8:1:2::/64");
        assert_eq!(a.limit_key(), b.limit_key());
        assert_ne!(a.limit_key(), c.limit_key());
        assert_eq!(
            ClientAddress(Some(ip("192.0.2.1"))).limit_key(),
            "192.0.2.1"
        );
        assert_eq!(ClientAddress(None).limit_key(), "unknown");
        assert_eq!(a.to_string(), "2001:db8:1:2:aaaa::1");
        assert!(proxies().contains(ip("::ffff:10.2.3.4")));
    }

    #[test]
    fn trusted_proxies_parse_networks_and_addresses_and_refuse_the_rest() {
        assert!(TrustedProxies::parse(&["10.0.0.1", "fd00::/8", " 192.168.0.0/16 "]).is_ok());
        assert_eq!(
            TrustedProxies::parse(&["10.0.0.0/33"]),
            Err(NotANetwork("10.0.0.0/33".into()))
        );
        assert!(TrustedProxies::parse(&["proxy.internal"]).is_err());
    }
}
