//! Group commit: the batches a reader hands over are written together while they are small
//! and young. An API stream's pages of 100 each committed alone cost a transaction (and a
//! PostgreSQL commit's flush) per 100 records; grouped, pages commit up to the connector's
//! `batch_size` records or [`MAX_BATCH_BYTES`] at once, or after [`GROUP_DELAY`], whichever
//! comes first, with the newest page's cursor — still records and cursor in one transaction.
//! A file's batches are full already and go as they are. A crash loses nothing: what was
//! not committed is read again from the committed cursor.

use crate::store::{Counts, DynStore, StoreError, UnitRef, WriteBatch};
use crate::sync::{RunReport, SyncError};
use kontor_connector::MAX_BATCH_BYTES;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// The longest a read batch waits for others before it is written: a slow source's cursor
/// still moves about every second.
pub const GROUP_DELAY: Duration = Duration::from_secs(1);

/// Memory a mapped record holds besides its text.
const RECORD_OVERHEAD: usize = 200;

/// The mapped batches of a unit not written yet.
pub struct Group<'a> {
    batch: Option<WriteBatch<'a>>,
    since: Instant,
    bytes: usize,
    /// Records per write (the connector's `batch_size`).
    cap: usize,
}

impl<'a> Group<'a> {
    /// An empty group writing up to `cap` records at once.
    pub fn new(cap: usize) -> Self {
        Self {
            batch: None,
            since: Instant::now(),
            bytes: 0,
            cap: cap.max(1),
        }
    }

    /// Adds a mapped batch (of the same unit): its records join the waiting ones and its
    /// position becomes the group's.
    pub fn add(&mut self, b: WriteBatch<'a>) {
        self.bytes += b
            .records
            .iter()
            .map(|r| r.data.len() + r.position.len() + RECORD_OVERHEAD)
            .sum::<usize>()
            + b.rejects
                .iter()
                .map(|r| r.raw.len() + RECORD_OVERHEAD)
                .sum::<usize>();
        match &mut self.batch {
            None => {
                self.since = Instant::now();
                self.batch = Some(b);
            }
            Some(w) => {
                w.records.extend(b.records);
                w.rejects.extend(b.rejects);
                w.resolves.extend(b.resolves);
                w.position = b.position;
                w.read += b.read;
                w.skipped += b.skipped;
                w.promote |= b.promote;
            }
        }
    }

    /// The batch to write now: the group when it is full or old enough, or whatever waits
    /// when `all` (the unit's end, a cancel, an error).
    pub fn take_due(&mut self, all: bool) -> Option<WriteBatch<'a>> {
        let w = self.batch.as_ref()?;
        let due = all
            || w.records.len() + w.rejects.len() >= self.cap
            || self.bytes >= MAX_BATCH_BYTES
            || self.since.elapsed() >= GROUP_DELAY;
        if !due {
            return None;
        }
        self.bytes = 0;
        self.batch.take()
    }
}

/// Writes a batch on a task of its own, so the store's statements go out as fast as the
/// store answers while the caller's thread maps the next batch: joined on the caller's task,
/// the write advanced one statement each time the mapping let the task be polled, and the
/// two stages took turns instead of running side by side (`--reprocess` of the 1M-row
/// journal on SQLite 9.6 → 7.4 s).
///
/// Dropping the returned future (a caller's timeout) aborts the write at its next await,
/// as dropping the write itself did when it ran on the caller's task: the run lock goes
/// with the caller, and the write stops with it. (A statement already handed to
/// the store completes or fails there, as before.)
pub async fn write_detached(store: &DynStore, b: WriteBatch<'_>) -> Result<Counts, StoreError> {
    let unit = &b.unit;
    let owned = [unit.connector, unit.key, unit.label, unit.mapping_hash].map(str::to_owned);
    let fingerprint = unit.fingerprint.map(str::to_owned);
    // The batch without borrowed names until the task gives it its own.
    let b = b.with_unit(UnitRef {
        connector: "",
        key: "",
        label: "",
        fingerprint: None,
        mapping_hash: "",
    });
    let store = store.clone();
    let task = tokio::spawn(
        async move {
            let [connector, key, label, mapping_hash] = &owned;
            let b = b.with_unit(UnitRef {
                connector,
                key,
                label,
                fingerprint: fingerprint.as_deref(),
                mapping_hash,
            });
            store.write_batch(b).await
        }
        .instrument(tracing::Span::current()),
    );
    /// Aborts the write when the caller stops waiting for it.
    struct AbortOnDrop(tokio::task::AbortHandle);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let _abort = AbortOnDrop(task.abort_handle());
    match task.await {
        Ok(written) => written,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(StoreError::Data(format!("batch write stopped: {e}"))),
    }
}

/// Writes whatever of the unit waits (its end, a cancel, a read error).
pub(super) async fn write_rest(
    store: &DynStore,
    group: &mut Group<'_>,
    report: &mut RunReport,
    incremental: bool,
) -> Result<(), SyncError> {
    if let Some(b) = group.take_due(true) {
        let sizes = BatchSizes::of(&b);
        let counts = store.write_batch(b).await?;
        add_incremental(report, sizes, counts, incremental);
    }
    Ok(())
}

/// Row counts of a batch, kept while the batch itself goes to the store.
#[derive(Clone, Copy)]
pub(super) struct BatchSizes {
    read: u64,
    rejected: u64,
    skipped: u64,
}

impl BatchSizes {
    pub(super) fn of(b: &WriteBatch) -> Self {
        Self {
            read: b.read,
            rejected: b.rejects.len() as u64,
            skipped: b.skipped,
        }
    }
}

pub(super) fn add_incremental(report: &mut RunReport, b: BatchSizes, c: Counts, incremental: bool) {
    if incremental {
        report.counts.add(&Counts {
            read: b.read,
            quarantined: b.rejected,
            skipped: b.skipped,
            ..c
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{StageRecord, UnitRef};

    fn page(n: usize, cursor: u64) -> WriteBatch<'static> {
        WriteBatch {
            run_id: 1,
            unit: UnitRef {
                connector: "erp",
                key: "stream",
                label: "stream",
                fingerprint: None,
                mapping_hash: "h",
            },
            records: (0..n)
                .map(|i| StageRecord {
                    entity: "invoice",
                    external_id: format!("{cursor}-{i}"),
                    customer_no: None,
                    ref_no: None,
                    data: "{}".into(),
                    hash: "x".into(),
                    position: "p".into(),
                })
                .collect(),
            rejects: Vec::new(),
            position: serde_json::json!({ "cursor": cursor }),
            read: n as u64,
            skipped: 1,
            promote: true,
            resolves: Vec::new(),
        }
    }

    #[test]
    fn pages_wait_until_the_group_is_full_and_carry_the_newest_cursor() {
        let mut g = Group::new(250);
        g.add(page(100, 1));
        assert!(g.take_due(false).is_none(), "one page waits");
        g.add(page(100, 2));
        assert!(g.take_due(false).is_none());
        g.add(page(100, 3));
        let w = g.take_due(false).expect("300 ≥ 250 records are due");
        assert_eq!(w.records.len(), 300);
        assert_eq!((w.read, w.skipped), (300, 3));
        assert_eq!(w.position, serde_json::json!({ "cursor": 3 }));
        assert_eq!(w.records[299].external_id, "3-99", "in source order");
        assert!(g.take_due(true).is_none(), "nothing left");
    }

    #[test]
    fn the_rest_is_written_at_the_end_and_a_slow_source_after_the_delay() {
        let mut g = Group::new(5000);
        g.add(page(10, 1));
        let w = g.take_due(true).expect("the end writes what waits");
        assert_eq!(w.records.len(), 10);
        g.add(page(10, 2));
        g.since -= GROUP_DELAY;
        assert_eq!(g.take_due(false).expect("old enough").records.len(), 10);
    }

    #[test]
    fn wide_records_are_due_by_size() {
        let mut g = Group::new(1_000_000);
        let mut p = page(1000, 1);
        for r in &mut p.records {
            r.data = "x".repeat(3000);
        }
        g.add(p);
        assert!(g.take_due(false).is_some(), "3 MB are due at any count");
    }
}
