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
//! - `civil`: calendar arithmetic for the fast timestamp paths;
//! - `pids`: the peer of each recent sshd process, for messages that leave the address out;
//! - `generic`: the address in a line of any program (generic mode, [`Parser::with_generic`]).
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
mod detached;
mod envelope;
mod event;
mod event_ref;
#[cfg(feature = "gen")]
pub mod generate;
mod generic;
mod journald;
mod json;
mod message;
mod pids;
mod text;
mod time;

pub use detached::Attach;
pub use event::{Event, Kind, Outcome};
pub use event_ref::{Class, EventRef, ParsedRef};
pub use text::lossless;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::addr::Host;
use crate::detached::{Deferred, Detached, Prev};
use crate::envelope::{Envelope, Tag};
use crate::message::{Hit, Match};
use crate::pids::{Lookup, Pids};
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
/// syslogd's `last message repeated N times`; the recent sshd processes' peers, for messages
/// that leave the address out) and reusable buffers, so steady-state parsing does not
/// allocate.
#[derive(Debug, Clone)]
pub struct Parser {
    st: State,
    /// The previous line when it produced an event; empty otherwise.
    prev: Vec<u8>,
    /// Decoded journald fields, for JSON lines whose strings carry escapes.
    scratch: Vec<u8>,
    /// Whether lines of other programs that hold an address count as probes.
    generic: bool,
}

/// What resolving a line needs besides the line: the clock and the peers of recent sshd
/// processes.
#[derive(Debug, Clone)]
struct State {
    clock: Clock,
    pids: Pids,
    /// Set by a `last message repeated` line (read by detached parsers).
    repeated: bool,
    /// What a parser that started mid-log has left to settle; `None` for a normal parser.
    detached: Option<Box<Detached>>,
}

/// Longest line the previous-line buffer is sized for up front (longer ones grow it once).
const PREV_CAPACITY: usize = 1024;

impl Parser {
    /// A parser with the given options.
    pub fn new(opts: ParseOptions) -> Parser {
        Parser {
            st: State {
                clock: Clock::new(opts.tz, opts.year, opts.anchor),
                pids: Pids::default(),
                repeated: false,
                detached: None,
            },
            prev: Vec::with_capacity(PREV_CAPACITY),
            scratch: Vec::new(),
            generic: false,
        }
    }

    /// Generic mode on or off (off by default): any line that is not an sshd line about an
    /// address, but holds an IPv4 or IPv6 address, becomes a [`Kind::Probe`] event for that
    /// address. For log files of other services (web servers, firewalls, mail).
    ///
    /// - sshd lines are parsed as always; the generic reading applies only to lines that give
    ///   [`Parsed::NotSshd`] or [`Parsed::Unmatched`] (an [`Parsed::Ignored`] sshd line is one
    ///   known not to be about an attacker, such as `Server listening on 0.0.0.0`).
    /// - The address taken is the one after a firewall's ` SRC=`, else the FIRST address on the
    ///   line: in web server access logs that is the client. An address is a token of digits,
    ///   hex letters, dots and colons (optionally in `[ ]`, optionally followed by `:port`) that
    ///   is not glued to letters or digits on either side and reads as an address; version
    ///   numbers such as `1.2.3`, octets with leading zeros, times such as `12:34:56` and the
    ///   unspecified addresses `0.0.0.0` and `::` are not taken.
    /// - The time is the envelope's (BSD, RFC 3339, RFC 5424, …) when the line has one that
    ///   reads, else the anchor ([`Parser::set_anchor`]); the host is the envelope's.
    /// - journald JSON lines are not read generically.
    pub fn with_generic(mut self, on: bool) -> Parser {
        self.generic = on;
        self
    }

    /// Whether generic mode is on (see [`Parser::with_generic`]).
    pub fn is_generic(&self) -> bool {
        self.generic
    }

    /// Moves the year-inference anchor (for live lines: now), keeping the parser's state.
    /// Lines without any timestamp (bare `sshd -e` output) get this time.
    pub fn set_anchor(&mut self, anchor: Timestamp) {
        self.st.clock.set_anchor(anchor);
    }

    /// Parses one line (a trailing `\n` or `\r\n` is tolerated).
    ///
    /// Never panics, whatever the bytes. `offset` in the returned event is `None`; the caller
    /// knows where the line was. Allocates the event's strings; [`Parser::parse_ref`] does not.
    pub fn parse(&mut self, line: &[u8]) -> Parsed {
        self.parse_ref(line).to_parsed()
    }

    /// Only the class of one line (event kind, ignored, unmatched, not sshd), for counting:
    /// what `parse_ref(line).class()` gives, without building the event.
    pub fn classify(&mut self, line: &[u8]) -> Class {
        if self.st.detached.is_none() {
            return self.classify_in_order(line);
        }
        let deferred_before = self.st.detached.as_ref().map_or(0, |d| d.deferred.len());
        self.st.repeated = false;
        let class = self.classify_in_order(line);
        let repeated = self.st.repeated;
        if let Some(det) = self.st.detached.as_deref_mut() {
            let deferred = det.deferred.len() > deferred_before;
            if repeated {
                // It repeated a previous line the piece may not know, or its peer is unknown.
                det.redo |= deferred || !matches!(det.prev, Prev::Known);
            } else if deferred {
                det.prev = Prev::Deferred {
                    line: trim_newline(line).to_vec(),
                    index: det.deferred.len() - 1,
                };
            } else {
                det.prev = Prev::Known;
            }
        }
        class
    }

    /// A parser for the lines of a log that follow a point it has not read, for counting
    /// a log in pieces on several threads: its [`Parser::classify`] results are provisional
    /// until [`Parser::attach`] gives it the state of the lines before. Use only
    /// [`Parser::classify`] on it (events from [`Parser::parse_ref`] would not be corrected).
    pub fn detached(mut self) -> Parser {
        self.st.pids = Pids::detached();
        self.st.detached = Some(Box::default());
        self.prev.clear();
        self
    }

    /// Settles a detached parser with `before`, a parser (not detached) in the state just
    /// before this one's first line, and takes over that state: afterwards `self` is exactly
    /// a parser that read `before`'s lines and then this one's. A parser that is not
    /// detached has nothing to settle.
    pub fn attach(&mut self, before: &Parser) -> Attach {
        let Some(det) = self.st.detached.take() else {
            return Attach::Corrected(Vec::new());
        };
        if det.redo {
            return Attach::Redo;
        }
        let found: Vec<bool> = det
            .deferred
            .iter()
            .map(|d| before.st.pids.lookup_key(d.key, d.at).is_some())
            .collect();
        self.st.pids.inherit(&before.st.pids);
        match det.prev {
            Prev::Known => {}
            Prev::Inherited => {
                self.prev.clear();
                self.prev.extend_from_slice(&before.prev);
            }
            Prev::Deferred { line, index } => {
                self.prev.clear();
                if found.get(index).copied().unwrap_or(false) {
                    self.prev.extend_from_slice(&line);
                }
            }
        }
        Attach::Corrected(
            det.deferred
                .iter()
                .zip(found)
                .filter_map(|(d, found)| found.then_some(d.kind))
                .collect(),
        )
    }

    /// [`Parser::classify`] for a parser that is not detached, or the first pass of one that
    /// is.
    #[inline]
    fn classify_in_order(&mut self, line: &[u8]) -> Class {
        let line = trim_newline(line);
        let mut env = Envelope::BLANK;
        if line.len() <= MAX_LINE
            && envelope::split_into(line, &mut env)
            && let Some(tag) = env.tag
        {
            if !tag.is_sshd() {
                // Another program's line, as `parse_trimmed` would find without splitting
                // it again; socklog's facility in place of a tag, and generic mode, need it.
                if self.generic || envelope::is_facility_level(tag.name) {
                    return self.parse_trimmed(line).class();
                }
                self.prev.clear();
                return Class::NotSshd;
            }
            let mut hit = Hit::BLANK;
            let mut ts = Timestamp::UNIX_EPOCH;
            let class = sshd(&mut self.st, &env, tag, &mut hit, &mut ts);
            self.prev.clear();
            match class {
                Class::Event(_) => {
                    self.prev.extend_from_slice(line);
                    return class;
                }
                Class::Unmatched if self.generic => {}
                _ => return class,
            }
        }
        self.parse_trimmed(line).class()
    }

    /// Parses one line without allocating: the event's text fields borrow from `line` (or, for
    /// `last message repeated` and escaped journald fields, from the parser).
    ///
    /// Never panics, whatever the bytes.
    pub fn parse_ref<'a>(&'a mut self, line: &'a [u8]) -> ParsedRef<'a> {
        self.parse_trimmed(trim_newline(line))
    }

    /// [`Parser::parse_ref`] of a line whose newline is already cut.
    fn parse_trimmed<'a>(&'a mut self, line: &'a [u8]) -> ParsedRef<'a> {
        let Parser {
            st,
            prev,
            scratch,
            generic,
        } = self;
        if line.len() > MAX_LINE {
            prev.clear();
            return ParsedRef::Unmatched;
        }
        let mut slot = Envelope::BLANK;
        let env = envelope::split_into(line, &mut slot).then_some(&slot);
        // The common case first: an envelope with an sshd tag.
        if let Some(env) = env
            && let Some(tag) = env.tag
            && tag.is_sshd()
        {
            let mut hit = Hit::BLANK;
            let mut ts = Timestamp::UNIX_EPOCH;
            let class = sshd(st, env, tag, &mut hit, &mut ts);
            prev.clear();
            return match class {
                Class::Event(_) => {
                    prev.extend_from_slice(line);
                    ParsedRef::Event(event_ref(env, tag, &hit, ts))
                }
                Class::Unmatched if *generic => generic_event(st, line, Some(env)),
                _ => class_ref(class),
            };
        }
        let parsed = match env {
            Some(env) => {
                if env.tag.is_none()
                    && let Some(count) = repeat_count(env.msg)
                {
                    // Keeps `prev`: syslogd may report the same message repeated again.
                    return repeat(st, prev, Some(env), count);
                }
                match from_envelope(st, env) {
                    ParsedRef::NotSshd if env.tag.is_none() => untagged(st, line, env),
                    parsed => parsed,
                }
            }
            None if line.first() == Some(&b'{') => {
                prev.clear();
                return match journald::parse(line, scratch) {
                    Some(env) => from_envelope(st, &env),
                    None => ParsedRef::NotSshd,
                };
            }
            None => {
                if let Some(count) = metalog_repeat(line) {
                    return repeat(st, prev, None, count);
                }
                timeless(st, line)
            }
        };
        prev.clear();
        match parsed {
            ParsedRef::Event(_) => {
                prev.extend_from_slice(line);
                parsed
            }
            ParsedRef::NotSshd | ParsedRef::Unmatched if *generic => generic_event(st, line, env),
            _ => parsed,
        }
    }
}

/// The line without a trailing `\n` or `\r\n`.
#[inline]
fn trim_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The result of a class that carries no event.
fn class_ref(class: Class) -> ParsedRef<'static> {
    match class {
        Class::Ignored => ParsedRef::Ignored,
        Class::NotSshd => ParsedRef::NotSshd,
        Class::Unmatched | Class::Event(_) => ParsedRef::Unmatched,
    }
}

/// Generic mode: the line as a probe from the address in it, when it holds one.
fn generic_event<'a>(st: &mut State, line: &'a [u8], env: Option<&Envelope<'a>>) -> ParsedRef<'a> {
    let Some(ip) = generic::address(line) else {
        return ParsedRef::NotSshd;
    };
    let ts = env
        .and_then(|e| e.time.resolve(&mut st.clock))
        .unwrap_or_else(|| st.clock.anchor());
    ParsedRef::Event(EventRef {
        ts,
        host: env.and_then(|e| e.host).filter(|h| !h.is_empty()),
        pid: env.and_then(|e| e.tag).and_then(|t| t.pid),
        kind: Kind::Probe,
        ip: Some(ip),
        rhost: None,
        port: None,
        user: None,
        method: None,
        invalid_user: None,
        count: 1,
    })
}

/// The previous event line again, `count` times: BSD syslogd's `<ts> <host> last message
/// repeated N times` (at this line's time, same host only) or metalog's `- Last output
/// repeated N times -` (no time of its own: the previous line's). Nothing when the previous
/// line gave no event.
fn repeat<'a>(
    st: &mut State,
    prev: &'a [u8],
    env: Option<&Envelope<'_>>,
    count: u32,
) -> ParsedRef<'a> {
    st.repeated = true;
    let prev_env = match split(prev) {
        Some(e) => e,
        None => match envelope::split_timeless(prev) {
            Some(e) => e,
            None => return ParsedRef::NotSshd,
        },
    };
    let ParsedRef::Event(mut ev) = from_envelope(st, &prev_env) else {
        return ParsedRef::NotSshd;
    };
    if let Some(env) = env {
        if prev_env.host != env.host {
            return ParsedRef::NotSshd;
        }
        let Some(ts) = env.time.resolve(&mut st.clock) else {
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
fn timeless<'a>(st: &mut State, line: &'a [u8]) -> ParsedRef<'a> {
    if let Some(env) = envelope::split_timeless(line)
        && env.tag.is_some_and(|t| t.is_sshd())
    {
        return from_envelope(st, &env);
    }
    bare(st, envelope::RawTime::Anchor, None, line)
}

/// A timestamp with no program tag after it (`2018-06-26 13:22:02.1 Failed password for …`,
/// or `host Failed password …`): the text counts only as an sshd form about an address.
fn untagged<'a>(st: &mut State, line: &'a [u8], env: &Envelope<'a>) -> ParsedRef<'a> {
    // The text after the timestamp: the host word (if any) and the message after it.
    let body = match env.host {
        Some(h) => {
            let start = (h.as_ptr() as usize).wrapping_sub(line.as_ptr() as usize);
            line.get(start..).unwrap_or(env.msg)
        }
        None => env.msg,
    };
    match bare(st, env.time, None, body) {
        ParsedRef::NotSshd if env.host.is_some() => bare(st, env.time, env.host, env.msg),
        parsed => parsed,
    }
}

/// A bare message, as sshd would log it, with no tag to go by: only an sshd form about an
/// address counts.
fn bare<'a>(
    st: &mut State,
    time: envelope::RawTime<'a>,
    host: Option<&'a [u8]>,
    msg: &'a [u8],
) -> ParsedRef<'a> {
    if foreign_pam(msg) {
        return ParsedRef::NotSshd;
    }
    let env = Envelope {
        time,
        host,
        tag: Some(SSHD),
        msg,
    };
    match from_envelope(st, &env) {
        event @ ParsedRef::Event(_) => event,
        _ => ParsedRef::NotSshd,
    }
}

/// The tag given to sshd text found without one.
const SSHD: Tag<'static> = Tag {
    name: b"sshd",
    pid: None,
};

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

/// Classifies the message of a line with an sshd tag, filling `hit` (and `ts`, for an
/// event); keeps the table of process peers up to date and ties address-less messages to it.
/// Small results and out-parameters: moving large values between calls costs more than the
/// work itself here.
#[inline]
fn sshd<'a>(
    st: &mut State,
    env: &Envelope<'a>,
    tag: Tag<'a>,
    hit: &mut Hit<'a>,
    ts: &mut Timestamp,
) -> Class {
    match message::classify(env.msg, hit) {
        Match::Hit => {}
        Match::Ignored => return Class::Ignored,
        Match::Unmatched => return Class::Unmatched,
        Match::Peer => {
            if let (Host::Ip(ip), Some(pid)) = (hit.host, tag.pid)
                && let Some(at) = env.time.resolve(&mut st.clock)
            {
                st.pids.record(env.host, pid, ip, hit.port, at);
            }
            return Class::Ignored;
        }
        Match::Orphan => {
            let Some(pid) = tag.pid else {
                return Class::Ignored;
            };
            let Some(at) = env.time.resolve(&mut st.clock) else {
                return Class::Unmatched;
            };
            return match st.pids.find(env.host, pid, at) {
                Lookup::Peer(ip, port) => {
                    hit.host = Host::Ip(ip);
                    hit.port = port;
                    *ts = at;
                    Class::Event(hit.kind)
                }
                Lookup::Missing => Class::Ignored,
                Lookup::Inherited(key) => {
                    if let Some(det) = st.detached.as_deref_mut() {
                        det.deferred.push(Deferred {
                            key,
                            at: at.as_second(),
                            kind: hit.kind,
                        });
                    }
                    Class::Ignored
                }
            };
        }
    }
    // `UNKNOWN port 65535`: not a network peer.
    if hit.host == Host::Unknown {
        return Class::Ignored;
    }
    let Some(at) = env.time.resolve(&mut st.clock) else {
        return Class::Unmatched;
    };
    if let (Host::Ip(ip), Some(pid)) = (hit.host, tag.pid) {
        st.pids.record(env.host, pid, ip, hit.port, at);
    }
    *ts = at;
    Class::Event(hit.kind)
}

/// The event of a line whose message gave `hit`.
#[inline]
fn event_ref<'a>(env: &Envelope<'a>, tag: Tag<'a>, hit: &Hit<'a>, ts: Timestamp) -> EventRef<'a> {
    let (ip, rhost) = match hit.host {
        Host::Ip(ip) => (Some(ip), hit.name),
        Host::Name(name) => (None, Some(name)),
        Host::Unknown => (None, None),
    };
    EventRef {
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
    }
}

/// Turns a split line into the parse result.
fn from_envelope<'a>(st: &mut State, env: &Envelope<'a>) -> ParsedRef<'a> {
    let Some(tag) = env.tag else {
        return ParsedRef::NotSshd;
    };
    if !tag.is_sshd() {
        if envelope::is_facility_level(tag.name) {
            return socklog(st, env);
        }
        return ParsedRef::NotSshd;
    }
    let mut hit = Hit::BLANK;
    let mut ts = Timestamp::UNIX_EPOCH;
    match sshd(st, env, tag, &mut hit, &mut ts) {
        Class::Event(_) => ParsedRef::Event(event_ref(env, tag, &hit, ts)),
        class => class_ref(class),
    }
}

/// socklog writes the facility where the program goes (`auth.info: Invalid user …`), and some
/// setups pass a whole syslog line through it (`auth.info: May 27 04:31:28 sshd[1]: …`,
/// `auth.info: sshd[1]: …`). An inner sshd line is taken with the outer (more precise) time;
/// else the program is unknown, and the text counts only as an sshd form about an address.
fn socklog<'a>(st: &mut State, env: &Envelope<'a>) -> ParsedRef<'a> {
    let msg = trim_start(env.msg);
    let inner = envelope::split(msg)
        .filter(|e| e.tag.is_some())
        .or_else(|| envelope::split_timeless(msg));
    if let Some(inner) = inner
        && let Some(tag) = inner.tag
        && tag.is_sshd()
    {
        let inner = Envelope {
            time: env.time,
            host: inner.host.or(env.host),
            tag: Some(tag),
            msg: trim_start(inner.msg),
        };
        return match from_envelope(st, &inner) {
            event @ ParsedRef::Event(_) => event,
            _ => ParsedRef::NotSshd,
        };
    }
    bare(st, env.time, env.host, msg)
}

/// Removes leading ASCII spaces.
fn trim_start(mut s: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod json_tests;
#[cfg(test)]
mod tests;
