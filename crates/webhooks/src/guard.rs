//! Keeps deliveries to user-supplied URLs away from internal networks (server-side request forgery).
//!
//! Two checks work together: [`UrlPolicy::check`] refuses malformed URLs and literal non-public addresses
//! before a request is made (a literal IP never reaches a resolver), and [`GuardedResolver`] resolves host
//! names itself and hands the HTTP client only the public addresses, so the address that is connected to is
//! the address that was checked (no second lookup that DNS rebinding could answer differently).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// The environment variable that lets deliveries reach private addresses (tests, local development).
pub const ALLOW_PRIVATE_ENV: &str = "LINKWELL_WEBHOOKS_ALLOW_PRIVATE";

/// Where deliveries may go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    /// Allow loopback, private, link-local and other non-public addresses. Off in production.
    pub allow_private: bool,
}

/// Why a URL is not delivered to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefusal {
    #[error("invalid URL")]
    Invalid,
    #[error("scheme must be http or https")]
    UnsupportedScheme,
    #[error("URL has no host")]
    MissingHost,
    #[error("credentials in URL")]
    Credentials,
    #[error("private address")]
    PrivateAddress,
}

impl UrlPolicy {
    /// Everything public, nothing private: the production policy.
    pub const STRICT: UrlPolicy = UrlPolicy {
        allow_private: false,
    };
    /// Any address, for tests and local development.
    pub const ALLOW_PRIVATE: UrlPolicy = UrlPolicy {
        allow_private: true,
    };

    /// [`UrlPolicy::STRICT`] unless `LINKWELL_WEBHOOKS_ALLOW_PRIVATE` is `true`, `1` or `yes` (any case).
    pub fn from_env() -> Self {
        Self::from_env_value(std::env::var(ALLOW_PRIVATE_ENV).ok().as_deref())
    }

    /// The policy for a value of `LINKWELL_WEBHOOKS_ALLOW_PRIVATE` (None: unset).
    pub fn from_env_value(value: Option<&str>) -> Self {
        let allow_private = value.is_some_and(|value| {
            matches!(
                value.trim().to_ascii_lowercase().as_str(),
                "true" | "1" | "yes"
            )
        });
        Self { allow_private }
    }

    /// Whether a delivery may connect to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip)
    }

    /// [`check_url`], and, for a host written as an IP address, that the policy permits the address. Host
    /// names are checked when they are resolved, by [`GuardedResolver`].
    pub fn check(&self, url: &str) -> Result<Url, UrlRefusal> {
        let url = check_url(url)?;
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(Host::Domain(_)) | None => None,
        };
        match literal {
            Some(ip) if !self.permits(ip) => Err(UrlRefusal::PrivateAddress),
            _ => Ok(url),
        }
    }

    /// The resolver that enforces this policy on resolved addresses.
    pub fn resolver(&self) -> GuardedResolver {
        GuardedResolver { policy: *self }
    }
}

/// The form of a webhook URL: `http` or `https`, a host, no user name or password.
///
/// IPv4 hosts in other notations (`http://2130706433/`, `http://0x7f.1/`) come out as the dotted address.
pub fn check_url(url: &str) -> Result<Url, UrlRefusal> {
    let url = Url::parse(url.trim()).map_err(|_| UrlRefusal::Invalid)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlRefusal::UnsupportedScheme);
    }
    match url.host() {
        None => return Err(UrlRefusal::MissingHost),
        Some(Host::Domain("")) => return Err(UrlRefusal::MissingHost),
        Some(_) => {}
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlRefusal::Credentials);
    }
    Ok(url)
}

/// Whether `ip` is an ordinary public unicast address, one a webhook may be delivered to.
///
/// Refused: unspecified, loopback, private (10/8, 172.16/12, 192.168/16), carrier-grade NAT (100.64/10),
/// "this network" (0/8), link-local (169.254/16, which holds cloud metadata services, and fe80::/10),
/// IETF protocol assignments (192.0.0/24, 2001::/23), documentation (192.0.2/24, 198.51.100/24,
/// 203.0.113/24, 2001:db8::/32, 3fff::/20), benchmarking (198.18/15), the 6to4 relay anycast
/// (192.88.99/24), multicast, reserved (240/4 with broadcast), IPv6 unique-local (fc00::/7), site-local
/// (fec0::/10), discard-only (100::/64), local-use NAT64 (64:ff9b:1::/48), SRv6 (5f00::/16), IPv4-compatible
/// (::/96, deprecated) and anything else outside global unicast (2000::/3). Addresses that embed an IPv4
/// address (IPv4-mapped ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16)
/// are judged by the embedded address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

const BLOCKED_V4: &[(Ipv4Addr, u8)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8),
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 0, 0, 0), 24),
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(192, 88, 99, 0), 24),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    (Ipv4Addr::new(224, 0, 0, 0), 4),
    (Ipv4Addr::new(240, 0, 0, 0), 4),
];

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    !BLOCKED_V4.iter().any(|&(network, len)| {
        let mask = u32::MAX << (32 - u32::from(len));
        bits & mask == u32::from(network) & mask
    })
}

const BLOCKED_V6: &[(Ipv6Addr, u8)] = &[
    (Ipv6Addr::new(0x0064, 0xff9b, 1, 0, 0, 0, 0, 0), 48),
    (Ipv6Addr::new(0x0100, 0, 0, 0, 0, 0, 0, 0), 64),
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23),
    (Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0), 32),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20),
    (Ipv6Addr::new(0x5f00, 0, 0, 0, 0, 0, 0, 0), 16),
];

fn in_v6(bits: u128, network: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX << (128 - u32::from(len));
    bits & mask == u128::from(network) & mask
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let bits = u128::from(ip);
    // Forms that carry an IPv4 address which a host or a translator would end up connecting to.
    let low_v4 = Ipv4Addr::from(bits as u32);
    if in_v6(bits, Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96)
        || in_v6(bits, Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, 0, 0), 96)
        || in_v6(bits, Ipv6Addr::new(0x0064, 0xff9b, 0, 0, 0, 0, 0, 0), 96)
    {
        return is_public_v4(low_v4);
    }
    if in_v6(bits, Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16) {
        return is_public_v4(Ipv4Addr::from((bits >> 80) as u32));
    }
    // Global unicast only (this also leaves out ::/96 with :: and ::1, fc00::/7, fe80::/10, fec0::/10,
    // ff00::/8), less the special-purpose blocks inside it.
    in_v6(bits, Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3)
        && !BLOCKED_V6
            .iter()
            .any(|&(network, len)| in_v6(bits, network, len))
}

/// Why [`GuardedResolver`] returned no address.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The name resolved, but only to addresses the policy refuses.
    #[error("the host resolves only to non-public addresses")]
    PrivateAddress,
    /// The name did not resolve.
    #[error("the host name did not resolve: {0}")]
    Lookup(#[source] io::Error),
}

/// A DNS resolver for reqwest that resolves with the system resolver (`tokio::net::lookup_host`) and keeps
/// only the addresses its [`UrlPolicy`] permits; with none left the connection fails with
/// [`ResolveError::PrivateAddress`] before any connection is attempted.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    policy: UrlPolicy,
}

impl GuardedResolver {
    pub fn new(policy: UrlPolicy) -> Self {
        Self { policy }
    }

    /// The addresses of `host` that the policy permits (port 0), or why there are none.
    pub async fn lookup(&self, host: &str) -> Result<Vec<SocketAddr>, ResolveError> {
        let found: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
            .await
            .map_err(ResolveError::Lookup)?
            .collect();
        if found.is_empty() {
            return Err(ResolveError::Lookup(io::Error::new(
                io::ErrorKind::NotFound,
                "no addresses",
            )));
        }
        let permitted: Vec<SocketAddr> = found
            .into_iter()
            .filter(|address| self.policy.permits(address.ip()))
            .collect();
        if permitted.is_empty() {
            Err(ResolveError::PrivateAddress)
        } else {
            Ok(permitted)
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = *self;
        Box::pin(async move {
            let addresses = resolver.lookup(name.as_str()).await?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn is_public_refuses_internal_ipv4() {
        for text in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "169.254.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.0.1",
            "192.168.255.255",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!is_public(ip(text)), "{text} was taken for public");
        }
    }

    #[test]
    fn is_public_accepts_public_ipv4() {
        for text in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.1",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.3.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "203.0.114.0",
            "223.255.255.255",
        ] {
            assert!(is_public(ip(text)), "{text} was taken for non-public");
        }
    }

    #[test]
    fn is_public_refuses_internal_ipv6() {
        for text in [
            "::",
            "::1",
            "fe80::1",
            "febf:ffff::1",
            "fec0::1",
            "fc00::1",
            "fd12:3456:789a::1",
            "ff02::1",
            "ff0e::1",
            "100::1",
            "64:ff9b:1::1",
            "2001::1",
            "2001:2::1",
            "2001:db8::1",
            "3fff::1",
            "5f00::1",
            "4000::1",
            "1000::1",
            // IPv4-compatible (deprecated), whatever it embeds.
            "::127.0.0.1",
            "::10.0.0.1",
            "::8.8.8.8",
        ] {
            assert!(!is_public(ip(text)), "{text} was taken for public");
        }
    }

    #[test]
    fn is_public_accepts_public_ipv6() {
        for text in [
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001::1",
            "2400::1",
            "3ffe::1",
            "2001:200::1",
        ] {
            assert!(is_public(ip(text)), "{text} was taken for non-public");
        }
    }

    #[test]
    fn is_public_judges_embedded_ipv4_by_the_ipv4_address() {
        for v4 in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
        ] {
            let a: Ipv4Addr = v4.parse().unwrap();
            let [b0, b1, b2, b3] = a.octets();
            let (hi, lo) = (u16::from_be_bytes([b0, b1]), u16::from_be_bytes([b2, b3]));
            for form in [
                format!("::ffff:{v4}"),
                format!("::ffff:0:{v4}"),
                format!("64:ff9b::{v4}"),
                format!("2002:{hi:x}:{lo:x}::1"),
            ] {
                assert!(!is_public(ip(&form)), "{form} was taken for public");
            }
        }
        for form in [
            "::ffff:8.8.8.8",
            "::ffff:0:8.8.8.8",
            "64:ff9b::1.1.1.1",
            "2002:808:808::1",
        ] {
            assert!(is_public(ip(form)), "{form} was taken for non-public");
        }
        // The mapped form as Rust parses and prints it.
        assert!(!is_public(IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped())));
    }

    #[test]
    fn check_url_wants_http_a_host_and_no_credentials() {
        assert_eq!(
            check_url("https://hooks.example.com/linkwell?x=1")
                .unwrap()
                .as_str(),
            "https://hooks.example.com/linkwell?x=1"
        );
        check_url("http://203.0.113.5:8080/").unwrap();
        for (url, refusal) in [
            ("ftp://x", UrlRefusal::UnsupportedScheme),
            ("file:///etc/passwd", UrlRefusal::UnsupportedScheme),
            ("gopher://example.com/", UrlRefusal::UnsupportedScheme),
            ("javascript:alert(1)", UrlRefusal::UnsupportedScheme),
            ("http://user:pw@host/", UrlRefusal::Credentials),
            ("http://user@host/", UrlRefusal::Credentials),
            ("https://:pw@host/", UrlRefusal::Credentials),
            ("http://", UrlRefusal::Invalid),
            ("not a url", UrlRefusal::Invalid),
            ("", UrlRefusal::Invalid),
            ("/relative/path", UrlRefusal::Invalid),
        ] {
            assert_eq!(check_url(url).unwrap_err(), refusal, "{url}");
        }
    }

    #[test]
    fn policy_check_refuses_literal_private_addresses() {
        let strict = UrlPolicy::STRICT;
        for url in [
            "http://127.0.0.1:8080/",
            "http://[::1]:8080/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://[fe80::1]/",
            "http://0.0.0.0/",
            // Other notations of 127.0.0.1 that URL parsers turn into the address.
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
        ] {
            assert_eq!(
                strict.check(url).unwrap_err(),
                UrlRefusal::PrivateAddress,
                "{url}"
            );
            assert!(UrlPolicy::ALLOW_PRIVATE.check(url).is_ok(), "{url}");
        }
        strict.check("https://8.8.8.8/").unwrap();
        strict.check("https://[2606:4700::1]/").unwrap();
        // Names pass here; they are checked when resolved.
        strict.check("http://localhost:1/").unwrap();
        assert_eq!(
            UrlPolicy::ALLOW_PRIVATE.check("ftp://x").unwrap_err(),
            UrlRefusal::UnsupportedScheme
        );
    }

    #[test]
    fn policy_from_env_value() {
        assert_eq!(UrlPolicy::from_env_value(None), UrlPolicy::STRICT);
        for value in ["true", "TRUE", "1", "yes", " true\n"] {
            assert_eq!(
                UrlPolicy::from_env_value(Some(value)),
                UrlPolicy::ALLOW_PRIVATE,
                "{value:?}"
            );
        }
        for value in ["", "false", "0", "no", "maybe"] {
            assert_eq!(
                UrlPolicy::from_env_value(Some(value)),
                UrlPolicy::STRICT,
                "{value:?}"
            );
        }
        assert_eq!(UrlPolicy::default(), UrlPolicy::STRICT);
    }

    #[tokio::test]
    async fn resolver_drops_loopback_unless_allowed() {
        let refused = UrlPolicy::STRICT.resolver().lookup("localhost").await;
        assert!(
            matches!(refused, Err(ResolveError::PrivateAddress)),
            "{refused:?}"
        );
        let refused = UrlPolicy::STRICT.resolver().lookup("127.0.0.1").await;
        assert!(
            matches!(refused, Err(ResolveError::PrivateAddress)),
            "{refused:?}"
        );
        let allowed = UrlPolicy::ALLOW_PRIVATE
            .resolver()
            .lookup("localhost")
            .await
            .unwrap();
        assert!(allowed.iter().all(|address| address.ip().is_loopback()));
        // Through reqwest's trait, as the client calls it.
        let name: Name = "localhost".parse().unwrap();
        let error = match UrlPolicy::STRICT.resolver().resolve(name).await {
            Ok(_) => panic!("localhost resolved under the strict policy"),
            Err(error) => error,
        };
        assert!(
            matches!(
                error.downcast_ref::<ResolveError>(),
                Some(ResolveError::PrivateAddress)
            ),
            "{error:?}"
        );
    }
}
