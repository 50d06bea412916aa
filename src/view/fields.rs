//! Master data of a merged customer: per field the winning value with its provenance, and the
//! values it won against.

use super::Provenance;
use super::shown::MERGED_FIELDS;
use crate::config::IdentitySection;
use crate::store::StoredRecord;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Whose value wins a field when sources disagree.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `true`: the connector order decides (then the newest); `false`: the newest wins.
    pub by_priority: bool,
    pub priority: Vec<String>,
    pub fields: BTreeMap<String, Vec<String>>,
}

impl Policy {
    pub fn from_config(c: &IdentitySection) -> Self {
        Self {
            by_priority: c.conflict == "priority",
            priority: c.priority.clone(),
            fields: c.field_priority.clone(),
        }
    }

    /// Sort key of a candidate: lower wins.
    pub fn rank(&self, field: &str, connector: &str, synced_at: DateTime<Utc>) -> (usize, i64) {
        let list = self
            .fields
            .get(field)
            .or(self.by_priority.then_some(&self.priority));
        let pos = list
            .and_then(|l| l.iter().position(|c| c == connector))
            .unwrap_or(usize::MAX);
        (pos, -synced_at.timestamp_micros())
    }

    /// The record that wins among `records` for `field` (documents: the same rules).
    pub fn best<'a>(&self, field: &str, records: &[&'a StoredRecord]) -> Option<&'a StoredRecord> {
        records
            .iter()
            .min_by_key(|r| (self.rank(field, &r.connector, r.synced_at), &r.connector))
            .copied()
    }
}

/// A merged field: the winning value and where it comes from; `others` are the differing
/// values of other sources.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldValue {
    #[schema(value_type = Object)]
    pub value: Value,
    pub source: Provenance,
    pub synced_at: DateTime<Utc>,
    pub others: Vec<OtherValue>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OtherValue {
    #[schema(value_type = Object)]
    pub value: Value,
    pub source: Provenance,
    pub synced_at: DateTime<Utc>,
}

fn field_value(data: &Value, field: &str) -> Option<Value> {
    let v = data.get(field)?;
    match v {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::Array(a) if a.is_empty() => None,
        Value::Object(o) if o.is_empty() => None,
        _ => Some(v.clone()),
    }
}

/// Merges the customer records of one customer field by field.
pub fn merge(records: &[&StoredRecord], policy: &Policy) -> BTreeMap<String, FieldValue> {
    let mut out = BTreeMap::new();
    for &field in MERGED_FIELDS {
        let mut cands: Vec<(&StoredRecord, Value)> = records
            .iter()
            .filter_map(|r| field_value(&r.data, field).map(|v| (*r, v)))
            .collect();
        if cands.is_empty() {
            continue;
        }
        cands.sort_by_key(|(r, _)| {
            (
                policy.rank(field, &r.connector, r.synced_at),
                r.connector.clone(),
            )
        });
        let (win, value) = cands.remove(0);
        let mut others: Vec<OtherValue> = Vec::new();
        for (r, v) in cands {
            if v != value && !others.iter().any(|o| o.value == v) {
                others.push(OtherValue {
                    value: v,
                    source: Provenance::of(r),
                    synced_at: r.synced_at,
                });
            }
        }
        out.insert(
            field.to_owned(),
            FieldValue {
                value,
                source: Provenance::of(win),
                synced_at: win.synced_at,
                others,
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rec(connector: &str, day: u32, data: Value) -> StoredRecord {
        StoredRecord {
            connector: connector.into(),
            entity: "customer".into(),
            external_id: "1".into(),
            customer_no: Some("1".into()),
            ref_no: None,
            data,
            hash: String::new(),
            position: Some(format!("{connector}.csv:2")),
            run_id: Some(1),
            synced_at: Utc.with_ymd_and_hms(2026, 11, day, 8, 0, 0).unwrap(),
            closed_at: None,
        }
    }

    #[test]
    fn newest_wins_unless_a_priority_says_otherwise() {
        let wawi = rec(
            "wawi",
            1,
            serde_json::json!({"name": "Müller & Söhne GmbH", "email": "info@m.de", "address": {"city": "Köln"}}),
        );
        let erp = rec(
            "erp",
            2,
            serde_json::json!({"name": "Müller & Söhne GmbH", "email": "buha@m.de"}),
        );
        let rs = [&wawi, &erp];
        let newest = merge(&rs, &Policy::default());
        assert_eq!(newest["email"].value, "buha@m.de");
        assert_eq!(newest["email"].source.connector, "erp");
        assert_eq!(newest["email"].others[0].value, "info@m.de");
        assert_eq!(
            newest["email"].others[0].source.position.as_deref(),
            Some("wawi.csv:2")
        );
        // Same value in both: no "others".
        assert!(newest["name"].others.is_empty());
        assert_eq!(newest["address"].source.connector, "wawi");
        let by_field = Policy {
            fields: BTreeMap::from([("email".to_owned(), vec!["wawi".to_owned()])]),
            ..Policy::default()
        };
        assert_eq!(merge(&rs, &by_field)["email"].value, "info@m.de");
        let by_priority = Policy {
            by_priority: true,
            priority: vec!["wawi".into(), "erp".into()],
            ..Policy::default()
        };
        let m = merge(&rs, &by_priority);
        assert_eq!(
            (
                m["email"].value.as_str(),
                m["name"].source.connector.as_str()
            ),
            (Some("info@m.de"), "wawi")
        );
    }
}
