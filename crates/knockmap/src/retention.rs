//! Background pruning for `--retain-events` and `--retain-rollups`.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use knockmap_server::SharedStore;

/// How long raw events and hourly aggregates are kept; `None` keeps them forever.
#[derive(Debug, Clone, Copy, Default)]
pub struct Retention {
    /// Age after which raw events are deleted.
    pub events: Option<SignedDuration>,
    /// Age after which hourly aggregates are deleted.
    pub rollups: Option<SignedDuration>,
}

/// How often pruning runs.
const EVERY: Duration = Duration::from_secs(3_600);

impl Retention {
    /// Whether anything is ever deleted.
    pub fn prunes(&self) -> bool {
        self.events.is_some() || self.rollups.is_some()
    }

    /// Prunes now and then every hour, for as long as the process runs. Failures are logged
    /// and retried at the next round.
    pub fn spawn(self, store: SharedStore) {
        if !self.prunes() {
            return;
        }
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(EVERY);
            loop {
                ticks.tick().await;
                self.prune_once(&store).await;
            }
        });
    }

    /// One round of pruning, relative to now.
    pub async fn prune_once(&self, store: &SharedStore) {
        let now = Timestamp::now();
        let before = |age: Option<SignedDuration>| age.and_then(|a| now.checked_sub(a).ok());
        match store.prune(before(self.events), before(self.rollups)).await {
            Ok(pruned) if pruned.events > 0 || pruned.rollup_rows > 0 => tracing::info!(
                events = pruned.events,
                rollup_rows = pruned.rollup_rows,
                "pruned data past its retention"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("pruning failed (retried in an hour): {e}"),
        }
    }
}
