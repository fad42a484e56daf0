//! The real thing on loopback: Debian's OpenSSH server on 127.0.0.1, rsyslog writing its
//! own auth log, `sshpass` + `ssh` making two failed logins (a valid and an invalid user) and
//! one successful login; a `knockmap sensor` ships the log to `knockmap serve`, which must
//! show exactly those attempts.
//!
//! Needs root (sshd checks passwords against the system's users; the test adds one and
//! removes it), `/usr/sbin/sshd`, `/usr/sbin/rsyslogd`, `sshpass` and `ssh`, and a machine
//! where nothing owns `/dev/log` yet (rsyslog creates it for the test and removes it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use knockmap_store::scratch::skip;

use super::Server;
use super::many_hosts::{Sensor, create_token};

const USER: &str = "kme2e";
const PASSWORD: &str = "Correct-Horse-7";
const INVALID_USER: &str = "nosuchuser-kme2e";

/// What the test needs that this machine lacks, if anything.
fn missing_requirement() -> Option<String> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !is_root {
        return Some("needs root to run sshd and add a test user".into());
    }
    for program in [
        "/usr/sbin/sshd",
        "/usr/sbin/rsyslogd",
        "/usr/bin/sshpass",
        "/usr/bin/ssh",
    ] {
        if !Path::new(program).exists() {
            return Some(format!(
                "{program} is missing (apt-get install openssh-server rsyslog sshpass)"
            ));
        }
    }
    if Path::new("/dev/log").exists() {
        return Some("/dev/log belongs to a running system logger".into());
    }
    None
}

/// A child process stopped when dropped: SIGTERM (so it reaps its own children and
/// removes its socket), SIGKILL if it lingers.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The test user, removed when dropped.
struct TestUser;

impl TestUser {
    fn add() -> TestUser {
        // A leftover of an interrupted run is reused.
        let _ = Command::new("useradd")
            .args([
                "--no-create-home",
                "--home-dir",
                "/tmp",
                "--shell",
                "/bin/sh",
                USER,
            ])
            .status();
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .expect("run chpasswd");
        use std::io::Write;
        chpasswd
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{USER}:{PASSWORD}\n").as_bytes())
            .expect("write to chpasswd");
        assert!(chpasswd.wait().expect("chpasswd").success(), "chpasswd");
        TestUser
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(USER).status();
    }
}

/// rsyslog with its own configuration: authpriv messages from /dev/log to `log`.
fn start_rsyslog(dir: &Path, log: &Path) -> (Daemon, RemoveOnDrop) {
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            "global(workDirectory=\"{dir}\")\n\
             module(load=\"imuxsock\")\n\
             auth,authpriv.* action(type=\"omfile\" file=\"{log}\")\n",
            dir = dir.display(),
            log = log.display()
        ),
    )
    .expect("write rsyslog.conf");
    let child = Command::new("/usr/sbin/rsyslogd")
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(dir.join("rsyslogd.pid"))
        .spawn()
        .expect("start rsyslogd");
    let daemon = Daemon(child);
    wait_until(Duration::from_secs(10), || Path::new("/dev/log").exists());
    (daemon, RemoveOnDrop(PathBuf::from("/dev/log")))
}

/// A path removed when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// sshd on 127.0.0.1:`port` with a host key of its own, logging to syslog (AUTH).
fn start_sshd(dir: &Path, port: u16) -> Daemon {
    let key = dir.join("host_ed25519");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    std::fs::create_dir_all("/run/sshd").expect("privilege separation directory");
    let conf = dir.join("sshd_config");
    std::fs::write(
        &conf,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {key}\nPidFile {pid}\n\
             UsePAM yes\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication no\nPermitRootLogin no\nSyslogFacility AUTH\nLogLevel INFO\n",
            key = key.display(),
            pid = dir.join("sshd.pid").display()
        ),
    )
    .expect("write sshd_config");
    let child = Command::new("/usr/sbin/sshd")
        .arg("-D")
        .arg("-f")
        .arg(&conf)
        .spawn()
        .expect("start sshd");
    let daemon = Daemon(child);
    wait_until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    daemon
}

/// One login attempt with one password try; whether it got in.
fn login(port: u16, user: &str, password: &str) -> bool {
    Command::new("sshpass")
        .args(["-p", password, "ssh"])
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "PreferredAuthentications=password",
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "LogLevel=ERROR",
            "-p",
        ])
        .arg(port.to_string())
        .arg(format!("{user}@127.0.0.1"))
        .arg("true")
        .stdin(Stdio::null())
        .status()
        .expect("run sshpass ssh")
        .success()
}

fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The login attempts among `events`: (kind, user, invalid_user), sorted.
fn attempts(events: &[Value]) -> Vec<(String, String, bool)> {
    let mut found: Vec<(String, String, bool)> = events
        .iter()
        .filter(|e| {
            matches!(
                e["kind"].as_str(),
                Some("failed" | "accepted" | "invalid_user")
            )
        })
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default().to_string(),
                e["user"].as_str().unwrap_or_default().to_string(),
                e["invalid_user"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn real_sshd_logins_through_rsyslog_reach_the_server_exactly() {
    if let Some(reason) = missing_requirement() {
        skip(&reason);
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("auth.log");
    let (_rsyslog, _socket) = start_rsyslog(dir.path(), &log);
    let _user = TestUser::add();
    let port = free_port();
    let _sshd = start_sshd(dir.path(), port);

    let token = create_token(dir.path(), "loopback", Some("52.52,13.40"));
    let server = Server::start_with(dir.path(), &[]);
    let _sensor = Sensor::start(dir.path(), &server, &token, &log);

    assert!(
        !login(port, USER, "wrong-password"),
        "a wrong password got in"
    );
    assert!(
        !login(port, INVALID_USER, "whatever"),
        "an unknown user got in"
    );
    assert!(
        login(port, USER, PASSWORD),
        "the right password was refused"
    );

    let mut expected = vec![
        ("accepted".to_string(), USER.to_string(), false),
        ("failed".to_string(), USER.to_string(), false),
        ("failed".to_string(), INVALID_USER.to_string(), true),
        ("invalid_user".to_string(), INVALID_USER.to_string(), true),
    ];
    expected.sort();
    let deadline = Instant::now() + Duration::from_secs(20);
    let events = loop {
        let (_, recent) = server.get("/api/v1/recent?limit=200").await;
        let events = recent["events"].as_array().cloned().unwrap_or_default();
        if attempts(&events) == expected || Instant::now() > deadline {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let written = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(
        attempts(&events),
        expected,
        "events: {events:#?}\nlog:\n{written}"
    );
    for event in &events {
        assert_eq!(event["ip"], "127.0.0.1", "{event}");
        assert_eq!(event["sensor"], "loopback", "{event}");
    }
    let accepted = events
        .iter()
        .find(|e| e["kind"] == "accepted")
        .expect("the accepted login");
    assert_eq!(accepted["method"], "password", "{accepted}");
    assert_eq!(accepted["outcome"], "success", "{accepted}");
    let (_, stats) = server.get("/api/v1/stats").await;
    assert_eq!(stats["successes"], 1, "{stats}");
    assert_eq!(stats["attempts"], 3, "{stats}");
    server.stop();
}
