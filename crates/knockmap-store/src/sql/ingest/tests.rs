//! The batch path against the per-event reference, on random batches.

use std::net::IpAddr;

use jiff::Timestamp;
use knockmap_geo::GeoInfo;
use knockmap_parse::{Event, Kind};
use sqlx::AnyPool;
use sqlx::Row;

use super::{MAX_ROWS, ingest_in_chunks, reference, statement_sizes};
use crate::model::{IngestReport, NewEvent};
use crate::tests::support::Rng;
use crate::{Backend, EventId, SqlStore, Store};

/// The shape of the random batches of one run.
struct Shape {
    /// Ids are drawn from this many origins: small means many repeats.
    id_space: u64,
    /// Distinct addresses beyond a few fixed ones.
    address_space: u64,
    batches: usize,
    max_batch: u64,
}

const SENSORS: [&str; 3] = ["web-01", "web-02", "db-01"];
const FIXED_ADDRESSES: [&str; 5] = [
    "81.2.69.142",
    "10.0.0.1",
    "2001:db8::1",
    "::ffff:1.2.3.4",
    "175.16.199.0",
];

fn random_event(rng: &mut Rng, shape: &Shape) -> NewEvent {
    let sensor = *rng.pick(&SENSORS);
    // Whole seconds in a short span, so equal timestamps from different sensors are common.
    let seconds = 1_790_000_000 + rng.below(30) as i64;
    let micros = if rng.chance(20) {
        rng.below(3) as i64
    } else {
        0
    };
    let ts = Timestamp::from_microsecond(seconds * 1_000_000 + micros).expect("test time");
    let mut event = Event::new(ts, *rng.pick(&Kind::ALL));
    event.ip = rng.maybe(85, |rng| random_address(rng, shape.address_space));
    event.host = rng.maybe(70, |rng| rng.pick(&["web-01", "db-01"]).to_string());
    event.pid = rng.maybe(70, |rng| rng.below(70_000) as u32);
    event.rhost = rng.maybe(10, |rng| format!("host{}.example", rng.below(5)));
    event.port = rng.maybe(60, |rng| rng.below(65_536) as u16);
    event.user = rng.maybe(60, |rng| {
        rng.pick(&["root", "admin", "<b>x</b>", "é"]).to_string()
    });
    event.method = rng.maybe(40, |rng| rng.pick(&["password", "publickey"]).to_string());
    event.invalid_user = rng.maybe(30, |rng| rng.chance(50));
    event.count = match rng.below(20) {
        0 => u32::MAX,
        1..=4 => 2 + rng.below(50) as u32,
        _ => 1,
    };
    event.offset = rng.maybe(50, |rng| rng.below(1 << 40));
    NewEvent {
        id: EventId::from_origin(sensor, "fp", rng.below(shape.id_space)),
        sensor: sensor.to_string(),
        event,
        geo: random_geo(rng),
    }
}

fn random_address(rng: &mut Rng, address_space: u64) -> IpAddr {
    let text = if rng.chance(50) {
        rng.pick(&FIXED_ADDRESSES).to_string()
    } else {
        format!("2001:db8:1::{:x}", rng.below(address_space))
    };
    text.parse().expect("test address")
}

/// Each column independently present or missing, so later events fill and overwrite some.
fn random_geo(rng: &mut Rng) -> GeoInfo {
    GeoInfo {
        country_code: rng.maybe(50, |rng| rng.pick(&["GB", "SE", "CN"]).to_string()),
        country: rng.maybe(50, |rng| {
            rng.pick(&["United Kingdom", "Sweden"]).to_string()
        }),
        city: rng.maybe(40, |rng| rng.pick(&["London", "Linköping"]).to_string()),
        lat: rng.maybe(50, |rng| rng.below(180_000) as f64 / 1000.0 - 90.0),
        lon: rng.maybe(50, |rng| rng.below(360_000) as f64 / 1000.0 - 180.0),
        asn: rng.maybe(40, |rng| rng.below(70_000) as u32),
        org: rng.maybe(40, |rng| rng.pick(&["Telstra", "Bredband2"]).to_string()),
    }
}

async fn pool() -> AnyPool {
    SqlStore::open("sqlite::memory:")
        .await
        .expect("open in-memory store")
        .pool
}

/// Every column of every row of both tables, in storage order.
async fn dump(pool: &AnyPool) -> Vec<String> {
    let mut rows = Vec::new();
    for sql in [
        "SELECT json_array('event', seq, hex(id), ts, sensor, host, pid, kind, ip, rhost, port,
                           user_name, method, invalid_user, count) FROM events ORDER BY seq",
        "SELECT json_array('ip', rowid, ip, first_seen, last_seen, events, attempts, failures,
                           successes, probes, country_code, country, city, lat, lon, asn, org,
                           last_sensor, starred, note) FROM ips ORDER BY rowid",
    ] {
        for row in sqlx::query(sql).fetch_all(pool).await.expect("dump") {
            rows.push(row.get::<String, _>(0));
        }
    }
    rows
}

fn assert_same_report(batch: &IngestReport, reference: &IngestReport, context: &str) {
    assert_eq!(batch.accepted, reference.accepted, "accepted, {context}");
    assert_eq!(
        batch.duplicates, reference.duplicates,
        "duplicates, {context}"
    );
    assert_eq!(batch.stored, reference.stored, "stored events, {context}");
}

/// Ingests the same random batches into two fresh databases, one through the batch path with
/// statements of at most `max_rows` rows and one through the per-event reference, and checks
/// that every report and the full contents after every batch are identical.
async fn check_equivalence(seed: u64, shape: &Shape, max_rows: usize) {
    let mut rng = Rng(seed);
    let (batch_db, reference_db) = (pool().await, pool().await);
    let mut stored = 0;
    for round in 0..shape.batches {
        let len = rng.below(shape.max_batch + 1);
        let batch: Vec<NewEvent> = (0..len).map(|_| random_event(&mut rng, shape)).collect();
        let (got, _) = ingest_in_chunks(&batch_db, Backend::Sqlite, &batch, max_rows)
            .await
            .expect("batch ingest");
        let want = reference::ingest(&reference_db, &batch)
            .await
            .expect("reference ingest");
        let context = format!("seed {seed}, max_rows {max_rows}, batch {round} of {len}");
        assert_same_report(&got, &want, &context);
        assert_eq!(
            dump(&batch_db).await,
            dump(&reference_db).await,
            "{context}"
        );
        stored += got.accepted;
    }
    assert!(
        stored > 0,
        "seed {seed} stored nothing: the check proved nothing"
    );
}

#[tokio::test]
async fn batch_ingest_matches_per_event_ingest_on_small_random_batches() {
    let shape = Shape {
        id_space: 150,
        address_space: 12,
        batches: 12,
        max_batch: 40,
    };
    for seed in 0..40 {
        let max_rows = [1, 2, 3, 7, 16, MAX_ROWS][seed as usize % 6];
        check_equivalence(seed, &shape, max_rows).await;
    }
}

#[tokio::test]
async fn batch_ingest_matches_per_event_ingest_on_import_sized_batches() {
    // Batches the size `knockmap import` sends, with more distinct addresses than one
    // statement holds, so both tables need full and partial multi-row statements.
    let shape = Shape {
        id_space: 12_000,
        address_space: 3_000,
        batches: 3,
        max_batch: 5_000,
    };
    for seed in 100..102 {
        check_equivalence(seed, &shape, MAX_ROWS).await;
    }
}

#[tokio::test]
async fn a_batch_that_fails_midway_stores_nothing() {
    let store = SqlStore::open("sqlite::memory:")
        .await
        .expect("open in-memory store");
    // Refuse one address's row: the events are inserted before the addresses are upserted.
    sqlx::query(
        "CREATE TRIGGER refuse BEFORE INSERT ON ips WHEN NEW.ip = '203.0.113.9'
         BEGIN SELECT RAISE(ABORT, 'refused'); END",
    )
    .execute(&store.pool)
    .await
    .expect("create trigger");
    let ts: Timestamp = "2026-11-21T10:00:00Z".parse().expect("time");
    let batch: Vec<NewEvent> = ["81.2.69.142", "203.0.113.9"]
        .iter()
        .enumerate()
        .map(|(offset, ip)| {
            let mut event = Event::new(ts, Kind::Failed);
            event.ip = Some(ip.parse().expect("address"));
            NewEvent {
                id: EventId::from_origin("s1", "fp", offset as u64),
                sensor: "s1".into(),
                event,
                geo: GeoInfo::default(),
            }
        })
        .collect();
    assert!(store.ingest(&batch).await.is_err());
    assert!(
        dump(&store.pool).await.is_empty(),
        "nothing of the batch stays"
    );
}

#[test]
fn statements_are_full_then_powers_of_two() {
    assert_eq!(statement_sizes(0, 1024), Vec::<usize>::new());
    assert_eq!(statement_sizes(1, 1024), vec![1]);
    assert_eq!(
        statement_sizes(5000, 1024),
        vec![1024, 1024, 1024, 1024, 512, 256, 128, 8]
    );
    assert_eq!(statement_sizes(7, 3), vec![3, 3, 1]);
    assert_eq!(statement_sizes(11, 7), vec![7, 4]);
    for len in 0..300 {
        let sizes = statement_sizes(len, 16);
        assert_eq!(sizes.iter().sum::<usize>(), len);
        assert!(sizes.iter().all(|&s| s <= 16 && s.is_power_of_two()));
    }
}
