//! One-host mode: `knockmap serve --source PATH` follows a log file in-process and feeds the
//! same ingest path remote sensors use.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use knockmap_parse::{ParseOptions, Parsed, Parser};
use knockmap_source::{FileFollower, StartAt};

use crate::ingest::{Ingestor, Origin};

/// The sensor name of sources read inside the server.
pub const LOCAL_SENSOR: &str = "local";

/// How often an idle follower looks for new lines.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Most lines read and stored in one batch.
const BATCH_LINES: usize = 5000;
/// Wait before retrying after a read or store error.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// A log file to follow inside the server.
#[derive(Debug, Clone)]
pub struct LocalSource {
    /// The file to follow (it may not exist yet).
    pub path: PathBuf,
    /// Where its read position is kept across restarts.
    pub checkpoint: Option<PathBuf>,
    /// Where to start in a file never seen before.
    pub start: StartAt,
    /// Zone of timestamps written without one.
    pub tz: TimeZone,
    /// Whether any line with an IP address is an event (a `probe`), not only sshd's.
    pub generic: bool,
}

/// A running local source; dropping it does not stop it, [`LocalSourceHandle::stop`] does.
#[derive(Debug)]
pub struct LocalSourceHandle {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl LocalSourceHandle {
    /// Stops following after the batch in progress is stored and committed.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// Starts following `source` on its own thread; must be called inside a Tokio runtime.
///
/// A batch's read position is committed only after the batch is stored, so a crash re-reads
/// at most that batch, and event ids make the re-read a no-op.
pub fn spawn_local_source(
    source: LocalSource,
    ingestor: Ingestor,
) -> std::io::Result<LocalSourceHandle> {
    let runtime = tokio::runtime::Handle::current();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let thread = std::thread::Builder::new()
        .name(format!("follow {}", source.path.display()))
        .spawn(move || follow(source, ingestor, runtime, stopped))?;
    Ok(LocalSourceHandle { stop, thread })
}

fn follow(
    source: LocalSource,
    ingestor: Ingestor,
    runtime: tokio::runtime::Handle,
    stop: Arc<AtomicBool>,
) {
    let mut follower = loop {
        match FileFollower::new(&source.path, source.checkpoint.clone(), source.start) {
            Ok(follower) => break follower,
            Err(e) => {
                tracing::warn!("{e}; retrying");
                if sleep_unless_stopped(&stop, RETRY_DELAY) {
                    return;
                }
            }
        }
    };
    tracing::info!(path = %source.path.display(), "following");
    let mut parser = Parser::new(ParseOptions {
        tz: source.tz.clone(),
        year: None,
        anchor: Timestamp::now(),
    })
    .with_generic(source.generic);
    while !stop.load(Ordering::Relaxed) {
        let lines = match follower.read_available(BATCH_LINES) {
            Ok(lines) => lines,
            Err(e) => {
                tracing::warn!("{e}");
                sleep_unless_stopped(&stop, RETRY_DELAY);
                continue;
            }
        };
        if lines.is_empty() {
            sleep_unless_stopped(&stop, POLL_INTERVAL);
            continue;
        }
        parser.set_anchor(Timestamp::now());
        let events: Vec<_> = lines
            .iter()
            .filter_map(|line| match parser.parse(&line.bytes) {
                Parsed::Event(mut event) => {
                    event.offset = Some(line.offset);
                    Some((
                        event,
                        Some(Origin {
                            fingerprint: line.fingerprint.clone(),
                        }),
                    ))
                }
                _ => None,
            })
            .collect();
        loop {
            match runtime
                .block_on(ingestor.ingest(crate::local_source::LOCAL_SENSOR, events.clone()))
            {
                Ok(report) => {
                    tracing::debug!(
                        accepted = report.accepted,
                        duplicates = report.duplicates,
                        "stored"
                    );
                    break;
                }
                Err(e) => {
                    // Never skip a batch: the events stay unread until the store takes them.
                    tracing::warn!(
                        "storing events from {}: {e}; retrying",
                        source.path.display()
                    );
                    if sleep_unless_stopped(&stop, RETRY_DELAY) {
                        return;
                    }
                }
            }
        }
        if let Err(e) = follower.commit() {
            tracing::warn!("{e}");
        }
    }
}

/// Sleeps for `duration`; returns whether a stop was requested.
fn sleep_unless_stopped(stop: &AtomicBool, duration: Duration) -> bool {
    std::thread::sleep(duration);
    stop.load(Ordering::Relaxed)
}
