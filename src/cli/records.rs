//! `kontor records`: stored records with their provenance, without SQL ("did yesterday's
//! invoice arrive?"). Read-only: the store is opened as it is, never migrated.

use super::{Cli, load_config, open_store};
use kontor::store::RecordFilter;

/// `kontor records`: what it shows.
#[derive(clap::Args, Debug)]
pub struct RecordsArgs {
    #[arg(long)]
    pub connector: Option<String>,
    #[arg(long)]
    pub entity: Option<String>,
    #[arg(long)]
    pub customer_no: Option<String>,
    /// Also records that left their source (paid, deleted, missing from a snapshot).
    #[arg(long)]
    pub closed: bool,
    /// Only how many.
    #[arg(long)]
    pub count: bool,
    /// One JSON object per record (with `--count`: `{"count": N}`).
    #[arg(long)]
    pub json: bool,
    /// 0 = all.
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
}

impl RecordsArgs {
    fn filter(&self) -> RecordFilter {
        RecordFilter {
            connector: self.connector.clone(),
            entity: self.entity.clone(),
            customer_no: self.customer_no.clone(),
            closed: self.closed,
        }
    }
}

pub async fn records(cli: &Cli, a: &RecordsArgs) -> anyhow::Result<i32> {
    let cfg = load_config(cli)?;
    let filter = a.filter();
    if let Some(c) = &filter.connector
        && cfg.connector(c).is_none()
    {
        // Records of a renamed or removed connector stay listable; say so.
        eprintln!("note: no connector `{c}` in {}", cfg.label);
    }
    if let Some(e) = &filter.entity
        && kontor::model::Entity::parse(e).is_none()
    {
        let names: Vec<&str> = kontor::model::Entity::ALL
            .iter()
            .map(|e| e.as_str())
            .collect();
        anyhow::bail!("unknown entity `{e}` (one of {})", names.join(", "));
    }
    let store = open_store(&cfg).await?;
    let total = store.count_found(&filter).await?;
    if a.count {
        if a.json {
            println!("{}", serde_json::json!({ "count": total }));
        } else {
            println!("{total}");
        }
        return Ok(0);
    }
    let found = store.find_records(&filter, a.limit).await?;
    if a.json {
        for r in &found {
            println!("{}", serde_json::to_string(r)?);
        }
    } else {
        println!(
            "{:<20} {:<20} {:<14} {:<20} {:<10} {:>6}  {:<28} status",
            "synced (UTC)",
            "connector",
            "entity",
            "external id",
            "customer",
            "run",
            "source position"
        );
        for r in &found {
            let status = match r.closed_at {
                Some(t) => format!("closed {}", t.format("%Y-%m-%d %H:%M:%S")),
                None => "open".into(),
            };
            println!(
                "{:<20} {:<20} {:<14} {:<20} {:<10} {:>6}  {:<28} {status}",
                r.synced_at.format("%Y-%m-%d %H:%M:%S"),
                r.connector,
                r.entity,
                r.external_id,
                r.customer_no.as_deref().unwrap_or("-"),
                r.run_id
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "-".into()),
                r.position.as_deref().unwrap_or("-"),
            );
        }
    }
    let shown = found.len() as u64;
    if shown < total {
        eprintln!("{shown} of {total} record(s) shown (--limit 0 shows all)");
    } else {
        eprintln!(
            "{total} record(s){}",
            if filter.closed {
                ""
            } else {
                " (open; --closed also lists closed ones)"
            }
        );
    }
    Ok(0)
}
