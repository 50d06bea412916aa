//! The database side: a small lazy pool per connector, every statement in a read-only
//! transaction with a statement timeout, rows decoded into [`Cell`]s.

use crate::config::Stream;
use crate::decode::{Cell, Read, my_cell, my_read, pg_cell, pg_read};
use crate::position::Pos;
use crate::query::{self, Dialect};
use crate::value::Val;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Column, Connection, Executor, Row};
use std::str::FromStr;
use std::time::Duration;
use url::Url;

/// A reader and a `kontor check` at most; the shop's database is not ours to crowd.
const MAX_CONNECTIONS: u32 = 2;
/// Connections are closed when idle, not held between scheduled runs.
const IDLE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub statement_timeout: Duration,
    pub connect_timeout: Duration,
}

#[derive(Debug)]
enum Pool {
    Pg(PgPool),
    My(MySqlPool),
}

#[derive(Debug)]
pub struct Db {
    pool: Pool,
    pub dialect: Dialect,
    limits: Limits,
}

/// A page: the column names, and per row its cells (or why a cell could not be read).
#[derive(Debug, Default)]
pub struct Fetched {
    pub columns: Vec<String>,
    pub reads: Vec<Read>,
    pub rows: Vec<Vec<Result<Cell, String>>>,
}

/// The result of a statement; after any failure the connection is closed, not pooled: a
/// transaction the server aborted (a statement timeout) would otherwise stay open on an idle
/// connection and hold its locks (MariaDB: metadata locks that block the shop's DDL).
fn settle<DB: sqlx::Database, T>(
    conn: &mut sqlx::pool::PoolConnection<DB>,
    res: Result<Result<T, sqlx::Error>, tokio::time::error::Elapsed>,
) -> Result<T, sqlx::Error> {
    match res {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            conn.close_on_drop();
            Err(e)
        }
        Err(_) => {
            conn.close_on_drop();
            Err(timed_out())
        }
    }
}

fn timed_out() -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "statement_timeout exceeded (the statement was cancelled and its connection closed)",
    ))
}

/// A database error as text (the caller redacts it).
pub type DbResult<T> = Result<T, String>;

fn text(e: sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => match d.code() {
            Some(code) => format!("{} ({code})", d.message()),
            None => d.message().to_owned(),
        },
        sqlx::Error::PoolTimedOut => "no connection to the database (connect_timeout)".into(),
        other => other.to_string(),
    }
}

impl Db {
    /// A lazy pool: nothing is connected until the first statement.
    pub fn new(url: &Url, limits: Limits) -> Result<Db, String> {
        let mut url = url.clone();
        let is_pg = matches!(url.scheme(), "postgres" | "postgresql");
        if url.scheme() == "mariadb" {
            url.set_scheme("mysql")
                .map_err(|()| "invalid URL".to_owned())?;
        }
        let bad = |e: sqlx::Error| {
            format!(
                "invalid database URL ({})",
                e.to_string().lines().next().unwrap_or("")
            )
        };
        if is_pg {
            let c = PgConnectOptions::from_str(url.as_str())
                .map_err(bad)?
                .application_name("kontor");
            let pool = PgPoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .min_connections(0)
                .acquire_timeout(limits.connect_timeout)
                .idle_timeout(IDLE)
                .connect_lazy_with(c);
            return Ok(Db {
                pool: Pool::Pg(pool),
                dialect: Dialect::Postgres,
                limits,
            });
        }
        // The server's sql_mode stays as it is (no PIPES_AS_CONCAT: `||` means what the
        // query's author meant); the session is in UTC so that TIMESTAMP reads as UTC.
        let c = MySqlConnectOptions::from_str(url.as_str())
            .map_err(bad)?
            .pipes_as_concat(false)
            .no_engine_substitution(false)
            .timezone(Some("+00:00".to_owned()));
        let timeout = limits.statement_timeout;
        let pool = MySqlPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .min_connections(0)
            .acquire_timeout(limits.connect_timeout)
            .idle_timeout(IDLE)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    let version: String = sqlx::query_scalar("SELECT VERSION()")
                        .fetch_one(&mut *conn)
                        .await?;
                    let limit = if version.contains("MariaDB") {
                        format!("SET SESSION max_statement_time = {}", timeout.as_secs_f64())
                    } else {
                        format!("SET SESSION max_execution_time = {}", timeout.as_millis())
                    };
                    (&mut *conn).execute(AssertSqlSafe(limit)).await?;
                    (&mut *conn)
                        .execute("SET SESSION TRANSACTION READ ONLY")
                        .await?;
                    Ok(())
                })
            })
            .connect_lazy_with(c);
        Ok(Db {
            pool: Pool::My(pool),
            dialect: Dialect::MySql,
            limits,
        })
    }

    /// The server's version text (connects).
    pub async fn version(&self) -> DbResult<String> {
        let v: Result<String, sqlx::Error> = match &self.pool {
            Pool::Pg(p) => sqlx::query_scalar("SELECT version()").fetch_one(p).await,
            Pool::My(p) => sqlx::query_scalar("SELECT VERSION()").fetch_one(p).await,
        };
        v.map_err(text)
    }

    /// How long kontor waits for a statement itself: the server's limit plus time for its
    /// answer. A driver that does not come back in time has its connection closed.
    fn client_limit(&self) -> Duration {
        self.limits.statement_timeout * 2 + Duration::from_secs(1)
    }

    /// Runs one statement in a read-only transaction with the statement timeout.
    async fn rows_pg(
        &self,
        sql: String,
        binds: &[Val],
        p: &PgPool,
    ) -> Result<Vec<PgRow>, sqlx::Error> {
        let mut conn = p.acquire().await?;
        let ms = self.limits.statement_timeout.as_millis().max(1);
        let run = async {
            let mut tx = (*conn).begin_with("BEGIN READ ONLY").await?;
            (&mut *tx)
                .execute(AssertSqlSafe(format!("SET LOCAL statement_timeout = {ms}")))
                .await?;
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for v in binds {
                q = match v.clone() {
                    Val::Int(i) => q.bind(i),
                    Val::Uint(u) => q.bind(i64::try_from(u).unwrap_or(i64::MAX)),
                    Val::Decimal(d) => q.bind(d),
                    Val::Text(s) => q.bind(s),
                    Val::Date(d) => q.bind(d),
                    Val::Datetime(t) => q.bind(t),
                    Val::Timestamp(t) => q.bind(t),
                };
            }
            let rows = q.fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok(rows)
        };
        let res = tokio::time::timeout(self.client_limit(), run).await;
        settle(&mut conn, res)
    }

    async fn rows_my(
        &self,
        sql: String,
        binds: &[Val],
        p: &MySqlPool,
    ) -> Result<Vec<MySqlRow>, sqlx::Error> {
        let mut conn = p.acquire().await?;
        let run = async {
            let mut tx = (*conn).begin_with("START TRANSACTION READ ONLY").await?;
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for v in binds {
                q = match v.clone() {
                    Val::Int(i) => q.bind(i),
                    Val::Uint(u) => q.bind(u),
                    Val::Decimal(d) => q.bind(d),
                    Val::Text(s) => q.bind(s),
                    Val::Date(d) => q.bind(d),
                    Val::Datetime(t) => q.bind(t),
                    Val::Timestamp(t) => q.bind(t),
                };
            }
            let rows = q.fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok(rows)
        };
        // Should the driver not come back (a stalled network), the client-side limit ends it.
        let res = tokio::time::timeout(self.client_limit(), run).await;
        settle(&mut conn, res)
    }

    /// The largest increment at the start of a run (`None`: no rows, or no increment) and how
    /// many rows lack an increment or key.
    pub async fn bounds(&self, stream: &Stream) -> DbResult<(Option<Val>, i64)> {
        let sql = query::bounds(self.dialect, stream);
        let (max, missing) = match &self.pool {
            Pool::Pg(p) => {
                let rows = self.rows_pg(sql, &[], p).await.map_err(text)?;
                let row = rows.first().ok_or("the bounds query returned no row")?;
                let max = match &stream.increment {
                    Some(_) => {
                        let read = pg_read("MAX", row.column(0).type_info())?;
                        pg_cell(row, 0, read).map_err(text)?
                    }
                    None => Cell::Null,
                };
                (max, row.try_get::<i64, _>(1).map_err(text)?)
            }
            Pool::My(p) => {
                let rows = self.rows_my(sql, &[], p).await.map_err(text)?;
                let row = rows.first().ok_or("the bounds query returned no row")?;
                let max = match &stream.increment {
                    Some(_) => {
                        let read = my_read("MAX", row.column(0).type_info())?;
                        my_cell(row, 0, read).map_err(text)?
                    }
                    None => Cell::Null,
                };
                (max, row.try_get::<i64, _>(1).map_err(text)?)
            }
        };
        let max = match max {
            Cell::Null => None,
            c => Some(
                c.to_val()
                    .map_err(|e| format!("the increment column {e}"))?,
            ),
        };
        Ok((max, missing))
    }

    /// A page of the stream after `after`. `Err(Err(_))` is a column type kontor does not read.
    pub async fn page(
        &self,
        stream: &Stream,
        after: Option<&Pos>,
        limit: u32,
    ) -> DbResult<Fetched> {
        let (sql, binds) = query::page(self.dialect, stream, after, limit);
        let mut out = Fetched::default();
        match &self.pool {
            Pool::Pg(p) => {
                let rows = self.rows_pg(sql, &binds, p).await.map_err(text)?;
                let Some(first) = rows.first() else {
                    return Ok(out);
                };
                for c in first.columns() {
                    out.columns.push(c.name().to_owned());
                    out.reads.push(pg_read(c.name(), c.type_info())?);
                }
                for row in &rows {
                    out.rows.push(
                        out.reads
                            .iter()
                            .enumerate()
                            .map(|(i, r)| pg_cell(row, i, *r).map_err(text))
                            .collect(),
                    );
                }
            }
            Pool::My(p) => {
                let rows = self.rows_my(sql, &binds, p).await.map_err(text)?;
                let Some(first) = rows.first() else {
                    return Ok(out);
                };
                for c in first.columns() {
                    out.columns.push(c.name().to_owned());
                    out.reads.push(my_read(c.name(), c.type_info())?);
                }
                for row in &rows {
                    out.rows.push(
                        out.reads
                            .iter()
                            .enumerate()
                            .map(|(i, r)| my_cell(row, i, *r).map_err(text))
                            .collect(),
                    );
                }
            }
        }
        Ok(out)
    }
}
