//! PostgreSQL store (production, several nodes): per-unit staging tables filled by COPY, promoted with one
//! set-based upsert.

use super::*;
use crate::store::backend::{Backend, Sql};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgConnection, PgPool};
use std::str::FromStr;
use std::time::Duration;

mod stage;
mod write_tx;

pub(crate) use write_tx::WriteTx;

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
        let options = opts.clone();
        let pool = PgPoolOptions::new()
            .max_connections(8)
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

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A write transaction ([`WriteTx`]: dropped before its end, its connection closes).
    pub(crate) async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        WriteTx::begin(&self.pool).await
    }
}

#[async_trait]
impl Backend for PgStore {
    const NAME: &'static str = "postgres";
    const BYTE_ORDER: &'static str = " COLLATE \"C\"";
    const LOCK_ROW: &'static str = " FOR UPDATE";
    const LOCK_SHARED: &'static str = " FOR SHARE";
    const RUN_IDS_SHARED: &'static str = "SELECT pg_advisory_xact_lock_shared(7017, 17)";
    const RUN_IDS_EXCLUSIVE: &'static str = "SELECT pg_advisory_xact_lock(7017, 17)";
    const SECONDARY_INDEXES: &'static str = "SELECT c.relname::text, pg_get_indexdef(i.indexrelid) \
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'records'::regclass \
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY 1";

    /// After a bulk load the planner needs fresh statistics (autovacuum comes later).
    async fn after_promotion(&self, counts: &Counts) -> Result<(), StoreError> {
        if counts.inserted + counts.updated > 50_000 {
            sqlx::query("ANALYZE records").execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Several nodes share PostgreSQL: a session advisory lock on a connection of its own.
    /// When the node dies, its connection closes and the server releases the lock (keepalives
    /// are short, so a node that vanished from the network is noticed within ~30 s too).
    async fn lock_run(&self, connector: &str) -> Result<Option<RunLock>, StoreError> {
        use sqlx::Connection;
        let mut conn = PgConnection::connect_with(&self.options).await?;
        sqlx::raw_sql(
            "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; \
             SET tcp_keepalives_count = 3",
        )
        .execute(&mut conn)
        .await?;
        let key = i64::from_be_bytes(
            blake3::hash(format!("kontor-run\0{connector}").as_bytes()).as_bytes()[..8]
                .try_into()
                .unwrap_or_default(),
        );
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut conn)
            .await?;
        if !got {
            let _ = conn.close().await;
            return Ok(None);
        }
        Ok(Some(RunLock::new(Box::new(tokio::sync::Mutex::new(conn)))))
    }

    async fn index_ticket(_: &mut PgConnection, _: i64) -> Sql<()> {
        Ok(())
    }

    async fn unindex_ticket(_: &mut PgConnection, _: i64) -> Sql<()> {
        Ok(())
    }

    async fn search_tickets(&self, words: &[&str], limit: i64) -> Sql<Vec<(i64, f64)>> {
        sqlx::query_as(
            "SELECT id, ts_rank(to_tsvector('simple', terms), to_tsquery('simple', $1))::float8 AS score \
             FROM tickets WHERE to_tsvector('simple', terms) @@ to_tsquery('simple', $1) \
             ORDER BY score DESC LIMIT $2",
        )
        .bind(words.join(" | "))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    async fn compact_after_erasure(&self) -> Result<(), StoreError> {
        let mut tables: Vec<&str> = crate::store::ERASABLE.iter().map(|t| t.table).collect();
        tables.extend(["records", "tombstones"]);
        tables.sort_unstable();
        tables.dedup();
        let sql = format!("VACUUM (ANALYZE) {}", tables.join(", "));
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
