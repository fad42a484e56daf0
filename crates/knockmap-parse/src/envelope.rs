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

use crate::civil::{Fast, fast_rfc3339};
use crate::text::{digits_len, find_byte, leading_number, parse_u32};
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
            RawTime::Iso(s) => match clock.iso_cached(s) {
                Some(ts) => Some(ts),
                None => iso(clock, s),
            },
        }
    }
}

/// An RFC 3339 text the clock's cache did not answer.
#[cold]
fn iso(clock: &mut Clock, s: &[u8]) -> Option<Timestamp> {
    match fast_rfc3339(s) {
        Some(Fast::Instant(ts)) => {
            clock.iso_remember(s, ts);
            Some(ts)
        }
        Some(Fast::Local(c)) => clock.local(c),
        None => slow_iso(clock, s),
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
    #[inline(always)]
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

impl Envelope<'_> {
    /// An empty envelope, for [`split_into`] to fill.
    pub const BLANK: Envelope<'static> = Envelope {
        time: RawTime::Anchor,
        host: None,
        tag: None,
        msg: &[],
    };
}

/// Splits a line into its envelope parts; `None` when it has no recognisable envelope.
pub fn split(line: &[u8]) -> Option<Envelope<'_>> {
    let mut env = Envelope::BLANK;
    split_into(line, &mut env).then_some(env)
}

/// [`split`] into `env`, in place; `false` (and `env` unspecified) when the line has no
/// recognisable envelope.
#[inline]
pub fn split_into<'a>(line: &'a [u8], env: &mut Envelope<'a>) -> bool {
    if let Some((time, rest)) = bsd_time_fast(line).or_else(|| rfc3339_fast(line)) {
        env.time = time;
        host_tag_msg_into(rest, env);
        return true;
    }
    match split_slow(line) {
        Some(e) => {
            *env = e;
            true
        }
        None => false,
    }
}

/// The common RFC 3339 header, `YYYY-MM-DDThh:mm:ss[…] `: the timestamp word and the rest
/// after its space, as [`split_slow`] finds them for such a line.
#[inline]
fn rfc3339_fast(s: &[u8]) -> Option<(RawTime<'_>, &[u8])> {
    let h: &[u8; 11] = s.get(..11)?.try_into().ok()?;
    if h[4] != b'-' || h[10] != b'T' || !h[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    // A space before the `T` is the date-apart form, for `split_slow`.
    let end = find_byte(s, b' ')?;
    if end < 11 {
        return None;
    }
    Some((RawTime::Iso(&s[..end]), &s[end + 1..]))
}

fn split_slow(line: &[u8]) -> Option<Envelope<'_>> {
    let mut s = line;
    if let Some(rest) = strip_pri(s) {
        if let Some(body) = rest.strip_prefix(b"1 ") {
            return rfc5424(body);
        }
        s = rest;
    }
    let (time, rest) = if s.len() >= 5 && s[..4].iter().all(u8::is_ascii_digit) && s[4] == b'-' {
        let mut end = find_byte(s, b' ')?;
        // `2018-06-26 13:22:02.108781500[+0000]`: date and time apart.
        if end == 10 && s.get(13) == Some(&b':') && s[11..13].iter().all(u8::is_ascii_digit) {
            end = find_byte(&s[11..], b' ').map_or(s.len(), |i| 11 + i);
        }
        (
            RawTime::Iso(&s[..end]),
            s.get(end + 1..).unwrap_or_default(),
        )
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

/// The common BSD header at fixed positions, `Mmm dd hh:mm:ss ` or `Mmm  d hh:mm:ss `, read
/// without branching per byte; anything else (fractions, a single space before a one-digit
/// day, `<PRI>`, bad numbers) is left to [`bsd_time`], which gives the same result for these.
#[inline]
fn bsd_time_fast(s: &[u8]) -> Option<(RawTime<'_>, &[u8])> {
    let h: &[u8; 16] = s.get(..16)?.try_into().ok()?;
    if h[3] != b' ' || h[6] != b' ' || h[9] != b':' || h[12] != b':' || h[15] != b' ' {
        return None;
    }
    let d = |b: u8| b.wrapping_sub(b'0');
    let day_tens = if h[4] == b' ' { 0 } else { d(h[4]) };
    let digits = [
        day_tens,
        d(h[5]),
        d(h[7]),
        d(h[8]),
        d(h[10]),
        d(h[11]),
        d(h[13]),
        d(h[14]),
    ];
    if digits.iter().any(|&x| x > 9) {
        return None;
    }
    let day = digits[0] * 10 + digits[1];
    let hour = digits[2] * 10 + digits[3];
    let minute = digits[4] * 10 + digits[5];
    let second = digits[6] * 10 + digits[7];
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let month = match [h[0], h[1], h[2]] {
        [b'J', b'a', b'n'] => 1,
        [b'F', b'e', b'b'] => 2,
        [b'M', b'a', b'r'] => 3,
        [b'A', b'p', b'r'] => 4,
        [b'M', b'a', b'y'] => 5,
        [b'J', b'u', b'n'] => 6,
        [b'J', b'u', b'l'] => 7,
        [b'A', b'u', b'g'] => 8,
        [b'S', b'e', b'p'] => 9,
        [b'O', b'c', b't'] => 10,
        [b'N', b'o', b'v'] => 11,
        [b'D', b'e', b'c'] => 12,
        _ => return None,
    };
    // All below 100 by the checks above.
    Some((
        RawTime::Bsd(Yearless {
            month,
            day: day as i8,
            hour: hour as i8,
            minute: minute as i8,
            second: second as i8,
            nanos: 0,
        }),
        &s[16..],
    ))
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
    let mut env = Envelope::BLANK;
    host_tag_msg_into(rest, &mut env);
    (env.host, env.tag, env.msg)
}

/// [`host_tag_msg`] into `env`'s host, tag and message. Written in place: moving the parts
/// out through a return value costs more than finding them.
#[inline]
fn host_tag_msg_into<'a>(rest: &'a [u8], env: &mut Envelope<'a>) {
    let (mut first, mut after_first) = word(rest);
    // FreeBSD `syslogd -v` (`<4.6>`) and `-vv` (`<auth.info>`).
    if first.len() > 2 && first[0] == b'<' && first[first.len() - 1] == b'>' {
        (first, after_first) = word(after_first);
    }
    // A tag ends with `:` (`sshd[1]:`), is bracketed (`[sshd]`) or ends with `]` (`sshd[1]`,
    // colon dropped); a host name is none of these.
    if (first.last() == Some(&b':') || first.first() == Some(&b'[') || first.last() == Some(&b']'))
        && let Some(tag) = parse_tag(first).or_else(|| bracket_tag(first))
    {
        env.host = None;
        env.tag = Some(tag);
        env.msg = after_first;
        return;
    }
    env.host = non_nil(first);
    if sshd_tag(after_first, env) {
        return;
    }
    let (second, after_second) = word(after_first);
    if let Some(tag) = parse_tag(second) {
        env.tag = Some(tag);
        env.msg = after_second;
        return;
    }
    // BusyBox: `host auth.info sshd[1]: msg`.
    if is_facility_level(second) {
        let (third, after_third) = word(after_second);
        if let Some(tag) = parse_tag(third) {
            env.tag = Some(tag);
            env.msg = after_third;
            return;
        }
    }
    env.tag = None;
    env.msg = after_first;
}

/// The usual `sshd[pid]: ` at the start of `s`: the tag and the message after it into `env`,
/// as [`word`] and [`parse_tag`] would find them, in one pass.
#[inline]
fn sshd_tag<'a>(s: &'a [u8], env: &mut Envelope<'a>) -> bool {
    let Some(rest) = s.strip_prefix(b"sshd[") else {
        return false;
    };
    let Some((n, pid)) = leading_number(rest) else {
        return false;
    };
    if rest.get(n..n + 3) != Some(b"]: ") {
        return false;
    }
    env.tag = Some(Tag {
        name: &s[..4],
        pid: Some(pid),
    });
    env.msg = &rest[n + 3..];
    true
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
#[inline(always)]
fn word(s: &[u8]) -> (&[u8], &[u8]) {
    match find_byte(s, b' ') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[]),
    }
}

fn non_nil(s: &[u8]) -> Option<&[u8]> {
    (!s.is_empty() && s != b"-").then_some(s)
}

/// `name[pid]:`, `name:`, or `name[pid]` (some relays drop the colon).
fn parse_tag(w: &[u8]) -> Option<Tag<'_>> {
    let w = match w.strip_suffix(b":") {
        Some(w) => w,
        None if w.ends_with(b"]") && !w.starts_with(b"[") => w,
        None => return None,
    };
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
    fn cached_rfc3339_minutes_agree_with_jiff() {
        let mut clock = Clock::new(
            jiff::tz::TimeZone::UTC,
            None,
            "2026-12-31T00:00:00Z".parse().expect("anchor"),
        );
        for text in [
            "2026-11-21T19:16:01.123456+01:00",
            "2026-11-21T19:16:02.5+01:00",
            "2026-11-21T19:16:59+01:00",
            "2026-11-21T19:16:03.123456789+01:00",
            "2026-11-21T19:16:04.123456+0100",
            "2026-11-21T19:16:05.123456Z",
            "2026-11-21T19:16:06.123456+01:00",
            "2026-11-21T19:16:07.123456-01:00",
            "2026-11-21T19:16:08.1234567890+01:00",
            "2026-11-21T19:16:60+01:00",
            "2026-11-21T19:16:09.+01:00",
            "2026-11-21T19:17:00+01:00",
            "1969-12-31T23:59:58.5Z",
            "1969-12-31T23:59:59.5Z",
        ] {
            let want = text.parse::<Timestamp>().ok();
            assert_eq!(
                RawTime::Iso(text.as_bytes()).resolve(&mut clock),
                want,
                "{text}"
            );
        }
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
