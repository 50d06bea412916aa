//! `kontor sync`.

use super::{Cli, diags_text, load_config, open_store, progress::CliProgress};
use kontor::store::RunStatus;
use kontor::sync::{self, SyncOptions};
use std::sync::Arc;
use std::time::Instant;

pub async fn sync(cli: &Cli, names: &[String], all: bool, reprocess: bool) -> anyhow::Result<i32> {
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
    let store = open_store(&cfg).await?;
    let opts = SyncOptions {
        reprocess,
        node: sync::node_name(),
        cancel: None,
        progress: Some(Arc::new(CliProgress::new())),
    };
    let mut code = 0;
    for c in selected {
        let prepared = match sync::prepare(&cfg, c) {
            Ok(p) => p,
            Err(d) => {
                eprintln!("{}", diags_text(&d));
                code = 1;
                continue;
            }
        };
        let started = Instant::now();
        let report = sync::run(&store, &prepared, &opts).await?;
        eprintln!(
            "{}: run {} {} ({} unit(s) loaded, {} unchanged, {:.1}s)",
            report.connector,
            report.run_id,
            report.status.as_str(),
            report.units_done,
            report.units_skipped,
            started.elapsed().as_secs_f64()
        );
        for e in &report.errors {
            eprintln!("  {e}");
        }
        if report.counts.quarantined > 0 {
            eprintln!(
                "  see `kontor quarantine list --connector {}`",
                report.connector
            );
        }
        println!("{}", report.summary_line());
        code = code.max(match report.status {
            RunStatus::Ok => 0,
            RunStatus::Partial => 3,
            _ => 1,
        });
        if code == 3 && matches!(report.status, RunStatus::Failed | RunStatus::Aborted) {
            code = 1;
        }
    }
    // 1 (failed) wins over 3 (quarantined rows).
    Ok(code)
}
