//! Alerts to ops: a JSON message POSTed to `[server] alert_webhook` when a condition begins
//! (`firing`) and when it ends (`resolved`) — once, whichever node notices, however often it
//! is checked.
//!
//! Conditions, per connector unless said otherwise: `run_failed` (its last run failed),
//! `refused` (a file was refused and no later file loaded), `stale` (its last success is
//! older than its schedule allows), `missed_slot` (slots no node ran), `node_died` (a node
//! ended during a run of it), and per node `config_differs`. A change of a condition is
//! written to the store together with its message (an outbox); every node with a webhook
//! delivers due messages, one node per message at a time, retried with backoff until the
//! webhook takes it (a message carries its `id` — also as `Idempotency-Key` — for the rare
//! second delivery after a node died between sending and noting it).

mod conditions;

pub use conditions::{Evaluation, evaluate, missed_slots};

use crate::store::{DynStore, OutboxEntry, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

/// The message posted to the webhook.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// The outbox id (the same on a repeated delivery).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The condition while it is firing; `resolved` when it ended (`fresh` for `stale`).
    pub kind: String,
    pub condition: String,
    /// firing | resolved
    pub status: String,
    /// The connector (empty for conditions of a node).
    pub connector: String,
    pub message: String,
    pub run_id: Option<i64>,
    /// The node that noticed it.
    pub node: String,
    pub at: DateTime<Utc>,
}

pub const RUN_FAILED: &str = "run_failed";
pub const REFUSED: &str = "refused";
pub const STALE: &str = "stale";
pub const MISSED_SLOT: &str = "missed_slot";
pub const NODE_DIED: &str = "node_died";
pub const CONFIG_DIFFERS: &str = "config_differs";

/// A condition of `subject` (a connector, or `node:NAME`) begins (`firing`) or ends. Returns
/// the outbox id when this call made the change (and queued the message).
pub async fn transition(
    store: &DynStore,
    subject: &str,
    condition: &str,
    firing: bool,
    message: String,
    run_id: Option<i64>,
    node: &str,
) -> Result<Option<i64>, StoreError> {
    let kind = match (firing, condition) {
        (true, c) => c.to_owned(),
        (false, STALE) => "fresh".to_owned(),
        (false, _) => "resolved".to_owned(),
    };
    let alert = Alert {
        id: None,
        kind,
        condition: condition.to_owned(),
        status: if firing { "firing" } else { "resolved" }.to_owned(),
        connector: subject
            .strip_prefix("node:")
            .map_or(subject, |_| "")
            .to_owned(),
        message: message.clone(),
        run_id,
        node: node.to_owned(),
        at: Utc::now(),
    };
    let payload = serde_json::to_string(&alert).map_err(|e| StoreError::Data(e.to_string()))?;
    let id = store
        .alert_transition(subject, condition, firing, &message, &payload)
        .await?;
    if id.is_some() {
        if firing {
            tracing::warn!(subject, condition, run_id, "alert: {message}");
        } else {
            tracing::info!(subject, condition, "alert resolved: {message}");
        }
    }
    Ok(id)
}

/// Waiting time before the next attempt after `attempts` failed ones: 1 s, 2 s, 4 s, … up to
/// 5 minutes.
pub fn backoff(attempts: u64) -> Duration {
    Duration::from_secs(1u64 << attempts.min(9)).min(Duration::from_secs(300))
}

/// How long a node holds a message it is sending (longer than the HTTP timeout).
const LEASE: Duration = Duration::from_secs(60);

/// Posts due messages of the outbox to `url`; returns how many were delivered.
pub async fn deliver_due(
    store: &DynStore,
    client: &reqwest::Client,
    url: &str,
    node: &str,
    metrics: &crate::metrics::Metrics,
) -> Result<usize, StoreError> {
    let lease = Utc::now() + chrono::TimeDelta::from_std(LEASE).unwrap_or_default();
    let mut delivered = 0;
    for e in store.claim_alerts(node, lease, 20).await? {
        match post(client, url, &e).await {
            Ok(()) => {
                store.alert_delivered(e.id).await?;
                metrics.observe_webhook(true);
                delivered += 1;
            }
            Err(why) => {
                metrics.observe_webhook(false);
                let wait = backoff(e.attempts);
                tracing::warn!(
                    alert_id = e.id,
                    subject = %e.subject,
                    condition = %e.condition,
                    status = %e.status,
                    attempt = e.attempts + 1,
                    retry_in_s = wait.as_secs(),
                    "alert webhook: {why}; kept for the next attempt"
                );
                let next = Utc::now() + chrono::TimeDelta::from_std(wait).unwrap_or_default();
                store.alert_failed(e.id, &why, next).await?;
            }
        }
    }
    Ok(delivered)
}

async fn post(client: &reqwest::Client, url: &str, e: &OutboxEntry) -> Result<(), String> {
    let mut body: serde_json::Value =
        serde_json::from_str(&e.payload).map_err(|x| format!("stored message: {x}"))?;
    body["id"] = e.id.into();
    match client
        .post(url)
        .header("Idempotency-Key", format!("kontor-alert-{}", e.id))
        .json(&body)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("answered {}", r.status())),
        Err(x) => Err(format!("not reached: {}", x.without_url())),
    }
}

/// The HTTP client for webhooks.
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("kontor/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let b: Vec<u64> = (0..12).map(|a| super::backoff(a).as_secs()).collect();
        assert_eq!(b, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
    }
}
