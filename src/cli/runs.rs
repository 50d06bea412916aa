//! `kontor runs`.

use super::{Cli, load_config, open_store};

/// `kontor runs`.
#[derive(clap::Args, Debug)]
pub struct RunsArgs {
    #[arg(long)]
    pub connector: Option<String>,
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
}

pub async fn runs(cli: &Cli, a: &RunsArgs) -> anyhow::Result<i32> {
    let (connector, json, limit) = (a.connector.as_deref(), a.json, a.limit);
    let cfg = load_config(cli)?;
    let store = open_store(&cfg).await?;
    let runs: Vec<kontor::sync::shown::RunInfo> = store
        .runs(connector, limit)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    if json {
        for r in &runs {
            let mut v = serde_json::to_value(r)?;
            v["duration_ms"] = serde_json::json!(r.duration_ms());
            println!("{v}");
        }
        return Ok(0);
    }
    println!(
        "{:>5}  {:<20} {:<8} {:<20} {:>9} {:>8} {:>8} {:>8} {:>9} {:>6} {:>7} {:>8}  error",
        "id",
        "connector",
        "status",
        "started (UTC)",
        "duration",
        "read",
        "inserted",
        "updated",
        "unchanged",
        "quar.",
        "skipped",
        "warnings"
    );
    for r in &runs {
        let c = &r.counts;
        let dur = r
            .duration_ms()
            .map(|ms| format!("{:.1}s", ms as f64 / 1000.0))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:>5}  {:<20} {:<8} {:<20} {:>9} {:>8} {:>8} {:>8} {:>9} {:>6} {:>7} {:>8}  {}",
            r.id,
            r.connector,
            r.status.as_str(),
            r.started_at.format("%Y-%m-%d %H:%M:%S"),
            dur,
            c.read,
            c.inserted,
            c.updated,
            c.unchanged,
            c.quarantined,
            c.skipped,
            c.warnings,
            r.error.as_deref().unwrap_or("")
        );
    }
    if runs.is_empty() {
        eprintln!("no runs yet");
    }
    Ok(0)
}
