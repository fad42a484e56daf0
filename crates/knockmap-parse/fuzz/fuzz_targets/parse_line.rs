//! Any bytes, parsed as a line: no panic, and the borrowed parse, the owned parse and the JSON
//! writer agree with each other.
#![no_main]

use knockmap_parse::{ParseOptions, Parsed, ParsedRef, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = || ParseOptions {
        tz: jiff::tz::TimeZone::UTC,
        year: None,
        anchor: "2026-11-30T00:00:00Z".parse().expect("anchor"),
    };
    let mut a = Parser::new(opts());
    let mut b = Parser::new(opts());
    // Two lines per input, so `last message repeated` and the caches see a previous line.
    for line in data.splitn(2, |&c| c == b'\n') {
        let owned = b.parse(line);
        let parsed = a.parse_ref(line);
        assert_eq!(parsed.to_parsed(), owned);
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
