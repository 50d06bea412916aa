//! `kontor serve`: the HTTP API.

use super::{Cli, load_config, open_store_as};
use kontor::api::{AppState, serve};
use std::sync::Arc;

/// `kontor health`.
#[derive(clap::Args, Debug)]
pub struct HealthArgs {
    /// host:port (default: [server] listen).
    #[arg(long)]
    pub addr: Option<String>,
    /// Exit 0 whenever the server answers, degraded or not (a liveness check: restarting
    /// a node does not mend a refused file or a stale source).
    #[arg(long)]
    pub live: bool,
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

pub async fn run(cli: &Cli, listen: Option<&str>) -> anyhow::Result<i32> {
    let cfg = Arc::new(load_config(cli)?);
    let store = open_store_as(&cfg, kontor::store::Open::Migrate).await?;
    let addr = listen.unwrap_or(&cfg.server.listen).to_owned();
    let state = AppState::new(store.clone(), Arc::clone(&cfg)).await?;
    state.runner.set_take_over(cli.take_over_config);
    // A node whose configuration differs from the cluster's serves (search, views) but
    // changes nothing, and says why (log, /healthz, alert) until it matches.
    if state.runner.check_config().await?.allows_changes() {
        kontor::identity::resolve_changed(&store, &cfg).await?;
        state.refresh_directory(false).await?;
    }
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    super::banner(
        cli,
        &format!(
            "kontor serves on http://{} ({} customers; OpenAPI at /api/v1/openapi.json)",
            listener.local_addr()?,
            state.directory().len()
        ),
    );
    let reloader = tokio::spawn(reload_on_hangup(cli.config.clone(), Arc::clone(&state)));
    let result = serve(listener, state, shutdown_signal()).await;
    reloader.abort();
    result?;
    Ok(0)
}

/// SIGHUP: load the configuration and the mappings again (checked against the cluster's
/// like at the start); a configuration that does not load is reported and the old one
/// stays. Never ends the server.
async fn reload_on_hangup(path: Option<std::path::PathBuf>, state: Arc<AppState>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            let file = kontor::config::locate(path.as_deref());
            match kontor::config::Config::load(&file) {
                Err(d) => tracing::error!(
                    "SIGHUP: the configuration does not load; keeping the running one: {}",
                    super::diags_text(&d)
                ),
                Ok(cfg) => {
                    let fingerprint = kontor::cluster::Fingerprint::of(&cfg).digest;
                    match state.reload(cfg).await {
                        Ok(v) if v.allows_changes() => {
                            tracing::info!(%fingerprint, "SIGHUP: configuration and mappings loaded again")
                        }
                        Ok(_) => {
                            tracing::warn!(%fingerprint, "SIGHUP: loaded, but it differs from the cluster's configuration: this node changes nothing")
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "SIGHUP: the configuration could not be checked")
                        }
                    }
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (path, state);
    }
}

/// `kontor health`: asks the local server's `/healthz` (for container health checks; no curl
/// in the image). Exit 0 when it answers 200 with `status: ok`, 2 when it is `degraded`
/// (`--live`: 0 as long as it answers), 1 when it does not answer.
pub async fn health(cli: &Cli, a: &HealthArgs) -> anyhow::Result<i32> {
    let (addr, live) = (a.addr.as_deref(), a.live);
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let target = match addr {
        Some(a) => a.to_owned(),
        None => {
            let cfg = load_config(cli)?;
            let listen: std::net::SocketAddr = cfg.server.listen.parse()?;
            let ip = if listen.ip().is_unspecified() {
                std::net::IpAddr::from([127, 0, 0, 1])
            } else {
                listen.ip()
            };
            std::net::SocketAddr::new(ip, listen.port()).to_string()
        }
    };
    let check = async {
        let mut s = tokio::net::TcpStream::connect(&target).await?;
        s.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&buf).into_owned())
    };
    match tokio::time::timeout(std::time::Duration::from_secs(8), check).await {
        Ok(Ok(resp)) if resp.starts_with("HTTP/1.0 200") || resp.starts_with("HTTP/1.1 200") => {
            let body = resp.split("\r\n\r\n").nth(1).unwrap_or_default();
            println!("{body}");
            let status = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["status"].as_str().map(str::to_owned))
                .unwrap_or_default();
            if status == "ok" || live {
                Ok(0)
            } else {
                eprintln!(
                    "{target}: {}",
                    if status.is_empty() {
                        "no status"
                    } else {
                        &status
                    }
                );
                Ok(2)
            }
        }
        Ok(Ok(resp)) => {
            eprintln!("{target}: {}", resp.lines().next().unwrap_or("no answer"));
            Ok(1)
        }
        Ok(Err(e)) => {
            eprintln!("{target}: {e}");
            Ok(1)
        }
        Err(_) => {
            eprintln!("{target}: no answer within 8 s");
            Ok(1)
        }
    }
}
