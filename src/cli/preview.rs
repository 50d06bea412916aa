//! `kontor preview`: read and map without writing.

use super::{Cli, diags_text, load_config};
use kontor::mapping::ColumnCache;
use kontor::sync::{self, map_items};
use std::path::PathBuf;

/// `kontor preview`.
#[derive(clap::Args, Debug)]
pub struct PreviewArgs {
    pub connector: String,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Read this file instead of the connector's path.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Compare with the store instead: how many records a sync would insert, update,
    /// leave, close or quarantine, with field-level samples (old → new).
    #[arg(long)]
    pub diff: bool,
    /// Field changes to show with --diff.
    #[arg(long, default_value_t = 10)]
    pub samples: usize,
    /// --diff as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// What `--diff` asks for.
pub struct DiffArgs {
    pub samples: usize,
    pub json: bool,
}

pub async fn preview(cli: &Cli, a: &PreviewArgs) -> anyhow::Result<i32> {
    let (name, limit, file) = (a.connector.as_str(), a.limit, a.file.as_deref());
    let diff = a.diff.then_some(DiffArgs {
        samples: a.samples,
        json: a.json,
    });
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
    let (mut shown, mut total, mut rejects, mut skipped, mut units) =
        (0usize, 0usize, 0u64, 0u64, 0u64);
    let mut warned = 0u64;
    let mut refused = 0u64;
    let mut groups = RejectGroups::default();
    'units: for unit in p.connector.discover().await? {
        units += 1;
        let mut reader = p.connector.open(&unit, None).await?;
        let mut header: Option<Vec<String>> = None;
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
            if header.is_none()
                && let Some((rec, h)) = sync::first_row(&batch.items)
            {
                header = Some(h.to_vec());
                let problems = p
                    .mappings
                    .for_stream(rec.stream.as_deref())
                    .map(|m| (m.label.clone(), m.header_problems(h, rec.stream.as_deref())));
                if let Some((label, problems)) = problems.filter(|(_, ps)| !ps.is_empty()) {
                    refused += 1;
                    for m in problems {
                        eprintln!(
                            "{}: a sync refuses this file: column `{}`{} ({label}:{}) is not in the header{}; headers are: {}",
                            unit.label,
                            m.column,
                            m.key.map(|k| format!(" of `{k}`")).unwrap_or_default(),
                            m.line,
                            m.suggestion
                                .map(|s| format!(" (did you mean `{s}`?)"))
                                .unwrap_or_default(),
                            headers_text(h)
                        );
                    }
                }
            }
            let m = map_items(&p.mappings, batch.items, &mut cache);
            skipped += m.skipped;
            for r in &m.rejects {
                rejects += 1;
                groups.add(r, header.as_deref());
            }
            for r in m.records {
                total += 1;
                if shown >= limit {
                    if total >= COUNT_CAP {
                        break 'units;
                    }
                    continue;
                }
                shown += 1;
                let mut v: serde_json::Value = serde_json::from_str(&r.data)?;
                // Warnings go to stderr as well, beside the rejects.
                for w in kontor::view::warnings(r.entity, &v) {
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
    groups.print_repeated();
    let of = if total > shown {
        let more = if total >= COUNT_CAP { "more than " } else { "" };
        format!(" of {more}{total}")
    } else {
        String::new()
    };
    eprintln!(
        "{shown}{of} record(s) shown, {rejects} rejected, {skipped} skipped, {warned} warning(s), from {units} unit(s); nothing was written"
    );
    if (total == 0 && rejects > 0) || refused > 0 {
        eprintln!(
            "error: {}",
            if refused > 0 {
                format!(
                    "a sync would refuse {refused} file(s): their header lacks columns the mapping reads"
                )
            } else {
                "every row was rejected: a sync would load nothing".to_owned()
            }
        );
        return Ok(NOTHING_LOADS);
    }
    Ok(0)
}

/// Exit code of `kontor preview` when a sync would load nothing: every row is rejected, or
/// a file's header lacks columns the mapping reads (as `kontor sync` exits 3 for a run whose
/// rows were all skipped).
pub const NOTHING_LOADS: i32 = 3;

/// Records are counted (not shown) past `--limit` up to this many.
const COUNT_CAP: usize = 100_000;

/// A reject's field and reason.
type GroupKey = (Option<String>, String);

/// Rejects with the same field and reason: the first is printed as it comes, the count of
/// each repeated one at the end.
#[derive(Default)]
struct RejectGroups {
    /// (field, reason) → (count, first position, header of its file)
    seen: std::collections::HashMap<GroupKey, (u64, String, Option<String>)>,
    order: Vec<GroupKey>,
}

impl RejectGroups {
    fn add(&mut self, r: &kontor::store::NewReject, header: Option<&[String]>) {
        let key = (r.field.clone(), r.reason.clone());
        if let Some(g) = self.seen.get_mut(&key) {
            g.0 += 1;
            return;
        }
        eprintln!("{}: {}{}", r.position, field_prefix(&r.field), r.reason);
        let header = header
            .filter(|_| r.reason.contains("not found in the header"))
            .map(headers_text);
        self.seen
            .insert(key.clone(), (1, r.position.clone(), header));
        self.order.push(key);
    }

    fn print_repeated(&self) {
        for key in &self.order {
            let Some((n, first, header)) = self.seen.get(key).filter(|g| g.0 > 1) else {
                continue;
            };
            eprintln!(
                "{n} rows: {}{}{} (first at {first})",
                field_prefix(&key.0),
                key.1,
                header
                    .as_deref()
                    .map(|h| format!("; headers are: {h}"))
                    .unwrap_or_default()
            );
        }
    }
}

fn field_prefix(f: &Option<String>) -> String {
    f.as_deref().map(|f| format!("{f}: ")).unwrap_or_default()
}

fn headers_text(h: &[String]) -> String {
    h.iter()
        .map(|c| format!("`{}`", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
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
