//! Store side of operations: schedule slots (each runs once across nodes), the per-connector
//! run lock (single flight across processes and nodes), and run statistics for `/metrics`.

use super::backend::Backend;
use super::{RunId, StoreError, u};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A claimed schedule slot.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Slot {
    pub connector: String,
    pub slot_at: DateTime<Utc>,
    pub node: String,
    pub claimed_at: DateTime<Utc>,
    /// claimed | running | done | failed | skipped
    pub status: String,
    pub run_id: Option<RunId>,
    pub note: Option<String>,
}

/// Runs of one connector with one status: how many and their row counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunStats {
    pub connector: String,
    pub status: String,
    pub runs: u64,
    pub read: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub quarantined: u64,
    pub skipped: u64,
    pub closed: u64,
}

/// Held while a connector runs; dropping it releases the lock (also when the process dies:
/// the operating system closes the file or the database connection).
pub struct RunLock {
    _inner: Box<dyn Send + Sync>,
}

impl RunLock {
    /// A lock held as long as `inner` lives (a locked file, a connection holding an advisory lock).
    pub(crate) fn new(inner: Box<dyn Send + Sync>) -> Self {
        RunLock { _inner: inner }
    }
}

#[async_trait]
pub trait OpsStore: Send + Sync {
    /// The run lock of a connector, or `None` when another process holds it.
    async fn try_lock_run(&self, connector: &str) -> Result<Option<RunLock>, StoreError>;
    /// Claims a slot for `node`; `false` when another node has it.
    async fn claim_slot(
        &self,
        connector: &str,
        slot_at: DateTime<Utc>,
        node: &str,
    ) -> Result<bool, StoreError>;
    /// Takes over a slot whose node stopped (claimed before `stale_before`, not finished).
    async fn take_over_slot(
        &self,
        connector: &str,
        slot_at: DateTime<Utc>,
        node: &str,
        stale_before: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn update_slot(
        &self,
        connector: &str,
        slot_at: DateTime<Utc>,
        status: &str,
        run_id: Option<RunId>,
        note: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Slots, newest first.
    async fn slots(&self, connector: Option<&str>, limit: i64) -> Result<Vec<Slot>, StoreError>;
    /// Unfinished slots claimed before `before`.
    async fn unfinished_slots(&self, before: DateTime<Utc>) -> Result<Vec<Slot>, StoreError>;
    async fn run_stats(&self) -> Result<Vec<RunStats>, StoreError>;
    /// The latest slot of a connector in the store (claimed, run or missed).
    async fn latest_slot(&self, connector: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Records slots no node ran as `missed` (each once: the node that inserts a slot's row
    /// reports it); returns how many were new.
    async fn record_missed_slots(
        &self,
        connector: &str,
        slots: &[DateTime<Utc>],
        node: &str,
    ) -> Result<u64, StoreError>;
    /// Slots recorded as missed, per connector.
    async fn missed_slot_counts(
        &self,
    ) -> Result<std::collections::BTreeMap<String, i64>, StoreError>;
}

/// The part of [`OpsStore`] that is the same SQL on both backends.
macro_rules! ops_store {
    ($store:ty) => {
        #[async_trait]
        impl OpsStore for $store {
            async fn try_lock_run(&self, connector: &str) -> Result<Option<RunLock>, StoreError> {
                self.lock_run(connector).await
            }

            async fn claim_slot(
                &self,
                connector: &str,
                slot_at: DateTime<Utc>,
                node: &str,
            ) -> Result<bool, StoreError> {
                let res = sqlx::query(
                    "INSERT INTO schedule_slots (connector, slot_at, node, claimed_at, status) \
                     VALUES ($1, $2, $3, $4, 'claimed') ON CONFLICT DO NOTHING",
                )
                .bind(connector)
                .bind(slot_at)
                .bind(node)
                .bind(Utc::now())
                .execute(self.pool())
                .await?;
                Ok(res.rows_affected() == 1)
            }

            async fn take_over_slot(
                &self,
                connector: &str,
                slot_at: DateTime<Utc>,
                node: &str,
                stale_before: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                let res = sqlx::query(
                    "UPDATE schedule_slots SET node = $3, claimed_at = $4, status = 'claimed', \
                     note = 'taken over from ' || node \
                     WHERE connector = $1 AND slot_at = $2 AND status IN ('claimed', 'running') AND claimed_at < $5",
                )
                .bind(connector)
                .bind(slot_at)
                .bind(node)
                .bind(Utc::now())
                .bind(stale_before)
                .execute(self.pool())
                .await?;
                Ok(res.rows_affected() == 1)
            }

            async fn update_slot(
                &self,
                connector: &str,
                slot_at: DateTime<Utc>,
                status: &str,
                run_id: Option<RunId>,
                note: Option<&str>,
            ) -> Result<(), StoreError> {
                let finished = (!["claimed", "running"].contains(&status)).then(Utc::now);
                sqlx::query(
                    "UPDATE schedule_slots SET status = $3, run_id = coalesce($4, run_id), \
                     note = coalesce($5, note), finished_at = $6 WHERE connector = $1 AND slot_at = $2",
                )
                .bind(connector)
                .bind(slot_at)
                .bind(status)
                .bind(run_id)
                .bind(note)
                .bind(finished)
                .execute(self.pool())
                .await?;
                Ok(())
            }

            async fn slots(&self, connector: Option<&str>, limit: i64) -> Result<Vec<Slot>, StoreError> {
                let sql = format!(
                    "SELECT * FROM schedule_slots WHERE {} ORDER BY slot_at DESC, connector LIMIT $2",
                    crate::store::optional_eq(connector.is_some(), "connector", 1)
                );
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(connector)
                .bind(if limit > 0 { limit } else { i64::MAX })
                .fetch_all(self.pool())
                .await?)
            }

            async fn unfinished_slots(&self, before: DateTime<Utc>) -> Result<Vec<Slot>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT * FROM schedule_slots WHERE status IN ('claimed', 'running') AND claimed_at < $1 \
                     ORDER BY slot_at",
                )
                .bind(before)
                .fetch_all(self.pool())
                .await?)
            }

            async fn run_stats(&self) -> Result<Vec<RunStats>, StoreError> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT connector, status, count(*) AS runs, CAST(sum(read) AS BIGINT) AS read, CAST(sum(inserted) AS BIGINT) AS inserted, \
                     CAST(sum(updated) AS BIGINT) AS updated, CAST(sum(unchanged) AS BIGINT) AS unchanged, CAST(sum(quarantined) AS BIGINT) AS quarantined, \
                     CAST(sum(skipped) AS BIGINT) AS skipped, CAST(sum(closed) AS BIGINT) AS closed FROM sync_runs GROUP BY connector, status \
                     ORDER BY connector, status",
                )
                .fetch_all(self.pool())
                .await?;
                let mut out = Vec::new();
                for r in rows {
                    let n = |c: &str| -> Result<u64, sqlx::Error> {
                        Ok(u(r.try_get::<Option<i64>, _>(c)?.unwrap_or(0)))
                    };
                    out.push(RunStats {
                        connector: r.try_get("connector")?,
                        status: r.try_get("status")?,
                        runs: n("runs")?,
                        read: n("read")?,
                        inserted: n("inserted")?,
                        updated: n("updated")?,
                        unchanged: n("unchanged")?,
                        quarantined: n("quarantined")?,
                        skipped: n("skipped")?,
                        closed: n("closed")?,
                    });
                }
                Ok(out)
            }

            async fn latest_slot(&self, connector: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
                use sqlx::Row;
                let row = sqlx::query("SELECT slot_at FROM schedule_slots WHERE connector = $1 ORDER BY slot_at DESC LIMIT 1")
                    .bind(connector)
                    .fetch_optional(self.pool())
                    .await?;
                Ok(row.map(|r| r.try_get("slot_at")).transpose()?)
            }

            async fn record_missed_slots(
                &self,
                connector: &str,
                slots: &[DateTime<Utc>],
                node: &str,
            ) -> Result<u64, StoreError> {
                let now = Utc::now();
                let mut n = 0;
                for chunk in slots.chunks(100) {
                    let sql = format!(
                        "INSERT INTO schedule_slots (connector, slot_at, node, claimed_at, status, note, finished_at) VALUES {} \
                         ON CONFLICT DO NOTHING",
                        crate::store::values_list(chunk.len(), 7, true)
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)));
                    for at in chunk {
                        q = q
                            .bind(connector)
                            .bind(*at)
                            .bind(node)
                            .bind(now)
                            .bind("missed")
                            .bind("no node ran this slot")
                            .bind(now);
                    }
                    n += q.execute(self.pool()).await?.rows_affected();
                }
                Ok(n)
            }

            async fn missed_slot_counts(&self) -> Result<std::collections::BTreeMap<String, i64>, StoreError> {
                use sqlx::Row;
                let rows = sqlx::query("SELECT connector, count(*) AS n FROM schedule_slots WHERE status = 'missed' GROUP BY connector")
                    .fetch_all(self.pool())
                    .await?;
                let mut out = std::collections::BTreeMap::new();
                for r in rows {
                    out.insert(r.try_get("connector")?, r.try_get::<i64, _>("n")?);
                }
                Ok(out)
            }
        }
    };
}

for_each_backend!(ops_store);
