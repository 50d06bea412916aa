//! `kontor backup FILE`, `kontor restore FILE` and `kontor migrate [--status | --dry-run]`.

use super::{Cli, load_config};
use kontor::store::{self, Open, SchemaStatus, backup};
use std::path::Path;
use std::time::Instant;

/// `kontor migrate`.
#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// Show applied and pending migrations; exit 1 when the store needs migration.
    #[arg(long, conflicts_with = "dry_run")]
    pub status: bool,
    /// Print the SQL of the pending migrations without running it.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn backup(cli: &Cli, file: &Path) -> anyhow::Result<i32> {
    let cfg = load_config(cli)?;
    let url = cfg.store.connect_url().map_err(anyhow::Error::msg)?;
    let to_stdout = file.as_os_str() == "-";
    if !to_stdout && file.exists() {
        anyhow::bail!(
            "{} exists already: give a new file name (a backup never overwrites one)",
            file.display()
        );
    }
    let started = Instant::now();
    let s = if to_stdout {
        backup::backup_to(&url, Box::new(std::io::stdout())).await?
    } else {
        backup::backup(&url, file).await?
    };
    eprintln!(
        "backup of {} ({}, schema version {}): {} tables, {} rows, {:.1} MB in {:.1}s{}",
        cfg.store.label(),
        s.backend,
        s.schema_version,
        s.tables,
        s.rows,
        s.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        if to_stdout {
            String::new()
        } else {
            format!(" → {}", file.display())
        }
    );
    Ok(0)
}

pub async fn restore(cli: &Cli, file: &Path) -> anyhow::Result<i32> {
    let cfg = load_config(cli)?;
    let url = cfg.store.connect_url().map_err(anyhow::Error::msg)?;
    let started = Instant::now();
    let s = backup::restore(&url, file).await?;
    eprintln!(
        "restored {} into {}: {} tables, {} rows (from a {} store, schema version {}) in {:.1}s",
        file.display(),
        cfg.store.label(),
        s.tables,
        s.rows,
        s.backend,
        s.schema_version,
        started.elapsed().as_secs_f64()
    );
    let status = store::schema_status(&url).await?;
    if status.pending().next().is_some() {
        eprintln!(
            "the store is at the backup's schema version {}: `kontor migrate` upgrades it to this kontor's",
            status.version()
        );
    }
    Ok(0)
}

pub async fn migrate(cli: &Cli, a: &MigrateArgs) -> anyhow::Result<i32> {
    let (status_only, dry_run) = (a.status, a.dry_run);
    let cfg = load_config(cli)?;
    let url = cfg.store.connect_url().map_err(anyhow::Error::msg)?;
    let label = cfg.store.label();
    let status = match store::schema_status(&url).await {
        Ok(s) => s,
        // A store that does not exist yet: everything is pending.
        Err(store::StoreError::Schema(msg)) if status_only || dry_run => {
            println!("{label}: {msg}");
            return Ok(1);
        }
        Err(e) => return Err(e.into()),
    };
    if status_only {
        print_status(&label, &status);
        return Ok(if status.problem().is_some() { 1 } else { 0 });
    }
    if dry_run {
        let pending: Vec<_> = status.pending().collect();
        if let Some(p) = status.problem().filter(|_| pending.is_empty()) {
            println!("{label}: {p}");
            return Ok(1);
        }
        if pending.is_empty() {
            println!(
                "{label} ({}) is up to date: nothing would run",
                status.backend
            );
            return Ok(0);
        }
        println!(
            "{label} ({}): `kontor migrate` would apply {} migration(s), each in its own transaction:",
            status.backend,
            pending.len()
        );
        for m in pending {
            println!(
                "\n-- {:04} {}\n{}",
                m.version,
                m.description,
                m.sql.trim_end()
            );
        }
        return Ok(0);
    }
    let before: Vec<(i64, String)> = status
        .pending()
        .map(|m| (m.version, m.description.clone()))
        .collect();
    let started = Instant::now();
    let store = super::open_store_as(&cfg, Open::Migrate).await?;
    for (v, d) in &before {
        println!("applied {v:04} {d}");
    }
    println!(
        "store {label} ({}) is up to date{}",
        store.backend(),
        if before.is_empty() {
            String::new()
        } else {
            format!(" ({:.1}s)", started.elapsed().as_secs_f64())
        }
    );
    Ok(0)
}

fn print_status(label: &str, s: &SchemaStatus) {
    println!("{label} ({})", s.backend);
    for m in &s.migrations {
        let state = if m.unknown {
            "applied by a newer kontor".to_owned()
        } else if m.failed {
            "FAILED".to_owned()
        } else if m.changed {
            "applied, but its SQL changed since".to_owned()
        } else {
            match &m.applied_at {
                Some(at) => format!("applied {at}"),
                None => "pending".to_owned(),
            }
        };
        println!("  {:04} {:<32} {state}", m.version, m.description);
    }
    match s.problem() {
        Some(p) => println!("{p}"),
        None => println!("up to date (schema version {})", s.version()),
    }
}
