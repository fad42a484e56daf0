//! The command line. Every flag can also be set by a `KNOCKMAP_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// See who knocks on your SSH door: sshd authentication logs to a live world map.
#[derive(Debug, Parser)]
#[command(name = "knockmap", version, about, long_about = None)]
pub struct Cli {
    /// More log output (-v debug, -vv trace); `KNOCKMAP_LOG` takes a full filter.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: store events, geolocate them, serve the live map and the API.
    ///
    /// With --source, follow sshd's log on this machine (one-host mode). Open
    /// http://127.0.0.1:5000/ to see the map.
    Serve(ServeArgs),
    /// Run the server fed by a realistic synthetic attack stream, to see the map come alive
    /// without an SSH server. Uses a temporary database unless --db is given.
    Demo(DemoArgs),
    /// Print the events of sshd log files as JSON lines (one event per line).
    Parse(ParseArgs),
    /// Backfill log files (rotated and .gz too) into the database, oldest first, or migrate
    /// a Mapper-Server database. Importing the same lines or rows again adds nothing.
    Import(ImportArgs),
    /// Manage the geolocation database.
    Geoip(GeoipArgs),
    /// Manage the tokens remote sensors authenticate with (run on the server's machine).
    Token(TokenArgs),
    /// Follow sshd's log on this machine and ship its events to a knockmap server
    /// (many-host mode). Create the token on the server with `knockmap token create NAME`.
    Sensor(SensorArgs),
    /// Read a password from standard input and print its argon2 hash, for
    /// --admin-password (KNOCKMAP_ADMIN_PASSWORD).
    HashPassword,
}

/// Options shared by every command that runs the server.
#[derive(Debug, Args)]
pub struct ServerOptions {
    /// Database URL: sqlite://PATH (default: knockmap.sqlite in the data directory).
    #[arg(long, env = "KNOCKMAP_DB", value_name = "URL")]
    pub db: Option<String>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(
        long,
        env = "KNOCKMAP_LISTEN",
        default_value = "127.0.0.1:5000",
        value_name = "ADDR"
    )]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub geo: GeoOptions,
    /// Where the map's arcs land: this server's location.
    #[arg(long, env = "KNOCKMAP_HOME", value_name = "LAT,LON", value_parser = parse_lat_lon,
          allow_hyphen_values = true)]
    pub home: Option<(f64, f64)>,
    /// Zone of log timestamps written without one (default: this machine's).
    #[arg(long, env = "KNOCKMAP_TIMEZONE", value_name = "TZ")]
    pub timezone: Option<String>,
    /// Token that opens the admin API (`GET /api/v1/sensors`) as `Authorization: Bearer`.
    /// Prefer the environment variable: command lines are visible to other users.
    #[arg(
        long,
        env = "KNOCKMAP_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
    /// Password that signs people in on the page as admin (to star and annotate attackers):
    /// an argon2 hash as `knockmap hash-password` prints it (best), or the password itself,
    /// hashed at start and not kept. Prefer the environment variable.
    #[arg(
        long,
        env = "KNOCKMAP_ADMIN_PASSWORD",
        value_name = "HASH",
        hide_env_values = true
    )]
    pub admin_password: Option<String>,
    /// Shodan API key: an attacker's page shows what Shodan knows about it (open ports,
    /// organisation, OS, host names, banners), fetched once and cached in the database.
    #[arg(
        long,
        env = "KNOCKMAP_SHODAN_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub shodan_key: Option<String>,
    /// Shodan's API address (for a proxy).
    #[arg(
        long,
        env = "KNOCKMAP_SHODAN_URL",
        value_name = "URL",
        default_value = "https://api.shodan.io",
        hide = true
    )]
    pub shodan_url: String,
    /// How long one Shodan lookup may take, in seconds.
    #[arg(
        long,
        env = "KNOCKMAP_SHODAN_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 10.0,
        hide = true
    )]
    pub shodan_timeout: f64,
    /// Public mode, for showing the map on a homepage: addresses are shown only as their
    /// network (IPv4 /24, IPv6 /48), user names are hidden, and there are no address pages,
    /// no admin routes and no /metrics. Sensors still report to /api/v1/ingest.
    #[arg(long, env = "KNOCKMAP_PUBLIC")]
    pub public: bool,
    /// In public mode, show the user names tried (they can hold passwords typed by mistake).
    #[arg(long, env = "KNOCKMAP_PUBLIC_SHOW_USERS", requires = "public")]
    pub public_show_users: bool,
    /// Delete raw events older than AGE (such as 90d, 12w or 36h) in the background. The
    /// statistics, the map and each address's totals, stars and notes keep counting them.
    /// Default: keep everything.
    #[arg(long, env = "KNOCKMAP_RETAIN_EVENTS", value_name = "AGE", value_parser = parse_age)]
    pub retain_events: Option<jiff::SignedDuration>,
    /// Delete the hourly aggregates behind the statistics for hours older than AGE.
    /// Default: keep everything.
    #[arg(long, env = "KNOCKMAP_RETAIN_ROLLUPS", value_name = "AGE", value_parser = parse_age)]
    pub retain_rollups: Option<jiff::SignedDuration>,
    #[command(flatten)]
    pub data: DataDirOption,
}

/// Where knockmap keeps its files.
#[derive(Debug, Args)]
pub struct DataDirOption {
    /// Directory for the default database, checkpoints and the downloaded geolocation data
    /// (default: ~/.local/share/knockmap).
    #[arg(long, env = "KNOCKMAP_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Geolocation databases.
#[derive(Debug, Args)]
pub struct GeoOptions {
    /// An MMDB file: GeoIP2/GeoLite2 City or ASN, DB-IP, or ip-location-db (repeatable).
    /// Without it, DB-IP Lite City is downloaded to the data directory on first run.
    #[arg(
        long = "geoip",
        env = "KNOCKMAP_GEOIP",
        value_name = "PATH",
        value_delimiter = ','
    )]
    pub paths: Vec<PathBuf>,
    /// Never download a geolocation database.
    #[arg(long, env = "KNOCKMAP_NO_GEOIP_DOWNLOAD")]
    pub no_geoip_download: bool,
}

/// `knockmap serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub server: ServerOptions,
    /// A log to follow: a file path or glob, `journald`, `auto` (/var/log/auth.log, else
    /// /var/log/secure, else journald), or `generic:PATH` (any line with an IP address is a
    /// probe). Repeatable. A log is read from where the last run stopped; see --start-at for
    /// the first time.
    #[arg(
        long,
        env = "KNOCKMAP_SOURCE",
        value_name = "SPEC",
        value_delimiter = ','
    )]
    pub source: Vec<String>,
    #[command(flatten)]
    pub start: StartOption,
}

/// `knockmap demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub server: ServerOptions,
    /// Average events per second.
    #[arg(long, default_value_t = 4.0)]
    pub rate: f64,
    /// Seed of the synthetic stream (default: random).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// `knockmap parse`.
#[derive(Debug, Args)]
pub struct ParseArgs {
    /// Log files to read (`.gz` too); `-` or nothing reads standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Year of timestamps written without one (default: inferred from the file's time).
    #[arg(long)]
    pub year: Option<i16>,
    /// Zone of timestamps written without one (default: this machine's).
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,
    /// Print a summary to standard error: lines, sshd lines, events by kind, unmatched lines,
    /// throughput.
    #[arg(long)]
    pub stats: bool,
    /// Only classify every line and print the --stats summary (no events on standard output).
    #[arg(long, conflicts_with = "unmatched")]
    pub count: bool,
    /// Print the sshd lines that matched no known form (instead of events), to find new forms.
    #[arg(long)]
    pub unmatched: bool,
    /// Threads that classify for --count (default: one per core). The counts are the same
    /// for any number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    /// Also turn any other line that contains an IP address into a `probe` event for that
    /// address (for logs of other programs: web servers, firewalls, …).
    #[arg(long)]
    pub generic: bool,
}

/// Where a follower starts in a log never read before.
#[derive(Debug, Args)]
pub struct StartOption {
    /// Where to start in a log never read before: its beginning (backfill) or its end (only
    /// what is written from now on).
    #[arg(long, env = "KNOCKMAP_START_AT", value_enum, default_value_t = StartAtArg::Beginning)]
    pub start_at: StartAtArg,
}

/// Where to start in a log never read before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StartAtArg {
    /// From its first line (backfill).
    Beginning,
    /// Only lines written from now on.
    End,
}

impl From<StartAtArg> for knockmap_source::StartAt {
    fn from(arg: StartAtArg) -> Self {
        match arg {
            StartAtArg::Beginning => knockmap_source::StartAt::Beginning,
            StartAtArg::End => knockmap_source::StartAt::End,
        }
    }
}

/// `knockmap import`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).multiple(true)
    .args(["files", "from_mapper_server"])))]
pub struct ImportArgs {
    /// Log files: `auth.log`, `auth.log.1`, `auth.log.2.gz`, … in any order (each rotation
    /// family is read oldest first).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Migrate from Mapper-Server: read the attempts and stars of its MariaDB/MySQL database,
    /// as in mysql://USER:PASSWORD@HOST/log_mapper. Importing it again adds nothing.
    #[arg(
        long,
        env = "KNOCKMAP_FROM_MAPPER_SERVER",
        value_name = "URL",
        hide_env_values = true
    )]
    pub from_mapper_server: Option<String>,
    /// Database URL: sqlite://PATH (default: knockmap.sqlite in the data directory).
    #[arg(long, env = "KNOCKMAP_DB", value_name = "URL")]
    pub db: Option<String>,
    #[command(flatten)]
    pub geo: GeoOptions,
    /// Zone of log timestamps written without one and of Mapper-Server's times (default:
    /// this machine's).
    #[arg(long, env = "KNOCKMAP_TIMEZONE", value_name = "TZ")]
    pub timezone: Option<String>,
    /// Also turn any other line that contains an IP address into a `probe` event.
    #[arg(long)]
    pub generic: bool,
    /// Plain progress lines instead of a progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress_bar: bool,
    #[command(flatten)]
    pub data: DataDirOption,
}

/// `knockmap geoip`.
#[derive(Debug, Args)]
pub struct GeoipArgs {
    #[command(subcommand)]
    pub command: GeoipCommand,
    #[command(flatten)]
    pub data: DataDirOption,
}

/// `knockmap geoip …`.
#[derive(Debug, Subcommand)]
pub enum GeoipCommand {
    /// Download (or refresh) DB-IP Lite City into the data directory.
    Fetch,
    /// Look an address up and print what is known as JSON.
    Lookup {
        /// The address.
        ip: std::net::IpAddr,
        #[command(flatten)]
        geo: GeoOptions,
    },
}

/// The database options of commands that only touch the database.
#[derive(Debug, Args)]
pub struct DbOptions {
    /// Database URL: sqlite://PATH (default: knockmap.sqlite in the data directory).
    #[arg(long, env = "KNOCKMAP_DB", value_name = "URL")]
    pub db: Option<String>,
    #[command(flatten)]
    pub data: DataDirOption,
}

/// `knockmap token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

/// `knockmap token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Register a sensor and print its new token (shown once; only its hash is kept).
    Create {
        /// The sensor's name (letters, digits, `.`, `_`, `-`): its events are stored under it.
        name: String,
        /// Where the sensor is: the map's arcs for its events land there.
        #[arg(long, value_name = "LAT,LON", value_parser = parse_lat_lon,
              allow_hyphen_values = true)]
        location: Option<(f64, f64)>,
        #[command(flatten)]
        db: DbOptions,
    },
    /// List the sensors: name, location, created, last seen, revoked.
    List {
        #[command(flatten)]
        db: DbOptions,
    },
    /// Revoke a sensor's token; the server refuses it from the next request on.
    Revoke {
        /// The sensor's name.
        name: String,
        #[command(flatten)]
        db: DbOptions,
    },
}

/// `knockmap sensor`.
#[derive(Debug, Args)]
pub struct SensorArgs {
    /// The knockmap server, as in https://knockmap.example.org or http://10.0.0.5:5000.
    #[arg(long, env = "KNOCKMAP_SERVER", value_name = "URL")]
    pub server: String,
    /// This sensor's token, from `knockmap token create NAME` on the server. Prefer the
    /// KNOCKMAP_TOKEN environment variable: command lines are visible to other users.
    #[arg(
        long,
        env = "KNOCKMAP_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: String,
    /// A log to follow: a file path or glob, `journald`, `auto` (/var/log/auth.log, else
    /// /var/log/secure, else journald), or `generic:PATH`. Repeatable. A log is read from
    /// where the last shipped batch ended; see --start-at for the first time.
    #[arg(
        long,
        env = "KNOCKMAP_SOURCE",
        value_name = "SPEC",
        value_delimiter = ',',
        default_value = "auto"
    )]
    pub source: Vec<String>,
    #[command(flatten)]
    pub start: StartOption,
    /// Where read positions are kept (default: sensor/ in the data directory).
    #[arg(long, env = "KNOCKMAP_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Most events in one batch.
    #[arg(long, env = "KNOCKMAP_BATCH_EVENTS", default_value_t = 1000, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch_events: u32,
    /// Longest a read event waits before its batch is sent, in milliseconds.
    #[arg(
        long,
        env = "KNOCKMAP_BATCH_MS",
        default_value_t = 1000,
        value_name = "T"
    )]
    pub batch_ms: u64,
    /// Zone of log timestamps written without one (default: this machine's).
    #[arg(long, env = "KNOCKMAP_TIMEZONE", value_name = "TZ")]
    pub timezone: Option<String>,
    /// Most disk space for batches the server could not take yet (in the state directory),
    /// in bytes or with a K, M or G suffix (powers of 1024). When full, the oldest batches
    /// are dropped, with a warning.
    #[arg(long, env = "KNOCKMAP_SPOOL_MAX_BYTES", value_name = "SIZE",
          default_value = "256M", value_parser = parse_size)]
    pub spool_max_bytes: u64,
    /// A PEM file of CA certificates to trust for an https:// server, besides the system's
    /// and Mozilla's roots (for a server with a certificate from a private CA).
    #[arg(long, env = "KNOCKMAP_CA_FILE", value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
    /// Longest wait between retries while the server is unreachable, in seconds.
    #[arg(long, env = "KNOCKMAP_RETRY_MAX_SECS", default_value_t = 30, value_name = "S",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub retry_max_secs: u64,
}

/// A size in bytes, optionally with a K, M or G suffix (also KiB, MiB, GiB), powers of 1024.
fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits_end);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("expected a size such as 268435456 or 256M, got {text:?}"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?} (use K, M or G)")),
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// An age such as `90d`, `12w`, `36h` or `30m`.
fn parse_age(text: &str) -> Result<jiff::SignedDuration, String> {
    let expected = || format!("expected an age such as 90d, 12w, 36h or 30m, got {text:?}");
    let text = text.trim();
    let unit_at = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(expected)?;
    let (number, unit) = text.split_at(unit_at);
    let number: i64 = number.parse().map_err(|_| expected())?;
    let seconds_per_unit = match unit {
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(expected()),
    };
    if number == 0 {
        return Err(format!(
            "{text:?} would delete everything as soon as it is stored"
        ));
    }
    number
        .checked_mul(seconds_per_unit)
        .filter(|s| *s < 1_000 * 365 * 86_400)
        .map(jiff::SignedDuration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

fn parse_lat_lon(text: &str) -> Result<(f64, f64), String> {
    let (lat, lon) = text
        .split_once(',')
        .ok_or_else(|| format!("expected LAT,LON such as 50.11,8.68, got {text:?}"))?;
    let lat: f64 = lat
        .trim()
        .parse()
        .map_err(|_| format!("latitude {lat:?} is not a number"))?;
    let lon: f64 = lon
        .trim()
        .parse()
        .map_err(|_| format!("longitude {lon:?} is not a number"))?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(format!("{lat},{lon} is outside -90..90, -180..180"));
    }
    Ok((lat, lon))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_have_a_unit_and_are_not_zero() {
        assert_eq!(
            parse_age("90d"),
            Ok(jiff::SignedDuration::from_hours(90 * 24))
        );
        assert_eq!(
            parse_age("2w"),
            Ok(jiff::SignedDuration::from_hours(14 * 24))
        );
        assert_eq!(parse_age("36h"), Ok(jiff::SignedDuration::from_hours(36)));
        assert_eq!(parse_age("30m"), Ok(jiff::SignedDuration::from_mins(30)));
        for bad in ["90", "d", "-5d", "1.5d", "0d", "10y", "99999999999999w"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lat_lon_is_checked() {
        assert_eq!(parse_lat_lon("50.1, 8.7"), Ok((50.1, 8.7)));
        assert!(parse_lat_lon("91,0").is_err());
        assert!(parse_lat_lon("north").is_err());
    }

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert!(parse_size("M").is_err());
        assert!(parse_size("12T").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
