//! `kontor quarantine list / show / replay / resolve / dismiss`.

use super::{Cli, diags_text, load_config, open_store_as};
use clap::Subcommand;
use kontor::mapping::{ColumnCache, Outcome};
use kontor::store::{QuarantineCounts, QuarantineFilter, QuarantineResolve, UnitRef, WriteBatch};
use kontor::sync::{self, stage_record};
use kontor_connector::{Position, RawRecord};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Subcommand, Debug)]
pub enum QuarantineCmd {
    /// Open rejected rows with position and reason (`--all` / `--resolved` for the others).
    List {
        #[arg(long)]
        connector: Option<String>,
        #[arg(long)]
        run: Option<i64>,
        /// Also resolved, replayed, superseded and dismissed rows.
        #[arg(long, conflicts_with = "resolved")]
        all: bool,
        /// Only rows that are no longer open (with when, why and by whom).
        #[arg(long)]
        resolved: bool,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// One rejected row in full.
    Show { id: i64 },
    /// Map rejected rows again with the current mapping and load those that pass.
    Replay {
        ids: Vec<i64>,
        #[arg(long)]
        connector: Option<String>,
    },
    /// Mark open rows resolved (fixed in the source, not worth loading …) with a reason:
    /// by id, by file, or all created before a date (the parts given must all match).
    Resolve {
        ids: Vec<i64>,
        /// Rows of this file (as `quarantine list` shows it, or its file name).
        #[arg(long)]
        file: Option<String>,
        /// Rows created before this date (YYYY-MM-DD, local midnight) or moment (RFC 3339).
        #[arg(long)]
        before: Option<String>,
        #[arg(long)]
        connector: Option<String>,
        /// Why (stored with the entry).
        #[arg(long)]
        reason: String,
    },
    /// Accept refused files as they are: they stay unloaded and are not read again while
    /// unchanged, their rows leave the quarantine (`dismissed`), and the connector is no
    /// longer degraded because of them.
    Dismiss {
        #[arg(long)]
        connector: String,
        /// Only this file (its label as `quarantine list` shows it); default: every refused
        /// file of the connector.
        #[arg(long)]
        file: Option<String>,
    },
}

pub async fn run(cli: &Cli, cmd: &QuarantineCmd) -> anyhow::Result<i32> {
    let cfg = load_config(cli)?;
    // Listing reads; a replay writes (a blank store is created, an old one is not upgraded).
    let mode = match cmd {
        QuarantineCmd::Replay { .. } | QuarantineCmd::Resolve { .. } => kontor::store::Open::Create,
        _ => kontor::store::Open::Current,
    };
    let store = open_store_as(&cfg, mode).await?;
    match cmd {
        QuarantineCmd::List {
            connector,
            run,
            all,
            resolved,
            json,
            limit,
        } => {
            let filter = QuarantineFilter {
                connector: connector.clone(),
                run_id: *run,
                all: *all,
                resolved: *resolved,
                limit: *limit,
            };
            let rows = store.quarantine(&filter).await?;
            let counts = store.quarantine_counts(&filter).await?;
            for q in &rows {
                if *json {
                    let shown = kontor::sync::shown::QuarantineEntry::from(q.clone());
                    println!("{}", serde_json::to_string(&shown)?);
                } else {
                    let field = q
                        .field
                        .as_deref()
                        .map(|f| format!(" [{f}]"))
                        .unwrap_or_default();
                    let status = match (&q.status[..], &q.resolved_reason) {
                        ("open", _) => String::new(),
                        (s, Some(why)) => format!(" ({s}: {why})"),
                        (s, None) => format!(" ({s})"),
                    };
                    println!(
                        "{:>6}  {:<16} {}{field}: {}{status}",
                        q.id, q.connector, q.position, q.reason
                    );
                }
            }
            eprintln!("{}", list_summary(&filter, rows.len() as u64, counts));
            Ok(0)
        }
        QuarantineCmd::Show { id } => {
            let Some(q) = store.quarantine_entry(*id).await? else {
                anyhow::bail!("no quarantine entry {id}");
            };
            println!("id:        {}", q.id);
            println!("connector: {}", q.connector);
            println!(
                "run:       {}",
                q.run_id.map(|r| r.to_string()).unwrap_or_default()
            );
            println!("position:  {}", q.position);
            println!("file:      {}", q.source);
            println!(
                "line:      {}",
                q.line.map(|l| l.to_string()).unwrap_or_default()
            );
            println!("field:     {}", q.field.as_deref().unwrap_or("-"));
            println!("reason:    {}", q.reason);
            println!("status:    {}", q.status);
            if let Some(at) = q.resolved_at {
                println!(
                    "resolved:  {} by {}{}: {}",
                    at.to_rfc3339(),
                    q.resolved_by.as_deref().unwrap_or("-"),
                    q.resolved_run_id
                        .map(|r| format!(" (run {r})"))
                        .unwrap_or_default(),
                    q.resolved_reason.as_deref().unwrap_or("-")
                );
            }
            if let (Some(e), Some(k)) = (&q.entity, &q.record_key) {
                println!("record:    {e} {k}");
            }
            println!("at:        {}", q.created_at.to_rfc3339());
            println!("raw:       {}", q.raw);
            Ok(0)
        }
        QuarantineCmd::Replay { ids, connector } => {
            super::cluster_gate(cli, &cfg, &store).await?;
            replay(&cfg, &store, ids, connector.as_deref()).await
        }
        QuarantineCmd::Resolve {
            ids,
            file,
            before,
            connector,
            reason,
        } => {
            if ids.is_empty() && file.is_none() && before.is_none() {
                anyhow::bail!(
                    "say which rows: ids, --file FILE or --before DATE (with --reason \"…\")"
                );
            }
            if reason.trim().is_empty() {
                anyhow::bail!("--reason must not be empty");
            }
            let before = before.as_deref().map(parse_before).transpose()?;
            let by = std::env::var("USER")
                .or_else(|_| std::env::var("USERNAME"))
                .unwrap_or_else(|_| "ops".into());
            let n = store
                .resolve_quarantine(&QuarantineResolve {
                    ids: ids.clone(),
                    file: file.clone(),
                    before,
                    connector: connector.clone(),
                    reason: reason.trim().to_owned(),
                    by,
                })
                .await?;
            println!("{n} resolved");
            if n == 0 {
                eprintln!("no open row matched (`kontor quarantine list` shows the open ones)");
                return Ok(1);
            }
            Ok(0)
        }
        QuarantineCmd::Dismiss { connector, file } => {
            let refused: Vec<_> = store
                .refused_units()
                .await?
                .into_iter()
                .filter(|u| &u.connector == connector)
                .filter(|u| file.as_ref().is_none_or(|f| &u.label == f))
                .collect();
            if refused.is_empty() {
                eprintln!(
                    "{connector}: no refused file{} (`kontor quarantine list --connector {connector}` shows its rows)",
                    file.as_ref().map(|f| format!(" `{f}`")).unwrap_or_default()
                );
                return Ok(1);
            }
            for u in &refused {
                store.dismiss_refused(connector, Some(&u.unit_key)).await?;
                println!(
                    "dismissed {} (refused by run {})",
                    u.label,
                    u.run_id.unwrap_or(0)
                );
            }
            Ok(0)
        }
    }
}

async fn replay(
    cfg: &kontor::config::Config,
    store: &kontor::store::DynStore,
    ids: &[i64],
    connector: Option<&str>,
) -> anyhow::Result<i32> {
    let mut entries = Vec::new();
    if ids.is_empty() {
        entries = store
            .quarantine(&QuarantineFilter {
                connector: connector.map(str::to_owned),
                ..QuarantineFilter::default()
            })
            .await?;
    } else {
        for id in ids {
            match store.quarantine_entry(*id).await? {
                Some(q) if q.status == "open" => entries.push(q),
                Some(q) => eprintln!("{id}: already {}", q.status),
                None => eprintln!("{id}: no such entry"),
            }
        }
    }
    let mut by_connector: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for q in entries {
        by_connector.entry(q.connector.clone()).or_default().push(q);
    }
    let (mut loaded, mut still) = (0, 0);
    for (name, entries) in by_connector {
        let Some(c) = cfg.connector(&name) else {
            eprintln!(
                "{name}: connector no longer configured; {} entries left",
                entries.len()
            );
            still += entries.len();
            continue;
        };
        let p = sync::prepare(cfg, c).map_err(|d| anyhow::anyhow!(diags_text(&d)))?;
        let run_id = store.start_run(&name, &sync::node_name()).await?;
        let mut records = Vec::new();
        let mut resolves = Vec::new();
        let mut cache = ColumnCache::salted(store.key_salt().await?);
        for q in &entries {
            let Some(fields) = q
                .record
                .as_deref()
                .and_then(|r| serde_json::from_str(r).ok())
                .and_then(|v| RawRecord::fields_from_json(&v))
            else {
                eprintln!(
                    "{:>6}  {}: cannot be replayed (the row could not be read); fix the source and sync again",
                    q.id, q.position
                );
                still += 1;
                continue;
            };
            let rec = RawRecord {
                fields,
                position: Position {
                    source: Arc::from(q.source.as_str()),
                    line: q.line.map(|l| l as u64),
                    ..Position::default()
                },
                context: Arc::new(
                    q.context
                        .as_deref()
                        .and_then(|c| serde_json::from_str(c).ok())
                        .unwrap_or_default(),
                ),
                stream: q.stream.as_deref().map(Arc::from),
            };
            match p
                .mappings
                .for_stream(q.stream.as_deref())
                .map(|m| m.apply(&rec, &mut cache))
            {
                Some(Outcome::Records(rs)) => {
                    records.extend(rs.iter().map(|r| stage_record(r, &rec.position)));
                    resolves.push(q.id);
                }
                Some(Outcome::Skipped) => resolves.push(q.id),
                Some(Outcome::Rejected(r)) => {
                    still += 1;
                    eprintln!("{:>6}  {}: still rejected: {}", q.id, q.position, r.reason);
                }
                None => still += 1,
            }
        }
        loaded += resolves.len();
        let key = format!("replay-{run_id}");
        let counts = store
            .write_batch(WriteBatch {
                run_id,
                unit: UnitRef {
                    connector: &name,
                    key: &key,
                    label: "quarantine replay",
                    fingerprint: None,
                    mapping_hash: &p.mappings.hash,
                },
                records,
                rejects: Vec::new(),
                position: serde_json::Value::Null,
                read: entries.len() as u64,
                skipped: 0,
                promote: true,
                resolves,
            })
            .await?;
        let status = if still > 0 {
            kontor::store::RunStatus::Partial
        } else {
            kontor::store::RunStatus::Ok
        };
        store.finish_run(run_id, status, &counts, None).await?;
        println!(
            "{name}: read={} inserted={} updated={} unchanged={}",
            entries.len(),
            counts.inserted,
            counts.updated,
            counts.unchanged
        );
    }
    eprintln!("{loaded} replayed, {still} still in quarantine");
    Ok(if still > 0 { 3 } else { 0 })
}

/// `20 of 143 open rows shown (312 resolved: --all or --resolved)`.
fn list_summary(f: &QuarantineFilter, shown: u64, c: QuarantineCounts) -> String {
    let what = if f.all {
        "rows"
    } else if f.resolved {
        "resolved rows"
    } else {
        "open rows"
    };
    let total = c.matching(f);
    let mut s = if total == 0 {
        format!("no {what}")
    } else {
        format!("{shown} of {total} {what} shown")
    };
    if shown < total {
        s.push_str(" (--limit N shows more)");
    }
    if !f.all && !f.resolved && c.resolved > 0 {
        s.push_str(&format!(
            "; {} resolved (--resolved or --all shows them)",
            c.resolved
        ));
    }
    if f.resolved && c.open > 0 {
        s.push_str(&format!("; {} open", c.open));
    }
    s
}

/// `--before`: a date (local midnight) or an RFC 3339 moment.
fn parse_before(s: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| anyhow::anyhow!("--before `{s}`: use YYYY-MM-DD or an RFC 3339 time"))?;
    let local = d
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(chrono::Local).earliest())
        .ok_or_else(|| anyhow::anyhow!("--before `{s}`: no such local time"))?;
    Ok(local.with_timezone(&chrono::Utc))
}
