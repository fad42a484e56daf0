//! The conformance suite: what every backend must do, run against SQLite, PostgreSQL and
//! MariaDB/MySQL alike (see [`support`] for where the databases come from).

use std::future::Future;
use std::net::IpAddr;

use jiff::Timestamp;
use knockmap_geo::GeoInfo;
use knockmap_parse::{Event, Kind};

use crate::{
    Backend, CachedLookup, EventId, Filter, NewEvent, SqlStore, Store, StoreError, Window,
};

mod summary;
pub(crate) mod support;

use support::{Rng, TestDb, conformance};

conformance!(
    the_same_line_is_stored_once_but_same_second_attempts_all_count,
    statistics_weigh_counts_and_split_outcomes,
    an_address_page_has_everything_known,
    a_database_survives_reopening,
    sensors_are_created_found_by_token_touched_and_revoked,
    addresses_are_starred_and_annotated,
    hostile_text_is_stored_exactly,
    concurrent_sensors_lose_nothing_while_the_dashboard_reads,
    the_summary_stays_exact_under_concurrent_sensors,
    a_newer_schema_is_refused,
    a_place_can_follow_an_unlocated_address,
    windows_of_any_length_agree_with_the_events,
    filters_narrow_statistics_and_the_map,
    aggregates_are_rebuilt_for_a_database_from_before_them,
    retention_prunes_raw_events_and_keeps_the_aggregates,
    lookups_are_cached_and_replaced,
);

async fn run<F: Future<Output = ()>>(backend: Backend, test: fn(TestDb) -> F) {
    if let Some(db) = TestDb::new(backend).await {
        test(db).await;
    }
}

fn event(ts: &str, kind: Kind, ip: &str, user: Option<&str>) -> Event {
    let mut event = Event::new(ts.parse::<Timestamp>().expect("test time"), kind);
    event.ip = Some(ip.parse::<IpAddr>().expect("test address"));
    event.user = user.map(str::to_string);
    event.host = Some("web-01".into());
    event
}

fn london() -> GeoInfo {
    GeoInfo {
        country_code: Some("GB".into()),
        country: Some("United Kingdom".into()),
        city: Some("London".into()),
        lat: Some(51.5142),
        lon: Some(-0.0931),
        asn: Some(1221),
        org: Some("Telstra".into()),
    }
}

fn new(offset: u64, event: Event, geo: GeoInfo) -> NewEvent {
    NewEvent {
        id: EventId::from_origin("s1", "fp", offset),
        sensor: "s1".into(),
        event,
        geo,
    }
}

async fn the_same_line_is_stored_once_but_same_second_attempts_all_count(db: TestDb) {
    let store = db.open().await;
    // Three attempts in the same second from the same address: all three are real.
    let batch: Vec<NewEvent> = (0..3)
        .map(|i| {
            new(
                i,
                event(
                    "2026-11-21T10:00:00Z",
                    Kind::Failed,
                    "81.2.69.142",
                    Some("root"),
                ),
                london(),
            )
        })
        .collect();
    let first = store.ingest(&batch).await.expect("ingest");
    assert_eq!((first.accepted, first.duplicates), (3, 0));
    assert_eq!(
        first
            .stored
            .iter()
            .filter_map(|e| e.ip_events)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    let again = store.ingest(&batch).await.expect("ingest again");
    assert_eq!((again.accepted, again.duplicates), (0, 3));
    assert!(again.stored.is_empty());
    let stats = store
        .stats(&Window::default(), &Filter::default())
        .await
        .expect("stats");
    assert_eq!((stats.events, stats.attempts, stats.unique_ips), (3, 3, 1));
    let detail = store
        .ip_detail("81.2.69.142", 10)
        .await
        .expect("detail")
        .expect("seen");
    assert_eq!(
        detail.events, 3,
        "per-address totals are not bumped by duplicates"
    );
}

async fn statistics_weigh_counts_and_split_outcomes(db: TestDb) {
    let store = db.open().await;
    let mut repeated = event(
        "2026-11-21T10:00:00Z",
        Kind::Failed,
        "81.2.69.142",
        Some("root"),
    );
    repeated.count = 5;
    let batch = vec![
        new(0, repeated, london()),
        new(
            1,
            event(
                "2026-11-21T11:30:00Z",
                Kind::Accepted,
                "81.2.69.142",
                Some("deploy"),
            ),
            london(),
        ),
        new(
            2,
            event("2026-11-21T11:31:00Z", Kind::Probe, "10.0.0.1", None),
            GeoInfo::default(),
        ),
        new(
            3,
            event(
                "2026-11-21T11:32:00Z",
                Kind::InvalidUser,
                "2001:db8::1",
                Some("<b>x</b>"),
            ),
            GeoInfo::default(),
        ),
    ];
    store.ingest(&batch).await.expect("ingest");
    let stats = store
        .stats(&Window::default(), &Filter::default())
        .await
        .expect("stats");
    assert_eq!(stats.events, 8);
    assert_eq!(stats.attempts, 6);
    assert_eq!(stats.successes, 1);
    assert_eq!(stats.failures, 6);
    assert_eq!(stats.probes, 1);
    assert_eq!(stats.unique_ips, 3);
    assert_eq!(stats.countries, 1);
    assert_eq!(stats.unlocated_ips, 2);
    assert_eq!(
        stats.last_event,
        Some("2026-11-21T11:32:00Z".parse().expect("time"))
    );
    assert_eq!(stats.top_users[0].key, "root");
    assert_eq!(stats.top_users[0].count, 5);
    assert_eq!(
        stats.top_countries[0].name.as_deref(),
        Some("United Kingdom")
    );
    assert_eq!(stats.top_asns[0].key, "1221");
    assert_eq!(stats.series.len(), 2);
    assert_eq!((stats.series[0].events, stats.series[1].successes), (5, 1));

    let markers = store
        .markers(&Window::default(), &Filter::default())
        .await
        .expect("markers");
    assert_eq!(markers.markers.len(), 1);
    assert_eq!(
        (markers.markers[0].failures, markers.markers[0].successes),
        (5, 1)
    );
    assert_eq!(markers.unlocated.len(), 2);

    let window = Window {
        since: Some("2026-11-21T11:00:00Z".parse().expect("time")),
        until: None,
    };
    let stats = store
        .stats(&window, &Filter::default())
        .await
        .expect("windowed stats");
    assert_eq!((stats.events, stats.attempts), (3, 1));
    let markers = store
        .markers(&window, &Filter::default())
        .await
        .expect("windowed markers");
    assert_eq!(
        markers.markers[0].events, 1,
        "only the accepted login is in the window"
    );

    let recent = store.recent(&Window::default(), 2).await.expect("recent");
    assert_eq!(
        recent[0].event.user.as_deref(),
        Some("<b>x</b>"),
        "stored exactly"
    );
    assert_eq!(recent.len(), 2);
}

async fn an_address_page_has_everything_known(db: TestDb) {
    let store = db.open().await;
    let mut second = event(
        "2026-11-21T10:05:00Z",
        Kind::Failed,
        "81.2.69.142",
        Some("admin"),
    );
    second.host = Some("db-01".into());
    store
        .ingest(&[
            new(
                0,
                event(
                    "2026-11-21T10:00:00Z",
                    Kind::Failed,
                    "81.2.69.142",
                    Some("root"),
                ),
                london(),
            ),
            new(
                1,
                event(
                    "2026-11-21T10:01:00Z",
                    Kind::Failed,
                    "81.2.69.142",
                    Some("root"),
                ),
                london(),
            ),
            new(2, second, GeoInfo::default()),
        ])
        .await
        .expect("ingest");
    let detail = store
        .ip_detail("81.2.69.142", 2)
        .await
        .expect("detail")
        .expect("seen");
    assert_eq!(
        detail.geo.city.as_deref(),
        Some("London"),
        "a later lookup without answer keeps the place"
    );
    assert_eq!(detail.users[0].user, "root");
    assert_eq!(detail.users[0].count, 2);
    assert_eq!(
        detail.hosts,
        vec!["db-01".to_string(), "web-01".to_string()]
    );
    assert_eq!(detail.by_kind.get("failed"), Some(&3));
    assert_eq!(
        detail.first_seen,
        "2026-11-21T10:00:00Z".parse::<Timestamp>().expect("time")
    );
    assert_eq!(detail.recent.len(), 2);
    assert_eq!(detail.recent[0].event.user.as_deref(), Some("admin"));
    assert!(
        store
            .ip_detail("192.0.2.1", 2)
            .await
            .expect("query")
            .is_none()
    );
}

async fn a_database_survives_reopening(db: TestDb) {
    let store = db.open().await;
    store
        .ingest(&[new(
            0,
            event("2026-11-21T10:00:00Z", Kind::Failed, "81.2.69.142", None),
            london(),
        )])
        .await
        .expect("ingest");
    store
        .create_sensor("edge-1", None, &[7u8; 32])
        .await
        .expect("create sensor");
    drop(store);
    // Migrations already applied are not applied again.
    let store = db.open().await;
    assert_eq!(
        store
            .stats(&Window::default(), &Filter::default())
            .await
            .expect("stats")
            .events,
        1
    );
    assert_eq!(store.list_sensors().await.expect("list").len(), 1);
}

async fn sensors_are_created_found_by_token_touched_and_revoked(db: TestDb) {
    let store = db.open().await;
    let (a, b) = ([1u8; 32], [2u8; 32]);
    let created = store
        .create_sensor("edge-1", Some((35.7, 139.7)), &a)
        .await
        .expect("create");
    assert_eq!(created.location, Some((35.7, 139.7)));
    assert!(matches!(
        store.create_sensor("edge-1", None, &b).await,
        Err(crate::StoreError::SensorExists(name)) if name == "edge-1"
    ));
    store
        .create_sensor("edge-2", None, &b)
        .await
        .expect("create another");

    let found = store.sensor_for_token(&a).await.expect("query");
    assert_eq!(found.map(|s| s.name), Some("edge-1".to_string()));
    assert!(
        store
            .sensor_for_token(&[9u8; 32])
            .await
            .expect("query")
            .is_none()
    );

    let health = crate::SensorHealth {
        lines_read: Some(10),
        events: Some(4),
        unmatched: Some(1),
        version: Some("0.1.0".into()),
        spool_bytes: Some(2048),
        spool_batches: Some(2),
        dropped_events: Some(0),
    };
    store.touch_sensor("edge-1", &health).await.expect("touch");
    // What a later report leaves out keeps its value.
    store
        .touch_sensor(
            "edge-1",
            &crate::SensorHealth {
                lines_read: Some(12),
                ..Default::default()
            },
        )
        .await
        .expect("touch again");
    let listed = store.list_sensors().await.expect("list");
    assert_eq!(
        listed.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["edge-1", "edge-2"]
    );
    assert!(listed[0].last_seen.is_some() && listed[1].last_seen.is_none());
    assert_eq!(listed[0].health.lines_read, Some(12));
    assert_eq!(listed[0].health.events, Some(4));
    assert_eq!(listed[0].health.version.as_deref(), Some("0.1.0"));
    assert_eq!(
        (
            listed[0].health.spool_bytes,
            listed[0].health.spool_batches,
            listed[0].health.dropped_events
        ),
        (Some(2048), Some(2), Some(0))
    );

    // Revocation takes effect at once; the name can then be given a new token.
    assert!(store.revoke_sensor("edge-1").await.expect("revoke"));
    assert!(!store.revoke_sensor("edge-1").await.expect("revoke twice"));
    assert!(!store.revoke_sensor("nobody").await.expect("revoke unknown"));
    assert!(store.sensor_for_token(&a).await.expect("query").is_none());
    let listed = store.list_sensors().await.expect("list");
    assert!(listed[0].revoked_at.is_some());
    let c = [3u8; 32];
    let renewed = store
        .create_sensor("edge-1", None, &c)
        .await
        .expect("a revoked name takes a new token");
    assert!(renewed.revoked_at.is_none() && renewed.location.is_none());
    assert!(store.sensor_for_token(&a).await.expect("query").is_none());
    assert_eq!(
        store
            .sensor_for_token(&c)
            .await
            .expect("query")
            .map(|s| (s.name, s.health)),
        Some(("edge-1".to_string(), crate::SensorHealth::default()))
    );
}

async fn addresses_are_starred_and_annotated(db: TestDb) {
    let store = db.open().await;
    let ip = "81.2.69.142";
    store
        .ingest(&[new(
            0,
            event("2026-11-21T10:00:00Z", Kind::Failed, ip, Some("root")),
            london(),
        )])
        .await
        .expect("ingest");
    assert!(store.set_starred(ip, true).await.expect("star"));
    let note = "scanner from <b>Telstra</b> — seen again after 'reset'";
    assert!(store.set_note(ip, Some(note)).await.expect("note"));
    let detail = store.ip_detail(ip, 1).await.expect("detail").expect("seen");
    assert!(detail.starred);
    assert_eq!(detail.note.as_deref(), Some(note));
    let markers = store
        .markers(&Window::default(), &Filter::default())
        .await
        .expect("markers");
    assert!(
        markers.markers[0].starred,
        "starred addresses are marked on the map"
    );

    // Starring twice is harmless; unstarring and clearing work.
    assert!(store.set_starred(ip, true).await.expect("star again"));
    assert!(store.set_starred(ip, false).await.expect("unstar"));
    assert!(store.set_note(ip, None).await.expect("clear note"));
    let detail = store.ip_detail(ip, 1).await.expect("detail").expect("seen");
    assert!(!detail.starred && detail.note.is_none());
    // An address never seen cannot be starred (nothing is created for it).
    assert!(
        !store
            .set_starred("192.0.2.1", true)
            .await
            .expect("star unknown")
    );
    assert!(
        !store
            .set_note("192.0.2.1", Some("x"))
            .await
            .expect("note unknown")
    );
    assert!(
        store
            .ip_detail("192.0.2.1", 1)
            .await
            .expect("detail")
            .is_none()
    );
}

async fn hostile_text_is_stored_exactly(db: TestDb) {
    let store = db.open().await;
    let hostile = [
        "<script>alert(1)</script>".to_string(),
        "root'; DROP TABLE events; --".to_string(),
        "\u{202e}nimda".to_string(),
        "\\x00\\xff ok".to_string(),
        "Root".to_string(),
        "root ".to_string(),
        "x".repeat(10_000),
        "名前😀".to_string(),
    ];
    let batch: Vec<NewEvent> = hostile
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let mut e = event(
                "2026-11-21T10:00:00Z",
                Kind::InvalidUser,
                "81.2.69.142",
                None,
            );
            e.user = Some(user.clone());
            e.rhost = Some(format!("{user}.example"));
            new(i as u64, e, london())
        })
        .collect();
    store.ingest(&batch).await.expect("ingest");
    let detail = store
        .ip_detail("81.2.69.142", 100)
        .await
        .expect("detail")
        .expect("seen");
    let mut users: Vec<String> = detail.users.iter().map(|u| u.user.clone()).collect();
    users.sort();
    let mut want = hostile.to_vec();
    want.sort();
    assert_eq!(users, want, "every name distinct and byte for byte");
    assert!(detail.recent.iter().all(|e| {
        let user = e.event.user.as_deref().unwrap_or_default();
        e.event.rhost.as_deref() == Some(format!("{user}.example").as_str())
    }));

    // A NUL, which PostgreSQL text cannot hold, is stored as `\x00` on every backend and
    // does not cost the rest of its batch.
    let mut e = event(
        "2026-11-21T10:00:01Z",
        Kind::InvalidUser,
        "81.2.69.142",
        None,
    );
    e.user = Some("nul\0here".into());
    let ok = event(
        "2026-11-21T10:00:02Z",
        Kind::Failed,
        "81.2.69.142",
        Some("after"),
    );
    let report = store
        .ingest(&[new(100, e, london()), new(101, ok, london())])
        .await
        .expect("a NUL does not fail the batch");
    assert_eq!(report.accepted, 2);
    let detail = store
        .ip_detail("81.2.69.142", 2)
        .await
        .expect("detail")
        .expect("seen");
    assert_eq!(detail.recent[1].event.user.as_deref(), Some("nul\\x00here"));
    assert!(
        store
            .set_note("81.2.69.142", Some("a\0b"))
            .await
            .expect("note")
    );
}

async fn concurrent_sensors_lose_nothing_while_the_dashboard_reads(db: TestDb) {
    concurrent_writes_and_reads(db, false).await
}

async fn the_summary_stays_exact_under_concurrent_sensors(db: TestDb) {
    concurrent_writes_and_reads(db, true).await
}

/// Four sensors resend their batches while the dashboard reads, answered by the SQL statements
/// or (`summary`) by the in-memory summary kept current by the writes.
async fn concurrent_writes_and_reads(db: TestDb, summary: bool) {
    let store = std::sync::Arc::new(db.open().await);
    if summary {
        store.load_summary().await.expect("load the summary");
    }
    const SENSORS: u64 = 4;
    const BATCHES: u64 = 12;
    const PER_BATCH: u64 = 50;
    // Every sensor sends each of its batches twice (a retry after a lost answer), and all
    // sensors hit the same 20 addresses, so batches contend for the same address rows.
    let writers = (0..SENSORS).map(|s| {
        let store = store.clone();
        tokio::spawn(async move {
            for b in 0..BATCHES {
                let batch: Vec<NewEvent> = (0..PER_BATCH)
                    .map(|i| {
                        let n = b * PER_BATCH + i;
                        let ip = format!("198.51.100.{}", (n * 7 + s) % 20);
                        let mut e = event("2026-11-21T10:00:00Z", Kind::Failed, &ip, Some("root"));
                        e.count = 1 + (n % 3) as u32;
                        NewEvent {
                            id: EventId::from_origin(&format!("s{s}"), "fp", n),
                            sensor: format!("s{s}"),
                            event: e,
                            geo: london(),
                        }
                    })
                    .collect();
                for _ in 0..2 {
                    store.ingest(&batch).await.expect("ingest under contention");
                }
            }
        })
    });
    let writers: Vec<_> = writers.collect();
    let reader = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut last = 0;
            for _ in 0..30 {
                let stats = store
                    .stats(&Window::default(), &Filter::default())
                    .await
                    .expect("stats while writing");
                assert!(stats.events >= last, "totals never go back");
                last = stats.events;
                store
                    .markers(&Window::default(), &Filter::default())
                    .await
                    .expect("markers while writing");
            }
        })
    };
    for writer in writers {
        writer.await.expect("writer");
    }
    reader.await.expect("reader");
    let per_sensor: u64 = (0..BATCHES * PER_BATCH).map(|n| 1 + n % 3).sum();
    let stats = store
        .stats(&Window::default(), &Filter::default())
        .await
        .expect("stats");
    assert_eq!(
        stats.events,
        SENSORS * per_sensor,
        "each event stored exactly once"
    );
    assert_eq!(stats.unique_ips, 20);
    let markers = store
        .markers(&Window::default(), &Filter::default())
        .await
        .expect("markers");
    assert_eq!(
        markers.markers.iter().map(|m| m.events).sum::<u64>(),
        SENSORS * per_sensor,
        "the per-address totals agree with the events"
    );
    if summary {
        let (stats, markers, _) = store
            .summary_answers(&Window::default())
            .await
            .expect("summary")
            .expect("the summary is current once the writers are done");
        assert_eq!(stats.events, SENSORS * per_sensor);
        assert_eq!(
            markers.markers.iter().map(|m| m.events).sum::<u64>(),
            SENSORS * per_sensor
        );
    }
}

async fn a_newer_schema_is_refused(db: TestDb) {
    let store = db.open().await;
    let backend = store.backend();
    let future = 99_990_101_000_000_i64;
    sqlx::query(&backend.sql(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (?, 'from a newer knockmap', ?, ?, 0)",
    ))
    .bind(future)
    .bind(true)
    .bind(vec![0u8; 48])
    .execute(store.pool())
    .await
    .expect("pretend a newer binary migrated the database");
    drop(store);
    let refused = SqlStore::open(&db.url).await;
    match refused {
        Err(StoreError::NewerSchema { found, known }) => {
            assert_eq!(found, future);
            assert!(known < future);
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    let message = SqlStore::open(&db.url).await.err().map(|e| e.to_string());
    assert!(
        message
            .unwrap_or_default()
            .contains("newer than this knockmap")
    );
    let _ = db.backend();
}

async fn lookups_are_cached_and_replaced(db: TestDb) {
    let store = db.open().await;
    let ip = "81.2.69.142";
    assert!(!store.has_ip(ip).await.expect("has_ip"));
    store
        .ingest(&[new(
            0,
            event("2026-11-21T10:00:00Z", Kind::Failed, ip, Some("root")),
            london(),
        )])
        .await
        .expect("ingest");
    assert!(store.has_ip(ip).await.expect("has_ip"));
    assert_eq!(store.lookup(ip, "shodan").await.expect("lookup"), None);
    // A big answer with hostile text is kept exactly.
    let banner = format!(
        r#"<script>alert(1)</script>\u0000 ☃ {}"#,
        "x".repeat(100_000)
    );
    let first = CachedLookup {
        fetched_at: "2026-11-21T10:00:00Z".parse().expect("time"),
        status: "ok".into(),
        body: serde_json::json!({ "banner": banner }).to_string(),
    };
    store.save_lookup(ip, "shodan", &first).await.expect("save");
    assert_eq!(
        store.lookup(ip, "shodan").await.expect("lookup"),
        Some(first)
    );
    // Asking again replaces the answer.
    let second = CachedLookup {
        fetched_at: "2026-11-22T10:00:00Z".parse().expect("time"),
        status: "not_found".into(),
        body: "{}".into(),
    };
    store
        .save_lookup(ip, "shodan", &second)
        .await
        .expect("replace");
    assert_eq!(
        store.lookup(ip, "shodan").await.expect("lookup"),
        Some(second)
    );
    assert_eq!(store.lookup(ip, "other").await.expect("lookup"), None);
    assert_eq!(
        store.lookup("192.0.2.1", "shodan").await.expect("lookup"),
        None
    );
}

async fn a_place_can_follow_an_unlocated_address(db: TestDb) {
    let store = db.open().await;
    // Statements of the same shape with coordinates missing in different rows, as geolocation
    // leaves them.
    let at = "2026-11-21T10:00:00Z";
    for (round, places) in [[false, true], [true, false], [false, false], [true, true]]
        .into_iter()
        .enumerate()
    {
        let batch: Vec<NewEvent> = places
            .iter()
            .enumerate()
            .map(|(i, &located)| {
                let n = (round * 2 + i) as u64;
                let ip = format!("198.51.100.{n}");
                let geo = if located {
                    london()
                } else {
                    GeoInfo::default()
                };
                new(n, event(at, Kind::Failed, &ip, None), geo)
            })
            .collect();
        store.ingest(&batch).await.expect("ingest");
    }
    store
        .create_sensor("a", None, &[1; 32])
        .await
        .expect("sensor without a place");
    store
        .create_sensor("b", Some((1.5, 2.5)), &[2; 32])
        .await
        .expect("sensor with a place");
    let markers = store
        .markers(&Window::default(), &Filter::default())
        .await
        .expect("markers");
    assert_eq!((markers.markers.len(), markers.unlocated.len()), (4, 4));
    assert!(markers.markers.iter().all(|m| m.lat == 51.5142));
}

/// Each address with a fixed place (as geolocation gives), some without one.
fn place_of(ip: &str) -> GeoInfo {
    let n: u64 = ip
        .rsplit('.')
        .next()
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    if n % 4 == 3 {
        return GeoInfo::default();
    }
    let (cc, name) = [("GB", "United Kingdom"), ("CN", "China"), ("BR", "Brazil")][n as usize % 3];
    GeoInfo {
        country_code: Some(cc.into()),
        country: Some(name.into()),
        city: None,
        lat: Some(n as f64),
        lon: Some(-(n as f64)),
        asn: (!n.is_multiple_of(5)).then_some(64_500 + (n % 3) as u32),
        org: Some(format!("AS org {}", n % 3)),
    }
}

/// What the statistics of `window` must be, computed from the events themselves.
fn expected_stats(events: &[NewEvent], window: &Window) -> (Vec<(String, u64)>, Stats) {
    use std::collections::{BTreeMap, BTreeSet};
    let (lo, hi) = window.micros();
    let inside: Vec<&NewEvent> = events
        .iter()
        .filter(|n| (lo..hi).contains(&n.event.ts.as_microsecond()))
        .collect();
    let mut totals = [0u64; 5];
    let mut series: BTreeMap<i64, (u64, u64, u64)> = BTreeMap::new();
    let mut tops: [BTreeMap<String, (Option<String>, u64)>; 5] = Default::default();
    let mut ips = BTreeSet::new();
    let mut last = None;
    for new in &inside {
        let e = &new.event;
        let n = u64::from(e.count);
        let outcome = e.kind.outcome();
        totals[0] += n;
        totals[1] += if e.kind.is_attempt() { n } else { 0 };
        totals[2] += if outcome == knockmap_parse::Outcome::Success {
            n
        } else {
            0
        };
        totals[3] += if outcome == knockmap_parse::Outcome::Failure {
            n
        } else {
            0
        };
        totals[4] += if outcome == knockmap_parse::Outcome::Probe {
            n
        } else {
            0
        };
        let point = series
            .entry(e.ts.as_microsecond().div_euclid(3_600_000_000))
            .or_default();
        point.0 += n;
        point.1 += if e.kind.is_attempt() { n } else { 0 };
        point.2 += if outcome == knockmap_parse::Outcome::Success {
            n
        } else {
            0
        };
        last = last.max(Some(e.ts));
        let mut count = |list: usize, key: String, name: Option<String>| {
            let slot = tops[list].entry(key).or_insert((None, 0));
            slot.0 = name.or(slot.0.take());
            slot.1 += n;
        };
        if let Some(ip) = e.ip {
            let geo = place_of(&ip.to_string());
            ips.insert(ip.to_string());
            if let Some(cc) = geo.country_code {
                count(0, cc, geo.country);
            }
            if let Some(asn) = geo.asn {
                count(1, asn.to_string(), geo.org);
            }
            count(3, ip.to_string(), None);
        }
        if let Some(user) = &e.user {
            count(2, user.clone(), None);
        }
        count(4, new.sensor.clone(), None);
    }
    let places: Vec<GeoInfo> = ips.iter().map(|ip| place_of(ip)).collect();
    let countries: BTreeSet<_> = places
        .iter()
        .filter_map(|g| g.country_code.clone())
        .collect();
    let list = |map: &BTreeMap<String, (Option<String>, u64)>| {
        map.iter()
            .map(|(k, (name, n))| crate::TopEntry {
                key: k.clone(),
                name: name.clone(),
                count: *n,
            })
            .collect::<Vec<_>>()
    };
    let per_ip = tops[3].iter().map(|(k, (_, n))| (k.clone(), *n)).collect();
    let stats = Stats {
        events: totals[0],
        attempts: totals[1],
        successes: totals[2],
        failures: totals[3],
        probes: totals[4],
        unique_ips: ips.len() as u64,
        countries: countries.len() as u64,
        unlocated_ips: places.iter().filter(|g| g.lat.is_none()).count() as u64,
        last_event: last,
        top_countries: list(&tops[0]),
        top_asns: list(&tops[1]),
        top_users: list(&tops[2]),
        top_ips: list(&tops[3]),
        top_sensors: list(&tops[4]),
        series: series
            .into_iter()
            .map(|(hour, (events, attempts, successes))| crate::SeriesPoint {
                hour: Timestamp::from_second(hour * 3600).expect("hour"),
                events,
                attempts,
                successes,
            })
            .collect(),
    };
    (per_ip, stats)
}

use crate::Stats;

/// Top lists in key order (ties are ordered by each database's collation), after checking
/// that the store's order is by count.
fn by_key(mut list: Vec<crate::TopEntry>, context: &str) -> Vec<crate::TopEntry> {
    assert!(
        list.windows(2).all(|w| w[0].count >= w[1].count),
        "top list not by count, {context}: {list:?}"
    );
    list.sort_by(|a, b| a.key.cmp(&b.key));
    list
}

async fn windows_of_any_length_agree_with_the_events(db: TestDb) {
    let store = db.open().await;
    let mut rng = Rng(7);
    let start = 1_795_000_000i64; // 2026-11-18T…
    let events = scattered_events(&mut rng, start, 0..600);
    for batch in events.chunks(97) {
        store.ingest(batch).await.expect("ingest");
    }
    let at = |offset: i64| Some(Timestamp::from_second(start + offset).expect("time"));
    let mut windows = vec![
        Window::default(),
        Window {
            since: at(3_600 * 5),
            until: None,
        },
        Window {
            since: None,
            until: at(3_600 * 30),
        },
        Window {
            since: at(600),
            until: at(1_200),
        },
    ];
    for _ in 0..12 {
        let a = rng.below(3 * 86_400 + 7_200) as i64 - 3_600;
        let b = a + rng.below(2 * 86_400) as i64;
        let (a, b) = if rng.below(3) == 0 {
            (a - a % 3_600, b - b % 3_600)
        } else {
            (a, b)
        };
        windows.push(Window {
            since: at(a),
            until: at(b),
        });
    }
    for window in &windows {
        let context = format!("{:?}, {window:?}", db.backend());
        let (per_ip, want) = expected_stats(&events, window);
        let mut got = store
            .stats(window, &Filter::default())
            .await
            .expect("stats");
        for list in [
            &mut got.top_countries,
            &mut got.top_asns,
            &mut got.top_users,
            &mut got.top_ips,
            &mut got.top_sensors,
        ] {
            *list = by_key(std::mem::take(list), &context);
        }
        assert_eq!(got, want, "{context}");
        let markers = store
            .markers(window, &Filter::default())
            .await
            .expect("markers");
        let mut seen: Vec<(String, u64)> = markers
            .markers
            .iter()
            .map(|m| (m.ip.clone(), m.events))
            .chain(markers.unlocated.iter().map(|u| (u.ip.clone(), u.events)))
            .collect();
        seen.sort();
        assert_eq!(seen, per_ip, "markers, {context}");
    }
}

/// Events numbered `ids` over the three days from `start`: eight addresses in three
/// countries (two unlocated), three sensors and five user names, some without an address.
fn scattered_events(rng: &mut Rng, start: i64, ids: std::ops::Range<u64>) -> Vec<NewEvent> {
    let users = ["root", "admin", "ubuntu", "postgres", "test"];
    ids.map(|i| {
        let ts = Timestamp::from_second(start + rng.below(3 * 86_400) as i64).expect("time");
        let kind = Kind::ALL[rng.below(Kind::ALL.len() as u64) as usize];
        let mut e = Event::new(ts, kind);
        let ip = (rng.below(10) != 0).then(|| format!("198.51.100.{}", rng.below(8)));
        e.ip = ip.as_ref().map(|ip| ip.parse().expect("address"));
        e.user = (rng.below(4) != 0).then(|| users[rng.below(5) as usize].to_string());
        e.count = 1 + rng.below(3) as u32;
        let sensor = format!("s{}", rng.below(3));
        NewEvent {
            id: EventId::from_origin(&sensor, "fp", i),
            geo: ip.as_deref().map(place_of).unwrap_or_default(),
            sensor,
            event: e,
        }
    })
    .collect()
}

/// Whether `filter` lets an event through: its sensor, and its address's country (codes
/// compared in upper case; an event without an address has no country).
fn passes(new: &NewEvent, filter: &Filter) -> bool {
    let place = new.event.ip.map(|ip| place_of(&ip.to_string()));
    let sensor = filter.sensor.as_ref().is_none_or(|s| *s == new.sensor);
    let country = filter.country.as_ref().is_none_or(|cc| {
        place
            .as_ref()
            .and_then(|p| p.country_code.as_ref())
            .is_some_and(|code| *code == cc.to_ascii_uppercase())
    });
    let asn = filter
        .asn
        .is_none_or(|asn| place.as_ref().and_then(|p| p.asn) == Some(asn));
    let user = filter
        .user
        .as_ref()
        .is_none_or(|u| new.event.user.as_ref() == Some(u));
    sensor && country && asn && user
}

/// Per address: events, failures, successes, probes and the newest event, in `window`.
fn expected_markers(
    events: &[NewEvent],
    window: &Window,
) -> std::collections::BTreeMap<String, ([u64; 4], Timestamp)> {
    let (lo, hi) = window.micros();
    let mut by_ip = std::collections::BTreeMap::new();
    for new in events {
        let e = &new.event;
        let Some(ip) = e.ip.filter(|_| (lo..hi).contains(&e.ts.as_microsecond())) else {
            continue;
        };
        let n = u64::from(e.count);
        let (counts, last) = by_ip.entry(ip.to_string()).or_insert(([0; 4], e.ts));
        counts[0] += n;
        counts[match e.kind.outcome() {
            knockmap_parse::Outcome::Failure => 1,
            knockmap_parse::Outcome::Success => 2,
            knockmap_parse::Outcome::Probe => 3,
        }] += n;
        *last = (*last).max(e.ts);
    }
    by_ip
}

async fn filters_narrow_statistics_and_the_map(db: TestDb) {
    let store = db.open().await;
    let mut rng = Rng(11);
    let start = 1_795_000_000i64;
    let events = scattered_events(&mut rng, start, 0..600);
    for batch in events.chunks(97) {
        store.ingest(batch).await.expect("ingest");
    }
    assert!(store.set_starred("198.51.100.1", true).await.expect("star"));
    // What markers keep of their address whatever the filter: place, last sensor, star.
    let places: std::collections::BTreeMap<String, crate::Marker> = store
        .markers(&Window::default(), &Filter::default())
        .await
        .expect("markers")
        .markers
        .into_iter()
        .map(|m| (m.ip.clone(), m))
        .collect();
    let at = |offset: i64| Some(Timestamp::from_second(start + offset).expect("time"));
    let windows = [
        Window::default(),
        Window {
            since: at(3_600 * 5 + 17),
            until: None,
        },
        Window {
            since: None,
            until: at(3_600 * 30 - 600),
        },
        Window {
            since: at(600),
            until: at(1_200),
        },
        Window {
            since: at(86_400 - 1_234),
            until: at(2 * 86_400 + 4_321),
        },
    ];
    let filter = |sensor: Option<&str>, country: Option<&str>| Filter {
        sensor: sensor.map(str::to_string),
        country: country.map(str::to_string),
        ..Filter::default()
    };
    let network = |asn: u32, user: Option<&str>| Filter {
        asn: Some(asn),
        user: user.map(str::to_string),
        ..Filter::default()
    };
    let user = |name: &str, country: Option<&str>| Filter {
        user: Some(name.to_string()),
        ..filter(None, country)
    };
    let filters = [
        filter(Some("s1"), None),
        filter(None, Some("GB")),
        filter(None, Some("cn")),
        filter(Some("s2"), Some("BR")),
        network(64_501, None),
        network(64_502, Some("root")),
        user("admin", None),
        user("ubuntu", Some("CN")),
        Filter {
            sensor: Some("s1".into()),
            country: Some("GB".into()),
            asn: Some(64_500),
            user: Some("test".into()),
        },
        // Nothing matches these.
        filter(Some("nobody"), None),
        filter(None, Some("ZZ")),
        filter(Some("s0"), Some("ZZ")),
        network(1, None),
        user("Root", None),
    ];
    let nothing = filters.len() - 5;
    for (i, filter) in filters.iter().enumerate() {
        let through: Vec<NewEvent> = events
            .iter()
            .filter(|n| passes(n, filter))
            .cloned()
            .collect();
        assert_eq!(through.is_empty(), i >= nothing, "{filter:?}");
        for window in &windows {
            let context = format!("{:?}, {filter:?}, {window:?}", db.backend());
            let (_, want) = expected_stats(&through, window);
            let mut got = store.stats(window, filter).await.expect("stats");
            for list in [
                &mut got.top_countries,
                &mut got.top_asns,
                &mut got.top_users,
                &mut got.top_ips,
                &mut got.top_sensors,
            ] {
                *list = by_key(std::mem::take(list), &context);
            }
            assert_eq!(got, want, "{context}");

            let markers = store.markers(window, filter).await.expect("markers");
            let want = expected_markers(&through, window);
            let mut ips = Vec::new();
            for m in &markers.markers {
                let place = places.get(&m.ip).expect("a located address");
                assert_eq!(
                    (&m.country_code, m.lat, m.lon, &m.sensor, m.starred),
                    (
                        &place.country_code,
                        place.lat,
                        place.lon,
                        &place.sensor,
                        place.starred
                    ),
                    "{context}"
                );
                let counts = [m.events, m.failures, m.successes, m.probes];
                assert_eq!(want.get(&m.ip), Some(&(counts, m.last_seen)), "{context}");
                ips.push(m.ip.clone());
            }
            for u in &markers.unlocated {
                assert!(!places.contains_key(&u.ip), "{context}");
                let events = want.get(&u.ip).map(|(counts, last)| (counts[0], *last));
                assert_eq!(events, Some((u.events, u.last_seen)), "{context}");
                ips.push(u.ip.clone());
            }
            ips.sort();
            assert_eq!(
                ips,
                want.into_keys().collect::<Vec<_>>(),
                "markers, {context}"
            );
        }
    }
    // A filter that matches nothing gives zeros and empty lists.
    for filter in &filters[nothing..] {
        let stats = store
            .stats(&Window::default(), filter)
            .await
            .expect("stats");
        assert_eq!(
            (
                stats.events,
                stats.unique_ips,
                stats.countries,
                stats.last_event
            ),
            (0, 0, 0, None),
            "{filter:?}"
        );
        assert!(
            stats.top_ips.is_empty() && stats.series.is_empty(),
            "{filter:?}"
        );
        assert_eq!(
            store
                .markers(&Window::default(), filter)
                .await
                .expect("markers"),
            crate::Markers::default(),
            "{filter:?}"
        );
    }
}

async fn aggregates_are_rebuilt_for_a_database_from_before_them(db: TestDb) {
    let store = db.open().await;
    let batch: Vec<NewEvent> = (0..40u64)
        .map(|i| {
            let ts = format!("2026-11-21T{:02}:{:02}:00Z", i % 24, i);
            let ip = format!("198.51.100.{}", i % 7);
            let user = ["root", "admin"][i as usize % 2];
            new(i, event(&ts, Kind::Failed, &ip, Some(user)), place_of(&ip))
        })
        .collect();
    store.ingest(&batch).await.expect("ingest");
    let window = Window {
        since: Some("2026-11-21T03:00:00Z".parse().expect("time")),
        until: Some("2026-11-21T20:00:00Z".parse().expect("time")),
    };
    let before = store
        .stats(&window, &Filter::default())
        .await
        .expect("stats");
    let markers_before = store
        .markers(&window, &Filter::default())
        .await
        .expect("markers");
    let all_before = store
        .stats(&Window::default(), &Filter::default())
        .await
        .expect("stats");
    // A database written before the aggregates existed: events, no rollups.
    for table in [
        "rollup_hour",
        "rollup_country_hour",
        "rollup_user_hour",
        "rollup_asn_hour",
        "rollup_ip_hour",
        "total_countries",
        "total_users",
        "total_asns",
    ] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(store.pool())
            .await
            .expect("empty the aggregates");
    }
    assert_ne!(
        store
            .stats(&window, &Filter::default())
            .await
            .expect("stats")
            .events,
        before.events
    );
    drop(store);
    let store = db.open().await;
    assert_eq!(
        store
            .stats(&window, &Filter::default())
            .await
            .expect("stats"),
        before
    );
    assert_eq!(
        store
            .stats(&Window::default(), &Filter::default())
            .await
            .expect("stats"),
        all_before
    );
    assert_eq!(
        store
            .markers(&window, &Filter::default())
            .await
            .expect("markers"),
        markers_before
    );
}

async fn retention_prunes_raw_events_and_keeps_the_aggregates(db: TestDb) {
    let store = db.open().await;
    // Two days of events, one per hour.
    let batch: Vec<NewEvent> = (0..48u64)
        .map(|i| {
            let ts = Timestamp::from_second(1_795_000_000 / 3600 * 3600 + i as i64 * 3600 + 60)
                .expect("time")
                .to_string();
            let ip = format!("198.51.100.{}", i % 5);
            new(
                i,
                event(&ts, Kind::Failed, &ip, Some("root")),
                place_of(&ip),
            )
        })
        .collect();
    store.ingest(&batch).await.expect("ingest");
    store.set_starred("198.51.100.1", true).await.expect("star");
    let all = Window::default();
    let before = store.stats(&all, &Filter::default()).await.expect("stats");
    let cut = batch[24].event.ts;

    let pruned = store.prune(Some(cut), None).await.expect("prune events");
    assert_eq!(pruned.events, 24);
    assert_eq!(pruned.rollup_rows, 0);
    let recent = store.recent(&all, 100).await.expect("recent");
    assert_eq!(recent.len(), 24, "raw events before the cut are gone");
    assert!(recent.iter().all(|e| e.event.ts >= cut));
    // Statistics and the map come from the aggregates and per-address rows: unchanged.
    assert_eq!(
        store.stats(&all, &Filter::default()).await.expect("stats"),
        before
    );
    let first_day = Window {
        since: Some(batch[0].event.ts - jiff::SignedDuration::from_secs(60)),
        until: Some(cut - jiff::SignedDuration::from_secs(60)),
    };
    assert_eq!(
        store
            .stats(&first_day, &Filter::default())
            .await
            .expect("stats")
            .events,
        24,
        "whole pruned hours are still counted"
    );
    let detail = store
        .ip_detail("198.51.100.1", 10)
        .await
        .expect("detail")
        .expect("seen");
    assert!(detail.starred && detail.events > 0);
    assert_eq!(
        store.prune(Some(cut), None).await.expect("again").events,
        0,
        "pruning twice deletes nothing more"
    );

    let pruned = store.prune(None, Some(cut)).await.expect("prune rollups");
    assert!(pruned.rollup_rows >= 24, "{pruned:?}");
    let after = store.stats(&all, &Filter::default()).await.expect("stats");
    assert_eq!(
        after.events, 24,
        "only the kept hours remain in the statistics"
    );
    let markers = store
        .markers(&all, &Filter::default())
        .await
        .expect("markers");
    assert_eq!(
        markers.markers.len() + markers.unlocated.len(),
        5,
        "per-address rows stay"
    );
}

/// A database written by a knockmap from before the rollups and the `user_name` column is
/// upgraded when opened, with its events counted in the new aggregates.
#[tokio::test]
async fn an_older_sqlite_database_is_upgraded_in_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let old = dir.path().join("migrations");
    std::fs::create_dir(&old).expect("dir");
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    for name in ["0001_init.sql", "0002_sensors.sql", "0003_sensor_spool.sql"] {
        std::fs::copy(source.join(name), old.join(name)).expect("copy an old migration");
    }
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("k.sqlite").display()
    );
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.expect("connect");
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .expect("old migrations")
        .run(&pool)
        .await
        .expect("old schema");
    for (i, user) in ["root", "admin", "root"].iter().enumerate() {
        sqlx::query(
            "INSERT INTO events (id, ts, sensor, kind, ip, user, count)
             VALUES (?, ?, 'old', 'failed', '81.2.69.142', ?, 1)",
        )
        .bind(vec![i as u8; 16])
        .bind(1_795_000_000_000_000i64 + i as i64 * 1_000_000)
        .bind(*user)
        .execute(&pool)
        .await
        .expect("an old event");
    }
    sqlx::query(
        "INSERT INTO ips (ip, first_seen, last_seen, events, attempts, failures, country_code,
                          country, lat, lon)
         VALUES ('81.2.69.142', 1795000000000000, 1795000002000000, 3, 3, 3, 'GB',
                 'United Kingdom', 51.5, -0.1)",
    )
    .execute(&pool)
    .await
    .expect("an old address row");
    pool.close().await;

    let store = SqlStore::open(&url).await.expect("upgrade");
    let stats = store
        .stats(&Window::default(), &Filter::default())
        .await
        .expect("stats");
    assert_eq!((stats.events, stats.attempts, stats.unique_ips), (3, 3, 1));
    assert_eq!(stats.top_users[0].key, "root");
    assert_eq!(stats.top_users[0].count, 2);
    assert_eq!(stats.top_countries[0].key, "GB");
    let recent = store.recent(&Window::default(), 10).await.expect("recent");
    assert_eq!(
        recent[0].event.user.as_deref(),
        Some("root"),
        "the renamed column"
    );
    let window = Window {
        since: Some(Timestamp::from_second(1_795_000_000 / 3600 * 3600).expect("time")),
        until: Some(Timestamp::from_second(1_795_000_000 / 3600 * 3600 + 3600).expect("time")),
    };
    assert_eq!(
        store
            .stats(&window, &Filter::default())
            .await
            .expect("stats")
            .events,
        3,
        "in the hourly rollups"
    );
}
