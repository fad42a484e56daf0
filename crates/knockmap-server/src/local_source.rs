//! One-host mode: `knockmap serve --source PATH` follows a log file in-process and feeds the
//! same ingest path remote sensors use.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use knockmap_parse::Parsed;

use crate::ingest::{Ingestor, Origin};
use crate::parsed_log::{LogSpec, ParsedLog, sleep_unless_stopped};

/// The sensor name of sources read inside the server.
pub const LOCAL_SENSOR: &str = "local";

/// How often an idle follower looks for new lines.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Most lines read and stored in one batch.
const BATCH_LINES: usize = 5000;
/// Wait before retrying after a read or store error.
const RETRY_DELAY: Duration = Duration::from_secs(1);

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
    source: LogSpec,
    ingestor: Ingestor,
) -> std::io::Result<LocalSourceHandle> {
    let runtime = tokio::runtime::Handle::current();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let thread = std::thread::Builder::new()
        .name(format!("follow {}", source.input))
        .spawn(move || follow(source, ingestor, runtime, stopped))?;
    Ok(LocalSourceHandle { stop, thread })
}

fn follow(
    source: LogSpec,
    ingestor: Ingestor,
    runtime: tokio::runtime::Handle,
    stop: Arc<AtomicBool>,
) {
    let Some(mut log) = ParsedLog::open(&source, &stop, RETRY_DELAY) else {
        return;
    };
    while !stop.load(Ordering::Relaxed) {
        let lines = match log.read(BATCH_LINES) {
            Ok(lines) => lines,
            Err(e) => {
                tracing::warn!("{e}");
                sleep_unless_stopped(&stop, RETRY_DELAY);
                continue;
            }
        };
        if lines.is_empty() {
            // Woken by an append (inotify, or journalctl output); the interval is the
            // safety net and how soon a stop is noticed.
            log.wait(POLL_INTERVAL);
            continue;
        }
        let events: Vec<_> = lines
            .into_iter()
            .filter_map(|line| match line.parsed {
                Parsed::Event(event) => Some((
                    event,
                    Some(Origin {
                        fingerprint: line.fingerprint,
                    }),
                )),
                _ => None,
            })
            .collect();
        loop {
            match runtime.block_on(ingestor.ingest(LOCAL_SENSOR, events.clone())) {
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
                    tracing::warn!("storing events from {}: {e}; retrying", source.input);
                    if sleep_unless_stopped(&stop, RETRY_DELAY) {
                        return;
                    }
                }
            }
        }
        if let Err(e) = log.commit() {
            tracing::warn!("{e}");
        }
    }
}
