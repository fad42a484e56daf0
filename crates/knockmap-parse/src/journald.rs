//! `journalctl -o json` lines: one JSON object per entry, every field a string (or, for
//! `MESSAGE` holding invalid UTF-8 or control bytes, an array of byte values).
//!
//! A small scanner, not a JSON library: it reads the top-level fields it needs, skips the rest,
//! and gives up (`None`) on anything that is not a well-formed object of that shape. Strings
//! with escapes are decoded into the parser's scratch buffer; the others are borrowed.

use jiff::Timestamp;

use crate::envelope::{Envelope, RawTime, Tag};
use crate::text::parse_u32;

/// Where a field's bytes are.
#[derive(Debug, Clone, Copy)]
enum Src {
    /// A range of the line.
    Line(usize, usize),
    /// A range of the scratch buffer.
    Scratch(usize, usize),
}

/// The fields knockmap reads.
#[derive(Debug, Default)]
struct Fields {
    message: Option<Src>,
    ident: Option<Src>,
    host: Option<Src>,
    syslog_pid: Option<Src>,
    pid: Option<Src>,
    source_time: Option<Src>,
    realtime: Option<Src>,
    comm: Option<Src>,
    exe: Option<Src>,
}

/// Reads a journald JSON line into an envelope. `None` when it is not one.
pub fn parse<'a>(line: &'a [u8], scratch: &'a mut Vec<u8>) -> Option<Envelope<'a>> {
    scratch.clear();
    let fields = scan(line, scratch)?;
    let scratch: &'a [u8] = scratch;
    let get = |src: Option<Src>| -> Option<&'a [u8]> {
        Some(match src? {
            Src::Line(a, b) => &line[a..b],
            Src::Scratch(a, b) => &scratch[a..b],
        })
    };
    let msg = get(fields.message)?;
    let mut name = get(fields.ident).unwrap_or(b"");
    if (Tag { name, pid: None }).is_sshd() {
        let comm = get(fields.comm);
        let exe = get(fields.exe).map(file_name);
        if let Some(other) = [comm, exe]
            .into_iter()
            .flatten()
            .find(|program| !SSHD_PROGRAMS.contains(program))
        {
            // Forged: the writer's own name makes it a line of another program.
            name = other;
        }
    }
    let pid = get(fields.syslog_pid)
        .and_then(parse_u32)
        .or_else(|| get(fields.pid).and_then(parse_u32));
    let micros = get(fields.source_time)
        .and_then(parse_u64)
        .or_else(|| get(fields.realtime).and_then(parse_u64));
    let time = match micros {
        Some(us) => RawTime::Exact(
            i64::try_from(us)
                .ok()
                .and_then(|us| Timestamp::from_microsecond(us).ok())?,
        ),
        None => RawTime::Anchor,
    };
    Some(Envelope {
        time,
        host: get(fields.host).filter(|h| !h.is_empty()),
        tag: Some(Tag { name, pid }),
        msg,
    })
}

/// The names of sshd's executables (and of its processes, `_COMM`).
const SSHD_PROGRAMS: [&[u8]; 3] = [b"sshd", b"sshd-session", b"sshd-auth"];

/// The last component of a path (`/usr/lib/openssh/sshd-session` → `sshd-session`).
fn file_name(path: &[u8]) -> &[u8] {
    match memchr::memrchr(b'/', path) {
        Some(slash) => &path[slash + 1..],
        None => path,
    }
}

fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |n, &b| n * 10 + u64::from(b - b'0')))
}

/// A cursor over the line.
struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        self.ws();
        (self.s.get(self.i) == Some(&b)).then(|| self.i += 1)
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    /// A string at the cursor (just after its opening quote): its raw range and whether it has
    /// escapes.
    fn raw_string(&mut self) -> Option<(usize, usize, bool)> {
        let start = self.i;
        let mut escaped = false;
        loop {
            let rel = memchr::memchr2(b'"', b'\\', &self.s[self.i..])?;
            self.i += rel;
            if self.s[self.i] == b'\\' {
                escaped = true;
                self.i += 2;
                if self.i > self.s.len() {
                    return None;
                }
            } else {
                let end = self.i;
                self.i += 1;
                return Some((start, end, escaped));
            }
        }
    }

    /// A string value: borrowed, or decoded into `scratch`.
    fn string(&mut self, scratch: &mut Vec<u8>) -> Option<Src> {
        let (a, b, escaped) = self.raw_string()?;
        if !escaped {
            return Some(Src::Line(a, b));
        }
        let start = scratch.len();
        unescape(&self.s[a..b], scratch)?;
        Some(Src::Scratch(start, scratch.len()))
    }

    /// An array of byte values (`MESSAGE` with binary content) into `scratch`; other arrays
    /// (multi-valued fields) are skipped.
    fn array(&mut self, scratch: &mut Vec<u8>) -> Option<Option<Src>> {
        let start = scratch.len();
        let mut bytes = true;
        if self.eat(b']').is_some() {
            return Some(Some(Src::Scratch(start, start)));
        }
        loop {
            match self.peek()? {
                b'0'..=b'9' if bytes => {
                    let n = self.s[self.i..]
                        .iter()
                        .take_while(|b| b.is_ascii_digit())
                        .count();
                    let v = parse_u32(&self.s[self.i..self.i + n])?;
                    scratch.push(u8::try_from(v).ok()?);
                    self.i += n;
                }
                _ => {
                    bytes = false;
                    self.skip_value()?;
                }
            }
            if self.eat(b',').is_none() {
                self.eat(b']')?;
                break;
            }
        }
        Some(bytes.then_some(Src::Scratch(start, scratch.len())))
    }

    /// Skips any JSON value (bounded nesting).
    fn skip_value(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    self.raw_string()?;
                }
                b'{' | b'[' => {
                    depth += 1;
                    if depth > 64 {
                        return None;
                    }
                    self.i += 1;
                    continue;
                }
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    self.i += 1;
                }
                b',' | b':' if depth > 0 => {
                    self.i += 1;
                    continue;
                }
                _ => {
                    let n = self.s[self.i..]
                        .iter()
                        .take_while(|b| {
                            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')
                        })
                        .count();
                    if n == 0 {
                        return None;
                    }
                    self.i += n;
                }
            }
            if depth == 0 {
                return Some(());
            }
        }
    }
}

/// Reads the top-level object.
fn scan(line: &[u8], scratch: &mut Vec<u8>) -> Option<Fields> {
    let mut sc = Scanner { s: line, i: 0 };
    sc.eat(b'{')?;
    let mut f = Fields::default();
    if sc.eat(b'}').is_some() {
        return Some(f);
    }
    loop {
        sc.eat(b'"')?;
        let (a, b, _) = sc.raw_string()?;
        let key = &line[a..b];
        sc.eat(b':')?;
        let slot = match key {
            b"MESSAGE" => Some(&mut f.message),
            b"SYSLOG_IDENTIFIER" => Some(&mut f.ident),
            b"_HOSTNAME" => Some(&mut f.host),
            b"SYSLOG_PID" => Some(&mut f.syslog_pid),
            b"_PID" => Some(&mut f.pid),
            b"_SOURCE_REALTIME_TIMESTAMP" => Some(&mut f.source_time),
            b"__REALTIME_TIMESTAMP" => Some(&mut f.realtime),
            b"_COMM" => Some(&mut f.comm),
            b"_EXE" => Some(&mut f.exe),
            _ => None,
        };
        match (slot, sc.peek()?) {
            (Some(slot), b'"') => {
                sc.i += 1;
                *slot = Some(sc.string(scratch)?);
            }
            (Some(slot), b'[') => {
                sc.i += 1;
                *slot = sc.array(scratch)?;
            }
            _ => sc.skip_value()?,
        }
        if sc.eat(b',').is_none() {
            sc.eat(b'}')?;
            sc.ws();
            return (sc.i == line.len()).then_some(f);
        }
    }
}

/// Decodes JSON string escapes (`\uXXXX` with surrogate pairs; a lone surrogate becomes
/// U+FFFD).
fn unescape(s: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let mut i = 0;
    while i < s.len() {
        let Some(rel) = memchr::memchr(b'\\', &s[i..]) else {
            out.extend_from_slice(&s[i..]);
            break;
        };
        out.extend_from_slice(&s[i..i + rel]);
        i += rel + 1;
        let c = *s.get(i)?;
        i += 1;
        let simple = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hi = hex4(s.get(i..i + 4)?)?;
                i += 4;
                let cp = if (0xD800..0xDC00).contains(&hi)
                    && s.get(i..i + 2) == Some(b"\\u")
                    && let Some(lo) = s.get(i + 2..i + 6).and_then(hex4)
                    && (0xDC00..0xE000).contains(&lo)
                {
                    i += 6;
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    hi
                };
                let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            _ => return None,
        };
        out.push(simple);
    }
    Some(())
}

fn hex4(s: &[u8]) -> Option<u32> {
    s.iter().try_fold(0u32, |n, &b| {
        let d = (b as char).to_digit(16)?;
        Some(n * 16 + d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Program name, host, pid, message.
    type Parts = (Vec<u8>, Option<Vec<u8>>, Option<u32>, Vec<u8>);

    fn env(line: &str) -> Option<Parts> {
        let mut scratch = Vec::new();
        let e = parse(line.as_bytes(), &mut scratch)?;
        let tag = e.tag?;
        Some((
            tag.name.to_vec(),
            e.host.map(<[u8]>::to_vec),
            tag.pid,
            e.msg.to_vec(),
        ))
    }

    #[test]
    fn string_message() {
        let line = r#"{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1700000000123456","_HOSTNAME":"web-01","SYSLOG_IDENTIFIER":"sshd","_PID":"77","MESSAGE":"Invalid user \"x\\y\" from 192.0.2.1 port 22","_SOURCE_REALTIME_TIMESTAMP":"1700000000000001","X":[1,2],"Y":{"a":[{}]},"Z":null}"#;
        let (name, host, pid, msg) = env(line).expect("journald");
        assert_eq!(name, b"sshd");
        assert_eq!(host.as_deref(), Some(&b"web-01"[..]));
        assert_eq!(pid, Some(77));
        assert_eq!(msg, br#"Invalid user "x\y" from 192.0.2.1 port 22"#);
    }

    #[test]
    fn byte_array_message_and_unicode_escapes() {
        let line = r#"{"MESSAGE":[73,110,118,255],"SYSLOG_IDENTIFIER":"sshd","SYSLOG_PID":"5"}"#;
        let (_, _, pid, msg) = env(line).expect("journald");
        assert_eq!((pid, msg), (Some(5), b"Inv\xff".to_vec()));
        let line = r#"{"MESSAGE":"\u00e9\ud83d\ude00\u2028\ud800","SYSLOG_IDENTIFIER":"sshd"}"#;
        let (_, _, _, msg) = env(line).expect("journald");
        assert_eq!(msg, "é😀\u{2028}\u{FFFD}".as_bytes());
    }

    #[test]
    fn malformed() {
        for line in [
            "{",
            "{\"MESSAGE\":\"x\"",
            "{\"MESSAGE\":\"x\"} trailing",
            "{\"MESSAGE\":\"\\q\"}",
            "{\"MESSAGE\":[256]}",
            "{\"A\":[[[[",
            "{}",
        ] {
            assert!(env(line).is_none(), "{line}");
        }
    }

    /// Entries claiming sshd keep that name only when the process that wrote them is sshd's.
    #[test]
    fn the_writing_process_must_be_sshd_to_claim_sshd() {
        let msg = r#""MESSAGE":"Failed password for root from 192.0.2.66 port 22 ssh2""#;
        for (fields, expected) in [
            // Recorded exports without the trusted fields are read as they claim.
            (r#""SYSLOG_IDENTIFIER":"sshd""#, "sshd"),
            (
                r#""SYSLOG_IDENTIFIER":"sshd","_COMM":"sshd","_EXE":"/usr/sbin/sshd""#,
                "sshd",
            ),
            (
                r#""SYSLOG_IDENTIFIER":"sshd-session","_COMM":"sshd-session","_EXE":"/usr/lib/openssh/sshd-session""#,
                "sshd-session",
            ),
            (
                r#""SYSLOG_IDENTIFIER":"sshd-auth","_EXE":"/usr/libexec/openssh/sshd-auth""#,
                "sshd-auth",
            ),
            // pam_unix inside sshd logs under sshd's process.
            (r#""SYSLOG_IDENTIFIER":"sshd","_COMM":"sshd""#, "sshd"),
            // `logger -t sshd`: journald names the real writer.
            (
                r#""SYSLOG_IDENTIFIER":"sshd","_COMM":"logger","_EXE":"/usr/bin/logger""#,
                "logger",
            ),
            (
                r#""SYSLOG_IDENTIFIER":"sshd-session","_COMM":"python3""#,
                "python3",
            ),
            (
                r#""SYSLOG_IDENTIFIER":"sshd(pam_unix)","_COMM":"bash""#,
                "bash",
            ),
            // A process renamed to look like sshd is still caught by its executable.
            (
                r#""SYSLOG_IDENTIFIER":"sshd","_COMM":"sshd","_EXE":"/tmp/sshd-x""#,
                "sshd-x",
            ),
            (
                r#""SYSLOG_IDENTIFIER":"sshd","_EXE":"/usr/bin/logger""#,
                "logger",
            ),
            // Other programs are not touched.
            (r#""SYSLOG_IDENTIFIER":"CRON","_COMM":"cron""#, "CRON"),
        ] {
            let line = format!("{{{fields},{msg}}}");
            let (name, ..) = env(&line).expect("journald");
            assert_eq!(String::from_utf8_lossy(&name), expected, "{line}");
        }
    }
}
