//! Which address a request comes from, behind reverse proxies (`HOOKLINE_TRUSTED_PROXIES`).
//!
//! `X-Forwarded-For` is a list anyone can start: a client sends any addresses it likes, and each
//! proxy on the way appends the address it received the request from. So the header is believed
//! only when the connection itself comes from a trusted proxy, and then only from the right: the
//! client is the right-most address that is not itself a trusted proxy. Addresses to its left
//! were written by the client and are never used (an attacker cannot pick its throttle key).

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The networks whose `X-Forwarded-For` is believed; empty (the default) believes nobody.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
}

impl TrustedProxies {
    /// Parses comma-separated CIDRs (`10.0.0.0/8`, `fd00::/8`) or single addresses.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let nets = text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .map(|net| net.trunc())
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{item}` is not a CIDR (such as 10.0.0.0/8 or fd00::/8) or an IP address"))
            })
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies { nets })
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        self.nets.iter().any(|net| net.contains(&addr))
    }

    /// The client's address: `peer` (the TCP connection's) unless `peer` is a trusted proxy; then
    /// the right-most `X-Forwarded-For` address that is not a trusted proxy. When every listed
    /// address is trusted, the left-most (the request began inside the trusted network); an entry
    /// that is not an address stops the walk at the last trusted hop before it.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        // Several X-Forwarded-For headers form one list, in order.
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .flat_map(|value| value.to_str().unwrap_or("").split(','))
            .collect();
        let mut client = peer;
        for entry in entries.iter().rev() {
            let Some(addr) = parse_entry(entry) else { break };
            client = addr;
            if !self.trusts(addr) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`203.0.113.7:4711`,
/// `[2001:db8::1]:4711`) or in brackets, as some proxies write it.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let addr = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| entry.strip_prefix('[')?.strip_suffix(']')?.parse().ok())?;
    Some(addr.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).expect("header"));
        }
        headers
    }

    #[test]
    fn parses_cidrs_and_addresses_and_names_what_is_wrong() {
        let proxies = TrustedProxies::parse(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8,,").expect("valid");
        assert!(proxies.trusts(ip("10.1.2.3")));
        assert!(proxies.trusts(ip("192.168.1.7")));
        assert!(!proxies.trusts(ip("192.168.1.8")));
        assert!(proxies.trusts(ip("fd12::1")));
        assert!(TrustedProxies::parse("").expect("empty").nets.is_empty());
        assert!(TrustedProxies::parse("10.0.0.1/8").expect("host bits").trusts(ip("10.200.0.1")));
        for bad in ["10.0.0.0/33", "proxy.internal", "10.0.0/8", "::1/129", "10.0.0.0/8;"] {
            let error = TrustedProxies::parse(bad).expect_err(bad);
            assert!(error.contains(bad.trim()), "{error}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let none = TrustedProxies::default();
        assert_eq!(none.client_address(ip("127.0.0.1"), &forwarded(&["203.0.113.9"])), ip("127.0.0.1"));
        let proxies = TrustedProxies::parse("10.0.0.0/8").expect("valid");
        assert_eq!(proxies.client_address(ip("198.51.100.1"), &forwarded(&["10.0.0.5"])), ip("198.51.100.1"));
    }

    #[test]
    fn a_trusted_peer_forwards_the_right_most_untrusted_address() {
        let proxies = TrustedProxies::parse("10.0.0.0/8,127.0.0.1").expect("valid");
        let peer = ip("10.0.0.2");
        let client = |values: &[&str]| proxies.client_address(peer, &forwarded(values));
        assert_eq!(client(&["203.0.113.9"]), ip("203.0.113.9"));
        // The client prepended an address of its choice: ignored.
        assert_eq!(client(&["1.2.3.4, 203.0.113.9"]), ip("203.0.113.9"));
        // Trusted hops are skipped, across several headers too.
        assert_eq!(client(&["203.0.113.9, 10.0.0.7", "127.0.0.1"]), ip("203.0.113.9"));
        // Ports and brackets, IPv4-mapped IPv6.
        assert_eq!(client(&["203.0.113.9:4711"]), ip("203.0.113.9"));
        assert_eq!(client(&["[2001:db8::1]:4711"]), ip("2001:db8::1"));
        assert_eq!(client(&["[2001:db8::1]"]), ip("2001:db8::1"));
        assert_eq!(client(&["::ffff:203.0.113.9"]), ip("203.0.113.9"));
        // Only trusted addresses: the request began inside; the left-most is the client.
        assert_eq!(client(&["10.9.9.9, 10.0.0.7"]), ip("10.9.9.9"));
        // No header: the proxy itself.
        assert_eq!(client(&[]), peer);
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(client(&["203.0.113.9, unknown"]), peer);
        assert_eq!(client(&["203.0.113.9, garbage, 10.0.0.7"]), ip("10.0.0.7"));
        // An IPv4-mapped peer is the IPv4 address.
        assert_eq!(proxies.client_address(ip("::ffff:10.0.0.2"), &forwarded(&["203.0.113.9"])), ip("203.0.113.9"));
    }
}
