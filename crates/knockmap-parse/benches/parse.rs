//! Throughput of the parser over a generated auth log: classification (`Parser::classify`),
//! the borrowed parse (`Parser::parse_ref`), the JSONL path (`parse_ref` + `write_json`) and the
//! owned parse (`Parser::parse`). Reported in bytes of log per second.
//!
//! `cargo bench -p knockmap-parse --features gen --bench parse`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::tz::TimeZone;
use knockmap_parse::generate::{GenOptions, Generator};
use knockmap_parse::{ParseOptions, Parsed, ParsedRef, Parser};

fn log() -> Vec<u8> {
    Generator::new(GenOptions::default()).lines(200_000)
}

fn parser() -> Parser {
    Parser::new(ParseOptions {
        tz: TimeZone::get("Europe/Paris").unwrap_or(TimeZone::UTC),
        year: None,
        anchor: "2026-12-31T00:00:00Z".parse().expect("anchor"),
    })
}

fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    memchr::memchr_iter(b'\n', data).scan(0, move |start, end| {
        let line = &data[*start..end];
        *start = end + 1;
        Some(line)
    })
}

fn bench(c: &mut Criterion) {
    let data = log();
    let mut g = c.benchmark_group("authlog");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(20);
    g.bench_function("classify", |b| {
        let mut p = parser();
        b.iter(|| {
            let mut events = 0u64;
            for line in lines(&data) {
                if matches!(p.classify(line), knockmap_parse::Class::Event(_)) {
                    events += 1;
                }
            }
            black_box(events)
        })
    });
    g.bench_function("parse_ref", |b| {
        let mut p = parser();
        b.iter(|| {
            let mut ports = 0u64;
            for line in lines(&data) {
                if let ParsedRef::Event(e) = p.parse_ref(line) {
                    ports += u64::from(e.port.unwrap_or(0));
                }
            }
            black_box(ports)
        })
    });
    g.bench_function("jsonl", |b| {
        let mut p = parser();
        let mut out = Vec::with_capacity(data.len() * 2);
        b.iter(|| {
            out.clear();
            let mut offset = 0u64;
            for line in lines(&data) {
                if let ParsedRef::Event(e) = p.parse_ref(line) {
                    e.write_json(Some(offset), &mut out);
                    out.push(b'\n');
                }
                offset += line.len() as u64 + 1;
            }
            black_box(out.len())
        })
    });
    g.bench_function("parse_owned", |b| {
        let mut p = parser();
        b.iter(|| {
            let mut n = 0u64;
            for line in lines(&data) {
                if let Parsed::Event(e) = p.parse(line) {
                    n += u64::from(e.count);
                }
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
