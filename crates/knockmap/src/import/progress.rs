//! Import progress: a bar on a terminal (bytes, lines/s, ETA), plain log lines otherwise.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Counters;

/// How often a plain progress line is printed.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Shows how far an import is.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    started: Instant,
    last_log: Instant,
}

impl Progress {
    /// Progress over `total` bytes; a bar if `bar` is wanted and standard error is a
    /// terminal.
    pub fn new(total: u64, bar: bool) -> Progress {
        let bar = (bar && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg} ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        let now = Instant::now();
        Progress {
            bar,
            total,
            started: now,
            last_log: now,
        }
    }

    /// Shows the counters now (a plain line only every few seconds).
    pub fn update(&mut self, counters: &Counters, stored: u64) {
        let bytes = counters.bytes.load(Ordering::Relaxed);
        let lines = counters.lines.load(Ordering::Relaxed);
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = lines as f64 / elapsed;
        match &self.bar {
            Some(bar) => {
                bar.set_position(bytes);
                bar.set_message(format!("{lines} lines, {rate:.0} lines/s, {stored} stored"));
            }
            None if self.last_log.elapsed() >= LOG_EVERY => {
                self.last_log = Instant::now();
                let percent = 100.0 * bytes as f64 / self.total.max(1) as f64;
                let eta = if bytes > 0 {
                    elapsed * (self.total.saturating_sub(bytes)) as f64 / bytes as f64
                } else {
                    f64::NAN
                };
                tracing::info!(
                    "import: {percent:.0}% ({bytes} of {} bytes), {lines} lines, \
                     {rate:.0} lines/s, {stored} events stored, ETA {eta:.0} s",
                    self.total
                );
            }
            None => {}
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
