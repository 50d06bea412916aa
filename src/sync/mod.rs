//! Sync runs: discover units, read them batch by batch, map, and commit each batch with its
//! position; complete atomic units by promotion (or refuse them by reject ratio).

pub mod diff;
mod group;
mod mapper;
mod prepare;
mod refuse;
pub mod shown;
mod snapshot;

pub use group::{GROUP_DELAY, Group};
pub use mapper::{Mapped, map_items, reject_of_record, stage_record};
pub use prepare::{MappingSet, Prepared, prepare};
pub use refuse::first_row;
pub use snapshot::{EntityMode, entity_modes, name_date, order_units, undated_pattern};
use snapshot::{PassedOver, empty_scope, note_streams, snapshot_scope, superseded_units};

use crate::config::SyncMode;
use crate::mapping::ColumnCache;
use crate::store::{
    Counts, DynStore, RunId, RunLock, RunStatus, SnapshotRule, StoreError, UnitOutcome, UnitRef,
    UnitStatus, WriteBatch,
};
use group::{BatchSizes, add_incremental, write_rest};
use kontor_connector::{CommitMode, Item, Unit};
use refuse::{header_mismatch, refuse_unit, unit_error};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::Instrument;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Single flight: another process (or node) runs this connector now.
    #[error("a run of `{connector}` is going on{}; try again when it is done", .node.as_ref().map(|n| format!(" on {n}")).unwrap_or_default())]
    Busy {
        connector: String,
        node: Option<String>,
    },
}

/// Progress callbacks (a terminal progress bar, log lines, metrics).
pub trait Progress: Send + Sync {
    fn unit_started(&self, _connector: &str, _label: &str, _size: Option<u64>) {}
    fn batch_done(&self, _connector: &str, _rows: u64, _bytes: Option<u64>) {}
    fn unit_finished(&self, _connector: &str, _label: &str) {}
}

/// Options of one run.
#[derive(Clone, Default)]
pub struct SyncOptions {
    /// Read units again although they were done (after manual fixes).
    pub reprocess: bool,
    /// Load a snapshot although it is much smaller than what is open now, and read units
    /// refused earlier again.
    pub force: bool,
    /// Which node runs this (host:pid).
    pub node: String,
    /// Set to stop after the current batch (graceful shutdown).
    pub cancel: Option<Arc<AtomicBool>>,
    pub progress: Option<Arc<dyn Progress>>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_id: RunId,
    pub connector: String,
    pub status: RunStatus,
    pub counts: Counts,
    /// Problems worth telling ops (refused files, unit errors).
    pub errors: Vec<String>,
    /// Worth a look, not a failure (every row skipped): the run is `partial`.
    pub warnings: Vec<String>,
    pub units_done: u64,
    pub units_skipped: u64,
}

impl RunReport {
    /// `read=N inserted=N updated=N unchanged=N quarantined=N` (SPEC), then what else happened.
    pub fn summary_line(&self) -> String {
        let c = &self.counts;
        format!(
            "read={} inserted={} updated={} unchanged={} quarantined={} skipped={} closed={}",
            c.read, c.inserted, c.updated, c.unchanged, c.quarantined, c.skipped, c.closed
        )
    }
}

/// The node name used in runs: host and process id.
pub fn node_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// The connector's run lock (single flight across processes and nodes), or
/// [`SyncError::Busy`] naming the node that runs it.
pub async fn lock(store: &DynStore, connector: &str) -> Result<RunLock, SyncError> {
    match store.try_lock_run(connector).await? {
        Some(l) => Ok(l),
        None => {
            let node = store
                .runs(Some(connector), 1)
                .await?
                .into_iter()
                .find(|r| r.status == RunStatus::Running)
                .and_then(|r| r.node);
            Err(SyncError::Busy {
                connector: connector.to_owned(),
                node,
            })
        }
    }
}

/// One sync run of a connector (holding its run lock).
pub async fn run(
    store: &DynStore,
    p: &Prepared,
    opts: &SyncOptions,
) -> Result<RunReport, SyncError> {
    let _lock = lock(store, &p.cfg.name).await?;
    let run_id = store.start_run(&p.cfg.name, &opts.node).await?;
    run_started(store, p, opts, run_id).await
}

/// Carries out a run that [`Store::start_run`](crate::store::Store::start_run) registered
/// already (the API answers with the run id before the run is done). The caller holds the
/// connector's [`lock`].
pub async fn run_started(
    store: &DynStore,
    p: &Prepared,
    opts: &SyncOptions,
    run_id: RunId,
) -> Result<RunReport, SyncError> {
    let span = tracing::info_span!("run", connector = %p.cfg.name, run_id);
    run_in_span(store, p, opts, run_id).instrument(span).await
}

async fn run_in_span(
    store: &DynStore,
    p: &Prepared,
    opts: &SyncOptions,
    run_id: RunId,
) -> Result<RunReport, SyncError> {
    let name = p.cfg.name.as_str();
    let dead: Vec<crate::store::RunRow> = store
        .runs(Some(name), 20)
        .await?
        .into_iter()
        .filter(|r| r.status == RunStatus::Running && r.id != run_id)
        .collect();
    let aborted = store.abort_running(name, run_id).await?;
    if aborted > 0 {
        tracing::warn!(
            aborted,
            "earlier runs ended with their process; resuming from their checkpoints"
        );
        let which: Vec<String> = dead
            .iter()
            .map(|r| format!("run {} on {}", r.id, r.node.as_deref().unwrap_or("?")))
            .collect();
        let msg = format!(
            "{name}: {} ended with its node (killed or crashed) during the run; run {run_id} on {} resumes from the last committed batch",
            which.join(", "),
            opts.node
        );
        let dead_id = dead.first().map(|r| r.id);
        if let Err(e) = crate::alert::transition(
            store,
            name,
            crate::alert::NODE_DIED,
            true,
            msg,
            dead_id,
            &opts.node,
        )
        .await
        {
            tracing::warn!(error = %e, "could not record the alert");
        }
    }
    let mut report = RunReport {
        run_id,
        connector: name.to_owned(),
        status: RunStatus::Running,
        counts: Counts::default(),
        errors: Vec::new(),
        warnings: Vec::new(),
        units_done: 0,
        units_skipped: 0,
    };
    let tombstones = crate::front::privacy::Tombstones::load(store, &p.phone_region).await?;
    let result = run_units(store, p, opts, &mut report, &tombstones).await;
    let c = &report.counts;
    if c.read > 0 && c.skipped == c.read {
        report.warnings.push(format!(
            "all {} rows were skipped (no row matched a target of the mapping, or every row met `skip_if`): \
             is it the right file for this mapping?",
            c.read
        ));
    }
    let mut failed = !report.errors.is_empty();
    if let Err(e) = &result {
        report.errors.push(e.to_string());
        failed = true;
    }
    let cancelled = opts
        .cancel
        .as_ref()
        .is_some_and(|c| c.load(Ordering::Relaxed));
    report.status = if cancelled {
        report
            .errors
            .push("stopped by shutdown; the next run resumes".into());
        RunStatus::Aborted
    } else if failed {
        RunStatus::Failed
    } else if report.counts.quarantined > 0 || !report.warnings.is_empty() {
        RunStatus::Partial
    } else {
        RunStatus::Ok
    };
    for w in &report.warnings {
        tracing::warn!("{w}");
    }
    let problems: Vec<&String> = report.errors.iter().chain(&report.warnings).collect();
    let error = (!problems.is_empty()).then(|| {
        problems
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    });
    store
        .finish_run(run_id, report.status, &report.counts, error.as_deref())
        .await?;
    result.map(|_| report)
}

async fn run_units(
    store: &DynStore,
    p: &Prepared,
    opts: &SyncOptions,
    report: &mut RunReport,
    tombstones: &crate::front::privacy::Tombstones,
) -> Result<(), SyncError> {
    let units = match p.connector.discover().await {
        Ok(u) => u,
        Err(e) => {
            report.errors.push(e.to_string());
            return Ok(());
        }
    };
    let mut units = units;
    order_units(&mut units);
    let passed_over = superseded_units(store, p, &units).await?;
    let mut seen = std::collections::HashSet::new();
    for (i, unit) in units.into_iter().enumerate() {
        if opts
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            break;
        }
        if !seen.insert(unit.key.clone()) {
            // The same content twice in one drop: read once.
            report.units_skipped += 1;
            archive(p, &unit, report).await;
            continue;
        }
        if let Some(why) = passed_over.get(&i) {
            match why {
                PassedOver::OlderInRun(newest) => tracing::info!(
                    unit = %unit.label,
                    "passed over: an older snapshot than {newest} of the same sync"
                ),
                PassedOver::OlderThanApplied(applied) => report.warnings.push(format!(
                    "{}: passed over: older than the snapshot already applied ({applied}); remove it from the inbox",
                    unit.label
                )),
            }
            report.units_skipped += 1;
            archive(p, &unit, report).await;
            continue;
        }
        let span = tracing::info_span!("unit", unit = %unit.label);
        run_unit(store, p, opts, &unit, report, tombstones)
            .instrument(span)
            .await?;
    }
    Ok(())
}

async fn archive(p: &Prepared, unit: &Unit, report: &mut RunReport) {
    if let Err(e) = p.connector.unit_done(unit).await {
        report.errors.push(format!("{}: {e}", unit.label));
    }
}

/// Decides where a unit starts: `None` = skip it, `Some(state)` = read from `state`.
async fn start_state(
    store: &DynStore,
    p: &Prepared,
    unit: &Unit,
    opts: &SyncOptions,
) -> Result<Option<Option<serde_json::Value>>, StoreError> {
    let name = p.cfg.name.as_str();
    if p.is_snapshot() && unit.commit == CommitMode::Incremental {
        // A snapshot stream is read whole every time (no cursor) and staged.
        store.reset_unit(name, &unit.key).await?;
        return Ok(Some(None));
    }
    let Some(cp) = store.checkpoint(name, &unit.key).await? else {
        return Ok(Some(None));
    };
    let same = cp.fingerprint == unit.fingerprint && cp.mapping_hash == p.unit_hash;
    match unit.commit {
        // An API stream continues from its cursor unless the mapping changed (then: read all).
        CommitMode::Incremental if cp.mapping_hash == p.unit_hash => Ok(Some(cp.position)),
        CommitMode::Atomic if same && !opts.reprocess => match cp.status {
            UnitStatus::Done | UnitStatus::Dismissed => Ok(None),
            UnitStatus::Failed if opts.force => {
                store.reset_unit(name, &unit.key).await?;
                Ok(Some(None))
            }
            UnitStatus::Failed => {
                tracing::warn!(connector = name, unit = %unit.label, "refused earlier and unchanged since; fix the file or the mapping (or sync --force)");
                Ok(None)
            }
            UnitStatus::Staging if store.staging_intact(name, &cp).await? => Ok(Some(cp.position)),
            UnitStatus::Staging => {
                store.reset_unit(name, &unit.key).await?;
                Ok(Some(None))
            }
        },
        _ => {
            store.reset_unit(name, &unit.key).await?;
            Ok(Some(None))
        }
    }
}

async fn run_unit(
    store: &DynStore,
    p: &Prepared,
    opts: &SyncOptions,
    unit: &Unit,
    report: &mut RunReport,
    tombstones: &crate::front::privacy::Tombstones,
) -> Result<(), SyncError> {
    let name = p.cfg.name.as_str();
    let Some(state) = start_state(store, p, unit, opts).await? else {
        report.units_skipped += 1;
        if unit.commit == CommitMode::Atomic {
            archive(p, unit, report).await;
        }
        return Ok(());
    };
    let uref = UnitRef {
        connector: name,
        key: &unit.key,
        label: &unit.label,
        fingerprint: unit.fingerprint.as_deref(),
        mapping_hash: &p.unit_hash,
    };
    let snapshot = p.is_snapshot();
    let incremental = unit.commit == CommitMode::Incremental && !snapshot;
    if let Some(pr) = &opts.progress {
        pr.unit_started(name, &unit.label, unit.size);
    }
    let mut reader = match p.connector.open(unit, state).await {
        Ok(r) => r,
        Err(e) => return unit_error(store, p, uref, report, e).await,
    };
    let mut cache = ColumnCache::salted(tombstones.salt);
    let mut pending = Group::new(p.cfg.batch_size);
    // The system the unit names itself (a DATEV header), noted once per unit.
    let mut detected: Option<String> = None;
    let mut noted = false;
    // Records with warnings: counted for the run once the unit is loaded.
    let mut warned = 0u64;
    let mut header_checked = false;
    // The streams of the unit's records and the entities staged: what a snapshot closes.
    let mut streams: std::collections::BTreeSet<Option<String>> = Default::default();
    let mut staged: std::collections::BTreeSet<&'static str> = Default::default();
    loop {
        if opts
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            // Commit what was read; the rest resumes next time.
            write_rest(store, &mut pending, report, incremental).await?;
            return Ok(());
        }
        // Write the batches read before (when due) while reading and mapping the next one.
        let write = async {
            match pending.take_due(false) {
                Some(b) => {
                    let sizes = BatchSizes::of(&b);
                    group::write_detached(store, b)
                        .await
                        .map(|c| Some((sizes, c)))
                }
                None => Ok(None),
            }
        };
        let checked = &mut header_checked;
        let (streams_seen, staged_seen) = (&mut streams, &mut staged);
        let next = async {
            match reader.next_batch().await {
                Ok(Some(batch)) => {
                    if !*checked && batch.items.iter().any(|i| matches!(i, Item::Record(_))) {
                        *checked = true;
                        if let Some(reject) = header_mismatch(&p.mappings, &batch.items) {
                            return Ok(Err(reject));
                        }
                    }
                    let bytes = batch.bytes_read;
                    if detected.is_none() {
                        detected = source_system(&batch.items);
                    }
                    if snapshot {
                        note_streams(&batch.items, streams_seen);
                    }
                    let mut m = map_items(&p.mappings, batch.items, &mut cache);
                    if snapshot {
                        staged_seen.extend(m.records.iter().map(|r| r.entity));
                    }
                    // Erased people stay erased.
                    if !tombstones.is_empty() {
                        let before = m.records.len();
                        m.records.retain_mut(|r| tombstones.keep(r));
                        m.skipped += (before - m.records.len()) as u64;
                        m.rejects
                            .iter_mut()
                            .for_each(|r| tombstones.scrub_reject(r));
                    }
                    Ok(Ok(Some((m, batch.position, bytes))))
                }
                Ok(None) => Ok(Ok(None)),
                Err(e) => Err(e),
            }
        };
        let (written, next) = tokio::join!(write, next);
        if let Some((sizes, counts)) = written? {
            add_incremental(report, sizes, counts, incremental);
        }
        if let (Some(system), false) = (&detected, noted) {
            store.note_source_system(name, system, &unit.label).await?;
            noted = true;
        }
        match next {
            Ok(Err(reject)) => {
                let reason = reject.reason.clone();
                return refuse_unit(store, p, uref, report, reject, reason).await;
            }
            Ok(Ok(Some((m, position, bytes)))) => {
                if let Some(pr) = &opts.progress {
                    pr.batch_done(name, m.read, bytes);
                }
                if incremental {
                    report.counts.warnings += m.warned;
                } else {
                    warned += m.warned;
                }
                pending.add(WriteBatch {
                    run_id: report.run_id,
                    unit: uref.clone(),
                    records: m.records,
                    rejects: m.rejects,
                    position,
                    read: m.read,
                    skipped: m.skipped,
                    promote: incremental,
                    resolves: Vec::new(),
                });
            }
            Ok(Ok(None)) => break,
            Err(e) => {
                // What was read before the error stays (a stream's cursor moves to it).
                write_rest(store, &mut pending, report, incremental).await?;
                return unit_error(store, p, uref, report, e).await;
            }
        }
    }
    write_rest(store, &mut pending, report, incremental).await?;
    if let Some(pr) = &opts.progress {
        pr.unit_finished(name, &unit.label);
    }
    if incremental {
        report.units_done += 1;
        return Ok(());
    }
    let entities = if snapshot {
        snapshot_scope(p, unit, &streams, &staged)
    } else {
        Vec::new()
    };
    if snapshot && entities.is_empty() && p.cfg.mode == Some(SyncMode::Snapshot) {
        // Never a silent no-op: nothing would be closed and the size guard would not apply.
        store.reset_unit(name, &unit.key).await?;
        report.errors.push(empty_scope(unit, &streams));
        return Ok(());
    }
    let outcome = if !entities.is_empty() {
        let rule = SnapshotRule {
            entities,
            min_ratio: p.cfg.min_snapshot_ratio,
            force: opts.force,
        };
        store
            .finish_snapshot_unit(uref, report.run_id, p.cfg.max_reject_ratio, &rule)
            .await?
    } else {
        store
            .finish_unit(uref, report.run_id, p.cfg.max_reject_ratio)
            .await?
    };
    match outcome {
        UnitOutcome::Promoted(c) => {
            tracing::info!(
                read = c.read,
                inserted = c.inserted,
                updated = c.updated,
                unchanged = c.unchanged,
                quarantined = c.quarantined,
                skipped = c.skipped,
                closed = c.closed,
                "loaded"
            );
            report.counts.add(&c);
            report.counts.warnings += warned;
            report.units_done += 1;
            archive(p, unit, report).await;
        }
        UnitOutcome::Refused { read, rejected } => {
            report.counts.read += read;
            report.counts.quarantined += rejected;
            let why = format!(
                "{}: refused, {rejected} of {read} rows rejected ({:.0}% > {:.0}%); nothing of this file was loaded",
                unit.label,
                100.0 * rejected as f64 / read as f64,
                100.0 * p.cfg.max_reject_ratio
            );
            tracing::warn!("{why}");
            report.errors.push(why);
        }
        UnitOutcome::SnapshotRefused {
            read,
            staged,
            previous,
        } => {
            report.counts.read += read;
            report.errors.push(format!(
                "{}: snapshot refused: {staged} records, {previous} open now (below min_snapshot_ratio {}); \
                 nothing changed — a truncated export? `kontor sync {name} --force` loads it anyway",
                unit.label, p.cfg.min_snapshot_ratio
            ));
        }
    }
    Ok(())
}

/// The system a unit's records name for themselves (context `source.system`, set by the CSV
/// connector from a DATEV EXTF header).
fn source_system(items: &[Item]) -> Option<String> {
    items.iter().find_map(|i| match i {
        Item::Record(r) => r.context.get("source.system").cloned(),
        Item::Reject(_) => None,
    })
}
