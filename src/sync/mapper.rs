//! Mapping a batch of raw items into store writes.

use super::prepare::MappingSet;
use crate::mapping::{ColumnCache, Outcome};
use crate::model::CanonicalRecord;
use crate::store::{NewReject, StageRecord};
use kontor_connector::{Item, Position, RawRecord, RawReject};

/// A batch after mapping.
#[derive(Debug, Default)]
pub struct Mapped {
    pub records: Vec<StageRecord>,
    pub rejects: Vec<NewReject>,
    pub read: u64,
    pub skipped: u64,
    /// Records with warnings (a `warnings` list in their data).
    pub warned: u64,
}

pub fn stage_record(r: &CanonicalRecord, position: &Position) -> StageRecord {
    let (data, hash) = r.encode();
    StageRecord {
        entity: r.entity.as_str(),
        external_id: r.external_id.clone(),
        customer_no: r.customer_no().map(str::to_owned),
        ref_no: r.ref_no().map(str::to_owned),
        data,
        hash,
        position: position.to_string(),
    }
}

pub fn reject_of_record(rec: &RawRecord, field: Option<String>, reason: String) -> NewReject {
    NewReject {
        source: rec.position.source.to_string(),
        line: rec.position.line.map(|l| l as i64),
        position: rec.position.to_string(),
        field,
        reason,
        raw: rec.raw_text(),
        record: Some(rec.to_json().to_string()),
        stream: rec.stream.as_deref().map(str::to_owned),
        context: serde_json::to_string(rec.context.as_ref()).ok(),
        entity: None,
        record_key: None,
    }
}

pub fn reject_of_raw(r: RawReject) -> NewReject {
    NewReject {
        source: r.position.source.to_string(),
        line: r.position.line.map(|l| l as i64),
        position: r.position.to_string(),
        field: r.field,
        reason: r.reason,
        raw: r.raw,
        ..NewReject::default()
    }
}

/// Drops the values of source fields on the data-protection deny-list (birthday, hobbies,
/// religion, …) before anything else sees the record: they never reach the store, not even
/// in quarantine. Decisions are cached per field name (and per header for flat files).
#[derive(Default)]
struct DenyScrub {
    names: std::collections::HashMap<String, bool>,
    headers: std::collections::HashMap<usize, Vec<usize>>,
}

impl DenyScrub {
    fn denied(&mut self, name: &str) -> bool {
        if let Some(d) = self.names.get(name) {
            return *d;
        }
        let d = crate::mapping::is_denied_name(name.trim_start_matches('@'));
        self.names.insert(name.to_owned(), d);
        d
    }

    fn tree(&mut self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                let drop: Vec<String> = m.keys().filter(|k| self.denied(k)).cloned().collect();
                for k in drop {
                    m.remove(&k);
                }
                for v in m.values_mut() {
                    self.tree(v);
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|v| self.tree(v)),
            _ => {}
        }
    }

    fn record(&mut self, mut rec: RawRecord) -> RawRecord {
        use kontor_connector::{Fields, Row};
        match &mut rec.fields {
            Fields::Tree(v) => self.tree(v),
            Fields::Row { header, values } => {
                let key = std::sync::Arc::as_ptr(header) as usize;
                let idx = match self.headers.get(&key) {
                    Some(i) => i.clone(),
                    None => {
                        let i: Vec<usize> = (0..header.len())
                            .filter(|&i| self.denied(&header[i]))
                            .collect();
                        self.headers.insert(key, i.clone());
                        i
                    }
                };
                if !idx.is_empty() {
                    let mut row = Row::with_capacity(0, values.len());
                    for (i, v) in values.iter().enumerate() {
                        row.push(if idx.contains(&i) { "" } else { v });
                    }
                    *values = row;
                }
            }
        }
        rec
    }
}

/// Applies the mappings to every item of a batch.
pub fn map_items(mappings: &MappingSet, items: Vec<Item>, cache: &mut ColumnCache) -> Mapped {
    let mut out = Mapped {
        records: Vec::with_capacity(items.len()),
        ..Mapped::default()
    };
    let mut deny = DenyScrub::default();
    for item in items {
        out.read += 1;
        match item {
            Item::Reject(r) => out.rejects.push(reject_of_raw(r)),
            Item::Record(rec) => {
                let rec = deny.record(rec);
                let Some(mapping) = mappings.for_stream(rec.stream.as_deref()) else {
                    let reason = format!(
                        "no mapping for records of stream `{}`",
                        rec.stream.as_deref().unwrap_or("-")
                    );
                    out.rejects.push(reject_of_record(&rec, None, reason));
                    continue;
                };
                match mapping.apply(&rec, cache) {
                    Outcome::Records(rs) => {
                        out.warned += rs
                            .iter()
                            .filter(|r| r.data.get("warnings").is_some_and(|w| w.is_array()))
                            .count() as u64;
                        out.records
                            .extend(rs.iter().map(|r| stage_record(r, &rec.position)));
                    }
                    Outcome::Skipped => out.skipped += 1,
                    Outcome::Rejected(rej) => {
                        let mut r = reject_of_record(&rec, rej.field, rej.reason);
                        if let Some((entity, key)) = rej.key {
                            r.entity = Some(entity.as_str().to_owned());
                            r.record_key = Some(key);
                        }
                        out.rejects.push(r)
                    }
                }
            }
        }
    }
    out
}
