//! Background duties of the server: react to finished runs (reload the directory, alert on
//! failures) and watch scheduled sources for staleness.

use super::AppState;
use crate::alert::{Alert, post};
use crate::store::RunStatus;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

async fn alert(
    state: &AppState,
    kind: &str,
    connector: &str,
    message: String,
    run_id: Option<i64>,
) {
    tracing::warn!(connector, kind, "{message}");
    if let Some(url) = &state.cfg.server.alert_webhook {
        let a = Alert {
            kind: kind.to_owned(),
            connector: connector.to_owned(),
            message,
            run_id,
            node: state.runner.node.clone(),
            at: Utc::now(),
        };
        post(url, &a).await;
    }
}

/// After every run of this process: the directory reloads, a failed run alerts.
pub(super) async fn events(state: Arc<AppState>) {
    let Some(mut rx) = state.take_events() else {
        return;
    };
    while let Some(ev) = rx.recv().await {
        if let Err(e) = state.refresh_directory(false).await {
            tracing::warn!(error = %e, "directory refresh after a run failed");
        }
        let dir = state.directory();
        if let Err(e) = crate::front::reminders::after_sync(&state.store, &state.cfg, &dir).await {
            tracing::warn!(error = %e, "reminder suggestions after a run failed");
        }
        if ev.status == RunStatus::Failed {
            let msg = format!(
                "run {} of {} failed: {}",
                ev.run_id,
                ev.connector,
                ev.error.unwrap_or_default()
            );
            alert(&state, "run_failed", &ev.connector, msg, Some(ev.run_id)).await;
        }
    }
}

/// Connectors whose schedule allows an older last success than they have.
async fn stale_connectors(state: &AppState) -> BTreeSet<String> {
    match state.store.last_successes().await {
        Ok(successes) => stale_among(state, &successes),
        Err(_) => BTreeSet::new(),
    }
}

/// Connectors whose schedule allows an older last success than `successes` gives them.
pub(super) fn stale_among(
    state: &AppState,
    successes: &BTreeMap<String, DateTime<Utc>>,
) -> BTreeSet<String> {
    let now = Utc::now();
    let since = state.view.since.unwrap_or(now);
    state
        .view
        .schedules
        .iter()
        .filter(|(name, cron)| {
            crate::schedule::is_stale(cron, successes.get(*name).copied(), since, now)
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Every 30 s: a source that became stale (or fresh again) is reported once.
pub(super) async fn staleness(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut known: BTreeSet<String> = BTreeSet::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            _ = stop.changed() => return,
        }
        let now = stale_connectors(&state).await;
        for c in now.difference(&known) {
            let msg =
                format!("{c} is stale: its last successful run is older than its schedule allows");
            alert(&state, "stale", c, msg, None).await;
        }
        for c in known.difference(&now) {
            alert(&state, "fresh", c, format!("{c} is fresh again"), None).await;
        }
        known = now;
    }
}

/// Writes the audit log in the background (requests do not wait for it).
/// Writes the audit log in batches, at most once per [`AUDIT_WINDOW`]: on SQLite every write
/// makes the other connections drop their page cache, so one insert per request would make
/// every merged view read its pages again. Entries keep the time of the access. When `done`
/// is set (after the HTTP server has drained), the rest of the queue is written and it ends.
pub(super) async fn audit_writer(
    state: Arc<AppState>,
    mut done: tokio::sync::watch::Receiver<bool>,
) {
    const MAX: usize = 2000;
    let Some(mut rx) = state.take_audit() else {
        return;
    };
    let mut batch = Vec::new();
    loop {
        let mut closing = tokio::select! {
            n = rx.recv_many(&mut batch, MAX) => n == 0,
            _ = done.changed() => true,
        };
        if !closing && batch.len() < MAX {
            tokio::select! {
                _ = tokio::time::sleep(AUDIT_WINDOW) => {}
                _ = done.changed() => closing = true,
            }
        }
        while let Ok(a) = rx.try_recv() {
            batch.push(a);
        }
        if !batch.is_empty() {
            if let Err(e) = state.store.add_audit(&batch).await {
                tracing::warn!(error = %e, entries = batch.len(), "audit log entries not written");
            }
            batch.clear();
        }
        if closing {
            return;
        }
    }
}

/// How long the audit writer gathers entries before it writes them.
pub(super) const AUDIT_WINDOW: Duration = Duration::from_millis(500);

/// Hourly: retention (`[privacy] retention`) and the daily reminder suggestions.
pub(super) async fn housekeeping(
    state: Arc<AppState>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match crate::front::purge(&state.store, &state.cfg).await {
            Ok(done) => {
                for (table, n) in done.iter().filter(|(_, n)| *n > 0) {
                    tracing::info!(table, rows = n, "retention: deleted old rows");
                }
            }
            Err(e) => tracing::warn!(error = %e, "retention failed"),
        }
        let dir = state.directory();
        match crate::front::reminders::after_sync(&state.store, &state.cfg, &dir).await {
            Ok(s) if s.created > 0 => tracing::info!(created = s.created, "reminders suggested"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reminder suggestions failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.changed() => return,
        }
    }
}
