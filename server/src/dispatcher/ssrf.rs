//! The SSRF guard: webhook URLs must not reach private, loopback, link-local or otherwise reserved
//! addresses (cloud metadata at 169.254.169.254, the admin's own network) unless the operator's
//! allow-list says so.
//!
//! Hosts are resolved once, here, and the HTTP client connects to the vetted addresses only (it
//! uses `GuardedResolver` as its DNS resolver), so a DNS answer cannot change between the check and
//! the connection. IP-literal URLs never reach a resolver and are checked by `check_literal`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why an address is refused, in words for logs and the UI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("Blocked: {host} resolves to {addr}, {reason}; allow it with HOOKLINE_ALLOWED_TARGETS")]
    Blocked { host: String, addr: IpAddr, reason: &'static str },
    #[error("DNS lookup of {host} failed: {message}")]
    Dns { host: String, message: String },
    #[error("{0}")]
    InvalidUrl(String),
}

/// What the operator allows beyond public addresses: CIDRs and host names.
#[derive(Debug, Clone, Default)]
pub struct TargetPolicy {
    pub allowed_nets: Vec<IpNet>,
    pub allowed_hosts: Vec<String>,
}

impl TargetPolicy {
    /// Parses `HOOKLINE_ALLOWED_TARGETS`: comma-separated CIDRs (`127.0.0.1/32`, `10.0.0.0/8`),
    /// single addresses, or host names (`receiver.internal`).
    pub fn parse(text: &str) -> Result<TargetPolicy, String> {
        let mut policy = TargetPolicy::default();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Ok(net) = item.parse::<IpNet>() {
                policy.allowed_nets.push(net);
            } else if let Ok(addr) = item.parse::<IpAddr>() {
                policy.allowed_nets.push(IpNet::from(addr));
            } else if item.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                && item.contains(|c: char| c.is_ascii_alphabetic())
            {
                policy.allowed_hosts.push(item.to_ascii_lowercase());
            } else {
                return Err(format!("`{item}` is neither a CIDR, an IP address nor a host name"));
            }
        }
        Ok(policy)
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allowed_hosts.contains(&host)
    }

    fn addr_allowed(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.allowed_nets.iter().any(|net| net.contains(&addr))
    }

    /// Checks one resolved address of `host`.
    pub fn check(&self, host: &str, addr: IpAddr) -> Result<(), GuardError> {
        if self.host_allowed(host) || self.addr_allowed(addr) {
            return Ok(());
        }
        match blocked_reason(addr) {
            Some(reason) => Err(GuardError::Blocked { host: host.to_string(), addr, reason }),
            None => Ok(()),
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are judged as the IPv4 address they carry.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
        v4 => v4,
    }
}

/// Why `addr` is not a public unicast address, or None when it is.
pub fn blocked_reason(addr: IpAddr) -> Option<&'static str> {
    match canonical(addr) {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, _, _) => "an unspecified (\"this network\") address",
        (10, _, _) => "a private address",
        (100, 64..=127, _) => "a carrier-grade NAT address",
        (127, _, _) => "a loopback address",
        (169, 254, _) => "a link-local address",
        (172, 16..=31, _) => "a private address",
        (192, 0, 0) => "an IETF protocol assignment address",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address",
        (192, 168, _) => "a private address",
        (198, 18..=19, _) => "a benchmarking address",
        (224..=239, _, _) => "a multicast address",
        (240..=255, _, _) => "a reserved address",
        _ => return None,
    })
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    // ::/96, IPv4-compatible (deprecated, RFC 4291): `::7f00:1` embeds 127.0.0.1, and some stacks
    // still route it to the IPv4 address.
    if segments[..6] == [0, 0, 0, 0, 0, 0] {
        return Some("an IPv4-compatible address (it embeds an IPv4 address)");
    }
    Some(match segments[0] {
        0xfc00..=0xfdff => "a unique local (private) address",
        0xfe80..=0xfebf => "a link-local address",
        0xfec0..=0xfeff => "a site-local address",
        0xff00..=0xffff => "a multicast address",
        0x2001 if segments[1] == 0x0db8 => "a documentation address",
        0x2001 if segments[1] == 0x0000 => "a Teredo address (it can tunnel to any IPv4 address)",
        0x2002 => "a 6to4 address (it can tunnel to any IPv4 address)",
        0x0064 if segments[1] == 0xff9b && segments[2..6] == [0, 0, 0, 0] => {
            "a NAT64 address (it can reach any IPv4 address)"
        }
        // 64:ff9b:1::/48, NAT64 for local use (RFC 8215): translates to private IPv4 networks.
        0x0064 if segments[1] == 0xff9b && segments[2] == 0x0001 => {
            "a local-use NAT64 address (it can reach private IPv4 addresses)"
        }
        _ => return None,
    })
}

/// Checks the host of `url` at save time: IP literals directly, names by resolving them.
pub async fn check_url(policy: &TargetPolicy, url: &str) -> Result<(), GuardError> {
    let parsed =
        url::Url::parse(url).map_err(|e| GuardError::InvalidUrl(format!("`{url}` is not a valid URL: {e}")))?;
    let host = parsed.host().ok_or_else(|| GuardError::InvalidUrl("the URL has no host".into()))?;
    let port = parsed.port_or_known_default().unwrap_or(443);
    match host {
        url::Host::Ipv4(v4) => policy.check(&v4.to_string(), IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => policy.check(&v6.to_string(), IpAddr::V6(v6)),
        url::Host::Domain(name) => resolve_vetted(policy, name, port).await.map(|_| ()),
    }
}

/// The literal address of `url`, checked, or None when the host is a name (the resolver checks it).
pub fn check_literal(policy: &TargetPolicy, url: &reqwest::Url) -> Result<(), GuardError> {
    match url.host() {
        Some(url::Host::Ipv4(v4)) => policy.check(&v4.to_string(), IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => policy.check(&v6.to_string(), IpAddr::V6(v6)),
        _ => Ok(()),
    }
}

/// Resolves `host` and keeps the addresses the policy allows. Refuses when any address is blocked:
/// a name that resolves to one public and one private address is refused as a whole (otherwise an
/// attacker's DNS could mix them and the client would try both).
pub async fn resolve_vetted(policy: &TargetPolicy, host: &str, port: u16) -> Result<Vec<SocketAddr>, GuardError> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| GuardError::Dns { host: host.to_string(), message: e.to_string() })?
        .collect();
    if addrs.is_empty() {
        return Err(GuardError::Dns { host: host.to_string(), message: "no addresses".into() });
    }
    for addr in &addrs {
        policy.check(host, addr.ip())?;
    }
    Ok(addrs)
}

/// The HTTP client's DNS resolver: resolves once and hands over only vetted addresses.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    pub policy: Arc<TargetPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            // The port is replaced by the client with the URL's port.
            let addrs = resolve_vetted(&policy, name.as_str(), 0).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(addr: &str) -> bool {
        blocked_reason(addr.parse().expect("address")).is_some()
    }

    #[test]
    fn every_reserved_range_is_blocked() {
        let table = [
            ("0.0.0.0", "0/8"),
            ("0.255.255.255", "0/8"),
            ("10.0.0.1", "10/8"),
            ("10.255.255.255", "10/8"),
            ("100.64.0.1", "100.64/10"),
            ("100.127.255.254", "100.64/10"),
            ("127.0.0.1", "127/8"),
            ("127.255.0.1", "127/8"),
            ("169.254.169.254", "169.254/16 (cloud metadata)"),
            ("172.16.0.1", "172.16/12"),
            ("172.31.255.255", "172.16/12"),
            ("192.0.0.8", "192.0.0/24"),
            ("192.0.2.10", "192.0.2/24"),
            ("192.168.1.1", "192.168/16"),
            ("198.18.0.1", "198.18/15"),
            ("198.19.255.255", "198.18/15"),
            ("198.51.100.7", "198.51.100/24"),
            ("203.0.113.9", "203.0.113/24"),
            ("224.0.0.1", "224/4"),
            ("239.255.255.250", "224/4"),
            ("240.0.0.1", "240/4"),
            ("255.255.255.255", "240/4"),
            ("::", "::"),
            ("::1", "::1"),
            ("fc00::1", "fc00::/7"),
            ("fd12:3456::1", "fc00::/7"),
            ("fe80::1", "fe80::/10"),
            ("febf::1", "fe80::/10"),
            ("ff02::1", "ff00::/8"),
            ("2001:db8::1", "2001:db8::/32"),
            ("2002:c0a8:101::1", "2002::/16"),
            ("64:ff9b::a00:1", "64:ff9b::/96"),
            ("64:ff9b:1::a00:1", "64:ff9b:1::/48 (local-use NAT64)"),
            ("64:ff9b:1:ffff::1", "64:ff9b:1::/48 (local-use NAT64)"),
            ("::7f00:1", "::/96 (IPv4-compatible loopback)"),
            ("::a9fe:a9fe", "::/96 (IPv4-compatible 169.254.169.254)"),
            ("::8.8.8.8", "::/96 (IPv4-compatible, any)"),
            ("2001::1", "2001::/32 (Teredo)"),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::/32 (Teredo)"),
            ("fec0::1", "fec0::/10 (site-local)"),
            ("feff:ffff::1", "fec0::/10 (site-local)"),
            ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
            ("::ffff:10.1.2.3", "IPv4-mapped private"),
            ("::ffff:169.254.169.254", "IPv4-mapped link-local"),
        ];
        for (addr, range) in table {
            assert!(blocked(addr), "{addr} ({range}) must be blocked");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for addr in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "2001:db9::1",
            "64:ff9b:2::1",
        ] {
            assert!(!blocked(addr), "{addr} is public");
        }
    }

    #[test]
    fn the_allow_list_reopens_nets_and_hosts() {
        let policy = TargetPolicy::parse("127.0.0.1/32, 10.0.0.0/8, receiver.internal").expect("parse");
        assert!(policy.check("localhost", "127.0.0.1".parse().unwrap()).is_ok());
        assert!(policy.check("x", "::ffff:127.0.0.1".parse().unwrap()).is_ok(), "mapped forms match IPv4 entries");
        assert!(policy.check("x", "127.0.0.2".parse().unwrap()).is_err());
        assert!(policy.check("x", "10.9.8.7".parse().unwrap()).is_ok());
        assert!(policy.check("Receiver.Internal.", "192.168.0.5".parse().unwrap()).is_ok());
        assert!(TargetPolicy::parse("not a cidr!").is_err());
        let err = TargetPolicy::default().check("metadata", "169.254.169.254".parse().unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Blocked: metadata resolves to 169.254.169.254, a link-local address; allow it with HOOKLINE_ALLOWED_TARGETS"
        );
    }

    #[tokio::test]
    async fn save_time_check_resolves_names() {
        let policy = TargetPolicy::default();
        assert!(check_url(&policy, "http://127.0.0.1:8080/hook").await.is_err());
        assert!(check_url(&policy, "http://[::1]/hook").await.is_err());
        assert!(check_url(&policy, "http://localhost/hook").await.is_err(), "localhost resolves to loopback");
        assert!(check_url(&policy, "https://8.8.8.8/hook").await.is_ok());
        let open = TargetPolicy::parse("127.0.0.1/32,::1/128").expect("parse");
        assert!(check_url(&open, "http://127.0.0.1:8080/hook").await.is_ok());
    }
}
