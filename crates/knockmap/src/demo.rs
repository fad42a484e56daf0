//! `knockmap demo`: the real server fed by a synthetic but realistic attack stream.
//!
//! The stream is made of sshd log lines, parsed and ingested exactly like lines read from a
//! real auth log, so the demo exercises the whole pipeline.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use knockmap_parse::{ParseOptions, Parsed, Parser};
use knockmap_server::{Ingestor, Origin};

use crate::cli::DemoArgs;
use crate::serve::Server;

/// Frankfurt: where the demo's arcs land unless --home says otherwise.
const DEMO_HOME: (f64, f64) = (50.11, 8.68);
const USERS: &[&str] = &[
    "root",
    "admin",
    "ubuntu",
    "test",
    "user",
    "oracle",
    "postgres",
    "git",
    "pi",
    "deploy",
    "ftpuser",
    "guest",
    "support",
    "debian",
    "ec2-user",
    "jenkins",
    "hadoop",
    "mysql",
    "nagios",
    "steam",
    "minecraft",
    "1234",
    "administrator",
    "centos",
    "dev",
    "www-data",
    "sol",
    "validator",
];
const HOSTS: &[&str] = &["web-01", "web-02", "db-01", "bastion"];

/// Runs `knockmap demo` until Ctrl-C.
pub async fn run(mut args: DemoArgs) -> anyhow::Result<()> {
    // Keep demo traffic out of the real database unless asked to.
    let scratch = tempfile::tempdir()?;
    if args.server.db.is_none() {
        args.server.db = Some(format!(
            "sqlite://{}",
            scratch.path().join("demo.sqlite").display()
        ));
    }
    args.server.home = args.server.home.or(Some(DEMO_HOME));
    let server = Server::start(&args.server).await?;
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    tracing::info!(
        seed,
        rate = args.rate,
        "demo: synthetic attack stream started"
    );
    let generator = tokio::spawn(feed(
        server.state.ingestor.clone(),
        Stream::new(seed),
        args.rate,
    ));
    let result = server.run_until_stopped(Vec::new()).await;
    generator.abort();
    result
}

async fn feed(ingestor: Ingestor, mut stream: Stream, rate: f64) {
    let origin = Origin {
        fingerprint: format!("demo-{:016x}", stream.seed),
    };
    let mut offset = 0u64;
    loop {
        // Exponential gaps: a Poisson stream of actions.
        let pause = -stream.rng.f64().max(1e-9).ln() / rate.max(0.01);
        tokio::time::sleep(Duration::from_secs_f64(pause.min(10.0))).await;
        let mut parser = Parser::new(ParseOptions {
            tz: TimeZone::UTC,
            year: None,
            anchor: Timestamp::now(),
        });
        let mut events = Vec::new();
        for line in stream.next_lines(Timestamp::now()) {
            if let Parsed::Event(mut event) = parser.parse(line.as_bytes()) {
                event.offset = Some(offset);
                events.push((event, Some(origin.clone())));
            }
            offset += line.len() as u64 + 1;
        }
        if let Err(e) = ingestor.ingest(knockmap_server::LOCAL_SENSOR, events).await {
            tracing::warn!("demo: storing events failed: {e}");
        }
    }
}

/// A deterministic generator of sshd log lines.
struct Stream {
    seed: u64,
    rng: fastrand::Rng,
    attackers: Vec<IpAddr>,
    heavy_hitters: Vec<IpAddr>,
    pid: u32,
}

impl Stream {
    fn new(seed: u64) -> Stream {
        let mut rng = fastrand::Rng::with_seed(seed);
        let attackers: Vec<IpAddr> = (0..600)
            .map(|i| {
                if i % 12 == 0 {
                    random_v6(&mut rng)
                } else {
                    random_public_v4(&mut rng)
                }
            })
            .collect();
        let heavy_hitters = attackers[..6].to_vec();
        Stream {
            seed,
            rng,
            attackers,
            heavy_hitters,
            pid: 20_000,
        }
    }

    /// The lines of one attacker action, stamped `now`.
    fn next_lines(&mut self, now: Timestamp) -> Vec<String> {
        self.pid = if self.pid > 4_000_000 {
            20_000
        } else {
            self.pid + 1 + self.rng.u32(..7)
        };
        let host = HOSTS[self.rng.usize(..HOSTS.len())];
        let stamp = now.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string();
        let head = format!("{stamp} {host} sshd-session[{}]:", self.pid);
        let port = 1024 + self.rng.u16(..64000);
        let roll = self.rng.u32(..1000);
        if roll < 300 {
            // A heavy hitter's burst of root passwords.
            let ip = self.heavy_hitters[self.rng.usize(..self.heavy_hitters.len())];
            let n = 3 + self.rng.usize(..6);
            let mut lines: Vec<String> = (0..n)
                .map(|_| format!("{head} Failed password for root from {ip} port {port} ssh2"))
                .collect();
            lines.push(format!(
                "{head} error: maximum authentication attempts exceeded for root from {ip} port {port} ssh2 [preauth]"
            ));
            return lines;
        }
        let ip = self.attackers[self.rng.usize(..self.attackers.len())];
        let user = USERS[self.rng.usize(..USERS.len())];
        match roll {
            300..=549 => vec![
                format!("{head} Invalid user {user} from {ip} port {port}"),
                format!(
                    "{head} Failed password for invalid user {user} from {ip} port {port} ssh2"
                ),
                format!(
                    "{head} Connection closed by invalid user {user} {ip} port {port} [preauth]"
                ),
            ],
            550..=699 => vec![format!(
                "{head} Connection closed by authenticating user {user} {ip} port {port} [preauth]"
            )],
            700..=799 => vec![match self.rng.u8(..3) {
                0 => format!(
                    "{head} banner exchange: Connection from {ip} port {port}: invalid format"
                ),
                1 => format!(
                    "{head} Unable to negotiate with {ip} port {port}: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]"
                ),
                _ => format!("{head} Timeout before authentication for {ip} port {port}"),
            }],
            800..=899 => vec![format!(
                "{head} pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}"
            )],
            900..=984 => vec![format!(
                "{head} Received disconnect from {ip} port {port}:11: Bye Bye [preauth]"
            )],
            _ => {
                // The alarming case: a login that succeeds after failures.
                let ip = self.heavy_hitters[self.rng.usize(..self.heavy_hitters.len())];
                vec![format!(
                    "{head} Accepted password for deploy from {ip} port {port} ssh2"
                )]
            }
        }
    }
}

fn random_public_v4(rng: &mut fastrand::Rng) -> IpAddr {
    loop {
        let ip = Ipv4Addr::from(rng.u32(..));
        let [a, b, ..] = ip.octets();
        let reserved = ip.is_private()
            || ip.is_loopback()
            || ip.is_link_local()
            || ip.is_multicast()
            || ip.is_broadcast()
            || ip.is_documentation()
            || ip.is_unspecified()
            || a == 0
            || a >= 224
            || (a == 100 && (64..128).contains(&b))
            || (a == 198 && (18..20).contains(&b));
        if !reserved {
            return IpAddr::V4(ip);
        }
    }
}

fn random_v6(rng: &mut fastrand::Rng) -> IpAddr {
    // Inside prefixes that regional registries really allocate.
    const PREFIXES: &[u16] = &[0x2001, 0x2400, 0x2600, 0x2800, 0x2a00, 0x2c0f];
    let prefix = PREFIXES[rng.usize(..PREFIXES.len())];
    let mut segments = [0u16; 8];
    segments[0] = prefix;
    segments[1] = rng.u16(..).max(1);
    for s in &mut segments[2..] {
        *s = rng.u16(..);
    }
    IpAddr::V6(Ipv6Addr::from(segments))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_line_parses_into_an_event() {
        let mut stream = Stream::new(7);
        let mut parser = Parser::new(ParseOptions::default());
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            for line in stream.next_lines(Timestamp::now()) {
                match parser.parse(line.as_bytes()) {
                    Parsed::Event(event) => {
                        kinds.insert(event.kind);
                    }
                    other => panic!("demo line did not parse: {line}: {other:?}"),
                }
            }
        }
        assert!(kinds.len() >= 7, "too few kinds: {kinds:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_stream() {
        let now = Timestamp::now();
        let run = |seed| {
            let mut stream = Stream::new(seed);
            (0..200)
                .flat_map(|_| stream.next_lines(now))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }
}
