//! The in-memory summary: a copy of the aggregates that answers unfiltered statistics and the
//! map in milliseconds however many events are stored.
//!
//! It is loaded once (in one database snapshot, with the write counter of that snapshot) and
//! then kept current by this process's own writes: each committed transaction that moved the
//! write counter to `g` hands its change over as change `g`, and changes are applied strictly
//! in counter order. A query first reads the counter; only when the summary is at exactly that
//! value does it answer, otherwise the SQL statements do. When the summary stays behind
//! because another process wrote (an import into the same database, a second server), it is
//! loaded again in the background.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use sqlx::AnyPool;

use super::backend::Backend;
use crate::Result;
use crate::model::NewEvent;

pub mod answer;
mod digest;
mod load;

pub use digest::Digest;

/// How long the summary may lag the database before it is loaded again: long enough for this
/// process's own commits to be applied, short enough that another writer's are soon seen.
const LAG_BEFORE_RELOAD: Duration = Duration::from_secs(2);

/// While another process keeps writing (a long import), loads follow each other no closer
/// than this many times the last load's duration, so that the server spends most of its time
/// serving rather than loading.
const RELOAD_SPACING: u32 = 4;

/// Changes kept waiting behind a gap in the write counter. A gap means another process wrote;
/// a query asks for a reload soon after, but if none comes, the summary is dropped rather than
/// collecting changes it cannot apply.
const MAX_PENDING: usize = 1024;

/// A committed write, as the summary applies it.
#[derive(Debug)]
pub enum Change {
    /// Newly stored events.
    Events(Vec<NewEvent>),
    /// An address starred or unstarred.
    Star(String, bool),
}

/// What the summary can say about a query.
pub enum Lookup<T> {
    /// The answer, from a summary at the database's write counter.
    Answered(T),
    /// No answer: ask the database. `reload` asks for the summary to be loaded again.
    Unavailable { reload: bool },
}

#[derive(Debug, Default)]
struct Control {
    /// Whether a summary is wanted at all (only a server keeps one).
    enabled: bool,
    /// Whether a load is reading the database.
    loading: bool,
    /// Committed changes not yet applied, by write counter.
    pending: BTreeMap<i64, Change>,
    /// The latest pruning cut-offs (raw events, hours), to repeat on a freshly loaded copy.
    pruned: (Option<i64>, Option<i64>),
    /// Since when queries found the summary behind the database.
    behind_since: Option<Instant>,
    /// When the last load finished and how long it took.
    last_load: Option<(Instant, Duration)>,
    /// Whether a query has asked for a load that has not run yet.
    reload_requested: bool,
}

impl Control {
    /// Whether a query may ask for a load now (and, if so, records that it did).
    fn ask_for_reload(&mut self, behind_long_enough: bool) -> bool {
        let spaced = self
            .last_load
            .is_none_or(|(finished, took)| finished.elapsed() >= took * RELOAD_SPACING);
        let ask =
            self.enabled && !self.loading && !self.reload_requested && behind_long_enough && spaced;
        self.reload_requested |= ask;
        ask
    }
}

/// The summary and its bookkeeping. Locks are taken in the order `loader`, `control`,
/// `digest`.
#[derive(Debug, Default)]
pub struct Summary {
    loader: tokio::sync::Mutex<()>,
    control: Mutex<Control>,
    digest: RwLock<Option<Digest>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Summary {
    /// Whether a summary is kept.
    pub fn enabled(&self) -> bool {
        lock(&self.control).enabled
    }

    /// Loads the summary from the database unless it is already current, and keeps it from
    /// then on. Concurrent calls load once.
    pub async fn load(&self, pool: &AnyPool, b: Backend) -> Result<()> {
        let _one_at_a_time = self.loader.lock().await;
        let current = super::generation::current(pool).await;
        {
            let mut c = lock(&self.control);
            c.enabled = true;
            c.reload_requested = false;
            let current = current?;
            let digest = self.digest.read().unwrap_or_else(PoisonError::into_inner);
            if digest.as_ref().is_some_and(|d| d.generation == current) {
                return Ok(());
            }
            c.loading = true;
        }
        let started = Instant::now();
        let loaded = load::digest(pool, b).await;
        let mut c = lock(&self.control);
        c.loading = false;
        let mut d = loaded?;
        let (events_before, hours_before) = c.pruned;
        d.prune(events_before, hours_before);
        drain(&mut c.pending, &mut d);
        tracing::info!(
            addresses = d.addresses.len(),
            hours = d.hours.len(),
            seconds = started.elapsed().as_secs_f64(),
            "statistics summary loaded into memory"
        );
        c.behind_since = None;
        c.last_load = Some((Instant::now(), started.elapsed()));
        *self.digest.write().unwrap_or_else(PoisonError::into_inner) = Some(d);
        Ok(())
    }

    /// Hands over the committed change that moved the write counter to `generation`.
    pub fn apply(&self, generation: i64, change: Change) {
        let mut c = lock(&self.control);
        if !c.enabled {
            return;
        }
        if c.loading {
            c.pending.insert(generation, change);
            return;
        }
        let mut digest = self.digest.write().unwrap_or_else(PoisonError::into_inner);
        // Without a summary the next load reads the change from the database.
        let Some(d) = digest.as_mut() else {
            return;
        };
        c.pending.insert(generation, change);
        drain(&mut c.pending, d);
        if c.pending.len() > MAX_PENDING {
            *digest = None;
            c.pending.clear();
        }
    }

    /// Forgets what pruning deleted (raw events before `events_before`, hours before
    /// `hours_before`).
    pub fn prune(&self, events_before: Option<i64>, hours_before: Option<i64>) {
        let mut c = lock(&self.control);
        if !c.enabled {
            return;
        }
        c.pruned = (events_before.max(c.pruned.0), hours_before.max(c.pruned.1));
        let mut digest = self.digest.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(d) = digest.as_mut() {
            d.prune(events_before, hours_before);
        }
    }

    /// The hours among `hours` whose raw events the summary does not hold.
    pub fn missing_edges(&self, hours: &[i64]) -> Vec<i64> {
        let digest = self.digest.read().unwrap_or_else(PoisonError::into_inner);
        let Some(d) = digest.as_ref() else {
            return Vec::new();
        };
        hours
            .iter()
            .copied()
            .filter(|h| !d.edges.contains_key(h))
            .collect()
    }

    /// Reads the raw events of `hours` into the summary, unless the database moved on while
    /// they were read, keeping those of `needed` (the query's edge hours) when making room.
    pub async fn load_edges(
        &self,
        pool: &AnyPool,
        b: Backend,
        hours: &[i64],
        needed: &[i64],
    ) -> Result<()> {
        for &hour in hours {
            let edge = load::edge_hour(pool, b, hour).await?;
            let mut digest = self.digest.write().unwrap_or_else(PoisonError::into_inner);
            if let Some(d) = digest.as_mut()
                && d.generation == edge.generation
            {
                let events = edge.numbered(d);
                d.keep_edge(hour, events, needed);
            }
        }
        Ok(())
    }

    /// Answers with `f` if the summary is at the database's write counter `generation` and
    /// holds the raw events of the window's `edge_hours`.
    pub fn answer<T>(
        &self,
        generation: i64,
        edge_hours: &[i64],
        f: impl FnOnce(&Digest) -> T,
    ) -> Lookup<T> {
        let mut c = lock(&self.control);
        let digest = self.digest.read().unwrap_or_else(PoisonError::into_inner);
        let Some(d) = digest.as_ref() else {
            return Lookup::Unavailable {
                reload: c.ask_for_reload(true),
            };
        };
        if d.generation == generation {
            c.behind_since = None;
            if !edge_hours.iter().all(|h| d.edges.contains_key(h)) {
                // Made room for another query's edges meanwhile.
                return Lookup::Unavailable { reload: false };
            }
            drop(c);
            return Lookup::Answered(f(d));
        }
        let since = *c.behind_since.get_or_insert_with(Instant::now);
        Lookup::Unavailable {
            reload: c.ask_for_reload(since.elapsed() >= LAG_BEFORE_RELOAD),
        }
    }
}

/// Applies the pending changes that follow `d`'s counter without a gap.
fn drain(pending: &mut BTreeMap<i64, Change>, d: &mut Digest) {
    *pending = pending.split_off(&(d.generation + 1));
    while let Some(change) = pending.remove(&(d.generation + 1)) {
        match change {
            Change::Events(events) => d.add_events(&events),
            Change::Star(ip, starred) => d.set_starred(&ip, starred),
        }
        d.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A summary that was loaded at write counter 0.
    fn loaded() -> Summary {
        let summary = Summary::default();
        lock(&summary.control).enabled = true;
        *summary.digest.write().expect("lock") = Some(Digest::default());
        summary
    }

    fn star(ip: &str) -> Change {
        Change::Star(ip.into(), true)
    }

    #[test]
    fn changes_apply_in_counter_order_whatever_order_they_commit_in() {
        let summary = loaded();
        summary.apply(2, star("192.0.2.2"));
        assert!(matches!(
            summary.answer(2, &[], |_| ()),
            Lookup::Unavailable { reload: false }
        ));
        summary.apply(1, star("192.0.2.1"));
        assert!(matches!(
            summary.answer(2, &[], |_| ()),
            Lookup::Answered(())
        ));
    }

    #[test]
    fn a_gap_that_never_fills_drops_the_summary_and_asks_for_a_load_once() {
        let summary = loaded();
        // Change 1 was another process's: changes 2… can never be applied.
        for generation in 2..(MAX_PENDING as i64 + 3) {
            summary.apply(generation, star("192.0.2.9"));
        }
        assert!(summary.digest.read().expect("lock").is_none());
        assert!(lock(&summary.control).pending.is_empty());
        let asks = (0..3)
            .filter(|_| {
                matches!(
                    summary.answer(9_999, &[], |_| ()),
                    Lookup::Unavailable { reload: true }
                )
            })
            .count();
        assert_eq!(asks, 1, "one load is asked for, not one per query");
    }
}
