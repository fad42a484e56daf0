//! `knockmap import`: backfill log files straight into the database.
//!
//! Files are read oldest first ([`order::import_order`]), `.gz` ones decompressed on the fly.
//! Each event gets the id the live follower would give its line (the fingerprint of the
//! file's first line and the line's offset, under the local sensor's name), so importing a
//! file again, its compressed copy after rotation, or a file `serve --source` already read,
//! stores nothing twice.
//!
//! A parsing thread per run hands batches to the async ingest loop; progress goes to a
//! progress bar on a terminal, to plain log lines otherwise.
//!
//! `--from-mapper-server URL` also (or instead) migrates the database of Mapper-Server, the
//! system knockmap replaces ([`mapper`]).

mod mapper;
mod order;
mod progress;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context;
use knockmap_parse::{Event, ParseOptions, Parsed, Parser};
use knockmap_server::{BroadcastHub, Ingestor, LOCAL_SENSOR, Origin, SharedStore};
use knockmap_source::fingerprint_bytes;
use tokio::sync::mpsc;

use crate::cli::{GeoOptions, ImportArgs};
use crate::lines::{LineReader, decompressed, written_at};
use crate::paths;
use progress::Progress;

/// Events stored per transaction.
const BATCH: usize = 20_000;

/// What the parsing thread has read so far (shared with the progress display).
#[derive(Debug, Default)]
pub struct Counters {
    /// Bytes read from disk (compressed bytes for `.gz` files).
    pub bytes: AtomicU64,
    /// Lines read.
    pub lines: AtomicU64,
    /// Events found.
    pub events: AtomicU64,
    /// sshd lines that matched no known form.
    pub unmatched: AtomicU64,
}

/// One batch of events from one file.
type Batch = Vec<(Event, Option<Origin>)>;

/// Runs `knockmap import`: the log files, then the Mapper-Server database, if given.
pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let files = order::import_order(&args.files);
    let mut total_bytes = 0;
    for file in &files {
        let meta =
            std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?;
        if !meta.is_file() {
            anyhow::bail!("{} is not a file", file.display());
        }
        total_bytes += meta.len();
    }
    let tz = paths::timezone(args.timezone.as_deref())?;
    // The old database is checked before anything is opened or downloaded here.
    let mapper = match &args.from_mapper_server {
        Some(url) => Some(mapper::Source::connect(url).await?),
        None => None,
    };
    let data_dir = paths::data_dir(&args.data)?;
    let store = paths::open_store(args.db.as_deref(), &data_dir).await?;
    let ingestor = open_ingestor(store.clone(), &args.geo, &data_dir).await?;
    if !files.is_empty() {
        import_files(&args, &files, total_bytes, &ingestor, &tz).await?;
    }
    if let Some(source) = mapper {
        mapper::import(
            source,
            &ingestor,
            store.as_ref(),
            &tz,
            !args.no_progress_bar,
        )
        .await?;
    }
    Ok(())
}

/// The ingest path of an import: the same ids, geolocation and storage as the live server,
/// with nobody listening for live events.
async fn open_ingestor(
    store: SharedStore,
    geo: &GeoOptions,
    data_dir: &Path,
) -> anyhow::Result<Ingestor> {
    let geo = paths::open_geo(geo, data_dir).await?;
    Ok(Ingestor::new(store, geo, Arc::new(BroadcastHub::new(1))))
}

/// Imports log files (already in import order, `total_bytes` in all).
async fn import_files(
    args: &ImportArgs,
    files: &[PathBuf],
    total_bytes: u64,
    ingestor: &Ingestor,
    tz: &jiff::tz::TimeZone,
) -> anyhow::Result<()> {
    let counters = Arc::new(Counters::default());
    let (batches_tx, mut batches_rx) = mpsc::channel::<Batch>(4);
    let reader = {
        let (counters, files, tz) = (counters.clone(), files.to_vec(), tz.clone());
        let generic = args.generic;
        std::thread::spawn(move || read_files(&files, &tz, generic, &counters, &batches_tx))
    };
    let started = Instant::now();
    let mut progress = Progress::new(total_bytes, !args.no_progress_bar);
    let (mut stored, mut duplicates) = (0u64, 0u64);
    let mut ticker = tokio::time::interval(std::time::Duration::from_millis(200));
    loop {
        tokio::select! {
            batch = batches_rx.recv() => {
                let Some(batch) = batch else { break };
                let report = ingestor
                    .ingest(LOCAL_SENSOR, batch)
                    .await
                    .context("storing events")?;
                stored += report.accepted as u64;
                duplicates += report.duplicates as u64;
            }
            _ = ticker.tick() => progress.update(&counters, stored),
        }
    }
    progress.finish();
    let read = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reading thread panicked"))?;
    read?;
    let seconds = started.elapsed().as_secs_f64();
    let events = counters.events.load(Ordering::Relaxed);
    eprintln!(
        "imported {} file(s): {} lines, {events} events ({stored} new, {duplicates} already \
         stored), {} unmatched sshd lines, in {seconds:.1} s ({:.0} events/s)",
        files.len(),
        counters.lines.load(Ordering::Relaxed),
        counters.unmatched.load(Ordering::Relaxed),
        events as f64 / seconds.max(1e-9),
    );
    Ok(())
}

/// The parsing thread: every file in turn, events in batches of [`BATCH`].
fn read_files(
    files: &[PathBuf],
    tz: &jiff::tz::TimeZone,
    generic: bool,
    counters: &Arc<Counters>,
    batches: &mpsc::Sender<Batch>,
) -> anyhow::Result<()> {
    for file in files {
        read_file(file, tz, generic, counters, batches)
            .with_context(|| format!("reading {}", file.display()))?;
    }
    Ok(())
}

/// One file: its lines parsed with the file's modification time as the year anchor.
fn read_file(
    path: &Path,
    tz: &jiff::tz::TimeZone,
    generic: bool,
    counters: &Arc<Counters>,
    batches: &mpsc::Sender<Batch>,
) -> anyhow::Result<()> {
    let file = File::open(path)?;
    let anchor = written_at(&file);
    let counted = CountingReader {
        inner: file,
        counters: counters.clone(),
    };
    let reader = decompressed(path, counted);
    let mut parser = Parser::new(ParseOptions {
        tz: tz.clone(),
        year: None,
        anchor,
    })
    .with_generic(generic);
    let mut origin: Option<Origin> = None;
    let mut batch: Batch = Vec::with_capacity(BATCH);
    let mut lines = LineReader::new(reader);
    let closed = || io::Error::other("the import stopped");
    lines.for_each(|line, offset| {
        // The follower's identity of the file: the fingerprint of its first line.
        let origin = origin.get_or_insert_with(|| Origin {
            fingerprint: fingerprint_bytes(&[line, b"\n"].concat(), false).unwrap_or_default(),
        });
        counters.lines.fetch_add(1, Ordering::Relaxed);
        match parser.parse(line) {
            Parsed::Event(mut event) => {
                event.offset = Some(offset);
                counters.events.fetch_add(1, Ordering::Relaxed);
                batch.push((event, Some(origin.clone())));
                if batch.len() >= BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    batches.blocking_send(full).map_err(|_| closed())?;
                }
            }
            Parsed::Unmatched => {
                counters.unmatched.fetch_add(1, Ordering::Relaxed);
            }
            Parsed::Ignored | Parsed::NotSshd => {}
        }
        Ok(())
    })?;
    if !batch.is_empty() {
        batches.blocking_send(batch).map_err(|_| closed())?;
    }
    Ok(())
}

/// Counts the bytes read from disk, for the progress display.
struct CountingReader {
    inner: File,
    counters: Arc<Counters>,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
