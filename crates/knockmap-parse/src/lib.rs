//! Turns sshd authentication log lines into typed [`Event`]s. Pure: no I/O.
//!
//! The work is split by concern:
//! - `envelope`: the syslog header (BSD, RFC 3339, RFC 5424), host, program, pid;
//! - `time`: year inference and zones for timestamps that lack them;
//! - `message`: the sshd message forms and the event kind each one maps to;
//! - `addr`: addresses, ports and the trustworthy ` from <IP> port <N>`;
//! - `text`: lossless bytes → `String` for attacker-controlled fields.
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
mod envelope;
mod event;
mod message;
mod text;
mod time;

pub use event::{Event, Kind, Outcome};
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
/// syslogd's `last message repeated N times`).
#[derive(Debug)]
pub struct Parser {
    clock: Clock,
    /// The previous line when it produced an event; empty otherwise. Reused, so steady-state
    /// parsing does not allocate for it.
    prev: Vec<u8>,
}

impl Parser {
    /// A parser with the given options.
    pub fn new(opts: ParseOptions) -> Parser {
        Parser {
            clock: Clock::new(opts.tz, opts.year, opts.anchor),
            prev: Vec::new(),
        }
    }

    /// Parses one line (a trailing `\n` or `\r\n` is tolerated).
    ///
    /// Never panics, whatever the bytes. `offset` in the returned event is `None`; the caller
    /// knows where the line was.
    pub fn parse(&mut self, line: &[u8]) -> Parsed {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let parsed = match split(line) {
            Some(env) => {
                if env.tag.is_none()
                    && let Some(count) = repeat_count(env.msg)
                {
                    // Keeps `prev`: syslogd may report the same message repeated again.
                    return self.repeat(&env, count);
                }
                from_envelope(&self.clock, &env)
            }
            None if line.len() > MAX_LINE => Parsed::Unmatched,
            None => Parsed::NotSshd,
        };
        self.prev.clear();
        if matches!(parsed, Parsed::Event(_)) {
            self.prev.extend_from_slice(line);
        }
        parsed
    }

    /// BSD syslogd's `<ts> <host> last message repeated N times`: the previous line again, N
    /// times, at this line's time. Nothing when the previous line gave no event.
    fn repeat(&self, env: &Envelope<'_>, count: u32) -> Parsed {
        let Some(prev) = split(&self.prev) else {
            return Parsed::NotSshd;
        };
        let Parsed::Event(mut ev) = from_envelope(&self.clock, &prev) else {
            return Parsed::NotSshd;
        };
        if prev.host != env.host {
            return Parsed::NotSshd;
        }
        let Some(ts) = env.time.resolve(&self.clock) else {
            return Parsed::Unmatched;
        };
        ev.ts = ts;
        ev.count = ev.count.saturating_mul(count.max(1));
        Parsed::Event(ev)
    }
}

/// Splits the envelope off a line that is not too long to parse.
fn split(line: &[u8]) -> Option<Envelope<'_>> {
    if line.len() > MAX_LINE {
        return None;
    }
    envelope::split(line)
}

/// `last message repeated N times` → N.
fn repeat_count(msg: &[u8]) -> Option<u32> {
    let rest = msg.strip_prefix(b"last message repeated ")?;
    let n = digits_len(rest);
    let count = parse_u32(&rest[..n])?;
    matches!(trim_end(&rest[n..]), b" times" | b" time").then_some(count)
}

/// Turns a split line into the parse result.
fn from_envelope(clock: &Clock, env: &Envelope<'_>) -> Parsed {
    let Some(tag) = env.tag.filter(Tag::is_sshd) else {
        return Parsed::NotSshd;
    };
    let hit = match message::classify(env.msg) {
        Match::Hit(hit) => hit,
        Match::Ignored => return Parsed::Ignored,
        Match::Unmatched => return Parsed::Unmatched,
    };
    let (ip, rhost) = match hit.host {
        Host::Ip(ip) => (Some(ip), hit.name.map(lossless)),
        Host::Name(name) => (None, Some(lossless(name))),
        // `UNKNOWN port 65535`: not a network peer.
        Host::Unknown => return Parsed::Ignored,
    };
    let Some(ts) = env.time.resolve(clock) else {
        return Parsed::Unmatched;
    };
    Parsed::Event(Event {
        ts,
        host: env.host.map(lossless),
        pid: tag.pid,
        kind: hit.kind,
        ip,
        rhost,
        port: hit.port,
        user: hit.user.and_then(text::non_empty),
        method: hit.method.and_then(text::non_empty),
        invalid_user: hit.invalid_user,
        count: hit.count.max(1),
        offset: None,
    })
}

#[cfg(test)]
mod tests;
