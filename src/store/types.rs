//! Values the store reads and writes.

use chrono::{DateTime, Utc};
use serde::Serialize;

pub type RunId = i64;

/// Outcome of a sync run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    /// Everything loaded.
    Ok,
    /// Loaded, with quarantined rows.
    Partial,
    /// At least one unit failed, or the run could not finish.
    Failed,
    /// The process died while the run was going on (found by the next run).
    Aborted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Ok => "ok",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Aborted => "aborted",
        }
    }
    /// A status as stored; an unknown one is an error (a newer kontor wrote it, or the row is
    /// damaged), never read as `failed`.
    pub fn parse(s: &str) -> Result<RunStatus, sqlx::Error> {
        Ok(match s {
            "running" => RunStatus::Running,
            "ok" => RunStatus::Ok,
            "partial" => RunStatus::Partial,
            "aborted" => RunStatus::Aborted,
            "failed" => RunStatus::Failed,
            _ => return Err(unknown("run", s)),
        })
    }
}

impl TryFrom<String> for RunStatus {
    type Error = sqlx::Error;
    fn try_from(s: String) -> Result<Self, sqlx::Error> {
        RunStatus::parse(&s)
    }
}

fn unknown(what: &str, s: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unknown {what} status `{s}` in the store").into())
}

/// Row counts of a run or a unit.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow,
)]
pub struct Counts {
    #[sqlx(try_from = "i64")]
    pub read: u64,
    #[sqlx(try_from = "i64")]
    pub inserted: u64,
    #[sqlx(try_from = "i64")]
    pub updated: u64,
    #[sqlx(try_from = "i64")]
    pub unchanged: u64,
    #[sqlx(try_from = "i64")]
    pub quarantined: u64,
    #[sqlx(try_from = "i64")]
    pub skipped: u64,
    #[sqlx(try_from = "i64")]
    pub closed: u64,
    /// Records loaded with warnings (an e-invoice breaking an EN 16931 business rule, …).
    #[sqlx(try_from = "i64")]
    pub warnings: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.read += o.read;
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.quarantined += o.quarantined;
        self.skipped += o.skipped;
        self.closed += o.closed;
        self.warnings += o.warnings;
    }
}

/// A sync run as stored; ops see [`crate::sync::shown::RunInfo`].
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RunRow {
    pub id: RunId,
    pub connector: String,
    pub node: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    pub counts: Counts,
    pub error: Option<String>,
}

/// State of one unit (a file, an API stream) of a connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitStatus {
    /// Batches are staged; the unit is not complete (an interrupted run resumes here).
    Staging,
    /// Complete and visible (atomic units), or the cursor of an incremental stream.
    Done,
    /// Refused (reject ratio too high, a header that does not fit the mapping): nothing of
    /// it was committed.
    Failed,
    /// Refused, and ops accepted that it stays unloaded (`kontor quarantine dismiss`): not
    /// read again while it is unchanged.
    Dismissed,
}

impl UnitStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            UnitStatus::Staging => "staging",
            UnitStatus::Done => "done",
            UnitStatus::Failed => "failed",
            UnitStatus::Dismissed => "dismissed",
        }
    }
    /// A status as stored; an unknown one is an error, never read as `failed`.
    pub fn parse(s: &str) -> Result<UnitStatus, sqlx::Error> {
        Ok(match s {
            "staging" => UnitStatus::Staging,
            "done" => UnitStatus::Done,
            "dismissed" => UnitStatus::Dismissed,
            "failed" => UnitStatus::Failed,
            _ => return Err(unknown("unit", s)),
        })
    }
}

impl TryFrom<String> for UnitStatus {
    type Error = sqlx::Error;
    fn try_from(s: String) -> Result<Self, sqlx::Error> {
        UnitStatus::parse(&s)
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Checkpoint {
    pub unit_key: String,
    pub label: String,
    #[sqlx(try_from = "String")]
    pub status: UnitStatus,
    pub fingerprint: Option<String>,
    pub mapping_hash: String,
    /// JSON (TEXT on SQLite, JSONB on PostgreSQL).
    #[sqlx(json(nullable))]
    pub position: Option<serde_json::Value>,
    /// Cumulative for the unit while staging.
    #[sqlx(try_from = "i64")]
    pub read: u64,
    #[sqlx(try_from = "i64")]
    pub rejected: u64,
    #[sqlx(try_from = "i64")]
    pub skipped: u64,
    #[sqlx(try_from = "i64")]
    pub staged: u64,
    /// Batches staged (compared with the staging area's own count before resuming).
    #[sqlx(try_from = "i64")]
    pub batches: u64,
    pub run_id: Option<RunId>,
}

/// Which unit a write belongs to.
#[derive(Debug, Clone)]
pub struct UnitRef<'a> {
    pub connector: &'a str,
    pub key: &'a str,
    pub label: &'a str,
    pub fingerprint: Option<&'a str>,
    pub mapping_hash: &'a str,
}

/// A canonical record on its way into the store.
#[derive(Debug, Clone)]
pub struct StageRecord {
    pub entity: &'static str,
    pub external_id: String,
    pub customer_no: Option<String>,
    pub ref_no: Option<String>,
    /// Canonical JSON.
    pub data: String,
    pub hash: String,
    /// `file:line` or `url#page=…`.
    pub position: String,
}

/// A rejected row on its way into quarantine.
#[derive(Debug, Clone, Default)]
pub struct NewReject {
    pub source: String,
    pub line: Option<i64>,
    pub position: String,
    pub field: Option<String>,
    pub reason: String,
    pub raw: String,
    /// The raw record as JSON, for replay.
    pub record: Option<String>,
    pub stream: Option<String>,
    /// The unit context as JSON, for replay.
    pub context: Option<String>,
    /// The entity and external id the row would have had (when its key fields were
    /// readable): the entry is resolved when that record later loads cleanly.
    pub entity: Option<String>,
    pub record_key: Option<String>,
}

/// A batch: records, rejects and the position after it, committed together.
#[derive(Debug, Clone)]
pub struct WriteBatch<'a> {
    pub run_id: RunId,
    pub unit: UnitRef<'a>,
    pub records: Vec<StageRecord>,
    pub rejects: Vec<NewReject>,
    pub position: serde_json::Value,
    pub read: u64,
    pub skipped: u64,
    /// Make the batch visible right away (incremental units) instead of at the unit's end.
    pub promote: bool,
    /// Quarantine entries this batch resolves (replay).
    pub resolves: Vec<i64>,
}

impl WriteBatch<'_> {
    /// The same batch, of the same unit named by other borrows (owned ones, for a task).
    pub fn with_unit<'b>(self, unit: UnitRef<'b>) -> WriteBatch<'b> {
        WriteBatch {
            run_id: self.run_id,
            unit,
            records: self.records,
            rejects: self.rejects,
            position: self.position,
            read: self.read,
            skipped: self.skipped,
            promote: self.promote,
            resolves: self.resolves,
        }
    }
}

/// Result of finishing an atomic unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitOutcome {
    Promoted(Counts),
    /// Reject ratio above the limit: nothing committed.
    Refused {
        read: u64,
        rejected: u64,
    },
    /// A snapshot much smaller than what is open now (a truncated export?): nothing committed.
    SnapshotRefused {
        read: u64,
        staged: u64,
        previous: u64,
    },
}

/// A unit that is a complete list of its entities (`mode = "snapshot"`): records of those
/// entities that it lacks are closed when it is promoted.
#[derive(Debug, Clone)]
pub struct SnapshotRule {
    pub entities: Vec<&'static str>,
    /// Refuse a snapshot with fewer records than this share of the open ones.
    pub min_ratio: f64,
    /// Load it anyway.
    pub force: bool,
}

impl SnapshotRule {
    /// Whether a snapshot of `staged` records is refused while `open` records are open now.
    pub fn refuses(&self, staged: u64, open: u64) -> bool {
        !self.force && open > 0 && (staged as f64) < self.min_ratio * open as f64
    }
}

/// Whether a unit with `rejected` of `read` rows quarantined is refused.
pub fn too_many_rejects(read: u64, rejected: u64, max_reject_ratio: f64) -> bool {
    read > 0 && rejected as f64 / read as f64 > max_reject_ratio
}

/// A quarantined row as stored; ops see [`crate::sync::shown::QuarantineEntry`].
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct QuarantineRow {
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
    /// The raw record as JSON, for replay.
    pub record: Option<String>,
    pub stream: Option<String>,
    /// The unit context as JSON, for replay.
    pub context: Option<String>,
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

/// Which quarantine entries a listing shows.
#[derive(Debug, Clone, Default)]
pub struct QuarantineFilter {
    pub connector: Option<String>,
    pub run_id: Option<RunId>,
    /// Include resolved/replayed/superseded/dismissed entries.
    pub all: bool,
    /// Only entries that are no longer open.
    pub resolved: bool,
    pub limit: i64,
}

impl QuarantineFilter {
    /// The status condition of the filter (SQL).
    pub fn status_sql(&self) -> &'static str {
        if self.all {
            "true"
        } else if self.resolved {
            "status <> 'open'"
        } else {
            "status = 'open'"
        }
    }
}

/// Which open quarantine entries `kontor quarantine resolve` closes (all given parts must
/// match; at least one part is required by the caller).
#[derive(Debug, Clone, Default)]
pub struct QuarantineResolve {
    pub ids: Vec<i64>,
    /// The file as the entry names it (`source`), or its last path component.
    pub file: Option<String>,
    /// Entries created before this moment.
    pub before: Option<DateTime<Utc>>,
    pub connector: Option<String>,
    pub reason: String,
    /// Who resolves them (the OS user).
    pub by: String,
}

/// A record as stored, with provenance.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoredRecord {
    pub connector: String,
    pub entity: String,
    pub external_id: String,
    pub customer_no: Option<String>,
    pub ref_no: Option<String>,
    pub data: serde_json::Value,
    pub hash: String,
    pub position: Option<String>,
    pub run_id: Option<RunId>,
    pub synced_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// A row of `records` as the database holds it (`data` is JSON text on both backends).
#[derive(sqlx::FromRow)]
pub(crate) struct RecordRow {
    connector: String,
    entity: String,
    external_id: String,
    customer_no: Option<String>,
    ref_no: Option<String>,
    data: String,
    hash: String,
    position: Option<String>,
    run_id: Option<RunId>,
    synced_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
}

impl StoredRecord {
    /// The record's data as its canonical type (`r.read::<Invoice>()`); a field of the wrong
    /// shape reads as absent.
    pub fn read<T: crate::model::typed::Record>(&self) -> T {
        T::read(&self.data)
    }

    /// [`StoredRecord::read`] without the record's `lines`: what lists of documents need.
    pub fn head<T: crate::model::typed::Record>(&self) -> T {
        T::head(&self.data)
    }

    /// Decodes a row of `records` (any query that selects its columns by name).
    pub(crate) fn from_row<'r, R: sqlx::Row>(r: &'r R) -> Result<Self, sqlx::Error>
    where
        RecordRow: sqlx::FromRow<'r, R>,
    {
        let row = <RecordRow as sqlx::FromRow<R>>::from_row(r)?;
        Ok(StoredRecord {
            data: serde_json::from_str(&row.data).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            connector: row.connector,
            entity: row.entity,
            external_id: row.external_id,
            customer_no: row.customer_no,
            ref_no: row.ref_no,
            hash: row.hash,
            position: row.position,
            run_id: row.run_id,
            synced_at: row.synced_at,
            closed_at: row.closed_at,
        })
    }
}

#[cfg(test)]
mod status_tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_unknown_ones_are_errors() {
        for s in [
            RunStatus::Running,
            RunStatus::Ok,
            RunStatus::Partial,
            RunStatus::Failed,
            RunStatus::Aborted,
        ] {
            assert_eq!(RunStatus::parse(s.as_str()).unwrap(), s);
        }
        for s in [
            UnitStatus::Staging,
            UnitStatus::Done,
            UnitStatus::Failed,
            UnitStatus::Dismissed,
        ] {
            assert_eq!(UnitStatus::parse(s.as_str()).unwrap(), s);
        }
        let e = RunStatus::parse("paused").unwrap_err().to_string();
        assert!(e.contains("unknown run status `paused`"), "{e}");
        assert!(UnitStatus::parse("").is_err());
    }
}
