//! `kontor connector list / rename / retire`: the lifecycle of a connector's data when the
//! connector is renamed or removed from `kontor.toml`.

use super::{Cli, cluster_gate, load_config, open_store};
use clap::Subcommand;
use kontor::config::Config;
use kontor::diag::Diagnostic;
use kontor::store::{DynStore, StoredConnector, UnitStatus};

#[derive(Subcommand, Debug)]
pub enum ConnectorCmd {
    /// Connectors of the configuration and of the store: records, runs, quarantine, state
    /// (configured, not configured, retired, renamed).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Move everything of connector OLD (records, checkpoints, runs, quarantine, slots) to
    /// NEW, after renaming it in kontor.toml. Its files are not read again.
    Rename { old: String, new: String },
    /// Retire a connector removed from kontor.toml: its records are closed (kept for history;
    /// the merged view no longer shows them), its open quarantine closed, its checkpoints
    /// forgotten; it is shown as retired.
    Retire {
        name: String,
        /// Why (kept with it).
        #[arg(long)]
        note: Option<String>,
    },
}

pub async fn run(cli: &Cli, cmd: &ConnectorCmd) -> anyhow::Result<i32> {
    let cfg = load_config(cli)?;
    let store = open_store(&cfg).await?;
    match cmd {
        ConnectorCmd::List { json } => list(&cfg, &store, *json).await,
        ConnectorCmd::Rename { old, new } => rename(cli, &cfg, &store, old, new).await,
        ConnectorCmd::Retire { name, note } => {
            retire(cli, &cfg, &store, name, note.as_deref()).await
        }
    }
}

/// `configured`, `disabled`, `retired`, `renamed to X`, or `not configured`.
fn state_of(cfg: &Config, s: &StoredConnector) -> String {
    match (cfg.connector(&s.name), s.lifecycle.as_deref()) {
        (Some(c), _) if c.enabled => "configured".into(),
        (Some(_), _) => "disabled".into(),
        (None, Some("retired")) => "retired".into(),
        (None, Some("renamed")) => format!("renamed to {}", s.renamed_to.as_deref().unwrap_or("?")),
        (None, _) => "not configured".into(),
    }
}

async fn list(cfg: &Config, store: &DynStore, json: bool) -> anyhow::Result<i32> {
    let mut all = store.stored_connectors().await?;
    for c in &cfg.connectors {
        if !all.iter().any(|s| s.name == c.name) {
            all.push(StoredConnector {
                name: c.name.clone(),
                ..Default::default()
            });
        }
    }
    all.sort_by(|a, b| a.name.cmp(&b.name));
    for s in &all {
        let state = state_of(cfg, s);
        if json {
            let mut v = serde_json::to_value(s)?;
            v["state"] = state.into();
            println!("{v}");
        } else {
            println!(
                "{:<28} {:<22} records={} closed={} runs={} quarantine={}{}",
                s.name,
                state,
                s.records_open,
                s.records_closed,
                s.runs,
                s.quarantine_open,
                s.last_run_at
                    .map(|t| format!(" last_run={}", t.format("%Y-%m-%d %H:%M")))
                    .unwrap_or_default()
            );
        }
    }
    Ok(0)
}

/// Resets the units a run of `name` left in staging (they are read again under their new
/// name, or not at all when retired).
async fn reset_staging(store: &DynStore, name: &str) -> anyhow::Result<()> {
    for cp in store.checkpoints(name).await? {
        if cp.status == UnitStatus::Staging {
            store.reset_unit(name, &cp.unit_key).await?;
        }
    }
    Ok(())
}

async fn resolve(store: &DynStore, cfg: &Config) {
    match kontor::identity::resolve_store(store, cfg).await {
        Ok(r) => super::note(
            tracing::Level::INFO,
            &format!(
                "identity: {} customers from {} source customers ({} changed)",
                r.customers, r.source_customers, r.changed
            ),
        ),
        Err(e) => super::note(
            tracing::Level::ERROR,
            &format!("identity resolution failed: {e} (run `kontor identity resolve`)"),
        ),
    }
}

async fn rename(
    cli: &Cli,
    cfg: &Config,
    store: &DynStore,
    old: &str,
    new: &str,
) -> anyhow::Result<i32> {
    if old == new {
        anyhow::bail!("`{old}` and `{new}` are the same name");
    }
    let Some(target) = cfg.connector(new) else {
        anyhow::bail!(
            "no connector `{new}` in {}: rename the connector there first; this command moves its stored data",
            cfg.label
        );
    };
    if cfg.connector(old).is_some() {
        anyhow::bail!(
            "`{old}` is still configured in {}: rename it there to `{new}` first",
            cfg.label
        );
    }
    let stored = store.stored_connectors().await?;
    let Some(from) = stored.iter().find(|s| s.name == old) else {
        anyhow::bail!("the store has nothing of a connector `{old}` (`kontor connector list`)");
    };
    if let Some(to) = stored.iter().find(|s| s.name == new)
        && (to.records_open + to.records_closed > 0 || !store.checkpoints(new).await?.is_empty())
    {
        anyhow::bail!(
            "`{new}` has {} record(s) already (it synced under the new name): its records and `{old}`'s are the same data twice. \
             Retire the old ones: `kontor connector retire {old}`",
            to.records_open + to.records_closed
        );
    }
    // Customer numbers belong to a system: `old`'s system moves to `new`'s when only `old`
    // delivered it and `new`'s is not in use.
    let from_system = from.system.clone().unwrap_or_else(|| old.to_owned());
    let to_system = target.system.clone();
    let mut system_move = None;
    if from_system != to_system {
        let shared = stored
            .iter()
            .filter(|s| s.name != old && s.name != new)
            .any(|s| s.system.as_deref() == Some(from_system.as_str()))
            || cfg
                .connectors
                .iter()
                .any(|c| c.name != new && c.system == from_system);
        let taken = store
            .customer_keys()
            .await?
            .iter()
            .any(|k| k.key.system == to_system);
        if shared || taken {
            anyhow::bail!(
                "`{old}` delivered customer numbers of system `{from_system}`, `{new}` is configured with system `{to_system}`{}; \
                 give `{new}` `system = \"{from_system}\"` in {} to keep its customers (and ops decisions) as they are",
                if shared {
                    format!(", and other connectors deliver `{from_system}` too")
                } else {
                    ", which has customer numbers already".to_owned()
                },
                cfg.label
            );
        }
        system_move = Some((from_system.as_str(), to_system.as_str()));
    }
    cluster_gate(cli, cfg, store).await?;
    let _old_lock = kontor::sync::lock(store, old).await?;
    let _new_lock = kontor::sync::lock(store, new).await?;
    reset_staging(store, old).await?;
    let s = store
        .rename_connector(old, new, &to_system, system_move)
        .await?;
    println!(
        "renamed {old} → {new}: records={} checkpoints={} runs={} quarantine={} slots={}{}",
        s.records,
        s.checkpoints,
        s.runs,
        s.quarantine,
        s.slots,
        system_move
            .map(|(a, b)| format!(" customer_numbers={} (system {a} → {b})", s.keys))
            .unwrap_or_default()
    );
    resolve(store, cfg).await;
    Ok(0)
}

async fn retire(
    cli: &Cli,
    cfg: &Config,
    store: &DynStore,
    name: &str,
    note: Option<&str>,
) -> anyhow::Result<i32> {
    if cfg.connector(name).is_some_and(|c| c.enabled) {
        anyhow::bail!(
            "`{name}` is configured in {}: remove it there (or set `enabled = false`) first, else its next run loads it again",
            cfg.label
        );
    }
    if !store
        .stored_connectors()
        .await?
        .iter()
        .any(|s| s.name == name)
    {
        anyhow::bail!("the store has nothing of a connector `{name}` (`kontor connector list`)");
    }
    cluster_gate(cli, cfg, store).await?;
    let _lock = kontor::sync::lock(store, name).await?;
    reset_staging(store, name).await?;
    let s = store.retire_connector(name, note).await?;
    println!(
        "retired {name}: records_closed={} quarantine_closed={} checkpoints_forgotten={}",
        s.records_closed, s.quarantine_closed, s.checkpoints
    );
    resolve(store, cfg).await;
    Ok(0)
}

/// For `kontor check`: whether this configuration is the cluster's, and records of
/// connectors it does not have (renamed or removed without telling the store), with what to
/// do about them.
pub async fn unconfigured(cfg: &Config) -> Vec<Diagnostic> {
    let Ok(Some(store)) = super::check::existing_store(cfg).await else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Ok(Some(cluster)) = store.cluster_config().await {
        let ours = kontor::cluster::Fingerprint::of(cfg);
        if ours.digest != cluster.fingerprint {
            out.push(Diagnostic {
                file: cfg.label.clone(),
                line: 1,
                col: 1,
                message: format!(
                    "this configuration differs from the cluster's (recorded by {} at {}): {}; commands that change data refuse it \
                     until it is made the cluster's (--take-over-config), and nodes running it change nothing",
                    cluster.node,
                    cluster.updated_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    ours.differences(cfg, &cluster.parts).join("; ")
                ),
                warning: true,
            });
        }
    }
    let Ok(stored) = store.stored_connectors().await else {
        return out;
    };
    out.extend(stored
        .iter()
        .filter(|s| cfg.connector(&s.name).is_none() && s.lifecycle.is_none())
        .filter(|s| s.records_open > 0 || s.quarantine_open > 0)
        .map(|s| Diagnostic {
            file: cfg.label.clone(),
            line: 1,
            col: 1,
            message: format!(
                "the store has {} open record(s) of connector `{}`, which is not configured (the merged view still shows them): \
                 renamed? `kontor connector rename {} NEW`; removed? `kontor connector retire {}`",
                s.records_open, s.name, s.name, s.name
            ),
            warning: true,
        }));
    out
}
