use super::*;
use crate::fingerprint_bytes;
use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn append(path: &Path, data: &[u8]) -> io::Result<()> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(data)
}

fn texts(lines: &[Line]) -> Vec<String> {
    lines
        .iter()
        .map(|l| String::from_utf8_lossy(&l.bytes).into_owned())
        .collect()
}

fn read_all(f: &mut FileFollower, batch: usize) -> Result<Vec<Line>, SourceError> {
    let mut all = Vec::new();
    loop {
        let lines = f.read_available(batch)?;
        if lines.is_empty() {
            return Ok(all);
        }
        assert!(lines.len() <= batch);
        all.extend(lines);
    }
}

fn fp(first_line: &str) -> Option<String> {
    fingerprint_bytes(format!("{first_line}\n").as_bytes(), false)
}

#[test]
fn follower_can_move_between_threads() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<FileFollower>();
}

#[test]
fn append_and_read() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    append(&path, b"a\nbb\n")?;
    let mut f = FileFollower::new(&path, None, StartAt::Beginning)?;
    let lines = f.read_available(100)?;
    assert_eq!(texts(&lines), ["a", "bb"]);
    assert_eq!(lines[0].offset, 0);
    assert_eq!(lines[1].offset, 2);
    assert_eq!(Some(&lines[0].fingerprint), fp("a").as_ref());
    assert_eq!(f.fingerprint(), fp("a").as_deref());
    assert!(f.read_available(100)?.is_empty());
    append(&path, b"ccc\n")?;
    let lines = f.read_available(100)?;
    assert_eq!(texts(&lines), ["ccc"]);
    assert_eq!(lines[0].offset, 5);
    assert_eq!(f.position(), Some(9));
    Ok(())
}

#[test]
fn max_lines_is_respected() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    for i in 0..10 {
        append(&path, format!("line {i}\n").as_bytes())?;
    }
    let mut f = FileFollower::new(&path, None, StartAt::Beginning)?;
    assert!(f.read_available(0)?.is_empty());
    assert_eq!(f.read_available(3)?.len(), 3);
    let rest = read_all(&mut f, 4)?;
    assert_eq!(
        texts(&rest),
        (3..10).map(|i| format!("line {i}")).collect::<Vec<_>>()
    );
    Ok(())
}

#[test]
fn start_at_end_begins_at_a_line_boundary() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    append(&path, b"old 1\nold 2\npart")?;
    let mut f = FileFollower::new(&path, None, StartAt::End)?;
    assert!(f.read_available(10)?.is_empty());
    append(&path, b"ial\nnew\n")?;
    let lines = f.read_available(10)?;
    assert_eq!(texts(&lines), ["partial", "new"]);
    assert_eq!(lines[0].offset, 12);
    Ok(())
}

#[test]
fn partial_line_waits_for_its_newline() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    // Not even the first line is complete: no fingerprint yet.
    append(&path, b"first ")?;
    let mut f = FileFollower::new(&path, None, StartAt::End)?;
    assert!(f.read_available(10)?.is_empty());
    assert_eq!(f.fingerprint(), None);
    append(&path, b"line\nsecond")?;
    assert_eq!(texts(&f.read_available(10)?), ["first line"]);
    assert!(f.read_available(10)?.is_empty());
    append(&path, b" line\n")?;
    let lines = f.read_available(10)?;
    assert_eq!(texts(&lines), ["second line"]);
    assert_eq!(lines[0].offset, 11);
    Ok(())
}

#[test]
fn oversized_lines_are_skipped() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    append(&path, b"before\n")?;
    let mut f = FileFollower::new(&path, None, StartAt::Beginning)?;
    let big = vec![b'x'; 40 * 1024];
    append(&path, &big)?;
    assert_eq!(texts(&f.read_available(10)?), ["before"]);
    append(&path, &big)?;
    assert!(f.read_available(10)?.is_empty());
    assert_eq!(f.oversized_lines(), 1);
    append(&path, b"\nafter\n")?;
    let lines = f.read_available(10)?;
    assert_eq!(texts(&lines), ["after"]);
    assert_eq!(lines[0].offset, 7 + 2 * big.len() as u64 + 1);
    assert_eq!(f.oversized_lines(), 1);
    Ok(())
}

#[test]
fn start_at_end_inside_an_oversized_line() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    append(&path, b"first\n")?;
    append(&path, &vec![b'x'; MAX_LINE_BYTES + 100])?;
    let mut f = FileFollower::new(&path, None, StartAt::End)?;
    append(&path, b"xx\nnext\n")?;
    assert_eq!(texts(&f.read_available(10)?), ["next"]);
    Ok(())
}

#[test]
fn rename_rotation_drains_the_old_file_first() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    let rotated = dir.path().join("auth.log.1");
    let mut old = OpenOptions::new().create(true).append(true).open(&path)?;
    old.write_all(b"one\ntwo\n")?;
    let mut f = FileFollower::new(&path, None, StartAt::Beginning)?;
    assert_eq!(texts(&f.read_available(10)?), ["one", "two"]);

    fs::rename(&path, &rotated)?;
    old.write_all(b"three\n")?;
    // Rotation noticed; no new file yet.
    assert_eq!(texts(&f.read_available(10)?), ["three"]);
    // The writer has not reopened yet: more lines go to the old file, then the new one starts.
    old.write_all(b"four\n")?;
    append(&path, b"new one\n")?;
    let lines = f.read_available(10)?;
    assert_eq!(texts(&lines), ["four", "new one"]);
    assert_eq!(lines[0].fingerprint, fp("one").unwrap_or_default());
    assert_eq!(lines[0].offset, 14);
    assert_eq!(lines[1].fingerprint, fp("new one").unwrap_or_default());
    assert_eq!(lines[1].offset, 0);
    // Within the grace period the old file is still read.
    old.write_all(b"five\n")?;
    append(&path, b"new two\n")?;
    assert_eq!(texts(&f.read_available(10)?), ["five", "new two"]);
    Ok(())
}

#[test]
fn rotated_file_is_closed_after_the_grace() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    let mut old = OpenOptions::new().create(true).append(true).open(&path)?;
    old.write_all(b"one\n")?;
    let mut f =
        FileFollower::new(&path, None, StartAt::Beginning)?.with_rotation_grace(Duration::ZERO);
    assert_eq!(texts(&f.read_available(10)?), ["one"]);
    fs::rename(&path, dir.path().join("auth.log.1"))?;
    old.write_all(b"two\n")?;
    append(&path, b"new\n")?;
    // Read to its end, then dropped.
    assert_eq!(texts(&f.read_available(10)?), ["two", "new"]);
    assert!(f.draining.is_empty());
    old.write_all(b"late\n")?;
    assert!(f.read_available(10)?.is_empty());
    Ok(())
}

#[test]
fn rotation_before_the_new_file_has_a_line() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    append(&path, b"one\n")?;
    let mut f = FileFollower::new(&path, None, StartAt::End)?;
    fs::rename(&path, dir.path().join("auth.log.1"))?;
    append(&path, b"partial")?;
    assert!(f.read_available(10)?.is_empty());
    append(&path, b" first\n")?;
    // A file that appears while following is read from its beginning, whatever `start` was.
    assert_eq!(texts(&f.read_available(10)?), ["partial first"]);
    Ok(())
}

#[test]
fn copytruncate_restarts_at_zero() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    let mut w = OpenOptions::new().create(true).append(true).open(&path)?;
    w.write_all(b"one\ntwo\nthree\n")?;
    let mut f = FileFollower::new(&path, None, StartAt::Beginning)?;
    assert_eq!(f.read_available(10)?.len(), 3);

    fs::copy(&path, dir.path().join("auth.log.1"))?;
    w.set_len(0)?;
    assert!(f.read_available(10)?.is_empty());
    w.write_all(b"four\n")?;
    let lines = f.read_available(10)?;
    assert_eq!(texts(&lines), ["four"]);
    assert_eq!(lines[0].offset, 0);
    assert_eq!(lines[0].fingerprint, fp("four").unwrap_or_default());

    // Truncated and refilled past the old position before the next poll: the changed first
    // line gives it away.
    w.set_len(0)?;
    w.write_all(b"five\nsix\nseven\n")?;
    assert_eq!(texts(&f.read_available(10)?), ["five", "six", "seven"]);
    Ok(())
}

#[test]
fn truncated_content_with_the_same_first_line_gets_new_ids() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    let cp = dir.path().join("positions.json");
    let mut w = OpenOptions::new().create(true).append(true).open(&path)?;
    w.write_all(b"same\nold body line\n")?;
    let mut f = FileFollower::new(&path, Some(cp.clone()), StartAt::Beginning)?;
    let before = f.read_available(10)?;
    assert_eq!(before.len(), 2);

    w.set_len(0)?;
    assert!(f.read_available(10)?.is_empty());
    w.write_all(b"same\nnew\n")?;
    let after = f.read_available(10)?;
    assert_eq!(texts(&after), ["same", "new"]);
    assert_eq!(after[0].offset, 0);
    assert_ne!(after[0].fingerprint, before[0].fingerprint);
    f.commit()?;
    drop(f);

    // After a restart the new generation is resumed, with the same fingerprint.
    w.write_all(b"more\n")?;
    let mut f = FileFollower::new(&path, Some(cp), StartAt::End)?;
    let lines = f.read_available(10)?;
    assert_eq!(texts(&lines), ["more"]);
    assert_eq!(lines[0].fingerprint, after[0].fingerprint);
    assert_eq!(lines[0].offset, 9);
    Ok(())
}

#[test]
fn missing_file_then_created() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    let mut f = FileFollower::new(&path, None, StartAt::End)?;
    assert!(f.read_available(10)?.is_empty());
    assert!(f.read_available(10)?.is_empty());
    append(&path, b"hello\nworld\n")?;
    assert_eq!(texts(&f.read_available(10)?), ["hello", "world"]);
    Ok(())
}

#[test]
fn deleted_and_recreated() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    append(&path, b"a\nb\n")?;
    let mut f = FileFollower::new(&path, None, StartAt::Beginning)?;
    assert_eq!(f.read_available(10)?.len(), 2);
    fs::remove_file(&path)?;
    assert!(f.read_available(10)?.is_empty());
    append(&path, b"c\nd\n")?;
    let lines = f.read_available(10)?;
    assert_eq!(texts(&lines), ["c", "d"]);
    assert_eq!(lines[0].offset, 0);

    // Re-created with the same first line but shorter: its content is new.
    fs::remove_file(&path)?;
    append(&path, b"c\n")?;
    let lines = f.read_available(10)?;
    assert_eq!(texts(&lines), ["c"]);
    assert_eq!(lines[0].offset, 0);
    Ok(())
}

#[test]
fn same_content_at_a_new_inode_is_not_read_twice() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    let copy = dir.path().join("copy");
    append(&path, b"a\nb\n")?;
    let mut f = FileFollower::new(&path, None, StartAt::Beginning)?;
    assert_eq!(f.read_available(10)?.len(), 2);
    fs::copy(&path, &copy)?;
    append(&copy, b"c\n")?;
    fs::rename(&copy, &path)?;
    let lines = f.read_available(10)?;
    assert_eq!(texts(&lines), ["c"]);
    assert_eq!(lines[0].offset, 4);
    assert!(f.draining.is_empty());
    Ok(())
}

#[test]
fn restart_resumes_from_checkpoint() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    let cp = dir.path().join("state").join("positions.json");
    fs::create_dir(dir.path().join("state"))?;
    for i in 0..5 {
        append(&path, format!("line {i}\n").as_bytes())?;
    }
    let mut f = FileFollower::new(&path, Some(cp.clone()), StartAt::Beginning)?;
    let first = f.read_available(3)?;
    f.commit()?;
    // Read but not committed: delivered again after the restart, with the same ids.
    let uncommitted = f.read_available(1)?;
    drop(f);
    append(&path, b"line 5\n")?;

    let mut f = FileFollower::new(&path, Some(cp.clone()), StartAt::End)?;
    let rest = read_all(&mut f, 10)?;
    assert_eq!(texts(&rest), ["line 3", "line 4", "line 5"]);
    assert_eq!(rest[0], uncommitted[0]);
    assert_eq!(first.len(), 3);
    f.commit()?;
    drop(f);

    // Nothing new: nothing delivered.
    let mut f = FileFollower::new(&path, Some(cp), StartAt::Beginning)?;
    assert!(f.read_available(10)?.is_empty());
    Ok(())
}

#[test]
fn restart_after_rotation_reads_the_new_file_from_its_start() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    let cp = dir.path().join("positions.json");
    append(&path, b"old\n")?;
    let mut f = FileFollower::new(&path, Some(cp.clone()), StartAt::End)?;
    append(&path, b"old 2\n")?;
    assert_eq!(f.read_available(10)?.len(), 1);
    f.commit()?;
    drop(f);
    fs::rename(&path, dir.path().join("auth.log.1"))?;
    append(&path, b"new 1\nnew 2\n")?;
    let mut f = FileFollower::new(&path, Some(cp), StartAt::End)?;
    assert_eq!(texts(&f.read_available(10)?), ["new 1", "new 2"]);
    Ok(())
}

#[test]
fn restart_after_truncation_while_stopped() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    let cp = dir.path().join("positions.json");
    append(&path, b"head\nlong line number one\nlong line number two\n")?;
    let mut f = FileFollower::new(&path, Some(cp.clone()), StartAt::Beginning)?;
    let old = f.read_available(10)?;
    f.commit()?;
    drop(f);
    fs::write(&path, b"head\nshort\n")?;
    let mut f = FileFollower::new(&path, Some(cp), StartAt::End)?;
    let lines = f.read_available(10)?;
    assert_eq!(texts(&lines), ["head", "short"]);
    assert_ne!(lines[0].fingerprint, old[0].fingerprint);
    Ok(())
}

#[test]
fn checkpoint_file_content() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    let cp = dir.path().join("positions.json");
    append(&path, b"first\nsecond\npartial")?;
    let mut f = FileFollower::new(&path, Some(cp.clone()), StartAt::Beginning)?;
    assert_eq!(f.read_available(10)?.len(), 2);
    f.commit()?;
    let json: serde_json::Value = serde_json::from_slice(&fs::read(&cp)?)?;
    let key = fp("first").unwrap_or_default();
    let entry = &json["files"][key.as_str()];
    assert_eq!(entry["offset"], 13);
    assert_eq!(entry["path"], path.to_string_lossy().as_ref());
    assert_eq!(entry["first_line"], key.as_str());
    assert!(entry["updated"].as_str().is_some_and(|t| t.ends_with('Z')));
    let leftovers: Vec<_> = fs::read_dir(dir.path())?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
    Ok(())
}

/// Small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The writing side of the model: what a syslog daemon and logrotate do to the file.
struct Model {
    dir: tempfile::TempDir,
    path: PathBuf,
    cp: PathBuf,
    writer: File,
    written: Vec<String>,
    /// Rest of a line whose beginning is already in the file.
    unfinished: Option<String>,
    rotations: u32,
    /// The follower polled since the last rename (it has opened the file now at the path).
    seen_since_rotation: bool,
    /// A renamed file may still hold unread lines (a restart would not read them).
    undrained_rotation: bool,
    /// A commit recorded a position for the path. Before that, a restart with
    /// [`StartAt::End`] would rightly skip what is in the file, so restarts use `Beginning`.
    committed: bool,
    /// Lines delivered by the running follower (a commit records positions only for those).
    since_start: usize,
    delivered: Vec<Line>,
    crashes: u32,
    /// What happened, for failure messages.
    log: Vec<String>,
}

impl Model {
    fn new() -> io::Result<Model> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("auth.log");
        let cp = dir.path().join("positions.json");
        let writer = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Model {
            dir,
            path,
            cp,
            writer,
            written: Vec::new(),
            unfinished: None,
            rotations: 0,
            seen_since_rotation: true,
            undrained_rotation: false,
            committed: false,
            since_start: 0,
            delivered: Vec::new(),
            crashes: 0,
            log: Vec::new(),
        })
    }

    fn finish_line(&mut self) -> io::Result<()> {
        if let Some(rest) = self.unfinished.take() {
            self.writer.write_all(rest.as_bytes())?;
        }
        Ok(())
    }

    fn write_lines(&mut self, rng: &mut Rng, n: u64, leave_partial: bool) -> io::Result<()> {
        self.finish_line()?;
        self.log.push(format!(
            "write {n}{}",
            if leave_partial { "+partial" } else { "" }
        ));
        for i in 0..n {
            let line = format!(
                "Nov 21 19:16:01 host sshd[{}]: Failed password for root from 203.0.113.7 {}",
                self.written.len(),
                "x".repeat(rng.below(80) as usize)
            );
            self.written.push(line.clone());
            let bytes = format!("{line}\n");
            if leave_partial && i + 1 == n {
                let cut = rng.below(bytes.len() as u64) as usize;
                self.writer.write_all(&bytes.as_bytes()[..cut])?;
                self.unfinished = Some(bytes[cut..].to_owned());
            } else {
                self.writer.write_all(bytes.as_bytes())?;
            }
        }
        Ok(())
    }

    fn read(&mut self, f: &mut FileFollower, max: usize) -> Result<usize, SourceError> {
        let lines = f.read_available(max)?;
        let n = lines.len();
        self.log.push(format!("read {max}->{n}"));
        self.since_start += n;
        self.delivered.extend(lines);
        self.seen_since_rotation = true;
        Ok(n)
    }

    fn read_all(&mut self, f: &mut FileFollower, rng: &mut Rng) -> Result<(), SourceError> {
        while self.read(f, 1 + rng.below(20) as usize)? > 0 {}
        self.undrained_rotation = false;
        Ok(())
    }
}

fn run_model(seed: u64, steps: usize) -> TestResult {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut m = Model::new()?;
    let mut f = FileFollower::new(&m.path, Some(m.cp.clone()), StartAt::Beginning)?;
    for _ in 0..steps {
        match rng.below(100) {
            0..=34 => {
                let n = 1 + rng.below(5);
                let partial = rng.below(4) == 0;
                m.write_lines(&mut rng, n, partial)?;
            }
            35..=64 => {
                m.read(&mut f, 1 + rng.below(10) as usize)?;
            }
            65..=72 if m.seen_since_rotation => {
                // Rename rotation; the writer may keep writing to the old file for a moment,
                // even after the follower noticed.
                m.finish_line()?;
                m.rotations += 1;
                m.log.push("rename".into());
                fs::rename(
                    &m.path,
                    m.dir.path().join(format!("auth.log.{}", m.rotations)),
                )?;
                if rng.below(2) == 0 {
                    m.read(&mut f, 1 + rng.below(10) as usize)?;
                }
                let late = rng.below(3);
                m.write_lines(&mut rng, late, false)?;
                m.writer = OpenOptions::new().create(true).append(true).open(&m.path)?;
                m.seen_since_rotation = false;
                m.undrained_rotation = true;
            }
            73..=78 => {
                // copytruncate; lines written between the copy and the truncation are lost by
                // design of copytruncate, so the model lets the follower catch up first.
                m.finish_line()?;
                m.read_all(&mut f, &mut rng)?;
                m.log.push("truncate".into());
                m.writer.set_len(0)?;
                if rng.below(2) == 0 {
                    let n = 1 + rng.below(8);
                    m.write_lines(&mut rng, n, false)?;
                }
            }
            79..=86 => {
                m.read(&mut f, 1 + rng.below(10) as usize)?;
                f.commit()?;
                m.committed |= m.since_start > 0;
                m.log.push("commit".into());
            }
            87..=92 => {
                // Clean restart: everything delivered is committed.
                m.read_all(&mut f, &mut rng)?;
                f.commit()?;
                m.committed |= m.since_start > 0;
                m.log.push("restart".into());
                drop(f);
                m.since_start = 0;
                let start = if m.committed {
                    StartAt::End
                } else {
                    StartAt::Beginning
                };
                f = FileFollower::new(&m.path, Some(m.cp.clone()), start)?;
            }
            93..=99 => {
                // Crash: whatever was not committed is delivered again. Rotated files are not
                // followed across a restart, so they are read to the end first.
                if m.undrained_rotation {
                    m.read_all(&mut f, &mut rng)?;
                }
                drop(f);
                m.crashes += 1;
                m.log.push("crash".into());
                m.since_start = 0;
                let start = if m.committed {
                    StartAt::End
                } else {
                    StartAt::Beginning
                };
                f = FileFollower::new(&m.path, Some(m.cp.clone()), start)?;
            }
            _ => {}
        }
    }
    m.finish_line()?;
    m.read_all(&mut f, &mut rng)?;

    // Exactly once by id, in order, and an id never names two different lines.
    let mut by_id: HashMap<(String, u64), Vec<u8>> = HashMap::new();
    let mut unique = Vec::new();
    for line in &m.delivered {
        let id = (line.fingerprint.clone(), line.offset);
        match by_id.get(&id) {
            Some(bytes) => assert_eq!(bytes, &line.bytes, "seed {seed}: id reused"),
            None => {
                by_id.insert(id, line.bytes.clone());
                unique.push(String::from_utf8_lossy(&line.bytes).into_owned());
            }
        }
    }
    if unique != m.written {
        let first_diff = unique
            .iter()
            .zip(&m.written)
            .position(|(a, b)| a != b)
            .unwrap_or(unique.len().min(m.written.len()));
        return Err(format!(
            "seed {seed}: {} delivered, {} written, first difference at {first_diff}: {:?} vs {:?}\nactions: {:?}",
            unique.len(),
            m.written.len(),
            unique.get(first_diff),
            m.written.get(first_diff),
            m.log
        )
        .into());
    }
    if m.crashes == 0 {
        assert_eq!(
            m.delivered.len(),
            m.written.len(),
            "seed {seed}: duplicates"
        );
    }
    Ok(())
}

#[test]
fn randomized_sequences_deliver_every_line_once() -> TestResult {
    // More seeds for a longer local run: KNOCKMAP_MODEL_SEEDS=5000 cargo test ...
    let seeds = std::env::var("KNOCKMAP_MODEL_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    for seed in 0..seeds {
        run_model(seed, 80)?;
    }
    Ok(())
}

#[test]
fn wait_wakes_up_on_an_append_well_before_its_timeout() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    append(&path, b"first\n")?;
    let mut f = FileFollower::new(&path, None, StartAt::Beginning)?;
    assert_eq!(f.read_available(10)?.len(), 1);
    // Nothing new: waits for the timeout.
    let started = Instant::now();
    assert!(!f.wait(Duration::from_millis(200)));
    assert!(started.elapsed() >= Duration::from_millis(200));

    for round in 0..5 {
        let writer_path = path.clone();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            let appended = Instant::now();
            append(&writer_path, b"more\n").map(|()| appended)
        });
        assert!(
            f.wait(Duration::from_secs(5)),
            "round {round}: woken by the append"
        );
        let woke = Instant::now();
        let appended = writer.join().map_err(|_| "writer panicked")??;
        let latency = woke.saturating_duration_since(appended);
        assert!(
            latency < Duration::from_millis(100),
            "round {round}: woke {latency:?} after the append"
        );
        assert_eq!(texts(&f.read_available(10)?), ["more"]);
    }
    Ok(())
}

#[test]
fn wait_sees_rotation_creation_and_unread_data() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    // Not there yet: the creation wakes the follower.
    let mut f = FileFollower::new(&path, None, StartAt::End)?;
    let creator = {
        let path = path.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            append(&path, b"hello\n")
        })
    };
    let started = Instant::now();
    assert!(f.wait(Duration::from_secs(5)));
    assert!(started.elapsed() < Duration::from_secs(2));
    creator.join().map_err(|_| "creator panicked")??;
    assert_eq!(texts(&f.read_available(10)?), ["hello"]);

    // Bytes already waiting: no sleep at all.
    append(&path, b"waiting\n")?;
    let started = Instant::now();
    assert!(f.wait(Duration::from_secs(5)));
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(texts(&f.read_available(10)?), ["waiting"]);

    // A rename rotation wakes it too.
    let rotated = dir.path().join("auth.log.1");
    let mover = {
        let (path, rotated) = (path.clone(), rotated.clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            fs::rename(&path, &rotated)
        })
    };
    assert!(f.wait(Duration::from_secs(5)));
    mover.join().map_err(|_| "mover panicked")??;

    // Other files in the directory do not wake it.
    let mut f = FileFollower::new(&rotated, None, StartAt::End)?;
    assert!(f.read_available(10)?.is_empty());
    f.wait(Duration::from_millis(1));
    append(&dir.path().join("unrelated.log"), b"noise\n")?;
    assert!(!f.wait(Duration::from_millis(300)));
    Ok(())
}

#[test]
fn wait_without_a_directory_sleeps_the_timeout() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("missing").join("auth.log");
    let mut f = FileFollower::new(&path, None, StartAt::End)?;
    let started = Instant::now();
    assert!(!f.wait(Duration::from_millis(150)));
    assert!(started.elapsed() >= Duration::from_millis(150));
    Ok(())
}

#[test]
fn several_paths_in_one_directory_keep_independent_checkpoints() -> TestResult {
    let dir = tempfile::tempdir()?;
    let a = dir.path().join("auth.log");
    let b = dir.path().join("secure");
    append(&a, b"a1\na2\n")?;
    let cp_a = dir.path().join("a.json");
    let cp_b = dir.path().join("b.json");
    let mut fa = FileFollower::new(&a, Some(cp_a.clone()), StartAt::Beginning)?;
    // `secure` does not exist yet.
    let mut fb = FileFollower::new(&b, Some(cp_b.clone()), StartAt::End)?;
    assert_eq!(texts(&fa.read_available(10)?), ["a1", "a2"]);
    assert!(fb.read_available(10)?.is_empty());
    append(&b, b"b1\n")?;
    append(&a, b"a3\n")?;
    assert_eq!(texts(&fb.read_available(10)?), ["b1"]);
    assert_eq!(texts(&fa.read_available(10)?), ["a3"]);
    fa.commit()?;
    fb.commit()?;
    drop((fa, fb));

    // Deleted and re-created while stopped; the other one is untouched.
    fs::remove_file(&b)?;
    append(&b, b"b2\n")?;
    append(&a, b"a4\n")?;
    let mut fa = FileFollower::new(&a, Some(cp_a), StartAt::End)?;
    let mut fb = FileFollower::new(&b, Some(cp_b), StartAt::End)?;
    assert_eq!(texts(&fa.read_available(10)?), ["a4"]);
    assert_eq!(texts(&fb.read_available(10)?), ["b2"]);
    Ok(())
}

#[test]
fn a_file_rotated_while_stopped_is_drained_from_its_checkpoint() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    let cp = dir.path().join("positions.json");
    let mut w = OpenOptions::new().create(true).append(true).open(&path)?;
    w.write_all(b"one\ntwo\n")?;
    let mut f = FileFollower::new(&path, Some(cp.clone()), StartAt::Beginning)?;
    let first = f.read_available(1)?;
    f.commit()?;
    drop(f);
    // Rotated while stopped; the writer still appends to the old file for a moment.
    fs::rename(&path, dir.path().join("auth.log.1"))?;
    w.write_all(b"three\n")?;
    append(&path, b"new\n")?;
    let mut f = FileFollower::new(&path, Some(cp), StartAt::End)?;
    let lines = read_all(&mut f, 10)?;
    assert_eq!(texts(&lines), ["two", "three", "new"]);
    assert_eq!(lines[0].fingerprint, first[0].fingerprint);
    assert_eq!(lines[0].offset, 4);
    w.write_all(b"late\n")?;
    assert_eq!(texts(&f.read_available(10)?), ["late"]);
    Ok(())
}

#[test]
fn a_new_generation_keeps_its_ids_after_a_crash_before_commit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    let cp = dir.path().join("positions.json");
    append(&path, b"header\n")?;
    let mut f = FileFollower::new(&path, Some(cp.clone()), StartAt::Beginning)?;
    assert_eq!(texts(&f.read_available(10)?), ["header"]);
    fs::rename(&path, dir.path().join("auth.log.1"))?;
    append(&path, b"header\nbody\n")?;
    let before = read_all(&mut f, 10)?;
    assert_eq!(texts(&before), ["header", "body"]);
    assert_ne!(before[0].fingerprint, fp("header").unwrap_or_default());
    // Crash: nothing was committed, the same lines come again with the same ids.
    drop(f);
    let mut f = FileFollower::new(&path, Some(cp), StartAt::Beginning)?;
    assert_eq!(read_all(&mut f, 10)?, before);
    Ok(())
}

#[test]
fn a_copy_does_not_take_the_entry_of_the_file_at_the_path() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    let cp = dir.path().join("positions.json");
    append(&path, b"header\n")?;
    let mut f = FileFollower::new(&path, Some(cp.clone()), StartAt::Beginning)?;
    assert_eq!(f.read_available(10)?.len(), 1);
    f.commit()?;
    // Another file with the same content next to it, then more lines at the path.
    fs::copy(&path, dir.path().join("auth.log.1"))?;
    append(&path, b"body\n")?;
    let body = f.read_available(10)?;
    assert_eq!(texts(&body), ["body"]);
    drop(f);
    let mut f = FileFollower::new(&path, Some(cp), StartAt::End)?;
    assert_eq!(read_all(&mut f, 10)?, body);
    Ok(())
}

#[test]
fn a_reused_inode_with_the_same_first_line_is_a_new_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("auth.log");
    let cp = dir.path().join("positions.json");
    append(&path, b"header\n")?;
    let mut f = FileFollower::new(&path, Some(cp.clone()), StartAt::Beginning)?;
    let old = f.read_available(10)?;
    f.commit()?;
    drop(f);
    let inode = fs::metadata(&path)?.ino();
    fs::remove_file(&path)?;
    append(&path, b"")?;
    let mut f = FileFollower::new(&path, Some(cp), StartAt::End)?;
    assert!(f.read_available(10)?.is_empty());
    // Deleted while followed and re-created, possibly on the same inode: new content.
    fs::remove_file(&path)?;
    append(&path, b"header\n")?;
    let lines = f.read_available(10)?;
    assert_eq!(
        texts(&lines),
        ["header"],
        "inode reused: {}",
        fs::metadata(&path)?.ino() == inode
    );
    assert_ne!(lines[0].fingerprint, old[0].fingerprint);
    Ok(())
}
