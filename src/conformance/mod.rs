//! The connector conformance kit: what every connector — built-in or plugin — must do, checked
//! against a configured connector and its real source, writing only into scratch stores.
//! `kontor conformance <connector>` runs it; CI runs it for every built-in kind.

use crate::config::{Config, ConnectorConfig};
use crate::store::{DynStore, RunStatus};
use crate::sync::{self, Progress, SyncOptions};
use kontor_connector::Item;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Skip,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub verdict: Verdict,
    pub detail: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub connector: String,
    pub checks: Vec<Check>,
}

impl Report {
    fn add(&mut self, name: &'static str, verdict: Verdict, detail: impl Into<String>) {
        self.checks.push(Check {
            name,
            verdict,
            detail: detail.into(),
        });
    }
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.verdict == Verdict::Fail)
    }
    pub fn verdict(&self, name: &str) -> Option<Verdict> {
        self.checks
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.verdict)
    }
}

mod sources;
use sources::{empty_source, unreachable_source};

/// A batch as read: the digests of its items and its position.
type ReadBatch = (Vec<String>, serde_json::Value);

/// What one full read of a connector delivered.
#[derive(Debug, Default)]
struct Read {
    /// Per unit (its key): its batches.
    units: Vec<(String, Vec<ReadBatch>)>,
    rejects: usize,
    texts: Vec<String>,
}

impl Read {
    fn digests(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .units
            .iter()
            .flat_map(|(_, batches)| batches.iter().flat_map(|(d, _)| d.iter().cloned()))
            .collect();
        all.sort();
        all
    }
}

fn digest(item: &Item) -> String {
    match item {
        Item::Record(r) => format!(
            "{}|{}",
            r.stream.as_deref().unwrap_or(""),
            blake3::hash(r.to_json().to_string().as_bytes()).to_hex()
        ),
        Item::Reject(r) => format!("reject|{}", r.reason),
    }
}

async fn read_all(p: &sync::Prepared) -> Result<Read, String> {
    let mut out = Read::default();
    let units = p.connector.discover().await.map_err(|e| e.to_string())?;
    for unit in units {
        out.texts.push(unit.label.clone());
        let mut reader = p
            .connector
            .open(&unit, None)
            .await
            .map_err(|e| e.to_string())?;
        let mut batches = Vec::new();
        while let Some(b) = reader.next_batch().await.map_err(|e| e.to_string())? {
            out.texts.push(b.position.to_string());
            for i in &b.items {
                match i {
                    Item::Reject(r) => {
                        out.rejects += 1;
                        out.texts.push(format!("{} {}", r.position, r.reason));
                    }
                    Item::Record(r) => out.texts.push(r.position.to_string()),
                }
            }
            batches.push((b.items.iter().map(digest).collect(), b.position));
        }
        out.units.push((unit.key.clone(), batches));
    }
    Ok(out)
}

async fn scratch() -> Result<(DynStore, tempfile::TempDir), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let url = format!("sqlite://{}", dir.path().join("conformance.db").display());
    let store = crate::store::open(&url).await.map_err(|e| e.to_string())?;
    Ok((store, dir))
}

/// Stops a run after its first batch.
struct StopAfterFirst(Arc<AtomicBool>);

impl Progress for StopAfterFirst {
    fn batch_done(&self, _: &str, _: u64, _: Option<u64>) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// (entity, external id, hash) of every record of a store.
async fn contents(store: &DynStore) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = store
        .records(None, None, 0)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.entity, r.external_id, r.hash))
        .collect();
    v.sort();
    v
}

/// The secret values a connector's settings point to (`*_env`, `*_file`, `{ env = … }`,
/// `{ file = … }`), to make sure none of them shows anywhere.
fn secrets(cfg: &Config, settings: &toml::Table) -> Vec<String> {
    fn walk(cfg: &Config, key: &str, v: &toml::Value, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    walk(cfg, k, v, out);
                }
            }
            toml::Value::String(s) if key == "env" || key.ends_with("_env") => {
                if let Ok(v) = std::env::var(s) {
                    out.push(v);
                }
            }
            toml::Value::String(s) if key == "file" || key.ends_with("_file") => {
                if let Ok(v) = std::fs::read_to_string(cfg.path(s)) {
                    out.push(v.trim().to_owned());
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (k, v) in settings {
        walk(cfg, k, v, &mut out);
    }
    out.retain(|s| s.len() >= 4);
    out
}

/// Runs the kit against connector `cc` of `cfg`.
pub async fn run(cfg: &Config, cc: &ConnectorConfig) -> Report {
    let mut report = Report {
        connector: cc.name.clone(),
        ..Report::default()
    };
    let mut texts: Vec<String> = Vec::new();
    // Small batches, so that every source of some size has several to resume between.
    let mut small = cc.clone();
    small.batch_size = small.batch_size.clamp(1, 3);
    let prepared = match sync::prepare(cfg, &small) {
        Ok(p) => p,
        Err(d) => {
            let msg = d
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            report.add("check accepts the configuration", Verdict::Fail, msg);
            return report;
        }
    };
    texts.push(serde_json::to_string(&prepared.connector.describe()).unwrap_or_default());
    match prepared.connector.check().await {
        Ok(warnings) => {
            texts.extend(warnings.iter().cloned());
            report.add(
                "check accepts the configuration",
                Verdict::Pass,
                warnings.join("; "),
            );
        }
        Err(e) => {
            texts.push(e.to_string());
            report.add(
                "check accepts the configuration",
                Verdict::Fail,
                e.to_string(),
            );
        }
    }
    // A typo in the configuration is an error that names the key.
    let mut bad = cc.clone();
    bad.settings
        .insert("conformance_bogus_key".into(), toml::Value::Boolean(true));
    match sync::prepare(cfg, &bad) {
        Err(d)
            if d.iter()
                .any(|d| d.message.contains("conformance_bogus_key")) =>
        {
            texts.extend(d.iter().map(ToString::to_string));
            report.add(
                "a bad configuration names its key",
                Verdict::Pass,
                d[0].to_string(),
            );
        }
        Err(d) => report.add(
            "a bad configuration names its key",
            Verdict::Fail,
            format!("error does not name the key: {}", d[0]),
        ),
        Ok(_) => report.add(
            "a bad configuration names its key",
            Verdict::Fail,
            "an unknown key was accepted",
        ),
    }
    unreachable_source(cfg, cc, &mut report, &mut texts).await;
    empty_source(cfg, cc, &mut report).await;

    let first = read_all(&prepared).await;
    let second = read_all(&prepared).await;
    let (first, second) = match (first, second) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            report.add("reads the whole source", Verdict::Fail, e);
            return report;
        }
    };
    texts.extend(first.texts.iter().cloned());
    let records = first.digests().len() - first.rejects;
    report.add(
        "reads the whole source",
        Verdict::Pass,
        format!(
            "{} unit(s), {records} record(s), {} reject(s)",
            first.units.len(),
            first.rejects
        ),
    );
    if first.digests() == second.digests() {
        report.add("reading again gives the same records", Verdict::Pass, "");
    } else {
        report.add(
            "reading again gives the same records",
            Verdict::Fail,
            "the two reads differ",
        );
    }
    resume(&prepared, &first, &mut report).await;
    let stores = sync_checks(&prepared, &mut report).await;
    if let Some((store, _dir)) = &stores {
        let q = store
            .quarantine(&crate::store::QuarantineFilter::default())
            .await
            .unwrap_or_default();
        for e in &q {
            texts.push(format!("{} {} {:?}", e.position, e.reason, e.field));
        }
        for r in store.runs(None, 100).await.unwrap_or_default() {
            texts.extend(r.error);
        }
        if q.is_empty() {
            report.add(
                "a bad record goes to quarantine",
                Verdict::Skip,
                "the source has no record the mapping rejects",
            );
        } else if q
            .iter()
            .all(|e| !e.position.is_empty() && !e.reason.is_empty())
        {
            report.add(
                "a bad record goes to quarantine",
                Verdict::Pass,
                format!(
                    "{} quarantined with position and reason, e.g. {}: {}",
                    q.len(),
                    q[0].position,
                    q[0].reason
                ),
            );
        } else {
            report.add(
                "a bad record goes to quarantine",
                Verdict::Fail,
                "a quarantine entry lacks position or reason",
            );
        }
    }
    let secrets = secrets(cfg, &cc.settings);
    let leaked: Vec<&String> = secrets
        .iter()
        .filter(|s| texts.iter().any(|t| t.contains(s.as_str())))
        .collect();
    match (secrets.is_empty(), leaked.is_empty()) {
        (true, _) => report.add(
            "secrets never show",
            Verdict::Skip,
            "the configuration names no secret",
        ),
        (false, true) => report.add(
            "secrets never show",
            Verdict::Pass,
            format!(
                "{} secret(s) absent from {} messages, labels and positions",
                secrets.len(),
                texts.len()
            ),
        ),
        (false, false) => report.add(
            "secrets never show",
            Verdict::Fail,
            "a secret value appears in the output",
        ),
    }
    report
}

/// Reopening a unit at a batch's position delivers what came after it.
async fn resume(p: &sync::Prepared, full: &Read, report: &mut Report) {
    let Some((key, batches)) = full.units.iter().find(|(_, b)| b.len() >= 2) else {
        report.add(
            "resumes from a position",
            Verdict::Skip,
            "no unit has two batches",
        );
        return;
    };
    let units = match p.connector.discover().await {
        Ok(u) => u,
        Err(e) => return report.add("resumes from a position", Verdict::Fail, e.to_string()),
    };
    let Some(unit) = units.iter().find(|u| &u.key == key) else {
        return report.add(
            "resumes from a position",
            Verdict::Fail,
            "the unit is gone on the second discovery",
        );
    };
    let mut rest: Vec<String> = Vec::new();
    let reopened = async {
        let mut r = p
            .connector
            .open(unit, Some(batches[0].1.clone()))
            .await
            .map_err(|e| e.to_string())?;
        while let Some(b) = r.next_batch().await.map_err(|e| e.to_string())? {
            rest.extend(b.items.iter().map(digest));
        }
        Ok::<_, String>(())
    }
    .await;
    if let Err(e) = reopened {
        return report.add("resumes from a position", Verdict::Fail, e);
    }
    let mut want: Vec<String> = batches[1..]
        .iter()
        .flat_map(|(d, _)| d.iter().cloned())
        .collect();
    want.sort();
    rest.sort();
    if rest == want {
        report.add(
            "resumes from a position",
            Verdict::Pass,
            format!("{} item(s) after the first batch", want.len()),
        );
    } else {
        report.add(
            "resumes from a position",
            Verdict::Fail,
            format!(
                "{} item(s) after resuming, {} expected",
                rest.len(),
                want.len()
            ),
        );
    }
}

/// Sync twice (the second writes nothing), and an interrupted sync that resumes to the same
/// store. Returns the clean store for the later checks.
async fn sync_checks(
    p: &sync::Prepared,
    report: &mut Report,
) -> Option<(DynStore, tempfile::TempDir)> {
    let (store, dir) = match scratch().await {
        Ok(s) => s,
        Err(e) => {
            report.add("a second sync writes nothing", Verdict::Fail, e);
            return None;
        }
    };
    let opts = SyncOptions {
        node: "conformance".into(),
        ..Default::default()
    };
    let first = sync::run(&store, p, &opts).await;
    let second = sync::run(&store, p, &opts).await;
    match (&first, &second) {
        (Ok(_), Ok(b))
            if b.counts.inserted == 0 && b.counts.updated == 0 && b.status != RunStatus::Failed =>
        {
            report.add(
                "a second sync writes nothing",
                Verdict::Pass,
                b.summary_line(),
            );
        }
        (Ok(_), Ok(b)) => report.add(
            "a second sync writes nothing",
            Verdict::Fail,
            b.summary_line(),
        ),
        (Err(e), _) | (_, Err(e)) => {
            report.add("a second sync writes nothing", Verdict::Fail, e.to_string())
        }
    }
    let clean = contents(&store).await;
    let interrupted = async {
        let (s2, d2) = scratch().await?;
        let stop = Arc::new(AtomicBool::new(false));
        let o = SyncOptions {
            node: "conformance".into(),
            cancel: Some(Arc::clone(&stop)),
            progress: Some(Arc::new(StopAfterFirst(Arc::clone(&stop)))),
            ..Default::default()
        };
        let r1 = sync::run(&s2, p, &o).await.map_err(|e| e.to_string())?;
        let r2 = sync::run(&s2, p, &opts).await.map_err(|e| e.to_string())?;
        let after = contents(&s2).await;
        drop(d2);
        Ok::<_, String>((r1, r2, after))
    }
    .await;
    match interrupted {
        Ok((r1, _, after)) if after == clean => report.add(
            "an interrupted sync resumes without loss or duplicates",
            Verdict::Pass,
            format!(
                "stopped as {:?} after {} row(s); resumed to {} record(s)",
                r1.status,
                r1.counts.read,
                after.len()
            ),
        ),
        Ok((_, _, after)) => report.add(
            "an interrupted sync resumes without loss or duplicates",
            Verdict::Fail,
            format!(
                "{} record(s) after resuming, {} in a clean sync",
                after.len(),
                clean.len()
            ),
        ),
        Err(e) => report.add(
            "an interrupted sync resumes without loss or duplicates",
            Verdict::Fail,
            e,
        ),
    }
    Some((store, dir))
}
