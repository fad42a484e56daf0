//! `knockmap`: see who knocks on your SSH door.
#![forbid(unsafe_code)]

mod cli;
mod demo;
mod geoip;
mod import;
mod lines;
mod parse;
mod password;
mod paths;
mod retention;
mod sensor;
mod serve;
mod token;

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    init_logging(cli.verbose);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("knockmap: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: cli::Cli) -> anyhow::Result<std::process::ExitCode> {
    use cli::Command;
    match cli.command {
        Command::Parse(args) => parse::run(args),
        Command::Import(args) => block_on(import::run(args)),
        Command::Serve(args) => block_on(serve::run(args)),
        Command::Demo(args) => block_on(demo::run(args)),
        Command::Geoip(args) => block_on(geoip::run(args)),
        Command::Token(args) => block_on(token::run(args)),
        Command::Sensor(args) => sensor::run(args),
        Command::HashPassword => password::run(),
    }
}

/// Runs an async command on a multi-threaded runtime.
fn block_on(
    command: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<std::process::ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(command)?;
    Ok(std::process::ExitCode::SUCCESS)
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KNOCKMAP_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{default},sqlx=warn,hyper=warn"))
    });
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}
