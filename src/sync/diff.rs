//! `kontor preview --diff`: the current source through the (edited) mapping, compared with
//! what the store holds — counts and field-level samples, nothing written.

use super::{Prepared, map_items};
use crate::mapping::ColumnCache;
use crate::store::{DynStore, StoreError};
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Serialize)]
pub struct FieldChange {
    pub entity: String,
    pub external_id: String,
    pub field: String,
    pub old: Value,
    pub new: Value,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffReport {
    pub read: u64,
    pub insert: u64,
    pub update: u64,
    pub unchanged: u64,
    /// Snapshot connectors: open records the source no longer has.
    pub close: u64,
    pub quarantine: u64,
    pub skipped: u64,
    /// Field-level changes of some updated records (old → new).
    pub samples: Vec<FieldChange>,
    /// The first rejects: position, field, reason.
    pub rejects: Vec<(String, Option<String>, String)>,
}

/// Field paths and values of a canonical JSON object (`address.city`, `lines`).
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => out.push((prefix.to_owned(), other.clone())),
    }
}

fn changes(entity: &str, id: &str, old: &Value, new: &Value) -> Vec<FieldChange> {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    flatten("", old, &mut a);
    flatten("", new, &mut b);
    let a: HashMap<String, Value> = a.into_iter().collect();
    let b: HashMap<String, Value> = b.into_iter().collect();
    let mut fields: Vec<&String> = a.keys().chain(b.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| a.get(*f) != b.get(*f))
        .map(|f| FieldChange {
            entity: entity.to_owned(),
            external_id: id.to_owned(),
            field: f.clone(),
            old: a.get(f).cloned().unwrap_or(Value::Null),
            new: b.get(f).cloned().unwrap_or(Value::Null),
        })
        .collect()
}

/// Reads every unit of the connector from the start, maps it, and compares.
pub async fn diff(
    store: &DynStore,
    p: &Prepared,
    max_samples: usize,
) -> Result<DiffReport, String> {
    let name = p.cfg.name.as_str();
    let stored: HashMap<(String, String), (String, bool)> = store
        .record_hashes(name)
        .await
        .map_err(|e: StoreError| e.to_string())?
        .into_iter()
        .map(|(e, id, h, closed)| ((e, id), (h, closed)))
        .collect();
    let mut report = DiffReport::default();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut scope: HashSet<&'static str> = HashSet::new();
    let mut cache = ColumnCache::salted(store.key_salt().await.map_err(|e| e.to_string())?);
    let mut units = p.connector.discover().await.map_err(|e| e.to_string())?;
    super::order_units(&mut units);
    if p.is_snapshot() {
        // As a sync does: of a snapshot connector only the newest file counts.
        let newest = units
            .iter()
            .rposition(|u| u.commit == kontor_connector::CommitMode::Atomic);
        let mut i = 0;
        units.retain(|u| {
            i += 1;
            u.commit != kontor_connector::CommitMode::Atomic || Some(i - 1) == newest
        });
    }
    for unit in units {
        let mut streams = std::collections::BTreeSet::new();
        let mut staged = std::collections::BTreeSet::new();
        let mut reader = p
            .connector
            .open(&unit, None)
            .await
            .map_err(|e| e.to_string())?;
        while let Some(batch) = reader.next_batch().await.map_err(|e| e.to_string())? {
            super::note_streams(&batch.items, &mut streams);
            let m = map_items(&p.mappings, batch.items, &mut cache);
            staged.extend(m.records.iter().map(|r| r.entity));
            report.read += m.read;
            report.skipped += m.skipped;
            report.quarantine += m.rejects.len() as u64;
            for r in m
                .rejects
                .into_iter()
                .take(10usize.saturating_sub(report.rejects.len()))
            {
                report.rejects.push((r.position, r.field, r.reason));
            }
            for r in m.records {
                let key = (r.entity.to_owned(), r.external_id.clone());
                if !seen.insert(key.clone()) {
                    continue; // a later row of the same key supersedes it: counted once
                }
                match stored.get(&key) {
                    None => report.insert += 1,
                    Some((hash, closed)) if hash == &r.hash && !closed => report.unchanged += 1,
                    Some(_) => {
                        report.update += 1;
                        if report.samples.len() < max_samples
                            && let Ok(Some(old)) =
                                store.record(name, r.entity, &r.external_id).await
                        {
                            let new: Value = serde_json::from_str(&r.data).unwrap_or(Value::Null);
                            let c = changes(r.entity, &r.external_id, &old.data, &new);
                            let room = max_samples - report.samples.len();
                            report.samples.extend(c.into_iter().take(room));
                        }
                    }
                }
            }
        }
        if p.is_snapshot() {
            scope.extend(super::snapshot_scope(p, &unit, &streams, &staged));
        }
    }
    if p.is_snapshot() {
        report.close = stored
            .iter()
            .filter(|((e, _), (_, closed))| !closed && scope.contains(e.as_str()))
            .filter(|(k, _)| !seen.contains(*k))
            .count() as u64;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    #[test]
    fn field_changes_name_nested_paths() {
        let old = serde_json::json!({"email": "a@b.de", "address": {"city": "Köln", "postcode": "50667"}, "phones": ["+49"]});
        let new = serde_json::json!({"email": "c@b.de", "address": {"city": "Köln"}, "phones": ["+49"], "gln": "4012345000009"});
        let c = super::changes("customer", "1", &old, &new);
        let fields: Vec<&str> = c.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["address.postcode", "email", "gln"]);
        assert_eq!(c[1].old, "a@b.de");
        assert_eq!(c[2].old, serde_json::Value::Null);
    }
}
