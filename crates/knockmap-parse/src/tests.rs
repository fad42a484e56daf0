//! Whole-line tests: envelope + message form → event, one test per form.

use std::net::IpAddr;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::*;

fn parser() -> Parser {
    Parser::new(ParseOptions {
        tz: TimeZone::UTC,
        year: None,
        anchor: "2026-11-30T00:00:00Z".parse().expect("anchor"),
    })
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// Parses `msg` behind a standard BSD envelope.
fn msg(m: &str) -> Parsed {
    line(format!("Nov 21 19:16:01 web-01 sshd[1234]: {m}").as_bytes())
}

fn line(l: &[u8]) -> Parsed {
    parser().parse(l)
}

#[track_caller]
fn event(m: &str) -> Event {
    match msg(m) {
        Parsed::Event(e) => e,
        other => panic!("expected an event for {m:?}, got {other:?}"),
    }
}

/// The fields that vary between forms, for compact assertions.
#[derive(Debug, PartialEq)]
struct Short {
    kind: Kind,
    ip: Option<IpAddr>,
    port: Option<u16>,
    user: Option<String>,
    invalid_user: Option<bool>,
    count: u32,
}

fn short(e: &Event) -> Short {
    Short {
        kind: e.kind,
        ip: e.ip,
        port: e.port,
        user: e.user.clone(),
        invalid_user: e.invalid_user,
        count: e.count,
    }
}

#[track_caller]
fn check(
    m: &str,
    kind: Kind,
    addr: &str,
    port: Option<u16>,
    user: Option<&str>,
    inv: Option<bool>,
) {
    let e = event(m);
    let want = Short {
        kind,
        ip: Some(ip(addr)),
        port,
        user: user.map(str::to_owned),
        invalid_user: inv,
        count: 1,
    };
    assert_eq!(short(&e), want, "{m}");
}

#[test]
fn envelope_fields_reach_the_event() {
    let e = event("Failed password for root from 203.0.113.7 port 51122 ssh2");
    assert_eq!(
        e.ts,
        "2026-11-21T19:16:01Z".parse::<Timestamp>().expect("ts")
    );
    assert_eq!(e.host.as_deref(), Some("web-01"));
    assert_eq!(e.pid, Some(1234));
    assert_eq!(e.method.as_deref(), Some("password"));
    assert_eq!(e.offset, None);
    let json = serde_json::to_string(&e).expect("json");
    assert_eq!(
        json,
        r#"{"ts":"2026-11-21T19:16:01Z","host":"web-01","pid":1234,"kind":"failed","ip":"203.0.113.7","port":51122,"user":"root","method":"password","invalid_user":false,"count":1}"#
    );
}

#[test]
fn failed_password() {
    check(
        "Failed password for root from 203.0.113.7 port 51122 ssh2",
        Kind::Failed,
        "203.0.113.7",
        Some(51122),
        Some("root"),
        Some(false),
    );
}

#[test]
fn failed_password_invalid_user() {
    check(
        "Failed password for invalid user admin from 192.168.1.2 port 51182 ssh2",
        Kind::Failed,
        "192.168.1.2",
        Some(51182),
        Some("admin"),
        Some(true),
    );
}

#[test]
fn failed_other_methods() {
    let e = event("Failed publickey for git from 198.51.100.1 port 22 ssh2: RSA SHA256:abc");
    assert_eq!(e.method.as_deref(), Some("publickey"));
    let e =
        event("Failed keyboard-interactive/pam for invalid user x from 198.51.100.1 port 22 ssh2");
    assert_eq!(e.method.as_deref(), Some("keyboard-interactive/pam"));
    assert_eq!(e.invalid_user, Some(true));
    let e = event("Failed none for invalid user  from 198.51.100.1 port 22 ssh2");
    assert_eq!(e.user, None, "empty user is absent");
    assert_eq!(e.method.as_deref(), Some("none"));
}

#[test]
fn accepted() {
    check(
        "Accepted publickey for vagrant from 192.168.121.1 port 56296 ssh2: RSA SHA256:1M4RzhMyWuFS/86uPY/ce2prh/dVTHW7iD2RhpquOZA",
        Kind::Accepted,
        "192.168.121.1",
        Some(56296),
        Some("vagrant"),
        Some(false),
    );
    let e = event("Accepted password for test from 10.0.0.102 port 56771 ssh2");
    assert_eq!(e.outcome(), Outcome::Success);
}

#[test]
fn invalid_user_line() {
    check(
        "Invalid user pascal from 35.188.49.176 port 53502",
        Kind::InvalidUser,
        "35.188.49.176",
        Some(53502),
        Some("pascal"),
        Some(true),
    );
    // Before 7.3: no port.
    check(
        "Invalid user pascal from 35.188.49.176",
        Kind::InvalidUser,
        "35.188.49.176",
        None,
        Some("pascal"),
        Some(true),
    );
    // Empty user name.
    check(
        "Invalid user  from 35.188.49.176 port 1",
        Kind::InvalidUser,
        "35.188.49.176",
        Some(1),
        None,
        Some(true),
    );
}

#[test]
fn user_not_allowed() {
    check(
        "User root from 192.168.1.1 not allowed because not listed in AllowUsers",
        Kind::InvalidUser,
        "192.168.1.1",
        None,
        Some("root"),
        Some(true),
    );
    let e = event("User bob from scanner.example.net not allowed because listed in DenyUsers");
    assert_eq!(
        (e.ip, e.rhost.as_deref()),
        (None, Some("scanner.example.net"))
    );
    assert_eq!(
        msg("User bob not allowed because account is locked"),
        Parsed::Ignored
    );
}

#[test]
fn root_login_refused() {
    check(
        "ROOT LOGIN REFUSED FROM 198.51.100.9 port 4444",
        Kind::InvalidUser,
        "198.51.100.9",
        Some(4444),
        Some("root"),
        None,
    );
    check(
        "ROOT LOGIN REFUSED FROM 198.51.100.9",
        Kind::InvalidUser,
        "198.51.100.9",
        None,
        Some("root"),
        None,
    );
}

#[test]
fn administratively_prohibited() {
    check(
        "administratively prohibited connection for invalid user x from 198.51.100.9 port 4",
        Kind::InvalidUser,
        "198.51.100.9",
        Some(4),
        Some("x"),
        Some(true),
    );
}

#[test]
fn maximum_authentication_attempts() {
    check(
        "error: maximum authentication attempts exceeded for invalid user admin from 198.51.100.9 port 4 ssh2 [preauth]",
        Kind::MaxAttempts,
        "198.51.100.9",
        Some(4),
        Some("admin"),
        Some(true),
    );
    check(
        "error: maximum authentication attempts exceeded for root from 198.51.100.9 port 4 ssh2 [preauth]",
        Kind::MaxAttempts,
        "198.51.100.9",
        Some(4),
        Some("root"),
        Some(false),
    );
    // Without the level prefix (sshd -e / stderr).
    check(
        "maximum authentication attempts exceeded for root from 198.51.100.9 port 4 ssh2 [preauth]",
        Kind::MaxAttempts,
        "198.51.100.9",
        Some(4),
        Some("root"),
        Some(false),
    );
}

#[test]
fn disconnecting_too_many_failures() {
    check(
        "Disconnecting authenticating user root 198.51.100.9 port 4: Too many authentication failures [preauth]",
        Kind::MaxAttempts,
        "198.51.100.9",
        Some(4),
        Some("root"),
        Some(false),
    );
    check(
        "Disconnecting invalid user test 198.51.100.9 port 4: Too many authentication failures [preauth]",
        Kind::MaxAttempts,
        "198.51.100.9",
        Some(4),
        Some("test"),
        Some(true),
    );
    assert_eq!(
        msg("Disconnecting: Too many authentication failures [preauth]"),
        Parsed::Ignored
    );
}

#[test]
fn connection_closed() {
    check(
        "Connection closed by 118.27.24.104 port 33594 [preauth]",
        Kind::Disconnect,
        "118.27.24.104",
        Some(33594),
        None,
        None,
    );
    check(
        "Connection closed by authenticating user root 206.81.24.125 port 45362 [preauth]",
        Kind::Disconnect,
        "206.81.24.125",
        Some(45362),
        Some("root"),
        Some(false),
    );
    check(
        "Connection closed by invalid user root 206.81.24.125 port 45362 [preauth]",
        Kind::Disconnect,
        "206.81.24.125",
        Some(45362),
        Some("root"),
        Some(true),
    );
    assert_eq!(
        msg("Connection closed by user bob 206.81.24.125 port 45362"),
        Parsed::Ignored
    );
}

#[test]
fn connection_reset() {
    check(
        "Connection reset by authenticating user root 80.94.92.63 port 49115 [preauth]",
        Kind::Disconnect,
        "80.94.92.63",
        Some(49115),
        Some("root"),
        Some(false),
    );
    check(
        "Connection reset by 80.94.92.63 port 49115",
        Kind::Disconnect,
        "80.94.92.63",
        Some(49115),
        None,
        None,
    );
}

#[test]
fn disconnected_from() {
    check(
        "Disconnected from invalid user ftp 92.255.85.135 port 26138 [preauth]",
        Kind::Disconnect,
        "92.255.85.135",
        Some(26138),
        Some("ftp"),
        Some(true),
    );
    check(
        "Disconnected from authenticating user root 179.43.183.98 port 59402 [preauth]",
        Kind::Disconnect,
        "179.43.183.98",
        Some(59402),
        Some("root"),
        Some(false),
    );
    check(
        "Disconnected from 179.43.183.98 port 59402 [preauth]",
        Kind::Disconnect,
        "179.43.183.98",
        Some(59402),
        None,
        None,
    );
    // Post-auth logout.
    assert_eq!(
        msg("Disconnected from user bob 192.0.2.4 port 50000"),
        Parsed::Ignored
    );
    assert_eq!(
        msg("Disconnected from totobad user ftp 92.255.85.135 port 26138 [preauth]"),
        Parsed::Unmatched
    );
}

#[test]
fn received_disconnect() {
    check(
        "Received disconnect from 203.0.113.7 port 40000:11: Bye Bye [preauth]",
        Kind::Disconnect,
        "203.0.113.7",
        Some(40000),
        None,
        None,
    );
    check(
        "error: Received disconnect from 2001:db8::7 port 40000:14: No supported authentication methods available [preauth]",
        Kind::Disconnect,
        "2001:db8::7",
        Some(40000),
        None,
        None,
    );
    check(
        "Received disconnect from 203.0.113.7: 11: Bye Bye [preauth]",
        Kind::Disconnect,
        "203.0.113.7",
        None,
        None,
        None,
    );
    check(
        "Received disconnect from 203.0.113.7 port 40000:11:  [preauth]",
        Kind::Disconnect,
        "203.0.113.7",
        Some(40000),
        None,
        None,
    );
    assert_eq!(
        msg("Received disconnect from 203.0.113.7 port 40000:11: disconnected by user"),
        Parsed::Ignored
    );
}

#[test]
fn pam_authentication_failure() {
    let e = event(
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=5.33.63.160  user=workshop",
    );
    assert_eq!(
        short(&e),
        Short {
            kind: Kind::PamFailure,
            ip: Some(ip("5.33.63.160")),
            port: None,
            user: Some("workshop".into()),
            invalid_user: None,
            count: 1
        }
    );
    let e = event(
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=5.33.63.161 ",
    );
    assert_eq!((e.ip, e.user), (Some(ip("5.33.63.161")), None));
    let e = event(
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=dyn.example.com  user=root",
    );
    assert_eq!((e.ip, e.rhost.as_deref()), (None, Some("dyn.example.com")));
    // Local (no rhost) failures are not about a remote address.
    assert_eq!(
        msg(
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost= "
        ),
        Parsed::Ignored
    );
    assert_eq!(
        msg("pam_unix(sshd:session): session opened for user bob(uid=1000) by (uid=0)"),
        Parsed::Ignored
    );
    assert_eq!(
        msg("pam_unix(sshd:auth): check pass; user unknown"),
        Parsed::Ignored
    );
}

#[test]
fn pam_old_program_name() {
    let Parsed::Event(e) = line(b"Nov 21 19:16:01 h sshd(pam_unix)[77]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=198.51.100.1  user=root") else { panic!("event") };
    assert_eq!(
        (e.kind, e.pid, e.ip),
        (Kind::PamFailure, Some(77), Some(ip("198.51.100.1")))
    );
}

#[test]
fn pam_more_failures() {
    let e = event(
        "PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=218.92.0.1  user=root",
    );
    assert_eq!(
        short(&e),
        Short {
            kind: Kind::PamFailure,
            ip: Some(ip("218.92.0.1")),
            port: None,
            user: Some("root".into()),
            invalid_user: None,
            count: 5
        }
    );
    let e = event(
        "PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=218.92.0.1",
    );
    assert_eq!(e.count, 1);
    assert_eq!(
        msg("PAM service(sshd) ignoring max retries; 6 > 3"),
        Parsed::Ignored
    );
}

#[test]
fn pam_error_for_user() {
    check(
        "error: PAM: Authentication failure for illegal user admin from 198.51.100.3",
        Kind::PamFailure,
        "198.51.100.3",
        None,
        Some("admin"),
        Some(true),
    );
    check(
        "error: PAM: Authentication failure for root from 198.51.100.3",
        Kind::PamFailure,
        "198.51.100.3",
        None,
        Some("root"),
        None,
    );
    check(
        "error: PAM: authentication error for root from 198.51.100.3 via 192.168.1.1",
        Kind::PamFailure,
        "198.51.100.3",
        None,
        Some("root"),
        None,
    );
}

#[test]
fn probe_no_identification() {
    check(
        "Did not receive identification string from 198.51.100.5 port 1",
        Kind::Probe,
        "198.51.100.5",
        Some(1),
        None,
        None,
    );
    check(
        "Did not receive identification string from 198.51.100.5",
        Kind::Probe,
        "198.51.100.5",
        None,
        None,
        None,
    );
}

#[test]
fn probe_bad_protocol_version() {
    check(
        "Bad protocol version identification 'GET / HTTP/1.1' from 198.51.100.5 port 2",
        Kind::Probe,
        "198.51.100.5",
        Some(2),
        None,
        None,
    );
    check(
        "Bad protocol version identification 'x' from 6.6.6.6 port 22' from 198.51.100.5 port 2",
        Kind::Probe,
        "198.51.100.5",
        Some(2),
        None,
        None,
    );
}

#[test]
fn probe_banner_exchange() {
    check(
        "banner exchange: Connection from 59.91.122.57 port 34388: invalid format",
        Kind::Probe,
        "59.91.122.57",
        Some(34388),
        None,
        None,
    );
    check(
        "banner exchange: Connection from 59.91.122.57 port 34388: invalid format [preauth]",
        Kind::Probe,
        "59.91.122.57",
        Some(34388),
        None,
        None,
    );
    assert_eq!(
        msg("error: kex_exchange_identification: banner line too long"),
        Parsed::Ignored
    );
}

#[test]
fn probe_unable_to_negotiate() {
    check(
        "Unable to negotiate with 123.57.135.134 port 45626: no matching key exchange method found. Their offer: diffie-hellman-group14-sha1 [preauth] ",
        Kind::Probe,
        "123.57.135.134",
        Some(45626),
        None,
        None,
    );
    check(
        "fatal: Unable to negotiate with 2001:db8::5: no matching cipher found. Their offer: x from 6.6.6.6 port 1 [preauth]",
        Kind::Probe,
        "2001:db8::5",
        None,
        None,
        None,
    );
}

#[test]
fn probe_dispatch_fatal() {
    check(
        "ssh_dispatch_run_fatal: Connection from 192.168.9.213 port 48680: message authentication code incorrect [preauth]",
        Kind::Probe,
        "192.168.9.213",
        Some(48680),
        None,
        None,
    );
    check(
        "fatal: ssh_dispatch_run_fatal: Connection from invalid user a: b 192.168.9.213 port 48680: Connection corrupted [preauth]",
        Kind::Probe,
        "192.168.9.213",
        Some(48680),
        Some("a: b"),
        Some(true),
    );
    check(
        "fatal: ssh_dispatch_run_fatal: Connection to 192.168.9.213: Connection corrupted [preauth]",
        Kind::Probe,
        "192.168.9.213",
        None,
        None,
        None,
    );
}

#[test]
fn probe_timeout() {
    check(
        "fatal: Timeout before authentication for 192.168.9.212 port 47056",
        Kind::Probe,
        "192.168.9.212",
        Some(47056),
        None,
        None,
    );
    check(
        "Timeout before authentication for connection from 192.168.9.212 to 10.0.0.1, pid = 4242",
        Kind::Probe,
        "192.168.9.212",
        None,
        None,
        None,
    );
}

#[test]
fn probe_dns_and_libwrap() {
    let e = event(
        "reverse mapping checking getaddrinfo for bad.example.com [198.51.100.7] failed - POSSIBLE BREAK-IN ATTEMPT!",
    );
    assert_eq!(
        (e.kind, e.ip, e.rhost.as_deref()),
        (
            Kind::Probe,
            Some(ip("198.51.100.7")),
            Some("bad.example.com")
        )
    );
    let e = event(
        "Address 198.51.100.7 maps to bad.example.com, but this does not map back to the address.",
    );
    assert_eq!(
        (e.kind, e.ip, e.rhost.as_deref()),
        (
            Kind::Probe,
            Some(ip("198.51.100.7")),
            Some("bad.example.com")
        )
    );
    check(
        "refused connect from example.com (192.168.1.1)",
        Kind::Probe,
        "192.168.1.1",
        None,
        None,
        None,
    );
    check(
        "refused connect from _U2FsdGVkX19P3BCJmFBHhjLza8BcMH06WCUVwttMHpE=_@::ffff:192.168.1.1 (::ffff:192.168.1.1)",
        Kind::Probe,
        "192.168.1.1",
        None,
        None,
        None,
    );
}

#[test]
fn penalty_drop_connection() {
    check(
        "drop connection #3 from [198.51.100.8]:50022 on [10.0.0.1]:22 penalty: failed authentication",
        Kind::Penalty,
        "198.51.100.8",
        Some(50022),
        None,
        None,
    );
    check(
        "drop connection #0 from [2001:db8::8]:50022 on [2001:db8::1]:22 past MaxStartups",
        Kind::Penalty,
        "2001:db8::8",
        Some(50022),
        None,
        None,
    );
    check(
        "srclimit_penalise: ipv4: new 192.0.2.1/32 active penalty of 30.000 seconds for penalty: failed authentication",
        Kind::Penalty,
        "192.0.2.1",
        None,
        None,
        None,
    );
    check(
        "srclimit_penalise: 192.0.2.1/32: activating ipv4 penalty of 15.760 seconds for penalty: x",
        Kind::Penalty,
        "192.0.2.1",
        None,
        None,
        None,
    );
}

#[test]
fn message_repeated() {
    let e = event(
        "message repeated 4 times: [ Failed password for root from 203.0.113.7 port 51122 ssh2]",
    );
    assert_eq!(
        (e.kind, e.count, e.ip),
        (Kind::Failed, 4, Some(ip("203.0.113.7")))
    );
    assert_eq!(e.user.as_deref(), Some("root"));
}

#[test]
fn bsd_last_message_repeated() {
    let mut p = parser();
    let first = p.parse(
        b"Nov 21 19:16:01 web-01 sshd[1]: Failed password for root from 203.0.113.7 port 1 ssh2",
    );
    assert!(matches!(first, Parsed::Event(_)));
    let Parsed::Event(e) = p.parse(b"Nov 21 19:16:31 web-01 last message repeated 3 times") else {
        panic!("event")
    };
    assert_eq!((e.count, e.kind), (3, Kind::Failed));
    assert_eq!(
        e.ts,
        "2026-11-21T19:16:31Z".parse::<Timestamp>().expect("ts")
    );
    p.parse(b"Nov 21 19:16:40 web-01 cron[5]: something");
    assert_eq!(
        p.parse(b"Nov 21 19:17:00 web-01 last message repeated 2 times"),
        Parsed::NotSshd
    );
}

#[test]
fn ignored_lines() {
    for m in [
        "Server listening on 0.0.0.0 port 22.",
        "Received signal 15; terminating.",
        "pam_unix(sshd:session): session closed for user bob",
        "Disconnected from user bob 192.0.2.4 port 50000",
        "Received disconnect from 192.0.2.4 port 50000:11: disconnected by user",
        "Connection from 192.0.2.4 port 50000 on 10.0.0.1 port 22 rdomain \"\"",
        "Postponed keyboard-interactive for root from 192.0.2.4 port 1 ssh2 [preauth]",
        "Close session: user ansible from 192.168.1.1 port 34928 id 0",
    ] {
        assert_eq!(msg(m), Parsed::Ignored, "{m}");
    }
}

#[test]
fn unmatched_lines() {
    assert_eq!(msg("something brand new"), Parsed::Unmatched);
    assert_eq!(msg(""), Parsed::Unmatched);
}

#[test]
fn unknown_address_is_ignored() {
    assert_eq!(
        msg("Connection closed by UNKNOWN port 65535 [preauth]"),
        Parsed::Ignored
    );
    assert_eq!(
        msg("Did not receive identification string from UNKNOWN port 65535"),
        Parsed::Ignored
    );
}

#[test]
fn other_programs_are_not_sshd() {
    assert_eq!(
        line(b"Nov 21 19:16:01 web-01 sudo[5]: Failed password for root from 1.2.3.4 port 1 ssh2"),
        Parsed::NotSshd
    );
    assert_eq!(
        line(b"Nov 21 19:16:01 web-01 CRON[5]: pam_unix(cron:session): session opened"),
        Parsed::NotSshd
    );
    assert_eq!(line(b"random text"), Parsed::NotSshd);
    assert_eq!(line(b""), Parsed::NotSshd);
}

#[test]
fn program_name_variants() {
    for tag in ["sshd[9]", "sshd-session[9]", "sshd-auth[9]", "sshd"] {
        let l = format!("Nov 21 19:16:01 h {tag}: Invalid user a from 192.0.2.1 port 2");
        assert!(matches!(line(l.as_bytes()), Parsed::Event(_)), "{tag}");
    }
}

#[test]
fn rfc3339_envelope() {
    let Parsed::Event(e) = line(b"2023-11-14T00:20:42.738197+01:00 myserver sshd[1112652]: User root from 192.168.1.1 not allowed because not listed in AllowUsers") else { panic!("event") };
    assert_eq!(
        e.ts,
        "2023-11-13T23:20:42.738197Z"
            .parse::<Timestamp>()
            .expect("ts")
    );
    assert_eq!(
        (e.host.as_deref(), e.pid),
        (Some("myserver"), Some(1112652))
    );
    assert_eq!(
        serde_json::to_value(&e).expect("json")["ts"],
        "2023-11-13T23:20:42.738197Z"
    );
}

#[test]
fn rfc5424_envelope() {
    let Parsed::Event(e) = line(b"<38>1 2022-01-19T14:23:55+00:00 OPNsense.localdomain sshd 44255 - [meta sequenceId=\"1\"] Invalid user tutu from 1.2.3.4 port 33166") else { panic!("event") };
    assert_eq!(
        e.ts,
        "2022-01-19T14:23:55Z".parse::<Timestamp>().expect("ts")
    );
    assert_eq!(
        (e.host.as_deref(), e.pid, e.ip),
        (
            Some("OPNsense.localdomain"),
            Some(44255),
            Some(ip("1.2.3.4"))
        )
    );
    assert_eq!(
        line(b"<38>1 2022-01-19T14:23:55Z h cron 1 - - Invalid user x from 1.2.3.4"),
        Parsed::NotSshd
    );
}

#[test]
fn bsd_zone_is_applied() {
    let mut p = Parser::new(ParseOptions {
        tz: TimeZone::get("Europe/Berlin").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(1))),
        year: Some(2026),
        anchor: Timestamp::UNIX_EPOCH,
    });
    let Parsed::Event(e) =
        p.parse(b"Nov  1 12:34:56 h sshd[1]: Invalid user a from 192.0.2.1 port 2")
    else {
        panic!("event")
    };
    assert_eq!(
        e.ts,
        "2026-11-01T11:34:56Z".parse::<Timestamp>().expect("ts")
    );
}

#[test]
fn year_rollover() {
    let mut p = Parser::new(ParseOptions {
        tz: TimeZone::UTC,
        year: None,
        anchor: "2026-01-02T00:00:00Z".parse().expect("anchor"),
    });
    let Parsed::Event(e) =
        p.parse(b"Dec 31 23:59:59 h sshd[1]: Invalid user a from 192.0.2.1 port 2")
    else {
        panic!("event")
    };
    assert_eq!(
        e.ts,
        "2025-12-31T23:59:59Z".parse::<Timestamp>().expect("ts")
    );
    let Parsed::Event(e) =
        p.parse(b"Jan  2 10:00:00 h sshd[1]: Invalid user a from 192.0.2.1 port 2")
    else {
        panic!("event")
    };
    assert_eq!(
        e.ts,
        "2026-01-02T10:00:00Z".parse::<Timestamp>().expect("ts")
    );
}

#[test]
fn feb_29() {
    let mut p = Parser::new(ParseOptions {
        tz: TimeZone::UTC,
        year: None,
        anchor: "2027-03-01T00:00:00Z".parse().expect("anchor"),
    });
    let Parsed::Event(e) =
        p.parse(b"Feb 29 06:00:00 h sshd[1]: Invalid user a from 192.0.2.1 port 2")
    else {
        panic!("event")
    };
    assert_eq!(
        e.ts,
        "2024-02-29T06:00:00Z".parse::<Timestamp>().expect("ts")
    );
    // An impossible date in an sshd line is unmatched, not a panic.
    assert_eq!(
        p.parse(b"Feb 30 06:00:00 h sshd[1]: Invalid user a from 192.0.2.1 port 2"),
        Parsed::Unmatched
    );
}

#[test]
fn ipv6_forms() {
    check(
        "Failed password for root from 2001:0db8:0:0::1 port 2 ssh2",
        Kind::Failed,
        "2001:db8::1",
        Some(2),
        Some("root"),
        Some(false),
    );
    let e = event("Failed password for root from 2001:0db8:0:0::1 port 2 ssh2");
    assert_eq!(e.ip.map(|a| a.to_string()).as_deref(), Some("2001:db8::1"));
    check(
        "Failed password for root from ::ffff:198.51.100.2 port 2 ssh2",
        Kind::Failed,
        "198.51.100.2",
        Some(2),
        Some("root"),
        Some(false),
    );
    let e = event("Failed password for root from ::ffff:198.51.100.2 port 2 ssh2");
    assert_eq!(e.ip.map(|a| a.to_string()).as_deref(), Some("198.51.100.2"));
    check(
        "Invalid user x from fe80::1%eth0 port 22",
        Kind::InvalidUser,
        "fe80::1",
        Some(22),
        Some("x"),
        Some(true),
    );
}

#[test]
fn forged_address_in_user_name() {
    check(
        "Failed password for invalid user root from 6.6.6.6 port 22 from 198.51.100.1 port 5 ssh2",
        Kind::Failed,
        "198.51.100.1",
        Some(5),
        Some("root from 6.6.6.6 port 22"),
        Some(true),
    );
    check(
        "Failed password for invalid user root from 6.6.6.6 port 22 ssh2 from 198.51.100.1 port 5 ssh2",
        Kind::Failed,
        "198.51.100.1",
        Some(5),
        Some("root from 6.6.6.6 port 22 ssh2"),
        Some(true),
    );
    check(
        "Invalid user root from 6.6.6.6 port 22 from 198.51.100.1 port 5",
        Kind::InvalidUser,
        "198.51.100.1",
        Some(5),
        Some("root from 6.6.6.6 port 22"),
        Some(true),
    );
    check(
        "Connection closed by invalid user x 6.6.6.6 port 22 198.51.100.1 port 5 [preauth]",
        Kind::Disconnect,
        "198.51.100.1",
        Some(5),
        Some("x 6.6.6.6 port 22"),
        Some(true),
    );
    check(
        "User a from 6.6.6.6 not allowed because x from 198.51.100.1 not allowed because not listed in AllowUsers",
        Kind::InvalidUser,
        "198.51.100.1",
        None,
        Some("a from 6.6.6.6 not allowed because x"),
        Some(true),
    );
    let e = event(
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.1  user=x rhost=6.6.6.6",
    );
    assert_eq!(
        (e.ip, e.user.as_deref()),
        (Some(ip("198.51.100.1")), Some("x rhost=6.6.6.6"))
    );
}

#[test]
fn hostile_user_kept_exactly() {
    let user = "<img src=x onerror=alert(1)>";
    check(
        &format!("Failed password for invalid user {user} from 198.51.100.1 port 5 ssh2"),
        Kind::Failed,
        "198.51.100.1",
        Some(5),
        Some(user),
        Some(true),
    );
    check(
        &format!("Invalid user {user} from 198.51.100.1 port 5"),
        Kind::InvalidUser,
        "198.51.100.1",
        Some(5),
        Some(user),
        Some(true),
    );
}

#[test]
fn invalid_utf8_user_is_escaped() {
    let Parsed::Event(e) = line(b"Nov 21 19:16:01 h sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.1  user=r\xf6\xf6t") else { panic!("event") };
    assert_eq!(e.user.as_deref(), Some("r\\xf6\\xf6t"));
    let Parsed::Event(e) =
        line("Nov 21 19:16:01 h sshd[1]: Invalid user rööt from 198.51.100.1 port 2".as_bytes())
    else {
        panic!("event")
    };
    assert_eq!(e.user.as_deref(), Some("rööt"));
    // sshd's own octal escapes are kept as logged.
    check(
        "Invalid user llinco\\361ir from 198.51.100.1 port 2",
        Kind::InvalidUser,
        "198.51.100.1",
        Some(2),
        Some("llinco\\361ir"),
        Some(true),
    );
}

#[test]
fn oversized_line() {
    let mut l = b"Nov 21 19:16:01 h sshd[1]: Invalid user ".to_vec();
    l.extend(std::iter::repeat_n(b'a', MAX_LINE));
    l.extend_from_slice(b" from 198.51.100.1 port 2");
    assert_eq!(line(&l), Parsed::Unmatched);
}

#[test]
fn trailing_newline_tolerated() {
    assert!(matches!(
        line(b"Nov 21 19:16:01 h sshd[1]: Invalid user a from 192.0.2.1 port 2\r\n"),
        Parsed::Event(_)
    ));
}

#[test]
fn garbage_never_panics() {
    // A cheap deterministic sweep over prefixes and byte mutations of real lines.
    let seeds: &[&[u8]] = &[
        b"Nov 21 19:16:01 h sshd[1]: Failed password for invalid user a from 2001:db8::1 port 2 ssh2",
        b"<38>1 2022-01-19T14:23:55+00:00 h sshd 1 - [m a=\"\\]\"] Disconnecting invalid user x 1.2.3.4 port 5: Too many authentication failures [preauth]",
        b"2023-11-14T00:20:42.738197+01:00 h sshd[1]: message repeated 2 times: [ drop connection #1 from [::1]:2 on [::1]:22 penalty: x]",
        b"Nov 21 19:16:01 h sshd[1]: PAM 3 more authentication failures; rhost=1.2.3.4  user=\xff",
    ];
    let mut p = parser();
    let mut state: u32 = 12345;
    for seed in seeds {
        for cut in 0..=seed.len() {
            let _ = p.parse(&seed[..cut]);
        }
        for _ in 0..2000 {
            let mut l = seed.to_vec();
            for _ in 0..3 {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let pos = (state >> 8) as usize % l.len();
                l[pos] = (state >> 16) as u8;
            }
            let _ = p.parse(&l);
        }
    }
}

#[test]
fn iso_offset_variants() {
    for (l, want) in [
        (
            &b"2026-11-21T19:16:01+0100 h sshd[1]: Invalid user a from 192.0.2.1 port 2"[..],
            "2026-11-21T18:16:01Z",
        ),
        (
            b"2026-11-21T19:16:01.5Z h sshd[1]: Invalid user a from 192.0.2.1 port 2",
            "2026-11-21T19:16:01.5Z",
        ),
        // No offset: read in the configured zone (UTC here).
        (
            b"2026-11-21T19:16:01 h sshd[1]: Invalid user a from 192.0.2.1 port 2",
            "2026-11-21T19:16:01Z",
        ),
    ] {
        let Parsed::Event(e) = line(l) else {
            panic!("event: {}", String::from_utf8_lossy(l))
        };
        assert_eq!(e.ts, want.parse::<Timestamp>().expect("ts"));
    }
}

#[test]
fn bsd_fractional_seconds() {
    let Parsed::Event(e) =
        line(b"Nov 21 19:16:01.250 h sshd[1]: Invalid user a from 192.0.2.1 port 2")
    else {
        panic!("event")
    };
    assert_eq!(
        e.ts,
        "2026-11-21T19:16:01.25Z".parse::<Timestamp>().expect("ts")
    );
}

#[test]
fn rfc5424_message_repeated_and_host_absent() {
    let Parsed::Event(e) = line(b"<38>1 2026-01-01T00:00:00Z - sshd - - - message repeated 2 times: [ Failed password for root from 192.0.2.1 port 2 ssh2]") else { panic!("event") };
    assert_eq!((e.host, e.pid, e.count), (None, None, 2));
}

#[track_caller]
fn line_event(l: &[u8]) -> Event {
    match line(l) {
        Parsed::Event(e) => e,
        other => panic!("{}: {other:?}", String::from_utf8_lossy(l)),
    }
}

#[test]
fn newer_forms() {
    check(
        "Magic value check failed (4289475479) on obfuscated handshake from 94.232.46.213 port 62730",
        Kind::Probe,
        "94.232.46.213",
        Some(62730),
        None,
        None,
    );
    check(
        "error: PAM: authentication failure for james from 205.186.180.88 via 192.168.1.201",
        Kind::PamFailure,
        "205.186.180.88",
        None,
        Some("james"),
        None,
    );
    check(
        "Failed password for invalid user ROOT from 2001:db8::1",
        Kind::Failed,
        "2001:db8::1",
        None,
        Some("ROOT"),
        Some(true),
    );
    check(
        "Disconnecting invalid user admin 192.0.2.117 port 44004: Change of username or service not allowed: (admin,ssh-connection) -> (user,ssh-connection) [preauth]",
        Kind::Probe,
        "192.0.2.117",
        Some(44004),
        Some("admin"),
        Some(true),
    );
    check(
        "[ID 800047 auth.info] Failed keyboard-interactive for <invalid username> from 205.186.180.55 port 42742 ssh2",
        Kind::Failed,
        "205.186.180.55",
        Some(42742),
        Some("<invalid username>"),
        Some(false),
    );
}

#[test]
fn bsd_syslogd_verbose_busybox_metalog() {
    for l in [
        &b"Apr  2 17:51:32 <4.6> pancake sshd[55628]: Invalid user r00t from 192.0.2.100"[..],
        b"Mar 19 23:48:18 <auth.info> pancake sshd[55517]: Invalid user r00t from 192.0.2.100",
        b"Mar 19 23:48:18 pancake auth.info sshd[55517]: Invalid user r00t from 192.0.2.100",
        b"Mar  3 00:17:22 [sshd] Invalid user r00t from 192.0.2.100",
        b"Mar  3 00:17:22 [sshd]: Invalid user r00t from 192.0.2.100",
        b"2015-05-27T04:31:27.46667 auth.info: Invalid user r00t from 192.0.2.100",
    ] {
        let e = line_event(l);
        assert_eq!((e.kind, e.ip), (Kind::InvalidUser, Some(ip("192.0.2.100"))));
    }
    assert_eq!(
        line(b"Mar 19 23:48:18 pancake auth.info cron[1]: Invalid user r00t from 192.0.2.100"),
        Parsed::NotSshd
    );
    let mut p = parser();
    p.parse(b"Sep 21 22:03:07 [sshd] Invalid user toto from 192.0.2.185");
    let Parsed::Event(e) = p.parse(b"                - Last output repeated twice -") else {
        panic!("metalog repeat")
    };
    assert_eq!((e.count, e.ip), (2, Some(ip("192.0.2.185"))));
    let Parsed::Event(e) = p.parse(b"- Last output repeated 5 times -") else {
        panic!("metalog repeat")
    };
    assert_eq!(e.count, 5);
}

#[test]
fn lines_without_a_timestamp() {
    let anchor: Timestamp = "2026-11-30T00:00:00Z".parse().expect("ts");
    let e = line_event(b"srv sshd[13709]: Failed password for root from 192.0.2.6 port 2 ssh2");
    assert_eq!(
        (e.ts, e.host.as_deref(), e.pid),
        (anchor, Some("srv"), Some(13709))
    );
    let e = line_event(b"sshd[1]: Invalid user a from 192.0.2.6");
    assert_eq!((e.host, e.pid), (None, Some(1)));
    // `sshd -e` on stderr: the bare message.
    let e = line_event(b"Connection closed by invalid user a 192.0.2.6 port 2 [preauth]");
    assert_eq!((e.kind, e.ts, e.pid), (Kind::Disconnect, anchor, None));
    // Bare text that is not an sshd form about an address is not claimed.
    assert_eq!(
        line(b"Server listening on 0.0.0.0 port 22."),
        Parsed::NotSshd
    );
    assert_eq!(
        line(b"pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser= rhost=192.0.2.9"),
        Parsed::NotSshd
    );
    assert_eq!(
        line(b"srv cron[1]: Invalid user a from 192.0.2.6"),
        Parsed::NotSshd
    );
    let mut p = parser();
    p.set_anchor("2026-12-01T10:00:00Z".parse().expect("ts"));
    let Parsed::Event(e) = p.parse(b"Invalid user a from 192.0.2.6") else {
        panic!("bare")
    };
    assert_eq!(
        e.ts,
        "2026-12-01T10:00:00Z".parse::<Timestamp>().expect("ts")
    );
}

#[test]
fn journald_json() {
    let l = br#"{"__REALTIME_TIMESTAMP":"1764460800000000","_SOURCE_REALTIME_TIMESTAMP":"1764460799123456","_HOSTNAME":"web-01","SYSLOG_IDENTIFIER":"sshd-session","_PID":"42","SYSLOG_PID":"41","MESSAGE":"Failed password for \"root\" from 192.0.2.7 port 22 ssh2"}"#;
    let e = line_event(l);
    assert_eq!(
        (e.ts, e.host.as_deref(), e.pid, e.user.as_deref()),
        (
            "2025-11-29T23:59:59.123456Z"
                .parse::<Timestamp>()
                .expect("ts"),
            Some("web-01"),
            Some(41),
            Some("\"root\"")
        )
    );
    let l = br#"{"__REALTIME_TIMESTAMP":"1764460800000000","SYSLOG_IDENTIFIER":"sshd","_PID":"42","MESSAGE":[73,110,118,97,108,105,100,32,117,115,101,114,32,255,32,102,114,111,109,32,49,57,50,46,48,46,50,46,55]}"#;
    let e = line_event(l);
    assert_eq!((e.pid, e.user.as_deref()), (Some(42), Some("\\xff")));
    assert_eq!(
        line(br#"{"SYSLOG_IDENTIFIER":"CRON","MESSAGE":"Invalid user a from 192.0.2.7"}"#),
        Parsed::NotSshd
    );
    assert_eq!(line(b"{not json"), Parsed::NotSshd);
}

/// `logger -t sshd` writes an entry claiming sshd; journald's `_COMM`/`_EXE` show the truth.
#[test]
fn journald_forged_sshd_entries_give_nothing() {
    let msg = r#""MESSAGE":"Failed password for root from 192.0.2.66 port 22 ssh2""#;
    for (fields, event) in [
        (r#""SYSLOG_IDENTIFIER":"sshd""#, true),
        (
            r#""SYSLOG_IDENTIFIER":"sshd","_COMM":"sshd","_EXE":"/usr/sbin/sshd""#,
            true,
        ),
        (
            r#""SYSLOG_IDENTIFIER":"sshd-session","_COMM":"sshd-session","_EXE":"/usr/lib/openssh/sshd-session""#,
            true,
        ),
        (
            r#""SYSLOG_IDENTIFIER":"sshd","_COMM":"logger","_EXE":"/usr/bin/logger""#,
            false,
        ),
        (r#""SYSLOG_IDENTIFIER":"sshd-auth","_COMM":"sh""#, false),
        (
            r#""SYSLOG_IDENTIFIER":"sshd","_COMM":"sshd","_EXE":"/usr/bin/perl""#,
            false,
        ),
    ] {
        let l = format!("{{{fields},{msg}}}");
        let parsed = line(l.as_bytes());
        if event {
            let Parsed::Event(e) = parsed else {
                panic!("{l}: {parsed:?}")
            };
            assert_eq!(e.user.as_deref(), Some("root"), "{l}");
        } else {
            assert_eq!(parsed, Parsed::NotSshd, "{l}");
        }
    }
}

/// Messages without an address take the one an earlier line of the same sshd process gave.
#[test]
fn pid_correlation() {
    let mut p = parser();
    let l = |m: &str, pid: u32| format!("Nov 21 19:16:01 web-01 sshd[{pid}]: {m}");
    // Nothing known yet: ignored.
    for m in [
        "error: kex_exchange_identification: Connection closed by remote host",
        "Disconnecting: Too many authentication failures [preauth]",
    ] {
        assert_eq!(p.parse(l(m, 77).as_bytes()), Parsed::Ignored, "{m}");
    }
    assert_eq!(
        p.parse(
            l(
                "Connection from 192.0.2.9 port 4242 on 10.0.0.1 port 22",
                77
            )
            .as_bytes()
        ),
        Parsed::Ignored
    );
    for (m, kind, user) in [
        (
            "error: kex_exchange_identification: client sent invalid protocol identifier \"\"",
            Kind::Probe,
            None,
        ),
        (
            "fatal: Read from socket failed: Connection reset by peer [preauth]",
            Kind::Probe,
            None,
        ),
        (
            "fatal: Unable to negotiate a key exchange method [preauth]",
            Kind::Probe,
            None,
        ),
        (
            "fatal: no matching mac found: client hmac-x server hmac-y [preauth]",
            Kind::Probe,
            None,
        ),
        (
            "Disconnecting: Too many authentication failures [preauth]",
            Kind::MaxAttempts,
            None,
        ),
        (
            "Disconnecting: Too many authentication failures for root [preauth]",
            Kind::MaxAttempts,
            Some("root"),
        ),
        (
            "input_userauth_request: invalid user oracle [preauth]",
            Kind::InvalidUser,
            Some("oracle"),
        ),
    ] {
        let Parsed::Event(e) = p.parse(l(m, 77).as_bytes()) else {
            panic!("event: {m}")
        };
        assert_eq!(
            (e.kind, e.ip, e.port, e.user.as_deref(), e.pid),
            (kind, Some(ip("192.0.2.9")), Some(4242), user, Some(77)),
            "{m}"
        );
    }
    // Another process, or the same pid on another host: not tied.
    let m = "fatal: Read from socket failed: Connection reset by peer [preauth]";
    assert_eq!(p.parse(l(m, 78).as_bytes()), Parsed::Ignored);
    assert_eq!(
        p.parse(format!("Nov 21 19:16:01 web-02 sshd[77]: {m}").as_bytes()),
        Parsed::Ignored
    );
    // An event line names the peer too; a later one of the same pid replaces it.
    p.parse(l("Failed password for root from 198.51.100.3 port 5 ssh2", 77).as_bytes());
    let Parsed::Event(e) = p.parse(l(m, 77).as_bytes()) else {
        panic!("event")
    };
    assert_eq!(e.ip, Some(ip("198.51.100.3")));
    // Long after: the pid may belong to another connection by now.
    let late = format!("Nov 21 20:16:01 web-01 sshd[77]: {m}");
    assert_eq!(p.parse(late.as_bytes()), Parsed::Ignored);
    // `classify` agrees.
    p.parse(l("Connection from 192.0.2.9 port 4242", 90).as_bytes());
    assert_eq!(p.classify(l(m, 90).as_bytes()), Class::Event(Kind::Probe));
}

#[test]
fn date_and_time_apart_no_colon_and_socklog_inside() {
    for (l, want) in [
        (
            &b"2018-06-26 13:22:02.108781500 Failed password for woold from 10.10.10.76 port 34718 ssh2"[..],
            "10.10.10.76",
        ),
        (
            b"2018-12-20 10:09:05.180218+0000 localhost sshd[67566]: Invalid user git from 185.52.1.9 port 35968",
            "185.52.1.9",
        ),
        (
            b"2020-05-29T11:28:56.058908+02:00 bastion sshd[20974] error: PAM: Authentication error for illegal user plop from 10.11.12.13",
            "10.11.12.13",
        ),
        (
            b"2015-05-27T04:31:28.10040 auth.info: May 27 04:31:28 sshd[30993]: Invalid user admin from 1.2.3.4",
            "1.2.3.4",
        ),
        (
            b"2015-05-27T04:31:28.10040 auth.info: sshd[30993]:  Invalid user admin from 1.2.3.4",
            "1.2.3.4",
        ),
    ] {
        let Parsed::Event(e) = line(l) else {
            panic!("event: {}", String::from_utf8_lossy(l))
        };
        assert_eq!(e.ip, Some(ip(want)), "{}", String::from_utf8_lossy(l));
    }
    let Parsed::Event(e) = line(b"2018-12-20 10:09:05.180218+0000 localhost sshd[67566]: Invalid user git from 185.52.1.9 port 35968") else {
        panic!("event")
    };
    assert_eq!(
        e.ts,
        "2018-12-20T10:09:05.180218Z"
            .parse::<Timestamp>()
            .expect("ts")
    );
    assert_eq!(e.pid, Some(67566));
    let Parsed::Event(e) = line(b"2015-05-27T04:31:28.10040 auth.info: May 27 04:31:28 sshd[30993]: Invalid user admin from 1.2.3.4") else {
        panic!("event")
    };
    assert_eq!(e.pid, Some(30993));
    assert_eq!(
        e.ts,
        "2015-05-27T04:31:28.1004Z"
            .parse::<Timestamp>()
            .expect("ts")
    );
}

fn generic() -> Parser {
    parser().with_generic(true)
}

#[test]
fn generic_mode() {
    let mut p = generic();
    assert!(p.is_generic());
    // nginx access log: no envelope, the anchor's time, the client address.
    let nginx = br#"203.0.113.9 - - [21/Nov/2026:19:16:01 +0100] "GET /wp-login.php HTTP/1.1" 404 153 "-" "Mozilla/5.0""#;
    let Parsed::Event(e) = p.parse(nginx) else {
        panic!("event")
    };
    assert_eq!(
        (e.kind, e.ip, e.host, e.ts),
        (
            Kind::Probe,
            Some(ip("203.0.113.9")),
            None,
            "2026-11-30T00:00:00Z".parse().expect("ts")
        )
    );
    // iptables: the envelope's time and host, the source address.
    let fw = b"Nov 21 19:16:01 gw kernel: [ 970.699396] DROP IN=eth0 OUT= MAC=00:16:3e:aa:bb:cc:00:16:3e:dd:ee:ff:08:00 SRC=198.51.100.7 DST=192.0.2.1 LEN=60 PROTO=TCP SPT=51122 DPT=23";
    let Parsed::Event(e) = p.parse(fw) else {
        panic!("event")
    };
    assert_eq!(
        (e.kind, e.ip, e.host.as_deref(), e.ts),
        (
            Kind::Probe,
            Some(ip("198.51.100.7")),
            Some("gw"),
            "2026-11-21T19:16:01Z".parse().expect("ts")
        )
    );
    assert_eq!(p.classify(fw), Class::Event(Kind::Probe));
    // No address: not an event.
    for l in [
        &b"Nov 21 19:16:01 gw CRON[1]: pam_unix(cron:session): session closed for user root"[..],
        b"just text, version 1.2.3",
    ] {
        assert_eq!(p.parse(l), Parsed::NotSshd);
        assert_eq!(p.classify(l), Class::NotSshd);
    }
    // sshd lines keep their kind; known address-free sshd lines stay ignored.
    let Parsed::Event(e) = p.parse(
        b"Nov 21 19:16:01 web-01 sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2",
    ) else {
        panic!("event")
    };
    assert_eq!((e.kind, e.user.as_deref()), (Kind::Failed, Some("root")));
    assert_eq!(
        p.parse(b"Nov 21 19:16:01 web-01 sshd[1]: Server listening on 0.0.0.0 port 22."),
        Parsed::Ignored
    );
    // Off by default.
    assert_eq!(parser().parse(nginx), Parsed::NotSshd);
}

/// `classify` cuts the newline once, as `parse_ref` does (a fuzzer find: `\r\r` at the end).
#[test]
fn classify_agrees_on_line_ends() {
    for l in [
        &b"Nov 21 19:16:01 h sshd[7905]:\r\r"[..],
        b"x sshd[7905]:\r\r",
        b"Nov 21 19:16:01 h sshd[1]: Invalid user a from 192.0.2.1\r\n",
        b"\r\n",
    ] {
        let mut p = parser();
        let want = p.parse_ref(l).class();
        assert_eq!(parser().classify(l), want, "{l:?}");
    }
}
