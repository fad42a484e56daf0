//! Where a finished batch goes: straight to the server while nothing is spooled, else (or
//! when the server cannot take it) to the disk spool, which is drained oldest first.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::health::Health;
use crate::shipper::{PostError, Shipper, backoff};
use crate::spool::Spool;

/// How often an idle loop looks again.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Longest a last delivery attempt may take while the sensor stops; after it, the batch is
/// spooled.
const STOPPING_POST_TIMEOUT: Duration = Duration::from_secs(3);

/// The shipper, the spool and the stop flag, shared by every source's thread and the drainer.
#[derive(Debug)]
pub(crate) struct Outbox {
    pub(crate) shipper: Shipper,
    pub(crate) health: Arc<Health>,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) max_retry_delay: Duration,
    spool: Mutex<Spool>,
}

/// What became of a batch handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handed {
    /// Delivered or spooled durably: the source's position may move past it.
    Kept,
    /// A stop came first: keep the position, the lines are read again next time.
    Stopped,
}

impl Outbox {
    pub(crate) fn new(
        shipper: Shipper,
        spool: Spool,
        health: Arc<Health>,
        max_retry_delay: Duration,
    ) -> Outbox {
        health.record_spool(spool.stats());
        Outbox {
            shipper,
            health,
            stop: Arc::default(),
            runtime: tokio::runtime::Handle::current(),
            max_retry_delay,
            spool: Mutex::new(spool),
        }
    }

    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn spool(&self) -> MutexGuard<'_, Spool> {
        // A panic elsewhere leaves the spool's bookkeeping consistent: every change to it is
        // made after its file operation succeeded.
        self.spool.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Delivers a gzipped batch of `events` events, or spools it. While older batches wait in
    /// the spool, it goes behind them so that they are sent in order. `Err` is a fatal
    /// refusal by the server.
    pub(crate) fn hand_over(
        &self,
        body: &[u8],
        events: u64,
        stopping: bool,
    ) -> Result<Handed, String> {
        let mut attempt = 0u32;
        loop {
            if self.spool().is_empty() {
                let timeout = stopping.then_some(STOPPING_POST_TIMEOUT);
                match self.runtime.block_on(self.shipper.post(body, timeout)) {
                    Ok(answer) => {
                        tracing::debug!(%answer, "batch delivered");
                        return Ok(Handed::Kept);
                    }
                    Err(PostError::Fatal(message)) => return Err(message),
                    Err(PostError::Retryable(problem)) => {
                        tracing::warn!("{problem}; spooling the batch until the server answers");
                    }
                    Err(PostError::Rejected(problem)) => {
                        let mut spool = self.spool();
                        match spool.set_aside(body, events, &problem) {
                            Ok(path) => {
                                log_set_aside(&problem, events, &spool, &path);
                                self.health.record_spool(spool.stats());
                                return Ok(Handed::Kept);
                            }
                            // Spooled instead: the drainer sets it aside when it can.
                            Err(e) => tracing::error!("{problem}; and it cannot be set aside: {e}"),
                        }
                    }
                }
            }
            let pushed = {
                let mut spool = self.spool();
                let pushed = spool.push(body, events);
                self.health.record_spool(spool.stats());
                pushed
            };
            let delay = backoff(attempt, self.max_retry_delay);
            match pushed {
                Ok(_) => return Ok(Handed::Kept),
                Err(e) if stopping => {
                    tracing::error!("{e}; the batch's lines are read again next time");
                    return Ok(Handed::Stopped);
                }
                Err(e) => tracing::error!(
                    "{e}; reading waits, retrying in {:.1} s",
                    delay.as_secs_f64()
                ),
            }
            attempt = attempt.saturating_add(1);
            if self.sleep(delay) {
                return Ok(Handed::Stopped);
            }
        }
    }

    /// Tells the server this sensor is alive (and how it is) when nothing else is being sent.
    pub(crate) fn heartbeat(&self) -> Result<(), String> {
        if !self.spool().is_empty() {
            // The drainer is talking to the server already.
            return Ok(());
        }
        let empty = crate::batch::gzip(b"").map_err(|e| format!("compressing: {e}"))?;
        match self.runtime.block_on(self.shipper.post(&empty, None)) {
            Ok(_) => Ok(()),
            // A server that refuses even an empty batch cannot take this sensor's.
            Err(PostError::Fatal(message) | PostError::Rejected(message)) => Err(message),
            Err(PostError::Retryable(problem)) => {
                tracing::warn!("{problem}");
                Ok(())
            }
        }
    }

    /// Sends spooled batches, oldest first, deleting each once the server took it, until
    /// stopped. `Err` is a fatal refusal by the server.
    pub(crate) fn drain(&self) -> Result<(), String> {
        let mut attempt = 0u32;
        while !self.stopped() {
            let next = self.spool().oldest();
            let batch = match next {
                Ok(Some(batch)) => batch,
                Ok(None) => {
                    self.sleep(POLL_INTERVAL);
                    continue;
                }
                Err(e) => {
                    let delay = backoff(attempt, self.max_retry_delay);
                    attempt = attempt.saturating_add(1);
                    tracing::error!("{e}; retrying in {:.1} s", delay.as_secs_f64());
                    self.sleep(delay);
                    continue;
                }
            };
            match self.runtime.block_on(self.shipper.post(&batch.body, None)) {
                Ok(answer) => {
                    attempt = 0;
                    let mut spool = self.spool();
                    if let Err(e) = spool.remove(batch.seq) {
                        // Sent again later: the server stores it once.
                        tracing::warn!("{e}");
                    }
                    self.health.record_spool(spool.stats());
                    tracing::debug!(%answer, waiting = spool.stats().batches, "spooled batch delivered");
                }
                Err(PostError::Fatal(message)) => return Err(message),
                Err(PostError::Rejected(problem)) => {
                    // Sending it again would be refused again and hold up every batch after
                    // it: it is kept aside for the operator instead.
                    let mut spool = self.spool();
                    match spool.reject(batch.seq, &problem) {
                        Ok(path) => log_set_aside(&problem, batch.events, &spool, &path),
                        Err(e) => {
                            tracing::error!("{problem}; and it cannot be set aside: {e}");
                            drop(spool);
                            let delay = backoff(attempt, self.max_retry_delay);
                            attempt = attempt.saturating_add(1);
                            self.sleep(delay);
                            continue;
                        }
                    }
                    attempt = 0;
                    self.health.record_spool(spool.stats());
                }
                Err(PostError::Retryable(problem)) => {
                    let delay = backoff(attempt, self.max_retry_delay);
                    attempt = attempt.saturating_add(1);
                    let stats = self.spool().stats();
                    tracing::warn!(
                        spooled_batches = stats.batches,
                        spooled_bytes = stats.bytes,
                        "{problem}; retrying in {:.1} s",
                        delay.as_secs_f64()
                    );
                    self.sleep(delay);
                }
            }
        }
        Ok(())
    }

    /// Sleeps for `duration` or until stopped; whether a stop was requested.
    pub(crate) fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        loop {
            if self.stopped() {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            std::thread::sleep(left.min(POLL_INTERVAL));
        }
    }
}

/// Reports a batch the server refused for good and where it was kept.
fn log_set_aside(problem: &str, events: u64, spool: &Spool, path: &std::path::Path) {
    tracing::error!(
        events,
        rejected_batches = spool.stats().rejected_batches,
        "{problem}; the batch is set aside in {}",
        path.display()
    );
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
