//! A minimal HTTP/1.1 answerer for the tests' fake servers, over plain TCP or TLS.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Reads a request up to the end of its head; `false` if the connection ended first. The
/// fake servers answer from the head alone.
pub(crate) async fn read_head(stream: &mut (impl AsyncRead + Unpin)) -> bool {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    true
}

/// Answers `status` (`"200 OK"`) with a JSON `body` and closes the connection.
pub(crate) async fn respond(stream: &mut (impl AsyncWrite + Unpin), status: &str, body: &str) {
    let answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}
