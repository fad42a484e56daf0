//! `EventRef::write_json` against `serde_json::to_string(&event)`, and `parse` against
//! `parse_ref`, over generated and hostile lines.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::*;

fn parser() -> Parser {
    Parser::new(ParseOptions {
        tz: TimeZone::fixed(jiff::tz::offset(2)),
        year: None,
        anchor: "2026-11-30T00:00:00Z".parse().expect("anchor"),
    })
}

/// Both paths on one line; returns whether it gave an event.
#[track_caller]
fn same(p: &mut Parser, q: &mut Parser, line: &[u8], offset: Option<u64>) -> bool {
    let owned = q.parse(line);
    let parsed = p.parse_ref(line);
    assert_eq!(
        parsed.to_parsed(),
        owned,
        "{}",
        String::from_utf8_lossy(line)
    );
    let ParsedRef::Event(e) = parsed else {
        return false;
    };
    let mut out = b"prefix".to_vec();
    e.write_json(offset, &mut out);
    let Parsed::Event(mut ev) = owned else {
        unreachable!()
    };
    ev.offset = offset;
    let want = serde_json::to_string(&ev).expect("serialise");
    assert_eq!(
        String::from_utf8(out[6..].to_vec()).expect("utf-8 json"),
        want,
        "{}",
        String::from_utf8_lossy(line)
    );
    true
}

const HOSTILE: &[&[u8]] = &[
    b"\"quoted\"",
    b"back\\slash\\",
    b"</script><script>alert(1)</script>",
    b"root from 6.6.6.6 port 22",
    b"tab\tnl\\n\x01\x02\x08\x0c\x1f\x7f",
    b"llinco\xf1ir",
    b"line\xe2\x80\xa8sep\xe2\x80\xa9",
    b"\xff\xfe\xe2\x82",
    b"\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80",
    b"a\rb",
    b"{\"json\":1}",
    b"\\xff",
];

#[test]
fn json_matches_serde_on_hostile_fields() {
    let (mut p, mut q) = (parser(), parser());
    let mut events = 0;
    for (i, user) in HOSTILE.iter().enumerate() {
        let forms: [&[&[u8]]; 6] = [
            &[b"Failed password for invalid user ", user, b" from 203.0.113.7 port 51122 ssh2"],
            &[b"Invalid user ", user, b" from 2001:db8::1 port 2"],
            &[b"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=scanner.example.net  user=", user],
            &[b"Accepted keyboard-interactive/pam for ", user, b" from ::ffff:192.0.2.9 port 7 ssh2"],
            &[b"message repeated 3 times: [ Failed ", user, b" for root from 192.0.2.1 port 2 ssh2]"],
            &[b"Disconnected from invalid user ", user, b" 192.0.2.1 port 2 [preauth]"],
        ];
        for parts in forms {
            let msg: Vec<u8> = parts.concat();
            for env in [
                &b"Nov 21 19:16:01 web-01 sshd[1234]: "[..],
                b"2026-11-21T19:16:01.120+01:00 h\xffst sshd-session[9]: ",
                b"<38>1 2026-01-01T00:00:00.000000001Z \"host\" sshd 4294967295 - - ",
                b"Feb 29 00:00:00.5 h sshd[1]: ",
                b"0001-01-01T00:00:00Z h sshd[1]: ",
                b"1969-12-31T23:59:59.999Z h sshd[1]: ",
            ] {
                let line = [env, &msg[..]].concat();
                let offset = (i % 2 == 0).then_some(u64::MAX - i as u64);
                if same(&mut p, &mut q, &line, offset) {
                    events += 1;
                }
            }
        }
    }
    assert!(events > 300, "{events}");
}

#[test]
fn json_matches_serde_on_timestamps() {
    let mut out = Vec::new();
    for (secs, nanos) in [
        (0, 0),
        (1, 1),
        (1_700_000_000, 100_000_000),
        (1_700_000_000, 123_456_789),
        (1_700_000_000, 120_000),
        (951_782_400, 0),
        (253_402_207_199, 999_999_999),
        (-1, 0),
        (-62_135_596_800, 0),
        (-1, -500_000_000),
    ] {
        let ts = Timestamp::new(secs, nanos).expect("ts");
        out.clear();
        json::write_ts(ts, &mut out);
        let want = serde_json::to_string(&ts).expect("ts json");
        assert_eq!(format!("\"{}\"", String::from_utf8_lossy(&out)), want);
    }
}

#[test]
fn generated_log_agrees() {
    let (mut p, mut q) = (parser(), parser());
    let data = generate_lines();
    let mut events = 0;
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        if same(&mut p, &mut q, line, Some(i as u64)) {
            events += 1;
        }
    }
    assert!(events > 1000, "{events}");
}

/// Lines covering every form, without the `gen` feature.
fn generate_lines() -> Vec<u8> {
    let msgs: &[&str] = &[
        "Failed password for root from 203.0.113.7 port 51122 ssh2",
        "Accepted publickey for git from 198.51.100.1 port 22 ssh2: RSA SHA256:abc",
        "Invalid user admin from 192.0.2.4 port 4",
        "Connection closed by authenticating user root 192.0.2.1 port 5 [preauth]",
        "Received disconnect from 192.0.2.1 port 5:11: Bye Bye [preauth]",
        "Unable to negotiate with 192.0.2.1 port 5: no matching host key type found. Their offer: ssh-rsa [preauth]",
        "drop connection #3 from [2001:db8::7]:5 on [2001:db8::1]:22 penalty: failed authentication",
        "reverse mapping checking getaddrinfo for scan.example.net [192.0.2.8] failed - POSSIBLE BREAK-IN ATTEMPT!",
        "PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=root",
        "error: kex_exchange_identification: Connection closed by remote host",
        "pam_unix(sshd:session): session opened for user a by (uid=0)",
    ];
    let mut out = Vec::new();
    for i in 0..3000u32 {
        let m = msgs[i as usize % msgs.len()];
        let (d, h, mi, s) = (1 + i / 1000, i / 120 % 24, i / 2 % 60, i % 60);
        if i % 7 == 0 {
            out.extend_from_slice(
                format!("2026-03-{d:02}T{h:02}:{mi:02}:{s:02}.{i:06}Z web sshd[{i}]: {m}\n")
                    .as_bytes(),
            );
        } else if i % 50 == 1 {
            out.extend_from_slice(b"Mar  1 00:00:00 web last message repeated 4 times\n");
        } else {
            out.extend_from_slice(
                format!("Mar {d:>2} {h:02}:{mi:02}:{s:02} web sshd[{i}]: {m}\n").as_bytes(),
            );
        }
    }
    out
}
