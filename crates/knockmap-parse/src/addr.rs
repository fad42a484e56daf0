//! Remote addresses and ports: parsing one address, and finding the trustworthy
//! ` from <addr> port <N>` in a message whose user name is attacker-controlled.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::text::{digits_len, find_byte, leading_number, parse_u32, rfind, rfind_byte};

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
///
/// Accepts exactly what the standard library's `IpAddr::from_str` accepts (after the zone is
/// cut), read from bytes without going through `str`.
#[inline]
pub fn parse_ip(s: &[u8]) -> Option<IpAddr> {
    if let Some(v4) = dotted_quad(s) {
        return Some(IpAddr::V4(v4));
    }
    parse_ip_general(s)
}

/// A whole `s` that is a plain dotted quad (`203.0.113.7`), read in one pass at the cost of a
/// few compares per octet. `None` for anything else, which [`parse_ip_general`] then reads:
/// an address this accepts is one that reader accepts too, with the same value.
#[inline]
fn dotted_quad(s: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut rest = s;
    for (n, octet) in octets.iter_mut().enumerate() {
        let d = |b: u8| u32::from(b - b'0');
        let (v, after) = match rest {
            [
                a @ b'1'..=b'9',
                b @ b'0'..=b'9',
                c @ b'0'..=b'9',
                after @ ..,
            ] => (d(*a) * 100 + d(*b) * 10 + d(*c), after),
            [a @ b'1'..=b'9', b @ b'0'..=b'9', after @ ..] => (d(*a) * 10 + d(*b), after),
            [a @ b'0'..=b'9', after @ ..] => (d(*a), after),
            _ => return None,
        };
        if v > 255 {
            return None;
        }
        *octet = v as u8;
        rest = match after {
            [b'.', after @ ..] if n < 3 => after,
            [] if n == 3 => after,
            _ => return None,
        };
    }
    Some(Ipv4Addr::from(octets))
}

/// [`parse_ip`] for any spelling.
fn parse_ip_general(s: &[u8]) -> Option<IpAddr> {
    let s = match s {
        [b'[', inner @ .., b']'] => inner,
        _ => s,
    };
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    // The readers never consume `%`: stopping on one is the end of the address proper.
    let ends = |end: usize| end == s.len() || s[end] == b'%';
    if let Some((v4, end)) = read_ipv4(s, 0) {
        return ends(end).then_some(IpAddr::V4(v4));
    }
    let (v6, end) = read_ipv6(s)?;
    ends(end).then(|| canonical(IpAddr::V6(v6)))
}

/// A dotted quad at `s[i..]` as the standard library reads one: four decimal octets of one to
/// three digits (a fourth digit fails), no leading zeros. The address and where it ends.
#[inline]
fn read_ipv4(s: &[u8], mut i: usize) -> Option<(Ipv4Addr, usize)> {
    let mut octets = [0u8; 4];
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
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            if i - start == 3 {
                return None;
            }
            v = v * 10 + u32::from(d);
            i += 1;
        }
        let len = i - start;
        if len == 0 || (len > 1 && s[start] == b'0') || v > 255 {
            return None;
        }
        *octet = v as u8;
    }
    Some((Ipv4Addr::from(octets), i))
}

/// One to four hex digits at `s[i..]` (a fifth fails); the value and where it ends.
#[inline]
fn read_hex_group(s: &[u8], mut i: usize) -> Option<(u16, usize)> {
    let start = i;
    let mut v: u32 = 0;
    while let Some(&b) = s.get(i) {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => break,
        };
        if i - start == 4 {
            return None;
        }
        v = v * 16 + u32::from(d);
        i += 1;
    }
    (i > start).then_some((v as u16, i))
}

/// Colon-separated groups at `s[*pos..]` into `groups`, with an optional trailing embedded
/// IPv4 address (when two groups are left for it): how many groups were filled and whether the
/// IPv4 form ended them. `*pos` moves past what was read.
fn read_groups(s: &[u8], pos: &mut usize, groups: &mut [u16]) -> (usize, bool) {
    let limit = groups.len();
    for i in 0..limit {
        let start = if i > 0 {
            if s.get(*pos) != Some(&b':') {
                return (i, false);
            }
            *pos + 1
        } else {
            *pos
        };
        let group = read_hex_group(s, start);
        // An embedded IPv4 address is tried first, as the standard library does; its first
        // octet reads as a hex group that stops at a `.`, so only then can it succeed.
        if i + 1 < limit
            && group.is_some_and(|(_, end)| s.get(end) == Some(&b'.'))
            && let Some((v4, end)) = read_ipv4(s, start)
        {
            let [a, b, c, d] = v4.octets();
            groups[i] = u16::from_be_bytes([a, b]);
            groups[i + 1] = u16::from_be_bytes([c, d]);
            *pos = end;
            return (i + 2, true);
        }
        match group {
            Some((g, end)) => {
                groups[i] = g;
                *pos = end;
            }
            None => return (i, false),
        }
    }
    (limit, false)
}

/// An IPv6 address at the start of `s`, as the standard library reads one; the address and
/// where it ends.
fn read_ipv6(s: &[u8]) -> Option<(Ipv6Addr, usize)> {
    let mut pos = 0;
    let mut head = [0u16; 8];
    let (head_size, head_v4) = read_groups(s, &mut pos, &mut head);
    if head_size == 8 {
        return Some((Ipv6Addr::from(head), pos));
    }
    // An embedded IPv4 address only at the end, and `::` stands for at least one group.
    if head_v4 || s.get(pos..pos + 2) != Some(b"::") {
        return None;
    }
    pos += 2;
    let mut tail = [0u16; 7];
    let limit = 8 - (head_size + 1);
    let (tail_size, _) = read_groups(s, &mut pos, &mut tail[..limit]);
    head[8 - tail_size..].copy_from_slice(&tail[..tail_size]);
    Some((Ipv6Addr::from(head), pos))
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
#[inline]
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
#[inline]
pub fn rfind_from<'a>(
    s: &'a [u8],
    port_required: bool,
    after_ok: impl Fn(&[u8]) -> bool,
) -> Option<FromPort<'a>> {
    let mut end = s.len();
    // `m`: rare in the text around ` from `.
    while let Some(i) = rfind(&s[..end], b" from ", 4) {
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
#[inline(always)]
pub fn split_token(s: &[u8]) -> (&[u8], &[u8]) {
    match find_byte(s, b' ') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, &[]),
    }
}

/// Parses a leading ` port <N>`; returns the port and what follows the digits.
#[inline]
pub fn take_port(s: &[u8]) -> Option<(u16, &[u8])> {
    let rest = s.strip_prefix(b" port ")?;
    let (n, port) = leading_number(rest)?;
    Some((u16::try_from(port).ok()?, &rest[n..]))
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
#[inline]
pub fn parse_rid(rid: &[u8]) -> Option<Rid<'_>> {
    let (rest, port) = match rfind(rid, b" port ", 1) {
        Some(i) if digits_len(&rid[i + 6..]) == rid.len() - i - 6 => {
            (&rid[..i], Some(parse_port(&rid[i + 6..])?))
        }
        _ => (rid, None),
    };
    let (pre, host_text) = match rfind_byte(rest, b' ') {
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
    let close = find_byte(s, b']')?;
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

    /// The standard library's reading, for comparison.
    fn std_ip(s: &[u8]) -> Option<IpAddr> {
        let s = match s {
            [b'[', inner @ .., b']'] => inner,
            _ => s,
        };
        if s.is_empty() || s.len() > 64 {
            return None;
        }
        let s = match s.iter().position(|&b| b == b'%') {
            Some(i) => &s[..i],
            None => s,
        };
        let ip: IpAddr = std::str::from_utf8(s).ok()?.parse().ok()?;
        Some(canonical(ip))
    }

    #[test]
    fn agrees_with_std_on_tricky_texts() {
        for text in [
            "::",
            ":::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7::",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7",
            "::1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "::1.2.3.4",
            "::ffff:1.2.3.4",
            "1.2.3.4::",
            "::1.2.3.4:5",
            "::01.2.3.4",
            "::1.2.3.4567",
            "12345::",
            "fffff::",
            "FFFF::aBcD",
            "1:2:3:4:5:6:7:8%eth0",
            "fe80::1%",
            "1.2.3.4%x",
            "1.2.3.4.5",
            "1.2.3",
            "1.2.3.",
            "01.2.3.4",
            "0.0.0.0",
            "255.255.255.256",
            "[::1]",
            "[1.2.3.4]",
            "1:2",
            ":1::",
            "1::2::3",
            "::%",
            "%",
        ] {
            assert_eq!(parse_ip(text.as_bytes()), std_ip(text.as_bytes()), "{text}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]

        #[test]
        fn agrees_with_std(text in "[0-9a-fA-F:.%\\[\\]]{0,45}") {
            proptest::prop_assert_eq!(parse_ip(text.as_bytes()), std_ip(text.as_bytes()));
        }

        #[test]
        fn dotted_quad_agrees_with_the_general_reader(text in "[0-9.]{0,17}") {
            if let Some(v4) = dotted_quad(text.as_bytes()) {
                proptest::prop_assert_eq!(parse_ip_general(text.as_bytes()), Some(IpAddr::V4(v4)));
            }
        }

        #[test]
        fn agrees_with_std_on_digits_and_dots(
            text in "[0-9.]{6,16}|([0-9]{1,4}\\.){3}[0-9]{1,4}|0*[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.?"
        ) {
            proptest::prop_assert_eq!(parse_ip(text.as_bytes()), std_ip(text.as_bytes()));
        }

        #[test]
        fn agrees_with_std_on_near_addresses(
            text in "(::)?([0-9a-f]{1,5}[:.]{1,2}){1,9}([0-9]{1,4}(\\.[0-9]{1,4}){0,4})?(%[a-z0-9]{0,3})?"
        ) {
            proptest::prop_assert_eq!(parse_ip(text.as_bytes()), std_ip(text.as_bytes()));
        }
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
            let want = text.parse::<Ipv4Addr>().ok().map(IpAddr::V4);
            assert_eq!(parse_ip(text.as_bytes()), want, "{text}");
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
