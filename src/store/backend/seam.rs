//! The seam's types and traits: what a backend implements ([`Staging`], [`Backend`]) and what
//! the shared SQL hands it (see the parent module).

use crate::store::{Checkpoint, Counts, RunId, RunLock, StageRecord, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// What a backend's SQL step returns.
pub(crate) type Sql<T> = Result<T, sqlx::Error>;

/// A unit being written: whose, which, by which run, when.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StageUnit<'a> {
    pub connector: &'a str,
    pub key: &'a str,
    pub run_id: RunId,
    pub now: DateTime<Utc>,
}

/// A batch's records for [`Staging::write_records`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct StageBatch<'a> {
    pub records: &'a [StageRecord],
    /// Rows the unit staged before this batch.
    pub staged_before: u64,
    /// The batch completes its unit (an API page with its cursor).
    pub promote: bool,
}

/// The staging area of atomic units — each backend's own folder (`<backend>/stage.rs`).
#[async_trait]
pub(crate) trait Staging: Send + Sync {
    /// The connection a write transaction runs on.
    type Conn: Send;
    /// Writes a batch's records inside the batch's transaction: staged until the unit is
    /// promoted, or — where the backend can, when the batch promotes and nothing was staged
    /// before — straight into `records`; then the counts are returned.
    async fn write_records(
        tx: &mut Self::Conn,
        unit: StageUnit<'_>,
        batch: StageBatch<'_>,
    ) -> Sql<Option<Counts>>;
    /// Moves the records staged in `table` (the unit's [`Staging::staged_table`]) into
    /// `records` (the last row of a key wins); `attempted` rows were staged. The staging
    /// stays for the caller to resolve quarantine entries from and drop (see `promote_unit`
    /// in `sql_store!`).
    async fn promote(
        tx: &mut Self::Conn,
        unit: StageUnit<'_>,
        table: &str,
        attempted: u64,
    ) -> Sql<Counts>;
    /// Forgets a unit's staged records.
    async fn drop_staged(tx: &mut Self::Conn, unit: StageUnit<'_>) -> Sql<()>;
    /// The unit's staging table (a name to use in SQL), when it has one.
    async fn staged_table(tx: &mut Self::Conn, unit: StageUnit<'_>) -> Sql<Option<String>>;
    /// Whether a staging checkpoint's rows are all still in the staging area.
    async fn staged_intact(&self, connector: &str, cp: &Checkpoint) -> Result<bool, StoreError>;
    /// Drops staged records no unit in progress (a `staging` checkpoint) accounts for; the
    /// number of units dropped. Where staging commits with `records` (PostgreSQL) there are
    /// none.
    async fn sweep_orphans(_tx: &mut Self::Conn) -> Sql<u64> {
        Ok(0)
    }
}

/// What else differs between the SQL backends (see the module documentation).
#[async_trait]
pub(crate) trait Backend: Staging {
    /// `sqlite` or `postgres` (what [`super::Store::backend`] reports).
    const NAME: &'static str;
    /// Appended to a text column in `ORDER BY`: the byte order Rust sorts by, whatever the
    /// database's collation (PostgreSQL: `COLLATE "C"`; SQLite compares bytes already).
    const BYTE_ORDER: &'static str;
    /// Appended to the checkpoint read of a write transaction (PostgreSQL: ` FOR UPDATE`;
    /// SQLite's `BEGIN IMMEDIATE` already holds the only write lock).
    const LOCK_ROW: &'static str;
    /// Appended to a read that must see no uncommitted change of its row and keep it from
    /// changing until commit (PostgreSQL: ` FOR SHARE`; SQLite's `BEGIN IMMEDIATE` holds the
    /// only write lock).
    const LOCK_SHARED: &'static str;
    /// Taken by a run's start until its row is committed (PostgreSQL: a shared transaction
    /// advisory lock; SQLite: nothing — its one writer commits ids in order).
    const RUN_IDS_SHARED: &'static str;
    /// Taken before reading which runs exist: waits for every run whose id is drawn but
    /// whose row is not committed yet, so no run with a lower id appears later (on
    /// PostgreSQL a sequence hands out ids before their rows commit).
    const RUN_IDS_EXCLUSIVE: &'static str;
    /// Name and definition (`CREATE INDEX …`) of each index of `records` that no constraint
    /// needs: what a bulk promotion drops and builds again.
    const SECONDARY_INDEXES: &'static str;

    /// A statement with many numbered parameters (a VALUES or IN list), as this backend binds
    /// it fastest: SQLite's in-order `$k` become anonymous `?` (sqlx binds named SQLite
    /// parameters in quadratic time, see `sqlite::params`).
    fn bulk(sql: String) -> String {
        sql
    }

    /// After a unit was promoted (PostgreSQL refreshes the planner's statistics after bulk
    /// loads).
    async fn after_promotion(&self, _counts: &Counts) -> Result<(), StoreError> {
        Ok(())
    }
    /// The run lock of a connector, or `None` when another process holds it.
    async fn lock_run(&self, connector: &str) -> Result<Option<RunLock>, StoreError>;

    // Full-text search of complaints: SQLite keeps a contentless FTS5 index beside
    // `tickets`, PostgreSQL computes `tsvector` when it searches.
    /// Adds complaint `id`'s words (`tickets.terms` as stored now) to the index.
    async fn index_ticket(tx: &mut Self::Conn, id: i64) -> Sql<()>;
    /// Removes complaint `id`'s words (`tickets.terms` as stored now) from the index.
    async fn unindex_ticket(tx: &mut Self::Conn, id: i64) -> Sql<()>;
    /// Complaints whose words match any of `words` (plain alphanumeric words), best first,
    /// with a score.
    async fn search_tickets(&self, words: &[&str], limit: i64) -> Sql<Vec<(i64, f64)>>;
    /// After an erasure: erased words and freed pages leave the files (SQLite: FTS merge,
    /// incremental vacuum, WAL truncation; PostgreSQL: `VACUUM`).
    async fn compact_after_erasure(&self) -> Result<(), StoreError>;
}
