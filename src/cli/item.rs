//! `kontor item`: an item's stock per warehouse, found by number (leading zeros kept), EAN or
//! name. Read-only: the store is opened as it is, never migrated.

use super::{Cli, load_config, open_store};
use kontor::view::find_items;

/// `kontor item`.
#[derive(clap::Args, Debug)]
pub struct ItemArgs {
    pub query: String,
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

pub async fn item(cli: &Cli, a: &ItemArgs) -> anyhow::Result<i32> {
    let (query, json, limit) = (a.query.as_str(), a.json, a.limit);
    let cfg = load_config(cli)?;
    let store = open_store(&cfg).await?;
    let items = find_items(&store, query, limit.max(1)).await?;
    if json {
        println!("{}", serde_json::json!({ "items": items }));
        return Ok(if items.is_empty() { 1 } else { 0 });
    }
    if items.is_empty() {
        println!("no item matches `{}`", query.trim());
        return Ok(1);
    }
    for (i, a) in items.iter().enumerate() {
        if i > 0 {
            println!();
        }
        let unit = a
            .unit
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        println!(
            "{}  {}{}",
            a.sku,
            a.description.as_deref().unwrap_or(""),
            a.ean
                .as_deref()
                .map(|e| format!("  EAN {e}"))
                .unwrap_or_default()
        );
        println!(
            "  on hand {}{unit}, available {}{unit}{}",
            a.on_hand,
            a.available,
            a.next_receipt_date
                .map(|d| format!(", next receipt {}", d.format("%d.%m.%Y")))
                .unwrap_or_default()
        );
        for w in &a.warehouses {
            let name = if w.warehouse.is_empty() {
                "(default)"
            } else {
                w.warehouse.as_str()
            };
            println!(
                "  {:<12} {:>10} on hand {:>10} available{}  ← {}{}",
                name,
                w.on_hand,
                w.available,
                w.next_receipt_date
                    .map(|d| format!("  receipt {}", d.format("%d.%m.%Y")))
                    .unwrap_or_default(),
                w.source.connector,
                w.source
                    .position
                    .as_deref()
                    .map(|p| format!(" {p}"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(0)
}
