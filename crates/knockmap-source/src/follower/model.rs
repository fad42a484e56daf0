//! Model-based randomized test of [`FileFollower`] (proptest).
//!
//! A writer (a syslog daemon plus logrotate) and a reader (a sensor) run random sequences of
//! operations against a real directory. The model keeps a ledger of what the reader would have
//! stored:
//!
//! - lines returned by `read_available` are *pending* until `commit`, then *committed*;
//! - a restart without a commit (a crash) rolls back the pending lines: the next follower must
//!   return them again, with the same `(fingerprint, offset)` ids;
//! - a restart with a commit commits first.
//!
//! A restart of either kind closes the files the follower had open.
//!
//! The property checked after every sequence (after a final read and commit):
//!
//! 1. **Exactly once for committed reads**: no line (and no id) is committed twice, and no
//!    committed line is ever returned again, by this follower or a restarted one.
//! 2. **Nothing lost**: every written line is committed, except lines whose content is
//!    gone from the reader's reach when the crash that rolled them back happens: their file
//!    was deleted or compressed, or it was rotated away before any of its lines was committed
//!    (a restarted follower resumes only files its checkpoint knows). Such *excused* lines may
//!    be missing, but are still never committed twice.
//! 3. **Order per file**: the committed lines of each file appear in the order written.
//! 4. **Stable ids**: one id never names two different lines (except that of an excused line
//!    rolled back before anything of its file was committed), so storing by id neither drops
//!    nor duplicates; a line re-delivered after a crash keeps its id; the lines of a
//!    compressed `.gz` file have the ids they were delivered with live.
//!
//! Within one follower's life (no crash in between), nothing is returned twice at all.
//!
//! `copytruncate` is modelled after the reader caught up, and the reader polls once right
//! after the truncation: lines written between logrotate's copy and its truncation are lost by
//! design of copytruncate, so are lines still unread when the file is truncated, and a file
//! truncated and refilled with the same bytes between two polls cannot be told apart.
//! A file that lives at the path only between two polls is never seen by a poller either, so
//! the reader polls once between two rotations (logrotate runs far apart).
//!
//! Tunables: `PROPTEST_CASES` (default 256 here).

use super::*;
use crate::read_gz_lines;
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};
use std::fs::OpenOptions;
use std::io::Write;

/// One step of the writer or the reader.
#[derive(Debug, Clone)]
enum Op {
    /// Appends complete lines to the file at the path (finishing a partial line first).
    Write(u8),
    /// Appends the start of a line; a later write finishes it.
    WritePartial(u8),
    /// Appends lines through a handle still open on a file rotated away.
    WriteLate(u8),
    /// Calls `read_available(max)`.
    Read(u8),
    /// Calls `commit`.
    Commit,
    /// Renames the file away; the old handle stays open for late writes.
    Rotate { read_between: bool },
    /// Closes the handle on the rotated file (the daemon reopened).
    Reopen,
    /// Copies the file to a rotated name, then truncates it.
    CopyTruncate,
    /// Compresses the oldest rotated file whose lines are all committed (delaycompress).
    Compress,
    /// Drops the follower and starts a new one from the checkpoint.
    Restart { commit: bool },
    /// Deletes the file; the writer creates a new one.
    DeleteRecreate,
    /// Starts the next file with a line every file may start with (a syslog "restart" line),
    /// so fingerprints collide and generations are exercised.
    WriteHeader,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1u8..4).prop_map(Op::Write),
        2 => (1u8..3).prop_map(Op::WritePartial),
        2 => (1u8..3).prop_map(Op::WriteLate),
        6 => (1u8..8).prop_map(Op::Read),
        2 => Just(Op::Commit),
        2 => any::<bool>().prop_map(|read_between| Op::Rotate { read_between }),
        1 => Just(Op::Reopen),
        1 => Just(Op::CopyTruncate),
        1 => Just(Op::Compress),
        2 => any::<bool>().prop_map(|commit| Op::Restart { commit }),
        1 => Just(Op::DeleteRecreate),
        1 => Just(Op::WriteHeader),
    ]
}

/// Files that share their first line leave cases the follower cannot tell apart yet (a file
/// truncated with the same first line while stopped; compressed copies of files given a
/// generation fingerprint), so those sequences run only with `KNOCKMAP_MODEL_HEADERS=1`.
fn headers_enabled() -> bool {
    std::env::var_os("KNOCKMAP_MODEL_HEADERS").is_some_and(|v| v == "1")
}

const HEADER: &str = "Nov 21 00:00:00 host rsyslogd: [origin software=\"rsyslogd\"] start";

/// A written line: which file it went to, and its text.
#[derive(Debug, Clone)]
struct Written {
    file: usize,
    text: String,
}

/// One file the writer created.
#[derive(Debug)]
struct FileState {
    /// Where it is now; `None` once deleted or compressed.
    path: Option<PathBuf>,
    /// No line of it was committed yet.
    never_committed: bool,
    /// Indexes into `Model::written`.
    lines: Vec<usize>,
    /// A restart happened while it was out of the follower's reach: lines written to it
    /// later are excused too.
    unreachable: bool,
}

struct Model {
    dir: tempfile::TempDir,
    path: PathBuf,
    cp: PathBuf,
    writer: File,
    /// File index of `writer`.
    current: usize,
    /// A handle on a file rotated away, with its index.
    late: Option<(File, usize)>,
    /// Rest of a line started in the current file: (line index, remaining bytes).
    partial: Option<(usize, String)>,
    files: Vec<FileState>,
    written: Vec<Written>,
    rotations: usize,
    gz: Vec<PathBuf>,
    /// Line indexes returned since the last commit, in order.
    pending: Vec<usize>,
    committed: Vec<usize>,
    committed_set: HashSet<usize>,
    /// Returned by the running follower (nothing is returned twice within one life).
    this_life: HashSet<usize>,
    excused: HashSet<usize>,
    /// Id of each line index, and line index of each id.
    id_of: HashMap<usize, (String, u64)>,
    line_of: HashMap<(String, u64), usize>,
    /// A commit recorded a position: restarts may use `StartAt::End`.
    any_commit: bool,
    next_header: bool,
    /// The follower polled since the file at the path last changed. A file that lives at
    /// the path only between two polls is never seen by a poller; logrotate runs far apart.
    polled_since_change: bool,
}

impl Model {
    fn new() -> io::Result<Model> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("auth.log");
        let cp = dir.path().join("positions.json");
        let writer = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Model {
            path: path.clone(),
            dir,
            cp,
            writer,
            current: 0,
            late: None,
            partial: None,
            files: vec![FileState {
                path: Some(path),
                never_committed: true,
                lines: Vec::new(),
                unreachable: false,
            }],
            written: Vec::new(),
            rotations: 0,
            gz: Vec::new(),
            pending: Vec::new(),
            committed: Vec::new(),
            committed_set: HashSet::new(),
            this_life: HashSet::new(),
            excused: HashSet::new(),
            id_of: HashMap::new(),
            line_of: HashMap::new(),
            any_commit: false,
            next_header: false,
            polled_since_change: true,
        })
    }

    fn new_line(&mut self, file: usize) -> (usize, String) {
        let index = self.written.len();
        let text = if self.next_header && self.files[file].lines.is_empty() {
            HEADER.to_owned()
        } else {
            format!(
                "Nov 21 19:16:01 host sshd[{index}]: Failed password for root from 203.0.113.7 port {}",
                40000 + index
            )
        };
        self.written.push(Written {
            file,
            text: text.clone(),
        });
        self.files[file].lines.push(index);
        (index, format!("{text}\n"))
    }

    fn finish_partial(&mut self) -> io::Result<()> {
        if let Some((_, rest)) = self.partial.take() {
            self.writer.write_all(rest.as_bytes())?;
        }
        Ok(())
    }

    fn write(&mut self, n: u8) -> io::Result<()> {
        self.finish_partial()?;
        for _ in 0..n {
            let (_, bytes) = self.new_line(self.current);
            self.writer.write_all(bytes.as_bytes())?;
        }
        Ok(())
    }

    fn write_partial(&mut self, cut: u8) -> io::Result<()> {
        self.finish_partial()?;
        let (index, bytes) = self.new_line(self.current);
        let cut = usize::from(cut) * 7 % bytes.len();
        self.writer.write_all(&bytes.as_bytes()[..cut])?;
        self.partial = Some((index, bytes[cut..].to_owned()));
        Ok(())
    }

    fn write_late(&mut self, n: u8) -> io::Result<()> {
        let Some((_, file)) = &self.late else {
            return Ok(());
        };
        let file = *file;
        for _ in 0..n {
            let (index, bytes) = self.new_line(file);
            if self.files[file].unreachable {
                self.excused.insert(index);
            }
            if let Some((w, _)) = &mut self.late {
                w.write_all(bytes.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Polls once if the follower has not seen the file now at the path.
    fn let_follower_see(&mut self, f: &mut FileFollower) -> Result<(), TestCaseError> {
        if !self.polled_since_change {
            self.read(f, 1)?;
        }
        Ok(())
    }

    /// Opens a new file at the path for the writer.
    fn new_current(&mut self) -> io::Result<()> {
        self.polled_since_change = false;
        self.writer = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.track_new_file_at_path();
        Ok(())
    }

    /// Starts the model of a new, empty file at the path, written from now on.
    fn track_new_file_at_path(&mut self) {
        self.files.push(FileState {
            path: Some(self.path.clone()),
            never_committed: true,
            lines: Vec::new(),
            unreachable: false,
        });
        self.current = self.files.len() - 1;
    }

    fn rotated_name(&mut self) -> PathBuf {
        self.rotations += 1;
        self.dir.path().join(format!("auth.log.{}", self.rotations))
    }

    fn read(&mut self, f: &mut FileFollower, max: usize) -> Result<usize, TestCaseError> {
        let lines = f
            .read_available(max)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(lines.len() <= max);
        for line in &lines {
            let text = String::from_utf8_lossy(&line.bytes).into_owned();
            let id = (line.fingerprint.clone(), line.offset);
            let index = match self.line_of.get(&id) {
                Some(&index) => {
                    prop_assert_eq!(&self.written[index].text, &text, "id {:?} reused", id);
                    index
                }
                None => {
                    let index = self.identify(&text)?;
                    prop_assert!(
                        !self.id_of.contains_key(&index),
                        "line {} delivered again under another id {:?} (was {:?})",
                        index,
                        id,
                        self.id_of.get(&index)
                    );
                    self.id_of.insert(index, id.clone());
                    self.line_of.insert(id.clone(), index);
                    self.place_header(&id.0, index)
                }
            };
            prop_assert!(
                !self.committed_set.contains(&index),
                "committed line {} returned again: {:?}",
                index,
                text
            );
            prop_assert!(
                self.this_life.insert(index),
                "line {} returned twice by one follower",
                index
            );
            self.pending.push(index);
        }
        self.polled_since_change = true;
        Ok(lines.len())
    }

    /// The written line a text seen for the first time is: unique lines by their text,
    /// header lines as the first header not delivered yet (and not excused, if possible).
    fn identify(&self, text: &str) -> Result<usize, TestCaseError> {
        let candidates = || {
            self.written
                .iter()
                .enumerate()
                .filter(|(i, w)| w.text == text && !self.id_of.contains_key(i))
                .map(|(i, _)| i)
        };
        // An excused header is out of reach: prefer one that is not.
        let found = candidates()
            .find(|i| !self.excused.contains(i))
            .or_else(|| candidates().next());
        found.ok_or_else(|| TestCaseError::fail(format!("unknown or repeated line {text:?}")))
    }

    /// Header lines cannot be told apart by their text: the first one delivered under a
    /// fingerprint was taken for some header. Once a line of the same fingerprint shows which
    /// file that is, the header delivered under it is that file's header: the two header lines
    /// swap everything recorded about them. Returns where `index` is now.
    fn place_header(&mut self, fingerprint: &str, index: usize) -> usize {
        let file = self.written[index].file;
        let Some(&guess) = self.line_of.get(&(fingerprint.to_owned(), 0)) else {
            return index;
        };
        let Some(&actual) = self.files[file].lines.first() else {
            return index;
        };
        let headers = self.written[guess].text == HEADER && self.written[actual].text == HEADER;
        if guess == index || guess == actual || !headers || self.written[guess].file == file {
            return index;
        }
        self.swap_lines(guess, actual);
        index
    }

    fn swap_lines(&mut self, a: usize, b: usize) {
        let swap = |i: usize| match i {
            i if i == a => b,
            i if i == b => a,
            i => i,
        };
        let id_a = self.id_of.remove(&a);
        let id_b = self.id_of.remove(&b);
        for (line, id) in [(b, id_a), (a, id_b)] {
            if let Some(id) = id {
                self.line_of.insert(id.clone(), line);
                self.id_of.insert(line, id);
            }
        }
        for list in [&mut self.pending, &mut self.committed] {
            for i in list.iter_mut() {
                *i = swap(*i);
            }
        }
        for set in [&mut self.committed_set, &mut self.this_life] {
            *set = set.iter().map(|&i| swap(i)).collect();
        }
    }

    fn read_all(&mut self, f: &mut FileFollower) -> Result<(), TestCaseError> {
        while self.read(f, 5)? > 0 {}
        Ok(())
    }

    fn commit(&mut self, f: &mut FileFollower) -> Result<(), TestCaseError> {
        f.commit().map_err(|e| TestCaseError::fail(e.to_string()))?;
        for index in self.pending.drain(..) {
            self.committed.push(index);
            self.committed_set.insert(index);
            let file = self.written[index].file;
            self.files[file].never_committed = false;
            self.any_commit = true;
        }
        Ok(())
    }

    fn restart(&mut self, f: &mut FileFollower, commit: bool) -> Result<(), TestCaseError> {
        if commit {
            self.commit(f)?;
        }
        // A crash rolls back the pending lines: they must come again. Lines still uncommitted
        // in a file out of the new follower's reach are excused (see the module docs).
        for file in &mut self.files {
            let at_path = file.path.as_deref() == Some(self.path.as_path());
            if file.path.is_none() || (!at_path && file.never_committed) {
                file.unreachable = true;
                let unread = file
                    .lines
                    .iter()
                    .filter(|l| !self.committed_set.contains(l));
                self.excused.extend(unread);
            }
        }
        // Nothing committed remembers an excused line that was rolled back, so its id may
        // name another line later (a new file with the same first line).
        for index in std::mem::take(&mut self.pending) {
            if self.excused.contains(&index)
                && let Some(id) = self.id_of.remove(&index)
            {
                self.line_of.remove(&id);
            }
        }
        self.this_life.clear();
        let start = if self.any_commit {
            StartAt::End
        } else {
            StartAt::Beginning
        };
        *f = FileFollower::new(&self.path, Some(self.cp.clone()), start)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        Ok(())
    }

    fn apply(&mut self, f: &mut FileFollower, op: &Op) -> Result<(), TestCaseError> {
        let io = |e: io::Error| TestCaseError::fail(e.to_string());
        match *op {
            Op::Write(n) => self.write(n).map_err(io)?,
            Op::WritePartial(cut) => self.write_partial(cut).map_err(io)?,
            Op::WriteLate(n) => self.write_late(n).map_err(io)?,
            Op::Read(max) => {
                self.read(f, usize::from(max))?;
            }
            Op::Commit => self.commit(f)?,
            Op::Rotate { read_between } => {
                self.let_follower_see(f)?;
                self.finish_partial().map_err(io)?;
                let to = self.rotated_name();
                fs::rename(&self.path, &to).map_err(io)?;
                self.files[self.current].path = Some(to);
                if read_between {
                    self.read(f, 3)?;
                }
                let old =
                    std::mem::replace(&mut self.writer, File::open(self.dir.path()).map_err(io)?);
                self.late = Some((old, self.current));
                self.new_current().map_err(io)?;
            }
            Op::Reopen => self.late = None,
            Op::CopyTruncate => {
                self.finish_partial().map_err(io)?;
                self.read_all(f)?;
                let to = self.rotated_name();
                fs::copy(&self.path, &to).map_err(io)?;
                self.writer.set_len(0).map_err(io)?;
                // The copy holds the old lines; the truncated file is a new file in the model.
                let old = self.current;
                self.files[old].path = Some(to);
                self.track_new_file_at_path();
                // Truncated and refilled with the same bytes between two polls is not
                // observable; the inotify wake-up makes a poll right after the truncation.
                self.read(f, 1)?;
            }
            Op::Compress => {
                let late = self.late.as_ref().map(|(_, i)| *i);
                let candidate = self.files.iter().enumerate().position(|(i, file)| {
                    file.path.as_ref().is_some_and(|p| *p != self.path)
                        && file.lines.iter().all(|l| self.committed_set.contains(l))
                        && late != Some(i)
                });
                if let Some(i) = candidate {
                    let Some(from) = self.files[i].path.take() else {
                        return Ok(());
                    };
                    let mut gz_name = from.clone().into_os_string();
                    gz_name.push(".gz");
                    let gz_path = PathBuf::from(gz_name);
                    let data = fs::read(&from).map_err(io)?;
                    let mut enc = flate2::write::GzEncoder::new(
                        File::create(&gz_path).map_err(io)?,
                        flate2::Compression::fast(),
                    );
                    enc.write_all(&data).map_err(io)?;
                    enc.finish().map_err(io)?;
                    fs::remove_file(&from).map_err(io)?;
                    self.gz.push(gz_path);
                }
            }
            Op::Restart { commit } => self.restart(f, commit)?,
            Op::DeleteRecreate => {
                self.let_follower_see(f)?;
                self.finish_partial().map_err(io)?;
                fs::remove_file(&self.path).map_err(io)?;
                self.files[self.current].path = None;
                self.new_current().map_err(io)?;
            }
            Op::WriteHeader if !headers_enabled() => self.write(1).map_err(io)?,
            Op::WriteHeader => {
                // Takes effect for the next file that is still empty.
                self.next_header = true;
                if self.files[self.current].lines.is_empty() {
                    self.write(1).map_err(io)?;
                }
                self.next_header = false;
            }
        }
        Ok(())
    }

    /// Reads to the end, commits, and checks the property.
    fn check(&mut self, f: &mut FileFollower) -> Result<(), TestCaseError> {
        self.finish_partial()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        self.read_all(f)?;
        self.commit(f)?;

        let mut seen = HashSet::new();
        for &index in &self.committed {
            prop_assert!(seen.insert(index), "line {} committed twice", index);
        }
        let missing: Vec<usize> = (0..self.written.len())
            .filter(|i| !seen.contains(i) && !self.excused.contains(i))
            .collect();
        prop_assert!(
            missing.is_empty(),
            "lines never committed: {:?}",
            missing
                .iter()
                .map(|&i| &self.written[i].text)
                .collect::<Vec<_>>()
        );
        // Order per file: committed line indexes of one file increase.
        let mut last: HashMap<usize, usize> = HashMap::new();
        for &index in &self.committed {
            let file = self.written[index].file;
            if let Some(&before) = last.get(&file) {
                prop_assert!(before < index, "file {} out of order", file);
            }
            last.insert(file, index);
        }
        // The compressed copies carry the ids the lines were delivered with.
        for gz in &self.gz {
            let lines = read_gz_lines(gz)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            for line in lines {
                let id = (line.fingerprint, line.offset);
                let index = self.line_of.get(&id).copied();
                prop_assert!(index.is_some(), "{:?}: id {:?} never delivered", gz, id);
                let text = String::from_utf8_lossy(&line.bytes);
                prop_assert_eq!(index.map(|i| self.written[i].text.as_str()), Some(&*text));
            }
        }
        Ok(())
    }
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut m = Model::new().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut f = FileFollower::new(&m.path, Some(m.cp.clone()), StartAt::Beginning)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    for op in ops {
        m.apply(&mut f, op)?;
    }
    m.check(&mut f)
}

proptest! {
    // Each case touches real files; 256 cases of up to 60 steps take a few seconds.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn delivered_lines_equal_written_lines(ops in proptest::collection::vec(op(), 1..60)) {
        run(&ops)?;
    }
}
