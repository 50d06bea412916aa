//! `kontor preview`: read and map without writing.

use super::{Cli, diags_text, load_config};
use kontor::mapping::ColumnCache;
use kontor::sync::{self, map_items};
use std::path::Path;

pub async fn preview(
    cli: &Cli,
    name: &str,
    limit: usize,
    file: Option<&Path>,
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
    let mut cache = ColumnCache::default();
    let (mut shown, mut rejects, mut skipped, mut units) = (0usize, 0u64, 0u64, 0u64);
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
        "{shown} record(s) shown, {rejects} rejected, {skipped} skipped, from {units} unit(s); nothing was written"
    );
    Ok(0)
}
