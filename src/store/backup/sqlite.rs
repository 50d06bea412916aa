//! SQLite side of backup and restore: the catalog from `pragma_table_list`, export in one read
//! transaction (a WAL snapshot: consistent while `kontor serve` writes), restore with
//! multi-row INSERTs in one write transaction.

use super::*;
use futures::TryStreamExt;
use sqlx::{AssertSqlSafe, Row, SqliteConnection, SqlitePool, TypeInfo, ValueRef};

/// Derived tables that a backup leaves out and a restore rebuilds from their source: every
/// virtual table of the schema must be here (a test checks it).
pub(crate) const DERIVED: &[(&str, &str)] = &[(
    "tickets_fts",
    "INSERT INTO tickets_fts (rowid, terms) SELECT id, terms FROM tickets",
)];

/// The ordinary tables of the main database (no SQLite internals, no `_sqlx_migrations`, no
/// virtual tables or their shadow tables), in dependency order.
pub(crate) async fn catalog(conn: &mut SqliteConnection) -> Result<Vec<TableInfo>, StoreError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
         AND name NOT LIKE 'sqlite!_%' ESCAPE '!' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let cols =
            sqlx::query("SELECT name, type, pk FROM pragma_table_info(?1, 'main') ORDER BY cid")
                .bind(&name)
                .fetch_all(&mut *conn)
                .await?;
        let mut pk: Vec<(i64, String)> = Vec::new();
        let mut columns = Vec::new();
        for c in &cols {
            let col: String = c.try_get("name")?;
            let n: i64 = c.try_get("pk")?;
            if n > 0 {
                pk.push((n, col.clone()));
            }
            columns.push((col, c.try_get::<String, _>("type")?));
        }
        pk.sort();
        let refs: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1, 'main')",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await?;
        out.push(TableInfo {
            name,
            columns,
            pk: pk.into_iter().map(|(_, c)| c).collect(),
            refs,
        });
    }
    Ok(dependency_order(out))
}

pub(crate) async fn virtual_tables(conn: &mut SqliteConnection) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'virtual' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?)
}

async fn has_table(conn: &mut SqliteConnection, name: &str) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM main.sqlite_master WHERE type = 'table' AND name = ?1",
    )
    .bind(name)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

/// Writes every table of the store, read in one transaction.
pub(super) async fn export(pool: &SqlitePool, out: &mut Out) -> Result<Header, StoreError> {
    // A deferred transaction: its first read fixes the snapshot every later read sees.
    let mut tx = pool.begin().await?;
    let migrations: Vec<i64> = if has_table(&mut tx, "_sqlx_migrations").await? {
        sqlx::query_scalar(MIGRATED_SQL).fetch_all(&mut *tx).await?
    } else {
        Vec::new()
    };
    let header = out.start("sqlite", migrations).await?;
    let sequences = has_table(&mut tx, "sqlite_sequence").await?;
    for t in catalog(&mut tx).await? {
        let sequence: Option<i64> = if sequences {
            sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = ?1")
                .bind(&t.name)
                .fetch_optional(&mut *tx)
                .await?
        } else {
            None
        };
        out.table(&t, sequence).await?;
        let cols: Vec<String> = t.columns.iter().map(|(c, _)| ident(c)).collect();
        let order = if t.pk.is_empty() {
            "rowid".to_owned()
        } else {
            t.pk.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ")
        };
        let sql = format!(
            "SELECT {} FROM main.{} ORDER BY {order}",
            cols.join(", "),
            ident(&t.name)
        );
        let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *tx);
        let mut vals = Vec::with_capacity(cols.len());
        while let Some(row) = rows.try_next().await? {
            vals.clear();
            for i in 0..cols.len() {
                vals.push(value(&row, i).map_err(|e| {
                    StoreError::Data(format!("table {} column {}: {e}", t.name, t.columns[i].0))
                })?);
            }
            out.row(&vals).await?;
        }
        drop(rows);
        out.end_table().await?;
    }
    tx.rollback().await?;
    Ok(header)
}

/// A value by its storage class (SQLite columns are dynamically typed).
fn value(row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<Val, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Val::Null);
    }
    let class = raw.type_info().name().to_owned();
    Ok(match class.as_str() {
        "INTEGER" => Val::Int(row.try_get(i)?),
        "REAL" => Val::Real(row.try_get(i)?),
        "BLOB" => Val::Blob(row.try_get(i)?),
        _ => Val::Text(row.try_get(i)?),
    })
}

/// Restores into the (checked) store in one transaction.
pub(super) async fn restore(
    pool: &SqlitePool,
    header: &Header,
    input: &mut Input,
) -> Result<(u64, u64), StoreError> {
    let fresh = fresh_counts(header.schema_version).await?;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    // Rows may come before the rows they reference (cycles): check at commit.
    sqlx::query("PRAGMA defer_foreign_keys = ON")
        .execute(&mut *tx)
        .await?;
    let catalog = catalog(&mut tx).await?;
    let sql = count_sql(&catalog, "main.");
    let counts: Vec<(String, i64)> = sqlx::query_as(AssertSqlSafe(sql))
        .fetch_all(&mut *tx)
        .await?;
    require_empty(&counts, &fresh)?;
    // What the migrations inserted is replaced by the backup's rows.
    for t in catalog.iter().rev() {
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM main.{}",
            ident(&t.name)
        )))
        .execute(&mut *tx)
        .await?;
    }
    let (mut tables, mut rows) = (0u64, 0u64);
    while let Some(head) = next_table(input).await? {
        let target = find_table(&catalog, &head.table)?;
        map_columns(&head, target)?;
        let cols: Vec<String> = head.columns.iter().map(|(c, _)| ident(c)).collect();
        let per_stmt = (30_000 / cols.len().max(1)).clamp(1, 500);
        loop {
            match next(input).await? {
                Item::Rows(batch) => {
                    for chunk in batch.chunks(per_stmt) {
                        insert(&mut tx, &head.table, &cols, chunk).await?;
                    }
                    rows += batch.len() as u64;
                }
                Item::EndTable => break,
                _ => {
                    return Err(StoreError::Data(
                        "backup file: a table without its end".into(),
                    ));
                }
            }
        }
        if let Some(seq) = head.sequence {
            set_sequence(&mut tx, &head.table, seq).await?;
        }
        tables += 1;
    }
    for name in virtual_tables(&mut tx).await? {
        let Some((_, sql)) = DERIVED.iter().find(|(t, _)| *t == name) else {
            return Err(StoreError::Data(format!(
                "virtual table {name}: kontor does not know how to rebuild it after a restore"
            )));
        };
        sqlx::query(*sql).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok((tables, rows))
}

async fn insert(
    tx: &mut SqliteConnection,
    table: &str,
    cols: &[String],
    rows: &[Vec<Val>],
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO main.{} ({}) VALUES {}",
        ident(table),
        cols.join(", "),
        crate::store::values_list(rows.len(), cols.len(), false)
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for row in rows {
        for v in row {
            q = match v {
                Val::Null => q.bind(None::<i64>),
                Val::Int(i) => q.bind(*i),
                Val::Real(f) => q.bind(*f),
                Val::Text(s) => q.bind(s.as_str()),
                Val::Blob(b) => q.bind(b.as_slice()),
            };
        }
    }
    q.execute(&mut *tx)
        .await
        .map_err(|e| StoreError::Data(format!("table {table}: {e}")))?;
    Ok(())
}

/// Keeps AUTOINCREMENT from handing out ids the source had used already.
async fn set_sequence(tx: &mut SqliteConnection, table: &str, seq: i64) -> Result<(), StoreError> {
    let sql: Option<String> =
        sqlx::query_scalar("SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?1")
            .bind(table)
            .fetch_optional(&mut *tx)
            .await?;
    if !sql.is_some_and(|s| s.to_ascii_uppercase().contains("AUTOINCREMENT")) {
        return Ok(());
    }
    sqlx::query("UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1")
        .bind(table)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO sqlite_sequence (name, seq) SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1)")
        .bind(table)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
