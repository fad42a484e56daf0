//! Writes a realistic synthetic sshd auth log to stdout.
//!
//! ```text
//! cargo run --release -p knockmap-parse --features gen --example gen_authlog -- --lines 1000000 --seed 1 > /tmp/auth.log
//! ```

use std::io::Write;

use knockmap_parse::generate::{GenOptions, Generator};

fn main() -> std::io::Result<()> {
    let mut lines: usize = 100_000;
    let mut opts = GenOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        let parsed = value.as_deref().and_then(|v| v.parse::<u64>().ok());
        match (arg.as_str(), parsed) {
            ("--lines", Some(n)) => lines = usize::try_from(n).unwrap_or(usize::MAX),
            ("--seed", Some(n)) => opts.seed = n,
            ("--start", Some(n)) => opts.start = i64::try_from(n).unwrap_or(opts.start),
            _ => {
                eprintln!("usage: gen_authlog [--lines N] [--seed S] [--start UNIX_SECONDS]");
                std::process::exit(2);
            }
        }
    }
    let mut generator = Generator::new(opts);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut buf = Vec::with_capacity(1 << 20);
    let mut left = lines;
    while left > 0 {
        let n = left.min(10_000);
        buf.clear();
        for _ in 0..n {
            generator.line(&mut buf);
        }
        out.write_all(&buf)?;
        left -= n;
    }
    out.flush()
}
