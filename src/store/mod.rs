//! The customer record store: one trait, SQLite (embedded default) and PostgreSQL
//! (production, several nodes) behind it.
//!
//! Writes are batch-wise and crash-safe: a batch's records, its rejects and the unit's
//! position commit in one transaction. Atomic units (files) are staged and become visible in
//! one promotion at the end; a unit whose reject ratio is too high is refused and commits
//! nothing. Upserts are keyed by (connector, entity, external id); a content hash makes
//! unchanged records count as `unchanged` without a write.

/// Stamps a shared-SQL macro (`sql_store!`, `identity_store!`, …) out for every backend: a
/// new backend is one line here.
macro_rules! for_each_backend {
    ($m:ident) => {
        $m!(crate::store::SqliteStore);
        $m!(crate::store::PgStore);
    };
}

/// A statement with many parameters (`$1 … $n` of a VALUES or IN list) as the backend of the
/// surrounding impl binds it fastest ([`backend::Backend::bulk`]).
macro_rules! bulk {
    ($sql:expr) => {
        <Self as crate::store::backend::Backend>::bulk($sql)
    };
}

#[macro_use]
mod identity;
mod alerts;
mod backend;
pub mod backup;
mod browse;
mod cards;
mod cluster;
mod front;
mod ops;
mod postgres;
mod quarantine;
mod schema;
mod sqlite;
mod types;
mod users;

pub use alerts::{AlertState, AlertStore, OUTBOX_GIVE_UP, OutboxEntry};
pub use browse::{BrowseStore, RecordFilter};
pub use cards::{CardEpochs, CardRead, CardStats, CardStore, NewCard, StoredCard};
pub use cluster::{
    ClusterConfig, ClusterStore, RefusedRow, RenameSummary, RetireSummary, StoredConnector,
};
pub use front::{
    ActivityEdit, ActivityRow, AuditRow, CaseStore, DecimalText, ERASABLE, Erasable, ForwardRow,
    FrontStore, NewActivity, NewAudit, NewForward, NewReminder, NewStep, NewTicket, ReminderFilter,
    ReminderRow, StepRow, TicketFilter, TicketRow,
};
pub use identity::{
    DirectoryChanges, DocumentHit, IdentityChanges, IdentityDelta, IdentitySnapshot, IdentityStore,
    KeyRow, NewSingletons, SharedNumbers, SourceSystem, SuggestionRow, TokenInfo,
};
pub use ops::{OpsStore, RunLock, RunStats, Slot};
pub use postgres::PgStore;
pub(crate) use quarantine::{LOADED_LATER, SUPERSEDE_SQL, superseded_by};
pub use quarantine::{QuarantineCounts, QuarantineStore};
pub use schema::{MigrationState, Open, SchemaStatus};
pub use sqlite::{SqliteStore, bound_heap as bound_sqlite_heap};
pub use types::*;
pub use users::{NewSession, Session, User, UserStore};

use async_trait::async_trait;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store URL `{0}`: use sqlite://FILE or postgres://USER@HOST:PORT/DB")]
    Url(String),
    #[error("cannot open the store {url}: {message}")]
    Connect { url: String, message: String },
    #[error("store: {0}")]
    Db(#[from] sqlx::Error),
    #[error("store migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("store: {0}")]
    Data(String),
    /// The store's schema does not fit this command (needs migration, newer, blank, …).
    #[error("{0}")]
    Schema(String),
}

/// The customer record store: runs, units and their checkpoints, batches, quarantine and
/// records, and (through its sub-traits) identity, operations, the front office and users.
#[warn(missing_docs)]
#[async_trait]
pub trait Store:
    IdentityStore
    + OpsStore
    + FrontStore
    + CaseStore
    + ClusterStore
    + AlertStore
    + UserStore
    + BrowseStore
    + CardStore
    + QuarantineStore
    + Send
    + Sync
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    // --- runs
    /// Records a new run of `connector` on `node` as `running`.
    async fn start_run(&self, connector: &str, node: &str) -> Result<RunId, StoreError>;
    /// Records a run's outcome, counts and error.
    async fn finish_run(
        &self,
        run: RunId,
        status: RunStatus,
        counts: &Counts,
        error: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Marks runs of `connector` still `running` (other than `except`) as aborted: their
    /// process died. Only call while holding the connector's run lock.
    async fn abort_running(&self, connector: &str, except: RunId) -> Result<u64, StoreError>;
    /// Runs, newest first (of one connector, or all).
    async fn runs(&self, connector: Option<&str>, limit: i64) -> Result<Vec<RunRow>, StoreError>;

    // --- units
    /// The checkpoint of one unit.
    async fn checkpoint(
        &self,
        connector: &str,
        unit_key: &str,
    ) -> Result<Option<Checkpoint>, StoreError>;
    /// A connector's checkpoints, oldest update first.
    async fn checkpoints(&self, connector: &str) -> Result<Vec<Checkpoint>, StoreError>;
    /// Whether a staging checkpoint's rows are all still there (PostgreSQL keeps staging in an
    /// UNLOGGED table that a server crash empties); if not, the unit is read again.
    async fn staging_intact(
        &self,
        connector: &str,
        checkpoint: &Checkpoint,
    ) -> Result<bool, StoreError>;
    /// Forgets a unit's staging and checkpoint before it is read from the start; its open
    /// quarantine entries are superseded by the new read.
    async fn reset_unit(&self, connector: &str, unit_key: &str) -> Result<(), StoreError>;
    /// Commits a batch: staged (or promoted) records, rejects and position in one transaction.
    /// Returns the record counts when the batch was promoted.
    async fn write_batch(&self, batch: WriteBatch<'_>) -> Result<Counts, StoreError>;
    /// Completes an atomic unit: promotes its staged records, or refuses it when more than
    /// `max_reject_ratio` of its rows were rejected.
    async fn finish_unit(
        &self,
        unit: UnitRef<'_>,
        run_id: RunId,
        max_reject_ratio: f64,
    ) -> Result<UnitOutcome, StoreError>;
    /// Completes a snapshot unit: like [`Store::finish_unit`], and in the same transaction
    /// closes the records of the rule's entities that the unit does not have — or refuses the
    /// unit when it has fewer than `min_ratio` of the open records.
    async fn finish_snapshot_unit(
        &self,
        unit: UnitRef<'_>,
        run_id: RunId,
        max_reject_ratio: f64,
        rule: &SnapshotRule,
    ) -> Result<UnitOutcome, StoreError>;

    // --- quarantine
    /// Quarantine entries as `filter` says, in the order they were found.
    async fn quarantine(&self, filter: &QuarantineFilter)
    -> Result<Vec<QuarantineRow>, StoreError>;
    /// One quarantine entry.
    async fn quarantine_entry(&self, id: i64) -> Result<Option<QuarantineRow>, StoreError>;

    // --- records
    /// One record by its key (connector, entity, external id).
    async fn record(
        &self,
        connector: &str,
        entity: &str,
        external_id: &str,
    ) -> Result<Option<StoredRecord>, StoreError>;
    /// Records ordered by connector, entity, external id (for exports and tests).
    async fn records(
        &self,
        connector: Option<&str>,
        entity: Option<&str>,
        limit: i64,
    ) -> Result<Vec<StoredRecord>, StoreError>;
    /// How many records (of one connector, or all).
    async fn count_records(&self, connector: Option<&str>) -> Result<u64, StoreError>;
}

pub type DynStore = Arc<dyn Store>;

/// Opens (and migrates) the store at `url`.
pub async fn open(url: &str) -> Result<DynStore, StoreError> {
    open_with(url, Open::Migrate).await
}

/// Opens the store at `url` as `mode` says: only [`Open::Migrate`] upgrades an existing schema.
pub async fn open_with(url: &str, mode: Open) -> Result<DynStore, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open_with(url, mode).await?))
    } else if is_postgres(url) {
        Ok(Arc::new(PgStore::open_with(url, mode).await?))
    } else {
        Err(StoreError::Url(redact_url(url)))
    }
}

/// The schema state of the store at `url` (changes nothing).
pub async fn schema_status(url: &str) -> Result<SchemaStatus, StoreError> {
    if url.starts_with("sqlite:") {
        SqliteStore::open_with(url, Open::AsIs)
            .await?
            .schema_status()
            .await
    } else if is_postgres(url) {
        PgStore::open_with(url, Open::AsIs)
            .await?
            .schema_status()
            .await
    } else {
        Err(StoreError::Url(redact_url(url)))
    }
}

pub(crate) fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// A URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The filter "`col` = parameter `n`, if given" in a form whose index the planner can use:
/// the comparison when the value is given, else the (always true) test that the parameter is
/// NULL, so the parameters keep their numbers. (`($n IS NULL OR col = $n)` makes SQLite scan
/// the whole table.)
pub(crate) fn optional_eq(given: bool, col: &str, n: usize) -> String {
    if given {
        format!("{col} = ${n}")
    } else {
        format!("${n} IS NULL")
    }
}

/// The SQL placeholders of a multi-row VALUES list.
/// A count as stored (never negative) as `u64`.
pub(crate) fn u(v: i64) -> u64 {
    v.max(0) as u64
}

/// `$first, $first+1, …` (`n` numbered parameters).
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn values_list(rows: usize, cols: usize, numbered: bool) -> String {
    values_list_at(1, rows, cols, numbered)
}

/// [`values_list`] whose first placeholder is `$first`: `values_list_from(3, 2, 2)` is
/// `($3,$4),($5,$6)`.
pub(crate) fn values_list_from(first: usize, rows: usize, cols: usize) -> String {
    values_list_at(first, rows, cols, true)
}

fn values_list_at(first: usize, rows: usize, cols: usize, numbered: bool) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    let mut n = first - 1;
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            n += 1;
            if numbered {
                s.push('$');
                s.push_str(&n.to_string());
            } else {
                s.push('?');
            }
        }
        s.push(')');
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact_url("postgres://kontor:geheim@db:5432/k"),
            "postgres://kontor:***@db:5432/k"
        );
        assert_eq!(
            super::redact_url("postgres://kontor@db/k"),
            "postgres://kontor@db/k"
        );
        assert_eq!(super::values_list(2, 2, true), "($1,$2),($3,$4)");
    }
}
