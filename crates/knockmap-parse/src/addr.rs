//! Remote addresses and ports: parsing one address, and finding the trustworthy
//! ` from <addr> port <N>` in a message whose user name is attacker-controlled.

use std::net::IpAddr;

use std::net::Ipv4Addr;
use std::sync::LazyLock;

use memchr::memmem::FinderRev;

use crate::text::{digits_len, parse_u32};

static FROM_REV: LazyLock<FinderRev<'static>> = LazyLock::new(|| FinderRev::new(b" from "));
static PORT_REV: LazyLock<FinderRev<'static>> = LazyLock::new(|| FinderRev::new(b" port "));

/// The remote end as sshd wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host<'a> {
    /// A numeric address, canonicalised (IPv4-mapped IPv6 is IPv4, zone dropped).
    Ip(IpAddr),
    /// A host name (sshd with `UseDNS yes`, or PAM's `rhost`).
    Name(&'a [u8]),
    /// `UNKNOWN`: sshd had no socket address (e.g. `sshd -i` on a pipe).
    Unknown,
}

/// Parses a numeric IP address: IPv4, IPv6 (any spelling), an optional `%zone` suffix (dropped),
/// optional surrounding `[` `]`. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes IPv4.
pub fn parse_ip(s: &[u8]) -> Option<IpAddr> {
    let s = match s {
        [b'[', inner @ .., b']'] => inner,
        _ => s,
    };
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    if s.len() <= 15
        && s[0].is_ascii_digit()
        && let Some(v4) = parse_ipv4(s)
    {
        return Some(IpAddr::V4(v4));
    }
    let s = match s.iter().position(|&b| b == b'%') {
        Some(i) => &s[..i],
        None => s,
    };
    let text = std::str::from_utf8(s).ok()?;
    let ip: IpAddr = text.parse().ok()?;
    Some(canonical(ip))
}

/// Dotted-quad IPv4 exactly as the standard library accepts it (four decimal octets, no
/// leading zeros), without going through `str`.
fn parse_ipv4(s: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            if s.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v: u32 = 0;
        while let Some(&b) = s.get(i) {
            if !b.is_ascii_digit() || i - start == 3 {
                break;
            }
            v = v * 10 + u32::from(b - b'0');
            i += 1;
        }
        let len = i - start;
        if len == 0 || (len > 1 && s[start] == b'0') {
            return None;
        }
        *octet = u8::try_from(v).ok()?;
    }
    (i == s.len()).then_some(Ipv4Addr::from(octets))
}

/// IPv4-mapped IPv6 addresses as IPv4; everything else unchanged.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Parses what sshd or PAM wrote where a remote host belongs: an address, `UNKNOWN`, or a
/// DNS host name. Anything else (spaces, markup, empty) is `None`.
pub fn parse_host(s: &[u8]) -> Option<Host<'_>> {
    if let Some(ip) = parse_ip(s) {
        return Some(Host::Ip(ip));
    }
    if s == b"UNKNOWN" {
        return Some(Host::Unknown);
    }
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && s.iter().any(|b| b.is_ascii_alphabetic());
    ok.then_some(Host::Name(s))
}

/// Parses a decimal port number.
pub fn parse_port(s: &[u8]) -> Option<u16> {
    parse_u32(s).and_then(|n| u16::try_from(n).ok())
}

/// The result of [`rfind_from`]: the text before ` from `, the host and port, and what follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FromPort<'a> {
    /// Everything before ` from ` (holds the user name in most forms).
    pub before: &'a [u8],
    /// The remote host.
    pub host: Host<'a>,
    /// The port, when the line has ` port N`.
    pub port: Option<u16>,
    /// Everything after the host (and port).
    pub after: &'a [u8],
}

/// Finds the last ` from <host>[ port <N>]` in `s` whose remainder satisfies `after_ok`.
///
/// Searching from the right is what keeps a user name like `root from 6.6.6.6 port 22` from
/// forging the address: sshd writes the real address after the user. `after_ok` says what may
/// follow the address in this form (often: nothing), so a forged copy earlier in the line whose
/// remainder does not fit is never taken.
pub fn rfind_from<'a>(
    s: &'a [u8],
    port_required: bool,
    after_ok: impl Fn(&[u8]) -> bool,
) -> Option<FromPort<'a>> {
    let mut end = s.len();
    while let Some(i) = FROM_REV.rfind(&s[..end]) {
        end = i;
        let tail = &s[i + 6..];
        let (host_text, rest) = split_token(tail);
        let Some(host) = parse_host(host_text) else {
            continue;
        };
        let (port, after) = match take_port(rest) {
            Some((p, after)) => (Some(p), after),
            None if port_required => continue,
            None => (None, rest),
        };
        if after_ok(after) {
            return Some(FromPort {
                before: &s[..i],
                host,
                port,
                after,
            });
        }
    }
    None
}

/// Splits at the first space: (token, rest starting with the space or empty).
pub fn split_token(s: &[u8]) -> (&[u8], &[u8]) {
    match s.iter().position(|&b| b == b' ') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, &[]),
    }
}

/// Parses a leading ` port <N>`; returns the port and what follows the digits.
pub fn take_port(s: &[u8]) -> Option<(u16, &[u8])> {
    let rest = s.strip_prefix(b" port ")?;
    let n = digits_len(rest);
    let port = parse_port(&rest[..n])?;
    Some((port, &rest[n..]))
}

/// Who sshd says the connection belongs to, in a "remote id" (`[<preamble> ]IP port P`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preamble {
    /// No preamble: just the address.
    None,
    /// `authenticating user U` (a valid user, before authentication).
    Authenticating,
    /// `invalid user U`.
    Invalid,
    /// `user U`: after authentication.
    User,
}

/// A parsed remote id (`[authenticating user U |invalid user U |user U ]IP port P`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rid<'a> {
    /// Which preamble the id carried.
    pub preamble: Preamble,
    /// The user name from the preamble (may be empty).
    pub user: &'a [u8],
    /// The remote host.
    pub host: Host<'a>,
    /// The port, when present.
    pub port: Option<u16>,
}

/// Parses a whole remote id. The address and port are taken from the right end, so the user
/// name (which may contain spaces and fake addresses) is everything between preamble and
/// address.
pub fn parse_rid(rid: &[u8]) -> Option<Rid<'_>> {
    let (rest, port) = match PORT_REV.rfind(rid) {
        Some(i) if digits_len(&rid[i + 6..]) == rid.len() - i - 6 => {
            (&rid[..i], Some(parse_port(&rid[i + 6..])?))
        }
        _ => (rid, None),
    };
    let (pre, host_text) = match memchr::memrchr(b' ', rest) {
        Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
        None => (None, rest),
    };
    let host = parse_host(host_text)?;
    let Some(pre) = pre else {
        return Some(Rid {
            preamble: Preamble::None,
            user: &[],
            host,
            port,
        });
    };
    const FORMS: [(&[u8], Preamble); 4] = [
        (b"authenticating user", Preamble::Authenticating),
        // monitor.c of 7.5+ writes this without the space.
        (b"authenticatinguser", Preamble::Authenticating),
        (b"invalid user", Preamble::Invalid),
        (b"user", Preamble::User),
    ];
    for (word, preamble) in FORMS {
        if let Some(after) = pre.strip_prefix(word) {
            let user = match after {
                [] => after,
                [b' ', user @ ..] => user,
                _ => continue,
            };
            return Some(Rid {
                preamble,
                user,
                host,
                port,
            });
        }
    }
    None
}

/// Parses `[IP]:P` (the bracketed form of `drop connection` lines).
pub fn parse_bracketed(s: &[u8]) -> Option<(IpAddr, u16)> {
    let s = s.strip_prefix(b"[")?;
    let close = memchr::memchr(b']', s)?;
    let ip = parse_ip(&s[..close])?;
    let port = parse_port(s[close + 1..].strip_prefix(b":")?)?;
    Some((ip, port))
}

/// Parses `a.b.c.d/len` or `v6/len` (srclimit network prefixes); returns the address.
pub fn parse_prefix(s: &[u8]) -> Option<IpAddr> {
    let slash = memchr::memchr(b'/', s)?;
    parse_u32(&s[slash + 1..]).filter(|&n| n <= 128)?;
    parse_ip(&s[..slash])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn ipv4_and_ipv6() {
        assert_eq!(parse_ip(b"203.0.113.7"), Some(ip("203.0.113.7")));
        assert_eq!(
            parse_ip(b"2001:0db8:0000:0000:0000:0000:0000:0001"),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            parse_ip(b"2001:0db8:0000:0000:0000:0000:0000:0001").map(|a| a.to_string()),
            Some("2001:db8::1".to_string())
        );
    }

    #[test]
    fn ipv4_fast_path_agrees_with_std() {
        for text in [
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.4 ",
            "1.2.3.0004",
            "10.0.0.1",
            "192.168.001.1",
            "1.2.3.",
            "9.9.9.99",
            "100.200.250.255",
        ] {
            let want = text.parse::<Ipv4Addr>().ok();
            assert_eq!(parse_ipv4(text.as_bytes()), want, "{text}");
        }
    }

    #[test]
    fn mapped_and_zone() {
        assert_eq!(parse_ip(b"::ffff:192.0.2.1"), Some(ip("192.0.2.1")));
        assert_eq!(parse_ip(b"fe80::1%eth0"), Some(ip("fe80::1")));
        assert_eq!(parse_ip(b"[2001:db8::2]"), Some(ip("2001:db8::2")));
        assert_eq!(parse_ip(b"1.2.3"), None);
        assert_eq!(parse_ip(b""), None);
    }

    #[test]
    fn hosts() {
        assert_eq!(parse_host(b"UNKNOWN"), Some(Host::Unknown));
        assert_eq!(
            parse_host(b"scanner.example.net"),
            Some(Host::Name(b"scanner.example.net"))
        );
        assert_eq!(parse_host(b"<img>"), None);
        assert_eq!(parse_host(b"12345"), None);
    }

    #[test]
    fn rightmost_from_wins() {
        let s = b"root from 6.6.6.6 port 22 from 1.2.3.4 port 5 ssh2";
        let f = rfind_from(s, true, |a| a == b" ssh2").expect("found");
        assert_eq!(f.before, b"root from 6.6.6.6 port 22");
        assert_eq!(f.host, Host::Ip(ip("1.2.3.4")));
        assert_eq!(f.port, Some(5));
    }

    #[test]
    fn remote_ids() {
        let r = parse_rid(b"invalid user a b 1.2.3.4 port 9 5.6.7.8 port 22").expect("rid");
        assert_eq!(r.preamble, Preamble::Invalid);
        assert_eq!(r.user, b"a b 1.2.3.4 port 9");
        assert_eq!(r.host, Host::Ip(ip("5.6.7.8")));
        assert_eq!(r.port, Some(22));
        let r = parse_rid(b"invalid user  1.2.3.4 port 9").expect("rid");
        assert_eq!(r.user, b"");
        let r = parse_rid(b"2001:db8::1 port 9").expect("rid");
        assert_eq!(r.preamble, Preamble::None);
        assert!(parse_rid(b"totobad user ftp 1.2.3.4 port 9").is_none());
    }

    #[test]
    fn bracketed_and_prefix() {
        assert_eq!(
            parse_bracketed(b"[2001:db8::1]:2222"),
            Some((ip("2001:db8::1"), 2222))
        );
        assert_eq!(parse_prefix(b"192.0.2.1/32"), Some(ip("192.0.2.1")));
    }
}
