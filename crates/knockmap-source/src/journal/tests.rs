//! The follower against a fake `journalctl`: a shell script that records its arguments,
//! prints recorded entries from after `--after-cursor` and then keeps running like
//! `--follow`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::*;

const FIXTURE: &str = include_str!("../../tests/fixtures/journal-sshd.jsonl");
const SERIES: &str = "journald-8f2c1d6e4b3a49f0a1c2d3e4f5a6b7c8";

struct Fake {
    dir: tempfile::TempDir,
    program: PathBuf,
}

impl Fake {
    /// A fake journalctl printing `entries`. With `first_run`, a start without
    /// `--after-cursor` prints those instead and exits with status 3.
    fn new(entries: &str, first_run: Option<&str>) -> Fake {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("entries.jsonl");
        fs::write(&data, entries).expect("write entries");
        let first = dir.path().join("first.jsonl");
        let first_run_part = match first_run {
            Some(text) => {
                fs::write(&first, text).expect("write first run");
                format!(
                    "if [ -z \"$after\" ]; then cat '{}'; exit 3; fi\n",
                    first.display()
                )
            }
            None => String::new(),
        };
        let d = dir.path().display();
        let script = format!(
            r#"#!/bin/sh
printf '%s\n' "$*" >> '{d}/args'
echo $$ >> '{d}/pids'
after=
lines=all
for a in "$@"; do
  case "$a" in
    --after-cursor=*) after="${{a#--after-cursor=}}" ;;
    --lines=*) lines="${{a#--lines=}}" ;;
  esac
done
{first_run_part}if [ "$lines" != 0 ]; then
  if [ -n "$after" ]; then
    awk -v c="\"__CURSOR\":\"$after\"" 'found {{ print }} index($0, c) {{ found = 1 }}' '{data}'
  else
    cat '{data}'
  fi
fi
exec sleep 600
"#,
            data = data.display()
        );
        let program = dir.path().join("journalctl");
        fs::write(&program, script).expect("write script");
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).expect("chmod");
        Fake { dir, program }
    }

    fn config(&self) -> JournalConfig {
        JournalConfig {
            program: self.program.clone(),
            restart_delay: Duration::from_millis(20),
            ..JournalConfig::default()
        }
    }

    fn checkpoint(&self) -> PathBuf {
        self.dir.path().join("journald.json")
    }

    /// The argument lists of every start, in order.
    fn args(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("args"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// Every started fake's process id.
    fn pids(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("pids"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }
}

/// Reads until `n` lines came or two seconds passed with nothing new.
fn read_n(f: &mut JournalFollower, n: usize) -> Vec<Line> {
    let mut out = Vec::new();
    let mut idle_since = Instant::now();
    while out.len() < n && idle_since.elapsed() < Duration::from_secs(2) {
        f.wait(Duration::from_millis(50));
        let lines = f.read_available(n - out.len()).expect("read");
        if !lines.is_empty() {
            idle_since = Instant::now();
        }
        out.extend(lines);
    }
    out
}

fn ids(lines: &[Line]) -> Vec<(String, u64)> {
    lines
        .iter()
        .map(|l| (l.fingerprint.clone(), l.offset))
        .collect()
}

fn cursor_of(line: &Line) -> String {
    let v: serde_json::Value = serde_json::from_slice(&line.bytes).expect("json");
    v["__CURSOR"].as_str().expect("cursor").to_owned()
}

#[test]
fn entries_get_their_identity_from_the_cursor() {
    let mut entries = String::from("not json at all\n{\"MESSAGE\":\"no cursor\"}\n");
    entries.push_str(FIXTURE);
    let fake = Fake::new(&entries, None);
    let mut f = JournalFollower::new(fake.config(), None, StartAt::Beginning).expect("start");
    let lines = read_n(&mut f, 7);
    let expected: Vec<(String, u64)> = (0..7).map(|n| (SERIES.to_owned(), 0x4ece7 + n)).collect();
    assert_eq!(ids(&lines), expected);
    let fixture: Vec<&[u8]> = FIXTURE.lines().map(str::as_bytes).collect();
    let got: Vec<&[u8]> = lines.iter().map(|l| l.bytes.as_slice()).collect();
    assert_eq!(got, fixture, "entries are passed on byte for byte");
    assert_eq!(
        f.skipped_lines(),
        2,
        "the non-JSON line and the entry without a cursor"
    );
    assert_eq!(
        fake.args(),
        vec![
            "--output=json --follow --no-pager --lines=all SYSLOG_IDENTIFIER=sshd \
             SYSLOG_IDENTIFIER=sshd-session SYSLOG_IDENTIFIER=sshd-auth"
        ]
    );
    assert!(f.read_available(10).expect("read").is_empty());
}

#[test]
fn a_restart_after_commit_resumes_after_the_cursor() {
    let fake = Fake::new(FIXTURE, None);
    let mut f = JournalFollower::new(fake.config(), Some(fake.checkpoint()), StartAt::Beginning)
        .expect("start");
    let first = read_n(&mut f, 3);
    assert_eq!(first.len(), 3);
    f.commit().expect("commit");
    let cursor = cursor_of(&first[2]);
    assert_eq!(f.cursor(), Some(cursor.as_str()));
    drop(f);

    let mut f = JournalFollower::new(fake.config(), Some(fake.checkpoint()), StartAt::Beginning)
        .expect("restart");
    let rest = read_n(&mut f, 10);
    let args = fake.args();
    assert_eq!(args.len(), 2);
    assert!(
        args[1].contains(&format!("--after-cursor={cursor}")),
        "{}",
        args[1]
    );
    let expected: Vec<(String, u64)> = (0..7).map(|n| (SERIES.to_owned(), 0x4ece7 + n)).collect();
    let mut all = ids(&first);
    all.extend(ids(&rest));
    assert_eq!(all, expected, "every entry once, in order");
}

#[test]
fn without_commit_a_restart_delivers_the_same_ids_again() {
    let fake = Fake::new(FIXTURE, None);
    let checkpoint = Some(fake.checkpoint());
    let mut f =
        JournalFollower::new(fake.config(), checkpoint.clone(), StartAt::Beginning).expect("start");
    let first = read_n(&mut f, 7);
    drop(f);
    let mut f = JournalFollower::new(fake.config(), checkpoint, StartAt::Beginning).expect("again");
    let second = read_n(&mut f, 7);
    assert_eq!(first.len(), 7);
    assert_eq!(first, second);
    assert!(!fake.args()[1].contains("--after-cursor"));
    assert!(!fake.checkpoint().exists(), "nothing was committed");
}

#[test]
fn journalctl_exiting_is_restarted_after_the_last_entry_read() {
    let first_two: String = FIXTURE.lines().take(2).map(|l| format!("{l}\n")).collect();
    let fake = Fake::new(FIXTURE, Some(&first_two));
    let mut f = JournalFollower::new(fake.config(), None, StartAt::Beginning).expect("start");
    let lines = read_n(&mut f, 7);
    let expected: Vec<(String, u64)> = (0..7).map(|n| (SERIES.to_owned(), 0x4ece7 + n)).collect();
    assert_eq!(ids(&lines), expected, "nothing lost, nothing twice");
    assert_eq!(f.restarts(), 1);
    let args = fake.args();
    assert_eq!(args.len(), 2);
    assert!(args[1].contains(&format!("--after-cursor={}", cursor_of(&lines[1]))));
}

#[test]
fn start_at_end_asks_for_new_entries_only() {
    let fake = Fake::new(FIXTURE, None);
    let mut f = JournalFollower::new(fake.config(), None, StartAt::End).expect("start");
    assert!(read_n(&mut f, 1).is_empty());
    assert!(fake.args()[0].contains("--lines=0"));
    assert_eq!(f.cursor(), None);
}

#[test]
fn dropping_the_follower_ends_journalctl() {
    let fake = Fake::new(FIXTURE, None);
    let mut f = JournalFollower::new(fake.config(), None, StartAt::Beginning).expect("start");
    assert_eq!(read_n(&mut f, 7).len(), 7);
    drop(f);
    let pids = fake.pids();
    assert_eq!(pids.len(), 1);
    assert!(
        !Path::new(&format!("/proc/{}", pids[0])).exists(),
        "journalctl was killed and reaped"
    );
}

#[test]
fn a_missing_program_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = JournalConfig {
        program: dir.path().join("no-journalctl"),
        ..JournalConfig::default()
    };
    let err = JournalFollower::new(config, None, StartAt::End).expect_err("no program");
    assert!(matches!(err, SourceError::Spawn { .. }));
    assert!(err.to_string().starts_with("cannot start "), "{err}");
}
