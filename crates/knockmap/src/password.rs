//! `knockmap hash-password`: the argon2 hash of a password, for `--admin-password`.

use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use anyhow::Context;

/// Reads one line (the password) from standard input and prints its argon2id hash.
pub fn run() -> anyhow::Result<ExitCode> {
    let mut line = String::new();
    io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        anyhow::bail!("no password on standard input (type it and press Enter, or pipe it in)");
    }
    let hash = knockmap_server::hash_password(password)?;
    writeln!(io::stdout().lock(), "{hash}")?;
    Ok(ExitCode::SUCCESS)
}
