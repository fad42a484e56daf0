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
#[inline]
pub fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    // Ten digits fit in a u64: one range check at the end instead of one per digit.
    let mut n: u64 = 0;
    for &b in s {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + u64::from(d);
    }
    u32::try_from(n).ok()
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Eight bytes from `s[i..]`, little-endian, when there are that many.
#[inline]
fn word8(s: &[u8], i: usize) -> Option<u64> {
    let mut w = [0u8; 8];
    w.copy_from_slice(s.get(i..i + 8)?);
    Some(u64::from_le_bytes(w))
}

/// The position of the first `byte` in `s`, eight bytes at a time: the words before a space in
/// a log line are short and of any length, and a byte loop's exit is a branch that cannot be
/// predicted.
#[inline]
pub fn find_byte(s: &[u8], byte: u8) -> Option<usize> {
    let pattern = ONES * u64::from(byte);
    let mut i = 0;
    while let Some(w) = word8(s, i) {
        let x = w ^ pattern;
        // The lowest flagged byte is the first zero byte of `x` (only bytes above a zero byte
        // can be flagged falsely).
        let zero = x.wrapping_sub(ONES) & !x & HIGHS;
        if zero != 0 {
            return Some(i + (zero.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    s[i..].iter().position(|&b| b == byte).map(|p| i + p)
}

/// The position of the last `byte` in `s`, eight bytes at a time from the end.
#[inline]
pub fn rfind_byte(s: &[u8], byte: u8) -> Option<usize> {
    let pattern = ONES * u64::from(byte);
    let mut end = s.len();
    while end >= 8 {
        let Some(w) = word8(s, end - 8) else { break };
        let x = w ^ pattern;
        // Exactly the zero bytes of `x` (no borrow between bytes).
        let nonzero = (((x & (ONES * 0x7F)) + ONES * 0x7F) | x) & HIGHS;
        let zero = !nonzero & HIGHS;
        if zero != 0 {
            return Some(end - 8 + 7 - (zero.leading_zeros() / 8) as usize);
        }
        end -= 8;
    }
    s[..end].iter().rposition(|&b| b == byte)
}

/// The run of ASCII digits at the start of `s`: its length and value, when it has one to seven
/// digits; `None` for none or more (the caller then reads it byte by byte, if it cares).
#[inline]
pub fn leading_number(s: &[u8]) -> Option<(usize, u32)> {
    let Some(w) = word8(s, 0) else {
        let n = digits_len(s);
        return (1..=7).contains(&n).then(|| (n, small_number(&s[..n])));
    };
    // A byte is a digit when its high nibble is 3 and adding 6 leaves it at 3 (a carry out of a
    // non-digit byte only disturbs the bytes after it).
    let high = (w & (ONES * 0xF0)) ^ (ONES * 0x30);
    let low = (w.wrapping_add(ONES * 0x06) & (ONES * 0xF0)) ^ (ONES * 0x30);
    let bad = high | low;
    // The high bit of each byte that is not a digit.
    let flags = (((bad & (ONES * 0x7F)) + ONES * 0x7F) | bad) & HIGHS;
    let n = (flags.trailing_zeros() / 8) as usize;
    if n == 0 || n == 8 {
        return None;
    }
    // The digits at the top of the word, most significant first, then combined pairwise.
    let v = (w & (ONES * 0x0F)) << (8 * (8 - n));
    let v = (v.wrapping_mul(10) + (v >> 8)) & 0x00FF_00FF_00FF_00FF;
    let v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
    let v = (v.wrapping_mul(10_000) + (v >> 32)) & 0xFFFF_FFFF;
    Some((n, v as u32))
}

/// Up to eight digits, known to be digits.
fn small_number(s: &[u8]) -> u32 {
    s.iter().fold(0, |n, &b| n * 10 + u32::from(b - b'0'))
}

/// Length of the run of ASCII digits at the start of `s`.
#[inline]
pub fn digits_len(s: &[u8]) -> usize {
    s.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// The first occurrence of `needle` in `hay`, found by scanning for `needle[rare]`, a byte that
/// is rare in the text around it. Log messages are short: a byte scan and a compare beat a
/// substring searcher's set-up.
#[inline]
pub fn find(hay: &[u8], needle: &[u8], rare: usize) -> Option<usize> {
    let byte = needle[rare];
    let mut from = rare;
    while from < hay.len() {
        let at = from + find_byte(&hay[from..], byte)?;
        let start = at - rare;
        if hay.get(start..start + needle.len()) == Some(needle) {
            return Some(start);
        }
        from = at + 1;
    }
    None
}

/// The last occurrence of `needle` in `hay`, scanning backwards for `needle[rare]` (see
/// [`find`]).
#[inline]
pub fn rfind(hay: &[u8], needle: &[u8], rare: usize) -> Option<usize> {
    let byte = needle[rare];
    let tail = needle.len() - rare;
    let mut end = hay.len().checked_sub(tail - 1)?;
    while end > rare {
        let at = rfind_byte(&hay[rare..end], byte)? + rare;
        let start = at - rare;
        if hay.get(start..start + needle.len()) == Some(needle) {
            return Some(start);
        }
        end = at;
    }
    None
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
    fn swar_helpers() {
        let texts: [&[u8]; 12] = [
            b"",
            b"1",
            b"12]: x",
            b"1234567]: msg",
            b"12345678]",
            b"123456789",
            b"00042 ",
            b"9a",
            b"a9",
            b"4294967295]",
            b"1/2:3;4",
            b"12\xff\xfa3456789",
        ];
        for t in texts {
            let n = digits_len(t);
            let want = (1..=7)
                .contains(&n)
                .then(|| (n, parse_u32(&t[..n]).unwrap_or(0)));
            assert_eq!(leading_number(t), want, "{t:?}");
            for b in [b' ', b']', b'9', b'x', b'1', b'2'] {
                assert_eq!(find_byte(t, b), t.iter().position(|&c| c == b), "{t:?}");
                assert_eq!(rfind_byte(t, b), t.iter().rposition(|&c| c == b), "{t:?}");
            }
        }
        for v in [0u32, 7, 10, 99, 100, 65535, 9_999_999] {
            let t = format!("{v} rest");
            assert_eq!(leading_number(t.as_bytes()), Some((t.len() - 5, v)));
        }
        for c in 0..=255u8 {
            let t = [b'1', c, b'1', b'1', b'1', b'1', b'1', b'1', b'1', b'1'];
            let n = digits_len(&t);
            let want = (1..=7).contains(&n).then(|| (n, small_number(&t[..n])));
            assert_eq!(leading_number(&t), want, "{c}");
            assert_eq!(find_byte(&t, c), t.iter().position(|&b| b == c));
            assert_eq!(rfind_byte(&t, c), t.iter().rposition(|&b| b == c));
        }
    }

    #[test]
    fn searching() {
        for hay in [
            &b""[..],
            b" from ",
            b"a from b from c",
            b"from  from from",
            b"x fro",
            b"m from m",
            b" from  from ",
        ] {
            for rare in 0..6 {
                let want = hay.windows(6).position(|w| w == b" from ");
                assert_eq!(find(hay, b" from ", rare), want, "{hay:?} {rare}");
                let want = hay.windows(6).rposition(|w| w == b" from ");
                assert_eq!(rfind(hay, b" from ", rare), want, "{hay:?} {rare}");
            }
        }
    }

    #[test]
    fn trimming() {
        assert_eq!(trim_end(b"  a b \t\r"), b"  a b");
        assert_eq!(trim_end(b"   "), b"");
    }
}
