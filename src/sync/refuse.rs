//! Units refused as a whole: a header that does not fit the mapping, a unit the connector
//! could not read.

use super::{MappingSet, Prepared, RunReport, SyncError};
use crate::store::{DynStore, UnitRef, WriteBatch};
use kontor_connector::{ConnectorError, Fields, Item, RawRecord};

/// The first flat-file row of a batch and its header (what `kontor check` and `preview`
/// compare with the mapping, as the sync does).
pub fn first_row(items: &[Item]) -> Option<(&RawRecord, &[String])> {
    items.iter().find_map(|i| match i {
        Item::Record(r) => match &r.fields {
            Fields::Row { header, .. } => Some((r, header.as_slice())),
            _ => None,
        },
        _ => None,
    })
}

/// The first flat-file row of a batch whose header lacks columns the mapping reads: the
/// reject that refuses the whole file, naming the header found and the columns expected.
pub(super) fn header_mismatch(
    mappings: &MappingSet,
    items: &[Item],
) -> Option<crate::store::NewReject> {
    let (rec, header) = first_row(items)?;
    let mapping = mappings.for_stream(rec.stream.as_deref())?;
    let missing = mapping.missing_columns(header, rec.stream.as_deref());
    if missing.is_empty() {
        return None;
    }
    let expected: Vec<String> = mapping
        .columns(rec.stream.as_deref())
        .into_iter()
        .map(|g| g.join(" | "))
        .collect();
    let found: Vec<&str> = header.iter().map(|h| h.trim()).collect();
    let hints: String = mapping
        .header_problems(header, rec.stream.as_deref())
        .iter()
        .filter_map(|p| {
            Some(format!(
                " (did you mean `{}` for `{}`?)",
                p.suggestion.as_ref()?,
                p.column
            ))
        })
        .collect();
    Some(crate::store::NewReject {
        source: rec.position.source.to_string(),
        line: None,
        position: rec.position.source.to_string(),
        field: Some(missing.join(", ")),
        reason: format!(
            "the header does not fit the mapping {}: missing column(s) {}; found: {}; expected: {}.{hints} \
             Nothing of the file was loaded (did the export change? fix the mapping, or mark columns that may be missing `optional = true`)",
            mapping.label,
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", "),
            found.join(", "),
            expected.join(", ")
        ),
        raw: found.join(";"),
        ..Default::default()
    })
}

/// Refuses a unit as a whole: whatever of it was staged goes, `reject` goes to quarantine
/// in its place, the unit counts as refused (its connector is degraded until a later unit
/// loads) and the run reports `reason`.
pub(super) async fn refuse_unit(
    store: &DynStore,
    p: &Prepared,
    unit: UnitRef<'_>,
    report: &mut RunReport,
    reject: crate::store::NewReject,
    reason: String,
) -> Result<(), SyncError> {
    store.reset_unit(unit.connector, unit.key).await?;
    let b = WriteBatch {
        run_id: report.run_id,
        unit: unit.clone(),
        records: Vec::new(),
        rejects: vec![reject],
        position: serde_json::Value::Null,
        read: 1,
        skipped: 0,
        promote: false,
        resolves: Vec::new(),
    };
    store.write_batch(b).await?;
    store
        .finish_unit(unit.clone(), report.run_id, p.cfg.max_reject_ratio.min(0.0))
        .await?;
    report.counts.read += 1;
    report.counts.quarantined += 1;
    tracing::warn!("refused: {reason}");
    report.errors.push(format!("{}: {reason}", unit.label));
    Ok(())
}

/// A unit the connector could not read: whole-unit problems (a malformed document) are
/// quarantined and the unit is refused; others (I/O, remote) fail the run for this unit.
pub(super) async fn unit_error(
    store: &DynStore,
    p: &Prepared,
    unit: UnitRef<'_>,
    report: &mut RunReport,
    e: ConnectorError,
) -> Result<(), SyncError> {
    match e {
        ConnectorError::Unit { position, reason } => {
            let reject = crate::store::NewReject {
                source: position.source.to_string(),
                line: position.line.map(|l| l as i64),
                position: position.to_string(),
                reason: reason.clone(),
                ..Default::default()
            };
            return refuse_unit(store, p, unit, report, reject, reason).await;
        }
        ConnectorError::Retry(reason) => {
            store.reset_unit(unit.connector, unit.key).await?;
            tracing::warn!(connector = unit.connector, unit = unit.label, %reason, "unit left for the next run");
        }
        other => report.errors.push(format!("{}: {other}", unit.label)),
    }
    Ok(())
}
