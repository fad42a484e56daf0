//! Lossless conversion of attacker-controlled log bytes to `String`.
//!
//! Valid UTF-8 is kept as is; every byte that is not part of a valid UTF-8 sequence becomes a
//! `\xNN` escape (two lowercase hex digits), so nothing is dropped or replaced by U+FFFD.

/// Converts `bytes` to a `String`, keeping valid UTF-8 unchanged and writing each invalid byte
/// as `\xNN`.
pub fn lossless(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for &b in chunk.invalid() {
            push_hex_escape(&mut out, b);
        }
    }
    out
}

fn push_hex_escape(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('\\');
    out.push('x');
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0x0f)]));
}

/// Removes ASCII spaces, tabs and carriage returns from the end.
pub fn trim_end(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t' | b'\r'] = s {
        s = rest;
    }
    s
}

/// Parses an unsigned decimal number made only of ASCII digits (no sign, no spaces).
pub fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    let mut n: u32 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
    }
    Some(n)
}

/// Length of the run of ASCII digits at the start of `s`.
pub fn digits_len(s: &[u8]) -> usize {
    s.iter().take_while(|b| b.is_ascii_digit()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_utf8_is_kept() {
        assert_eq!(
            lossless("rööt <img src=x onerror=alert(1)>".as_bytes()),
            "rööt <img src=x onerror=alert(1)>"
        );
    }

    #[test]
    fn invalid_bytes_become_escapes() {
        assert_eq!(lossless(b"llinco\xf1ir"), "llinco\\xf1ir");
        assert_eq!(lossless(b"\xff\xfe"), "\\xff\\xfe");
        // A truncated multi-byte sequence followed by valid text.
        assert_eq!(lossless(b"a\xe2\x82b"), "a\\xe2\\x82b");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u32(b"65535"), Some(65535));
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_u32(b""), None);
        assert_eq!(parse_u32(b"1a"), None);
    }

    #[test]
    fn trimming() {
        assert_eq!(trim_end(b"  a b \t\r"), b"  a b");
        assert_eq!(trim_end(b"   "), b"");
    }
}
