//! `kontor preview`: read and map without writing.

use super::{Cli, diags_text, load_config};
use kontor::mapping::ColumnCache;
use kontor::sync::{self, map_items};
use std::path::Path;

/// What `--diff` asks for.
pub struct DiffArgs {
    pub samples: usize,
    pub json: bool,
}

pub async fn preview(
    cli: &Cli,
    name: &str,
    limit: usize,
    file: Option<&Path>,
    diff: Option<DiffArgs>,
) -> anyhow::Result<i32> {
    let cfg = load_config(cli)?;
    let Some(c) = cfg.connector(name) else {
        anyhow::bail!("no connector `{name}` in {}", cfg.label);
    };
    let mut c = c.clone();
    if let Some(f) = file {
        if !c.settings.contains_key("path") {
            anyhow::bail!("connector `{name}` does not read files; --file does not apply");
        }
        let abs = std::path::absolute(f)?;
        c.settings.insert(
            "path".into(),
            toml::Value::String(abs.display().to_string()),
        );
    }
    let p = sync::prepare(&cfg, &c).map_err(|d| anyhow::anyhow!(diags_text(&d)))?;
    if let Some(d) = diff {
        return show_diff(&cfg, &p, &d).await;
    }
    let mut cache = ColumnCache::default();
    let (mut shown, mut rejects, mut skipped, mut units) = (0usize, 0u64, 0u64, 0u64);
    let mut warned = 0u64;
    'units: for unit in p.connector.discover().await? {
        units += 1;
        let mut reader = p.connector.open(&unit, None).await?;
        loop {
            let batch = match reader.next_batch().await {
                Ok(Some(b)) => b,
                Ok(None) => break,
                Err(e) => {
                    eprintln!("{}: {e}", unit.label);
                    rejects += 1;
                    break;
                }
            };
            let m = map_items(&p.mappings, batch.items, &mut cache);
            skipped += m.skipped;
            for r in &m.rejects {
                rejects += 1;
                eprintln!(
                    "{}: {}{}",
                    r.position,
                    r.field
                        .as_deref()
                        .map(|f| format!("{f}: "))
                        .unwrap_or_default(),
                    r.reason
                );
            }
            for r in m.records {
                if shown >= limit {
                    break 'units;
                }
                shown += 1;
                let mut v: serde_json::Value = serde_json::from_str(&r.data)?;
                // Warnings go to stderr as well, beside the rejects.
                for w in kontor::view::texts(&v, "warnings") {
                    warned += 1;
                    eprintln!(
                        "warning: {}: {} {}: {w}",
                        r.position, r.entity, r.external_id
                    );
                }
                if let Some(obj) = v.as_object_mut() {
                    let mut out = serde_json::Map::new();
                    out.insert("entity".into(), r.entity.into());
                    out.insert("source".into(), serde_json::json!({"connector": name, "external_id": r.external_id, "position": r.position}));
                    out.extend(std::mem::take(obj));
                    v = serde_json::Value::Object(out);
                }
                println!("{v}");
            }
        }
    }
    eprintln!(
        "{shown} record(s) shown, {rejects} rejected, {skipped} skipped, {warned} warning(s), from {units} unit(s); nothing was written"
    );
    Ok(0)
}

/// `--diff`: what a sync with the current mapping would change, without writing.
async fn show_diff(
    cfg: &kontor::config::Config,
    p: &sync::Prepared,
    args: &DiffArgs,
) -> anyhow::Result<i32> {
    let store = super::open_store(cfg).await?;
    let r = sync::diff::diff(&store, p, args.samples)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(0);
    }
    println!(
        "read={} insert={} update={} unchanged={} close={} quarantine={} skipped={}",
        r.read, r.insert, r.update, r.unchanged, r.close, r.quarantine, r.skipped
    );
    for c in &r.samples {
        println!(
            "  {} {}  {}: {} → {}",
            c.entity, c.external_id, c.field, c.old, c.new
        );
    }
    for (pos, field, reason) in &r.rejects {
        eprintln!(
            "  {pos}: {}{reason}",
            field
                .as_deref()
                .map(|f| format!("{f}: "))
                .unwrap_or_default()
        );
    }
    eprintln!(
        "nothing was written (compared with the store's {} records of `{}`)",
        r.update + r.unchanged,
        p.cfg.name
    );
    Ok(0)
}
