//! Following one source: read, parse, batch, hand batches over, move the read position.

use std::time::{Duration, Instant};

use knockmap_parse::Parsed;
use knockmap_server::{LogSpec, ParsedLog};

use crate::Batching;
use crate::batch::Batch;
use crate::outbox::{Handed, Outbox, POLL_INTERVAL};

/// A batch is sent once its NDJSON reaches this size, well under the server's limit.
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;
/// An idle sensor posts an empty batch this often, so the server knows it is alive.
const HEARTBEAT: Duration = Duration::from_secs(60);
/// Wait before retrying to open or read a source.
const READ_RETRY: Duration = Duration::from_secs(1);

/// Follows one source until stopped; `Err` carries a fatal message. The read position moves
/// past an event only once its batch was delivered or spooled.
pub(crate) fn follow(source: &LogSpec, batching: Batching, outbox: &Outbox) -> Result<(), String> {
    let Some(mut log) = ParsedLog::open(source, &outbox.stop, READ_RETRY) else {
        return Ok(());
    };
    let health = &outbox.health;
    let mut batch = Batch::default();
    let mut last_shipped = Instant::now();
    while !outbox.stopped() {
        let lines = match log.read(batching.events - batch.events()) {
            Ok(lines) => lines,
            Err(e) => {
                tracing::warn!("{e}");
                outbox.sleep(READ_RETRY);
                continue;
            }
        };
        health.add(&health.lines_read, lines.len());
        for line in &lines {
            match &line.parsed {
                Parsed::Event(event) => {
                    if let Err(e) = batch.push(event, &line.fingerprint) {
                        tracing::warn!("cannot encode an event: {e}");
                        continue;
                    }
                    health.add(&health.events, 1);
                }
                Parsed::Unmatched => health.add(&health.unmatched, 1),
                Parsed::Ignored | Parsed::NotSshd => {}
            }
        }
        let due = batch.events() >= batching.events
            || batch.bytes() >= MAX_BATCH_BYTES
            || batch
                .first_event_at()
                .is_some_and(|t| t.elapsed() >= batching.window);
        if due {
            if hand_over(&mut log, &mut batch, outbox, false)? == Handed::Stopped {
                return Ok(());
            }
            last_shipped = Instant::now();
        } else if batch.events() == 0 {
            if last_shipped.elapsed() >= HEARTBEAT {
                outbox.heartbeat()?;
                last_shipped = Instant::now();
            }
            if !lines.is_empty() {
                // Lines without events: nothing waits to be shipped, so the position can move.
                commit(&mut log);
            }
        }
        if lines.is_empty() && !due {
            let wait = batch.first_event_at().map_or(POLL_INTERVAL, |t| {
                batching
                    .window
                    .saturating_sub(t.elapsed())
                    .min(POLL_INTERVAL)
            });
            // Woken by an append (inotify, or journalctl output) or after `wait`.
            log.wait(wait);
        }
    }
    // Stopping: the batch in hand is delivered or spooled before the position moves past it.
    if batch.events() > 0 {
        hand_over(&mut log, &mut batch, outbox, true)?;
    }
    Ok(())
}

/// Hands the batch over and, once it is kept, commits the position and empties the batch.
fn hand_over(
    log: &mut ParsedLog,
    batch: &mut Batch,
    outbox: &Outbox,
    stopping: bool,
) -> Result<Handed, String> {
    let body = batch
        .gzipped()
        .map_err(|e| format!("compressing a batch: {e}"))?;
    let handed = outbox.hand_over(&body, batch.events() as u64, stopping)?;
    if handed == Handed::Kept {
        commit(log);
        batch.clear();
    }
    Ok(handed)
}

fn commit(log: &mut ParsedLog) {
    if let Err(e) = log.commit() {
        tracing::warn!("saving the read position: {e}");
    }
}
