//! Evaluating the alert conditions of the configured connectors against the store (on every
//! node whose configuration is the cluster's; the store makes each change once).

use super::{MISSED_SLOT, NODE_DIED, REFUSED, RUN_FAILED, STALE, transition};
use crate::config::Config;
use crate::store::{DynStore, RunStatus, StoreError};
use chrono::{DateTime, Utc};
use croner::Cron;
use std::collections::{BTreeMap, BTreeSet};

/// What an evaluation needs besides the store.
pub struct Evaluation<'a> {
    pub store: &'a DynStore,
    pub cfg: &'a Config,
    pub node: &'a str,
    /// Connectors stale now.
    pub stale: &'a BTreeSet<String>,
    /// A slot older than this without a row in the store was missed (no node claimed it).
    pub missed_before: DateTime<Utc>,
    /// Slots before this do not count (when the cluster's configuration was recorded: a
    /// changed schedule has no gap before it).
    pub missed_after: Option<DateTime<Utc>>,
}

/// Slots of `cron` after the connector's latest slot in the store (and after `after`) and
/// before `before`: recorded as missed (once across nodes); returns how many this call
/// recorded. Nothing before the first slot ever claimed counts (a new schedule).
pub async fn missed_slots(
    store: &DynStore,
    connector: &str,
    cron: &Cron,
    (after, before): (Option<DateTime<Utc>>, DateTime<Utc>),
    node: &str,
) -> Result<u64, StoreError> {
    let Some(latest) = store.latest_slot(connector).await? else {
        return Ok(0);
    };
    let mut slots = Vec::new();
    let mut t = after.map_or(latest, |a| a.max(latest));
    while let Some(n) = crate::schedule::next_after(cron, t) {
        if n >= before || slots.len() >= 1000 {
            break;
        }
        slots.push(n);
        t = n;
    }
    if slots.is_empty() {
        return Ok(0);
    }
    store.record_missed_slots(connector, &slots, node).await
}

/// Compares each condition with its stored state and records the changes (each sends one
/// message).
pub async fn evaluate(e: &Evaluation<'_>) -> Result<(), StoreError> {
    let store = e.store;
    let firing: BTreeSet<(String, String)> = store
        .alert_states()
        .await?
        .into_iter()
        .filter(|s| s.firing)
        .map(|s| (s.subject, s.condition))
        .collect();
    let set =
        async |subject: &str, condition: &str, on: bool, message: String, run: Option<i64>| {
            let is_on = firing.contains(&(subject.to_owned(), condition.to_owned()));
            if on != is_on {
                transition(store, subject, condition, on, message, run, e.node).await?;
            }
            Ok::<_, StoreError>(())
        };
    let mut refused: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for u in store.refused_units().await? {
        refused.entry(u.connector).or_default().push(u.label);
    }
    for c in e.cfg.connectors.iter().filter(|c| c.enabled) {
        let name = c.name.as_str();
        // The last run that ended (a stop by shutdown, `aborted`, says nothing).
        let last = store
            .runs(Some(name), 20)
            .await?
            .into_iter()
            .find(|r| !matches!(r.status, RunStatus::Running | RunStatus::Aborted));
        if let Some(r) = &last {
            let failed = r.status == RunStatus::Failed;
            let msg = if failed {
                format!(
                    "run {} of {name} failed: {}",
                    r.id,
                    r.error.as_deref().unwrap_or("")
                )
            } else {
                format!(
                    "{name} runs again: run {} ended {}",
                    r.id,
                    r.status.as_str()
                )
            };
            set(name, RUN_FAILED, failed, msg, Some(r.id)).await?;
            if !failed {
                let msg = format!(
                    "run {} of {name} ended {} after a node had died during a run",
                    r.id,
                    r.status.as_str()
                );
                set(name, NODE_DIED, false, msg, Some(r.id)).await?;
            }
        }
        match refused.get(name) {
            Some(files) => {
                let msg = format!(
                    "{name}: {} refused and no later file loaded; nothing of it is in the store. \
                     Fix the file or the mapping (the next run reads it again), or accept it: \
                     `kontor quarantine dismiss --connector {name}`",
                    files.join(", ")
                );
                set(name, REFUSED, true, msg, None).await?;
            }
            None => {
                let msg = format!("{name}: no refused file any more");
                set(name, REFUSED, false, msg, None).await?;
            }
        }
        let stale = e.stale.contains(name);
        let msg = if stale {
            format!("{name} is stale: its last successful run is older than its schedule allows")
        } else {
            format!("{name} is fresh again")
        };
        set(name, STALE, stale, msg, None).await?;
        if let Some(cron) = c
            .schedule
            .as_deref()
            .and_then(|s| crate::schedule::parse(s).ok())
        {
            let window = (e.missed_after, e.missed_before);
            let n = missed_slots(store, name, &cron, window, e.node).await?;
            if n > 0 {
                let msg = format!(
                    "{name}: {n} scheduled slot(s) ran on no node (all nodes down, or none with the cluster's configuration); \
                     they are not caught up, the next slot runs"
                );
                set(name, MISSED_SLOT, true, msg, None).await?;
            } else if let Some(s) = store.slots(Some(name), 1).await?.pop()
                && s.status == "done"
            {
                let msg = format!(
                    "{name}: slot {} ran",
                    s.slot_at.format("%Y-%m-%d %H:%M:%S UTC")
                );
                set(name, MISSED_SLOT, false, msg, s.run_id).await?;
            }
        }
    }
    Ok(())
}
