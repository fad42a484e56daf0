//! Generic mode: the address in a line of any program (see `Parser::with_generic`).

use std::net::IpAddr;

use crate::addr::parse_ip;
use crate::text::find;

/// The address a line is about: the one after a firewall's ` SRC=` (iptables/nftables
/// `LOG`), else the first address on the line (the client, in web server access logs).
pub fn address(line: &[u8]) -> Option<IpAddr> {
    if let Some(i) = find(line, b" SRC=", 1)
        && let Some(ip) = token_at(line, i + 5)
    {
        return Some(ip);
    }
    let mut i = 0;
    while i < line.len() {
        if !is_addr_byte(line[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < line.len() && is_addr_byte(line[i]) {
            i += 1;
        }
        if let Some(ip) = candidate(line, start, i) {
            return Some(ip);
        }
    }
    None
}

/// The address in the token that starts at `start`, if it is one.
fn token_at(line: &[u8], start: usize) -> Option<IpAddr> {
    let len = line
        .get(start..)?
        .iter()
        .take_while(|&&b| is_addr_byte(b))
        .count();
    candidate(line, start, start + len)
}

/// Bytes an address is written with.
fn is_addr_byte(b: u8) -> bool {
    b.is_ascii_hexdigit() || b == b'.' || b == b':'
}

/// Bytes that glue a token into a longer word (`host1.2.3.4`, `v1.2.3.4x`, `Foo::Bar`).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `line[start..end]`, a maximal run of address bytes, read as an address: not glued to a
/// word on either side, a sentence's final `.` or a lone `:` dropped, `a.b.c.d:port` taken as
/// `a.b.c.d`. The unspecified addresses (`0.0.0.0`, `::`) and texts without a digit are not
/// taken.
fn candidate(line: &[u8], start: usize, end: usize) -> Option<IpAddr> {
    if start > 0 && is_word_byte(line[start - 1]) {
        return None;
    }
    if line.get(end).is_some_and(|&b| is_word_byte(b)) {
        return None;
    }
    let mut tok = &line[start..end];
    if !tok.iter().any(u8::is_ascii_digit) || !tok.iter().any(|&b| b == b'.' || b == b':') {
        return None;
    }
    if let Some(t) = tok.strip_suffix(b".") {
        tok = t;
    }
    if tok.ends_with(b":") && !tok.ends_with(b"::") {
        tok = &tok[..tok.len() - 1];
    }
    let ip = parse_ip(tok).or_else(|| {
        // `192.0.2.1:8080`.
        let colon = memchr::memchr(b':', tok)?;
        let port = &tok[colon + 1..];
        if port.is_empty() || !port.iter().all(u8::is_ascii_digit) {
            return None;
        }
        parse_ip(&tok[..colon]).filter(IpAddr::is_ipv4)
    })?;
    (!ip.is_unspecified()).then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(line: &str) -> Option<String> {
        address(line.as_bytes()).map(|ip| ip.to_string())
    }

    #[test]
    fn first_address_or_firewall_source() {
        for (line, want) in [
            (
                r#"203.0.113.9 - - [21/Nov/2026:19:16:01 +0100] "GET /wp-login.php HTTP/1.1" 404 153 "-" "Mozilla/5.0""#,
                Some("203.0.113.9"),
            ),
            (
                "Nov 21 19:16:01 gw kernel: [  970.699396] DROP IN=eth0 OUT= MAC=00:16:3e:aa:bb:cc:00:16:3e:dd:ee:ff:08:00 SRC=198.51.100.7 DST=192.0.2.1 LEN=60 PROTO=TCP SPT=51122 DPT=23",
                Some("198.51.100.7"),
            ),
            ("client [2001:db8::7]:443 closed", Some("2001:db8::7")),
            ("connect from 192.0.2.5:51122 refused", Some("192.0.2.5")),
            (
                "lost connection after AUTH from unknown[192.0.2.44]",
                Some("192.0.2.44"),
            ),
            ("listening on 0.0.0.0 and 192.0.2.1.", Some("192.0.2.1")),
            (
                "nothing here 1.2.3 at 12:34:56 in std::string v1.2.3.4",
                None,
            ),
            ("octets 192.168.001.1 or 256.1.1.1", None),
            ("ptr 4.3.2.1.in-addr.arpa", None),
            ("", None),
        ] {
            assert_eq!(addr(line).as_deref(), want, "{line}");
        }
    }
}
