//! `kontor sync`.

use super::{Cli, diags_text, load_config, note, open_store_as, progress::CliProgress};
use kontor::config::{Config, ConnectorConfig};
use kontor::identity::Resolved;
use kontor::store::{DynStore, RunStatus};
use kontor::sync::{self, SyncOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tracing::Level;

/// `kontor sync`.
#[derive(clap::Args, Debug)]
pub struct SyncArgs {
    pub connectors: Vec<String>,
    #[arg(long)]
    pub all: bool,
    /// Read files again although they were loaded already.
    #[arg(long)]
    pub reprocess: bool,
    /// Load a snapshot although it is much smaller than what is open now (min_snapshot_ratio),
    /// and read files refused earlier again.
    #[arg(long)]
    pub force: bool,
}

pub async fn sync(cli: &Cli, a: &SyncArgs) -> anyhow::Result<i32> {
    let SyncArgs {
        connectors: names,
        all,
        reprocess,
        force,
    } = a;
    let (all, reprocess, force) = (*all, *reprocess, *force);
    let cfg = load_config(cli)?;
    let selected: Vec<_> = if all {
        cfg.connectors.iter().filter(|c| c.enabled).collect()
    } else {
        if names.is_empty() {
            anyhow::bail!("name the connectors to sync, or use --all");
        }
        let mut v = Vec::new();
        for n in names {
            match cfg.connector(n) {
                Some(c) => v.push(c),
                None => {
                    let known: Vec<&str> = cfg.connectors.iter().map(|c| c.name.as_str()).collect();
                    anyhow::bail!(
                        "no connector `{n}` in {} (known: {})",
                        cfg.label,
                        known.join(", ")
                    );
                }
            }
        }
        v
    };
    let store = open_store_as(&cfg, kontor::store::Open::Migrate).await?;
    super::cluster_gate(cli, &cfg, &store).await?;
    sync_connectors(&cfg, &store, &selected, reprocess, force).await
}

/// Runs each connector once, printing its summary line. Exit code: 1 when any run failed
/// (or could not start), else 3 when rows were quarantined, else 0.
pub async fn sync_connectors(
    cfg: &Config,
    store: &DynStore,
    selected: &[&ConnectorConfig],
    reprocess: bool,
    force: bool,
) -> anyhow::Result<i32> {
    // SIGTERM / Ctrl-C: the current batch commits (or rolls back), the run ends as
    // `aborted`, and the next run resumes from there.
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let watcher = tokio::spawn(async move {
        super::serve::shutdown_signal().await;
        note(
            Level::WARN,
            "stopping after the current batch (the next run resumes)",
        );
        flag.store(true, Ordering::Relaxed);
    });
    let opts = SyncOptions {
        reprocess,
        force,
        node: sync::node_name(),
        cancel: Some(Arc::clone(&cancel)),
        progress: Some(Arc::new(CliProgress::new())),
    };
    let (mut failed, mut partial) = (false, false);
    for c in selected {
        let prepared = match sync::prepare(cfg, c) {
            Ok(p) => p,
            Err(d) => {
                note(Level::ERROR, &diags_text(&d));
                failed = true;
                continue;
            }
        };
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let started = Instant::now();
        let report = match sync::run(store, &prepared, &opts).await {
            Ok(r) => r,
            Err(e @ sync::SyncError::Busy { .. }) => {
                note(Level::ERROR, &format!("{}: {e}", c.name));
                failed = true;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        for w in &report.warnings {
            note(Level::WARN, &format!("  warning: {w}"));
        }
        note(
            if report.status == RunStatus::Failed {
                Level::ERROR
            } else {
                Level::INFO
            },
            &format!(
                "{}: run {} {} ({} unit(s) loaded, {} unchanged, {:.1}s)",
                report.connector,
                report.run_id,
                report.status.as_str(),
                report.units_done,
                report.units_skipped,
                started.elapsed().as_secs_f64()
            ),
        );
        for e in &report.errors {
            note(Level::WARN, &format!("  {e}"));
        }
        if report.counts.quarantined > 0 {
            note(
                Level::INFO,
                &format!(
                    "  see `kontor quarantine list --connector {}`",
                    report.connector
                ),
            );
        }
        println!("{} connector={}", report.summary_line(), report.connector);
        match report.status {
            RunStatus::Ok => {}
            RunStatus::Partial => partial = true,
            _ => failed = true,
        }
    }
    watcher.abort();
    if cancel.load(Ordering::Relaxed) {
        return Ok(1);
    }
    // Who is who after the new data: merged customers, suggestions (only when something
    // identity reads changed).
    match kontor::identity::resolve_changed(store, cfg).await {
        Ok(Resolved::Unchanged) => note(
            Level::INFO,
            "identity: nothing changed since the last resolution",
        ),
        Ok(Resolved::Kept {
            records,
            new_customers: 0,
        }) => note(
            Level::INFO,
            &format!(
                "identity: {records} record(s) changed since the last resolution, none of it what identity compares; the customers stay as they are"
            ),
        ),
        Ok(Resolved::Kept {
            records,
            new_customers,
        }) => note(
            Level::INFO,
            &format!(
                "identity: {records} record(s) changed since the last resolution; {new_customers} new customer number(s) that nothing joins to another customer, each a customer of its own; the other customers stay as they are"
            ),
        ),
        Ok(Resolved::Resolved(r)) => note(
            Level::INFO,
            &format!(
                "identity: {} customers from {} source customers ({} changed), {} open suggestion(s)",
                r.customers, r.source_customers, r.changed, r.suggestions
            ),
        ),
        Err(e) => {
            note(Level::ERROR, &format!("identity resolution failed: {e}"));
            failed = true;
        }
    }
    Ok(if failed {
        1
    } else if partial {
        3
    } else {
        0
    })
}
