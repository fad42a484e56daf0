//! What the sensor reports about itself with every request.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::spool::SpoolStats;

pub use knockmap_server::SPOOL_HEALTH_HEADERS;

/// Totals since this process started, and the spool's state as last seen.
#[derive(Debug, Default)]
pub struct Health {
    /// Lines read from every source.
    pub lines_read: AtomicU64,
    /// Events parsed from them.
    pub events: AtomicU64,
    /// sshd lines that matched no known form.
    pub unmatched: AtomicU64,
    spool_bytes: AtomicU64,
    spool_batches: AtomicU64,
    dropped_events: AtomicU64,
}

impl Health {
    /// Adds `n` to one of the totals.
    pub fn add(&self, total: &AtomicU64, n: usize) {
        total.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Records the spool's state after a change.
    pub fn record_spool(&self, stats: SpoolStats) {
        self.spool_bytes.store(stats.bytes, Ordering::Relaxed);
        self.spool_batches.store(stats.batches, Ordering::Relaxed);
        self.dropped_events
            .store(stats.dropped_events, Ordering::Relaxed);
    }

    /// Every health header with its value.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let count = |n: &AtomicU64| n.load(Ordering::Relaxed).to_string();
        let [lines_read, events, unmatched, version] = knockmap_server::HEALTH_HEADERS;
        let [spool_bytes, spool_batches, dropped_events] = SPOOL_HEALTH_HEADERS;
        vec![
            (lines_read, count(&self.lines_read)),
            (events, count(&self.events)),
            (unmatched, count(&self.unmatched)),
            (version, env!("CARGO_PKG_VERSION").to_string()),
            (spool_bytes, count(&self.spool_bytes)),
            (spool_batches, count(&self.spool_batches)),
            (dropped_events, count(&self.dropped_events)),
        ]
    }
}
