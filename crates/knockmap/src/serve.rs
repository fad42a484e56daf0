//! `knockmap serve`: the server, optionally following local logs.

use std::sync::Arc;

use anyhow::Context;
use knockmap_geo::GeoDb;
use knockmap_server::{
    AdminAccess, AppState, LocalSourceHandle, Location, LogSpec, PublicView, ShodanConfig,
};
use knockmap_source::StartAt;

use crate::cli::{ServeArgs, ServerOptions};
use crate::paths;

/// Runs `knockmap serve` until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let server = Server::start(&args.server).await?;
    let mut sources = Vec::new();
    let tz = paths::timezone(args.server.timezone.as_deref())?;
    for spec in &args.source {
        for resolved in paths::resolve_source(spec)? {
            let source = LogSpec {
                checkpoint: Some(paths::prepare_checkpoint(
                    &server.data_dir,
                    &resolved.input,
                )?),
                input: resolved.input,
                generic: resolved.generic,
                start: StartAt::from(args.start.start_at),
                tz: tz.clone(),
            };
            sources.push(
                knockmap_server::spawn_local_source(source, server.state.ingestor.clone())
                    .context("starting a log follower")?,
            );
        }
    }
    server.run_until_stopped(sources).await
}

/// A started server: store open, geolocation loaded, listener bound.
pub struct Server {
    /// The state handlers share.
    pub state: AppState,
    /// The data directory.
    pub data_dir: std::path::PathBuf,
    listener: tokio::net::TcpListener,
}

impl Server {
    /// Opens the store and geolocation and binds the listener.
    pub async fn start(options: &ServerOptions) -> anyhow::Result<Server> {
        raise_open_files_limit();
        let data_dir = paths::data_dir(&options.data)?;
        let store = paths::open_store(options.db.as_deref(), &data_dir).await?;
        let geo: Arc<GeoDb> = paths::open_geo(&options.geo, &data_dir).await?;
        let home = options.home.map(|(lat, lon)| Location { lat, lon });
        crate::retention::Retention {
            events: options.retain_events,
            rollups: options.retain_rollups,
        }
        .spawn(store.clone());
        // The dashboard's statistics come from the database until the summary is in memory.
        let summary_store = store.clone();
        tokio::spawn(async move {
            if let Err(error) = summary_store.load_summary().await {
                tracing::warn!(%error, "cannot load the statistics summary; the database answers");
            }
        });
        let mut state = AppState::new(store, geo, home);
        if let Some(key) = options
            .shodan_key
            .as_deref()
            .filter(|k| !k.trim().is_empty())
        {
            state = state.with_shodan(ShodanConfig {
                key: key.trim().to_string(),
                base_url: options.shodan_url.clone(),
                timeout: std::time::Duration::from_secs_f64(
                    options.shodan_timeout.clamp(0.1, 300.0),
                ),
            })?;
        }
        if options.public {
            if options.admin_password.is_some() || options.admin_token.is_some() {
                anyhow::bail!(
                    "--public has no admin routes: leave out --admin-password and --admin-token \
                     (run a second, private server on the same database to administer)"
                );
            }
            state = state.with_public(PublicView {
                show_users: options.public_show_users,
            });
        } else {
            state = state.with_admin(admin_access(options)?);
        }
        let (listener, addr) = knockmap_server::bind(options.listen)
            .await
            .with_context(|| format!("cannot listen on {}", options.listen))?;
        // Printed plainly (not only logged) so scripts and tests can find the port.
        eprintln!("knockmap: listening on http://{addr}/");
        Ok(Server {
            state,
            data_dir,
            listener,
        })
    }

    /// Serves until Ctrl-C or SIGTERM, then stops the followers after their current batch.
    pub async fn run_until_stopped(self, sources: Vec<LocalSourceHandle>) -> anyhow::Result<()> {
        knockmap_server::serve(self.listener, self.state, shutdown_signal()).await?;
        tokio::task::spawn_blocking(move || sources.into_iter().for_each(LocalSourceHandle::stop))
            .await?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Every open page holds a websocket, and every socket is an open file: the usual soft
/// limit of 1,024 would refuse the thousand-and-first page. The soft limit is raised to the
/// hard limit the system allows.
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open files limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open files limit"),
    }
}

/// The admin credentials the options give.
fn admin_access(options: &ServerOptions) -> anyhow::Result<AdminAccess> {
    let mut admin = AdminAccess::none();
    if let Some(token) = &options.admin_token {
        admin = admin.with_token(token)?;
    }
    if let Some(password) = &options.admin_password {
        admin = admin.with_password(password)?;
    }
    Ok(admin)
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match terminate.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = interrupt => {}
        _ = terminated => {}
    }
    tracing::info!("shutting down");
}
