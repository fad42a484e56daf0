use std::sync::atomic::AtomicUsize;

use super::*;
use crate::test_http::{read_head, respond};

/// A plain HTTP server on 127.0.0.1 that refuses the first request with 400 and takes every
/// later one; it counts the requests and stops with the test's runtime.
async fn refuses_the_first_batch(requests: Arc<AtomicUsize>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let requests = requests.clone();
            tokio::spawn(async move {
                if !read_head(&mut stream).await {
                    return;
                }
                let (status, body) = match requests.fetch_add(1, Ordering::SeqCst) {
                    0 => ("400 Bad Request", r#"{"error":"line 1: unknown kind"}"#),
                    _ => ("200 OK", r#"{"accepted":1,"duplicates":0}"#),
                };
                respond(&mut stream, status, body).await;
            });
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_spooled_batch_is_set_aside_and_the_next_is_delivered() {
    let requests = Arc::new(AtomicUsize::new(0));
    let address = refuses_the_first_batch(requests.clone()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spool = Spool::open(dir.path(), 1 << 20).expect("spool");
    for n in 1..=2u8 {
        let body = crate::batch::gzip(format!("{{\"n\":{n}}}\n").as_bytes()).expect("gzip");
        spool.push(&body, 1).expect("push");
    }
    let health = Arc::new(Health::default());
    let shipper =
        Shipper::new(&format!("http://{address}"), "t", None, health.clone()).expect("shipper");
    let outbox = Arc::new(Outbox::new(
        shipper,
        spool,
        health,
        Duration::from_millis(200),
    ));
    let drainer = {
        let outbox = outbox.clone();
        tokio::task::spawn_blocking(move || outbox.drain())
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !outbox.spool().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    outbox.stop.store(true, Ordering::Relaxed);
    assert_eq!(drainer.await.expect("join"), Ok(()), "not a fatal refusal");

    assert!(
        outbox.spool().is_empty(),
        "the refused batch holds up nothing"
    );
    assert_eq!(requests.load(Ordering::SeqCst), 2, "each batch sent once");
    let rejected = dir.path().join("rejected");
    let reason = std::fs::read_to_string(rejected.join("00000000000000000000.reason"))
        .expect("the reason is kept");
    assert!(
        reason.contains("400") && reason.contains("unknown kind"),
        "{reason}"
    );
    assert!(rejected.join("00000000000000000000.batch").is_file());
    assert_eq!(outbox.spool().stats().rejected_batches, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_live_batch_is_set_aside_without_being_sent_again() {
    let requests = Arc::new(AtomicUsize::new(0));
    let address = refuses_the_first_batch(requests.clone()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let spool = Spool::open(dir.path(), 1 << 20).expect("spool");
    let health = Arc::new(Health::default());
    let shipper =
        Shipper::new(&format!("http://{address}"), "t", None, health.clone()).expect("shipper");
    let outbox = Arc::new(Outbox::new(
        shipper,
        spool,
        health,
        Duration::from_millis(200),
    ));
    let handed = {
        let outbox = outbox.clone();
        tokio::task::spawn_blocking(move || {
            let body = |n: u8| crate::batch::gzip(format!("{{\"n\":{n}}}\n").as_bytes());
            let first = outbox.hand_over(&body(1).expect("gzip"), 1, false);
            let second = outbox.hand_over(&body(2).expect("gzip"), 1, false);
            (first, second)
        })
        .await
        .expect("join")
    };
    assert_eq!(handed, (Ok(Handed::Kept), Ok(Handed::Kept)));
    assert_eq!(requests.load(Ordering::SeqCst), 2, "each batch sent once");
    assert!(outbox.spool().is_empty(), "nothing left to resend");
    let rejected = dir.path().join("rejected");
    assert!(rejected.join("00000000000000000000.batch").is_file());
    assert!(rejected.join("00000000000000000000.reason").is_file());
    assert_eq!(outbox.spool().stats().rejected_batches, 1);
}
