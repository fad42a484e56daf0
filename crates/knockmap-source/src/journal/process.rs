//! One running `journalctl` child: its arguments, and the threads that turn its output into
//! messages on a channel.

use std::io::{self, BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::SourceError;
use crate::splitter::Splitter;

use super::JournalConfig;

/// Lines buffered between the reader thread and the follower; when full, the reader (and
/// then journalctl, through the pipe) waits.
const CHANNEL_LINES: usize = 4096;

/// Bytes read from journalctl's output per call.
const READ_CHUNK: usize = 64 * 1024;

/// Where a new `journalctl` starts reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resume {
    /// Just after this cursor.
    AfterCursor(String),
    /// At this time (a `journalctl --since` value).
    Since(String),
    /// At the first entry of the journal.
    Beginning,
    /// Only entries written from now on.
    End,
}

/// What the reader thread reports.
#[derive(Debug)]
pub(crate) enum Msg {
    /// One output line, without its newline.
    Line(Vec<u8>),
    /// Lines longer than [`crate::MAX_LINE_BYTES`] were skipped.
    Oversized(u64),
    /// The output ended (the process exited or closed it) or could not be read.
    End(Option<io::Error>),
}

/// A running journalctl and the receiving end of its output.
#[derive(Debug)]
pub(crate) struct Running {
    child: Child,
    pub(crate) rx: Receiver<Msg>,
}

/// The arguments for a journalctl reading sshd's entries as JSON from `from`, following.
pub(crate) fn arguments(config: &JournalConfig, from: &Resume) -> Vec<String> {
    let mut args: Vec<String> = ["--output=json", "--follow", "--no-pager"]
        .map(String::from)
        .to_vec();
    // With --follow, journalctl shows only the last ten entries unless told otherwise.
    args.push(
        match from {
            Resume::End => "--lines=0",
            _ => "--lines=all",
        }
        .to_owned(),
    );
    match from {
        Resume::AfterCursor(cursor) => args.push(format!("--after-cursor={cursor}")),
        Resume::Since(since) => args.push(format!("--since={since}")),
        Resume::Beginning | Resume::End => {}
    }
    // Matches on one field are alternatives.
    args.extend(
        config
            .identifiers
            .iter()
            .map(|id| format!("SYSLOG_IDENTIFIER={id}")),
    );
    args
}

impl Running {
    /// Starts journalctl reading from `from`.
    pub(crate) fn spawn(config: &JournalConfig, from: &Resume) -> Result<Running, SourceError> {
        let spawn_err = |source| SourceError::Spawn {
            program: config.program.clone(),
            source,
        };
        let mut child = Command::new(&config.program)
            .args(arguments(config, from))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_err)?;
        let (tx, rx) = sync_channel(CHANNEL_LINES);
        let started = (|| {
            let stdout = child
                .stdout
                .take()
                .ok_or_else(|| io::Error::other("no stdout"))?;
            std::thread::Builder::new()
                .name("journalctl stdout".into())
                .spawn(move || read_output(stdout, &tx))?;
            if let Some(stderr) = child.stderr.take() {
                std::thread::Builder::new()
                    .name("journalctl stderr".into())
                    .spawn(move || forward_stderr(stderr))?;
            }
            Ok(())
        })();
        if let Err(e) = started {
            let _ = child.kill();
            let _ = child.wait();
            return Err(spawn_err(e));
        }
        Ok(Running { child, rx })
    }

    /// Ends the process (if it still runs) and returns how it exited.
    pub(crate) fn stop(mut self) -> io::Result<ExitStatus> {
        if self.child.try_wait()?.is_none() {
            let _ = self.child.kill();
        }
        self.child.wait()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Splits journalctl's output into lines and sends them until it ends or the follower is
/// gone.
fn read_output(mut stdout: ChildStdout, tx: &SyncSender<Msg>) {
    let mut splitter = Splitter::at(0, false);
    let mut buf = vec![0u8; READ_CHUNK];
    let error = loop {
        let n = match stdout.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Some(e),
        };
        splitter.feed(&buf[..n]);
        while let Some((_, line)) = splitter.next_line() {
            if tx.send(Msg::Line(line)).is_err() {
                return;
            }
        }
        let oversized = splitter.take_oversized();
        if oversized > 0 && tx.send(Msg::Oversized(oversized)).is_err() {
            return;
        }
    };
    // An entry is only complete with its newline: a cut-off last line is dropped, and the
    // restart after the last whole entry's cursor reads it again.
    let _ = tx.send(Msg::End(error));
}

/// Logs what journalctl says on its error output.
fn forward_stderr(stderr: impl Read) {
    for line in BufReader::new(stderr).split(b'\n') {
        match line {
            Ok(line) => tracing::warn!("journalctl: {}", String::from_utf8_lossy(&line).trim_end()),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_for_each_start() {
        let config = JournalConfig::default();
        let ids =
            "SYSLOG_IDENTIFIER=sshd SYSLOG_IDENTIFIER=sshd-session SYSLOG_IDENTIFIER=sshd-auth";
        let base = "--output=json --follow --no-pager";
        for (from, expected) in [
            (
                Resume::AfterCursor("s=a;i=1".into()),
                format!("{base} --lines=all --after-cursor=s=a;i=1 {ids}"),
            ),
            (
                Resume::Since("-7d".into()),
                format!("{base} --lines=all --since=-7d {ids}"),
            ),
            (Resume::Beginning, format!("{base} --lines=all {ids}")),
            (Resume::End, format!("{base} --lines=0 {ids}")),
        ] {
            assert_eq!(arguments(&config, &from).join(" "), expected);
        }
    }
}
