//! Schema versions: which migrations a store has, which this kontor knows, and how a store is
//! opened. Only `serve`, `sync` and `migrate` upgrade a store; every other command leaves the
//! schema alone and says "store needs migration" instead (several nodes may share a database,
//! and an upgrade is a deliberate step with a backup before it).

use super::StoreError;
use serde::Serialize;
use sqlx::migrate::Migrator;
use sqlx::{PgPool, SqlitePool};

/// How a command opens the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Apply pending migrations (`serve`, `sync`, `migrate`, scratch stores).
    Migrate,
    /// Create the schema of a blank store (a new file or an empty database); an existing store
    /// must be at this kontor's version. For commands that write (`token create`, …).
    Create,
    /// The store must exist at this kontor's version; nothing is created or changed.
    Current,
    /// Whatever version the store is at; nothing is created or changed (`backup`, `migrate
    /// --status`).
    AsIs,
}

/// One migration: known to this kontor, applied to the store, or both.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationState {
    pub version: i64,
    pub description: String,
    /// When it was applied (as the database wrote it), `None` while pending.
    pub applied_at: Option<String>,
    /// Applied, but its SQL differs from this kontor's file (the file was edited afterwards).
    pub changed: bool,
    /// Applied and failed half-way (SQLite or a migration without a transaction).
    pub failed: bool,
    /// Applied by a newer kontor: this one does not know it.
    pub unknown: bool,
    /// The SQL (for `--dry-run`), empty for unknown migrations.
    #[serde(skip)]
    pub sql: String,
}

/// The schema state of a store.
#[derive(Debug, Clone, Serialize)]
pub struct SchemaStatus {
    pub backend: &'static str,
    /// The store has no tables at all (a new file or database).
    pub blank: bool,
    pub migrations: Vec<MigrationState>,
}

impl SchemaStatus {
    pub fn pending(&self) -> impl Iterator<Item = &MigrationState> {
        self.migrations.iter().filter(|m| m.applied_at.is_none())
    }

    /// Versions applied to the store (successfully).
    pub fn applied_versions(&self) -> Vec<i64> {
        self.migrations
            .iter()
            .filter(|m| m.applied_at.is_some() && !m.failed)
            .map(|m| m.version)
            .collect()
    }

    /// The highest applied version (0 for a blank store).
    pub fn version(&self) -> i64 {
        self.applied_versions().into_iter().max().unwrap_or(0)
    }

    /// Why this kontor cannot use the store as it is, if it cannot.
    pub fn problem(&self) -> Option<String> {
        if let Some(m) = self.migrations.iter().find(|m| m.unknown) {
            return Some(format!(
                "the store was migrated by a newer kontor (migration {:04} `{}` is unknown to this version): use that kontor version or newer",
                m.version, m.description
            ));
        }
        if let Some(m) = self.migrations.iter().find(|m| m.failed) {
            return Some(format!(
                "migration {:04} `{}` failed half-way: restore the backup taken before the upgrade",
                m.version, m.description
            ));
        }
        if let Some(m) = self.migrations.iter().find(|m| m.changed) {
            return Some(format!(
                "migration {:04} `{}` was applied with different SQL than this kontor has: the store comes from another build",
                m.version, m.description
            ));
        }
        let pending: Vec<String> = self
            .pending()
            .map(|m| format!("{:04} {}", m.version, m.description))
            .collect();
        if self.blank {
            return Some(
                "the store has no tables yet: run `kontor migrate` (`kontor sync` and `kontor serve` create them too)"
                    .into(),
            );
        }
        if !pending.is_empty() {
            return Some(format!(
                "store needs migration: run `kontor migrate` ({} pending: {})",
                pending.len(),
                pending.join(", ")
            ));
        }
        None
    }

    pub fn require_current(&self) -> Result<(), StoreError> {
        match self.problem() {
            Some(p) => Err(StoreError::Schema(p)),
            None => Ok(()),
        }
    }
}

#[derive(sqlx::FromRow)]
struct Applied {
    version: i64,
    description: String,
    success: bool,
    checksum: Vec<u8>,
    installed_on: String,
}

fn merge(
    backend: &'static str,
    blank: bool,
    known: &Migrator,
    applied: Vec<Applied>,
) -> SchemaStatus {
    let mut out: Vec<MigrationState> = Vec::new();
    for m in known.iter().filter(|m| m.migration_type.is_up_migration()) {
        let a = applied.iter().find(|a| a.version == m.version);
        out.push(MigrationState {
            version: m.version,
            description: m.description.to_string(),
            applied_at: a.map(|a| a.installed_on.clone()),
            changed: a.is_some_and(|a| a.checksum != *m.checksum),
            failed: a.is_some_and(|a| !a.success),
            unknown: false,
            sql: m.sql.as_str().to_owned(),
        });
    }
    for a in applied {
        if !known.version_exists(a.version) {
            out.push(MigrationState {
                version: a.version,
                description: a.description,
                applied_at: Some(a.installed_on),
                changed: false,
                failed: !a.success,
                unknown: true,
                sql: String::new(),
            });
        }
    }
    out.sort_by_key(|m| m.version);
    SchemaStatus {
        backend,
        blank,
        migrations: out,
    }
}

const APPLIED_SQL: &str = "SELECT version, description, success, checksum, CAST(installed_on AS TEXT) AS installed_on \
     FROM _sqlx_migrations ORDER BY version";

pub(crate) async fn sqlite_status(
    pool: &SqlitePool,
    known: &Migrator,
) -> Result<SchemaStatus, StoreError> {
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM main.sqlite_master WHERE type = 'table'")
            .fetch_all(pool)
            .await?;
    let applied = if tables.iter().any(|t| t == "_sqlx_migrations") {
        sqlx::query_as(APPLIED_SQL).fetch_all(pool).await?
    } else {
        Vec::new()
    };
    Ok(merge("sqlite", tables.is_empty(), known, applied))
}

pub(crate) async fn pg_status(pool: &PgPool, known: &Migrator) -> Result<SchemaStatus, StoreError> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')",
    )
    .fetch_all(pool)
    .await?;
    let applied = if tables.iter().any(|t| t == "_sqlx_migrations") {
        sqlx::query_as(APPLIED_SQL).fetch_all(pool).await?
    } else {
        Vec::new()
    };
    Ok(merge("postgres", tables.is_empty(), known, applied))
}

/// Brings a store to `mode`'s expectation (see [`Open`]).
pub(crate) async fn apply_mode<F, Fut>(
    mode: Open,
    status: SchemaStatus,
    migrate: F,
) -> Result<(), StoreError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    match mode {
        Open::Migrate => match status.problem() {
            // Pending migrations are what `Migrate` is for; anything else it cannot fix.
            Some(p)
                if status
                    .migrations
                    .iter()
                    .any(|m| m.unknown || m.failed || m.changed) =>
            {
                Err(StoreError::Schema(p))
            }
            _ => migrate().await,
        },
        Open::Create if status.blank => migrate().await,
        Open::Create | Open::Current => status.require_current(),
        Open::AsIs => Ok(()),
    }
}
