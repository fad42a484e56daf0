//! The event JSON line, written straight from an [`EventRef`] into a byte buffer.
//!
//! The output is byte for byte what `serde_json::to_string(&event.to_event())` gives: the same
//! field order, the same string escaping (`"` `\` and control characters; nothing else), the
//! timestamp as jiff prints it, and invalid UTF-8 as the `\xNN` text [`crate::lossless`] makes
//! (whose backslash JSON then escapes). Nothing is allocated beyond growing `out`.

use std::io::Write as _;
use std::net::IpAddr;

use jiff::Timestamp;

use crate::civil::{MAX_FAST_SECOND, civil_from_days};
use crate::event_ref::EventRef;

impl EventRef<'_> {
    /// Appends this event's JSON object (no newline) to `out`, with `offset` when given.
    pub fn write_json(&self, offset: Option<u64>, out: &mut Vec<u8>) {
        // Fixed-size parts go through a stack buffer, so `out` grows once per run of them
        // rather than once per token.
        let mut st = Stack::new();
        st.put(b"{\"ts\":\"");
        if !st.ts(self.ts) {
            st.flush(out);
            let _ = write!(out, "{}", self.ts);
        }
        st.byte(b'"');
        if let Some(host) = self.host {
            st.put(b",\"host\":");
            st.flush(out);
            write_str(host, out);
        }
        if let Some(pid) = self.pid {
            st.put(b",\"pid\":");
            st.num(u64::from(pid));
        }
        st.put(b",\"kind\":\"");
        st.put(self.kind.as_str().as_bytes());
        st.byte(b'"');
        match self.ip {
            Some(IpAddr::V4(v4)) => {
                st.put(b",\"ip\":\"");
                let [a, b, c, d] = v4.octets();
                st.octet(a);
                st.byte(b'.');
                st.octet(b);
                st.byte(b'.');
                st.octet(c);
                st.byte(b'.');
                st.octet(d);
                st.byte(b'"');
            }
            Some(IpAddr::V6(v6)) => {
                st.put(b",\"ip\":\"");
                st.flush(out);
                // `Vec<u8>` as `io::Write` cannot fail.
                let _ = write!(out, "{v6}");
                st.byte(b'"');
            }
            None => {}
        }
        if let Some(rhost) = self.rhost {
            st.put(b",\"rhost\":");
            st.flush(out);
            write_str(rhost, out);
        }
        if let Some(port) = self.port {
            st.put(b",\"port\":");
            st.num(u64::from(port));
        }
        if let Some(user) = self.user {
            st.put(b",\"user\":");
            st.flush(out);
            write_str(user, out);
        }
        if let Some(method) = self.method {
            st.put(b",\"method\":");
            st.flush(out);
            write_str(method, out);
        }
        match self.invalid_user {
            Some(true) => st.put(b",\"invalid_user\":true"),
            Some(false) => st.put(b",\"invalid_user\":false"),
            None => {}
        }
        st.put(b",\"count\":");
        st.num(u64::from(self.count));
        if let Some(offset) = offset {
            st.put(b",\"offset\":");
            st.num(offset);
        }
        st.byte(b'}');
        st.flush(out);
    }
}

/// `00` to `99`.
const PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// Each byte value in decimal: its length, then its digits (padded to three).
const OCTETS: [[u8; 4]; 256] = {
    let mut t = [[0u8; 4]; 256];
    let mut i = 0;
    while i < 256 {
        let (h, te, o) = ((i / 100) as u8, (i / 10 % 10) as u8, (i % 10) as u8);
        t[i] = if i >= 100 {
            [3, b'0' + h, b'0' + te, b'0' + o]
        } else if i >= 10 {
            [2, b'0' + te, b'0' + o, 0]
        } else {
            [1, b'0' + o, 0, 0]
        };
        i += 1;
    }
    t
};

/// A small stack buffer for the fixed-size parts of one event: even an event with no string
/// field (no flush in between) writes at most 185 bytes.
struct Stack {
    buf: [u8; 256],
    len: usize,
}

impl Stack {
    fn new() -> Stack {
        Stack {
            buf: [0; 256],
            len: 0,
        }
    }

    #[inline(always)]
    fn put(&mut self, s: &[u8]) {
        self.buf[self.len..self.len + s.len()].copy_from_slice(s);
        self.len += s.len();
    }

    #[inline(always)]
    fn byte(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    fn flush(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.buf[..self.len]);
        self.len = 0;
    }

    /// A decimal number, written in place, two digits per division.
    #[inline(always)]
    fn num(&mut self, n: u64) {
        let digits = n.checked_ilog10().map_or(1, |d| d as usize + 1);
        let end = self.len + digits;
        let mut at = end;
        let mut n = n;
        while n >= 100 {
            let pair = (n % 100) as usize * 2;
            n /= 100;
            at -= 2;
            self.buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        }
        if n >= 10 {
            let pair = n as usize * 2;
            self.buf[at - 2..at].copy_from_slice(&PAIRS[pair..pair + 2]);
        } else {
            self.buf[at - 1] = b'0' + n as u8;
        }
        self.len = end;
    }

    /// An IPv4 octet: three bytes from a table, one length (no division, no branch).
    #[inline(always)]
    fn octet(&mut self, b: u8) {
        let [len, digits @ ..] = OCTETS[usize::from(b)];
        self.buf[self.len..self.len + 3].copy_from_slice(&digits);
        self.len += usize::from(len);
    }

    #[inline(always)]
    fn two(&mut self, n: u32) {
        self.buf[self.len] = b'0' + (n / 10 % 10) as u8;
        self.buf[self.len + 1] = b'0' + (n % 10) as u8;
        self.len += 2;
    }

    /// The timestamp as jiff's `Display` writes it: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the
    /// fraction with its trailing zeros dropped. `false` (nothing written) for instants before
    /// 1970 or after 9999, which the caller hands to jiff.
    #[inline(always)]
    fn ts(&mut self, ts: Timestamp) -> bool {
        let secs = ts.as_second();
        let nanos = ts.subsec_nanosecond();
        if !(0..=MAX_FAST_SECOND).contains(&secs) || nanos < 0 {
            return false;
        }
        let (days, sod) = (secs / 86_400, (secs % 86_400) as u32);
        let (year, month, day) = civil_from_days(days);
        let year = year as u32;
        self.two(year / 100);
        self.two(year % 100);
        self.byte(b'-');
        self.two(month);
        self.byte(b'-');
        self.two(day);
        self.byte(b'T');
        self.two(sod / 3600);
        self.byte(b':');
        self.two(sod / 60 % 60);
        self.byte(b':');
        self.two(sod % 60);
        if nanos > 0 {
            let mut n = nanos as u32;
            let mut len = 9;
            while n.is_multiple_of(10) {
                n /= 10;
                len -= 1;
            }
            self.byte(b'.');
            for slot in self.buf[self.len..self.len + len].iter_mut().rev() {
                *slot = b'0' + (n % 10) as u8;
                n /= 10;
            }
            self.len += len;
        }
        self.byte(b'Z');
        true
    }
}

/// The timestamp as jiff prints it (see [`EventRef::write_json`]).
#[cfg(test)]
pub fn write_ts(ts: Timestamp, out: &mut Vec<u8>) {
    let mut st = Stack::new();
    if st.ts(ts) {
        st.flush(out);
    } else {
        let _ = write!(out, "{ts}");
    }
}

/// A JSON string of the lossless text of `bytes`.
pub fn write_str(bytes: &[u8], out: &mut Vec<u8>) {
    if bytes
        .iter()
        .all(|&b| (0x20..0x80).contains(&b) && b != b'"' && b != b'\\')
    {
        // Printable ASCII with nothing to escape: the common case, one copy.
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        escape(chunk.valid().as_bytes(), out);
        for &b in chunk.invalid() {
            // `\xNN` from `lossless`, its backslash escaped for JSON.
            out.extend_from_slice(b"\\\\x");
            out.extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0f)]]);
        }
    }
    out.push(b'"');
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// JSON-escapes valid UTF-8 the way serde_json does, copying unescaped runs whole.
fn escape(s: &[u8], out: &mut Vec<u8>) {
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        if short.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0f)]]);
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
}
