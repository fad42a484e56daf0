//! `knockmap parse`: sshd log lines to JSON lines on standard output.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use jiff::Timestamp;
use knockmap_parse::{Class, Kind, ParseOptions, ParsedRef, Parser};

use crate::cli::ParseArgs;
use crate::lines::{LineReader, decompressed, written_at};
use crate::paths;

mod pieces;

/// Output is written in chunks of about this size.
const OUTPUT_CHUNK: usize = 1 << 16;

/// What `--stats` reports.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    lines: u64,
    bytes: u64,
    sshd_lines: u64,
    ignored: u64,
    unmatched: u64,
    oversized: u64,
    /// Events by kind, indexed like [`Kind::ALL`].
    events: [u64; Kind::ALL.len()],
}

/// What to print for each line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Events as JSON lines.
    Events,
    /// Nothing: classify only.
    Count,
    /// The unmatched sshd lines, escaped for a terminal.
    Unmatched,
}

/// Runs `knockmap parse`.
pub fn run(args: ParseArgs) -> anyhow::Result<ExitCode> {
    let tz = paths::timezone(args.timezone.as_deref())?;
    let mode = match (args.count, args.unmatched) {
        (true, _) => Mode::Count,
        (false, true) => Mode::Unmatched,
        (false, false) => Mode::Events,
    };
    // Counting spreads over the cores; events and unmatched lines come out in order, from
    // one parser.
    let threads = match args.threads {
        Some(1) => None,
        Some(n) => Some(usize::from(n)),
        None => std::thread::available_parallelism()
            .map(|n| n.get())
            .ok()
            .filter(|&n| n > 1),
    };
    let mut out = io::stdout().lock();
    let mut tally = Tally::default();
    let started = Instant::now();
    let stdin_only = args.files.is_empty() || args.files.iter().all(|f| f.as_os_str() == "-");
    let files: Vec<&Path> = if stdin_only {
        vec![Path::new("-")]
    } else {
        args.files.iter().map(|f| f.as_path()).collect()
    };
    for file in files {
        let (reader, anchor) = open(file)?;
        let mut parser = Parser::new(ParseOptions {
            tz: tz.clone(),
            year: args.year,
            anchor,
        })
        .with_generic(args.generic);
        let result = match threads {
            Some(threads) if mode == Mode::Count => {
                pieces::count(reader, &parser, threads, &mut tally)
            }
            _ => parse_stream(reader, &mut parser, mode, &mut out, &mut tally),
        };
        match result {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
            other => other.with_context(|| format!("reading {}", file.display()))?,
        }
    }
    if args.stats || args.count {
        print_stats(&tally, args.generic, started.elapsed().as_secs_f64());
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens a file (gzip by extension) or standard input, with the time anchor for year
/// inference: the file's modification time, or now.
fn open(path: &Path) -> anyhow::Result<(Box<dyn Read + Send>, Timestamp)> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(io::stdin()), Timestamp::now()));
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let anchor = written_at(&file);
    let reader = decompressed(path, file);
    Ok((reader, anchor))
}

fn parse_stream(
    reader: Box<dyn Read + Send>,
    parser: &mut Parser,
    mode: Mode,
    out: &mut impl Write,
    tally: &mut Tally,
) -> io::Result<()> {
    let mut lines = LineReader::new(reader);
    let mut buffer = Vec::with_capacity(OUTPUT_CHUNK + 4096);
    lines.for_each(|line, offset| {
        tally.lines += 1;
        tally.bytes += line.len() as u64 + 1;
        let class = match mode {
            Mode::Count => parser.classify(line),
            Mode::Events => match parser.parse_ref(line) {
                ParsedRef::Event(event) => {
                    event.write_json(Some(offset), &mut buffer);
                    buffer.push(b'\n');
                    Class::Event(event.kind)
                }
                other => other.class(),
            },
            Mode::Unmatched => {
                let class = parser.classify(line);
                if class == Class::Unmatched {
                    buffer.extend_from_slice(terminal_safe(line).as_bytes());
                    buffer.push(b'\n');
                }
                class
            }
        };
        tally.count(class);
        if buffer.len() >= OUTPUT_CHUNK {
            out.write_all(&buffer)?;
            buffer.clear();
        }
        Ok(())
    })?;
    tally.oversized += lines.oversized;
    out.write_all(&buffer)?;
    out.flush()
}

impl Tally {
    /// Adds another tally's counts.
    fn add(&mut self, other: &Tally) {
        self.lines += other.lines;
        self.bytes += other.bytes;
        self.sshd_lines += other.sshd_lines;
        self.ignored += other.ignored;
        self.unmatched += other.unmatched;
        self.oversized += other.oversized;
        for (sum, n) in self.events.iter_mut().zip(other.events) {
            *sum += n;
        }
    }

    fn count(&mut self, class: Class) {
        match class {
            Class::Event(kind) => {
                self.sshd_lines += 1;
                self.events[kind as usize] += 1;
            }
            Class::Ignored => {
                self.sshd_lines += 1;
                self.ignored += 1;
            }
            Class::Unmatched => {
                self.sshd_lines += 1;
                self.unmatched += 1;
            }
            Class::NotSshd => {}
        }
    }
}

/// A log line made safe to print on a terminal: invalid UTF-8 as `\xNN`, control and
/// direction-changing characters as `\u{…}` escapes, so a hostile line cannot drive the
/// terminal or hide text.
pub fn terminal_safe(line: &[u8]) -> String {
    let text = knockmap_parse::lossless(line);
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            safe.push_str(&c.escape_unicode().to_string());
        } else {
            safe.push(c);
        }
    }
    safe
}

fn print_stats(tally: &Tally, generic: bool, seconds: f64) {
    let events: u64 = tally.events.iter().sum();
    // In generic mode any line with an address counts with the sshd lines.
    let label = if generic {
        "sshd/address lines:"
    } else {
        "sshd lines:"
    };
    let mut report = format!(
        "lines read:           {}\n{label:<21} {}\nevents:               {events}\n",
        tally.lines, tally.sshd_lines
    );
    for (kind, n) in Kind::ALL.iter().zip(tally.events).filter(|(_, n)| *n > 0) {
        report.push_str(&format!("  {:<19} {n}\n", kind.as_str()));
    }
    report.push_str(&format!("ignored sshd lines:   {}\n", tally.ignored));
    report.push_str(&format!("unmatched sshd lines: {}\n", tally.unmatched));
    if tally.oversized > 0 {
        report.push_str(&format!(
            "oversized lines:      {} (skipped)\n",
            tally.oversized
        ));
    }
    if seconds > 0.0 {
        report.push_str(&format!(
            "throughput:           {:.1} MB/s, {:.0} lines/s ({:.3} s)\n",
            tally.bytes as f64 / seconds / 1e6,
            tally.lines as f64 / seconds,
            seconds
        ));
    }
    let _ = io::stderr().lock().write_all(report.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_index_the_tally_in_contract_order() {
        for (i, kind) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(kind as usize, i, "{kind}");
        }
    }

    #[test]
    fn hostile_lines_cannot_drive_the_terminal() {
        let line = b"sshd[1]: \x1b[2J\x1b]0;owned\x07 user \xff\xfe \xe2\x80\xaeevil";
        let safe = terminal_safe(line);
        assert!(
            !safe.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{safe:?}"
        );
        assert!(
            safe.contains("\\u{1b}[2J")
                && safe.contains("\\xff\\xfe")
                && safe.contains("\\u{202e}evil")
        );
    }
}
