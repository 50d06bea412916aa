//! `kontor serve`: the HTTP API.

use super::{Cli, load_config, open_store};
use kontor::api::{AppState, serve};
use std::sync::Arc;

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
    let store = open_store(&cfg).await?;
    kontor::identity::resolve_store(&store, &cfg).await?;
    let addr = listen.unwrap_or(&cfg.server.listen).to_owned();
    let state = AppState::new(store, Arc::clone(&cfg)).await?;
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    eprintln!(
        "kontor serves on http://{} ({} customers; OpenAPI at /api/v1/openapi.json)",
        listener.local_addr()?,
        state.directory().len()
    );
    serve(listener, state, shutdown_signal()).await?;
    Ok(0)
}
