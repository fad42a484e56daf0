//! Turns sshd authentication log lines into typed [`Event`]s. Pure: no I/O.
//!
//! The work is split by concern:
//! - `envelope`: the syslog header (BSD, RFC 3339, RFC 5424), host, program, pid;
//! - `time`: year inference and zones for timestamps that lack them;
//! - `message`: the sshd message forms and the event kind each one maps to;
//! - `addr`: addresses, ports and the trustworthy ` from <IP> port <N>`;
//! - `text`: lossless bytes → `String` for attacker-controlled fields;
//! - `journald`: `journalctl -o json` lines;
//! - `event_ref` / `json`: the borrowed event and its JSON line, written without allocating;
//! - `civil`: calendar arithmetic for the fast timestamp paths.
//!
//! [`Parser::parse_ref`] is the allocation-free entry point (borrowed [`EventRef`], written out
//! with [`EventRef::write_json`]); [`Parser::parse`] wraps it and returns an owned [`Event`].
//!
//! ```
//! use knockmap_parse::{Kind, ParseOptions, Parsed, Parser};
//!
//! let mut parser = Parser::new(ParseOptions {
//!     tz: jiff::tz::TimeZone::UTC,
//!     year: Some(2026),
//!     ..ParseOptions::default()
//! });
//! let line = b"Nov  1 12:34:56 web-01 sshd[123]: Failed password for root from 203.0.113.7 port 51122 ssh2";
//! let Parsed::Event(ev) = parser.parse(line) else { panic!("not an event") };
//! assert_eq!(ev.kind, Kind::Failed);
//! assert_eq!(ev.ip, Some("203.0.113.7".parse().unwrap()));
//! assert_eq!(ev.user.as_deref(), Some("root"));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod addr;
mod civil;
mod envelope;
mod event;
mod event_ref;
#[cfg(feature = "gen")]
pub mod generate;
mod journald;
mod json;
mod message;
mod text;
mod time;

pub use event::{Event, Kind, Outcome};
pub use event_ref::{Class, EventRef, ParsedRef};
pub use text::lossless;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::addr::Host;
use crate::envelope::{Envelope, Tag};
use crate::message::Match;
use crate::text::{digits_len, parse_u32, trim_end};
use crate::time::Clock;

/// Lines longer than this are never parsed (sshd itself truncates messages to 500 bytes).
pub const MAX_LINE: usize = 64 * 1024;

/// How to read timestamps that lack a year or a zone.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Zone for timestamps written without one (BSD syslog). Default: the machine's.
    pub tz: TimeZone,
    /// Force this year for timestamps without one, instead of inferring it.
    pub year: Option<i16>,
    /// The moment the lines are known to be no later than (file mtime, or now for live lines);
    /// the year of a yearless timestamp is the one that puts it at or before `anchor` + 1 day.
    pub anchor: Timestamp,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            tz: TimeZone::system(),
            year: None,
            anchor: Timestamp::now(),
        }
    }
}

/// What one line turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// An sshd line about a remote address.
    Event(Event),
    /// An sshd line that is not about a remote address (session opened, listening, …).
    Ignored,
    /// An sshd line that matched no known form (also: lines over [`MAX_LINE`] bytes, and sshd
    /// lines whose timestamp cannot be read).
    Unmatched,
    /// Not an sshd line at all.
    NotSshd,
}

/// A line parser. Keeps the little state that syslog needs (the previous event line, for BSD
/// syslogd's `last message repeated N times`) and reusable buffers, so steady-state parsing
/// does not allocate.
#[derive(Debug)]
pub struct Parser {
    clock: Clock,
    /// The previous line when it produced an event; empty otherwise.
    prev: Vec<u8>,
    /// Decoded journald fields, for JSON lines whose strings carry escapes.
    scratch: Vec<u8>,
}

impl Parser {
    /// A parser with the given options.
    pub fn new(opts: ParseOptions) -> Parser {
        Parser {
            clock: Clock::new(opts.tz, opts.year, opts.anchor),
            prev: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Moves the year-inference anchor (for live lines: now), keeping the parser's state.
    /// Lines without any timestamp (bare `sshd -e` output) get this time.
    pub fn set_anchor(&mut self, anchor: Timestamp) {
        self.clock.set_anchor(anchor);
    }

    /// Parses one line (a trailing `\n` or `\r\n` is tolerated).
    ///
    /// Never panics, whatever the bytes. `offset` in the returned event is `None`; the caller
    /// knows where the line was. Allocates the event's strings; [`Parser::parse_ref`] does not.
    pub fn parse(&mut self, line: &[u8]) -> Parsed {
        self.parse_ref(line).to_parsed()
    }

    /// Only the class of one line (event kind, ignored, unmatched, not sshd), for counting.
    pub fn classify(&mut self, line: &[u8]) -> Class {
        self.parse_ref(line).class()
    }

    /// Parses one line without allocating: the event's text fields borrow from `line` (or, for
    /// `last message repeated` and escaped journald fields, from the parser).
    ///
    /// Never panics, whatever the bytes.
    pub fn parse_ref<'a>(&'a mut self, line: &'a [u8]) -> ParsedRef<'a> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Parser {
            clock,
            prev,
            scratch,
        } = self;
        if line.len() > MAX_LINE {
            prev.clear();
            return ParsedRef::Unmatched;
        }
        let parsed = match envelope::split(line) {
            Some(env) => {
                if env.tag.is_none()
                    && let Some(count) = repeat_count(env.msg)
                {
                    // Keeps `prev`: syslogd may report the same message repeated again.
                    return repeat(clock, prev, Some(&env), count);
                }
                from_envelope(clock, &env)
            }
            None if line.first() == Some(&b'{') => {
                prev.clear();
                return match journald::parse(line, scratch) {
                    Some(env) => from_envelope(clock, &env),
                    None => ParsedRef::NotSshd,
                };
            }
            None => {
                if let Some(count) = metalog_repeat(line) {
                    return repeat(clock, prev, None, count);
                }
                timeless(clock, line)
            }
        };
        prev.clear();
        if matches!(parsed, ParsedRef::Event(_)) {
            prev.extend_from_slice(line);
        }
        parsed
    }
}

/// The previous event line again, `count` times: BSD syslogd's `<ts> <host> last message
/// repeated N times` (at this line's time, same host only) or metalog's `- Last output
/// repeated N times -` (no time of its own: the previous line's). Nothing when the previous
/// line gave no event.
fn repeat<'a>(
    clock: &mut Clock,
    prev: &'a [u8],
    env: Option<&Envelope<'_>>,
    count: u32,
) -> ParsedRef<'a> {
    let prev_env = match split(prev) {
        Some(e) => e,
        None => match envelope::split_timeless(prev) {
            Some(e) => e,
            None => return ParsedRef::NotSshd,
        },
    };
    let ParsedRef::Event(mut ev) = from_envelope(clock, &prev_env) else {
        return ParsedRef::NotSshd;
    };
    if let Some(env) = env {
        if prev_env.host != env.host {
            return ParsedRef::NotSshd;
        }
        let Some(ts) = env.time.resolve(clock) else {
            return ParsedRef::Unmatched;
        };
        ev.ts = ts;
    }
    ev.count = ev.count.saturating_mul(count.max(1));
    ParsedRef::Event(ev)
}

/// Splits the envelope off a line that is not too long to parse.
fn split(line: &[u8]) -> Option<Envelope<'_>> {
    if line.len() > MAX_LINE {
        return None;
    }
    envelope::split(line)
}

/// A line with no timestamp: `[host ]sshd[pid]: msg`, or a bare sshd message (`sshd -e`), at
/// the anchor's time. A bare text counts only when it is an sshd form about an address.
fn timeless<'a>(clock: &mut Clock, line: &'a [u8]) -> ParsedRef<'a> {
    if let Some(env) = envelope::split_timeless(line)
        && env.tag.is_some_and(|t| t.is_sshd())
    {
        return from_envelope(clock, &env);
    }
    if foreign_pam(line) {
        return ParsedRef::NotSshd;
    }
    let env = Envelope {
        time: envelope::RawTime::Anchor,
        host: None,
        tag: Some(Tag {
            name: b"sshd",
            pid: None,
        }),
        msg: line,
    };
    match from_envelope(clock, &env) {
        event @ ParsedRef::Event(_) => event,
        _ => ParsedRef::NotSshd,
    }
}

/// A PAM module line of another service (`pam_unix(dovecot:auth): …`): with no program tag
/// to go by, only the `sshd` PAM service is taken.
fn foreign_pam(msg: &[u8]) -> bool {
    msg.starts_with(b"pam_") && !msg.windows(6).any(|w| w == b"(sshd:")
}

/// `last message repeated N times` → N.
fn repeat_count(msg: &[u8]) -> Option<u32> {
    let rest = msg.strip_prefix(b"last message repeated ")?;
    let n = digits_len(rest);
    let count = parse_u32(&rest[..n])?;
    matches!(trim_end(&rest[n..]), b" times" | b" time").then_some(count)
}

/// metalog: `- Last output repeated twice -` / `- Last output repeated N times -` (indented).
fn metalog_repeat(line: &[u8]) -> Option<u32> {
    let start = line.iter().position(|&b| b != b' ' && b != b'\t')?;
    let rest = line[start..].strip_prefix(b"- Last output repeated ")?;
    let rest = trim_end(rest).strip_suffix(b" -")?;
    match rest {
        b"twice" => Some(2),
        _ => parse_u32(rest.strip_suffix(b" times")?),
    }
}

/// Turns a split line into the parse result.
fn from_envelope<'a>(clock: &mut Clock, env: &Envelope<'a>) -> ParsedRef<'a> {
    let Some(tag) = env.tag else {
        return ParsedRef::NotSshd;
    };
    if !tag.is_sshd() {
        // socklog writes the facility where the program goes (`auth.info: Invalid user …`):
        // the program is unknown, so the text counts only as an sshd form about an address.
        if envelope::is_facility_level(tag.name) && !foreign_pam(env.msg) {
            let env = Envelope {
                tag: Some(Tag {
                    name: b"sshd",
                    pid: None,
                }),
                ..*env
            };
            if let event @ ParsedRef::Event(_) = from_envelope(clock, &env) {
                return event;
            }
        }
        return ParsedRef::NotSshd;
    }
    let hit = match message::classify(env.msg) {
        Match::Hit(hit) => hit,
        Match::Ignored => return ParsedRef::Ignored,
        Match::Unmatched => return ParsedRef::Unmatched,
    };
    let (ip, rhost) = match hit.host {
        Host::Ip(ip) => (Some(ip), hit.name),
        Host::Name(name) => (None, Some(name)),
        // `UNKNOWN port 65535`: not a network peer.
        Host::Unknown => return ParsedRef::Ignored,
    };
    let Some(ts) = env.time.resolve(clock) else {
        return ParsedRef::Unmatched;
    };
    ParsedRef::Event(EventRef {
        ts,
        host: env.host.filter(|h| !h.is_empty()),
        pid: tag.pid,
        kind: hit.kind,
        ip,
        rhost: rhost.filter(|h| !h.is_empty()),
        port: hit.port,
        user: hit.user.filter(|u| !u.is_empty()),
        method: hit.method.filter(|m| !m.is_empty()),
        invalid_user: hit.invalid_user,
        count: hit.count.max(1),
    })
}

#[cfg(test)]
mod json_tests;
#[cfg(test)]
mod tests;
