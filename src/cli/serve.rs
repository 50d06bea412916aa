//! `kontor serve`: the HTTP API.

use super::{Cli, load_config, open_store_as};
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
    let store = open_store_as(&cfg, kontor::store::Open::Migrate).await?;
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

/// `kontor health`: asks the local server's `/healthz` (for container health checks; no curl
/// in the image). Exit 0 when it answers 200.
pub async fn health(cli: &Cli, addr: Option<&str>) -> anyhow::Result<i32> {
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
            if let Some(body) = resp.split("\r\n\r\n").nth(1) {
                println!("{body}");
            }
            Ok(0)
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
