//! Alerts to ops: a JSON message POSTed to `[server] alert_webhook` when a run fails or a
//! source becomes stale (once per change, not on every check).

use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// `run_failed`, `stale` or `fresh` (recovered).
    pub kind: String,
    pub connector: String,
    pub message: String,
    pub run_id: Option<i64>,
    pub node: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Posts an alert; failures are logged, never fatal.
pub async fn post(url: &str, alert: &Alert) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("kontor/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "alert webhook: no HTTP client");
            return;
        }
    };
    match client.post(url).json(alert).send().await {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => tracing::warn!(status = %r.status(), "alert webhook answered with an error"),
        Err(e) => tracing::warn!(error = %e.without_url(), "alert webhook not reached"),
    }
}
