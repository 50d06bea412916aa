//! PostgreSQL store (production, several nodes): per-unit staging tables filled by COPY, promoted with one
//! set-based upsert.

use super::*;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::types::Json;
use sqlx::{ConnectOptions, PgConnection, PgPool};
use std::str::FromStr;
use std::time::Duration;

mod nodelay;
mod rows;
mod stage;

use rows::{checkpoint, quarantine_entry, run_info, stored_record};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub struct PgStore {
    pool: PgPool,
    options: PgConnectOptions,
}

impl PgStore {
    /// Opens and migrates the store at `url`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, Open::Migrate).await
    }

    /// Opens the store at `url` as `mode` says (see [`Open`]).
    pub async fn open_with(url: &str, mode: Open) -> Result<Self, StoreError> {
        let connect_err = |e: sqlx::Error| StoreError::Connect {
            url: redact_url(url),
            message: e.to_string(),
        };
        let mut opts = PgConnectOptions::from_str(url).map_err(connect_err)?;
        // Which node a connection belongs to (pg_stat_activity), unless the URL says.
        if opts.get_application_name().is_none() {
            // (PostgreSQL cuts it at 63 bytes.)
            opts = opts.application_name(&format!("kontor {}", crate::sync::node_name()));
        }
        let opts = opts
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Debug, Duration::from_secs(10));
        let port = opts.get_port();
        let options = opts.clone();
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .after_connect(move |_conn, _meta| {
                Box::pin(async move {
                    nodelay::set_on_sockets_to(port);
                    Ok(())
                })
            })
            .acquire_slow_level(tracing::log::LevelFilter::Debug)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(connect_err)?;
        let status = schema::pg_status(&pool, &MIGRATOR).await?;
        schema::apply_mode(mode, status, || async {
            MIGRATOR.run(&pool).await?;
            Ok(())
        })
        .await?;
        Ok(Self { pool, options })
    }

    /// The store's schema state against this kontor's migrations.
    pub async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        schema::pg_status(&self.pool, &MIGRATOR).await
    }

    pub(crate) fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    pub(crate) fn connect_options(&self) -> PgConnectOptions {
        self.options.clone()
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.pool.begin().await
    }
}

fn u(v: i64) -> u64 {
    v.max(0) as u64
}

async fn insert_rejects(
    tx: &mut PgConnection,
    run_id: RunId,
    connector: &str,
    unit_key: Option<&str>,
    rejects: &[NewReject],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for r in rejects {
        sqlx::query(
            "INSERT INTO quarantine (run_id, connector, unit_key, source, line, position, field, reason, raw, record, stream, context, status, created_at, entity, record_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', $13, $14, $15)",
        )
        .bind(run_id)
        .bind(connector)
        .bind(unit_key)
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
    Ok(())
}

async fn lock_checkpoint(
    tx: &mut PgConnection,
    connector: &str,
    unit_key: &str,
) -> Result<Option<Checkpoint>, sqlx::Error> {
    sqlx::query("SELECT * FROM checkpoints WHERE connector = $1 AND unit_key = $2 FOR UPDATE")
        .bind(connector)
        .bind(unit_key)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(checkpoint)
        .transpose()
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn start_run(&self, connector: &str, node: &str) -> Result<RunId, StoreError> {
        let id: i64 = sqlx::query_scalar("INSERT INTO sync_runs (connector, node, status, started_at) VALUES ($1, $2, 'running', $3) RETURNING id")
            .bind(connector)
            .bind(node)
            .bind(Utc::now())
            .fetch_one(&self.pool)
            .await?;
        Ok(id)
    }

    async fn finish_run(
        &self,
        run: RunId,
        status: RunStatus,
        c: &Counts,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sync_runs SET status = $1, finished_at = $2, read = $3, inserted = $4, updated = $5, unchanged = $6, \
             quarantined = $7, skipped = $8, closed = $9, warnings = $10, error = $11 WHERE id = $12",
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
        .execute(&self.pool)
        .await?;
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
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n)
    }

    async fn runs(&self, connector: Option<&str>, limit: i64) -> Result<Vec<RunInfo>, StoreError> {
        let rows = sqlx::query("SELECT * FROM sync_runs WHERE ($1::text IS NULL OR connector = $1) ORDER BY id DESC LIMIT $2")
            .bind(connector)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(run_info).collect::<Result<_, _>>()?)
    }

    async fn checkpoint(
        &self,
        connector: &str,
        unit_key: &str,
    ) -> Result<Option<Checkpoint>, StoreError> {
        let row = sqlx::query("SELECT * FROM checkpoints WHERE connector = $1 AND unit_key = $2")
            .bind(connector)
            .bind(unit_key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(checkpoint).transpose()?)
    }

    async fn checkpoints(&self, connector: &str) -> Result<Vec<Checkpoint>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM checkpoints WHERE connector = $1 ORDER BY updated_at")
                .bind(connector)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(checkpoint).collect::<Result<_, _>>()?)
    }

    async fn staging_intact(&self, connector: &str, cp: &Checkpoint) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(stage::staged_rows(&mut conn, connector, &cp.unit_key).await? == cp.staged)
    }

    async fn reset_unit(&self, connector: &str, unit_key: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        stage::drop_unit(&mut tx, connector, unit_key).await?;
        sqlx::query("DELETE FROM checkpoints WHERE connector = $1 AND unit_key = $2")
            .bind(connector)
            .bind(unit_key)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE quarantine SET status = 'superseded', resolved_at = $3 WHERE connector = $1 AND unit_key = $2 AND status = 'open'")
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
        let mut tx = self.pool.begin().await?;
        let before = lock_checkpoint(&mut tx, unit.connector, unit.key).await?;
        let first_seq = before.as_ref().map_or(0, |c| c.staged as i64);
        // A page with its cursor and nothing staged before it goes straight into `records`.
        let direct = b.promote && first_seq == 0;
        if !direct {
            stage::stage(&mut tx, unit.connector, unit.key, first_seq, &b.records).await?;
        }
        insert_rejects(
            &mut tx,
            b.run_id,
            unit.connector,
            Some(unit.key),
            &b.rejects,
            now,
        )
        .await?;
        for id in &b.resolves {
            sqlx::query("UPDATE quarantine SET status = 'replayed', resolved_at = $1, resolved_run_id = $2 WHERE id = $3")
                .bind(now)
                .bind(b.run_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let mut counts = Counts::default();
        if direct {
            counts =
                stage::upsert_direct(&mut tx, unit.connector, unit.key, b.run_id, &b.records, now)
                    .await?;
        } else if b.promote {
            counts = stage::promote(
                &mut tx,
                unit.connector,
                unit.key,
                b.run_id,
                b.records.len() as u64,
                now,
            )
            .await?;
        }
        let status = if b.promote { "done" } else { "staging" };
        sqlx::query(
            "INSERT INTO checkpoints (connector, unit_key, label, status, fingerprint, mapping_hash, position, read, rejected, skipped, staged, run_id, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (connector, unit_key) DO UPDATE SET label = $3, status = $4, fingerprint = $5, mapping_hash = $6, position = $7, \
             read = CASE WHEN $4 = 'done' THEN $8 ELSE checkpoints.read + $8 END, \
             rejected = CASE WHEN $4 = 'done' THEN $9 ELSE checkpoints.rejected + $9 END, \
             skipped = CASE WHEN $4 = 'done' THEN $10 ELSE checkpoints.skipped + $10 END, \
             staged = CASE WHEN $4 = 'done' THEN 0 ELSE checkpoints.staged + $11 END, run_id = $12, updated_at = $13",
        )
        .bind(unit.connector)
        .bind(unit.key)
        .bind(unit.label)
        .bind(status)
        .bind(unit.fingerprint)
        .bind(unit.mapping_hash)
        .bind(Json(&b.position))
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
        self.finish(unit, run_id, max_reject_ratio, Some(rule))
            .await
    }

    async fn quarantine(&self, f: &QuarantineFilter) -> Result<Vec<QuarantineEntry>, StoreError> {
        let sql = format!(
            "SELECT * FROM quarantine WHERE ($1::text IS NULL OR connector = $1) AND ($2::bigint IS NULL OR run_id = $2) \
             AND {} ORDER BY id LIMIT $3",
            f.status_sql()
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&f.connector)
            .bind(f.run_id)
            .bind(if f.limit > 0 { f.limit } else { i64::MAX })
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(quarantine_entry)
            .collect::<Result<_, _>>()?)
    }

    async fn quarantine_entry(&self, id: i64) -> Result<Option<QuarantineEntry>, StoreError> {
        let row = sqlx::query("SELECT * FROM quarantine WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(quarantine_entry).transpose()?)
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
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(stored_record).transpose()?)
    }

    async fn records(
        &self,
        connector: Option<&str>,
        entity: Option<&str>,
        limit: i64,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM records WHERE ($1::text IS NULL OR connector = $1) AND ($2::text IS NULL OR entity = $2) \
             ORDER BY connector, entity, external_id LIMIT $3",
        )
        .bind(connector)
        .bind(entity)
        .bind(if limit > 0 { limit } else { i64::MAX })
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(stored_record).collect::<Result<_, _>>()?)
    }

    async fn count_records(&self, connector: Option<&str>) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM records WHERE ($1::text IS NULL OR connector = $1)",
        )
        .bind(connector)
        .fetch_one(&self.pool)
        .await?;
        Ok(u(n))
    }
}

impl PgStore {
    async fn finish(
        &self,
        unit: UnitRef<'_>,
        run_id: RunId,
        max_reject_ratio: f64,
        snapshot: Option<&SnapshotRule>,
    ) -> Result<UnitOutcome, StoreError> {
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        let cp = lock_checkpoint(&mut tx, unit.connector, unit.key).await?;
        let (read, rejected, skipped, staged) =
            cp.map_or((0, 0, 0, 0), |c| (c.read, c.rejected, c.skipped, c.staged));
        let mut refused = too_many_rejects(read, rejected, max_reject_ratio);
        let mut too_small = None;
        if let Some(rule) = snapshot.filter(|_| !refused) {
            let keys = stage::staged_keys(&mut tx, unit.connector, unit.key).await?;
            let previous = stage::open_count(&mut tx, unit.connector, &rule.entities).await?;
            if rule.refuses(keys, previous) {
                too_small = Some((keys, previous));
                refused = true;
            }
        }
        let mut counts = Counts::default();
        if refused {
            stage::drop_unit(&mut tx, unit.connector, unit.key).await?;
        } else {
            let closed = match snapshot {
                Some(rule) => {
                    stage::close_missing(
                        &mut tx,
                        unit.connector,
                        unit.key,
                        &rule.entities,
                        run_id,
                        now,
                    )
                    .await?
                }
                None => 0,
            };
            counts = stage::promote(&mut tx, unit.connector, unit.key, run_id, staged, now).await?;
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
            "INSERT INTO checkpoints (connector, unit_key, label, status, fingerprint, mapping_hash, position, read, rejected, skipped, staged, run_id, updated_at) \
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
        // After a bulk load the planner needs fresh statistics (autovacuum comes later).
        if counts.inserted + counts.updated > 50_000 {
            sqlx::query("ANALYZE records").execute(&self.pool).await?;
        }
        if let Some((staged, previous)) = too_small {
            return Ok(UnitOutcome::SnapshotRefused {
                read,
                staged,
                previous,
            });
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
