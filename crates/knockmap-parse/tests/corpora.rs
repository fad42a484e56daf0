//! The parser against other projects' expected results on real sshd lines.
//!
//! - crowdsec hub (MIT, copied under `tests/corpora/crowdsec/` with its LICENSE): each
//!   `*parser.assert` gives, per line of its `.log`, the `source_ip` and `target_user` crowdsec
//!   extracts. Every line with a `source_ip` must give an event with that address (and user).
//! - SSHGuard (ISC-style, `tests/corpora/sshguard/` with its COPYING): `tests.txt` gives a line,
//!   then the attack it is (`100 <addr> …` for SSH) or `*` for none.
//! - fail2ban (GPL: never copied): read from `../shared/corpora/fail2ban` when present; each
//!   line follows a `# failJSON: {…}` comment giving whether it matches, the host and the user.
//!
//! Each prints its agreement N/M and the lines that disagree, and asserts a floor. Deliberate
//! differences (knockmap's contract differs from the other project's) are listed where they are
//! classified.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;
use knockmap_parse::{Event, Kind, Outcome, ParseOptions, Parsed, Parser};

fn parser() -> Parser {
    Parser::new(ParseOptions {
        tz: TimeZone::UTC,
        year: None,
        anchor: "2026-12-31T00:00:00Z".parse().expect("anchor"),
    })
}

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpora")
}

/// Lines of a file (a missing final newline is fine; a trailing empty line is dropped).
fn lines(data: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

/// Agreement tally with the disagreements kept for printing.
#[derive(Default)]
struct Tally {
    agree: usize,
    total: usize,
    deliberate: Vec<String>,
    disagree: Vec<String>,
}

impl Tally {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.total += 1;
        if ok {
            self.agree += 1;
        } else {
            self.disagree.push(what());
        }
    }

    fn deliberate(&mut self, what: String) {
        self.total += 1;
        self.agree += 1;
        self.deliberate.push(what);
    }

    #[track_caller]
    fn report(&self, name: &str, floor: f64) {
        println!("{name}: {}/{} agree", self.agree, self.total);
        for d in &self.deliberate {
            println!("  deliberate: {d}");
        }
        for d in &self.disagree {
            println!("  DISAGREE: {d}");
        }
        let ratio = self.agree as f64 / self.total.max(1) as f64;
        assert!(self.total > 0, "{name}: nothing checked");
        assert!(
            ratio >= floor,
            "{name}: agreement {}/{} below {floor}",
            self.agree,
            self.total
        );
    }
}

fn event(p: &mut Parser, line: &[u8]) -> Option<Event> {
    match p.parse(line) {
        Parsed::Event(e) => Some(e),
        _ => None,
    }
}

/// Whether the event's address (or host name) is `want` as the other project spells it.
fn same_host(e: &Event, want: &str) -> bool {
    match want.parse::<IpAddr>() {
        Ok(ip) => e.ip == Some(ip) || e.ip.map(|a| a.to_string()) == Some(want.to_string()),
        Err(_) => e
            .rhost
            .as_deref()
            .is_some_and(|h| h.eq_ignore_ascii_case(want)),
    }
}

/// `… == "value"` → value.
fn quoted_value(line: &str) -> Option<&str> {
    let v = line.split(" == ").nth(1)?;
    v.strip_prefix('"')?.strip_suffix('"')
}

/// `results["s01-parse"]["…"][7].Evt.Meta["source_ip"]` → 7.
fn index_of(line: &str) -> Option<usize> {
    let rest = &line[line.find("][")? + 2..];
    let rest = &rest[rest.find("][")? + 2..];
    rest[..rest.find(']')?].parse().ok()
}

#[test]
fn crowdsec_hub() {
    let dir = corpora().join("crowdsec");
    let mut tally = Tally::default();
    let mut files = std::fs::read_dir(&dir)
        .expect("crowdsec corpus")
        .flatten()
        .map(|e| e.path())
        .collect::<Vec<_>>();
    files.sort();
    for assert_path in files
        .iter()
        .filter(|p| p.to_string_lossy().ends_with("__parser.assert"))
    {
        let name = assert_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        let prefix = name
            .as_deref()
            .and_then(|n| n.split("__").next())
            .unwrap_or("");
        let log_path = files
            .iter()
            .find(|p| {
                let n = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                n.starts_with(&format!("{prefix}__")) && n.ends_with(".log")
            })
            .expect("log beside assert");
        let data = std::fs::read(log_path).expect("read log");
        let log = lines(&data);
        let asserts = std::fs::read_to_string(assert_path).expect("read assert");
        // Per index: raw message (alignment check), expected ip, expected user.
        let mut expect: Vec<(Option<String>, Option<String>, Option<String>)> =
            vec![(None, None, None); log.len()];
        for l in asserts.lines() {
            let Some(i) = index_of(l) else { continue };
            let Some(slot) = expect.get_mut(i) else {
                panic!("{}: index {i} past the log", assert_path.display())
            };
            if l.starts_with("results[\"s00-raw\"]") && l.contains("Parsed[\"message\"]") {
                slot.0 = quoted_value(l).map(str::to_owned);
            } else if l.starts_with("results[\"s01-parse\"]") && l.contains("Meta[\"source_ip\"]") {
                slot.1 = quoted_value(l).map(str::to_owned);
            } else if l.starts_with("results[\"s01-parse\"]") && l.contains("Meta[\"target_user\"]")
            {
                slot.2 = quoted_value(l).map(str::to_owned);
            }
        }
        let mut p = parser();
        for (line, (msg, ip, user)) in log.iter().zip(expect) {
            let text = String::from_utf8_lossy(line).into_owned();
            if let Some(msg) = &msg {
                assert!(text.contains(msg.as_str()), "misaligned: {text} / {msg}");
            }
            let got = event(&mut p, line);
            let Some(ip) = ip else {
                // crowdsec extracts nothing: knockmap may still see a probe, never a login.
                let ok = got.as_ref().is_none_or(|e| e.kind != Kind::Failed);
                tally.check(ok, || format!("{text} → {got:?}"));
                continue;
            };
            let ok = got.as_ref().is_some_and(|e| {
                same_host(e, &ip) && user.as_deref().is_none_or(|u| e.user.as_deref() == Some(u))
            });
            tally.check(ok, || format!("{text} → {got:?}, want {ip} {user:?}"));
        }
    }
    // Every `.log` line, with or without an assert file, must parse without panicking.
    let mut p = parser();
    for f in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
    {
        for line in lines(&std::fs::read(f).expect("read log")) {
            let _ = p.parse(line);
        }
    }
    tally.report("crowdsec", 1.0);
}

#[test]
fn sshguard_tests() {
    let text = std::fs::read(corpora().join("sshguard/tests.txt")).expect("sshguard corpus");
    let cases: Vec<&[u8]> = lines(&text)
        .into_iter()
        .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
        .collect();
    let mut tally = Tally::default();
    for case in cases.chunks(3) {
        let [line, want, m] = case else {
            panic!("incomplete case: {case:?}")
        };
        assert!(
            m.starts_with(b"M"),
            "case layout: {}",
            String::from_utf8_lossy(m)
        );
        let text = String::from_utf8_lossy(line).into_owned();
        let want = String::from_utf8_lossy(want).into_owned();
        let got = event(&mut parser(), line);
        let mut fields = want.split(' ');
        let service = fields.next().unwrap_or("*");
        let addr = fields.next();
        match (service, addr) {
            ("100", Some(addr)) => {
                let ok = got.as_ref().is_some_and(|e| same_host(e, addr));
                tally.check(ok, || format!("{text} → {got:?}, want {addr}"));
            }
            _ => match &got {
                None => tally.check(true, String::new),
                // SSHGuard does not count a pre-auth disconnect, a lone probe or a successful
                // login as an attack; knockmap records them as `disconnect`/`probe`/`accepted`
                // events by contract.
                Some(e) if e.outcome() != Outcome::Failure => {
                    tally.deliberate(format!("{text} → {:?} (sshguard: {want})", e.kind))
                }
                Some(e) => tally.check(false, || format!("{text} → {e:?}, want {want}")),
            },
        }
    }
    tally.report("sshguard", 1.0);
}

/// The fail2ban folder; `None` (with the reason printed) when it is absent.
fn fail2ban_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/fail2ban");
    if dir.is_dir() {
        return Some(dir);
    }
    let reason = format!("fail2ban corpus not found at {}", dir.display());
    assert!(
        std::env::var_os("KNOCKMAP_REQUIRE_ALL").is_none(),
        "KNOCKMAP_REQUIRE_ALL is set: {reason}"
    );
    eprintln!("skipping: {reason}");
    None
}

#[test]
fn fail2ban_sshd() {
    let Some(dir) = fail2ban_dir() else { return };
    let mut tally = Tally::default();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fail2ban dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            n.starts_with("logs_sshd") || n.starts_with("testcase")
        })
        .collect();
    names.sort();
    for path in names {
        let data = std::fs::read(&path).expect("read fail2ban file");
        let mut p = parser();
        let mut pending: Option<serde_json::Value> = None;
        for line in lines(&data) {
            if let Some(json) = line.strip_prefix(b"# failJSON: ") {
                pending = serde_json::from_slice(json).ok();
                continue;
            }
            if line.starts_with(b"#") || line.is_empty() {
                continue;
            }
            let got = event(&mut p, line);
            let Some(want) = pending.take() else { continue };
            let text = String::from_utf8_lossy(line).into_owned();
            let constrained = want.get("constraint").is_some();
            let matches = want.get("match").and_then(|m| m.as_bool()).unwrap_or(false);
            let host = want.get("host").and_then(|h| h.as_str());
            // An empty user is absent in knockmap's contract (no empty strings).
            let user = want
                .get("user")
                .and_then(|u| u.as_str())
                .filter(|u| !u.is_empty());
            if matches && let Some(host) = host {
                let ok = got.as_ref().is_some_and(|e| {
                    same_host(e, host) && user.is_none_or(|u| e.user.as_deref() == Some(u))
                });
                if !ok
                    && got.as_ref().is_some_and(|e| {
                        e.user
                            .as_deref()
                            .is_some_and(|u| u.contains(&format!(" from {host} port ")))
                    })
                {
                    // An address injected after `ssh2: ` (fail2ban's auth-info case): with
                    // `password` sshd writes no info there, so knockmap reads the text as part of
                    // the user name and takes the rightmost well-formed address.
                    tally.deliberate(format!("{text} → {got:?} (fail2ban: {host})"));
                    continue;
                }
                if !ok && host.split('.').any(|o| o.len() > 1 && o.starts_with('0')) {
                    // `192.030.0.6`: sshd never prints an address with leading zeros; knockmap
                    // reads numbers strictly (as the standard library does) and drops it.
                    tally.deliberate(format!("{text} → {got:?} (fail2ban: {host})"));
                    continue;
                }
                tally.check(ok, || format!("{text} → {got:?}, want {host} {user:?}"));
                continue;
            }
            match &got {
                None => tally.check(true, String::new),
                // fail2ban's default mode bans only on failures; knockmap records pre-auth
                // probes and disconnects (its `ddos`/`aggressive` modes' lines) and successful
                // logins as events by contract.
                Some(e) if e.outcome() != Outcome::Failure => {
                    tally.deliberate(format!("{text} → {:?}", e.kind))
                }
                // Lines matched only in fail2ban's `aggressive`/`extra` modes.
                Some(e) if constrained => tally.deliberate(format!("{text} → {:?}", e.kind)),
                // fail2ban skips these so one attempt is not counted twice (the PAM line and
                // the `Failed password` line; the closing `Too many authentication failures`),
                // and skips key failures of valid users; knockmap maps every line to its kind.
                Some(e)
                    if matches!(e.kind, Kind::PamFailure | Kind::MaxAttempts)
                        || (e.kind == Kind::Failed && e.method.as_deref() != Some("password")) =>
                {
                    tally.deliberate(format!("{text} → {:?}", e.kind))
                }
                Some(e) => tally.check(false, || format!("{text} → {e:?}, want no match")),
            }
        }
    }
    tally.report("fail2ban", 0.99);
}
