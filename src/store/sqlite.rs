//! SQLite store (the embedded default): WAL, one writer at a time (`BEGIN IMMEDIATE`).

use super::*;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, ConnectOptions, Row, SqliteConnection, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Rows per multi-row INSERT (9 values each, well below SQLite's variable limit).
const CHUNK: usize = 400;

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Connect {
                url: url.to_owned(),
                message: e.to_string(),
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .pragma("cache_size", "-16000")
            .pragma("temp_store", "file")
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Debug, Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_slow_level(tracing::log::LevelFilter::Debug)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Connect {
                url: url.to_owned(),
                message: e.to_string(),
            })?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn u(v: i64) -> u64 {
    v.max(0) as u64
}

fn run_info(r: &SqliteRow) -> Result<RunInfo, sqlx::Error> {
    Ok(RunInfo {
        id: r.try_get("id")?,
        connector: r.try_get("connector")?,
        node: r.try_get("node")?,
        status: RunStatus::parse(r.try_get::<&str, _>("status")?),
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
        },
        error: r.try_get("error")?,
    })
}

fn checkpoint(r: &SqliteRow) -> Result<Checkpoint, sqlx::Error> {
    let position: Option<String> = r.try_get("position")?;
    Ok(Checkpoint {
        unit_key: r.try_get("unit_key")?,
        label: r.try_get("label")?,
        status: UnitStatus::parse(r.try_get::<&str, _>("status")?),
        fingerprint: r.try_get("fingerprint")?,
        mapping_hash: r.try_get("mapping_hash")?,
        position: position.and_then(|p| serde_json::from_str(&p).ok()),
        read: u(r.try_get("read")?),
        rejected: u(r.try_get("rejected")?),
        skipped: u(r.try_get("skipped")?),
        staged: u(r.try_get("staged")?),
        run_id: r.try_get("run_id")?,
    })
}

fn quarantine_entry(r: &SqliteRow) -> Result<QuarantineEntry, sqlx::Error> {
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
    })
}

fn stored_record(r: &SqliteRow) -> Result<StoredRecord, sqlx::Error> {
    let data: String = r.try_get("data")?;
    Ok(StoredRecord {
        connector: r.try_get("connector")?,
        entity: r.try_get("entity")?,
        external_id: r.try_get("external_id")?,
        customer_no: r.try_get("customer_no")?,
        ref_no: r.try_get("ref_no")?,
        data: serde_json::from_str(&data).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        hash: r.try_get("hash")?,
        position: r.try_get("position")?,
        run_id: r.try_get("run_id")?,
        synced_at: r.try_get("synced_at")?,
        closed_at: r.try_get("closed_at")?,
    })
}

async fn stage(
    tx: &mut SqliteConnection,
    connector: &str,
    unit_key: &str,
    records: &[StageRecord],
) -> Result<(), sqlx::Error> {
    for chunk in records.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO staging (connector, unit_key, entity, external_id, customer_no, ref_no, data, hash, position) VALUES {} \
             ON CONFLICT (connector, unit_key, entity, external_id) DO UPDATE SET customer_no = excluded.customer_no, \
             ref_no = excluded.ref_no, data = excluded.data, hash = excluded.hash, position = excluded.position",
            values_list(chunk.len(), 9, false)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(connector)
                .bind(unit_key)
                .bind(r.entity)
                .bind(&r.external_id)
                .bind(&r.customer_no)
                .bind(&r.ref_no)
                .bind(&r.data)
                .bind(&r.hash)
                .bind(&r.position);
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
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
            "INSERT INTO quarantine (run_id, connector, unit_key, source, line, position, field, reason, raw, record, stream, context, status, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)",
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
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Moves a unit's staged records into `records`; returns inserted/updated/unchanged of the
/// distinct keys (`attempted` rows were staged; the surplus were superseded duplicates).
async fn promote(
    tx: &mut SqliteConnection,
    connector: &str,
    unit_key: &str,
    run_id: RunId,
    attempted: u64,
    now: DateTime<Utc>,
) -> Result<Counts, sqlx::Error> {
    let row = sqlx::query(
        "SELECT count(*) AS n, coalesce(sum(r.id IS NULL), 0) AS ins, \
         coalesce(sum(r.id IS NOT NULL AND (r.hash <> s.hash OR r.closed_at IS NOT NULL)), 0) AS upd \
         FROM staging s LEFT JOIN records r ON r.connector = s.connector AND r.entity = s.entity AND r.external_id = s.external_id \
         WHERE s.connector = ?1 AND s.unit_key = ?2",
    )
    .bind(connector)
    .bind(unit_key)
    .fetch_one(&mut *tx)
    .await?;
    let (n, ins, upd) = (
        u(row.try_get("n")?),
        u(row.try_get("ins")?),
        u(row.try_get("upd")?),
    );
    sqlx::query(
        "INSERT INTO records (connector, entity, external_id, customer_no, ref_no, data, hash, position, run_id, synced_at, first_seen_at) \
         SELECT connector, entity, external_id, customer_no, ref_no, data, hash, position, ?3, ?4, ?4 FROM staging \
         WHERE connector = ?1 AND unit_key = ?2 \
         ON CONFLICT (connector, entity, external_id) DO UPDATE SET customer_no = excluded.customer_no, ref_no = excluded.ref_no, \
         data = excluded.data, hash = excluded.hash, position = excluded.position, run_id = excluded.run_id, \
         synced_at = excluded.synced_at, closed_at = NULL, closed_run_id = NULL \
         WHERE records.hash <> excluded.hash OR records.closed_at IS NOT NULL",
    )
    .bind(connector)
    .bind(unit_key)
    .bind(run_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM staging WHERE connector = ?1 AND unit_key = ?2")
        .bind(connector)
        .bind(unit_key)
        .execute(&mut *tx)
        .await?;
    Ok(Counts {
        inserted: ins,
        updated: upd,
        unchanged: n - ins - upd + attempted.saturating_sub(n),
        ..Counts::default()
    })
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
             quarantined = ?, skipped = ?, closed = ?, error = ? WHERE id = ?",
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

    async fn staging_intact(
        &self,
        _connector: &str,
        _checkpoint: &Checkpoint,
    ) -> Result<bool, StoreError> {
        // Staging lives in the same transactional database as the checkpoint.
        Ok(true)
    }

    async fn reset_unit(&self, connector: &str, unit_key: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for sql in [
            "DELETE FROM staging WHERE connector = ?1 AND unit_key = ?2",
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
        stage(&mut tx, unit.connector, unit.key, &b.records).await?;
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
            counts = promote(
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
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
             ON CONFLICT (connector, unit_key) DO UPDATE SET label = ?3, status = ?4, fingerprint = ?5, mapping_hash = ?6, position = ?7, \
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
        let refused = read > 0 && rejected as f64 / read as f64 > max_reject_ratio;
        let mut counts = Counts::default();
        if refused {
            sqlx::query("DELETE FROM staging WHERE connector = ? AND unit_key = ?")
                .bind(unit.connector)
                .bind(unit.key)
                .execute(&mut *tx)
                .await?;
        } else {
            counts = promote(&mut tx, unit.connector, unit.key, run_id, staged, now).await?;
        }
        sqlx::query(
            "INSERT INTO checkpoints (connector, unit_key, label, status, fingerprint, mapping_hash, position, read, rejected, skipped, staged, run_id, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, 0, 0, 0, 0, ?7, ?8) \
             ON CONFLICT (connector, unit_key) DO UPDATE SET status = ?4, staged = 0, run_id = ?7, updated_at = ?8",
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
        if refused {
            return Ok(UnitOutcome::Refused { read, rejected });
        }
        counts.read = read;
        counts.quarantined = rejected;
        counts.skipped = skipped;
        Ok(UnitOutcome::Promoted(counts))
    }

    async fn quarantine(&self, f: &QuarantineFilter) -> Result<Vec<QuarantineEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM quarantine WHERE (?1 IS NULL OR connector = ?1) AND (?2 IS NULL OR run_id = ?2) \
             AND (?3 OR status = 'open') ORDER BY id LIMIT ?4",
        )
        .bind(&f.connector)
        .bind(f.run_id)
        .bind(f.all)
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
