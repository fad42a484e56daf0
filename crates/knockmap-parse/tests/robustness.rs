//! Property tests: any bytes, and real lines with random damage, parse without panicking, in
//! bounded time, with the borrowed and owned paths and the JSON writer in agreement.

use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use knockmap_parse::{ParseOptions, Parsed, ParsedRef, Parser};
use proptest::prelude::*;

fn parser() -> Parser {
    Parser::new(ParseOptions {
        tz: TimeZone::fixed(jiff::tz::offset(-5)),
        year: None,
        anchor: "2026-11-30T00:00:00Z".parse().expect("anchor"),
    })
}

const SEEDS: &[&str] = &[
    "Nov 21 19:16:01 web-01 sshd[1234]: Failed password for invalid user a b from 203.0.113.7 port 51122 ssh2",
    "2026-11-21T19:16:01.123456+01:00 web-01 sshd-session[9]: Connection closed by authenticating user root 2001:db8::1 port 22 [preauth]",
    "<38>1 2026-01-01T00:00:00Z h sshd 1 - [a x=\"]\"] message repeated 2 times: [ Invalid user x from 192.0.2.1 port 2]",
    "Nov  1 00:00:00 h sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=scan.example  user=root",
    "{\"MESSAGE\":\"Received disconnect from 192.0.2.1 port 5:11: Bye [preauth]\",\"SYSLOG_IDENTIFIER\":\"sshd\",\"__REALTIME_TIMESTAMP\":\"1700000000000000\"}",
    "Mar 19 23:48:18 <auth.info> pancake sshd[55517]: drop connection #3 from [192.0.2.1]:5 on [192.0.2.2]:22 penalty: failed authentication",
    "Nov  1 00:00:00 h last message repeated 3 times",
    "- Last output repeated twice -",
    "Nov 21 19:16:01 web-01 sshd[77]: Connection from 192.0.2.9 port 4242 on 10.0.0.1 port 22",
    "Nov 21 19:16:01 web-01 sshd[77]: Disconnecting: Too many authentication failures for root [preauth]",
    "203.0.113.9 - - [21/Nov/2026:19:16:01 +0100] \"GET / HTTP/1.1\" 404 153",
    "Nov 21 19:16:01 gw kernel: DROP IN=eth0 SRC=[2001:db8::7]:443 DST=192.0.2.1 PROTO=TCP",
    "2018-12-20 10:09:05.180218+0000 localhost sshd[67566] Invalid user git from 185.52.1.9",
    "2015-05-27T04:31:28.10040 auth.info: May 27 04:31:28 sshd[30993]: Invalid user a from 1.2.3.4",
];

/// One line through both paths (and the class alone, on a copy of `q`'s state); the result
/// must agree, and JSON must match serde's.
fn check(p: &mut Parser, q: &mut Parser, line: &[u8]) {
    let start = Instant::now();
    let class = q.clone().classify(line);
    let owned = q.parse(line);
    let parsed = p.parse_ref(line);
    assert_eq!(parsed.to_parsed(), owned);
    assert_eq!(parsed.class(), class);
    if let ParsedRef::Event(e) = parsed {
        let mut out = Vec::new();
        e.write_json(None, &mut out);
        let Parsed::Event(ev) = owned else {
            unreachable!()
        };
        assert_eq!(out, serde_json::to_vec(&ev).expect("json"));
    }
    assert!(start.elapsed() < Duration::from_millis(200), "slow line");
}

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(SEEDS),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..8),
    )
        .prop_map(|(seed, edits)| {
            let mut line = seed.as_bytes().to_vec();
            for (at, byte, op) in edits {
                let i = at.index(line.len() + 1);
                match op {
                    0 => line.insert(i, byte),
                    1 if i < line.len() => line[i] = byte,
                    _ if i < line.len() => {
                        line.remove(i);
                    }
                    _ => line.push(byte),
                }
            }
            line
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_bytes(line in prop::collection::vec(any::<u8>(), 0..600)) {
        check(&mut parser(), &mut parser(), &line);
    }

    #[test]
    fn any_bytes_generic(line in prop::collection::vec(any::<u8>(), 0..300)) {
        check(&mut parser().with_generic(true), &mut parser().with_generic(true), &line);
    }

    #[test]
    fn damaged_real_lines_generic(lines in prop::collection::vec(mutated(), 1..4)) {
        let (mut p, mut q) = (parser().with_generic(true), parser().with_generic(true));
        for line in &lines {
            check(&mut p, &mut q, line);
        }
    }

    #[test]
    fn damaged_real_lines(lines in prop::collection::vec(mutated(), 1..4)) {
        let (mut p, mut q) = (parser(), parser());
        for line in &lines {
            check(&mut p, &mut q, line);
        }
    }
}

#[test]
fn huge_lines_are_bounded() {
    let mut p = parser();
    for line in [
        vec![b' '; 70_000],
        [
            b"Nov  1 00:00:00 h sshd[1]: Invalid user ".as_slice(),
            &b" from ".repeat(10_000),
        ]
        .concat(),
        [b"{\"A\":".as_slice(), &b"[".repeat(60_000)].concat(),
    ] {
        let start = Instant::now();
        let _ = p.parse(&line);
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}

/// The hot path allocates nothing per line: after a warm-up pass (which sizes the parser's
/// reusable buffers), parsing, classifying and writing JSON for every line of the corpora
/// makes no heap allocation at all.
#[test]
fn steady_state_parsing_makes_no_heap_allocation() {
    let mut lines: Vec<Vec<u8>> = SEEDS.iter().map(|l| l.as_bytes().to_vec()).collect();
    let corpora = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpora/crowdsec");
    for entry in std::fs::read_dir(corpora).expect("crowdsec corpus") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "log") {
            let text = std::fs::read(&path).expect("read corpus file");
            lines.extend(text.split(|&b| b == b'\n').map(<[u8]>::to_vec));
        }
    }
    assert!(lines.len() > 100, "too few lines: {}", lines.len());
    let mut parser = parser();
    let mut out = Vec::with_capacity(1 << 20);
    let run = |parser: &mut Parser, out: &mut Vec<u8>| {
        let mut events = 0;
        for line in &lines {
            parser.classify(line);
            if let ParsedRef::Event(event) = parser.parse_ref(line) {
                event.write_json(Some(7), out);
                events += 1;
            }
        }
        events
    };
    run(&mut parser, &mut out);
    out.clear();
    let mut events = 0;
    let info = allocation_counter::measure(|| events = run(&mut parser, &mut out));
    assert!(events > 50, "the corpus gave only {events} events");
    assert_eq!(
        info.count_total,
        0,
        "heap allocations while parsing {} lines",
        lines.len()
    );
}

/// Lines whose classes depend on earlier lines: peers named and then left out by the same
/// process, on two hosts, with repeats of both kinds, journald and noise in between.
fn stateful_line(host: u8, pid: u8, second: u8, form: u8) -> String {
    let host = ["web-01", "web-02"][usize::from(host % 2)];
    let pid = 100 + u32::from(pid % 4);
    let t = format!("Nov 21 19:{:02}:{:02}", second / 60 % 60, second % 60);
    match form % 9 {
        0 => format!(
            "{t} {host} sshd[{pid}]: Connection from 192.0.2.{pid} port 4242 on 10.0.0.1 port 22"
        ),
        1 => format!(
            "{t} {host} sshd[{pid}]: error: kex_exchange_identification: Connection closed by remote host"
        ),
        2 => format!(
            "{t} {host} sshd[{pid}]: Disconnecting: Too many authentication failures for root [preauth]"
        ),
        3 => format!(
            "{t} {host} sshd[{pid}]: Failed password for root from 198.51.100.{pid} port 22 ssh2"
        ),
        4 => format!("{t} {host} last message repeated 2 times"),
        5 => "- Last output repeated twice -".to_string(),
        6 => format!("{t} {host} CRON[1]: pam_unix(cron:session): session closed for user root"),
        7 => format!(
            "{{\"MESSAGE\":\"error: kex_exchange_identification: read: Connection reset by peer\",\"SYSLOG_IDENTIFIER\":\"sshd\",\"_HOSTNAME\":\"{host}\",\"_PID\":\"{pid}\",\"__REALTIME_TIMESTAMP\":\"1795288561000000\"}}"
        ),
        _ => format!(
            "{t} {host} sshd[{pid}]: Received disconnect from 203.0.113.{pid} port 5:11: Bye [preauth]"
        ),
    }
}

/// Counts of each class, the way `knockmap parse --count` tallies them.
fn tally(classes: impl IntoIterator<Item = knockmap_parse::Class>) -> Vec<(String, usize)> {
    let mut counts = std::collections::BTreeMap::new();
    for class in classes {
        *counts.entry(format!("{class:?}")).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// A log cut into pieces, each classified by a detached parser and then attached in
    /// order, gives exactly the counts of one parser reading it in order, and ends in the
    /// same state.
    #[test]
    fn pieces_count_exactly_like_one_pass(
        spec in prop::collection::vec((any::<u8>(), any::<u8>(), any::<u8>()), 1..120),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut second = 0u8;
        let lines: Vec<String> = spec
            .iter()
            .map(|&(host, pid, form)| {
                second = second.wrapping_add(form % 3);
                stateful_line(host, pid, second, form / 9)
            })
            .collect();
        let mut one = parser();
        let expected = tally(lines.iter().map(|l| one.classify(l.as_bytes())));

        let mut bounds: Vec<usize> = cuts.iter().map(|c| c.index(lines.len() + 1)).collect();
        bounds.extend([0, lines.len()]);
        bounds.sort_unstable();
        bounds.dedup();
        let mut state = parser();
        let mut classes = Vec::new();
        for piece in bounds.windows(2).map(|w| &lines[w[0]..w[1]]) {
            let mut detached = parser().detached();
            let mut given: Vec<_> = piece.iter().map(|l| detached.classify(l.as_bytes())).collect();
            match detached.attach(&state) {
                knockmap_parse::Attach::Corrected(kinds) => {
                    for kind in kinds {
                        let i = given
                            .iter()
                            .position(|c| *c == knockmap_parse::Class::Ignored)
                            .expect("a correction replaces an ignored line");
                        given[i] = knockmap_parse::Class::Event(kind);
                    }
                    state = detached;
                }
                knockmap_parse::Attach::Redo => {
                    given = piece.iter().map(|l| state.classify(l.as_bytes())).collect();
                }
            }
            classes.extend(given);
        }
        prop_assert_eq!(tally(classes), expected);
        // Same state afterwards: the same lines again classify the same way.
        for line in &lines {
            prop_assert_eq!(state.classify(line.as_bytes()), one.classify(line.as_bytes()));
        }
    }
}
