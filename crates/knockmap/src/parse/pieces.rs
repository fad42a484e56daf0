//! `knockmap parse --count` on several threads: the stream is cut into chunks of whole lines,
//! each classified by a detached parser on a worker thread, and the chunks are attached in
//! order on the calling thread, which settles what depended on earlier chunks
//! ([`Parser::attach`]). The counts are exactly those of one parser reading in order.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Condvar, Mutex};

use knockmap_parse::{Attach, Parser};

use super::Tally;
use crate::lines::{ChunkReader, for_each_line};

/// Bytes per chunk: large enough that settling a chunk costs nothing next to classifying it.
const CHUNK: usize = 1 << 20;

/// A chunk of whole lines and its place in the stream.
struct Chunk {
    seq: u64,
    data: Vec<u8>,
}

/// A chunk classified by a detached parser, waiting to be attached.
struct Classified {
    chunk: Chunk,
    parser: Parser,
    tally: Tally,
}

/// Classifies every line of `reader` on `threads` threads, as a clone of `parser` reading in
/// order would, and adds the counts to `tally`.
pub(super) fn count(
    reader: impl Read + Send,
    parser: &Parser,
    threads: usize,
    tally: &mut Tally,
) -> io::Result<()> {
    count_in_chunks(reader, parser, threads, CHUNK, tally)
}

/// [`count`] with chunks of about `size` bytes.
fn count_in_chunks(
    reader: impl Read + Send,
    parser: &Parser,
    threads: usize,
    size: usize,
    tally: &mut Tally,
) -> io::Result<()> {
    let source = Mutex::new(Source {
        chunks: ChunkReader::new(reader, size),
        next: 0,
        failed: None,
    });
    let window = Window {
        attached: Mutex::new(0),
        advanced: Condvar::new(),
        size: 4 * threads.max(1) as u64,
    };
    let (done_tx, done_rx) = sync_channel::<Classified>(threads.max(1));
    let (recycle_tx, recycle_rx) = sync_channel::<Vec<u8>>(2 * threads.max(1) + 2);
    let recycle_rx = Mutex::new(recycle_rx);
    let attached = std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            let done_tx = done_tx.clone();
            let (source, recycle_rx, window) = (&source, &recycle_rx, &window);
            scope.spawn(move || classify_chunks(source, window, recycle_rx, &done_tx, parser));
        }
        drop(done_tx);
        attach_in_order(done_rx, &window, &recycle_tx, parser, tally)
    });
    let source = source
        .into_inner()
        .map_err(|_| io::Error::other("a classifying thread panicked"))?;
    if let Some(e) = source.failed {
        return Err(e);
    }
    if source.next != attached {
        return Err(io::Error::other("a classifying thread stopped early"));
    }
    tally.oversized += source.chunks.oversized;
    Ok(())
}

/// The stream, shared by the worker threads: each takes the next chunk under the lock.
struct Source<R> {
    chunks: ChunkReader<R>,
    /// The number of the next chunk.
    next: u64,
    /// The read error that ended the stream.
    failed: Option<io::Error>,
}

/// How far ahead of the attached chunks the workers may read: chunks classified out of
/// order wait in memory until the ones before them are attached.
struct Window {
    /// Chunks attached so far.
    attached: Mutex<u64>,
    advanced: Condvar,
    /// How many chunks may be read but not attached yet.
    size: u64,
}

/// Attaches the classified chunks in stream order and adds up their counts; returns how many
/// chunks it attached.
fn attach_in_order(
    done: Receiver<Classified>,
    window: &Window,
    recycle: &SyncSender<Vec<u8>>,
    parser: &Parser,
    tally: &mut Tally,
) -> u64 {
    let mut state = parser.clone();
    let mut attached = 0;
    let mut waiting = BTreeMap::new();
    for classified in done {
        waiting.insert(classified.chunk.seq, classified);
        while let Some(mut piece) = waiting.remove(&attached) {
            match piece.parser.attach(&state) {
                Attach::Corrected(kinds) => {
                    // Each was counted as an ignored sshd line.
                    for kind in kinds {
                        piece.tally.ignored -= 1;
                        piece.tally.events[kind as usize] += 1;
                    }
                    state = piece.parser;
                }
                Attach::Redo => {
                    piece.tally = classify(&mut state, &piece.chunk.data);
                }
            }
            tally.add(&piece.tally);
            attached += 1;
            if let Ok(mut shared) = window.attached.lock() {
                *shared = attached;
                window.advanced.notify_all();
            }
            let _ = recycle.try_send(piece.chunk.data);
        }
    }
    attached
}

/// A worker thread: reads the next chunk and classifies it with a fresh detached parser,
/// until the stream ends. Reading on the thread that classifies keeps the chunk in its
/// core's cache.
fn classify_chunks<R: Read>(
    source: &Mutex<Source<R>>,
    window: &Window,
    recycle: &Mutex<Receiver<Vec<u8>>>,
    done: &SyncSender<Classified>,
    template: &Parser,
) {
    loop {
        let mut data = recycle
            .lock()
            .ok()
            .and_then(|rx| rx.try_recv().ok())
            .unwrap_or_default();
        let seq = {
            let Ok(mut source) = source.lock() else {
                return;
            };
            if source.failed.is_some() {
                return;
            }
            // The chunks before this one are all taken, so waiting here cannot block them.
            let Ok(attached) = window.attached.lock() else {
                return;
            };
            let ahead = source.next;
            if window
                .advanced
                .wait_while(attached, |attached| ahead >= *attached + window.size)
                .is_err()
            {
                return;
            }
            match source.chunks.next_into(&mut data) {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    source.failed = Some(e);
                    return;
                }
            }
            source.next += 1;
            source.next - 1
        };
        let mut parser = template.clone().detached();
        let tally = classify(&mut parser, &data);
        let chunk = Chunk { seq, data };
        if done
            .send(Classified {
                chunk,
                parser,
                tally,
            })
            .is_err()
        {
            return;
        }
    }
}
/// The counts of one chunk's lines.
fn classify(parser: &mut Parser, data: &[u8]) -> Tally {
    let mut tally = Tally::default();
    tally.oversized = for_each_line(data, |line| {
        tally.lines += 1;
        tally.bytes += line.len() as u64 + 1;
        let class = parser.classify(line);
        tally.count(class);
    });
    tally
}

#[cfg(test)]
mod tests {
    use super::*;
    use knockmap_parse::ParseOptions;

    /// A log where many lines depend on earlier ones: address-less messages of processes
    /// named a few lines before, and repeats.
    fn log() -> Vec<u8> {
        let mut log = Vec::new();
        for i in 0..3000u32 {
            let (pid, s) = (100 + i % 7, i % 60);
            let line = match i % 5 {
                0 => format!(
                    "Nov 21 19:16:{s:02} h sshd[{pid}]: Connection from 192.0.2.{pid} port 4242 on 10.0.0.1 port 22\n"
                ),
                1 | 3 => format!(
                    "Nov 21 19:16:{s:02} h sshd[{pid}]: error: kex_exchange_identification: Connection closed by remote host\n"
                ),
                2 => format!(
                    "Nov 21 19:16:{s:02} h sshd[{pid}]: Failed password for root from 198.51.100.{pid} port 22 ssh2\n"
                ),
                _ => format!(
                    "Nov 21 19:16:{s:02} h last message repeated {} times\n",
                    i % 4
                ),
            };
            log.extend_from_slice(line.as_bytes());
        }
        log
    }

    #[test]
    fn any_chunking_counts_like_one_parser_in_order() {
        let parser = Parser::new(ParseOptions {
            tz: jiff::tz::TimeZone::UTC,
            year: Some(2026),
            ..ParseOptions::default()
        });
        let log = log();
        let mut expected = Tally::default();
        expected.oversized = for_each_line(&log, |line| {
            expected.lines += 1;
            expected.bytes += line.len() as u64 + 1;
            expected.count(parser.clone().classify(line));
        });
        // One parser in order, not a fresh one per line:
        let mut one = parser.clone();
        let mut in_order = Tally::default();
        for_each_line(&log, |line| {
            in_order.lines += 1;
            in_order.bytes += line.len() as u64 + 1;
            in_order.count(one.classify(line));
        });
        assert_ne!(
            in_order.events, expected.events,
            "the log must have lines that depend on earlier ones"
        );
        for (threads, size) in [(1, 1), (2, 50), (3, 333), (2, 4096), (4, 1 << 20)] {
            let mut tally = Tally::default();
            count_in_chunks(&log[..], &parser, threads, size, &mut tally).expect("count");
            assert_eq!(tally, in_order, "{threads} threads, {size}-byte chunks");
        }
    }
}
