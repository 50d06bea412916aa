//! Decoding PostgreSQL rows.

use super::u;
use crate::store::*;
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;

pub(super) fn run_info(r: &PgRow) -> Result<RunInfo, sqlx::Error> {
    Ok(RunInfo {
        id: r.try_get("id")?,
        connector: r.try_get("connector")?,
        node: r.try_get("node")?,
        status: RunStatus::parse(r.try_get::<&str, _>("status")?)?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
        counts: Counts {
            read: u(r.try_get("read")?),
            inserted: u(r.try_get("inserted")?),
            updated: u(r.try_get("updated")?),
            unchanged: u(r.try_get("unchanged")?),
            quarantined: u(r.try_get("quarantined")?),
            skipped: u(r.try_get("skipped")?),
            closed: u(r.try_get("closed")?),
            warnings: u(r.try_get("warnings")?),
        },
        error: r.try_get("error")?,
    })
}

pub(super) fn checkpoint(r: &PgRow) -> Result<Checkpoint, sqlx::Error> {
    let position: Option<Json<serde_json::Value>> = r.try_get("position")?;
    Ok(Checkpoint {
        unit_key: r.try_get("unit_key")?,
        label: r.try_get("label")?,
        status: UnitStatus::parse(r.try_get::<&str, _>("status")?)?,
        fingerprint: r.try_get("fingerprint")?,
        mapping_hash: r.try_get("mapping_hash")?,
        position: position.map(|j| j.0),
        read: u(r.try_get("read")?),
        rejected: u(r.try_get("rejected")?),
        skipped: u(r.try_get("skipped")?),
        staged: u(r.try_get("staged")?),
        batches: u(r.try_get("batches")?),
        run_id: r.try_get("run_id")?,
    })
}

pub(super) fn quarantine_entry(r: &PgRow) -> Result<QuarantineEntry, sqlx::Error> {
    Ok(QuarantineEntry {
        id: r.try_get("id")?,
        run_id: r.try_get("run_id")?,
        connector: r.try_get("connector")?,
        unit_key: r.try_get("unit_key")?,
        source: r.try_get("source")?,
        line: r.try_get("line")?,
        position: r.try_get("position")?,
        field: r.try_get("field")?,
        reason: r.try_get("reason")?,
        raw: r.try_get("raw")?,
        record: r.try_get("record")?,
        stream: r.try_get("stream")?,
        context: r.try_get("context")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
        entity: r.try_get("entity")?,
        record_key: r.try_get("record_key")?,
        resolved_at: r.try_get("resolved_at")?,
        resolved_reason: r.try_get("resolved_reason")?,
        resolved_by: r.try_get("resolved_by")?,
        resolved_run_id: r.try_get("resolved_run_id")?,
    })
}

pub(super) fn stored_record(r: &PgRow) -> Result<StoredRecord, sqlx::Error> {
    stored_record!(r)
}
