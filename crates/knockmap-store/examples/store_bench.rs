//! Store benchmark: ingest throughput against a raw-insert baseline, and query latency.
//!
//! ```text
//! cargo build --release --locked -p knockmap-store --example store_bench
//! target/release/examples/store_bench ingest --events 1000000 --seed 1
//! target/release/examples/store_bench query --events 10000000 --repeats 50 --cache-dir target/bench
//! ```
//!
//! `bench/store.py` drives it and prints the tables of BENCHMARKS.md.
//!
//! **ingest**: for each backend, a fresh database (SQLite: a file in a temporary directory;
//! PostgreSQL and MariaDB/MySQL: `knockmap_bench_<pid>` on the server, dropped afterwards)
//! receives the same generated events twice, side by side:
//!
//! 1. through [`Store::ingest`] in batches of `--batch` events (1,000: what a sensor sends);
//! 2. as the raw baseline: the same rows inserted into `bench_baseline`, a table with the
//!    columns of knockmap's `events` table and nothing but a primary key on `id`, by one
//!    prepared single-row `INSERT` per event in one transaction, on one connection of the
//!    backend's native sqlx driver.
//!
//! Only the database work is timed: each batch is generated before its clock starts, for both.
//! One JSON line per backend goes to stdout; progress goes to stderr.
//!
//! **query**: an SQLite database with `--events` events spread over the 90 days before its
//! creation (filled through [`Store::ingest`], cached in `--cache-dir` by event count, seed,
//! generator version and schema) or the database at `--db-url` (filled when it holds no events)
//! answers `stats` and `markers` for the last 24 hours, the last 30 days and all time, measured
//! `--repeats` times each after a first call timed apart, with the store's in-memory summary
//! loaded (as a server runs); then `--sql-repeats` times each by the SQL statements alone (a
//! store without the summary), side by side. The windows end at the newest stored event. One
//! JSON object goes to stdout.
//!
//! The workload is a pure function of the seed and the event's index: about 100,000 IPv4
//! addresses drawn with a Zipf-like skew, a few sensors, mostly failed logins and invalid users
//! with some probes, disconnects and accepted logins, ~2,000 user names (also skewed), and a
//! location derived from each address (none for about 5 % of them).

use std::collections::HashSet;
use std::error::Error;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use knockmap_geo::GeoInfo;
use knockmap_parse::{Event, Kind};
use knockmap_store::scratch::{DEFAULT_MYSQL, DEFAULT_POSTGRES, ScratchDb};
use knockmap_store::{Backend, EventId, Filter, NewEvent, SqlStore, Store, Window};
use serde_json::json;
use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Database, Encode, Executor, FromRow, IntoArguments, Type};

type BoxResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

const USAGE: &str = "usage:
  store_bench ingest [--events N] [--seed S] [--batch B] [--backends sqlite,postgres,mysql]
                     [--postgres-url URL] [--mysql-url URL]
  store_bench query  [--events N] [--seed S] [--batch B] [--repeats R] [--sql-repeats R]
                     [--cache-dir DIR] [--db-url URL] [--rebuild]

ingest defaults: 1000000 events, batches of 1000. query defaults: 10000000 events, batches of
10000 while generating, 50 repeats, the cached SQLite database in the system's temporary
directory (--db-url: a PostgreSQL or MySQL database instead, filled if it holds no events).

Server URLs default to $KNOCKMAP_TEST_POSTGRES_URL / $KNOCKMAP_TEST_MYSQL_URL, else
postgres://postgres@127.0.0.1:5432/test and mysql://root@127.0.0.1:3306/test; the user must
be allowed to create databases.";

/// Bumped whenever [`Workload`] changes what it generates, so cached databases are rebuilt.
const GENERATOR_VERSION: u32 = 1;

const MICROS_PER_HOUR: i64 = 3_600_000_000;
const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

#[tokio::main]
async fn main() {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("store_bench: {message}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let result = match args.mode {
        Mode::Ingest => ingest_mode(&args).await,
        Mode::Query => query_mode(&args).await,
    };
    if let Err(e) = result {
        eprintln!("store_bench: {e}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------------
// Command line

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ingest,
    Query,
}

/// The command line, with defaults per mode.
#[derive(Debug)]
struct Args {
    mode: Mode,
    events: u64,
    seed: u64,
    batch: usize,
    repeats: usize,
    sql_repeats: usize,
    backends: Vec<Backend>,
    postgres_url: String,
    mysql_url: String,
    cache_dir: PathBuf,
    db_url: Option<String>,
    rebuild: bool,
}

impl Args {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
        let mode = match args.next().as_deref() {
            Some("ingest") => Mode::Ingest,
            Some("query") => Mode::Query,
            Some(other) => return Err(format!("unknown mode {other:?}")),
            None => return Err("a mode is required".into()),
        };
        let env = |name: &str, default: &str| std::env::var(name).unwrap_or(default.into());
        let mut parsed = Args {
            mode,
            events: if mode == Mode::Ingest {
                1_000_000
            } else {
                10_000_000
            },
            seed: 1,
            batch: if mode == Mode::Ingest { 1_000 } else { 10_000 },
            repeats: 50,
            sql_repeats: 3,
            backends: vec![Backend::Sqlite, Backend::Postgres, Backend::MySql],
            postgres_url: env("KNOCKMAP_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
            mysql_url: env("KNOCKMAP_TEST_MYSQL_URL", DEFAULT_MYSQL),
            cache_dir: std::env::temp_dir(),
            db_url: None,
            rebuild: false,
        };
        while let Some(flag) = args.next() {
            if flag == "--rebuild" {
                parsed.rebuild = true;
                continue;
            }
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || {
                value
                    .replace('_', "")
                    .parse::<u64>()
                    .map_err(|_| format!("{flag} needs a number, got {value:?}"))
            };
            match flag.as_str() {
                "--events" => parsed.events = number()?,
                "--seed" => parsed.seed = number()?,
                "--batch" => parsed.batch = usize::try_from(number()?.max(1)).unwrap_or(1),
                "--repeats" => parsed.repeats = usize::try_from(number()?.max(1)).unwrap_or(1),
                "--sql-repeats" => parsed.sql_repeats = usize::try_from(number()?).unwrap_or(0),
                "--backends" => {
                    parsed.backends = value
                        .split(',')
                        .map(|name| match name {
                            "sqlite" => Ok(Backend::Sqlite),
                            "postgres" => Ok(Backend::Postgres),
                            "mysql" => Ok(Backend::MySql),
                            other => Err(format!("unknown backend {other:?}")),
                        })
                        .collect::<Result<_, _>>()?;
                }
                "--postgres-url" => parsed.postgres_url = value,
                "--mysql-url" => parsed.mysql_url = value,
                "--cache-dir" => parsed.cache_dir = PathBuf::from(value),
                "--db-url" => parsed.db_url = Some(value),
                _ => return Err(format!("unknown option {flag:?}")),
            }
        }
        if parsed.events == 0 {
            return Err("--events must be at least 1".into());
        }
        Ok(parsed)
    }
}

/// The short name of a backend, as the command line and the JSON spell it.
fn short_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
        Backend::MySql => "mysql",
    }
}

// ---------------------------------------------------------------------------------------------
// The workload

/// SplitMix64: small, fast, and the same sequence everywhere.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One of `items`, each chosen in proportion to its `weight`.
    fn weighted<'t, T>(&mut self, items: &'t [T], weight: impl Fn(&T) -> u32) -> &'t T {
        let total: u64 = items.iter().map(|item| u64::from(weight(item))).sum();
        let mut point = self.below(total);
        for item in items {
            let w = u64::from(weight(item));
            if point < w {
                return item;
            }
            point -= w;
        }
        &items[items.len() - 1]
    }

    /// One of `items`, uniformly.
    fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// SplitMix64's finaliser: a bijective scramble of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A Zipf-like distribution over ranks `0..n`: rank r is drawn in proportion to
/// `1 / (r + 1)^s`.
#[derive(Debug)]
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut total = 0.0;
        for rank in 0..n {
            total += 1.0 / ((rank + 1) as f64).powf(s);
            cdf.push(total);
        }
        for c in &mut cdf {
            *c /= total;
        }
        Zipf { cdf }
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cdf
            .partition_point(|&c| c <= u)
            .min(self.cdf.len() - 1)
    }
}

/// How many distinct attacker addresses there are, and how skewed their use is.
const ADDRESSES: usize = 100_000;
const ADDRESS_SKEW: f64 = 0.9;
/// How many distinct user names there are, and how skewed their use is.
const USER_NAMES: usize = 2_000;
const USER_SKEW: f64 = 1.1;
/// Addresses (in hundredths) without any location.
const UNLOCATED_PERCENT: u64 = 5;

/// Sensors and how many events (relative) each sees.
const SENSORS: &[(&str, u32)] = &[
    ("web-01", 35),
    ("web-02", 25),
    ("bastion", 20),
    ("db-1", 12),
    ("edge-sgp", 8),
];

/// Kinds and how often (per mille) they occur.
const KINDS: &[(Kind, u32)] = &[
    (Kind::Failed, 430),
    (Kind::InvalidUser, 300),
    (Kind::PamFailure, 50),
    (Kind::MaxAttempts, 20),
    (Kind::Disconnect, 90),
    (Kind::Probe, 80),
    (Kind::Penalty, 10),
    (Kind::Accepted, 20),
];

/// User names that log in successfully.
const LEGITIMATE_USERS: &[&str] = &["deploy", "git", "admin", "ubuntu", "backup"];

/// The most tried user names, most tried first (whitespace-separated); [`user_names`] extends
/// them to [`USER_NAMES`].
const COMMON_USERS: &str = "
    root admin user test ubuntu oracle postgres guest pi git ftpuser support deploy dev mysql
    www-data hadoop tomcat jenkins ansible steam ts3 nagios backup vagrant docker elastic
    centos debian ec2-user azureuser minecraft server administrator test1 test2 user1 demo
    operator sysadmin web www ftp mail nginx apache redis zabbix odoo gitlab solana sol
    validator node hduser spark kafka es elasticsearch mongodb mongo db2inst1 sapadm teamspeak
    admin1 administrador usuario prueba student teacher john david michael alex anna maria
    paul peter sam tom bot botuser dspace frappe erp odoo14 vps vpn openvpn monitor info
    office sales manager master cisco ubnt pi-hole satisfactory factorio rust csgo arma
    terraria valheim ark
";

/// Suffixes attackers append to common names (whitespace-separated).
const USER_SUFFIXES: &str =
    "1 2 01 123 2024 2025 _test -dev 01a x 00 99 _adm 3 4 5 6 7 8 9 10 11 12 21 22 88 666 777";

/// [`USER_NAMES`] distinct user names: [`COMMON_USERS`], then the common names with suffixes.
fn user_names() -> Vec<String> {
    let mut names: Vec<String> = COMMON_USERS.split_whitespace().map(String::from).collect();
    let mut seen: HashSet<String> = names.iter().cloned().collect();
    'outer: for suffix in USER_SUFFIXES.split_whitespace() {
        for base in COMMON_USERS.split_whitespace() {
            if names.len() >= USER_NAMES {
                break 'outer;
            }
            let name = format!("{base}{suffix}");
            if seen.insert(name.clone()) {
                names.push(name);
            }
        }
    }
    names
}

/// A place: country code, country name, its cities (name, latitude, longitude) and networks
/// (ASN, organisation), and how many attacking addresses (relative) it has.
struct Country {
    code: &'static str,
    name: &'static str,
    weight: u32,
    cities: &'static [(&'static str, f64, f64)],
    networks: &'static [(u32, &'static str)],
}

const COUNTRIES: &[Country] = &[
    Country {
        code: "CN",
        name: "China",
        weight: 22,
        cities: &[
            ("Beijing", 39.90, 116.41),
            ("Shanghai", 31.23, 121.47),
            ("Shenzhen", 22.54, 114.06),
        ],
        networks: &[
            (4134, "Chinanet"),
            (4837, "CHINA UNICOM China169 Backbone"),
            (45090, "Shenzhen Tencent Computer Systems Company Limited"),
        ],
    },
    Country {
        code: "US",
        name: "United States",
        weight: 16,
        cities: &[
            ("Ashburn", 39.04, -77.49),
            ("Santa Clara", 37.35, -121.96),
            ("New York", 40.71, -74.01),
        ],
        networks: &[
            (14061, "DIGITALOCEAN-ASN"),
            (16509, "AMAZON-02"),
            (396982, "GOOGLE-CLOUD-PLATFORM"),
        ],
    },
    Country {
        code: "IN",
        name: "India",
        weight: 7,
        cities: &[("Mumbai", 19.08, 72.88), ("Bengaluru", 12.97, 77.59)],
        networks: &[
            (9829, "National Internet Backbone"),
            (24560, "Bharti Airtel Ltd."),
        ],
    },
    Country {
        code: "RU",
        name: "Russia",
        weight: 6,
        cities: &[("Moscow", 55.76, 37.62), ("Saint Petersburg", 59.94, 30.31)],
        networks: &[(12389, "Rostelecom"), (49505, "JSC Selectel")],
    },
    Country {
        code: "BR",
        name: "Brazil",
        weight: 6,
        cities: &[
            ("São Paulo", -23.55, -46.63),
            ("Rio de Janeiro", -22.91, -43.17),
        ],
        networks: &[
            (28573, "Claro NXT Telecomunicacoes Ltda"),
            (18881, "TELEFÔNICA BRASIL S.A"),
        ],
    },
    Country {
        code: "DE",
        name: "Germany",
        weight: 5,
        cities: &[
            ("Frankfurt am Main", 50.11, 8.68),
            ("Nuremberg", 49.45, 11.08),
        ],
        networks: &[(24940, "Hetzner Online GmbH"), (51167, "Contabo GmbH")],
    },
    Country {
        code: "NL",
        name: "The Netherlands",
        weight: 5,
        cities: &[("Amsterdam", 52.37, 4.90), ("Naaldwijk", 51.99, 4.21)],
        networks: &[
            (49981, "WorldStream B.V."),
            (60781, "LeaseWeb Netherlands B.V."),
        ],
    },
    Country {
        code: "VN",
        name: "Vietnam",
        weight: 5,
        cities: &[
            ("Hanoi", 21.03, 105.85),
            ("Ho Chi Minh City", 10.82, 106.63),
        ],
        networks: &[(45899, "VNPT Corp"), (7552, "Viettel Group")],
    },
    Country {
        code: "KR",
        name: "South Korea",
        weight: 4,
        cities: &[("Seoul", 37.57, 126.98), ("Busan", 35.18, 129.08)],
        networks: &[(4766, "Korea Telecom"), (9318, "SK Broadband Co Ltd")],
    },
    Country {
        code: "SG",
        name: "Singapore",
        weight: 4,
        cities: &[("Singapore", 1.29, 103.85)],
        networks: &[
            (14061, "DIGITALOCEAN-ASN"),
            (132203, "Tencent Building, Kejizhongyi Avenue"),
        ],
    },
    Country {
        code: "FR",
        name: "France",
        weight: 4,
        cities: &[("Paris", 48.86, 2.35), ("Roubaix", 50.69, 3.17)],
        networks: &[(16276, "OVH SAS"), (12876, "SCALEWAY S.A.S.")],
    },
    Country {
        code: "GB",
        name: "United Kingdom",
        weight: 3,
        cities: &[("London", 51.51, -0.13), ("Manchester", 53.48, -2.24)],
        networks: &[
            (5089, "Virgin Media Limited"),
            (2856, "British Telecommunications PLC"),
        ],
    },
    Country {
        code: "JP",
        name: "Japan",
        weight: 3,
        cities: &[("Tokyo", 35.68, 139.69), ("Osaka", 34.69, 135.50)],
        networks: &[
            (2516, "KDDI CORPORATION"),
            (4713, "NTT Communications Corporation"),
        ],
    },
    Country {
        code: "ID",
        name: "Indonesia",
        weight: 3,
        cities: &[("Jakarta", -6.21, 106.85)],
        networks: &[(7713, "PT Telekomunikasi Indonesia")],
    },
    Country {
        code: "HK",
        name: "Hong Kong",
        weight: 3,
        cities: &[("Hong Kong", 22.32, 114.17)],
        networks: &[
            (4760, "HKT Limited"),
            (9304, "HGC Global Communications Limited"),
        ],
    },
    Country {
        code: "TW",
        name: "Taiwan",
        weight: 2,
        cities: &[("Taipei", 25.03, 121.57)],
        networks: &[(3462, "Data Communication Business Group")],
    },
    Country {
        code: "IR",
        name: "Iran",
        weight: 2,
        cities: &[("Tehran", 35.69, 51.39)],
        networks: &[(58224, "Iran Telecommunication Company PJS")],
    },
];

/// Where `ip` is, derived from the address alone: nothing for about [`UNLOCATED_PERCENT`] %
/// of addresses, a country without a city for about a tenth of the rest.
fn geo_for(ip: Ipv4Addr) -> GeoInfo {
    let h = mix(u64::from(u32::from(ip)) ^ 0x0005_EED0_F6E0);
    if h % 100 < UNLOCATED_PERCENT {
        return GeoInfo::default();
    }
    let mut rng = Rng(h);
    let country = rng.weighted(COUNTRIES, |c| c.weight);
    let &(asn, org) = rng.pick(country.networks);
    let &(city, lat, lon) = rng.pick(country.cities);
    // Within about 0.25 degrees of the city, as geolocation scatters addresses.
    let jitter = |rng: &mut Rng| (rng.unit() - 0.5) / 2.0;
    let with_city = rng.chance(0.9);
    GeoInfo {
        country_code: Some(country.code.into()),
        country: Some(country.name.into()),
        city: with_city.then(|| city.into()),
        lat: Some(lat + jitter(&mut rng)),
        lon: Some(lon + jitter(&mut rng)),
        asn: Some(asn),
        org: Some(org.into()),
    }
}

/// Generates event `i` of `total` from the seed alone, so any batch can be generated anew.
#[derive(Debug)]
struct Workload {
    seed: u64,
    total: u64,
    /// Times of the first and past the last event, microseconds.
    start_us: i64,
    span_us: i64,
    /// Distinct public IPv4 addresses, most active first.
    addresses: Vec<Ipv4Addr>,
    address_rank: Zipf,
    users: Vec<String>,
    user_rank: Zipf,
    /// The source fingerprint the event ids are derived from.
    fingerprint: String,
}

impl Workload {
    /// `total` events, evenly spread over `span_us` microseconds from `start_us`.
    fn new(seed: u64, total: u64, start_us: i64, span_us: i64) -> Workload {
        let mut rng = Rng(seed ^ 0x000A_DD2E_55E5);
        let mut seen = HashSet::with_capacity(ADDRESSES);
        let mut addresses = Vec::with_capacity(ADDRESSES);
        while addresses.len() < ADDRESSES {
            let ip = Ipv4Addr::from(rng.next() as u32);
            let public = !(ip.is_private()
                || ip.is_loopback()
                || ip.is_link_local()
                || ip.is_multicast()
                || ip.is_broadcast()
                || ip.is_documentation()
                || ip.is_unspecified()
                || ip.octets()[0] == 0
                || ip.octets()[0] >= 240);
            if public && seen.insert(ip) {
                addresses.push(ip);
            }
        }
        Workload {
            seed,
            total,
            start_us,
            span_us,
            addresses,
            address_rank: Zipf::new(ADDRESSES, ADDRESS_SKEW),
            users: user_names(),
            user_rank: Zipf::new(USER_NAMES, USER_SKEW),
            fingerprint: format!("store-bench-{seed}"),
        }
    }

    /// Events `range` (indices), in order.
    fn batch(&self, range: std::ops::Range<u64>) -> Vec<NewEvent> {
        range.map(|i| self.event(i)).collect()
    }

    /// Event `i`.
    fn event(&self, i: u64) -> NewEvent {
        let mut rng = Rng(mix(self.seed.wrapping_mul(0x1_0000_0001) ^ i));
        let sensor = rng.weighted(SENSORS, |s| s.1).0;
        let kind = rng.weighted(KINDS, |k| k.1).0;
        // Evenly spread in index order, with jitter inside each event's slot.
        let slot = i128::from(self.span_us) * i128::from(i) / i128::from(self.total);
        let width = (self.span_us / self.total as i64).max(1);
        let ts_us = self.start_us + slot as i64 + rng.below(width as u64) as i64;
        let ts = Timestamp::from_microsecond(ts_us).unwrap_or(Timestamp::UNIX_EPOCH);

        let mut event = Event::new(ts, kind);
        event.host = Some(sensor.to_string());
        event.pid = Some(1_000 + rng.below(4_000_000) as u32);
        let address = self.addresses[self.address_rank.sample(&mut rng)];
        let mut geo = geo_for(address);
        if rng.chance(0.002) {
            // sshd logged a host name (UseDNS): no address, no location.
            event.rhost = Some(format!("host-{}.example.net", rng.below(500)));
            geo = GeoInfo::default();
        } else {
            event.ip = Some(IpAddr::V4(address));
        }
        let port = Some(1_024 + rng.below(64_511) as u16);
        let attacker = |rng: &mut Rng| Some(self.users[self.user_rank.sample(rng)].clone());
        match kind {
            Kind::Failed => {
                let invalid = rng.chance(0.4);
                event.user = attacker(&mut rng);
                event.method = Some(
                    match rng.below(20) {
                        0 => "none",
                        1 => "publickey",
                        _ => "password",
                    }
                    .into(),
                );
                event.invalid_user = Some(invalid);
                event.port = port;
            }
            Kind::InvalidUser => {
                event.user = attacker(&mut rng);
                event.invalid_user = Some(true);
                event.port = port;
            }
            Kind::PamFailure => {
                event.user = attacker(&mut rng).filter(|_| rng.chance(0.6));
                if rng.chance(0.3) {
                    event.count = 2 + rng.below(4) as u32;
                }
            }
            Kind::MaxAttempts => {
                event.user = attacker(&mut rng);
                event.method = Some("password".into());
                event.port = port;
            }
            Kind::Disconnect => {
                event.user = attacker(&mut rng).filter(|_| rng.chance(0.5));
                event.port = port;
            }
            Kind::Probe => event.port = port,
            Kind::Penalty => {}
            Kind::Accepted => {
                event.user = Some(rng.pick(LEGITIMATE_USERS).to_string());
                event.method = Some(
                    if rng.chance(0.8) {
                        "publickey"
                    } else {
                        "password"
                    }
                    .into(),
                );
                event.invalid_user = Some(false);
                event.port = port;
            }
        }
        if event.count == 1 && rng.chance(0.01) {
            // `message repeated N times`.
            event.count = 2 + rng.below(4) as u32;
        }
        event.offset = Some(i * 120);
        NewEvent {
            id: EventId::from_origin(sensor, &self.fingerprint, i * 120),
            sensor: sensor.to_string(),
            event,
            geo,
        }
    }
}

/// Batches of `batch` indices covering `0..total`.
fn batches(total: u64, batch: usize) -> impl Iterator<Item = std::ops::Range<u64>> {
    let batch = batch as u64;
    (0..total.div_ceil(batch)).map(move |b| b * batch..((b + 1) * batch).min(total))
}

// ---------------------------------------------------------------------------------------------
// Databases

/// A database created for one run, on a server or in a temporary directory, dropped with
/// this value (also when the run fails).
struct BenchDb {
    backend: Backend,
    /// The URL of the database.
    url: String,
    _db: ScratchDb,
}

impl BenchDb {
    /// A fresh, empty database of `backend`.
    async fn create(backend: Backend, args: &Args) -> BoxResult<BenchDb> {
        let server = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(args.postgres_url.as_str()),
            Backend::MySql => Some(args.mysql_url.as_str()),
        };
        let db = ScratchDb::create(backend, server, "knockmap_bench").await?;
        Ok(BenchDb {
            backend,
            url: db.url().to_string(),
            _db: db,
        })
    }

    /// The SQLite file, if this is SQLite.
    fn sqlite_path(&self) -> Option<PathBuf> {
        sqlite_path(&self.url)
    }
}

/// The file of an `sqlite://PATH[?…]` URL.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://")?;
    Some(PathBuf::from(rest.split('?').next().unwrap_or(rest)))
}

/// The file's size, zero when it does not exist.
fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// `path` with `suffix` appended to its file name (`-wal`, `-shm`, …).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The bytes the database at `url` takes: SQLite's file and its WAL (after a checkpoint, so
/// that what the WAL held is counted once, whichever connection closed last);
/// PostgreSQL's `pg_database_size`; the data and index length of every table of the MySQL
/// schema (after `ANALYZE TABLE`, which brings InnoDB's figures up to date).
async fn database_size(url: &str) -> BoxResult<u64> {
    match Backend::from_url(url)? {
        Backend::Sqlite => {
            let path = sqlite_path(url).ok_or("not an sqlite:// file URL")?;
            let mut conn = SqliteConnectOptions::new()
                .filename(&path)
                .connect()
                .await?;
            sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut conn)
                .await?;
            conn.close().await?;
            Ok(file_size(&path) + file_size(&with_suffix(&path, "-wal")))
        }
        Backend::Postgres => {
            let mut conn = PgConnection::connect(url).await?;
            let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(&mut conn)
                .await?;
            conn.close().await?;
            Ok(u64::try_from(size)?)
        }
        Backend::MySql => {
            let mut conn = MySqlConnection::connect(url).await?;
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables
                 WHERE table_schema = DATABASE()",
            )
            .fetch_all(&mut conn)
            .await?;
            for table in &tables {
                sqlx::raw_sql(&format!("ANALYZE TABLE `{table}`"))
                    .execute(&mut conn)
                    .await?;
            }
            let size: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(data_length + index_length), 0) AS SIGNED)
                 FROM information_schema.tables WHERE table_schema = DATABASE()",
            )
            .fetch_one(&mut conn)
            .await?;
            conn.close().await?;
            Ok(u64::try_from(size)?)
        }
    }
}

/// The database software's version, for the record.
async fn server_version(url: &str) -> BoxResult<String> {
    let backend = Backend::from_url(url)?;
    let sql = match backend {
        Backend::Sqlite => "SELECT 'SQLite ' || sqlite_version()",
        Backend::Postgres => "SELECT version()",
        Backend::MySql => "SELECT CAST(CONCAT(VERSION(), ' (', @@version_comment, ')') AS CHAR)",
    };
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    let version: String = sqlx::query_scalar(sql).fetch_one(&mut conn).await?;
    conn.close().await?;
    Ok(version)
}

// ---------------------------------------------------------------------------------------------
// ingest

/// Each backend in turn: a fresh database, knockmap's ingest and the raw baseline on it, one
/// JSON line; the database is dropped again even when the run fails.
async fn ingest_mode(args: &Args) -> BoxResult<()> {
    let start = Timestamp::from_str("2026-03-01T00:00:00Z")?.as_microsecond();
    let workload = Workload::new(args.seed, args.events, start, 30 * MICROS_PER_DAY);
    for &backend in &args.backends {
        let db = BenchDb::create(backend, args).await?;
        let line = ingest_backend(&db, &workload, args).await?;
        println!("{line}");
    }
    Ok(())
}

/// Times knockmap's ingest of the whole workload into `db`, then the raw baseline in the same
/// database; returns the JSON line of the backend.
async fn ingest_backend(
    db: &BenchDb,
    workload: &Workload,
    args: &Args,
) -> BoxResult<serde_json::Value> {
    let name = short_name(db.backend);
    let events = workload.total;

    eprintln!(
        "{name}: knockmap ingest of {events} events in batches of {}",
        args.batch
    );
    let store = SqlStore::open(&db.url).await?;
    let mut knockmap = Duration::ZERO;
    let mut accepted = 0;
    let mut addresses = HashSet::new();
    for range in batches(events, args.batch) {
        let batch = workload.batch(range);
        addresses.extend(batch.iter().filter_map(|e| e.event.ip));
        let t = Instant::now();
        let report = store.ingest(&batch).await?;
        knockmap += t.elapsed();
        accepted += report.accepted;
    }
    drop(store);
    if accepted != events {
        return Err(format!("{name}: knockmap stored {accepted} of {events} events").into());
    }
    let db_bytes = database_size(&db.url).await?;
    let version = server_version(&db.url).await?;
    eprintln!(
        "{name}: knockmap {:.2} s ({:.0} events/s); baseline …",
        knockmap.as_secs_f64(),
        events as f64 / knockmap.as_secs_f64()
    );

    let baseline = match db.backend {
        Backend::Sqlite => {
            let path = db.sqlite_path().ok_or("no SQLite file")?;
            let mut conn = SqliteConnectOptions::new()
                .filename(&path)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .connect()
                .await?;
            let time =
                baseline::<sqlx::Sqlite>(&mut conn, SQLITE_BASELINE, workload, args.batch).await?;
            conn.close().await?;
            time
        }
        Backend::Postgres => {
            let mut conn = PgConnection::connect(&db.url).await?;
            let time =
                baseline::<sqlx::Postgres>(&mut conn, POSTGRES_BASELINE, workload, args.batch)
                    .await?;
            conn.close().await?;
            time
        }
        Backend::MySql => {
            let mut conn = MySqlConnection::connect(&db.url).await?;
            conn.execute("SET NAMES utf8mb4 COLLATE utf8mb4_bin")
                .await?;
            let time =
                baseline::<sqlx::MySql>(&mut conn, MYSQL_BASELINE, workload, args.batch).await?;
            conn.close().await?;
            time
        }
    };
    let baseline_bytes = database_size(&db.url).await?.saturating_sub(db_bytes);

    let km = knockmap.as_secs_f64();
    let base = baseline.as_secs_f64();
    let rate = |seconds: f64| events as f64 / seconds;
    eprintln!(
        "{name}: baseline {base:.2} s ({:.0} events/s); knockmap/baseline rate {:.2}",
        rate(base),
        rate(km) / rate(base)
    );
    Ok(json!({
        "backend": name,
        "server_version": version,
        "events": events,
        "distinct_ips": addresses.len(),
        "batch": args.batch,
        "seed": args.seed,
        "knockmap_seconds": km,
        "knockmap_events_per_second": rate(km),
        "baseline_seconds": base,
        "baseline_events_per_second": rate(base),
        "rate_ratio": rate(km) / rate(base),
        "db_bytes": db_bytes,
        "db_bytes_per_million_events": per_million(db_bytes, events),
        "baseline_bytes": baseline_bytes,
        "baseline_bytes_per_million_events": per_million(baseline_bytes, events),
    }))
}

/// The baseline table: the columns of knockmap's `events` (without `seq`), a primary key on
/// `id`, no other index.
const SQLITE_BASELINE: &str = "CREATE TABLE bench_baseline (
    id BLOB PRIMARY KEY, ts INTEGER NOT NULL, sensor TEXT NOT NULL, host TEXT, pid INTEGER,
    kind TEXT NOT NULL, ip TEXT, rhost TEXT, port INTEGER, user_name TEXT, method TEXT,
    invalid_user INTEGER, count INTEGER NOT NULL DEFAULT 1)";
const POSTGRES_BASELINE: &str = "CREATE TABLE bench_baseline (
    id BYTEA PRIMARY KEY, ts BIGINT NOT NULL, sensor TEXT NOT NULL, host TEXT, pid BIGINT,
    kind TEXT NOT NULL, ip TEXT, rhost TEXT, port BIGINT, user_name TEXT, method TEXT,
    invalid_user SMALLINT, count BIGINT NOT NULL DEFAULT 1)";
const MYSQL_BASELINE: &str = "CREATE TABLE bench_baseline (
    id TINYBLOB NOT NULL, ts BIGINT NOT NULL, sensor VARCHAR(255) NOT NULL, host TEXT,
    pid BIGINT, kind VARCHAR(32) NOT NULL, ip VARCHAR(45), rhost MEDIUMTEXT, port BIGINT,
    user_name MEDIUMTEXT, method TEXT, invalid_user SMALLINT, count BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (id(16))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

/// One row of the baseline table, converted from a [`NewEvent`] before the clock starts.
struct BaselineRow {
    id: Vec<u8>,
    ts: i64,
    sensor: String,
    host: Option<String>,
    pid: Option<i64>,
    kind: String,
    ip: Option<String>,
    rhost: Option<String>,
    port: Option<i64>,
    user_name: Option<String>,
    method: Option<String>,
    invalid_user: Option<i16>,
    count: i64,
}

impl BaselineRow {
    fn new(new: NewEvent) -> BaselineRow {
        let e = new.event;
        BaselineRow {
            id: new.id.0.to_vec(),
            ts: e.ts.as_microsecond(),
            sensor: new.sensor,
            host: e.host,
            pid: e.pid.map(i64::from),
            kind: e.kind.as_str().to_string(),
            ip: e.ip.map(|ip| ip.to_string()),
            rhost: e.rhost,
            port: e.port.map(i64::from),
            user_name: e.user,
            method: e.method,
            invalid_user: e.invalid_user.map(i16::from),
            count: i64::from(e.count),
        }
    }
}

/// Creates the baseline table with `create` and inserts every event of `workload` into it, one
/// prepared single-row `INSERT` per event in one transaction. Returns the time spent in the
/// database (the rows of each batch are generated before the clock starts).
async fn baseline<DB>(
    conn: &mut DB::Connection,
    create: &str,
    workload: &Workload,
    batch: usize,
) -> BoxResult<Duration>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i16>: Encode<'q, DB> + Type<DB>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
{
    sqlx::raw_sql(create).execute(&mut *conn).await?;
    let insert = if DB::NAME == "PostgreSQL" {
        "INSERT INTO bench_baseline (id, ts, sensor, host, pid, kind, ip, rhost, port, user_name,
         method, invalid_user, count) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)"
    } else {
        "INSERT INTO bench_baseline (id, ts, sensor, host, pid, kind, ip, rhost, port, user_name,
         method, invalid_user, count) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
    };
    let mut elapsed = Duration::ZERO;
    let t = Instant::now();
    let mut tx = conn.begin().await?;
    elapsed += t.elapsed();
    for range in batches(workload.total, batch) {
        let rows: Vec<BaselineRow> = workload
            .batch(range)
            .into_iter()
            .map(BaselineRow::new)
            .collect();
        let t = Instant::now();
        for r in rows {
            sqlx::query::<DB>(insert)
                .bind(r.id)
                .bind(r.ts)
                .bind(r.sensor)
                .bind(r.host)
                .bind(r.pid)
                .bind(r.kind)
                .bind(r.ip)
                .bind(r.rhost)
                .bind(r.port)
                .bind(r.user_name)
                .bind(r.method)
                .bind(r.invalid_user)
                .bind(r.count)
                .execute(&mut *tx)
                .await?;
        }
        elapsed += t.elapsed();
    }
    let t = Instant::now();
    tx.commit().await?;
    elapsed += t.elapsed();
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bench_baseline")
        .fetch_one(&mut *conn)
        .await?;
    if u64::try_from(stored).ok() != Some(workload.total) {
        return Err(format!("the baseline stored {stored} of {} rows", workload.total).into());
    }
    Ok(elapsed)
}

// ---------------------------------------------------------------------------------------------
// query

/// Latency of `stats` and `markers` over three windows on one large database.
async fn query_mode(args: &Args) -> BoxResult<()> {
    let url = match &args.db_url {
        Some(url) => {
            fill_if_empty(url, args).await?;
            url.clone()
        }
        None => cached_sqlite(args).await?,
    };
    let store = SqlStore::open(&url).await?;
    let rss_before = rss_mib();
    let loading = Instant::now();
    store.load_summary().await?;
    let summary_load_s = loading.elapsed().as_secs_f64();
    let summary_rss_mib = rss_mib() - rss_before;
    eprintln!("summary loaded in {summary_load_s:.1} s, {summary_rss_mib:.0} MiB");
    let newest = store
        .recent(&Window::default(), 1)
        .await?
        .first()
        .map(|e| e.event.ts)
        .ok_or("the database holds no events")?;
    let since = |hours: i64| {
        Timestamp::from_microsecond(newest.as_microsecond() - hours * MICROS_PER_HOUR + 1)
    };
    let windows = [
        (
            "24h",
            Window {
                since: Some(since(24)?),
                until: None,
            },
        ),
        (
            "30d",
            Window {
                since: Some(since(30 * 24)?),
                until: None,
            },
        ),
        ("all", Window::default()),
    ];

    let mut results = Vec::new();
    let mut totals = serde_json::Value::Null;
    for (label, window) in &windows {
        for query in QUERIES {
            // The first call reads the raw events of the window's partial hours into the
            // summary (and prepares statements): timed apart from the repeats.
            let first = Instant::now();
            let mut shape = run_query(&store, query, window).await?;
            let first_ms = first.elapsed().as_secs_f64() * 1e3;
            let mut times = Vec::with_capacity(args.repeats);
            for _ in 0..args.repeats {
                let t = Instant::now();
                shape = run_query(&store, query, window).await?;
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(f64::total_cmp);
            let (p50, p95) = (percentile(&times, 50.0), percentile(&times, 95.0));
            eprintln!("{query} {label}: p50 {p50:.1} ms, p95 {p95:.1} ms ({shape})");
            if (query, *label) == ("stats", "all") {
                totals = shape.clone();
            }
            let mut entry = json!({
                "query": query,
                "window": label,
                "repeats": args.repeats,
                "p50_ms": p50,
                "p95_ms": p95,
                "first_ms": first_ms,
                "min_ms": times[0],
                "max_ms": times[times.len() - 1],
            });
            if let (Some(entry), serde_json::Value::Object(shape)) = (entry.as_object_mut(), shape)
            {
                entry.extend(shape);
            }
            results.push(entry);
        }
    }
    drop(store);

    // The same queries answered by the SQL statements alone: a store without the summary.
    if args.sql_repeats > 0 {
        let plain = SqlStore::open(&url).await?;
        let mut entries = results.iter_mut();
        for (label, window) in &windows {
            for query in QUERIES {
                let mut times = Vec::with_capacity(args.sql_repeats);
                for _ in 0..args.sql_repeats {
                    let t = Instant::now();
                    run_query(&plain, query, window).await?;
                    times.push(t.elapsed().as_secs_f64() * 1e3);
                }
                times.sort_by(f64::total_cmp);
                let p50 = percentile(&times, 50.0);
                eprintln!("{query} {label} without the summary: p50 {p50:.1} ms");
                if let Some(entry) = entries.next().and_then(|e| e.as_object_mut()) {
                    entry.insert("sql_p50_ms".into(), json!(p50));
                    entry.insert("sql_max_ms".into(), json!(times[times.len() - 1]));
                }
            }
        }
    }

    let db_bytes = database_size(&url).await?;
    let backend = Backend::from_url(&url)?;
    println!(
        "{}",
        json!({
            "backend": short_name(backend),
            "server_version": server_version(&url).await?,
            "events": args.events,
            "weighted_events": totals["window_events"],
            "distinct_ips": totals["window_ips"],
            "seed": args.seed,
            "newest_event": newest.to_string(),
            "db_bytes": db_bytes,
            "summary_load_s": summary_load_s,
            "summary_rss_mib": summary_rss_mib,
            "db_bytes_per_million_events": per_million(db_bytes, args.events),
            "results": results,
        })
    );
    Ok(())
}

/// The calls timed: `stats`, and `markers` in both of its JSON layouts.
const QUERIES: [&str; 3] = ["stats", "markers", "markers?format=columns"];

/// Runs one query, serializes its answer to JSON as the HTTP API does, and returns the size
/// of the answer, as JSON fields.
async fn run_query(store: &SqlStore, query: &str, window: &Window) -> BoxResult<serde_json::Value> {
    Ok(if query == "stats" {
        let stats = store.stats(window, &Filter::default()).await?;
        let body = serde_json::to_vec(&stats)?;
        json!({ "window_events": stats.events, "window_ips": stats.unique_ips,
                "series_hours": stats.series.len(), "json_bytes": body.len() })
    } else {
        let t = Instant::now();
        let (body, answered, located, unlocated) = if query == "markers?format=columns" {
            let columns = store.marker_columns(window, &Filter::default()).await?;
            let answered = t.elapsed();
            let (located, unlocated) = (columns.markers.ip.len(), columns.unlocated.ip.len());
            (columns.to_json(), answered, located, unlocated)
        } else {
            let markers = store.markers(window, &Filter::default()).await?;
            let answered = t.elapsed();
            let (located, unlocated) = (markers.markers.len(), markers.unlocated.len());
            (serde_json::to_vec(&markers)?, answered, located, unlocated)
        };
        let serialized = t.elapsed() - answered;
        json!({ "markers": located, "unlocated": unlocated,
                "json_bytes": body.len(), "last_answer_ms": answered.as_secs_f64() * 1e3,
                "last_json_ms": serialized.as_secs_f64() * 1e3 })
    })
}

/// This process's resident memory, in MiB (0 where `/proc` is not available).
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// `bytes` scaled from `events` events to a million.
fn per_million(bytes: u64, events: u64) -> u64 {
    (bytes as f64 * 1e6 / events as f64).round() as u64
}

/// The nearest-rank percentile of sorted `values`.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A fingerprint of the SQLite schema this binary creates, so a cached database made by an
/// older schema is not reused.
fn schema_fingerprint() -> String {
    let mut h: u64 = 0;
    for migration in Backend::Sqlite.migrator().iter() {
        h = mix(h ^ migration.version as u64);
        for chunk in migration.checksum.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            h = mix(h ^ u64::from_le_bytes(word));
        }
    }
    format!("{:08x}", h as u32)
}

/// The cached SQLite database for these arguments, generated (and marked complete) when it is
/// missing, incomplete, or `--rebuild` is given.
async fn cached_sqlite(args: &Args) -> BoxResult<String> {
    std::fs::create_dir_all(&args.cache_dir)?;
    let name = format!(
        "store-{}-{}-g{GENERATOR_VERSION}-s{}.sqlite",
        args.events,
        args.seed,
        schema_fingerprint()
    );
    let path = std::path::absolute(args.cache_dir.join(name))?;
    let done = with_suffix(&path, ".done");
    let url = format!("sqlite://{}", path.display());
    if done.exists() && path.exists() && !args.rebuild {
        eprintln!("reusing {}", path.display());
        return Ok(url);
    }
    for suffix in ["", "-wal", "-shm", ".done"] {
        let file = with_suffix(&path, suffix);
        if file.exists() {
            std::fs::remove_file(file)?;
        }
    }
    generate(&url, args).await?;
    std::fs::write(&done, format!("{}\n", Timestamp::now()))?;
    Ok(url)
}

/// Fills the database at `url` unless it holds events already.
async fn fill_if_empty(url: &str, args: &Args) -> BoxResult<()> {
    let store = SqlStore::open(url).await?;
    if store.recent(&Window::default(), 1).await?.is_empty() {
        drop(store);
        generate(url, args).await
    } else {
        eprintln!(
            "{} holds events already: using them",
            knockmap_store::redact(url)
        );
        Ok(())
    }
}

/// Stores `args.events` events spread over the 90 days up to now through [`Store::ingest`].
async fn generate(url: &str, args: &Args) -> BoxResult<()> {
    let store = SqlStore::open(url).await?;
    let span = 90 * MICROS_PER_DAY;
    let end = Timestamp::now().as_microsecond();
    let workload = Workload::new(args.seed, args.events, end - span, span);
    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut done = 0;
    eprintln!(
        "generating {} events into {}",
        args.events,
        knockmap_store::redact(url)
    );
    for range in batches(args.events, args.batch) {
        let n = range.end - range.start;
        store.ingest(&workload.batch(range)).await?;
        done += n;
        if last_report.elapsed() >= Duration::from_secs(10) || done == args.events {
            last_report = Instant::now();
            let seconds = started.elapsed().as_secs_f64();
            eprintln!(
                "  {done} / {} events ({:.1} %), {seconds:.0} s, {:.0} events/s",
                args.events,
                100.0 * done as f64 / args.events as f64,
                done as f64 / seconds
            );
        }
    }
    Ok(())
}
