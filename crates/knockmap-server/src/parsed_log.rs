//! A followed log (a file, or sshd's entries in the journal) whose lines come out parsed: the
//! read loop shared by `knockmap serve --source` and `knockmap sensor`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use knockmap_parse::{ParseOptions, Parsed, Parser};
use knockmap_source::{FileFollower, JournalConfig, JournalFollower, Line, SourceError, StartAt};

/// What a log is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogInput {
    /// A file, followed through rotations (it may not exist yet).
    File(PathBuf),
    /// sshd's entries in the systemd journal, read through `journalctl`.
    Journald(JournalConfig),
}

impl std::fmt::Display for LogInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogInput::File(path) => write!(f, "{}", path.display()),
            LogInput::Journald(_) => f.write_str("journald"),
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
    /// Where to start in a file (or journal) never seen before.
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
    /// Fingerprint of the file (or journal) it came from (with the offset, the event id).
    pub fingerprint: String,
}

/// The follower of a [`LogInput`].
#[derive(Debug)]
enum Follower {
    File(FileFollower),
    Journal(JournalFollower),
}

impl Follower {
    fn new(spec: &LogSpec) -> Result<Follower, SourceError> {
        let checkpoint = spec.checkpoint.clone();
        Ok(match &spec.input {
            LogInput::File(path) => {
                Follower::File(FileFollower::new(path, checkpoint, spec.start)?)
            }
            LogInput::Journald(config) => Follower::Journal(JournalFollower::new(
                config.clone(),
                checkpoint,
                spec.start,
            )?),
        })
    }

    fn read_available(&mut self, max_lines: usize) -> Result<Vec<Line>, SourceError> {
        match self {
            Follower::File(f) => f.read_available(max_lines),
            Follower::Journal(f) => f.read_available(max_lines),
        }
    }

    fn commit(&mut self) -> Result<(), SourceError> {
        match self {
            Follower::File(f) => f.commit(),
            Follower::Journal(f) => f.commit(),
        }
    }
}

/// A file or journal follower with its [`Parser`].
#[derive(Debug)]
pub struct ParsedLog {
    follower: Follower,
    parser: Parser,
}

impl ParsedLog {
    /// Starts following `spec`, retrying every `retry` while the follower cannot start;
    /// `None` once `stop` is set.
    pub fn open(spec: &LogSpec, stop: &AtomicBool, retry: Duration) -> Option<ParsedLog> {
        let follower = loop {
            match Follower::new(spec) {
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

    /// Waits up to `timeout` for new lines: an append to the file, or output of journalctl.
    /// Returns whether there may be something to read.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        match &mut self.follower {
            Follower::File(f) => f.wait(timeout),
            Follower::Journal(f) => f.wait(timeout),
        }
    }
}

/// Sleeps for `duration`; returns whether a stop was requested.
pub fn sleep_unless_stopped(stop: &AtomicBool, duration: Duration) -> bool {
    std::thread::sleep(duration);
    stop.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Instant;

    use knockmap_parse::Kind;

    use super::*;

    /// Recorded `journalctl -o json` entries: sshd and sshd-session lines, a byte-array
    /// `MESSAGE`, and one written by `logger -t sshd`.
    const ENTRIES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../knockmap-source/tests/fixtures/journal-sshd.jsonl"
    );

    /// A fake journalctl in `dir` that prints the recorded entries and keeps running.
    fn fake_journalctl(dir: &std::path::Path) -> PathBuf {
        let program = dir.join("journalctl");
        let script = format!("#!/bin/sh\ncat '{ENTRIES}'\nexec sleep 600\n");
        fs::write(&program, script).expect("write script");
        fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).expect("chmod");
        program
    }

    #[test]
    fn journald_entries_become_events_and_forged_ones_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = LogSpec {
            input: LogInput::Journald(JournalConfig {
                program: fake_journalctl(dir.path()),
                ..JournalConfig::default()
            }),
            checkpoint: Some(dir.path().join("journald.json")),
            start: StartAt::Beginning,
            tz: TimeZone::UTC,
            generic: false,
        };
        assert_eq!(spec.input.to_string(), "journald");
        let stop = AtomicBool::new(false);
        let mut log = ParsedLog::open(&spec, &stop, Duration::from_millis(10)).expect("open");
        let mut lines = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while lines.len() < 7 && Instant::now() < deadline {
            log.wait(Duration::from_millis(50));
            lines.extend(log.read(100).expect("read"));
        }
        assert_eq!(lines.len(), 7);
        assert!(
            lines
                .iter()
                .all(|l| l.fingerprint == "journald-8f2c1d6e4b3a49f0a1c2d3e4f5a6b7c8")
        );

        let events: Vec<(u64, Kind, String, Option<String>)> = lines
            .iter()
            .filter_map(|l| match &l.parsed {
                Parsed::Event(e) => Some((
                    e.offset.expect("offset"),
                    e.kind,
                    e.ip.map(|ip| ip.to_string()).unwrap_or_default(),
                    e.user.clone(),
                )),
                _ => None,
            })
            .collect();
        let user = |u: &str| Some(u.to_owned());
        assert_eq!(
            events,
            vec![
                (
                    0x4ece8,
                    Kind::InvalidUser,
                    "203.0.113.7".into(),
                    user("admin")
                ),
                (0x4ece9, Kind::Failed, "203.0.113.7".into(), user("admin")),
                (
                    0x4ecea,
                    Kind::Failed,
                    "198.51.100.23".into(),
                    user("\\xff\\xfe<b>")
                ),
                (0x4ecec, Kind::Accepted, "2001:db8::5".into(), user("alice")),
                (
                    0x4eced,
                    Kind::Disconnect,
                    "203.0.113.9".into(),
                    user("root")
                ),
            ]
        );
        // The entry `logger -t sshd` wrote (seqnum 0x4eceb) claims sshd but is not.
        assert_eq!(lines[4].parsed, Parsed::NotSshd);
        let Parsed::Event(first) = &lines[1].parsed else {
            panic!("event")
        };
        assert_eq!(first.host.as_deref(), Some("web-01"));
        assert_eq!(first.pid, Some(40211));
        assert_eq!(
            first.ts,
            Timestamp::from_microsecond(1764460801854569 - 17).expect("ts")
        );

        log.commit().expect("commit");
        let saved = fs::read_to_string(dir.path().join("journald.json")).expect("checkpoint");
        assert!(saved.contains("i=4eced;"), "{saved}");
    }
}
