//! Backup and restore: a portable, streaming copy of every kontor table, restorable into an
//! empty store of either kind (SQLite → PostgreSQL is backup + restore).
//!
//! The format (`kontor-backup` v1) is JSON lines, gzip-compressed when the file name ends in
//! `.gz`:
//!
//! ```text
//! {"format":"kontor-backup","version":1,"backend":"sqlite","schema_version":5,"migrations":[1,2,3,4,5],…}
//! {"table":"sync_runs","columns":[["id","INTEGER"],…],"sequence":42}
//! [1,"wawi","node-a","ok","2026-05-01T10:11:12.123456789+00:00",…]
//! {"end_table":"sync_runs","rows":1}
//! …
//! {"end":{"tables":22,"rows":12345,"blake3":"…"}}
//! ```
//!
//! Tables are enumerated from the database catalog (never a hand-written list), so a table a
//! migration adds is in the next backup. Left out: `_sqlx_migrations` (the header carries the
//! versions), derived indexes (SQLite FTS tables, rebuilt on restore) and PostgreSQL UNLOGGED
//! tables (per-unit staging: a unit in progress is read again after a restore). Values are
//! JSON: integers, reals (always with `.` or an exponent; non-finite as `{"real":"NaN"}`),
//! text, blobs as `{"blob":"<base64>"}`. Timestamps, dates, decimals and JSON are text in the
//! form kontor's SQLite store writes them; restoring into PostgreSQL converts by the target
//! column's type. The trailer's row counts and BLAKE3 hash make a truncated or damaged file
//! fail the restore, which then commits nothing.

mod postgres;
mod read;
mod sqlite;
mod write;

pub(crate) use read::*;
pub(crate) use write::*;

use super::{Open, PgStore, SqliteStore, StoreError, is_postgres, redact_url};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

const FORMAT: &str = "kontor-backup";
const FORMAT_VERSION: u32 = 1;
/// Bytes buffered before a chunk goes to the writer thread.
const CHUNK: usize = 256 * 1024;
/// Rows per batch handed from the reader thread to the restore.
const BATCH_ROWS: usize = 500;
const BATCH_BYTES: usize = 1024 * 1024;

/// A value as the backup carries it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// The first line of a backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The store kind it was taken from.
    pub backend: String,
    /// The highest migration applied to the store.
    pub schema_version: i64,
    /// Every applied migration.
    pub migrations: Vec<i64>,
    /// The kontor version that took it.
    pub kontor: String,
    pub created_at: String,
}

/// A table as the backup describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TableHead {
    pub table: String,
    /// Name and the source's declared type (informational; restore converts by the target's).
    pub columns: Vec<(String, String)>,
    /// The last id handed out (SQLite AUTOINCREMENT, PostgreSQL sequence), so that ids are not
    /// reused after a restore.
    #[serde(default)]
    pub sequence: Option<i64>,
}

/// What a backup or restore did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub tables: u64,
    pub rows: u64,
    pub bytes: u64,
    pub schema_version: i64,
    pub backend: String,
}

/// A table of the store's catalog.
#[derive(Debug, Clone)]
pub(crate) struct TableInfo {
    pub name: String,
    /// (name, declared type; PostgreSQL: the type name)
    pub columns: Vec<(String, String)>,
    pub pk: Vec<String>,
    /// Tables it references (foreign keys).
    pub refs: Vec<String>,
}

/// `"name"` with quotes doubled.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Tables in dependency order (referenced tables first), else by name.
pub(crate) fn dependency_order(mut tables: Vec<TableInfo>) -> Vec<TableInfo> {
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out: Vec<TableInfo> = Vec::with_capacity(tables.len());
    while !tables.is_empty() {
        let ready = tables.iter().position(|t| {
            t.refs.iter().all(|r| {
                r == &t.name
                    || out.iter().any(|o| &o.name == r)
                    || !tables.iter().any(|x| &x.name == r)
            })
        });
        // A cycle: take the first by name (restores defer or order within it).
        out.push(tables.remove(ready.unwrap_or(0)));
    }
    out
}

/// Writes a backup of the store at `url` to the file `dest`. Consistent while other processes
/// write: SQLite reads in one read transaction (a WAL snapshot), PostgreSQL in one REPEATABLE
/// READ, READ ONLY transaction. Never migrates. The file appears only when complete.
pub async fn backup(url: &str, dest: &Path) -> Result<Summary, StoreError> {
    run_backup(url, Dest::File(dest.to_path_buf())).await
}

/// [`backup`] to a writer (stdout, a pipe), uncompressed.
pub async fn backup_to(url: &str, w: Box<dyn Write + Send>) -> Result<Summary, StoreError> {
    run_backup(url, Dest::Writer(w)).await
}

async fn run_backup(url: &str, dest: Dest) -> Result<Summary, StoreError> {
    let (tx, writer) = spawn_writer(dest)?;
    let mut out = Out::new(tx);
    let exported = if is_postgres(url) {
        let store = PgStore::open_with(url, Open::AsIs).await?;
        postgres::export(store.pool(), &mut out).await
    } else {
        let store = SqliteStore::open_with(url, Open::AsIs).await?;
        sqlite::export(store.pool(), &mut out).await
    };
    let result = match exported {
        Ok(header) => out
            .finish()
            .await
            .map(|(tables, rows, bytes)| (header, tables, rows, bytes)),
        Err(e) => {
            drop(out);
            Err(e)
        }
    };
    let written = writer
        .join()
        .map_err(|_| StoreError::Data("the backup file's writer panicked".into()))?;
    let (header, tables, rows, bytes) = result?;
    let file_bytes = written.map_err(StoreError::Data)?;
    Ok(Summary {
        tables,
        rows,
        bytes: if file_bytes > 0 { file_bytes } else { bytes },
        schema_version: header.schema_version,
        backend: header.backend,
    })
}

/// The header of a new backup from the source's applied migrations.
/// The migrations a store has applied.
pub(crate) const MIGRATED_SQL: &str =
    "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";

pub(crate) fn header(backend: &str, mut migrations: Vec<i64>) -> Header {
    migrations.sort_unstable();
    Header {
        format: FORMAT.into(),
        version: FORMAT_VERSION,
        backend: backend.into(),
        schema_version: migrations.last().copied().unwrap_or(0),
        migrations,
        kontor: env!("CARGO_PKG_VERSION").into(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

// ---------------------------------------------------------------- reading

/// Restores the backup at `path` into the store at `url`, which must be empty: a new SQLite
/// file or PostgreSQL database (its schema is created at the backup's version), or a store at
/// exactly the backup's schema version without data. Everything commits in one transaction.
pub async fn restore(url: &str, path: &Path) -> Result<Summary, StoreError> {
    let (header, mut input) = open_dump(path)?;
    let label = redact_url(url);
    let (tables, rows) = if is_postgres(url) {
        let store = PgStore::open_with(url, Open::AsIs).await?;
        let status = store.schema_status().await?;
        prepare_target(&header, &status, &label, PgStore::migrator(), store.pool()).await?;
        postgres::restore(store.pool(), &header, &mut input).await?
    } else {
        // A new file: created empty, its schema then at the backup's version (below).
        if let Some(path) = super::sqlite::file_path(url)
            && !path.exists()
        {
            std::fs::File::create(&path)
                .map_err(|e| StoreError::Data(format!("{}: {e}", path.display())))?;
        }
        let store = SqliteStore::open_with(url, Open::AsIs).await?;
        let status = store.schema_status().await?;
        prepare_target(
            &header,
            &status,
            &label,
            SqliteStore::migrator(),
            store.pool(),
        )
        .await?;
        sqlite::restore(store.pool(), &header, &mut input).await?
    };
    Ok(Summary {
        tables,
        rows,
        bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        schema_version: header.schema_version,
        backend: header.backend,
    })
}

/// Checks the target's schema against the backup's and creates it in a blank store.
async fn prepare_target<'a, A>(
    header: &Header,
    status: &super::SchemaStatus,
    label: &str,
    migrator: &sqlx::migrate::Migrator,
    pool: A,
) -> Result<(), StoreError>
where
    A: sqlx::Acquire<'a>,
    <A::Connection as std::ops::Deref>::Target: sqlx::migrate::Migrate,
{
    let known: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    let vs = |v: &[i64]| {
        v.iter()
            .map(|v| format!("{v:04}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(v) = header.migrations.iter().find(|v| !known.contains(v)) {
        return Err(StoreError::Schema(format!(
            "the backup comes from a newer kontor (schema version {}, migration {v:04} is unknown here): restore it with kontor {} or newer",
            header.schema_version, header.kontor
        )));
    }
    let expected: Vec<i64> = known
        .iter()
        .copied()
        .filter(|v| *v <= header.schema_version)
        .collect();
    if expected != header.migrations {
        return Err(StoreError::Schema(format!(
            "the backup's migrations ({}) are not a sequence this kontor knows ({})",
            vs(&header.migrations),
            vs(&expected)
        )));
    }
    if status.blank {
        migrator.run_to(header.schema_version, pool).await?;
        return Ok(());
    }
    let applied = status.applied_versions();
    if applied != header.migrations {
        return Err(StoreError::Schema(format!(
            "{label} is at schema version {} and the backup at {}: restore into a new, empty database \
             (kontor creates the schema at the backup's version{})",
            status.version(),
            header.schema_version,
            if status.version() > header.schema_version {
                "; `kontor migrate` upgrades it afterwards"
            } else {
                ""
            }
        )));
    }
    Ok(())
}

/// Row counts of a freshly migrated store at `version` (what migrations insert themselves):
/// a store with no more than these is empty.
pub(crate) async fn fresh_counts(
    version: i64,
) -> Result<std::collections::BTreeMap<String, i64>, StoreError> {
    use sqlx::sqlite::SqlitePoolOptions;
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await?;
    SqliteStore::migrator().run_to(version, &pool).await?;
    let mut out = std::collections::BTreeMap::new();
    let mut conn = pool.acquire().await?;
    for t in sqlite::catalog(&mut conn).await? {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {}",
            ident(&t.name)
        )))
        .fetch_one(&mut *conn)
        .await?;
        out.insert(t.name, n);
    }
    Ok(out)
}

/// Refuses a store that holds data.
pub(crate) fn require_empty(
    counts: &[(String, i64)],
    fresh: &std::collections::BTreeMap<String, i64>,
) -> Result<(), StoreError> {
    let full: Vec<String> = counts
        .iter()
        .filter(|(t, n)| *n > fresh.get(t).copied().unwrap_or(0))
        .map(|(t, n)| format!("{t} ({n} rows)"))
        .collect();
    if full.is_empty() {
        return Ok(());
    }
    Err(StoreError::Schema(format!(
        "the store is not empty: {}; restore only into a new, empty store (a new SQLite file or an empty PostgreSQL database)",
        full.join(", ")
    )))
}

/// The next table of the backup, or `None` at its end.
pub(crate) async fn next_table(input: &mut Input) -> Result<Option<TableHead>, StoreError> {
    match next(input).await? {
        Item::Table(head) => Ok(Some(head)),
        Item::End => Ok(None),
        _ => Err(StoreError::Data("backup file: rows outside a table".into())),
    }
}

/// One query that counts the rows of every catalog table (`prefix` qualifies the names).
pub(crate) fn count_sql(catalog: &[TableInfo], prefix: &str) -> String {
    let mut parts: Vec<String> = catalog
        .iter()
        .map(|t| {
            let name = t.name.replace('\'', "''");
            format!("SELECT '{name}', count(*) FROM {prefix}{}", ident(&t.name))
        })
        .collect();
    if parts.is_empty() {
        parts.push("SELECT 'none', count(*) FROM (SELECT 1 AS x) e WHERE e.x = 0".into());
    }
    parts.join(" UNION ALL ")
}

/// Reads the next item, or fails with the reader's error.
pub(crate) async fn next(input: &mut Input) -> Result<Item, StoreError> {
    match input.recv().await {
        Some(Ok(item)) => Ok(item),
        Some(Err(e)) => Err(StoreError::Data(format!("backup file: {e}"))),
        None => Err(StoreError::Data("backup file: reading stopped".into())),
    }
}

/// Finds a backup table's columns in the target table: the target's column index for each.
pub(crate) fn map_columns(head: &TableHead, target: &TableInfo) -> Result<Vec<usize>, StoreError> {
    head.columns
        .iter()
        .map(|(c, _)| {
            target
                .columns
                .iter()
                .position(|(t, _)| t == c)
                .ok_or_else(|| {
                    StoreError::Schema(format!(
                        "table {}: the store has no column `{c}` (the schemas differ)",
                        head.table
                    ))
                })
        })
        .collect()
}

pub(crate) fn find_table<'a>(
    catalog: &'a [TableInfo],
    name: &str,
) -> Result<&'a TableInfo, StoreError> {
    catalog.iter().find(|t| t.name == name).ok_or_else(|| {
        StoreError::Schema(format!(
            "the store has no table `{name}` that the backup has (the schemas differ)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_exactly() {
        let vals = [
            Val::Null,
            Val::Int(i64::MIN),
            Val::Int(i64::MAX),
            Val::Real(1.0),
            Val::Real(-0.0),
            Val::Real(0.1 + 0.2),
            Val::Real(1e300),
            Val::Real(f64::MIN_POSITIVE),
            Val::Real(f64::INFINITY),
            Val::Real(f64::NEG_INFINITY),
            Val::Text("Müller \"GmbH\"\n\t\\ \u{0} €".into()),
            Val::Text(String::new()),
            Val::Blob((0..=255).collect()),
            Val::Blob(Vec::new()),
        ];
        for v in vals {
            let mut buf = Vec::new();
            encode(&mut buf, &v).unwrap();
            let back = decode(serde_json::from_slice(&buf).unwrap()).unwrap();
            match (&v, &back) {
                (Val::Real(a), Val::Real(b)) => assert_eq!(a.to_bits(), b.to_bits(), "{v:?}"),
                _ => assert_eq!(v, back, "{}", String::from_utf8_lossy(&buf)),
            }
        }
        let mut buf = Vec::new();
        encode(&mut buf, &Val::Real(f64::NAN)).unwrap();
        assert!(
            matches!(decode(serde_json::from_slice(&buf).unwrap()), Ok(Val::Real(f)) if f.is_nan())
        );
    }

    #[test]
    fn tables_come_after_the_tables_they_reference() {
        let t = |name: &str, refs: &[&str]| TableInfo {
            name: name.into(),
            columns: Vec::new(),
            pk: Vec::new(),
            refs: refs.iter().map(|r| r.to_string()).collect(),
        };
        let order: Vec<String> = dependency_order(vec![
            t("a_sessions", &["users"]),
            t("users", &[]),
            t("b", &["b"]),
            t("c", &["a_sessions", "gone"]),
        ])
        .into_iter()
        .map(|t| t.name)
        .collect();
        assert_eq!(order, ["b", "users", "a_sessions", "c"]);
    }
}
