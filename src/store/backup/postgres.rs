//! PostgreSQL side of backup and restore: the catalog from `pg_catalog` (the current schema's
//! permanent tables: UNLOGGED staging tables are scratch), export in one REPEATABLE READ, READ
//! ONLY transaction, restore with COPY per table in one transaction.

use super::*;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use futures::TryStreamExt;
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Row};

const TABLES: &str = "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relpersistence = 'p' \
     AND NOT c.relispartition AND c.relname <> '_sqlx_migrations'";

pub(crate) async fn catalog(conn: &mut PgConnection) -> Result<Vec<TableInfo>, StoreError> {
    let names: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT c.relname::text {TABLES} ORDER BY 1"
    )))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let columns = sqlx::query(
            "SELECT a.attname::text AS name, t.typname::text AS ty FROM pg_attribute a \
             JOIN pg_type t ON t.oid = a.atttypid JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relname = $1 AND a.attnum > 0 \
             AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("ty")?)))
        .collect::<Result<Vec<(String, String)>, sqlx::Error>>()?;
        let pk: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) \
             WHERE n.nspname = current_schema() AND c.relname = $1 AND i.indisprimary \
             ORDER BY array_position(i.indkey::int2[], a.attnum)",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await?;
        let refs: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT r.relname::text FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class r ON r.oid = k.confrelid \
             WHERE k.contype = 'f' AND n.nspname = current_schema() AND c.relname = $1",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await?;
        out.push(TableInfo {
            name,
            columns,
            pk,
            refs,
        });
    }
    Ok(dependency_order(out))
}

/// The sequences behind a table's serial or identity columns: (column, sequence).
async fn sequences(
    conn: &mut PgConnection,
    table: &TableInfo,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut out = Vec::new();
    for (col, _) in &table.columns {
        let seq: Option<String> = sqlx::query_scalar(
            "SELECT pg_get_serial_sequence(format('%I.%I', current_schema(), $1::text), $2::text)",
        )
        .bind(&table.name)
        .bind(col)
        .fetch_one(&mut *conn)
        .await?;
        if let Some(s) = seq {
            out.push((col.clone(), s));
        }
    }
    Ok(out)
}

/// How a column is read: as itself where the Rust type is exact, else as text.
#[derive(Clone, Copy)]
enum Kind {
    Int,
    Real,
    Bool,
    Bytes,
    Ts,
    TsNaive,
    Date,
    Text,
}

fn kind(ty: &str) -> Kind {
    match ty {
        "int2" | "int4" | "int8" => Kind::Int,
        "float4" | "float8" => Kind::Real,
        "bool" => Kind::Bool,
        "bytea" => Kind::Bytes,
        "timestamptz" => Kind::Ts,
        "timestamp" => Kind::TsNaive,
        "date" => Kind::Date,
        _ => Kind::Text,
    }
}

pub(super) async fn export(pool: &PgPool, out: &mut Out) -> Result<Header, StoreError> {
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let has_migrations: bool = sqlx::query_scalar(
        "SELECT to_regclass(format('%I._sqlx_migrations', current_schema())) IS NOT NULL",
    )
    .fetch_one(&mut *tx)
    .await?;
    let migrations: Vec<i64> = if has_migrations {
        sqlx::query_scalar(MIGRATED_SQL).fetch_all(&mut *tx).await?
    } else {
        Vec::new()
    };
    let header = out.start("postgres", migrations).await?;
    for t in catalog(&mut tx).await? {
        let mut sequence = None;
        if let Some((_, seq)) = sequences(&mut tx, &t).await?.first() {
            // Sequences are not transactional: this may be ahead of the snapshot (harmless).
            sequence = Some(
                sqlx::query_scalar::<_, i64>(AssertSqlSafe(format!(
                    "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {seq}"
                )))
                .fetch_one(&mut *tx)
                .await?,
            );
        }
        out.table(&t, sequence).await?;
        let kinds: Vec<Kind> = t.columns.iter().map(|(_, ty)| kind(ty)).collect();
        let exprs: Vec<String> = t
            .columns
            .iter()
            .zip(&kinds)
            .map(|((c, _), k)| match k {
                Kind::Int => format!("{}::int8", ident(c)),
                Kind::Real => format!("{}::float8", ident(c)),
                Kind::Text => format!("{}::text", ident(c)),
                _ => ident(c),
            })
            .collect();
        let order = if t.pk.is_empty() {
            String::new()
        } else {
            format!(
                " ORDER BY {}",
                t.pk.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ")
            )
        };
        let sql = format!("SELECT {} FROM {}{order}", exprs.join(", "), ident(&t.name));
        let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *tx);
        let mut vals = Vec::with_capacity(kinds.len());
        while let Some(row) = rows.try_next().await? {
            vals.clear();
            for (i, k) in kinds.iter().enumerate() {
                vals.push(value(&row, i, *k)?);
            }
            out.row(&vals).await?;
        }
        drop(rows);
        out.end_table().await?;
    }
    tx.rollback().await?;
    Ok(header)
}

/// A value in the form kontor's SQLite store writes it (what sqlx binds there).
fn value(row: &sqlx::postgres::PgRow, i: usize, k: Kind) -> Result<Val, sqlx::Error> {
    Ok(match k {
        Kind::Int => row
            .try_get::<Option<i64>, _>(i)?
            .map_or(Val::Null, Val::Int),
        Kind::Real => row
            .try_get::<Option<f64>, _>(i)?
            .map_or(Val::Null, Val::Real),
        Kind::Bool => row
            .try_get::<Option<bool>, _>(i)?
            .map_or(Val::Null, |b| Val::Int(b as i64)),
        Kind::Bytes => row
            .try_get::<Option<Vec<u8>>, _>(i)?
            .map_or(Val::Null, Val::Blob),
        Kind::Ts => row
            .try_get::<Option<DateTime<Utc>>, _>(i)?
            .map_or(Val::Null, |t| {
                Val::Text(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
            }),
        Kind::TsNaive => row
            .try_get::<Option<NaiveDateTime>, _>(i)?
            .map_or(Val::Null, |t| Val::Text(t.format("%F %T%.f").to_string())),
        Kind::Date => row
            .try_get::<Option<NaiveDate>, _>(i)?
            .map_or(Val::Null, |d| Val::Text(d.format("%F").to_string())),
        Kind::Text => row
            .try_get::<Option<String>, _>(i)?
            .map_or(Val::Null, Val::Text),
    })
}

pub(super) async fn restore(
    pool: &PgPool,
    header: &Header,
    input: &mut Input,
) -> Result<(u64, u64), StoreError> {
    let fresh = fresh_counts(header.schema_version).await?;
    let mut tx = pool.begin().await?;
    let catalog = catalog(&mut tx).await?;
    let sql = count_sql(&catalog, "");
    let counts: Vec<(String, i64)> = sqlx::query_as(AssertSqlSafe(sql))
        .fetch_all(&mut *tx)
        .await?;
    require_empty(&counts, &fresh)?;
    if !catalog.is_empty() {
        // What the migrations inserted is replaced by the backup's rows; the lock keeps other
        // nodes out until the restore commits.
        let all: Vec<String> = catalog.iter().map(|t| ident(&t.name)).collect();
        sqlx::query(AssertSqlSafe(format!("TRUNCATE {}", all.join(", "))))
            .execute(&mut *tx)
            .await?;
    }
    let (mut tables, mut rows) = (0u64, 0u64);
    while let Some(head) = next_table(input).await? {
        let target = find_table(&catalog, &head.table)?;
        let types: Vec<String> = map_columns(&head, target)?
            .into_iter()
            .map(|i| target.columns[i].1.clone())
            .collect();
        let cols: Vec<String> = head.columns.iter().map(|(c, _)| ident(c)).collect();
        let mut copy = tx
            .copy_in_raw(&format!(
                "COPY {} ({}) FROM STDIN",
                ident(&head.table),
                cols.join(", ")
            ))
            .await?;
        let mut buf = Vec::with_capacity(BATCH_BYTES + 64 * 1024);
        let mut n = 0u64;
        let failed = loop {
            match next(input).await {
                Ok(Item::Rows(batch)) => {
                    let encoded = batch.iter().try_for_each(|row| {
                        n += 1;
                        copy_row(&mut buf, row, &types)
                    });
                    if let Err(e) = encoded {
                        break Some(StoreError::Data(format!(
                            "table {} row {n}: {e}",
                            head.table
                        )));
                    }
                    if buf.len() >= BATCH_BYTES {
                        copy.send(std::mem::take(&mut buf)).await?;
                    }
                }
                Ok(Item::EndTable) => break None,
                Ok(_) => {
                    break Some(StoreError::Data(
                        "backup file: a table without its end".into(),
                    ));
                }
                Err(e) => break Some(e),
            }
        };
        if let Some(e) = failed {
            let _ = copy.abort("restore failed").await;
            return Err(e);
        }
        if !buf.is_empty() {
            copy.send(buf).await?;
        }
        rows += copy
            .finish()
            .await
            .map_err(|e| StoreError::Data(format!("table {}: {e}", head.table)))?;
        for (col, seq) in sequences(&mut tx, target).await? {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT CASE WHEN v > 0 THEN setval($1::regclass, v, true) ELSE setval($1::regclass, 1, false) END \
                 FROM (SELECT GREATEST(coalesce($2::int8, 0), coalesce(max({})::int8, 0)) AS v FROM {}) x",
                ident(&col),
                ident(&head.table)
            )))
            .bind(&seq)
            .bind(head.sequence)
            .execute(&mut *tx)
            .await?;
        }
        tables += 1;
    }
    tx.commit().await?;
    Ok((tables, rows))
}

/// One row in COPY's text format, each value converted to its target column's type.
fn copy_row(out: &mut Vec<u8>, row: &[Val], types: &[String]) -> Result<(), String> {
    for (i, (v, ty)) in row.iter().zip(types).enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        copy_value(out, v, ty)?;
    }
    out.push(b'\n');
    Ok(())
}

fn copy_value(out: &mut Vec<u8>, v: &Val, ty: &str) -> Result<(), String> {
    let text = match (v, ty) {
        (Val::Null, _) => {
            out.extend_from_slice(b"\\N");
            return Ok(());
        }
        (Val::Int(i), "bool") => if *i != 0 { "t" } else { "f" }.to_owned(),
        (Val::Int(i), _) => i.to_string(),
        (Val::Real(f), _) if f.is_nan() => "NaN".into(),
        (Val::Real(f), _) if f.is_infinite() => {
            if *f > 0.0 { "Infinity" } else { "-Infinity" }.into()
        }
        (Val::Real(f), _) => serde_json::to_string(f).map_err(|e| e.to_string())?,
        (Val::Text(s), "timestamptz") => timestamp(s)
            .ok_or_else(|| format!("`{s}` is not a timestamp"))?
            .format("%Y-%m-%d %H:%M:%S%.6f+00")
            .to_string(),
        (Val::Text(s), "timestamp") => timestamp(s)
            .ok_or_else(|| format!("`{s}` is not a timestamp"))?
            .naive_utc()
            .format("%Y-%m-%d %H:%M:%S%.6f")
            .to_string(),
        (Val::Blob(b), "bytea") => hex_bytea(b),
        (Val::Text(s), "bytea") => hex_bytea(s.as_bytes()),
        (Val::Text(s), _) => s.clone(),
        (Val::Blob(b), _) => {
            String::from_utf8(b.clone()).map_err(|_| format!("binary data for a {ty} column"))?
        }
    };
    escape(out, &text);
    Ok(())
}

fn hex_bytea(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 + b.len() * 2);
    s.push_str("\\x");
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// COPY text escaping.
fn escape(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// A timestamp as kontor's SQLite store writes it (RFC 3339), or one of the forms sqlx reads
/// there; without an offset it is UTC.
pub(crate) fn timestamp(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%F %T%.f%:z", "%F %T%.f%#z", "%FT%T%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for f in ["%F %T%.f", "%FT%T%.f", "%F %R", "%FT%R"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_values_follow_the_target_type() {
        let enc = |v: Val, ty: &str| {
            let mut b = Vec::new();
            copy_value(&mut b, &v, ty).map(|_| String::from_utf8(b).unwrap())
        };
        assert_eq!(
            enc(
                Val::Text("2026-05-01T10:11:12.123456789+00:00".into()),
                "timestamptz"
            )
            .unwrap(),
            "2026-05-01 10:11:12.123456+00"
        );
        assert_eq!(
            enc(Val::Text("2026-05-01 12:11:12+02:00".into()), "timestamptz").unwrap(),
            "2026-05-01 10:11:12.000000+00"
        );
        assert!(enc(Val::Text("gestern".into()), "timestamptz").is_err());
        assert_eq!(enc(Val::Int(1), "bool").unwrap(), "t");
        assert_eq!(
            enc(Val::Blob(vec![0, 255, b'\\']), "bytea").unwrap(),
            "\\\\x00ff5c"
        );
        assert_eq!(
            enc(Val::Text("a\tb\nc\\".into()), "text").unwrap(),
            "a\\tb\\nc\\\\"
        );
        assert_eq!(enc(Val::Null, "text").unwrap(), "\\N");
        assert_eq!(enc(Val::Real(f64::NAN), "float8").unwrap(), "NaN");
        assert_eq!(
            enc(Val::Text("1234.5600".into()), "numeric").unwrap(),
            "1234.5600"
        );
    }
}
