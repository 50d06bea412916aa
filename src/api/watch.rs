//! Background duties of the server: react to finished runs (reload the directory), check
//! the configuration against the cluster's, evaluate the alert conditions and deliver the
//! alert outbox, write the audit log, housekeeping.

use super::AppState;
use crate::store::RunStatus;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// How often a node checks its configuration against the cluster's and the alert
/// conditions against the store.
const EVALUATE_EVERY: Duration = Duration::from_secs(10);
/// How often a node with a webhook looks for messages to deliver.
const DELIVER_EVERY: Duration = Duration::from_secs(2);
/// A slot this long past (plus the jitter) without a row in the store ran on no node.
const MISSED_GRACE: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// After every run of this process: the directory reloads (when identities changed), the
/// conditions are evaluated at once.
pub(super) async fn events(state: Arc<AppState>, evaluate_now: Arc<tokio::sync::Notify>) {
    let Some(mut rx) = state.take_events() else {
        return;
    };
    while let Some(ev) = rx.recv().await {
        if let Err(e) = state.refresh_directory(false).await {
            tracing::warn!(error = %e, "directory refresh after a run failed");
        }
        let dir = state.directory();
        if let Ok(s) = state.store.last_successes().await {
            dir.set_successes(s);
        }
        if ev.status != RunStatus::Aborted && state.runner.refusal().is_none() {
            let cfg = state.current();
            if let Err(e) = crate::front::reminders::after_sync(&state.store, &cfg, &dir).await {
                tracing::warn!(error = %e, "reminder suggestions after a run failed");
            }
        }
        evaluate_now.notify_one();
    }
}

/// Connectors whose schedule allows an older last success than `successes` gives them.
pub(super) fn stale_among(
    state: &AppState,
    successes: &BTreeMap<String, DateTime<Utc>>,
) -> BTreeSet<String> {
    let now = Utc::now();
    let view = state.view();
    let since = view.since.unwrap_or(now);
    view.schedules
        .iter()
        .filter(|(name, cron)| {
            crate::schedule::is_stale(cron, successes.get(*name).copied(), since, now)
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// One look: this node's configuration against the cluster's (alerting while it differs),
/// and — when it is the cluster's — every connector's conditions.
async fn evaluate_once(state: &AppState) -> Result<(), crate::store::StoreError> {
    let runner = &state.runner;
    let verdict = runner.check_config().await?;
    let subject = format!("node:{}", runner.node);
    let on = !verdict.allows_changes();
    let firing =
        state.store.alert_states().await?.iter().any(|s| {
            s.subject == subject && s.condition == crate::alert::CONFIG_DIFFERS && s.firing
        });
    if on != firing {
        let msg = match verdict.refusal() {
            Some(why) => format!("node {}: {why}", runner.node),
            None => format!(
                "node {} runs the cluster's configuration again",
                runner.node
            ),
        };
        crate::alert::transition(
            &state.store,
            &subject,
            crate::alert::CONFIG_DIFFERS,
            on,
            msg,
            None,
            &runner.node,
        )
        .await?;
    }
    if on {
        return Ok(());
    }
    let cfg = state.current();
    let successes = state.store.last_successes().await?;
    let stale = stale_among(state, &successes);
    let jitter = kontor_connector::parse_duration(&cfg.sync.jitter).unwrap_or_default();
    let missed_before =
        Utc::now() - MISSED_GRACE - chrono::TimeDelta::from_std(jitter).unwrap_or_default();
    crate::alert::evaluate(&crate::alert::Evaluation {
        store: &state.store,
        cfg: &cfg,
        node: &runner.node,
        stale: &stale,
        missed_before,
        missed_after: state.store.cluster_config().await?.map(|c| c.updated_at),
    })
    .await
}

/// Every [`EVALUATE_EVERY`] (and after each run of this node): the configuration check and
/// the alert conditions. When the server stops, its own `config_differs` condition ends.
pub(super) async fn evaluate(
    state: Arc<AppState>,
    now: Arc<tokio::sync::Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(EVALUATE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = now.notified() => {}
            _ = stop.changed() => break,
        }
        if let Err(e) = evaluate_once(&state).await {
            tracing::warn!(error = %e, "alert conditions not evaluated");
        }
    }
    let subject = format!("node:{}", state.runner.node);
    let _ = crate::alert::transition(
        &state.store,
        &subject,
        crate::alert::CONFIG_DIFFERS,
        false,
        format!("node {} stopped", state.runner.node),
        None,
        &state.runner.node,
    )
    .await;
}

/// A node with `[server] alert_webhook` delivers due messages of the outbox (every node
/// may: a message is claimed by one at a time).
pub(super) async fn deliver(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let Some(url) = state.cfg.server.alert_webhook.clone() else {
        return;
    };
    let client = crate::alert::client();
    let mut tick = tokio::time::interval(DELIVER_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = crate::alert::deliver_due(
            &state.store,
            &client,
            &url,
            &state.runner.node,
            &state.metrics,
        )
        .await
        {
            tracing::warn!(error = %e, "alert outbox not read");
        }
    }
}

/// Stores the customer cards the API built (requests do not wait for it), in batches at most
/// once per [`AUDIT_WINDOW`] for the same reason as the audit log. A card that cannot be
/// stored is built again when it is shown next; it ends with the server's state.
pub(super) async fn card_writer(
    store: crate::store::DynStore,
    mut rx: tokio::sync::mpsc::Receiver<crate::store::NewCard>,
) {
    const MAX: usize = 500;
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, MAX).await > 0 {
        if batch.len() < MAX {
            tokio::time::sleep(AUDIT_WINDOW).await;
            while batch.len() < MAX
                && let Ok(c) = rx.try_recv()
            {
                batch.push(c);
            }
        }
        if let Err(e) = store.put_cards(&batch).await {
            tracing::warn!(error = %e, cards = batch.len(), "customer cards not stored");
        }
        batch.clear();
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
        // Retention and suggestions follow the cluster's configuration, not a differing one.
        if !state.runner.allowed().await {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(60)) => continue,
                _ = stop.changed() => return,
            }
        }
        let cfg = state.current();
        match crate::front::purge(&state.store, &cfg).await {
            Ok(done) => {
                for (table, n) in done.iter().filter(|(_, n)| *n > 0) {
                    tracing::info!(table, rows = n, "retention: deleted old rows");
                }
            }
            Err(e) => tracing::warn!(error = %e, "retention failed"),
        }
        let dir = state.directory();
        match crate::front::reminders::after_sync(&state.store, &cfg, &dir).await {
            Ok(s) if s.created > 0 => tracing::info!(created = s.created, "reminders suggested"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reminder suggestions failed"),
        }
        // Sessions that ended by time (a request would end them too; this clears the rest).
        let idle = chrono::TimeDelta::from_std(state.cfg.auth.times().idle)
            .unwrap_or(chrono::TimeDelta::minutes(30));
        if let Err(e) = state.store.purge_sessions(chrono::Utc::now() - idle).await {
            tracing::warn!(error = %e, "ended sessions not deleted");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.changed() => return,
        }
    }
}
