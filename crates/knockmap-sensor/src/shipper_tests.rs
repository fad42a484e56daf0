use std::sync::Arc;

use crate::test_http::{read_head, respond};
use tokio_rustls::rustls;

use super::*;

fn shipper(server: &str, token: &str) -> Result<Shipper, SensorError> {
    Shipper::new(server, token, None, Arc::default())
}

#[test]
fn backoff_grows_with_jitter_up_to_the_cap() {
    let max = Duration::from_secs(30);
    for attempt in 0..100 {
        let d = backoff(attempt, max);
        let full = FIRST_BACKOFF.saturating_mul(1 << attempt.min(16)).min(max);
        assert!(d >= full / 2 && d <= full, "{attempt}: {d:?}");
    }
    assert!(backoff(40, max) <= max && backoff(40, max) >= max / 2);
    assert!(backoff(40, Duration::from_secs(2)) <= Duration::from_secs(2));
}

#[test]
fn server_urls_and_tokens_are_checked() {
    assert!(shipper("http://127.0.0.1:5000/", "t").is_ok());
    assert_eq!(
        shipper("https://k.example.org/base", "t")
            .map(|s| s.endpoint().to_string())
            .ok()
            .as_deref(),
        Some("https://k.example.org/base/api/v1/ingest")
    );
    assert!(shipper("ftp://x", "t").is_err());
    assert!(shipper("k.example.org", "t").is_err());
    assert!(shipper("http://x", "  ").is_err());
}

#[test]
fn answers_are_sorted_into_delivered_retry_and_give_up() {
    assert_eq!(classify(StatusCode::OK, "{}"), Ok(()));
    for status in [503, 500, 429, 408] {
        let status = StatusCode::from_u16(status).expect("status");
        assert!(
            matches!(classify(status, ""), Err(PostError::Retryable(_))),
            "{status}"
        );
    }
    for status in [400, 413, 415, 422] {
        let status = StatusCode::from_u16(status).expect("status");
        assert!(
            matches!(classify(status, ""), Err(PostError::Rejected(_))),
            "{status}"
        );
    }
    for status in [401, 403, 404, 405] {
        let status = StatusCode::from_u16(status).expect("status");
        assert!(
            matches!(classify(status, ""), Err(PostError::Fatal(_))),
            "{status}"
        );
    }
    let Err(PostError::Fatal(message)) = classify(StatusCode::UNAUTHORIZED, "{}") else {
        panic!("401 is fatal");
    };
    assert!(message.contains("token"), "{message}");
}

#[test]
fn error_messages_are_extracted_and_made_printable() {
    assert_eq!(error_message(r#"{"error":"bad\u001b[31m"}"#), "bad[31m");
    assert_eq!(error_message("plain"), "plain");
}

#[test]
fn a_ca_file_that_is_missing_or_not_a_certificate_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let with_ca = |path: &Path| {
        Shipper::new("https://127.0.0.1:1", "t", Some(path), Arc::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let missing = dir.path().join("missing.pem");
    let message = with_ca(&missing);
    assert!(
        message.contains("missing.pem") && message.contains("cannot read"),
        "{message}"
    );

    let text = dir.path().join("text.pem");
    std::fs::write(&text, "not a certificate\n").expect("write");
    let message = with_ca(&text);
    assert!(message.contains("no certificate"), "{message}");

    let garbage = dir.path().join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    let message = with_ca(&garbage);
    assert!(
        message.contains("garbage.pem") && message.contains("not a usable CA certificate"),
        "{message}"
    );
}

/// A test CA and a certificate it issued for 127.0.0.1: `(CA PEM, server config)`.
fn test_pki() -> (String, rustls::ServerConfig) {
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "knockmap test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA certificate");

    let server_key = rcgen::KeyPair::generate().expect("server key");
    let server_cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("server params")
        .signed_by(&server_key, &ca)
        .expect("server certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(vec![server_cert.der().clone()], key)
    .expect("server config");
    (ca.pem(), config)
}

/// An HTTPS server on 127.0.0.1 answering every request with 200 and an ingest answer; it
/// stops with the test's runtime.
async fn https_server(config: rustls::ServerConfig) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                // The request's head is enough: the answer does not depend on the body.
                if read_head(&mut tls).await {
                    respond(&mut tls, "200 OK", r#"{"accepted":0,"duplicates":0}"#).await;
                }
            });
        }
    });
    address
}

#[tokio::test]
async fn https_is_trusted_with_the_ca_file_and_refused_without_it() {
    let (ca_pem, config) = test_pki();
    let address = https_server(config).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).expect("write CA");
    let server = format!("https://{address}");
    let empty = crate::batch::gzip(b"").expect("gzip");

    let trusting = Shipper::new(&server, "t", Some(&ca_file), Arc::default()).expect("shipper");
    let answer = trusting
        .post(&empty, None)
        .await
        .expect("delivered over HTTPS");
    assert!(answer.contains("accepted"), "{answer}");

    let untrusting = shipper(&server, "t").expect("shipper");
    match untrusting.post(&empty, None).await {
        Err(PostError::Retryable(message)) => assert!(
            message.to_lowercase().contains("certificate"),
            "the error names the certificate problem: {message}"
        ),
        other => panic!("an unknown CA must be refused: {other:?}"),
    }
}
