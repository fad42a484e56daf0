//! sshd message forms: the text after the envelope, classified into an event kind with the
//! fields it carries. Everything here works on borrowed byte slices; nothing allocates.
//!
//! Attacker-controlled text (user names, client version strings, algorithm offers, disconnect
//! reasons) can contain anything, including fake ` from 6.6.6.6 port 22` phrases. Each form
//! therefore takes its address from the position sshd writes it in: from the right when the
//! attacker text comes first (user names), from the left when it comes after (offers, reasons).

use std::sync::LazyLock;

use memchr::memmem::{Finder, FinderRev};

use crate::addr::{
    FromPort, Host, Preamble, parse_bracketed, parse_host, parse_port, parse_prefix, parse_rid,
    rfind_from, split_token, take_port,
};
use crate::event::Kind;
use crate::text::{digits_len, find, parse_u32, trim_end};

static NOT_ALLOWED: LazyLock<FinderRev<'static>> =
    LazyLock::new(|| FinderRev::new(b" not allowed because "));
static AUTH_FAIL: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"Auth fail"));
static NO_METHODS: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(b"authentication methods available"));
static CHANGE_OF_USER: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(b": Change of username or service not allowed"));
static COLON_SPACE: LazyLock<FinderRev<'static>> = LazyLock::new(|| FinderRev::new(b": "));

/// What one sshd message is about. The fields of a hit are written into the caller's slot
/// rather than returned: the slot is large, and moving it through each layer was a good part
/// of the cost of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// A message about a remote address: the slot holds its fields.
    Hit,
    /// A message about a connection that leaves the address out: the slot holds the kind (and
    /// user), its host is [`Host::Unknown`]; the address is the one an earlier line of the same
    /// sshd process gave.
    Orphan,
    /// A message naming the peer of this sshd process that is not an event itself (`Connection
    /// from IP port P on …`): the slot's host and port say who it is.
    Peer,
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
    /// A blank slot for [`classify`] to fill.
    pub const BLANK: Hit<'static> = Hit {
        kind: Kind::Probe,
        host: Host::Unknown,
        name: None,
        port: None,
        user: None,
        method: None,
        invalid_user: None,
        count: 1,
    };

    /// Stores `hit` in this slot: the result of a form that matched.
    #[inline]
    fn put(&mut self, hit: Hit<'a>) -> Match {
        *self = hit;
        Match::Hit
    }

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
pub fn classify<'a>(msg: &'a [u8], out: &mut Hit<'a>) -> Match {
    let msg = trim_end(msg);
    let msg = strip_solaris_id(msg);
    if let Some(rest) = msg.strip_prefix(b"message repeated ") {
        return repeated(rest, out);
    }
    classify_inner(msg, out)
}

/// Solaris / illumos message ids: `[ID 800047 auth.info] Failed …`.
fn strip_solaris_id(msg: &[u8]) -> &[u8] {
    let Some(rest) = msg.strip_prefix(b"[ID ") else {
        return msg;
    };
    match memchr::memchr(b']', rest) {
        Some(i) => {
            let after = &rest[i + 1..];
            after.strip_prefix(b" ").unwrap_or(after)
        }
        None => msg,
    }
}

/// rsyslog: `message repeated N times: [ <msg>]`.
fn repeated<'a>(rest: &'a [u8], out: &mut Hit<'a>) -> Match {
    let n = digits_len(rest);
    let Some(count) = parse_u32(&rest[..n]) else {
        return Match::Unmatched;
    };
    let Some(inner) = rest[n..].strip_prefix(b" times: [") else {
        return Match::Unmatched;
    };
    let inner = inner.strip_suffix(b"]").unwrap_or(inner);
    let inner = inner.strip_prefix(b" ").unwrap_or(inner);
    let m = classify_inner(trim_end(inner), out);
    if matches!(m, Match::Hit | Match::Orphan) {
        out.count = out.count.saturating_mul(count.max(1));
    }
    m
}

fn classify_inner<'a>(msg: &'a [u8], out: &mut Hit<'a>) -> Match {
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
    if let Some(found) = dispatch(m, phase, out) {
        return found;
    }
    if let Some(found) = orphan(m, out).or_else(|| peer(m, out)) {
        return found;
    }
    if is_ignored(m) {
        Match::Ignored
    } else {
        Match::Unmatched
    }
}

/// The form whose prefix `m` starts with, chosen on the first byte so a line is compared with
/// at most three prefixes.
fn dispatch<'a>(m: &'a [u8], phase: Phase, out: &mut Hit<'a>) -> Option<Match> {
    let first = *m.first()?;
    let p = |prefix: &[u8]| m.strip_prefix(prefix);
    Some(match first {
        b'F' => auth_result(p(b"Failed ")?, Kind::Failed, out),
        b'A' => {
            if let Some(r) = p(b"Accepted ") {
                auth_result(r, Kind::Accepted, out)
            } else {
                address_maps(p(b"Address ")?, out)
            }
        }
        b'I' => invalid_user(p(b"Invalid user ")?, out),
        b'C' => {
            let r = p(b"Connection ")?;
            let r = r
                .strip_prefix(b"closed by ")
                .or_else(|| r.strip_prefix(b"reset by "))?;
            connection_end(r, phase, out)
        }
        b'D' => {
            if let Some(r) = p(b"Disconnected from ") {
                disconnected(r, phase, out)
            } else if let Some(r) = p(b"Disconnecting ") {
                disconnecting(r, out)
            } else {
                lead_probe(p(b"Did not receive identification string from ")?, out)
            }
        }
        b'R' => {
            if let Some(r) = p(b"Received disconnect from ") {
                received_disconnect(r, phase, out)
            } else {
                root_refused(p(b"ROOT LOGIN REFUSED FROM ")?, out)
            }
        }
        b'p' => pam_module(p(b"pam_")?, out),
        b'P' => {
            let r = p(b"PAM")?;
            if let Some(r) = r.strip_prefix(b": ") {
                pam_error(r, out)
            } else {
                pam_more(r.strip_prefix(b" ")?, out)
            }
        }
        b'a' => {
            if let Some(r) = p(b"authentication failure; ") {
                pam_fields(r, 1, out)
            } else {
                let r = p(b"administratively prohibited connection for ")?;
                for_user_from(r, Kind::InvalidUser, b"invalid user ", out)
            }
        }
        b'm' => {
            let r = p(b"maximum authentication attempts exceeded for ")?;
            for_user_from(r, Kind::MaxAttempts, b"invalid user ", out)
        }
        b'U' => {
            if let Some(r) = p(b"User ") {
                user_not_allowed(r, out)
            } else {
                lead_probe(p(b"Unable to negotiate with ")?, out)
            }
        }
        b'B' => bad_protocol(p(b"Bad protocol version identification ")?, out),
        // The obfuscated-handshake patch: `Magic value check failed (N) on obfuscated
        // handshake from IP port P`.
        b'M' => bad_protocol(p(b"Magic value check failed ")?, out),
        b'b' => connection_fatal(p(b"banner exchange: Connection from ")?, out),
        b's' => {
            if let Some(r) = p(b"ssh_dispatch_run_fatal: Connection ") {
                let r = r
                    .strip_prefix(b"from ")
                    .or_else(|| r.strip_prefix(b"to "))?;
                connection_fatal(r, out)
            } else {
                srclimit(p(b"srclimit_penalise: ")?, out)
            }
        }
        b'T' => timeout(p(b"Timeout before authentication for ")?, out),
        b'r' => {
            if let Some(r) = p(b"reverse mapping checking getaddrinfo for ") {
                reverse_mapping(r, out)
            } else {
                refused_connect(p(b"refused connect from ")?, out)
            }
        }
        b'd' => drop_connection(p(b"drop connection #")?, out),
        _ => return None,
    })
}

/// The pre-auth messages that leave the address out, with the kind each implies: scanners'
/// handshake failures are probes; `Disconnecting: Too many authentication failures[ for U]`
/// (before 7.5) is `max_attempts`; `input_userauth_request: invalid user U` is `invalid_user`.
fn orphan<'a>(m: &'a [u8], out: &mut Hit<'a>) -> Option<Match> {
    const PROBES: [&[u8]; 5] = [
        b"kex_exchange_identification: ",
        b"Read from socket failed",
        b"Unable to negotiate a key exchange method",
        b"no matching ",
        b"Bad remote protocol version identification",
    ];
    let mut hit = Hit::new(Kind::Probe, Host::Unknown, None);
    if let Some(rest) = m.strip_prefix(b"Disconnecting: Too many authentication failures") {
        hit.kind = Kind::MaxAttempts;
        match rest {
            [] => {}
            _ => hit.user = Some(rest.strip_prefix(b" for ")?),
        }
    } else if let Some(user) = m.strip_prefix(b"input_userauth_request: invalid user ") {
        hit = hit.user(user).invalid(true);
        hit.kind = Kind::InvalidUser;
    } else if !PROBES.iter().any(|p| m.starts_with(p)) {
        return None;
    }
    *out = hit;
    Some(Match::Orphan)
}

/// `Connection from IP port P[ on LIP port LP[ rdomain "x"]]` (VERBOSE), and the
/// `SSH: Server;Ltype: …;Remote: IP-PORT;…` lines of a logging patch: who this process serves.
fn peer<'a>(m: &'a [u8], out: &mut Hit<'a>) -> Option<Match> {
    let (host, port) = if let Some(rest) = m.strip_prefix(b"Connection from ") {
        let (host, port, after) = lead_host_port(rest)?;
        if !after.is_empty() && !after.starts_with(b" on ") {
            return None;
        }
        (host, port)
    } else {
        let rest = m.strip_prefix(b"SSH: Server;")?;
        let at = find(rest, b";Remote: ", 3)?;
        let field = &rest[at + 9..];
        let field = &field[..memchr::memchr(b';', field).unwrap_or(field.len())];
        let dash = memchr::memrchr(b'-', field)?;
        (parse_host(&field[..dash])?, parse_port(&field[dash + 1..]))
    };
    if !matches!(host, Host::Ip(_)) {
        return None;
    }
    *out = Hit::new(Kind::Probe, host, port);
    Some(Match::Peer)
}

/// Known sshd messages that carry no remote attacker information, grouped by first byte.
fn is_ignored(m: &[u8]) -> bool {
    let group: &[&[u8]] = match m.first() {
        Some(b'A') => &[b"Accepted key ", b"Authorized to "],
        Some(b'B') => &[
            b"Bad remote protocol version identification",
            b"Bad packet length",
        ],
        Some(b'C') => &[
            b"Close session: ",
            b"Connection from ",
            b"Changed root directory",
            b"Corrupted MAC",
        ],
        Some(b'D') => &[b"Disconnecting: ", b"Did not receive identification string"],
        Some(b'E') => &[b"Exiting on signal"],
        Some(b'F') => &[b"Failed to "],
        Some(b'M') => &[
            b"Maxstartups logging rate-limited",
            b"Missing privilege separation directory",
        ],
        Some(b'N') => &[b"Nasty PTR record"],
        Some(b'P') => &[
            b"Partial ",
            b"Postponed ",
            b"PerSourcePenalties logging rate-limited",
        ],
        Some(b'R') => &[
            b"Received signal ",
            b"Read from socket failed",
            b"Read error from remote host",
        ],
        Some(b'S') => &[
            b"Server listening on ",
            b"Starting session: ",
            b"Server will not fork",
            b"Set /proc/self/oom_score_adj",
        ],
        Some(b'T') => &[b"Transferred: ", b"Timeout, client not responding"],
        Some(b'U') => &[
            b"User child is on pid",
            b"Unable to negotiate a key exchange method",
        ],
        Some(b'W') => &[b"Write failed"],
        Some(b'b') => &[b"beginning MaxStartups throttling"],
        Some(b'e') => &[b"exited MaxStartups throttling"],
        Some(b'i') => &[b"input_userauth_request: "],
        Some(b'k') => &[b"kex_exchange_identification: "],
        Some(b'n') => &[b"no matching "],
        Some(b'r') => &[b"rexec line "],
        Some(b's') => &[b"session opened", b"session closed", b"subsystem request"],
        _ => return false,
    };
    group.iter().any(|p| m.starts_with(p))
}

/// `<method> for [invalid user ]U from IP port P ssh2[: info]` (Failed, Accepted).
fn auth_result<'a>(rest: &'a [u8], kind: Kind, out: &mut Hit<'a>) -> Match {
    let Some(i) = find(rest, b" for ", 1) else {
        return Match::Unmatched;
    };
    let method = &rest[..i];
    // A method is one word (`password`, `keyboard-interactive/pam`, `none`, …).
    if method.contains(&b' ') {
        return Match::Unmatched;
    }
    let after_for = &rest[i + 5..];
    let (invalid, who) = match after_for.strip_prefix(b"invalid user ") {
        Some(w) => (true, w),
        None => (false, after_for),
    };
    // The port is absent only in the oldest form, which then ends with the address.
    let Some(f) = rfind_from(who, false, auth_tail) else {
        return Match::Unmatched;
    };
    let mut hit = Hit::new(kind, f.host, f.port)
        .user(f.before)
        .invalid(invalid);
    hit.method = Some(method);
    out.put(hit)
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
fn for_user_from<'a>(rest: &'a [u8], kind: Kind, invalid_word: &[u8], out: &mut Hit<'a>) -> Match {
    let (invalid, who) = match rest.strip_prefix(invalid_word) {
        Some(w) => (true, w),
        None => (false, rest),
    };
    match rfind_from(who, false, |a| a.is_empty() || auth_tail(a)) {
        Some(f) => out.put(
            Hit::new(kind, f.host, f.port)
                .user(f.before)
                .invalid(invalid),
        ),
        None => Match::Unmatched,
    }
}

/// `Invalid user U from IP[ port P]` (U may be empty).
fn invalid_user<'a>(rest: &'a [u8], out: &mut Hit<'a>) -> Match {
    // An empty user leaves `Invalid user  from …`, so the rest starts with ` from `.
    if let Some(f) = rfind_from(rest, false, <[u8]>::is_empty) {
        return out.put(
            Hit::new(Kind::InvalidUser, f.host, f.port)
                .user(f.before)
                .invalid(true),
        );
    }
    if let Some(tail) = rest.strip_prefix(b"from ")
        && let Some((host, port, [])) = lead_host_port(tail)
    {
        return out.put(
            Hit::new(Kind::InvalidUser, host, port)
                .user(b"")
                .invalid(true),
        );
    }
    Match::Unmatched
}

/// `User U from H not allowed because …`; `User U not allowed because …` (no address).
fn user_not_allowed<'a>(rest: &'a [u8], out: &mut Hit<'a>) -> Match {
    let Some(i) = NOT_ALLOWED.rfind(rest) else {
        return Match::Unmatched;
    };
    match rfind_from(&rest[..i], false, <[u8]>::is_empty) {
        Some(FromPort {
            before, host, port, ..
        }) => out.put(
            Hit::new(Kind::InvalidUser, host, port)
                .user(before)
                .invalid(true),
        ),
        None => Match::Ignored,
    }
}

/// `ROOT LOGIN REFUSED FROM IP[ port P]`.
fn root_refused<'a>(rest: &'a [u8], out: &mut Hit<'a>) -> Match {
    match lead_host_port(rest) {
        Some((host, port, [])) => out.put(Hit::new(Kind::InvalidUser, host, port).user(b"root")),
        _ => Match::Unmatched,
    }
}

/// `Disconnecting <RID>: Too many authentication failures`; other reasons are ignored.
/// `Disconnecting <RID>: Change of username or service not allowed: …` is a client breaking
/// the protocol before authentication: a probe.
fn disconnecting<'a>(rest: &'a [u8], out: &mut Hit<'a>) -> Match {
    let (rid, kind) = if let Some(rid) = rest.strip_suffix(b": Too many authentication failures") {
        (rid, Kind::MaxAttempts)
    } else if let Some(i) = CHANGE_OF_USER.find(rest) {
        (&rest[..i], Kind::Probe)
    } else {
        return Match::Ignored;
    };
    match parse_rid(rid) {
        Some(r) => out.put(rid_hit(kind, r)),
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
fn connection_end<'a>(rest: &'a [u8], phase: Phase, out: &mut Hit<'a>) -> Match {
    match parse_rid(rest) {
        Some(r) if r.preamble == Preamble::User || phase == Phase::Postauth => Match::Ignored,
        Some(r) => out.put(rid_hit(Kind::Disconnect, r)),
        None => Match::Unmatched,
    }
}

/// `Disconnected from <RID>`: only the pre-auth ones count.
fn disconnected<'a>(rest: &'a [u8], phase: Phase, out: &mut Hit<'a>) -> Match {
    match parse_rid(rest) {
        Some(r) => match r.preamble {
            Preamble::User => Match::Ignored,
            Preamble::None if phase != Phase::Preauth => Match::Ignored,
            _ => out.put(rid_hit(Kind::Disconnect, r)),
        },
        None => Match::Unmatched,
    }
}

/// `Received disconnect from IP port P:CODE: msg` (7.2+) / `IP: CODE: msg` (older).
fn received_disconnect<'a>(rest: &'a [u8], phase: Phase, out: &mut Hit<'a>) -> Match {
    let Some((host, port, after)) = lead_host_port(rest) else {
        return Match::Unmatched;
    };
    if !after.starts_with(b":") && port.is_some() {
        return Match::Unmatched;
    }
    // Before 7.2 the pre-auth child's lines could lack the suffix; a client that gives up on
    // authentication says so in the reason.
    let gave_up = || AUTH_FAIL.find(after).is_some() || NO_METHODS.find(after).is_some();
    if phase != Phase::Preauth && !gave_up() {
        return Match::Ignored;
    }
    out.put(Hit::new(Kind::Disconnect, host, port))
}

/// A host at the start, optionally followed by ` port N`; a `:` glued to the host (old
/// `from IP: reason` forms) is left in the remainder.
#[inline]
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
fn lead_probe<'a>(rest: &'a [u8], out: &mut Hit<'a>) -> Match {
    match lead_host_port(rest) {
        Some((host, port, _)) => out.put(Hit::new(Kind::Probe, host, port)),
        None => Match::Unmatched,
    }
}

/// `Bad protocol version identification '<client text>' from IP port P`.
fn bad_protocol<'a>(rest: &'a [u8], out: &mut Hit<'a>) -> Match {
    match rfind_from(rest, false, <[u8]>::is_empty) {
        Some(f) => out.put(Hit::new(Kind::Probe, f.host, f.port)),
        None => Match::Unmatched,
    }
}

/// `<tag>: Connection from <RID>: <error>`: the remote id ends at the last `: ` that leaves a
/// parseable id (the id may hold a user name with `: ` in it; sshd's error texts have none).
fn connection_fatal<'a>(rest: &'a [u8], out: &mut Hit<'a>) -> Match {
    let mut end = rest.len();
    while let Some(i) = COLON_SPACE.rfind(&rest[..end]) {
        end = i;
        if let Some(r) = parse_rid(&rest[..i]) {
            let mut hit = rid_hit(Kind::Probe, r);
            if r.preamble == Preamble::User {
                hit.invalid_user = None;
            }
            return out.put(hit);
        }
    }
    Match::Unmatched
}

/// `Timeout before authentication for IP[ port P]` /
/// `… for connection from IP to LIP, pid = N` (9.8+).
fn timeout<'a>(rest: &'a [u8], out: &mut Hit<'a>) -> Match {
    let rest = rest.strip_prefix(b"connection from ").unwrap_or(rest);
    lead_probe(rest, out)
}

/// `reverse mapping checking getaddrinfo for NAME [IP] failed[ - POSSIBLE BREAK-IN ATTEMPT!]`.
fn reverse_mapping<'a>(rest: &'a [u8], out: &mut Hit<'a>) -> Match {
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
            out.put(hit)
        }
        _ => Match::Unmatched,
    }
}

/// `Address IP maps to NAME, but this does not map back to the address[ - POSSIBLE BREAK-IN…]`.
fn address_maps<'a>(rest: &'a [u8], out: &mut Hit<'a>) -> Match {
    let (tok, after) = split_token(rest);
    let Some(name_part) = after.strip_prefix(b" maps to ") else {
        return Match::Unmatched;
    };
    match parse_host(tok) {
        Some(host @ Host::Ip(_)) => {
            let mut hit = Hit::new(Kind::Probe, host, None);
            hit.name = memchr::memchr(b',', name_part).map(|i| &name_part[..i]);
            out.put(hit)
        }
        _ => Match::Unmatched,
    }
}

/// libwrap: `refused connect from NAME (IP)`.
fn refused_connect<'a>(rest: &'a [u8], out: &mut Hit<'a>) -> Match {
    let Some(inner) = rest.strip_suffix(b")") else {
        return Match::Unmatched;
    };
    let Some(open) = memchr::memrchr(b'(', inner) else {
        return Match::Unmatched;
    };
    match parse_host(&inner[open + 1..]) {
        Some(host) => out.put(Hit::new(Kind::Probe, host, None)),
        None => Match::Unmatched,
    }
}

/// `drop connection #N from [IP]:P on [LIP]:LP <reason>`.
fn drop_connection<'a>(rest: &'a [u8], out: &mut Hit<'a>) -> Match {
    let n = digits_len(rest);
    let Some(tail) = rest[n..].strip_prefix(b" from ") else {
        return Match::Unmatched;
    };
    let (tok, _) = split_token(tail);
    match parse_bracketed(tok) {
        Some((ip, port)) => out.put(Hit::new(Kind::Penalty, Host::Ip(ip), Some(port))),
        None => Match::Unmatched,
    }
}

/// `srclimit_penalise: ipv4: new 192.0.2.1/32 active penalty …` and
/// `srclimit_penalise: 192.0.2.1/32: activating ipv4 penalty …`: the first `addr/len` word.
fn srclimit<'a>(rest: &'a [u8], out: &mut Hit<'a>) -> Match {
    for word in rest.split(|&b| b == b' ').take(4) {
        let word = word.strip_suffix(b":").unwrap_or(word);
        if let Some(ip) = parse_prefix(word) {
            return out.put(Hit::new(Kind::Penalty, Host::Ip(ip), None));
        }
    }
    Match::Ignored
}

/// `pam_<module>(sshd:auth): authentication failure; … rhost=H[  user=U]`; other PAM module
/// lines (session opened, check pass, …) are ignored.
fn pam_module<'a>(rest: &'a [u8], out: &mut Hit<'a>) -> Match {
    let Some(i) = find(rest, b"): ", 0) else {
        return Match::Ignored;
    };
    match rest[i + 3..].strip_prefix(b"authentication failure; ") {
        Some(fields) => pam_fields(fields, 1, out),
        None => Match::Ignored,
    }
}

/// `PAM N more authentication failure[s]; … rhost=H[  user=U]`.
fn pam_more<'a>(rest: &'a [u8], out: &mut Hit<'a>) -> Match {
    let n = digits_len(rest);
    let Some(count) = parse_u32(&rest[..n]) else {
        return Match::Ignored;
    };
    let tail = &rest[n..];
    let fields = tail
        .strip_prefix(b" more authentication failures; ")
        .or_else(|| tail.strip_prefix(b" more authentication failure; "));
    match fields {
        Some(fields) => pam_fields(fields, count, out),
        None => Match::Unmatched,
    }
}

/// `logname= uid=0 euid=0 tty=ssh ruser= rhost=H  user=U`. The first `rhost=` is PAM's own
/// (the user name comes last and may contain anything); no or an empty rhost means a local login.
fn pam_fields<'a>(fields: &'a [u8], count: u32, out: &mut Hit<'a>) -> Match {
    let start = if fields.starts_with(b"rhost=") {
        0
    } else {
        match find(fields, b" rhost=", 2) {
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
    if let Some(i) = find(after, b" user=", 5) {
        hit.user = Some(&after[i + 6..]);
    }
    out.put(hit)
}

/// `PAM: <pam_strerror> for [illegal user ]U from H[ via LIP]`.
fn pam_error<'a>(rest: &'a [u8], out: &mut Hit<'a>) -> Match {
    // pam_strerror texts across Linux-PAM, OpenPAM (BSD/macOS) and their versions.
    const FAILURES: [&[u8]; 4] = [
        b"authentication failure",
        b"authentication error",
        b"user not known",
        b"unknown user",
    ];
    if !FAILURES
        .iter()
        .any(|f| rest.len() >= f.len() && rest[..f.len()].eq_ignore_ascii_case(f))
    {
        return Match::Ignored;
    }
    let Some(i) = find(rest, b" for ", 1) else {
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
            out.put(hit)
        }
        None => Match::Unmatched,
    }
}
