//! The proxies trusted to name the client in a forwarding header (see
//! [`crate::web::client_address`] for how the header is read): configuration, below the web
//! layer that uses it.

use std::net::IpAddr;
use std::str::FromStr;

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
