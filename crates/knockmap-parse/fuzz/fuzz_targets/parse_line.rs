//! Any bytes, parsed as lines: no panic, and the borrowed parse, the owned parse, the class
//! alone and the JSON writer agree with each other, in sshd and in generic mode.
#![no_main]

use knockmap_parse::{ParseOptions, Parsed, ParsedRef, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the mode, so both see every input shape.
    let (generic, data) = match data.split_first() {
        Some((&mode, rest)) => (mode & 1 == 1, rest),
        None => (false, data),
    };
    let parser = || {
        Parser::new(ParseOptions {
            tz: jiff::tz::TimeZone::UTC,
            year: None,
            anchor: "2026-11-30T00:00:00Z".parse().expect("anchor"),
        })
        .with_generic(generic)
    };
    let (mut a, mut b, mut c) = (parser(), parser(), parser());
    // Up to three lines per input, so `last message repeated`, the pid table and the caches
    // see earlier lines.
    for line in data.splitn(3, |&c| c == b'\n') {
        let owned = b.parse(line);
        let class = c.classify(line);
        let parsed = a.parse_ref(line);
        assert_eq!(parsed.to_parsed(), owned);
        assert_eq!(parsed.class(), class);
        if let ParsedRef::Event(e) = parsed {
            let mut out = Vec::new();
            e.write_json(Some(7), &mut out);
            let Parsed::Event(mut ev) = owned else {
                unreachable!()
            };
            ev.offset = Some(7);
            let want = serde_json::to_vec(&ev).expect("serialise");
            assert_eq!(out, want);
        }
    }
});
