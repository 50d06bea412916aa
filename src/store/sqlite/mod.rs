//! SQLite store (the embedded default): WAL, one writer at a time (`BEGIN IMMEDIATE`).

use super::*;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, ConnectOptions, SqliteConnection, SqlitePool};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

mod rows;
mod stage;

use rows::{checkpoint, quarantine_entry, run_info, stored_record};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    pool: SqlitePool,
    /// Where run locks live (beside the store file).
    locks: std::path::PathBuf,
}

impl SqliteStore {
    /// Opens and migrates the store at `url` (created when missing).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, Open::Migrate).await
    }

    /// Opens the store at `url` as `mode` says (see [`Open`]).
    pub async fn open_with(url: &str, mode: Open) -> Result<Self, StoreError> {
        let create = matches!(mode, Open::Migrate | Open::Create);
        if !create
            && let Some(path) = file_path(url)
            && !path.exists()
        {
            return Err(StoreError::Schema(format!(
                "there is no store at {}: `kontor migrate` creates it (`kontor sync` and `kontor serve` too)",
                path.display()
            )));
        }
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Connect {
                url: url.to_owned(),
                message: e.to_string(),
            })?
            // (Also when not creating: the staging file is attached with the same flags and
            // may be missing beside an existing store; the store's own existence is checked
            // above.)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            // Deleted and overwritten content is zeroed, not left in free space (erasure);
            // new stores give freed pages back on `incremental_vacuum`.
            .pragma("secure_delete", "ON")
            .auto_vacuum(sqlx::sqlite::SqliteAutoVacuum::Incremental)
            .busy_timeout(Duration::from_secs(30))
            // Per connection (up to 4): bounds the memory of large promotions.
            .pragma("cache_size", "-12000")
            .pragma("temp_store", "file")
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Debug, Duration::from_secs(10));
        let staging_file = stage::staging_path(url);
        // A new store: its folder (when kontor creates it) and files for the owner only.
        let db_file = PathBuf::from(
            staging_file
                .display()
                .to_string()
                .trim_end_matches("-staging"),
        );
        let fresh = !db_file.exists();
        if fresh
            && let Some(dir) = db_file
                .parent()
                .filter(|d| !d.as_os_str().is_empty() && !d.exists())
        {
            std::fs::create_dir_all(dir)
                .and_then(|()| crate::sys::owner_only(dir))
                .map_err(|e| StoreError::Connect {
                    url: url.to_owned(),
                    message: format!("{}: {e}", dir.display()),
                })?;
        }
        if fresh {
            // SQLite creates the WAL and shared-memory files with the database file's mode.
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&db_file)
                .and_then(|_| crate::sys::owner_only(&db_file));
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&staging_file)
                .and_then(|_| crate::sys::owner_only(&staging_file));
        }
        let locks = std::path::PathBuf::from(format!(
            "{}-locks",
            staging_file
                .display()
                .to_string()
                .trim_end_matches("-staging")
        ));
        let staging = staging_file.display().to_string();
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .after_connect(move |conn, _| {
                let staging = staging.clone();
                Box::pin(async move { stage::attach(conn, &staging).await })
            })
            .acquire_slow_level(tracing::log::LevelFilter::Debug)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Connect {
                url: url.to_owned(),
                message: e.to_string(),
            })?;
        let status = schema::sqlite_status(&pool, &MIGRATOR).await?;
        schema::apply_mode(mode, status, || async {
            MIGRATOR.run(&pool).await?;
            Ok(())
        })
        .await?;
        if mode == Open::Migrate {
            // No unit in progress: give the staging file's space back.
            let staging: i64 =
                sqlx::query_scalar("SELECT count(*) FROM checkpoints WHERE status = 'staging'")
                    .fetch_one(&pool)
                    .await?;
            if staging == 0 {
                sqlx::query("VACUUM st").execute(&pool).await?;
            }
        }
        Ok(Self { pool, locks })
    }

    /// The store's schema state against this kontor's migrations.
    pub async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        schema::sqlite_status(&self.pool, &MIGRATOR).await
    }

    pub(crate) fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    pub(crate) fn lock_dir(&self) -> std::path::PathBuf {
        self.locks.clone()
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A write transaction (takes the write lock at once, so it never fails half-way for
    /// a concurrent writer).
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }
}

/// The database file of a `sqlite://` URL (`None` for in-memory stores).
pub(crate) fn file_path(url: &str) -> Option<std::path::PathBuf> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    (!path.is_empty() && !path.starts_with(':')).then(|| std::path::PathBuf::from(path))
}

fn u(v: i64) -> u64 {
    v.max(0) as u64
}

async fn insert_rejects(
    tx: &mut SqliteConnection,
    run_id: RunId,
    connector: &str,
    unit_key: Option<&str>,
    rejects: &[NewReject],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for r in rejects {
        sqlx::query(
            "INSERT INTO quarantine (run_id, connector, unit_key, source, line, position, field, reason, raw, record, stream, context, status, created_at, entity, record_key) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)",
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

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn start_run(&self, connector: &str, node: &str) -> Result<RunId, StoreError> {
        let id = sqlx::query("INSERT INTO sync_runs (connector, node, status, started_at) VALUES (?, ?, 'running', ?)")
            .bind(connector)
            .bind(node)
            .bind(Utc::now())
            .execute(&self.pool)
            .await?
            .last_insert_rowid();
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
            "UPDATE sync_runs SET status = ?, finished_at = ?, read = ?, inserted = ?, updated = ?, unchanged = ?, \
             quarantined = ?, skipped = ?, closed = ?, warnings = ?, error = ? WHERE id = ?",
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
            "UPDATE sync_runs SET status = 'aborted', finished_at = ?, error = 'the process ended during the run' \
             WHERE connector = ? AND status = 'running' AND id <> ?",
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
        let rows = sqlx::query("SELECT * FROM sync_runs WHERE (?1 IS NULL OR connector = ?1) ORDER BY id DESC LIMIT ?2")
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
        let row = sqlx::query("SELECT * FROM checkpoints WHERE connector = ? AND unit_key = ?")
            .bind(connector)
            .bind(unit_key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(checkpoint).transpose()?)
    }

    async fn checkpoints(&self, connector: &str) -> Result<Vec<Checkpoint>, StoreError> {
        let rows = sqlx::query("SELECT * FROM checkpoints WHERE connector = ? ORDER BY updated_at")
            .bind(connector)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(checkpoint).collect::<Result<_, _>>()?)
    }

    async fn staging_intact(&self, connector: &str, cp: &Checkpoint) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(stage::batches(&mut conn, connector, &cp.unit_key).await? == cp.batches)
    }

    async fn reset_unit(&self, connector: &str, unit_key: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        stage::drop_unit(&mut tx, connector, unit_key).await?;
        for sql in [
            "DELETE FROM checkpoints WHERE connector = ?1 AND unit_key = ?2",
            "UPDATE quarantine SET status = 'superseded', resolved_at = ?3 WHERE connector = ?1 AND unit_key = ?2 AND status = 'open'",
        ] {
            sqlx::query(sql)
                .bind(connector)
                .bind(unit_key)
                .bind(Utc::now())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn write_batch(&self, b: WriteBatch<'_>) -> Result<Counts, StoreError> {
        let now = Utc::now();
        let unit = &b.unit;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        stage::stage(&mut tx, unit.connector, unit.key, &b.records).await?;
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
            sqlx::query("UPDATE quarantine SET status = 'replayed', resolved_at = ?, resolved_run_id = ? WHERE id = ?")
                .bind(now)
                .bind(b.run_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let mut counts = Counts::default();
        if b.promote {
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
            "INSERT INTO checkpoints (connector, unit_key, label, status, fingerprint, mapping_hash, position, read, rejected, skipped, staged, run_id, updated_at, batches) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, CASE WHEN ?4 = 'done' THEN 0 ELSE 1 END) \
             ON CONFLICT (connector, unit_key) DO UPDATE SET label = ?3, status = ?4, fingerprint = ?5, mapping_hash = ?6, position = ?7, \
             batches = CASE WHEN ?4 = 'done' THEN 0 ELSE batches + 1 END, \
             read = CASE WHEN ?4 = 'done' THEN ?8 ELSE read + ?8 END, rejected = CASE WHEN ?4 = 'done' THEN ?9 ELSE rejected + ?9 END, \
             skipped = CASE WHEN ?4 = 'done' THEN ?10 ELSE skipped + ?10 END, staged = CASE WHEN ?4 = 'done' THEN 0 ELSE staged + ?11 END, \
             run_id = ?12, updated_at = ?13",
        )
        .bind(unit.connector)
        .bind(unit.key)
        .bind(unit.label)
        .bind(status)
        .bind(unit.fingerprint)
        .bind(unit.mapping_hash)
        .bind(b.position.to_string())
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
            "SELECT * FROM quarantine WHERE (?1 IS NULL OR connector = ?1) AND (?2 IS NULL OR run_id = ?2) \
             AND {} ORDER BY id LIMIT ?3",
            f.status_sql()
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
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
        let row = sqlx::query("SELECT * FROM quarantine WHERE id = ?")
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
            "SELECT * FROM records WHERE connector = ? AND entity = ? AND external_id = ?",
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
            "SELECT * FROM records WHERE (?1 IS NULL OR connector = ?1) AND (?2 IS NULL OR entity = ?2) \
             ORDER BY connector, entity, external_id LIMIT ?3",
        )
        .bind(connector)
        .bind(entity)
        .bind(if limit > 0 { limit } else { i64::MAX })
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(stored_record).collect::<Result<_, _>>()?)
    }

    async fn count_records(&self, connector: Option<&str>) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM records WHERE (?1 IS NULL OR connector = ?1)")
                .bind(connector)
                .fetch_one(&self.pool)
                .await?;
        Ok(u(n))
    }
}

impl SqliteStore {
    async fn finish(
        &self,
        unit: UnitRef<'_>,
        run_id: RunId,
        max_reject_ratio: f64,
        snapshot: Option<&SnapshotRule>,
    ) -> Result<UnitOutcome, StoreError> {
        let now = Utc::now();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let cp = sqlx::query("SELECT * FROM checkpoints WHERE connector = ? AND unit_key = ?")
            .bind(unit.connector)
            .bind(unit.key)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(checkpoint)
            .transpose()?;
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
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, 0, 0, 0, 0, ?7, ?8) \
             ON CONFLICT (connector, unit_key) DO UPDATE SET status = ?4, staged = 0, batches = 0, run_id = ?7, updated_at = ?8",
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
