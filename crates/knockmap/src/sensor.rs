//! `knockmap sensor`: follow logs on this machine and ship their events to a server.
//!
//! The work (batching, the disk spool, shipping with retry) is in `knockmap-sensor`; this
//! module turns the command line into its configuration.

use std::time::Duration;

use anyhow::Context;
use knockmap_sensor::{Batching, SensorConfig};
use knockmap_server::LogSpec;
use knockmap_source::StartAt;

use crate::cli::{DataDirOption, SensorArgs};
use crate::paths;

/// Runs `knockmap sensor` until Ctrl-C or SIGTERM, or until the server refuses it.
pub fn run(args: SensorArgs) -> anyhow::Result<std::process::ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(args))?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn run_async(args: SensorArgs) -> anyhow::Result<()> {
    let state_dir = match &args.state_dir {
        Some(dir) => dir.clone(),
        None => paths::data_dir(&DataDirOption { data_dir: None })?.join("sensor"),
    };
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("cannot create the state directory {}", state_dir.display()))?;
    let tz = paths::timezone(args.timezone.as_deref())?;

    let mut sources = Vec::new();
    for spec in &args.source {
        for resolved in paths::resolve_source(spec)? {
            sources.push(LogSpec {
                checkpoint: Some(paths::prepare_checkpoint(&state_dir, &resolved.input)?),
                input: resolved.input,
                start: StartAt::from(args.start.start_at),
                generic: resolved.generic,
                tz: tz.clone(),
            });
        }
    }

    let config = SensorConfig {
        server: args.server,
        token: args.token,
        sources,
        state_dir,
        batching: Batching {
            events: args.batch_events as usize,
            window: Duration::from_millis(args.batch_ms),
        },
        spool_max_bytes: args.spool_max_bytes,
        ca_file: args.ca_file,
        max_retry_delay: Duration::from_secs(args.retry_max_secs),
    };
    Ok(knockmap_sensor::run(config, crate::serve::shutdown_signal()).await?)
}
