//! sshd message forms: the text after the envelope, classified into an event kind with the
//! fields it carries. Everything here works on borrowed byte slices; nothing allocates.
//!
//! Attacker-controlled text (user names, client version strings, algorithm offers, disconnect
//! reasons) can contain anything, including fake ` from 6.6.6.6 port 22` phrases. Each form
//! therefore takes its address from the position sshd writes it in: from the right when the
//! attacker text comes first (user names), from the left when it comes after (offers, reasons).

use memchr::memmem;

use crate::addr::{
    FromPort, Host, Preamble, parse_bracketed, parse_host, parse_prefix, parse_rid, rfind_from,
    split_token, take_port,
};
use crate::event::Kind;
use crate::text::{digits_len, parse_u32, trim_end};

/// What one sshd message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match<'a> {
    /// A message about a remote address.
    Hit(Hit<'a>),
    /// A known message that is not about a remote address (or is post-auth housekeeping).
    Ignored,
    /// No known form.
    Unmatched,
}

/// The fields one message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit<'a> {
    /// The event kind.
    pub kind: Kind,
    /// The remote host.
    pub host: Host<'a>,
    /// The remote host name when the line carries both a name and an address.
    pub name: Option<&'a [u8]>,
    /// The remote port.
    pub port: Option<u16>,
    /// The user name, raw bytes as logged.
    pub user: Option<&'a [u8]>,
    /// The authentication method.
    pub method: Option<&'a [u8]>,
    /// Whether the line calls the user invalid.
    pub invalid_user: Option<bool>,
    /// How many occurrences the line stands for.
    pub count: u32,
}

impl<'a> Hit<'a> {
    fn new(kind: Kind, host: Host<'a>, port: Option<u16>) -> Hit<'a> {
        Hit {
            kind,
            host,
            name: None,
            port,
            user: None,
            method: None,
            invalid_user: None,
            count: 1,
        }
    }

    fn user(mut self, user: &'a [u8]) -> Hit<'a> {
        self.user = Some(user);
        self
    }

    fn invalid(mut self, invalid: bool) -> Hit<'a> {
        self.invalid_user = Some(invalid);
        self
    }
}

/// Where the message came from, read off its suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// ` [preauth]`: re-logged by the monitor from the unprivileged pre-auth child.
    Preauth,
    /// ` [postauth]`.
    Postauth,
    /// No suffix.
    Unknown,
}

/// Classifies one sshd message (the text after `sshd[pid]: `).
pub fn classify(msg: &[u8]) -> Match<'_> {
    let msg = trim_end(msg);
    if let Some(rest) = msg.strip_prefix(b"message repeated ") {
        return repeated(rest);
    }
    classify_inner(msg)
}

/// rsyslog: `message repeated N times: [ <msg>]`.
fn repeated(rest: &[u8]) -> Match<'_> {
    let n = digits_len(rest);
    let Some(count) = parse_u32(&rest[..n]) else {
        return Match::Unmatched;
    };
    let Some(inner) = rest[n..].strip_prefix(b" times: [") else {
        return Match::Unmatched;
    };
    let inner = inner.strip_suffix(b"]").unwrap_or(inner);
    let inner = inner.strip_prefix(b" ").unwrap_or(inner);
    match classify_inner(trim_end(inner)) {
        Match::Hit(mut hit) => {
            hit.count = hit.count.saturating_mul(count.max(1));
            Match::Hit(hit)
        }
        other => other,
    }
}

fn classify_inner(msg: &[u8]) -> Match<'_> {
    let (msg, phase) = if let Some(m) = msg.strip_suffix(b" [preauth]") {
        (m, Phase::Preauth)
    } else if let Some(m) = msg.strip_suffix(b" [postauth]") {
        (m, Phase::Postauth)
    } else {
        (msg, Phase::Unknown)
    };
    let m = msg
        .strip_prefix(b"error: ")
        .or_else(|| msg.strip_prefix(b"fatal: "))
        .unwrap_or(msg);

    type Form = for<'a> fn(&'a [u8], Phase) -> Match<'a>;
    const FORMS: &[(&[u8], Form)] = &[
        (b"Failed ", |r, _| auth_result(r, Kind::Failed)),
        (b"Accepted ", |r, _| auth_result(r, Kind::Accepted)),
        (b"Invalid user ", |r, _| invalid_user(r)),
        (b"Connection closed by ", connection_end),
        (b"Connection reset by ", connection_end),
        (b"Disconnected from ", disconnected),
        (b"Received disconnect from ", received_disconnect),
        (b"pam_", |r, _| pam_module(r)),
        (b"PAM: ", |r, _| pam_error(r)),
        (b"PAM ", |r, _| pam_more(r)),
        (b"authentication failure; ", |r, _| pam_fields(r, 1)),
        (b"maximum authentication attempts exceeded for ", |r, _| {
            for_user_from(r, Kind::MaxAttempts, b"invalid user ")
        }),
        (b"Disconnecting ", |r, _| disconnecting(r)),
        (b"User ", |r, _| user_not_allowed(r)),
        (b"ROOT LOGIN REFUSED FROM ", |r, _| root_refused(r)),
        (b"administratively prohibited connection for ", |r, _| {
            for_user_from(r, Kind::InvalidUser, b"invalid user ")
        }),
        (b"Did not receive identification string from ", |r, _| {
            lead_probe(r)
        }),
        (b"Bad protocol version identification ", |r, _| {
            bad_protocol(r)
        }),
        (b"banner exchange: Connection from ", |r, _| {
            connection_fatal(r)
        }),
        (b"ssh_dispatch_run_fatal: Connection from ", |r, _| {
            connection_fatal(r)
        }),
        (b"ssh_dispatch_run_fatal: Connection to ", |r, _| {
            connection_fatal(r)
        }),
        (b"Unable to negotiate with ", |r, _| lead_probe(r)),
        (b"Timeout before authentication for ", |r, _| timeout(r)),
        (b"reverse mapping checking getaddrinfo for ", |r, _| {
            reverse_mapping(r)
        }),
        (b"Address ", |r, _| address_maps(r)),
        (b"refused connect from ", |r, _| refused_connect(r)),
        (b"drop connection #", |r, _| drop_connection(r)),
        (b"srclimit_penalise: ", |r, _| srclimit(r)),
    ];
    for (prefix, form) in FORMS {
        if let Some(rest) = m.strip_prefix(*prefix) {
            return form(rest, phase);
        }
    }
    if IGNORED.iter().any(|p| m.starts_with(p)) {
        return Match::Ignored;
    }
    Match::Unmatched
}

/// Known sshd messages that carry no remote attacker information.
const IGNORED: &[&[u8]] = &[
    b"Server listening on ",
    b"Received signal ",
    b"Exiting on signal",
    b"Partial ",
    b"Postponed ",
    b"Starting session: ",
    b"Close session: ",
    b"session opened",
    b"session closed",
    b"Transferred: ",
    b"Connection from ",
    b"kex_exchange_identification: ",
    b"Bad remote protocol version identification",
    b"Read from socket failed",
    b"Write failed",
    b"Read error from remote host",
    b"Disconnecting: ",
    b"input_userauth_request: ",
    b"User child is on pid",
    b"Changed root directory",
    b"subsystem request",
    b"Nasty PTR record",
    b"Timeout, client not responding",
    b"Unable to negotiate a key exchange method",
    b"no matching ",
    b"beginning MaxStartups throttling",
    b"exited MaxStartups throttling",
    b"PerSourcePenalties logging rate-limited",
    b"Maxstartups logging rate-limited",
    b"Server will not fork",
    b"Set /proc/self/oom_score_adj",
    b"rexec line ",
    b"Accepted key ",
    b"Authorized to ",
    b"Failed to ",
    b"Did not receive identification string",
    b"Bad packet length",
    b"Corrupted MAC",
    b"Missing privilege separation directory",
];

/// `<method> for [invalid user ]U from IP port P ssh2[: info]` (Failed, Accepted).
fn auth_result(rest: &[u8], kind: Kind) -> Match<'_> {
    let Some(i) = memmem::find(rest, b" for ") else {
        return Match::Unmatched;
    };
    let method = &rest[..i];
    let after_for = &rest[i + 5..];
    let (invalid, who) = match after_for.strip_prefix(b"invalid user ") {
        Some(w) => (true, w),
        None => (false, after_for),
    };
    let Some(f) = rfind_from(who, true, auth_tail) else {
        return Match::Unmatched;
    };
    let mut hit = Hit::new(kind, f.host, f.port)
        .user(f.before)
        .invalid(invalid);
    hit.method = Some(method);
    Match::Hit(hit)
}

/// What may follow `from IP port P` in an authentication result.
fn auth_tail(after: &[u8]) -> bool {
    after.is_empty()
        || after == b" ssh1"
        || after == b" ssh2"
        || after.starts_with(b" ssh2: ")
        || after.starts_with(b" ssh1: ")
}

/// `[<invalid>]U from IP port P[ ssh2]` for forms without a method.
fn for_user_from<'a>(rest: &'a [u8], kind: Kind, invalid_word: &[u8]) -> Match<'a> {
    let (invalid, who) = match rest.strip_prefix(invalid_word) {
        Some(w) => (true, w),
        None => (false, rest),
    };
    match rfind_from(who, false, |a| a.is_empty() || auth_tail(a)) {
        Some(f) => Match::Hit(
            Hit::new(kind, f.host, f.port)
                .user(f.before)
                .invalid(invalid),
        ),
        None => Match::Unmatched,
    }
}

/// `Invalid user U from IP[ port P]` (U may be empty).
fn invalid_user(rest: &[u8]) -> Match<'_> {
    // An empty user leaves `Invalid user  from …`, so the rest starts with ` from `.
    if let Some(f) = rfind_from(rest, false, <[u8]>::is_empty) {
        return Match::Hit(
            Hit::new(Kind::InvalidUser, f.host, f.port)
                .user(f.before)
                .invalid(true),
        );
    }
    if let Some(tail) = rest.strip_prefix(b"from ")
        && let Some((host, port, [])) = lead_host_port(tail)
    {
        return Match::Hit(
            Hit::new(Kind::InvalidUser, host, port)
                .user(b"")
                .invalid(true),
        );
    }
    Match::Unmatched
}

/// `User U from H not allowed because …`; `User U not allowed because …` (no address).
fn user_not_allowed(rest: &[u8]) -> Match<'_> {
    let Some(i) = memmem::rfind(rest, b" not allowed because ") else {
        return Match::Unmatched;
    };
    match rfind_from(&rest[..i], false, <[u8]>::is_empty) {
        Some(FromPort {
            before, host, port, ..
        }) => Match::Hit(
            Hit::new(Kind::InvalidUser, host, port)
                .user(before)
                .invalid(true),
        ),
        None => Match::Ignored,
    }
}

/// `ROOT LOGIN REFUSED FROM IP[ port P]`.
fn root_refused(rest: &[u8]) -> Match<'_> {
    match lead_host_port(rest) {
        Some((host, port, [])) => Match::Hit(Hit::new(Kind::InvalidUser, host, port).user(b"root")),
        _ => Match::Unmatched,
    }
}

/// `Disconnecting <RID>: Too many authentication failures`; other reasons are ignored.
fn disconnecting(rest: &[u8]) -> Match<'_> {
    let Some(rid) = rest.strip_suffix(b": Too many authentication failures") else {
        return Match::Ignored;
    };
    match parse_rid(rid) {
        Some(r) => Match::Hit(rid_hit(Kind::MaxAttempts, r)),
        None => Match::Unmatched,
    }
}

fn rid_hit(kind: Kind, r: crate::addr::Rid<'_>) -> Hit<'_> {
    let mut hit = Hit::new(kind, r.host, r.port);
    match r.preamble {
        Preamble::None => {}
        Preamble::Invalid => hit = hit.user(r.user).invalid(true),
        Preamble::Authenticating | Preamble::User => hit = hit.user(r.user).invalid(false),
    }
    hit
}

/// `Connection closed|reset by <RID>`: pre-auth ends are disconnects, post-auth ones ignored.
fn connection_end(rest: &[u8], phase: Phase) -> Match<'_> {
    match parse_rid(rest) {
        Some(r) if r.preamble == Preamble::User || phase == Phase::Postauth => Match::Ignored,
        Some(r) => Match::Hit(rid_hit(Kind::Disconnect, r)),
        None => Match::Unmatched,
    }
}

/// `Disconnected from <RID>`: only the pre-auth ones count.
fn disconnected(rest: &[u8], phase: Phase) -> Match<'_> {
    match parse_rid(rest) {
        Some(r) => match r.preamble {
            Preamble::User => Match::Ignored,
            Preamble::None if phase != Phase::Preauth => Match::Ignored,
            _ => Match::Hit(rid_hit(Kind::Disconnect, r)),
        },
        None => Match::Unmatched,
    }
}

/// `Received disconnect from IP port P:CODE: msg` (7.2+) / `IP: CODE: msg` (older).
fn received_disconnect(rest: &[u8], phase: Phase) -> Match<'_> {
    let Some((host, port, after)) = lead_host_port(rest) else {
        return Match::Unmatched;
    };
    if !after.starts_with(b":") && port.is_some() {
        return Match::Unmatched;
    }
    if phase != Phase::Preauth {
        return Match::Ignored;
    }
    Match::Hit(Hit::new(Kind::Disconnect, host, port))
}

/// A host at the start, optionally followed by ` port N`; a `:` glued to the host (old
/// `from IP: reason` forms) is left in the remainder.
fn lead_host_port(s: &[u8]) -> Option<(Host<'_>, Option<u16>, &[u8])> {
    let (tok, rest) = split_token(s);
    if let Some(host) = parse_host(tok) {
        return Some(match take_port(rest) {
            Some((port, after)) => (host, Some(port), after),
            None => (host, None, rest),
        });
    }
    let tok = tok.strip_suffix(b":").or_else(|| tok.strip_suffix(b","))?;
    let host = parse_host(tok)?;
    Some((host, None, &s[tok.len()..]))
}

/// A probe whose address comes first: `Did not receive identification string from IP[ port P]`,
/// `Unable to negotiate with IP port P: no matching …`.
fn lead_probe(rest: &[u8]) -> Match<'_> {
    match lead_host_port(rest) {
        Some((host, port, _)) => Match::Hit(Hit::new(Kind::Probe, host, port)),
        None => Match::Unmatched,
    }
}

/// `Bad protocol version identification '<client text>' from IP port P`.
fn bad_protocol(rest: &[u8]) -> Match<'_> {
    match rfind_from(rest, false, <[u8]>::is_empty) {
        Some(f) => Match::Hit(Hit::new(Kind::Probe, f.host, f.port)),
        None => Match::Unmatched,
    }
}

/// `<tag>: Connection from <RID>: <error>`: the remote id ends at the last `: ` that leaves a
/// parseable id (the id may hold a user name with `: ` in it; sshd's error texts have none).
fn connection_fatal(rest: &[u8]) -> Match<'_> {
    for i in memmem::rfind_iter(rest, b": ") {
        if let Some(r) = parse_rid(&rest[..i]) {
            let mut hit = rid_hit(Kind::Probe, r);
            if r.preamble == Preamble::User {
                hit.invalid_user = None;
            }
            return Match::Hit(hit);
        }
    }
    Match::Unmatched
}

/// `Timeout before authentication for IP[ port P]` /
/// `… for connection from IP to LIP, pid = N` (9.8+).
fn timeout(rest: &[u8]) -> Match<'_> {
    let rest = rest.strip_prefix(b"connection from ").unwrap_or(rest);
    lead_probe(rest)
}

/// `reverse mapping checking getaddrinfo for NAME [IP] failed[ - POSSIBLE BREAK-IN ATTEMPT!]`.
fn reverse_mapping(rest: &[u8]) -> Match<'_> {
    let Some(open) = memchr::memchr(b'[', rest) else {
        return Match::Unmatched;
    };
    let Some(close) = memchr::memchr(b']', &rest[open..]) else {
        return Match::Unmatched;
    };
    let name = trim_end(&rest[..open]);
    match parse_host(&rest[open + 1..open + close]) {
        Some(host @ Host::Ip(_)) => {
            let mut hit = Hit::new(Kind::Probe, host, None);
            hit.name = (!name.is_empty()).then_some(name);
            Match::Hit(hit)
        }
        _ => Match::Unmatched,
    }
}

/// `Address IP maps to NAME, but this does not map back to the address[ - POSSIBLE BREAK-IN…]`.
fn address_maps(rest: &[u8]) -> Match<'_> {
    let (tok, after) = split_token(rest);
    let Some(name_part) = after.strip_prefix(b" maps to ") else {
        return Match::Unmatched;
    };
    match parse_host(tok) {
        Some(host @ Host::Ip(_)) => {
            let mut hit = Hit::new(Kind::Probe, host, None);
            hit.name = memchr::memchr(b',', name_part).map(|i| &name_part[..i]);
            Match::Hit(hit)
        }
        _ => Match::Unmatched,
    }
}

/// libwrap: `refused connect from NAME (IP)`.
fn refused_connect(rest: &[u8]) -> Match<'_> {
    let Some(inner) = rest.strip_suffix(b")") else {
        return Match::Unmatched;
    };
    let Some(open) = memchr::memrchr(b'(', inner) else {
        return Match::Unmatched;
    };
    match parse_host(&inner[open + 1..]) {
        Some(host) => Match::Hit(Hit::new(Kind::Probe, host, None)),
        None => Match::Unmatched,
    }
}

/// `drop connection #N from [IP]:P on [LIP]:LP <reason>`.
fn drop_connection(rest: &[u8]) -> Match<'_> {
    let n = digits_len(rest);
    let Some(tail) = rest[n..].strip_prefix(b" from ") else {
        return Match::Unmatched;
    };
    let (tok, _) = split_token(tail);
    match parse_bracketed(tok) {
        Some((ip, port)) => Match::Hit(Hit::new(Kind::Penalty, Host::Ip(ip), Some(port))),
        None => Match::Unmatched,
    }
}

/// `srclimit_penalise: ipv4: new 192.0.2.1/32 active penalty …` and
/// `srclimit_penalise: 192.0.2.1/32: activating ipv4 penalty …`: the first `addr/len` word.
fn srclimit(rest: &[u8]) -> Match<'_> {
    for word in rest.split(|&b| b == b' ').take(4) {
        let word = word.strip_suffix(b":").unwrap_or(word);
        if let Some(ip) = parse_prefix(word) {
            return Match::Hit(Hit::new(Kind::Penalty, Host::Ip(ip), None));
        }
    }
    Match::Ignored
}

/// `pam_<module>(sshd:auth): authentication failure; … rhost=H[  user=U]`; other PAM module
/// lines (session opened, check pass, …) are ignored.
fn pam_module(rest: &[u8]) -> Match<'_> {
    let Some(i) = memmem::find(rest, b"): ") else {
        return Match::Ignored;
    };
    match rest[i + 3..].strip_prefix(b"authentication failure; ") {
        Some(fields) => pam_fields(fields, 1),
        None => Match::Ignored,
    }
}

/// `PAM N more authentication failure[s]; … rhost=H[  user=U]`.
fn pam_more(rest: &[u8]) -> Match<'_> {
    let n = digits_len(rest);
    let Some(count) = parse_u32(&rest[..n]) else {
        return Match::Ignored;
    };
    let tail = &rest[n..];
    let fields = tail
        .strip_prefix(b" more authentication failures; ")
        .or_else(|| tail.strip_prefix(b" more authentication failure; "));
    match fields {
        Some(fields) => pam_fields(fields, count),
        None => Match::Unmatched,
    }
}

/// `logname= uid=0 euid=0 tty=ssh ruser= rhost=H  user=U`. The first `rhost=` is PAM's own
/// (the user name comes last and may contain anything); no or an empty rhost means a local login.
fn pam_fields(fields: &[u8], count: u32) -> Match<'_> {
    let start = if fields.starts_with(b"rhost=") {
        0
    } else {
        match memmem::find(fields, b" rhost=") {
            Some(i) => i + 1,
            None => return Match::Ignored,
        }
    };
    let value = &fields[start + 6..];
    let (rhost, after) = split_token(value);
    if rhost.is_empty() {
        return Match::Ignored;
    }
    let Some(host) = parse_host(rhost) else {
        return Match::Unmatched;
    };
    let mut hit = Hit::new(Kind::PamFailure, host, None);
    hit.count = count.max(1);
    if let Some(i) = memmem::find(after, b" user=") {
        hit.user = Some(&after[i + 6..]);
    }
    Match::Hit(hit)
}

/// `PAM: <pam_strerror> for [illegal user ]U from H[ via LIP]`.
fn pam_error(rest: &[u8]) -> Match<'_> {
    if !rest.starts_with(b"Authentication failure")
        && !rest.starts_with(b"authentication error")
        && !rest.starts_with(b"User not known")
    {
        return Match::Ignored;
    }
    let Some(i) = memmem::find(rest, b" for ") else {
        return Match::Unmatched;
    };
    let who = &rest[i + 5..];
    let (invalid, who) = match who.strip_prefix(b"illegal user ") {
        Some(w) => (Some(true), w),
        None => (None, who),
    };
    match rfind_from(who, false, |a| a.is_empty() || a.starts_with(b" via ")) {
        Some(f) => {
            let mut hit = Hit::new(Kind::PamFailure, f.host, f.port).user(f.before);
            hit.invalid_user = invalid;
            Match::Hit(hit)
        }
        None => Match::Unmatched,
    }
}
