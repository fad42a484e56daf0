//! `knockmap parse`: sshd log lines to JSON lines on standard output.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use jiff::Timestamp;
use knockmap_parse::{Kind, ParseOptions, Parsed, Parser};

use crate::cli::ParseArgs;
use crate::paths;

/// What `--stats` reports.
#[derive(Debug, Default)]
struct Tally {
    lines: u64,
    bytes: u64,
    sshd_lines: u64,
    ignored: u64,
    unmatched: u64,
    events: BTreeMap<Kind, u64>,
}

/// Runs `knockmap parse`.
pub fn run(args: ParseArgs) -> anyhow::Result<ExitCode> {
    let tz = paths::timezone(args.timezone.as_deref())?;
    let stdout = io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
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
        });
        parse_stream(reader, &mut parser, &mut out, &mut tally)
            .with_context(|| format!("reading {}", file.display()))?;
    }
    match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        other => other.context("writing standard output")?,
    }
    if args.stats {
        print_stats(&tally, started.elapsed().as_secs_f64());
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens a file (gzip by extension) or standard input, with the time anchor for year
/// inference: the file's modification time, or now.
fn open(path: &Path) -> anyhow::Result<(Box<dyn BufRead>, Timestamp)> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(BufReader::new(io::stdin())), Timestamp::now()));
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let anchor = file
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| Timestamp::try_from(t).ok())
        .unwrap_or_else(Timestamp::now);
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok((Box::new(BufReader::with_capacity(1 << 16, reader)), anchor))
}

fn parse_stream(
    mut reader: Box<dyn BufRead>,
    parser: &mut Parser,
    out: &mut impl Write,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let mut line = Vec::with_capacity(512);
    let mut offset = 0u64;
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 {
            return Ok(());
        }
        tally.lines += 1;
        tally.bytes += read as u64;
        match parser.parse(&line) {
            Parsed::Event(mut event) => {
                tally.sshd_lines += 1;
                *tally.events.entry(event.kind).or_default() += 1;
                event.offset = Some(offset);
                if let Err(e) = serde_json::to_writer(&mut *out, &event)
                    .map_err(io::Error::from)
                    .and_then(|()| out.write_all(b"\n"))
                {
                    if e.kind() == io::ErrorKind::BrokenPipe {
                        return Ok(());
                    }
                    return Err(e).context("writing standard output");
                }
            }
            Parsed::Ignored => {
                tally.sshd_lines += 1;
                tally.ignored += 1;
            }
            Parsed::Unmatched => {
                tally.sshd_lines += 1;
                tally.unmatched += 1;
            }
            Parsed::NotSshd => {}
        }
        offset += read as u64;
    }
}

fn print_stats(tally: &Tally, seconds: f64) {
    let events: u64 = tally.events.values().sum();
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "lines read:        {}", tally.lines);
    let _ = writeln!(err, "sshd lines:        {}", tally.sshd_lines);
    let _ = writeln!(err, "events:            {events}");
    for (kind, n) in &tally.events {
        let _ = writeln!(err, "  {:<16} {n}", kind.as_str());
    }
    let _ = writeln!(err, "ignored sshd lines: {}", tally.ignored);
    let _ = writeln!(err, "unmatched sshd lines: {}", tally.unmatched);
    if seconds > 0.0 {
        let _ = writeln!(
            err,
            "throughput:        {:.1} MB/s, {:.0} lines/s",
            tally.bytes as f64 / seconds / 1e6,
            tally.lines as f64 / seconds
        );
    }
}
