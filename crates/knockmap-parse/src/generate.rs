//! A deterministic generator of realistic sshd auth logs, for benchmarks and demos (feature
//! `gen`).
//!
//! The mix follows what a public server's `auth.log` looks like: password guessing (invalid
//! users, PAM failures, `Failed password`) is the bulk, then the pre-auth disconnects that end
//! each attempt, scanners' probes (key exchange errors, banner exchange, no identification),
//! the odd accepted login with its session lines, and other programs (CRON, systemd-logind,
//! sudo). Mostly BSD syslog envelopes with some RFC 3339 ones, mostly IPv4 with some IPv6, and
//! now and then a hostile user name. The same seed always gives the same bytes.

use std::io::Write as _;

/// Generator settings.
#[derive(Debug, Clone, Copy)]
pub struct GenOptions {
    /// Seed for the pseudo-random sequence.
    pub seed: u64,
    /// Unix time of the first line.
    pub start: i64,
    /// Fraction of lines with an RFC 3339 envelope instead of BSD syslog (0.0..=1.0).
    pub rfc3339: f64,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            seed: 1,
            // 2026-03-01T00:00:00Z
            start: 1_772_323_200,
            rfc3339: 0.1,
        }
    }
}

/// Yields auth-log lines one scenario at a time.
#[derive(Debug)]
pub struct Generator {
    rng: u64,
    now: i64,
    pid: u32,
    opts: GenOptions,
    /// Lines of the current scenario still to write, in order.
    queue: Vec<Vec<u8>>,
    /// A few attackers that come back, as real ones do.
    regulars: Vec<[u8; 4]>,
    /// The host the current scenario happens on.
    host: &'static str,
}

const USERS: &[&str] = &[
    "root",
    "admin",
    "test",
    "user",
    "ubuntu",
    "oracle",
    "postgres",
    "git",
    "guest",
    "pi",
    "ftpuser",
    "deploy",
    "minecraft",
    "support",
    "www-data",
    "hadoop",
    "tomcat",
    "mysql",
    "dev",
    "jenkins",
    "ansible",
    "steam",
    "ts3",
    "nagios",
    "backup",
    "vagrant",
    "docker",
    "elastic",
];

const HOSTILE: &[&[u8]] = &[
    b"\"quoted\"",
    b"back\\slash",
    b"</script><script>alert(1)</script>",
    b"root from 6.6.6.6 port 22",
    b"tab\tand\x01ctl",
    b"llinco\xf1ir",
    b"line\xe2\x80\xa8sep",
    b"'; DROP TABLE events; --",
    b"a b c",
    b"\xff\xfe",
];

const HOSTS: &[&str] = &["web-01", "web-02", "bastion", "db-1"];

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl Generator {
    /// A generator with the given options.
    pub fn new(opts: GenOptions) -> Generator {
        let mut g = Generator {
            rng: opts.seed ^ 0x9E37_79B9_7F4A_7C15,
            now: opts.start,
            pid: 1000,
            opts,
            queue: Vec::new(),
            regulars: Vec::new(),
            host: HOSTS[0],
        };
        for _ in 0..32 {
            let ip = g.public_v4();
            g.regulars.push(ip);
        }
        g
    }

    /// SplitMix64.
    fn next(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn public_v4(&mut self) -> [u8; 4] {
        loop {
            let v = (self.next() as u32).to_be_bytes();
            if !matches!(v[0], 0 | 10 | 127 | 224..=255) {
                return v;
            }
        }
    }

    /// An attacker address as sshd prints it.
    fn addr(&mut self) -> String {
        if self.chance(0.08) {
            let a = self.next();
            format!(
                "2001:db8:{:x}:{:x}::{:x}",
                a & 0xffff,
                (a >> 16) & 0xffff,
                (a >> 32) & 0xfff
            )
        } else {
            let v = if self.chance(0.4) {
                *self.pick(&self.regulars.clone())
            } else {
                self.public_v4()
            };
            format!("{}.{}.{}.{}", v[0], v[1], v[2], v[3])
        }
    }

    fn user(&mut self) -> Vec<u8> {
        if self.chance(0.02) {
            self.pick(HOSTILE).to_vec()
        } else {
            self.pick(USERS).as_bytes().to_vec()
        }
    }

    /// Appends the next line (with its `\n`) to `out`.
    pub fn line(&mut self, out: &mut Vec<u8>) {
        while self.queue.is_empty() {
            self.scenario();
            self.queue.reverse();
        }
        if let Some(line) = self.queue.pop() {
            out.extend_from_slice(&line);
        }
    }

    /// `n` lines into a fresh buffer.
    pub fn lines(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n * 110);
        for _ in 0..n {
            self.line(&mut out);
        }
        out
    }

    /// An envelope for `prog[pid]` at the current time, then advances the clock a little.
    fn envelope(&mut self, prog: &str, pid: u32) -> Vec<u8> {
        self.now += self.below(3) as i64;
        let host = self.host;
        let secs = self.now;
        let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (_, month, day) = crate::civil::civil_from_days(days);
        let (h, m, s) = (sod / 3600, sod / 60 % 60, sod % 60);
        let mut out = Vec::with_capacity(160);
        if self.chance(self.opts.rfc3339) {
            let (year, _, _) = crate::civil::civil_from_days(days);
            let micros = self.below(1_000_000);
            let _ = write!(
                out,
                "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{micros:06}+00:00 {host} {prog}[{pid}]: "
            );
        } else {
            let mon = MONTHS[(month - 1) as usize];
            let _ = write!(
                out,
                "{mon} {day:>2} {h:02}:{m:02}:{s:02} {host} {prog}[{pid}]: "
            );
        }
        out
    }

    fn push(&mut self, prog: &str, pid: u32, msg: &[u8]) {
        let mut line = self.envelope(prog, pid);
        line.extend_from_slice(msg);
        line.push(b'\n');
        self.queue.push(line);
    }

    fn sshd(&mut self, pid: u32, msg: impl AsRef<[u8]>) {
        self.push("sshd", pid, msg.as_ref());
    }

    fn new_pid(&mut self) -> u32 {
        self.pid = if self.pid > 4_000_000 {
            1000
        } else {
            self.pid + 1 + self.below(7) as u32
        };
        self.pid
    }

    /// Queues one scenario's lines.
    fn scenario(&mut self) {
        self.host = *self.pick(HOSTS);
        let pid = self.new_pid();
        let ip = self.addr();
        let port = 1024 + self.below(64_000);
        match self.below(100) {
            0..=37 => self.guessing(pid, &ip, port),
            38..=49 => {
                // Scanner that connects and leaves.
                let msg = match self.below(3) {
                    0 => format!("Connection closed by {ip} port {port} [preauth]"),
                    1 => format!("Connection reset by {ip} port {port} [preauth]"),
                    _ => format!("Received disconnect from {ip} port {port}:11: Bye Bye [preauth]"),
                };
                self.sshd(pid, msg);
            }
            50..=64 => self.probe(pid, &ip, port),
            65..=72 => self.other_program(),
            73..=76 => self.login(pid, &ip, port),
            77..=80 => {
                let user = self.user();
                let mut m = b"Disconnected from authenticating user ".to_vec();
                m.extend_from_slice(&user);
                let _ = write!(m, " {ip} port {port} [preauth]");
                self.sshd(pid, m);
            }
            81..=83 => {
                let n = self.below(9000);
                let listener = 800 + self.below(5) as u32;
                self.sshd(
                    listener,
                    format!("drop connection #{n} from [{ip}]:{port} on [198.51.100.1]:22 penalty: failed authentication"),
                );
            }
            84..=86 => {
                let user = self.user();
                let mut m = b"error: maximum authentication attempts exceeded for ".to_vec();
                m.extend_from_slice(&user);
                let _ = write!(m, " from {ip} port {port} ssh2 [preauth]");
                self.sshd(pid, m);
                let mut m = b"Disconnecting authenticating user ".to_vec();
                m.extend_from_slice(&user);
                let _ = write!(
                    m,
                    " {ip} port {port}: Too many authentication failures [preauth]"
                );
                self.sshd(pid, m);
            }
            87..=89 => {
                let n = 2 + self.below(4);
                self.sshd(
                    pid,
                    format!("message repeated {n} times: [ Failed password for root from {ip} port {port} ssh2]"),
                );
            }
            90..=93 => {
                let user = self.user();
                let mut m = b"PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=".to_vec();
                let _ = write!(m, "{ip}  user=");
                m.extend_from_slice(&user);
                self.sshd(pid, m);
            }
            _ => {
                let listener = 800;
                self.sshd(
                    listener,
                    format!("Timeout before authentication for connection from {ip} to 198.51.100.1, pid = {pid}"),
                );
            }
        }
    }

    /// Password guessing: one to three tries, then the disconnect.
    fn guessing(&mut self, pid: u32, ip: &str, port: u64) {
        let user = self.user();
        let invalid = user != b"root" && self.chance(0.7);
        if invalid {
            let mut m = b"Invalid user ".to_vec();
            m.extend_from_slice(&user);
            let _ = write!(m, " from {ip} port {port}");
            self.sshd(pid, m);
        }
        for _ in 0..1 + self.below(3) {
            if invalid {
                self.sshd(pid, "pam_unix(sshd:auth): check pass; user unknown");
                let _ = self.sshd_pam(pid, ip, None);
            } else {
                let _ = self.sshd_pam(pid, ip, Some(&user));
            }
            let mut m = b"Failed password for ".to_vec();
            if invalid {
                m.extend_from_slice(b"invalid user ");
            }
            m.extend_from_slice(&user);
            let _ = write!(m, " from {ip} port {port} ssh2");
            self.sshd(pid, m);
        }
        self.sshd(
            pid,
            format!("Received disconnect from {ip} port {port}:11: Bye Bye [preauth]"),
        );
        let mut m = b"Disconnected from ".to_vec();
        m.extend_from_slice(if invalid {
            b"invalid user "
        } else {
            b"authenticating user "
        });
        m.extend_from_slice(&user);
        let _ = write!(m, " {ip} port {port} [preauth]");
        self.sshd(pid, m);
    }

    fn sshd_pam(&mut self, pid: u32, ip: &str, user: Option<&[u8]>) -> Option<()> {
        let mut m = format!(
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip} "
        )
        .into_bytes();
        if let Some(user) = user {
            m.extend_from_slice(b" user=");
            m.extend_from_slice(user);
        }
        self.sshd(pid, m);
        Some(())
    }

    fn probe(&mut self, pid: u32, ip: &str, port: u64) {
        match self.below(6) {
            0 => {
                self.sshd(
                    pid,
                    "error: kex_exchange_identification: Connection closed by remote host",
                );
                self.sshd(pid, format!("Connection closed by {ip} port {port}"));
            }
            1 => {
                self.sshd(
                    pid,
                    "error: kex_exchange_identification: client sent invalid protocol identifier \"GET / HTTP/1.1\"",
                );
                self.sshd(
                    pid,
                    format!("banner exchange: Connection from {ip} port {port}: invalid format"),
                );
            }
            2 => self.sshd(
                pid,
                format!("Unable to negotiate with {ip} port {port}: no matching key exchange method found. Their offer: diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1 [preauth]"),
            ),
            3 => self.sshd(
                pid,
                format!("Did not receive identification string from {ip} port {port}"),
            ),
            4 => self.sshd(
                pid,
                format!("ssh_dispatch_run_fatal: Connection from {ip} port {port}: message authentication code incorrect [preauth]"),
            ),
            _ => self.sshd(
                pid,
                "error: kex_exchange_identification: read: Connection reset by peer",
            ),
        }
    }

    fn login(&mut self, pid: u32, ip: &str, port: u64) {
        let user = *self.pick(&["alice", "deploy", "backup"]);
        self.sshd(
            pid,
            format!("Accepted publickey for {user} from {ip} port {port} ssh2: ED25519 SHA256:Zm9vYmFyYmF6cXV4cXV1eHh5enp5MTIzNDU2Nzg5MA"),
        );
        self.sshd(
            pid,
            format!("pam_unix(sshd:session): session opened for user {user}(uid=1000) by (uid=0)"),
        );
        let logind = 600;
        self.push(
            "systemd-logind",
            logind,
            format!("New session {pid} of user {user}.").as_bytes(),
        );
        self.sshd(
            pid,
            format!("Received disconnect from {ip} port {port}:11: disconnected by user"),
        );
        self.sshd(
            pid,
            format!("Disconnected from user {user} {ip} port {port}"),
        );
        self.sshd(
            pid,
            format!("pam_unix(sshd:session): session closed for user {user}"),
        );
    }

    fn other_program(&mut self) {
        let pid = self.new_pid();
        match self.below(4) {
            0 => self.push(
                "CRON",
                pid,
                b"pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
            ),
            1 => self.push("CRON", pid, b"pam_unix(cron:session): session closed for user root"),
            2 => self.push(
                "sudo",
                pid,
                b"   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx",
            ),
            _ => self.push("systemd-logind", 600, b"Session 42 logged out. Waiting for processes to exit."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic() {
        let a = Generator::new(GenOptions::default()).lines(500);
        let b = Generator::new(GenOptions::default()).lines(500);
        assert_eq!(a, b);
        assert_eq!(a.iter().filter(|&&b| b == b'\n').count(), 500);
    }
}
