//! Borrowed parse results: what [`crate::Parser::parse_ref`] returns without allocating.

use std::net::IpAddr;

use jiff::Timestamp;

use crate::Parsed;
use crate::event::{Event, Kind, Outcome};
use crate::text::lossless;

/// An [`Event`] whose text fields borrow from the line (or from the parser).
///
/// Text fields are the raw bytes as logged (attacker-controlled, possibly invalid UTF-8) and
/// never empty: a field the line does not carry is `None`. [`EventRef::to_event`] makes the
/// owned event; [`EventRef::write_json`] writes its JSON without building it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// When it happened, UTC.
    pub ts: Timestamp,
    /// The host name from the log envelope.
    pub host: Option<&'a [u8]>,
    /// The sshd process id.
    pub pid: Option<u32>,
    /// What happened.
    pub kind: Kind,
    /// The remote address in canonical form.
    pub ip: Option<IpAddr>,
    /// The remote host name (UseDNS, PAM `rhost`).
    pub rhost: Option<&'a [u8]>,
    /// The remote port.
    pub port: Option<u16>,
    /// The user name, raw bytes as logged.
    pub user: Option<&'a [u8]>,
    /// The authentication method.
    pub method: Option<&'a [u8]>,
    /// Whether sshd called the user invalid, when the line says.
    pub invalid_user: Option<bool>,
    /// How many occurrences this line stands for (at least 1).
    pub count: u32,
}

impl EventRef<'_> {
    /// The owned event (`offset` unset), text made lossless as [`lossless`] does.
    pub fn to_event(&self) -> Event {
        Event {
            ts: self.ts,
            host: self.host.map(lossless),
            pid: self.pid,
            kind: self.kind,
            ip: self.ip,
            rhost: self.rhost.map(lossless),
            port: self.port,
            user: self.user.map(lossless),
            method: self.method.map(lossless),
            invalid_user: self.invalid_user,
            count: self.count,
            offset: None,
        }
    }

    /// The outcome of this event's kind.
    pub fn outcome(&self) -> Outcome {
        self.kind.outcome()
    }
}

/// What one line turned out to be, borrowing: the zero-allocation twin of [`Parsed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParsedRef<'a> {
    /// An sshd line about a remote address.
    Event(EventRef<'a>),
    /// An sshd line that is not about a remote address.
    Ignored,
    /// An sshd line that matched no known form.
    Unmatched,
    /// Not an sshd line at all.
    NotSshd,
}

impl ParsedRef<'_> {
    /// The owned result.
    pub fn to_parsed(&self) -> Parsed {
        match self {
            ParsedRef::Event(e) => Parsed::Event(e.to_event()),
            ParsedRef::Ignored => Parsed::Ignored,
            ParsedRef::Unmatched => Parsed::Unmatched,
            ParsedRef::NotSshd => Parsed::NotSshd,
        }
    }

    /// Only the class of the line, for counting.
    pub fn class(&self) -> Class {
        match self {
            ParsedRef::Event(e) => Class::Event(e.kind),
            ParsedRef::Ignored => Class::Ignored,
            ParsedRef::Unmatched => Class::Unmatched,
            ParsedRef::NotSshd => Class::NotSshd,
        }
    }
}

/// The class of a line without its fields: what [`crate::Parser::classify`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// An event of this kind.
    Event(Kind),
    /// An sshd line not about a remote address.
    Ignored,
    /// An sshd line of no known form.
    Unmatched,
    /// Not an sshd line.
    NotSshd,
}
