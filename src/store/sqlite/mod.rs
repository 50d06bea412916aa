//! SQLite store (the embedded default): WAL, one writer at a time (`BEGIN IMMEDIATE`).

use super::*;
use crate::store::backend::{Backend, Sql};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, SqliteConnection, SqlitePool};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

mod params;
mod stage;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// What SQLite may keep in memory in this process, in bytes ([`bound_heap`]); 0: no bound.
static HEAP_LIMIT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Bounds what SQLite keeps in memory, for the whole process: beyond `bytes`, its page caches
/// (up to 12 MB per connection otherwise, one connection of up to four per task) give pages
/// back before taking new ones (`PRAGMA soft_heap_limit`, set with each connection of the
/// stores opened afterwards). `kontor sync` bounds it (a sync's peak RSS, issue 17); the
/// server keeps the whole caches for its readers.
pub fn bound_heap(bytes: u64) {
    HEAP_LIMIT.store(bytes, std::sync::atomic::Ordering::Relaxed);
}

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
            .pragma(
                "soft_heap_limit",
                HEAP_LIMIT
                    .load(std::sync::atomic::Ordering::Relaxed)
                    .to_string(),
            )
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

#[async_trait]
impl Backend for SqliteStore {
    const NAME: &'static str = "sqlite";
    const BYTE_ORDER: &'static str = "";
    const LOCK_ROW: &'static str = "";
    const LOCK_SHARED: &'static str = "";
    const RUN_IDS_SHARED: &'static str = "";
    const RUN_IDS_EXCLUSIVE: &'static str = "";
    const SECONDARY_INDEXES: &'static str = "SELECT name, sql FROM sqlite_master \
        WHERE type = 'index' AND tbl_name = 'records' AND sql IS NOT NULL ORDER BY name";

    fn bulk(sql: String) -> String {
        params::anonymous(&sql)
    }

    /// SQLite runs on one machine: an exclusive `flock` on a file beside the store guards
    /// against two processes; the OS drops it when the process ends.
    async fn lock_run(&self, connector: &str) -> Result<Option<RunLock>, StoreError> {
        use std::os::fd::AsRawFd;
        let dir = self.lock_dir();
        std::fs::create_dir_all(&dir)
            .map_err(|e| StoreError::Data(format!("{}: {e}", dir.display())))?;
        let path = dir.join(format!("{connector}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::Data(format!("{}: {e}", path.display())))?;
        // SAFETY: flock on a descriptor this function owns.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 {
            return Ok(None);
        }
        Ok(Some(RunLock::new(Box::new(file))))
    }

    async fn index_ticket(tx: &mut SqliteConnection, id: i64) -> Sql<()> {
        sqlx::query(
            "INSERT INTO tickets_fts (rowid, terms) SELECT id, terms FROM tickets WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// The contentless index forgets a row by its old words.
    async fn unindex_ticket(tx: &mut SqliteConnection, id: i64) -> Sql<()> {
        sqlx::query(
            "INSERT INTO tickets_fts (tickets_fts, rowid, terms) SELECT 'delete', id, terms FROM tickets WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    async fn search_tickets(&self, words: &[&str], limit: i64) -> Sql<Vec<(i64, f64)>> {
        let q = words
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(" OR ");
        sqlx::query_as(
            "SELECT rowid AS id, -bm25(tickets_fts) AS score FROM tickets_fts WHERE tickets_fts MATCH $1 \
             ORDER BY score DESC LIMIT $2",
        )
        .bind(q)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// Old index segments (with the erased words) are merged away; freed pages are zeroed
    /// (`secure_delete`), given back, and the WAL emptied.
    async fn compact_after_erasure(&self) -> Result<(), StoreError> {
        for sql in [
            "INSERT INTO tickets_fts (tickets_fts) VALUES ('optimize')",
            "PRAGMA main.incremental_vacuum",
            "PRAGMA main.wal_checkpoint(TRUNCATE)",
        ] {
            sqlx::query(sql).execute(&self.pool).await?;
        }
        Ok(())
    }
}
