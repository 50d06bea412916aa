//! The HTTP server loop: HTTP/1.1 with a header-read timeout that also closes idle keep-alive
//! connections, a cap of open connections per client address, graceful shutdown; and the
//! per-request guards every route gets (Host allow-list, browser security headers, a request
//! time limit, over-long URLs and bodies answered in JSON).

use super::error::ApiError;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Limits of the server loop.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A client must send a request's headers within this; an idle keep-alive connection is
    /// closed after it.
    pub header_timeout: Duration,
    /// Open connections per client address; more are closed at once.
    pub per_ip: usize,
}

/// Counts open connections per address; the slot is given back when the connection ends.
struct Slot {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl Slot {
    fn take(counts: &Arc<Mutex<HashMap<IpAddr, usize>>>, ip: IpAddr, max: usize) -> Option<Slot> {
        let mut c = counts.lock().ok()?;
        let n = c.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot {
            counts: Arc::clone(counts),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut c) = self.counts.lock()
            && let Some(n) = c.get_mut(&self.ip)
        {
            *n -= 1;
            if *n == 0 {
                c.remove(&self.ip);
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; then lets requests in flight finish.
pub async fn serve_app(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let counts: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: try again shortly.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Some(slot) = Slot::take(&counts, peer.ip(), limits.per_ip) else {
            tracing::debug!(peer = %peer.ip(), "too many connections from this address");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let svc = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .keep_alive(true);
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), svc));
        tokio::spawn(async move {
            let _ = conn.await;
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The server's per-request settings (from `[server]`).
#[derive(Debug, Clone)]
pub struct Guard {
    /// Host names (lower case, without port) the server answers to; empty: any.
    pub hosts: Vec<String>,
    pub hsts: bool,
    pub request_timeout: Duration,
    pub max_uri: usize,
}

const CSP: &str = "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

fn host_of(req: &Request) -> Option<String> {
    let h = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().host().map(str::to_owned))?;
    let h = h.trim().to_ascii_lowercase();
    // `[::1]:8080`, `example.com:8080`, `example.com`.
    Some(match h.strip_prefix('[') {
        Some(v6) => format!("[{}]", v6.split(']').next().unwrap_or_default()),
        None => h.split(':').next().unwrap_or_default().to_owned(),
    })
}

/// The most of a too-large body that is read and thrown away to keep its connection usable.
const DRAIN_MAX: u64 = 16 * 1024 * 1024;

fn declared_length(req: &Request) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Reads a body to its end, keeping nothing; `false` when it is longer than `max` or broken.
async fn discard(body: axum::body::Body, max: u64) -> bool {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut read = 0u64;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => {
                read += c.len() as u64;
                if read > max {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
    true
}

/// The connection cannot carry another request (the rest of a body was never read): the
/// client must know before it reuses it (RFC 9110, 15.5.14).
fn close(res: &mut Response) {
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
}

/// Host check, time limit, URL length, security headers — for every route.
pub async fn guard(
    axum::extract::State(g): axum::extract::State<Arc<Guard>>,
    req: Request,
    next: Next,
) -> Response {
    let mut res = if !g.hosts.is_empty() && !host_of(&req).is_some_and(|h| g.hosts.contains(&h)) {
        ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "unknown_host",
            "this server does not answer to that host name ([server] allowed_hosts)",
        )
        .into_response()
    } else if req.uri().to_string().len() > g.max_uri {
        ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the URL is longer than {} characters", g.max_uri),
        )
        .into_response()
    } else if declared_length(&req).is_some_and(|n| n > super::BODY_LIMIT as u64) {
        // Too large by its own word: read the rest (up to a bound, within the time limit) so
        // the client can finish sending and then reads the answer on a connection that stays
        // usable; a client that stops reading answers would otherwise see a broken pipe.
        let drained = tokio::time::timeout(g.request_timeout, discard(req.into_body(), DRAIN_MAX))
            .await
            .unwrap_or(false);
        let mut res = ApiError::payload_too_large().into_response();
        if !drained {
            close(&mut res);
        }
        res
    } else {
        match tokio::time::timeout(g.request_timeout, next.run(req)).await {
            Ok(mut r) => {
                // A body refused while it was read: its unread rest ends the connection.
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    close(&mut r);
                }
                r
            }
            Err(_) => ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                "the request took too long (a slow client or a slow store)",
            )
            .into_response(),
        }
    };
    let h = res.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    if g.hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    res
}
