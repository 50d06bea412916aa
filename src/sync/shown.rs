//! Runs, quarantined rows and refused units as ops see them: the HTTP API, `--json` output
//! and the data export. The store keeps rows ([`RunRow`], [`QuarantineRow`], [`RefusedRow`]);
//! what is shown is decided here — a quarantined row's replay material stays in the store.

use crate::store::{Counts, QuarantineRow, RefusedRow, RunId, RunRow, RunStatus};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A sync run.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RunInfo {
    pub id: RunId,
    pub connector: String,
    pub node: Option<String>,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub counts: Counts,
    pub error: Option<String>,
}

impl From<RunRow> for RunInfo {
    fn from(r: RunRow) -> Self {
        RunInfo {
            id: r.id,
            connector: r.connector,
            node: r.node,
            status: r.status,
            started_at: r.started_at,
            finished_at: r.finished_at,
            counts: r.counts,
            error: r.error,
        }
    }
}

impl RunInfo {
    /// How long it ran (`None` while it runs).
    pub fn duration_ms(&self) -> Option<i64> {
        self.finished_at
            .map(|f| (f - self.started_at).num_milliseconds())
    }
}

/// A quarantined row: where it came from, which field, why, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QuarantineEntry {
    pub id: i64,
    pub run_id: Option<RunId>,
    pub connector: String,
    pub unit_key: Option<String>,
    pub source: String,
    pub line: Option<i64>,
    pub position: String,
    pub field: Option<String>,
    pub reason: String,
    pub raw: String,
    pub stream: Option<String>,
    /// open | resolved | replayed | superseded | dismissed
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// The record the row would have been (when its key was readable).
    pub entity: Option<String>,
    pub record_key: Option<String>,
    /// When, why and by whom the entry left the open list.
    pub resolved_at: Option<DateTime<Utc>>,
    /// `loaded later`, `superseded by FILE`, or the reason ops gave.
    pub resolved_reason: Option<String>,
    /// `sync` (with `resolved_run_id`), or the user who resolved it.
    pub resolved_by: Option<String>,
    pub resolved_run_id: Option<RunId>,
}

impl From<QuarantineRow> for QuarantineEntry {
    fn from(q: QuarantineRow) -> Self {
        QuarantineEntry {
            id: q.id,
            run_id: q.run_id,
            connector: q.connector,
            unit_key: q.unit_key,
            source: q.source,
            line: q.line,
            position: q.position,
            field: q.field,
            reason: q.reason,
            raw: q.raw,
            stream: q.stream,
            status: q.status,
            created_at: q.created_at,
            entity: q.entity,
            record_key: q.record_key,
            resolved_at: q.resolved_at,
            resolved_reason: q.resolved_reason,
            resolved_by: q.resolved_by,
            resolved_run_id: q.resolved_run_id,
        }
    }
}

/// A unit that was refused (too many rejects, a header that does not fit the mapping) and
/// no later unit of its connector loaded rows since.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RefusedUnit {
    pub connector: String,
    pub unit_key: String,
    /// The file (or stream).
    pub label: String,
    pub refused_at: DateTime<Utc>,
    pub run_id: Option<i64>,
}

impl From<RefusedRow> for RefusedUnit {
    fn from(u: RefusedRow) -> Self {
        RefusedUnit {
            connector: u.connector,
            unit_key: u.unit_key,
            label: u.label,
            refused_at: u.refused_at,
            run_id: u.run_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarantine_entry_shows_no_replay_material_and_a_run_its_counts_flat() {
        let q = QuarantineRow {
            id: 1,
            run_id: Some(2),
            connector: "wawi".into(),
            unit_key: Some("kunden.csv".into()),
            source: "kunden.csv".into(),
            line: Some(7),
            position: "kunden.csv:7".into(),
            field: Some("iban".into()),
            reason: "not an IBAN".into(),
            raw: "7;Müller".into(),
            record: Some("{\"secret\":1}".into()),
            stream: None,
            context: Some("{\"ctx\":1}".into()),
            status: "open".into(),
            created_at: Utc::now(),
            entity: None,
            record_key: None,
            resolved_at: None,
            resolved_reason: None,
            resolved_by: None,
            resolved_run_id: None,
        };
        let v = serde_json::to_value(QuarantineEntry::from(q)).unwrap();
        assert!(
            v.get("record").is_none() && v.get("context").is_none(),
            "{v}"
        );
        assert_eq!(v["field"], "iban");
        let r = RunRow {
            id: 3,
            connector: "wawi".into(),
            node: None,
            status: RunStatus::Partial,
            started_at: "2026-12-06T10:00:00Z".parse().unwrap(),
            finished_at: Some("2026-12-06T10:00:01.5Z".parse().unwrap()),
            counts: Counts {
                read: 5,
                quarantined: 1,
                ..Counts::default()
            },
            error: None,
        };
        let run = RunInfo::from(r);
        assert_eq!(run.duration_ms(), Some(1500));
        let v = serde_json::to_value(run).unwrap();
        assert_eq!(
            (v["status"].as_str(), v["read"].as_u64()),
            (Some("partial"), Some(5))
        );
    }
}
