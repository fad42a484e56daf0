use super::*;

fn body(n: u8, len: usize) -> Vec<u8> {
    vec![n; len]
}

/// Sends everything in the spool, oldest first, as a drainer does: `(events, first byte)`.
fn drain(spool: &mut Spool) -> Vec<(u64, u8)> {
    let mut sent = Vec::new();
    while let Some(batch) = spool.oldest().expect("read") {
        sent.push((batch.events, batch.body[0]));
        spool.remove(batch.seq).expect("remove");
    }
    sent
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn batches_come_back_oldest_first_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spool = Spool::open(dir.path(), 1 << 20).expect("open");
    assert!(spool.is_empty());
    for n in 1..=5u8 {
        assert_eq!(
            spool.push(&body(n, 100), u64::from(n)).expect("push"),
            Pushed::Stored
        );
    }
    assert_eq!(
        spool.stats(),
        SpoolStats {
            bytes: 5 * (HEADER_LEN + 100),
            batches: 5,
            dropped_events: 0,
            rejected_batches: 0,
        }
    );
    // Not acknowledged: the same batch again.
    let first = spool.oldest().expect("read").expect("a batch");
    assert_eq!(spool.oldest().expect("read"), Some(first.clone()));
    assert_eq!((first.events, first.body), (1, body(1, 100)));

    assert_eq!(
        drain(&mut spool),
        vec![(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]
    );
    assert!(spool.is_empty());
    assert_eq!(spool.stats(), SpoolStats::default());
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
}

#[test]
fn a_full_spool_drops_the_oldest_batches_and_counts_their_events() {
    let dir = tempfile::tempdir().expect("temp dir");
    let record = HEADER_LEN + 100;
    let mut spool = Spool::open(dir.path(), 3 * record).expect("open");
    for n in 1..=3u8 {
        spool.push(&body(n, 100), 10).expect("push");
    }
    assert_eq!(spool.stats().dropped_events, 0);
    spool.push(&body(4, 100), 10).expect("push");
    spool.push(&body(5, 100), 10).expect("push");
    let stats = spool.stats();
    assert_eq!(
        (stats.batches, stats.bytes, stats.dropped_events),
        (3, 3 * record, 20)
    );
    assert_eq!(files(dir.path()).len(), 3);
    assert_eq!(drain(&mut spool), vec![(10, 3), (10, 4), (10, 5)]);

    // A batch larger than the whole spool is dropped itself, and counted.
    assert_eq!(
        spool.push(&body(6, 1000), 7).expect("push"),
        Pushed::DroppedNew
    );
    assert_eq!(spool.stats().dropped_events, 27);
    assert!(spool.is_empty());
}

#[test]
fn the_batch_being_sent_is_not_dropped_to_make_room() {
    let dir = tempfile::tempdir().expect("temp dir");
    let record = HEADER_LEN + 100;
    let mut spool = Spool::open(dir.path(), 2 * record).expect("open");
    spool.push(&body(1, 100), 1).expect("push");
    spool.push(&body(2, 100), 2).expect("push");
    let in_flight = spool.oldest().expect("read").expect("a batch");
    spool.push(&body(3, 100), 3).expect("push");
    assert_eq!(spool.stats().dropped_events, 2, "batch 2 made room");
    spool.remove(in_flight.seq).expect("remove");
    assert_eq!(drain(&mut spool), vec![(3, 3)]);
}

#[test]
fn a_reopened_spool_resumes_in_order_and_numbers_after_the_last() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let mut spool = Spool::open(dir.path(), 1 << 20).expect("open");
        for n in 1..=3u8 {
            spool.push(&body(n, 50), u64::from(n)).expect("push");
        }
        let first = spool.oldest().expect("read").expect("a batch");
        spool.remove(first.seq).expect("remove");
    }
    let mut spool = Spool::open(dir.path(), 1 << 20).expect("reopen");
    assert_eq!(spool.stats().batches, 2);
    spool.push(&body(4, 50), 4).expect("push");
    assert_eq!(drain(&mut spool), vec![(2, 2), (3, 3), (4, 4)]);

    // Reopened with a smaller bound: the oldest go.
    for n in 5..=7u8 {
        spool.push(&body(n, 50), 1).expect("push");
    }
    drop(spool);
    let mut spool = Spool::open(dir.path(), HEADER_LEN + 50).expect("reopen smaller");
    assert_eq!(spool.stats().dropped_events, 2);
    assert_eq!(drain(&mut spool), vec![(1, 7)]);
}

#[test]
fn torn_and_damaged_records_are_skipped_and_deleted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spool = Spool::open(dir.path(), 1 << 20).expect("open");
    for n in 1..=4u8 {
        spool.push(&body(n, 64), u64::from(n)).expect("push");
    }
    drop(spool);
    let names = files(dir.path());
    // A crash mid-write of record 2: cut short.
    let torn = dir.path().join(&names[1]);
    let bytes = std::fs::read(&torn).expect("read");
    std::fs::write(&torn, &bytes[..bytes.len() - 10]).expect("truncate");
    // Record 3: a flipped byte in the body (size intact, checksum wrong).
    let damaged = dir.path().join(&names[2]);
    let mut bytes = std::fs::read(&damaged).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&damaged, bytes).expect("damage");
    // A record that never got renamed into place, and one that is only part of a header.
    std::fs::write(dir.path().join("00000000000000000009.tmp"), b"KMSP").expect("temp");
    std::fs::write(
        dir.path().join("00000000000000000010.batch"),
        b"KMSPOOL1\x01",
    )
    .expect("short");
    // Someone else's file is left alone.
    std::fs::write(dir.path().join("README"), b"hello").expect("other");

    let mut spool = Spool::open(dir.path(), 1 << 20).expect("open after a crash");
    assert_eq!(drain(&mut spool), vec![(1, 1), (4, 4)]);
    assert_eq!(files(dir.path()), vec!["README".to_string()]);
    // New records still work and are numbered after every record seen.
    spool.push(&body(5, 8), 5).expect("push");
    assert_eq!(drain(&mut spool), vec![(5, 5)]);
}

#[test]
fn a_refused_batch_is_set_aside_with_its_reason_and_the_next_one_comes_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spool = Spool::open(dir.path(), 1 << 20).expect("open");
    for n in 1..=3u8 {
        spool.push(&body(n, 100), u64::from(n)).expect("push");
    }
    let first = spool.oldest().expect("read").expect("a batch");
    let moved = spool
        .reject(first.seq, "400 Bad Request: <b>no</b>")
        .expect("set aside");
    assert_eq!(std::fs::read(&moved).ok().map(|r| r.len()), Some(128));
    let rejected = dir.path().join(REJECTED_DIR);
    assert_eq!(
        files(&rejected),
        ["00000000000000000000.batch", "00000000000000000000.reason"]
    );
    assert_eq!(
        std::fs::read_to_string(rejected.join("00000000000000000000.reason")).expect("reason"),
        "400 Bad Request: <b>no</b>\n"
    );
    assert_eq!(spool.stats().batches, 2);
    assert_eq!(spool.stats().rejected_batches, 1);
    assert_eq!(spool.stats().bytes, 2 * (HEADER_LEN + 100));
    drop(spool);

    // Reopened, the set-aside batch stays aside: only the other two are sent.
    let mut spool = Spool::open(dir.path(), 1 << 20).expect("reopen");
    assert_eq!(drain(&mut spool), vec![(2, 2), (3, 3)]);
    assert_eq!(files(&rejected).len(), 2);
}
