//! A followed log file whose lines come out parsed: the read loop shared by
//! `knockmap serve --source` and `knockmap sensor`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use knockmap_parse::{ParseOptions, Parsed, Parser};
use knockmap_source::{FileFollower, SourceError, StartAt};

/// What a log is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogInput {
    /// A file, followed through rotations (it may not exist yet).
    File(PathBuf),
}

impl std::fmt::Display for LogInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogInput::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Where and how to follow one log.
#[derive(Debug, Clone)]
pub struct LogSpec {
    /// What to follow.
    pub input: LogInput,
    /// Where its read position is kept across restarts.
    pub checkpoint: Option<PathBuf>,
    /// Where to start in a file never seen before.
    pub start: StartAt,
    /// Zone of timestamps written without one.
    pub tz: TimeZone,
    /// Whether any line with an IP address is an event (a `probe`), not only sshd's.
    pub generic: bool,
}

/// One line read and parsed; an event carries the line's offset.
#[derive(Debug, Clone)]
pub struct ParsedLine {
    /// What the line was.
    pub parsed: Parsed,
    /// Fingerprint of the file it came from (with the offset, the event id).
    pub fingerprint: String,
}

/// A [`FileFollower`] with its [`Parser`].
#[derive(Debug)]
pub struct ParsedLog {
    follower: FileFollower,
    parser: Parser,
}

impl ParsedLog {
    /// Starts following `spec`, retrying every `retry` while the follower cannot start;
    /// `None` once `stop` is set.
    pub fn open(spec: &LogSpec, stop: &AtomicBool, retry: Duration) -> Option<ParsedLog> {
        let LogInput::File(path) = &spec.input;
        let follower = loop {
            match FileFollower::new(path, spec.checkpoint.clone(), spec.start) {
                Ok(follower) => break follower,
                Err(e) => {
                    tracing::warn!("{e}; retrying");
                    if sleep_unless_stopped(stop, retry) {
                        return None;
                    }
                }
            }
        };
        tracing::info!(source = %spec.input, "following");
        let parser = Parser::new(ParseOptions {
            tz: spec.tz.clone(),
            year: None,
            anchor: Timestamp::now(),
        })
        .with_generic(spec.generic);
        Some(ParsedLog { follower, parser })
    }

    /// The complete lines available now (at most `max_lines`), parsed, without blocking. Live
    /// lines without a year are read as of now.
    pub fn read(&mut self, max_lines: usize) -> Result<Vec<ParsedLine>, SourceError> {
        let lines = self.follower.read_available(max_lines)?;
        if !lines.is_empty() {
            self.parser.set_anchor(Timestamp::now());
        }
        Ok(lines
            .into_iter()
            .map(|line| {
                let mut parsed = self.parser.parse(&line.bytes);
                if let Parsed::Event(event) = &mut parsed {
                    event.offset = Some(line.offset);
                }
                ParsedLine {
                    parsed,
                    fingerprint: line.fingerprint,
                }
            })
            .collect())
    }

    /// Persists the position after every line read so far (call once they are stored).
    pub fn commit(&mut self) -> Result<(), SourceError> {
        self.follower.commit()
    }
}

/// Sleeps for `duration`; returns whether a stop was requested.
pub fn sleep_unless_stopped(stop: &AtomicBool, duration: Duration) -> bool {
    std::thread::sleep(duration);
    stop.load(Ordering::Relaxed)
}
