//! The in-memory summary answers exactly as the SQL statements do, stays current through this
//! process's writes, and notices another process's.

use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::support::{Rng, TestDb, conformance};
use super::{by_key, expected_stats, run, scattered_events};
use crate::{Filter, MarkerColumns, Markers, NewEvent, SqlStore, Stats, Store, TopEntry, Window};

conformance!(
    the_summary_answers_as_the_database_does,
    the_summary_notices_another_writer,
);

const START: i64 = 1_795_000_000;

/// Windows of every shape over the three days: open ends, whole hours, partial hours, less
/// than an hour, empty.
fn windows(rng: &mut Rng) -> Vec<Window> {
    let at = |s: i64| Some(Timestamp::from_second(START + s).expect("time"));
    let mut windows = vec![
        Window::default(),
        Window {
            since: at(5 * 3_600 + 17),
            until: None,
        },
        Window {
            since: None,
            until: at(30 * 3_600 - 1),
        },
        Window {
            since: at(600),
            until: at(1_900),
        },
        Window {
            since: at(-86_400),
            until: at(-3_600),
        },
    ];
    for _ in 0..10 {
        let a = rng.below(3 * 86_400) as i64 - 3_600;
        let b = a + rng.below(2 * 86_400) as i64;
        windows.push(Window {
            since: at(a),
            until: at(b),
        });
    }
    windows
}

/// Each of the five top lists of `stats` replaced by `order(list)`.
fn with_top_lists(mut stats: Stats, order: impl Fn(Vec<TopEntry>) -> Vec<TopEntry>) -> Stats {
    for list in [
        &mut stats.top_countries,
        &mut stats.top_asns,
        &mut stats.top_users,
        &mut stats.top_ips,
        &mut stats.top_sensors,
    ] {
        *list = order(std::mem::take(list));
    }
    stats
}

/// Top lists in key order, as [`by_key`] makes them (ties follow each database's collation).
fn comparable(stats: Stats, context: &str) -> Stats {
    with_top_lists(stats, |list| by_key(list, context))
}

/// The expected statistics (whose top lists hold every key) in key order.
fn in_key_order(stats: Stats) -> Stats {
    with_top_lists(stats, |mut list| {
        list.sort_by(|a, b| a.key.cmp(&b.key));
        list
    })
}

/// Checks that the summary answers every window, the same as the SQL statements and, unless
/// some were pruned, as the events themselves say.
async fn agree(
    store: &SqlStore,
    all_events: Option<&[NewEvent]>,
    windows: &[Window],
    context: &str,
) {
    for window in windows {
        let context = format!("{context}, {window:?}");
        let (stats, markers, columns) = store
            .summary_answers(window)
            .await
            .expect("summary query")
            .unwrap_or_else(|| panic!("the summary did not answer, {context}"));
        let none = Filter::default();
        let sql = store.stats_from_sql(window, &none).await.expect("stats");
        let stats = comparable(stats, &context);
        assert_eq!(stats, comparable(sql, &context), "stats, {context}");
        if let Some(events) = all_events {
            let (_, want) = expected_stats(events, window);
            assert_eq!(
                stats,
                in_key_order(want),
                "stats against the events, {context}"
            );
        }
        let sql: Markers = store
            .markers_from_sql(window, &none)
            .await
            .expect("markers");
        assert_eq!(markers, sql, "markers, {context}");
        assert_eq!(
            columns,
            MarkerColumns::from(&sql),
            "marker columns, {context}"
        );
    }
}

async fn the_summary_answers_as_the_database_does(db: TestDb) {
    let store = db.open().await;
    let mut rng = Rng(11);
    let windows = windows(&mut rng);
    let mut stored = scattered_events(&mut rng, START, 0..300);
    for batch in stored.chunks(71) {
        store.ingest(batch).await.expect("ingest");
    }
    assert!(
        store
            .summary_answers(&Window::default())
            .await
            .expect("query")
            .is_none(),
        "no summary before it is loaded"
    );
    store.load_summary().await.expect("load the summary");
    agree(&store, Some(&stored), &windows, "loaded").await;

    // Written after loading: applied to the summary as they commit, duplicates included.
    let more = scattered_events(&mut rng, START, 300..600);
    for batch in more.chunks(53) {
        store.ingest(batch).await.expect("ingest");
    }
    store.ingest(&more[..40]).await.expect("ingest again");
    stored.extend(more);
    assert!(store.set_starred("198.51.100.2", true).await.expect("star"));
    agree(&store, Some(&stored), &windows, "kept current").await;
    let markers = store
        .markers(&Window::default(), &Filter::default())
        .await
        .expect("markers");
    let starred: Vec<&str> = markers
        .markers
        .iter()
        .filter(|m| m.starred)
        .map(|m| m.ip.as_str())
        .collect();
    assert_eq!(starred, ["198.51.100.2"]);

    // A second load (a restart) gives the same summary as the one kept current.
    let reopened = db.open().await;
    reopened.load_summary().await.expect("load again");
    agree(&reopened, Some(&stored), &windows, "reloaded").await;

    // Pruning: raw events of the first day and hours of the first half day are gone in the
    // tables and in the summary alike.
    let cut = |s: i64| Some(Timestamp::from_second(START + s).expect("time"));
    store
        .prune(cut(86_400 + 1_234), cut(12 * 3_600))
        .await
        .expect("prune");
    agree(&store, None, &windows, "after pruning").await;
}

async fn the_summary_notices_another_writer(db: TestDb) {
    let server = db.open().await;
    let mut rng = Rng(12);
    let mut stored = scattered_events(&mut rng, START, 0..200);
    server.ingest(&stored).await.expect("ingest");
    server.load_summary().await.expect("load the summary");

    // Another process (an import) writes to the same database.
    let importer = db.open().await;
    let more = scattered_events(&mut rng, START, 200..350);
    importer.ingest(&more).await.expect("import");
    stored.extend(more);

    // Right away the server answers from the database, so nothing is missing...
    let window = Window::default();
    let none = Filter::default();
    let (_, want) = expected_stats(&stored, &window);
    let context = format!("{:?}", db.backend());
    let got = server.stats(&window, &none).await.expect("stats");
    let want = in_key_order(want);
    assert_eq!(comparable(got, &context), want);
    // ...and soon its summary is loaded again and answers by itself.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        server.stats(&window, &none).await.expect("stats");
        if let Some((stats, ..)) = server.summary_answers(&window).await.expect("query") {
            assert_eq!(comparable(stats, &context), want, "reloaded summary");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the summary was not reloaded, {context}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
