//! The seam between the store and its SQL backends.
//!
//! [`Backend`] is what truly differs between SQLite and PostgreSQL: opening a write
//! transaction, reading a unit's checkpoint under a lock, the staging area of atomic units
//! (a second SQLite file vs UNLOGGED tables filled by COPY), the run lock (a file lock vs an
//! advisory lock) and full-text search. Everything else — the SQL of runs, checkpoints,
//! quarantine and records and the logic of a batch and a unit — is written once in
//! [`sql_store!`], stamped out for each backend type (sqlx's query types are concrete per
//! database, so the shared code is a macro rather than a generic impl). A third backend
//! implements `Backend` in its own folder and adds one `sql_store!` line at the end of this
//! file (and one line per shared-SQL macro, see ARCHITECTURE.md).

mod seam;

pub(crate) use seam::{Backend, Sql, StageBatch, StageUnit, Staging};

/// Staged rows from which a promotion that at least doubles `records` builds the secondary
/// indexes after its insert instead of during it.
pub(crate) const BULK_MIN: u64 = 50_000;

/// [`super::Store`] for a backend type: the SQL is the same on both (`$n` parameters, which
/// sqlx binds by number on SQLite too; `CAST(… AS TEXT)` where PostgreSQL needs a type for
/// a NULL parameter).
macro_rules! sql_store {
    ($store:ty) => {
        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                <Self as Backend>::NAME
            }

            async fn start_run(&self, connector: &str, node: &str) -> Result<RunId, StoreError> {
                let mut tx = self.begin_write().await?;
                if !<Self as Backend>::RUN_IDS_SHARED.is_empty() {
                    sqlx::query(<Self as Backend>::RUN_IDS_SHARED).execute(&mut *tx).await?;
                }
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO sync_runs (connector, node, status, started_at) \
                     VALUES ($1, $2, 'running', $3) RETURNING id",
                )
                .bind(connector)
                .bind(node)
                .bind(Utc::now())
                .fetch_one(&mut *tx)
                .await?;
                let swept = <Self as Staging>::sweep_orphans(&mut tx).await?;
                if swept > 0 {
                    tracing::info!(units = swept, "dropped staged records of units already finished (a commit torn by a crash)");
                }
                tx.commit().await?;
                Ok(id)
            }

            async fn finish_run(
                &self,
                run: RunId,
                status: RunStatus,
                c: &Counts,
                error: Option<&str>,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                // The stored cards of the customers whose records this run (or one that died
                // since the last identity pass) wrote or closed go before the counts are
                // reported; the identity pass does it again, with the keys it moves.
                Self::forget_touched_cards(&mut tx, &[], &[]).await?;
                sqlx::query(
                    "UPDATE sync_runs SET status = $1, finished_at = $2, read = $3, inserted = $4, updated = $5, \
                     unchanged = $6, quarantined = $7, skipped = $8, closed = $9, warnings = $10, error = $11 WHERE id = $12",
                )
                .bind(status.as_str())
                .bind(Utc::now())
                .bind(c.read as i64)
                .bind(c.inserted as i64)
                .bind(c.updated as i64)
                .bind(c.unchanged as i64)
                .bind(c.quarantined as i64)
                .bind(c.skipped as i64)
                .bind(c.closed as i64)
                .bind(c.warnings as i64)
                .bind(error)
                .bind(run)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn abort_running(&self, connector: &str, except: RunId) -> Result<u64, StoreError> {
                let n = sqlx::query(
                    "UPDATE sync_runs SET status = 'aborted', finished_at = $1, error = 'the process ended during the run' \
                     WHERE connector = $2 AND status = 'running' AND id <> $3",
                )
                .bind(Utc::now())
                .bind(connector)
                .bind(except)
                .execute(self.pool())
                .await?
                .rows_affected();
                Ok(n)
            }

            async fn runs(&self, connector: Option<&str>, limit: i64) -> Result<Vec<RunRow>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT * FROM sync_runs WHERE (CAST($1 AS TEXT) IS NULL OR connector = $1) ORDER BY id DESC LIMIT $2",
                )
                .bind(connector)
                .bind(limit)
                .fetch_all(self.pool())
                .await?)
            }

            async fn checkpoint(&self, connector: &str, unit_key: &str) -> Result<Option<Checkpoint>, StoreError> {
                Ok(sqlx::query_as("SELECT * FROM checkpoints WHERE connector = $1 AND unit_key = $2")
                    .bind(connector)
                    .bind(unit_key)
                    .fetch_optional(self.pool())
                    .await?)
            }

            async fn checkpoints(&self, connector: &str) -> Result<Vec<Checkpoint>, StoreError> {
                Ok(sqlx::query_as("SELECT * FROM checkpoints WHERE connector = $1 ORDER BY updated_at")
                    .bind(connector)
                    .fetch_all(self.pool())
                    .await?)
            }

            async fn staging_intact(&self, connector: &str, cp: &Checkpoint) -> Result<bool, StoreError> {
                self.staged_intact(connector, cp).await
            }

            async fn reset_unit(&self, connector: &str, unit_key: &str) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let unit = StageUnit { connector, key: unit_key, run_id: 0, now: Utc::now() };
                <Self as Staging>::drop_staged(&mut tx, unit).await?;
                sqlx::query("DELETE FROM checkpoints WHERE connector = $1 AND unit_key = $2")
                    .bind(connector)
                    .bind(unit_key)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE quarantine SET status = 'superseded', resolved_at = $3 \
                     WHERE connector = $1 AND unit_key = $2 AND status = 'open'",
                )
                .bind(connector)
                .bind(unit_key)
                .bind(Utc::now())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn write_batch(&self, b: WriteBatch<'_>) -> Result<Counts, StoreError> {
                let now = Utc::now();
                let unit = &b.unit;
                let mut tx = self.begin_write().await?;
                let before = self.locked_checkpoint(&mut tx, unit.connector, unit.key).await?;
                let staged_before = before.as_ref().map_or(0, |c| c.staged);
                let stage = StageUnit { connector: unit.connector, key: unit.key, run_id: b.run_id, now };
                let batch = StageBatch { records: &b.records, staged_before, promote: b.promote };
                let direct = <Self as Staging>::write_records(&mut tx, stage, batch).await?;
                for r in &b.rejects {
                    sqlx::query(
                        "INSERT INTO quarantine (run_id, connector, unit_key, source, line, position, field, reason, raw, \
                         record, stream, context, status, created_at, entity, record_key) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', $13, $14, $15)",
                    )
                    .bind(b.run_id)
                    .bind(unit.connector)
                    .bind(unit.key)
                    .bind(&r.source)
                    .bind(r.line)
                    .bind(&r.position)
                    .bind(&r.field)
                    .bind(&r.reason)
                    .bind(&r.raw)
                    .bind(&r.record)
                    .bind(&r.stream)
                    .bind(&r.context)
                    .bind(now)
                    .bind(&r.entity)
                    .bind(&r.record_key)
                    .execute(&mut *tx)
                    .await?;
                }
                for id in &b.resolves {
                    sqlx::query(
                        "UPDATE quarantine SET status = 'replayed', resolved_at = $1, resolved_run_id = $2 WHERE id = $3",
                    )
                    .bind(now)
                    .bind(b.run_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                let counts = match direct {
                    Some(counts) => counts,
                    None if b.promote => {
                        let n = b.records.len() as u64;
                        Self::promote_unit(&mut tx, stage, n).await?
                    }
                    None => Counts::default(),
                };
                let status = if b.promote { "done" } else { "staging" };
                sqlx::query(
                    "INSERT INTO checkpoints (connector, unit_key, label, status, fingerprint, mapping_hash, position, \
                     read, rejected, skipped, staged, run_id, updated_at, batches) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, CASE WHEN $4 = 'done' THEN 0 ELSE 1 END) \
                     ON CONFLICT (connector, unit_key) DO UPDATE SET label = $3, status = $4, fingerprint = $5, \
                     mapping_hash = $6, position = $7, \
                     batches = CASE WHEN $4 = 'done' THEN 0 ELSE checkpoints.batches + 1 END, \
                     read = CASE WHEN $4 = 'done' THEN $8 ELSE checkpoints.read + $8 END, \
                     rejected = CASE WHEN $4 = 'done' THEN $9 ELSE checkpoints.rejected + $9 END, \
                     skipped = CASE WHEN $4 = 'done' THEN $10 ELSE checkpoints.skipped + $10 END, \
                     staged = CASE WHEN $4 = 'done' THEN 0 ELSE checkpoints.staged + $11 END, \
                     run_id = $12, updated_at = $13",
                )
                .bind(unit.connector)
                .bind(unit.key)
                .bind(unit.label)
                .bind(status)
                .bind(unit.fingerprint)
                .bind(unit.mapping_hash)
                .bind(sqlx::types::Json(&b.position))
                .bind(b.read as i64)
                .bind(b.rejects.len() as i64)
                .bind(b.skipped as i64)
                .bind(if b.promote { 0 } else { b.records.len() as i64 })
                .bind(b.run_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(counts)
            }

            async fn finish_unit(
                &self,
                unit: UnitRef<'_>,
                run_id: RunId,
                max_reject_ratio: f64,
            ) -> Result<UnitOutcome, StoreError> {
                self.finish(unit, run_id, max_reject_ratio, None).await
            }

            async fn finish_snapshot_unit(
                &self,
                unit: UnitRef<'_>,
                run_id: RunId,
                max_reject_ratio: f64,
                rule: &SnapshotRule,
            ) -> Result<UnitOutcome, StoreError> {
                self.finish(unit, run_id, max_reject_ratio, Some(rule)).await
            }

            async fn quarantine(&self, f: &QuarantineFilter) -> Result<Vec<QuarantineRow>, StoreError> {
                let sql = format!(
                    "SELECT * FROM quarantine WHERE (CAST($1 AS TEXT) IS NULL OR connector = $1) \
                     AND (CAST($2 AS BIGINT) IS NULL OR run_id = $2) AND {} ORDER BY id LIMIT $3",
                    f.status_sql()
                );
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(&f.connector)
                    .bind(f.run_id)
                    .bind(if f.limit > 0 { f.limit } else { i64::MAX })
                    .fetch_all(self.pool())
                    .await?)
            }

            async fn quarantine_entry(&self, id: i64) -> Result<Option<QuarantineRow>, StoreError> {
                Ok(sqlx::query_as("SELECT * FROM quarantine WHERE id = $1")
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?)
            }

            async fn record(
                &self,
                connector: &str,
                entity: &str,
                external_id: &str,
            ) -> Result<Option<StoredRecord>, StoreError> {
                let row = sqlx::query(
                    "SELECT * FROM records WHERE connector = $1 AND entity = $2 AND external_id = $3",
                )
                .bind(connector)
                .bind(entity)
                .bind(external_id)
                .fetch_optional(self.pool())
                .await?;
                Ok(row.as_ref().map(StoredRecord::from_row).transpose()?)
            }

            async fn records(
                &self,
                connector: Option<&str>,
                entity: Option<&str>,
                limit: i64,
            ) -> Result<Vec<StoredRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT * FROM records WHERE (CAST($1 AS TEXT) IS NULL OR connector = $1) \
                     AND (CAST($2 AS TEXT) IS NULL OR entity = $2) ORDER BY connector, entity, external_id LIMIT $3",
                )
                .bind(connector)
                .bind(entity)
                .bind(if limit > 0 { limit } else { i64::MAX })
                .fetch_all(self.pool())
                .await?;
                Ok(rows.iter().map(StoredRecord::from_row).collect::<Result<_, _>>()?)
            }

            async fn count_records(&self, connector: Option<&str>) -> Result<u64, StoreError> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM records WHERE (CAST($1 AS TEXT) IS NULL OR connector = $1)",
                )
                .bind(connector)
                .fetch_one(self.pool())
                .await?;
                Ok(n.max(0) as u64)
            }
        }

        impl $store {
            /// The unit's checkpoint, read inside a write transaction (locked where the
            /// backend locks rows).
            async fn locked_checkpoint(
                &self,
                tx: &mut <Self as Staging>::Conn,
                connector: &str,
                unit_key: &str,
            ) -> Result<Option<Checkpoint>, sqlx::Error> {
                let sql = format!(
                    "SELECT * FROM checkpoints WHERE connector = $1 AND unit_key = $2{}",
                    <Self as Backend>::LOCK_ROW
                );
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(connector)
                    .bind(unit_key)
                    .fetch_optional(&mut *tx)
                    .await
            }

            /// Promotes a unit's staging into `records`, resolves the open quarantine entries
            /// (of another file or an earlier run) whose record loaded now, and drops the
            /// staging.
            async fn promote_unit(
                tx: &mut <Self as Staging>::Conn,
                unit: StageUnit<'_>,
                attempted: u64,
            ) -> Sql<Counts> {
                let Some(t) = <Self as Staging>::staged_table(tx, unit).await? else {
                    return Ok(Counts::default());
                };
                let rebuild = Self::drop_secondary_indexes(tx, attempted).await?;
                let counts = <Self as Staging>::promote(tx, unit, &t, attempted).await?;
                for def in rebuild {
                    sqlx::query(sqlx::AssertSqlSafe(def)).execute(&mut *tx).await?;
                }
                let sql = format!(
                    "UPDATE quarantine SET status = 'resolved', resolved_at = $1, resolved_run_id = $2, \
                     resolved_by = 'sync', resolved_reason = $3 \
                     WHERE connector = $4 AND status = 'open' AND record_key IS NOT NULL \
                     AND NOT (unit_key IS NOT DISTINCT FROM $5 AND run_id IS NOT DISTINCT FROM $2) \
                     AND EXISTS (SELECT 1 FROM {t} s WHERE s.entity = quarantine.entity \
                     AND s.external_id = quarantine.record_key)"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(unit.now)
                    .bind(unit.run_id)
                    .bind(crate::store::LOADED_LATER)
                    .bind(unit.connector)
                    .bind(unit.key)
                    .execute(&mut *tx)
                    .await?;
                <Self as Staging>::drop_staged(tx, unit).await?;
                Ok(counts)
            }

            /// Before a promotion that at least doubles `records` (a first sync): drops the
            /// table's secondary indexes and returns their definitions, to be built again after
            /// the insert — a third of the cost of keeping them up to date row by row (1M
            /// postings: 2.1 s instead of 6.1 s on SQLite, 2.1 s instead of 5.5 s on
            /// PostgreSQL). The unique key stays (the upsert needs it); the transaction keeps
            /// it all or nothing. On PostgreSQL the drop locks `records` until the commit.
            async fn drop_secondary_indexes(
                tx: &mut <Self as Staging>::Conn,
                staged: u64,
            ) -> Sql<Vec<String>> {
                if staged < crate::store::backend::BULK_MIN {
                    return Ok(Vec::new());
                }
                // An upper bound of the rows (one index lookup where `count(*)` reads them all).
                let before: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM records")
                    .fetch_one(&mut *tx)
                    .await?;
                if staged < 2 * crate::store::u(before.unwrap_or(0)) {
                    return Ok(Vec::new());
                }
                let defs: Vec<(String, String)> =
                    sqlx::query_as(<Self as Backend>::SECONDARY_INDEXES).fetch_all(&mut *tx).await?;
                for (name, _) in &defs {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX \"{name}\"")))
                        .execute(&mut *tx)
                        .await?;
                }
                Ok(defs.into_iter().map(|(_, def)| def).collect())
            }

            /// Distinct keys staged for a unit (0 when nothing was staged).
            async fn staged_keys(
                &self,
                tx: &mut <Self as Staging>::Conn,
                unit: StageUnit<'_>,
            ) -> Sql<u64> {
                let Some(t) = <Self as Staging>::staged_table(tx, unit).await? else {
                    return Ok(0);
                };
                let sql = format!("SELECT count(*) FROM (SELECT DISTINCT entity, external_id FROM {t}) k");
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *tx).await?;
                Ok(crate::store::u(n))
            }

            /// Open records of a connector of these entities.
            async fn open_count(
                tx: &mut <Self as Staging>::Conn,
                connector: &str,
                entities: &[&str],
            ) -> Sql<u64> {
                let sql = format!(
                    "SELECT count(*) FROM records WHERE connector = $1 AND closed_at IS NULL AND entity IN ({})",
                    crate::store::placeholders(2, entities.len())
                );
                let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(bulk!(sql))).bind(connector);
                for e in entities {
                    q = q.bind(*e);
                }
                Ok(crate::store::u(q.fetch_one(&mut *tx).await?))
            }

            /// Closes the open records of a connector of these entities that the unit did
            /// not stage.
            async fn close_missing(
                tx: &mut <Self as Staging>::Conn,
                unit: StageUnit<'_>,
                entities: &[&str],
            ) -> Sql<u64> {
                let not_staged = match <Self as Staging>::staged_table(tx, unit).await? {
                    Some(t) => format!(
                        "AND NOT EXISTS (SELECT 1 FROM {t} s WHERE s.entity = records.entity \
                         AND s.external_id = records.external_id)"
                    ),
                    None => String::new(),
                };
                let sql = format!(
                    "UPDATE records SET closed_at = $1, closed_run_id = $2 WHERE connector = $3 AND closed_at IS NULL \
                     AND entity IN ({}) {not_staged}",
                    crate::store::placeholders(4, entities.len())
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)))
                    .bind(unit.now)
                    .bind(unit.run_id)
                    .bind(unit.connector);
                for e in entities {
                    q = q.bind(*e);
                }
                Ok(q.execute(&mut *tx).await?.rows_affected())
            }

            /// Completes an atomic unit: refused (reject ratio, snapshot too small) or
            /// promoted, with the checkpoint, in one transaction.
            async fn finish(
                &self,
                unit: UnitRef<'_>,
                run_id: RunId,
                max_reject_ratio: f64,
                snapshot: Option<&SnapshotRule>,
            ) -> Result<UnitOutcome, StoreError> {
                let now = Utc::now();
                let mut tx = self.begin_write().await?;
                let cp = self.locked_checkpoint(&mut tx, unit.connector, unit.key).await?;
                let stage = StageUnit { connector: unit.connector, key: unit.key, run_id, now };
                let (read, rejected, skipped, staged) =
                    cp.map_or((0, 0, 0, 0), |c| (c.read, c.rejected, c.skipped, c.staged));
                let mut refused = too_many_rejects(read, rejected, max_reject_ratio);
                let mut too_small = None;
                if let Some(rule) = snapshot.filter(|_| !refused) {
                    let keys = self.staged_keys(&mut tx, stage).await?;
                    let previous = Self::open_count(&mut tx, unit.connector, &rule.entities).await?;
                    if rule.refuses(keys, previous) {
                        too_small = Some((keys, previous));
                        refused = true;
                    }
                }
                let mut counts = Counts::default();
                if refused {
                    <Self as Staging>::drop_staged(&mut tx, stage).await?;
                } else {
                    let closed = match snapshot {
                        Some(rule) => {
Self::close_missing(&mut tx, stage, &rule.entities).await?
                        }
                        None => 0,
                    };
                    counts = Self::promote_unit(&mut tx, stage, staged).await?;
                    counts.closed = closed;
                    if snapshot.is_some() {
                        sqlx::query(crate::store::SUPERSEDE_SQL)
                            .bind(now)
                            .bind(run_id)
                            .bind(crate::store::superseded_by(unit.label))
                            .bind(unit.connector)
                            .bind(unit.key)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                sqlx::query(
                    "INSERT INTO checkpoints (connector, unit_key, label, status, fingerprint, mapping_hash, position, \
                     read, rejected, skipped, staged, run_id, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, NULL, 0, 0, 0, 0, $7, $8) \
                     ON CONFLICT (connector, unit_key) DO UPDATE SET status = $4, staged = 0, batches = 0, run_id = $7, updated_at = $8",
                )
                .bind(unit.connector)
                .bind(unit.key)
                .bind(unit.label)
                .bind(if refused { "failed" } else { "done" })
                .bind(unit.fingerprint)
                .bind(unit.mapping_hash)
                .bind(run_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                self.after_promotion(&counts).await?;
                if let Some((staged, previous)) = too_small {
                    return Ok(UnitOutcome::SnapshotRefused { read, staged, previous });
                }
                if refused {
                    return Ok(UnitOutcome::Refused { read, rejected });
                }
                counts.read = read;
                counts.quarantined = rejected;
                counts.skipped = skipped;
                Ok(UnitOutcome::Promoted(counts))
            }
        }
    };
}

mod stores {
    use super::{Backend, Sql, StageBatch, StageUnit, Staging};
    use crate::store::*;
    use async_trait::async_trait;
    use chrono::Utc;

    for_each_backend!(sql_store);
}
