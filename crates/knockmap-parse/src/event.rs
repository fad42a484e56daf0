//! The event contract shared by every part of knockmap (see DESIGN.md, "Event").

use std::fmt;
use std::net::IpAddr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What an sshd log line says happened. Eight kinds, each with a fixed [`Outcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `Failed <method> for [invalid user ]U from IP port P`
    Failed,
    /// `Accepted <method> for U from IP port P`
    Accepted,
    /// `Invalid user U from IP`, `User U from H not allowed …`, `ROOT LOGIN REFUSED`, …
    InvalidUser,
    /// PAM authentication failures (`pam_unix(sshd:auth): authentication failure; … rhost=H`, …)
    PamFailure,
    /// `maximum authentication attempts exceeded …`, `Too many authentication failures`
    MaxAttempts,
    /// Pre-auth connection closed, reset or disconnected.
    Disconnect,
    /// Pre-auth probes: no identification string, bad protocol, negotiation failures, timeouts, …
    Probe,
    /// PerSourcePenalties / MaxStartups connection drops.
    Penalty,
}

impl Kind {
    /// All kinds, in contract order.
    pub const ALL: [Kind; 8] = [
        Kind::Failed,
        Kind::Accepted,
        Kind::InvalidUser,
        Kind::PamFailure,
        Kind::MaxAttempts,
        Kind::Disconnect,
        Kind::Probe,
        Kind::Penalty,
    ];

    /// The outcome this kind stands for.
    pub fn outcome(self) -> Outcome {
        match self {
            Kind::Accepted => Outcome::Success,
            Kind::Failed | Kind::InvalidUser | Kind::PamFailure | Kind::MaxAttempts => {
                Outcome::Failure
            }
            Kind::Disconnect | Kind::Probe | Kind::Penalty => Outcome::Probe,
        }
    }

    /// Whether this kind counts as a login attempt in the statistics (`failed` + `accepted`).
    pub fn is_attempt(self) -> bool {
        matches!(self, Kind::Failed | Kind::Accepted)
    }

    /// The contract name (`"failed"`, `"invalid_user"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Failed => "failed",
            Kind::Accepted => "accepted",
            Kind::InvalidUser => "invalid_user",
            Kind::PamFailure => "pam_failure",
            Kind::MaxAttempts => "max_attempts",
            Kind::Disconnect => "disconnect",
            Kind::Probe => "probe",
            Kind::Penalty => "penalty",
        }
    }

    /// Parses a contract name back into a kind.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an event is a failed login, a successful one, or a probe without a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A failed or refused login.
    Failure,
    /// A successful login.
    Success,
    /// A connection that never got to authentication.
    Probe,
}

impl Outcome {
    /// The contract name (`"failure"`, `"success"`, `"probe"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Failure => "failure",
            Outcome::Success => "success",
            Outcome::Probe => "probe",
        }
    }
}

/// One event: the JSON line printed by `knockmap parse` and the ingest wire format.
///
/// Fields a line does not carry are `None` and absent from the JSON, never empty strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened, UTC.
    pub ts: Timestamp,
    /// The host name from the log envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The sshd process id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// What happened.
    pub kind: Kind,
    /// The remote address in canonical form (IPv4-mapped IPv6 is IPv4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// The remote host name when sshd logged a name instead of an address (UseDNS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rhost: Option<String>,
    /// The remote port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The user name exactly as logged; attacker-controlled. Invalid UTF-8 bytes are kept as
    /// `\xNN` escapes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The authentication method (`password`, `publickey`, `keyboard-interactive/pam`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Whether sshd called the user invalid, when the line says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_user: Option<bool>,
    /// How many occurrences this line stands for (`message repeated N times`, `PAM N more …`).
    #[serde(default = "one")]
    pub count: u32,
    /// Byte offset of the line in its source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

fn one() -> u32 {
    1
}

impl Event {
    /// A new event with only the required fields set.
    pub fn new(ts: Timestamp, kind: Kind) -> Event {
        Event {
            ts,
            host: None,
            pid: None,
            kind,
            ip: None,
            rhost: None,
            port: None,
            user: None,
            method: None,
            invalid_user: None,
            count: 1,
            offset: None,
        }
    }

    /// The outcome of this event's kind.
    pub fn outcome(&self) -> Outcome {
        self.kind.outcome()
    }
}
