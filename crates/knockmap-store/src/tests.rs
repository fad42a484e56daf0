//! Store behaviour, against an in-memory SQLite database.

use std::net::IpAddr;

use jiff::Timestamp;
use knockmap_geo::GeoInfo;
use knockmap_parse::{Event, Kind};

use crate::{EventId, NewEvent, SqliteStore, Store, Window};

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

async fn store() -> SqliteStore {
    SqliteStore::open("sqlite::memory:")
        .await
        .expect("open in-memory store")
}

#[tokio::test]
async fn the_same_line_is_stored_once_but_same_second_attempts_all_count() {
    let store = store().await;
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
    let stats = store.stats(&Window::default()).await.expect("stats");
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

#[tokio::test]
async fn statistics_weigh_counts_and_split_outcomes() {
    let store = store().await;
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
    let stats = store.stats(&Window::default()).await.expect("stats");
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

    let markers = store.markers(&Window::default()).await.expect("markers");
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
    let stats = store.stats(&window).await.expect("windowed stats");
    assert_eq!((stats.events, stats.attempts), (3, 1));
    let markers = store.markers(&window).await.expect("windowed markers");
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

#[tokio::test]
async fn an_address_page_has_everything_known() {
    let store = store().await;
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

#[tokio::test]
async fn a_file_database_survives_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("k.sqlite").display());
    let store = SqliteStore::open(&url).await.expect("create");
    store
        .ingest(&[new(
            0,
            event("2026-11-21T10:00:00Z", Kind::Failed, "81.2.69.142", None),
            london(),
        )])
        .await
        .expect("ingest");
    drop(store);
    let store = SqliteStore::open(&url).await.expect("reopen");
    assert_eq!(
        store.stats(&Window::default()).await.expect("stats").events,
        1
    );
}

#[tokio::test]
async fn sensors_are_created_found_by_token_touched_and_revoked() {
    let store = store().await;
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

#[tokio::test]
async fn sensors_survive_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("k.sqlite").display());
    let store = SqliteStore::open(&url).await.expect("create");
    store
        .create_sensor("edge-1", None, &[7u8; 32])
        .await
        .expect("create sensor");
    drop(store);
    let store = SqliteStore::open(&url).await.expect("reopen");
    assert_eq!(store.list_sensors().await.expect("list").len(), 1);
}
