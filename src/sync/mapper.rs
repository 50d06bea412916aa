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

/// Applies the mappings to every item of a batch.
pub fn map_items(mappings: &MappingSet, items: Vec<Item>, cache: &mut ColumnCache) -> Mapped {
    let mut out = Mapped {
        records: Vec::with_capacity(items.len()),
        ..Mapped::default()
    };
    for item in items {
        out.read += 1;
        match item {
            Item::Reject(r) => out.rejects.push(reject_of_raw(r)),
            Item::Record(rec) => {
                let Some(mapping) = mappings.for_stream(rec.stream.as_deref()) else {
                    let reason = format!(
                        "no mapping for records of stream `{}`",
                        rec.stream.as_deref().unwrap_or("-")
                    );
                    out.rejects.push(reject_of_record(&rec, None, reason));
                    continue;
                };
                match mapping.apply(&rec, cache) {
                    Outcome::Records(rs) => out
                        .records
                        .extend(rs.iter().map(|r| stage_record(r, &rec.position))),
                    Outcome::Skipped => out.skipped += 1,
                    Outcome::Rejected(rej) => out
                        .rejects
                        .push(reject_of_record(&rec, rej.field, rej.reason)),
                }
            }
        }
    }
    out
}
