//! Log envelopes: the syslog header in front of the sshd message.
//!
//! Recognised forms:
//! - BSD syslog (RFC 3164): `Nov  1 12:34:56 host sshd[123]: msg`, single- or zero-padded day,
//!   optional fractional seconds, optional `<PRI>` prefix, host optional.
//! - RFC 3339 timestamps (rsyslog high precision, Debian 12):
//!   `2026-11-21T19:16:01.123456+01:00 host sshd[123]: msg`.
//! - RFC 5424: `<38>1 2026-11-21T18:16:01Z host sshd 123 - - msg` (structured data skipped).
//! - FreeBSD `syslogd -v` / `-vv`: a `<4.6>` or `<auth.info>` word after the timestamp.
//! - BusyBox `syslogd`: a `auth.info` word between host and tag.
//! - metalog: `Nov  1 12:34:56 [sshd] msg` (program in brackets, no host).
//! - No timestamp at all (`journalctl -o short` cut, `sshd -e`): see [`split_timeless`].

use jiff::Timestamp;
use jiff::fmt::temporal::DateTimeParser;
use memchr::memchr;

use crate::civil::{Fast, fast_rfc3339};
use crate::text::{digits_len, parse_u32};
use crate::time::{Clock, Yearless};

static TEMPORAL: DateTimeParser = DateTimeParser::new();

/// A timestamp as written in the envelope, not yet resolved to an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawTime<'a> {
    /// BSD syslog: no year, no zone.
    Bsd(Yearless),
    /// An RFC 3339 / ISO 8601 timestamp, with or without an offset.
    Iso(&'a [u8]),
    /// An instant known exactly (journald's microseconds).
    Exact(Timestamp),
    /// No time on the line: the clock's anchor (now, for live lines).
    Anchor,
}

impl RawTime<'_> {
    /// The UTC instant, reading zone-less times in the clock's zone.
    pub fn resolve(&self, clock: &mut Clock) -> Option<Timestamp> {
        match *self {
            RawTime::Bsd(t) => clock.resolve(t),
            RawTime::Exact(ts) => Some(ts),
            RawTime::Anchor => Some(clock.anchor()),
            RawTime::Iso(s) => match fast_rfc3339(s) {
                Some(Fast::Instant(ts)) => Some(ts),
                Some(Fast::Local(c)) => clock.local(c),
                None => slow_iso(clock, s),
            },
        }
    }
}

/// Any spelling jiff's RFC 3339 / ISO 8601 parser knows.
fn slow_iso(clock: &Clock, s: &[u8]) -> Option<Timestamp> {
    match TEMPORAL.parse_timestamp(s) {
        Ok(ts) => Some(ts),
        Err(_) => {
            let dt = TEMPORAL.parse_datetime(s).ok()?;
            clock.tz().to_timestamp(dt).ok()
        }
    }
}

/// The program tag: `sshd[123]:` → name `sshd`, pid 123.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<'a> {
    /// The program name, without any directory (`/usr/sbin/sshd` → `sshd`).
    pub name: &'a [u8],
    /// The process id, when the tag carried one.
    pub pid: Option<u32>,
}

impl Tag<'_> {
    /// Whether this tag belongs to sshd: `sshd`, `sshd-session`, `sshd-auth`, `sshd(pam_unix)`.
    pub fn is_sshd(&self) -> bool {
        matches!(
            self.name,
            b"sshd" | b"sshd-session" | b"sshd-auth" | b"sshd(pam_unix)"
        )
    }
}

/// One line split into envelope parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The timestamp as written.
    pub time: RawTime<'a>,
    /// The host name, when the envelope has one (`-` counts as none).
    pub host: Option<&'a [u8]>,
    /// The program tag, when the line has one (`last message repeated` lines have none).
    pub tag: Option<Tag<'a>>,
    /// The message after the tag.
    pub msg: &'a [u8],
}

/// Splits a line into its envelope parts; `None` when it has no recognisable envelope.
pub fn split(line: &[u8]) -> Option<Envelope<'_>> {
    let mut s = line;
    if let Some(rest) = strip_pri(s) {
        if let Some(body) = rest.strip_prefix(b"1 ") {
            return rfc5424(body);
        }
        s = rest;
    }
    let (time, rest) = if s.len() >= 5 && s[..4].iter().all(u8::is_ascii_digit) && s[4] == b'-' {
        let end = memchr(b' ', s)?;
        (RawTime::Iso(&s[..end]), &s[end + 1..])
    } else {
        bsd_time(s)?
    };
    let (host, tag, msg) = host_tag_msg(rest);
    Some(Envelope {
        time,
        host,
        tag,
        msg,
    })
}

/// Strips a leading `<PRI>`.
#[inline]
fn strip_pri(s: &[u8]) -> Option<&[u8]> {
    let rest = s.strip_prefix(b"<")?;
    let n = digits_len(rest);
    if n == 0 || n > 3 {
        return None;
    }
    rest[n..].strip_prefix(b">")
}

/// `Jan` → 0 … `Dec` → 11.
fn month_index(mon: &[u8]) -> Option<usize> {
    Some(match mon {
        b"Jan" => 0,
        b"Feb" => 1,
        b"Mar" => 2,
        b"Apr" => 3,
        b"May" => 4,
        b"Jun" => 5,
        b"Jul" => 6,
        b"Aug" => 7,
        b"Sep" => 8,
        b"Oct" => 9,
        b"Nov" => 10,
        b"Dec" => 11,
        _ => return None,
    })
}

/// `Mmm dd hh:mm:ss[.frac] ` → the time and the rest after the separating space.
fn bsd_time(s: &[u8]) -> Option<(RawTime<'_>, &[u8])> {
    let mon = s.get(..3)?;
    let month = month_index(mon)?;
    let mut rest = s[3..].strip_prefix(b" ")?;
    if let Some(r) = rest.strip_prefix(b" ") {
        rest = r;
    }
    let n = digits_len(rest);
    if n == 0 || n > 2 {
        return None;
    }
    let day = two(&rest[..n])?;
    let rest = rest[n..].strip_prefix(b" ")?;
    let clock = rest.get(..8)?;
    if clock[2] != b':' || clock[5] != b':' {
        return None;
    }
    let (hour, minute, second) = (two(&clock[..2])?, two(&clock[3..5])?, two(&clock[6..8])?);
    let mut rest = &rest[8..];
    let mut nanos = 0;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = digits_len(frac);
        nanos = fraction_nanos(&frac[..n]);
        rest = &frac[n..];
    }
    let rest = rest.strip_prefix(b" ")?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let month = i8::try_from(month + 1).ok()?;
    Some((
        RawTime::Bsd(Yearless {
            month,
            day,
            hour,
            minute,
            second,
            nanos,
        }),
        rest,
    ))
}

fn two(s: &[u8]) -> Option<i8> {
    parse_u32(s).and_then(|n| i8::try_from(n).ok())
}

/// `.123` style fraction digits → nanoseconds (extra digits beyond nine are ignored).
fn fraction_nanos(digits: &[u8]) -> i32 {
    let mut nanos: i32 = 0;
    for i in 0..9 {
        let d = digits.get(i).map_or(0, |b| i32::from(b - b'0'));
        nanos = nanos * 10 + d;
    }
    nanos
}

/// After the timestamp: `[<pri>] [host ][facility.level ]tag: msg`. The host is absent when
/// the first word is already a tag (FreeBSD/BusyBox local logs, metalog's `[sshd]`).
pub fn host_tag_msg(rest: &[u8]) -> (Option<&[u8]>, Option<Tag<'_>>, &[u8]) {
    let (mut first, mut after_first) = word(rest);
    // FreeBSD `syslogd -v` (`<4.6>`) and `-vv` (`<auth.info>`).
    if first.len() > 2 && first[0] == b'<' && first[first.len() - 1] == b'>' {
        (first, after_first) = word(after_first);
    }
    if let Some(tag) = parse_tag(first).or_else(|| bracket_tag(first)) {
        return (None, Some(tag), after_first);
    }
    let host = non_nil(first);
    let (second, after_second) = word(after_first);
    if let Some(tag) = parse_tag(second) {
        return (host, Some(tag), after_second);
    }
    // BusyBox: `host auth.info sshd[1]: msg`.
    if is_facility_level(second) {
        let (third, after_third) = word(after_second);
        if let Some(tag) = parse_tag(third) {
            return (host, Some(tag), after_third);
        }
    }
    (host, None, after_first)
}

/// metalog's `[sshd]`: a program name in brackets, no pid.
fn bracket_tag(w: &[u8]) -> Option<Tag<'_>> {
    let w = w.strip_suffix(b":").unwrap_or(w);
    match w {
        [b'[', name @ .., b']'] if !name.is_empty() && !name.contains(&b' ') => {
            Some(Tag { name, pid: None })
        }
        _ => None,
    }
}

/// `auth.info`, `authpriv.notice`, … as BusyBox syslogd writes them before the tag (and
/// socklog in place of one).
pub fn is_facility_level(w: &[u8]) -> bool {
    let Some(dot) = w.iter().position(|&b| b == b'.') else {
        return false;
    };
    matches!(
        &w[..dot],
        b"auth"
            | b"authpriv"
            | b"daemon"
            | b"user"
            | b"security"
            | b"local0"
            | b"local1"
            | b"local2"
            | b"local3"
            | b"local4"
            | b"local5"
            | b"local6"
            | b"local7"
    ) && matches!(
        &w[dot + 1..],
        b"emerg"
            | b"alert"
            | b"crit"
            | b"err"
            | b"warn"
            | b"warning"
            | b"notice"
            | b"info"
            | b"debug"
    )
}

/// A line without a timestamp: `host sshd[1]: msg` (journalctl output cut after the time,
/// fail2ban's journal fixtures), `sshd[1]: msg`, or the bare message `sshd -e` writes to
/// stderr. The time is the clock's anchor. `None` when the line is only text: the caller then
/// decides whether the text is an sshd message.
pub fn split_timeless(line: &[u8]) -> Option<Envelope<'_>> {
    let (host, tag, msg) = host_tag_msg(line);
    let tag = tag?;
    Some(Envelope {
        time: RawTime::Anchor,
        host,
        tag: Some(tag),
        msg,
    })
}

/// The first space-delimited word and what follows its space.
fn word(s: &[u8]) -> (&[u8], &[u8]) {
    // Words here are short: a plain loop beats a vectorised search's set-up.
    match s.iter().position(|&b| b == b' ') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[]),
    }
}

fn non_nil(s: &[u8]) -> Option<&[u8]> {
    (!s.is_empty() && s != b"-").then_some(s)
}

/// `name[pid]:` or `name:`.
fn parse_tag(w: &[u8]) -> Option<Tag<'_>> {
    let w = w.strip_suffix(b":")?;
    if w.is_empty() {
        return None;
    }
    let (name, pid) = match w.strip_suffix(b"]") {
        Some(inner) => {
            let open = inner.iter().rposition(|&b| b == b'[')?;
            (&inner[..open], Some(parse_u32(&inner[open + 1..])?))
        }
        None => (w, None),
    };
    let name = match name.iter().rposition(|&b| b == b'/') {
        Some(i) => &name[i + 1..],
        None => name,
    };
    (!name.is_empty()).then_some(Tag { name, pid })
}

/// RFC 5424 after `<PRI>1 `: `TIMESTAMP HOST APP PROCID MSGID SD [MSG]`.
fn rfc5424(s: &[u8]) -> Option<Envelope<'_>> {
    let (ts, s) = word(s);
    if ts == b"-" {
        return None;
    }
    let (host, s) = word(s);
    let (app, s) = word(s);
    let (procid, s) = word(s);
    let (_msgid, s) = word(s);
    let msg = skip_structured_data(s)?;
    let msg = msg.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(msg);
    let tag = non_nil(app).map(|name| Tag {
        name,
        pid: parse_u32(procid),
    });
    Some(Envelope {
        time: RawTime::Iso(ts),
        host: non_nil(host),
        tag,
        msg,
    })
}

/// Skips `-` or one or more `[id k="v" …]` elements (with `\]` escapes) and the space after.
fn skip_structured_data(s: &[u8]) -> Option<&[u8]> {
    if let Some(rest) = s.strip_prefix(b"-") {
        return Some(rest.strip_prefix(b" ").unwrap_or(rest));
    }
    let mut i = 0;
    while s.get(i) == Some(&b'[') {
        i += 1;
        // A `]` inside a quoted value ends nothing, escaped or not (some senders forget).
        let mut quoted = false;
        loop {
            match s.get(i)? {
                b'\\' => i += 2,
                b'"' => {
                    quoted = !quoted;
                    i += 1;
                }
                b']' if !quoted => {
                    i += 1;
                    break;
                }
                _ => i += 1,
            }
        }
    }
    if i == 0 {
        return None;
    }
    let rest = s.get(i..)?;
    Some(rest.strip_prefix(b" ").unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yl(month: i8, day: i8, hour: i8, minute: i8, second: i8) -> RawTime<'static> {
        RawTime::Bsd(Yearless {
            month,
            day,
            hour,
            minute,
            second,
            nanos: 0,
        })
    }

    #[test]
    fn bsd_single_digit_day_padded() {
        let e = split(b"Nov  1 12:34:56 host sshd[123]: hello world").expect("envelope");
        assert_eq!(e.time, yl(11, 1, 12, 34, 56));
        assert_eq!(e.host, Some(&b"host"[..]));
        assert_eq!(
            e.tag,
            Some(Tag {
                name: b"sshd",
                pid: Some(123)
            })
        );
        assert_eq!(e.msg, b"hello world");
    }

    #[test]
    fn bsd_single_space_and_zero_padded_days() {
        let e = split(b"Nov 2 15:40:14 workshop sshd[28179]: x").expect("envelope");
        assert_eq!(e.time, yl(11, 2, 15, 40, 14));
        let e = split(b"Aug 03 21:39:20 hostname sshd[69420]: x").expect("envelope");
        assert_eq!(e.time, yl(8, 3, 21, 39, 20));
    }

    #[test]
    fn program_names() {
        for (line, name, pid) in [
            (
                &b"Jun 12 16:20:12 leto sshd-session[406147]: m"[..],
                &b"sshd-session"[..],
                Some(406147),
            ),
            (
                b"Jun 12 16:20:12 leto sshd-auth[7]: m",
                b"sshd-auth",
                Some(7),
            ),
            (
                b"Jun 12 16:20:12 leto sshd(pam_unix)[7]: m",
                b"sshd(pam_unix)",
                Some(7),
            ),
            (b"Jun 12 16:20:12 leto sshd: m", b"sshd", None),
            (
                b"Jun 12 16:20:12 leto /usr/sbin/sshd[9]: m",
                b"sshd",
                Some(9),
            ),
        ] {
            let e = split(line).expect("envelope");
            let tag = e.tag.expect("tag");
            assert_eq!((tag.name, tag.pid), (name, pid));
            assert!(tag.is_sshd());
            assert_eq!(e.msg, b"m");
        }
    }

    #[test]
    fn no_host() {
        let e = split(b"Jun 12 16:20:12 sshd[1]: m").expect("envelope");
        assert_eq!(e.host, None);
        assert_eq!(e.tag.map(|t| t.name), Some(&b"sshd"[..]));
    }

    #[test]
    fn last_message_repeated_has_no_tag() {
        let e = split(b"Jun 12 16:20:12 leto last message repeated 3 times").expect("envelope");
        assert_eq!(e.host, Some(&b"leto"[..]));
        assert_eq!(e.tag, None);
        assert_eq!(e.msg, b"last message repeated 3 times");
    }

    #[test]
    fn rfc3339() {
        let e = split(b"2026-11-21T19:16:01.123456+01:00 web-01 sshd[1234]: m").expect("envelope");
        assert_eq!(e.time, RawTime::Iso(b"2026-11-21T19:16:01.123456+01:00"));
        assert_eq!(e.host, Some(&b"web-01"[..]));
        assert_eq!(e.msg, b"m");
    }

    #[test]
    fn rfc5424_with_structured_data() {
        let line = b"<38>1 2022-01-19T14:23:55+00:00 OPNsense.localdomain sshd 44255 - [meta sequenceId=\"1\"] Invalid user tutu";
        let e = split(line).expect("envelope");
        assert_eq!(e.host, Some(&b"OPNsense.localdomain"[..]));
        assert_eq!(
            e.tag,
            Some(Tag {
                name: b"sshd",
                pid: Some(44255)
            })
        );
        assert_eq!(e.msg, b"Invalid user tutu");
        let e = split(b"<38>1 2026-01-01T00:00:00Z h sshd - - - m").expect("envelope");
        assert_eq!(
            e.tag,
            Some(Tag {
                name: b"sshd",
                pid: None
            })
        );
        assert_eq!(e.msg, b"m");
        let e = split(b"<38>1 2026-01-01T00:00:00Z h sshd 1 - [a x=\"\\]\"][b] m").expect("env");
        assert_eq!(e.msg, b"m");
    }

    #[test]
    fn pri_before_bsd() {
        let e = split(b"<38>Nov  1 12:34:56 host sshd[1]: m").expect("envelope");
        assert_eq!(e.time, yl(11, 1, 12, 34, 56));
    }

    #[test]
    fn garbage() {
        assert_eq!(split(b""), None);
        assert_eq!(split(b"hello"), None);
        assert_eq!(split(b"Nov 123 12:00:00 h sshd: m"), None);
        assert_eq!(split(b"Nov  1 1:00:00 h sshd: m"), None);
        assert_eq!(split(b"<38>1 - h sshd 1 - - m"), None);
        assert_eq!(
            split(b"<38>1 2026-01-01T00:00:00Z h sshd 1 - [unterminated"),
            None
        );
    }
}
