//! Real database servers for the SQL connector's tests: a database with a random name on the
//! MariaDB at 127.0.0.1:3306 (root, empty password; `KONTOR_TEST_MYSQL_URL`) and on the
//! PostgreSQL of `KONTOR_TEST_PG_URL`, dropped again when the guard goes.

#![allow(dead_code)]

use sqlx::{AssertSqlSafe, Connection, Executor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Maria,
    Pg,
}

impl Server {
    pub const ALL: [Server; 2] = [Server::Maria, Server::Pg];

    fn admin(self) -> String {
        match self {
            Server::Maria => std::env::var("KONTOR_TEST_MYSQL_URL")
                .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into()),
            Server::Pg => std::env::var("KONTOR_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
        }
    }
}

/// A database of its own on a real server.
pub struct TempDb {
    pub server: Server,
    pub name: String,
    admin: String,
    /// URL of the database for the connector (no password).
    pub url: String,
}

fn base(admin: &str) -> &str {
    // scheme://user@host:port[/db] → scheme://user@host:port
    let after = admin.find("://").map(|i| i + 3).unwrap_or(0);
    match admin[after..].find('/') {
        Some(i) => &admin[..after + i],
        None => admin,
    }
}

impl TempDb {
    pub async fn create(server: Server) -> TempDb {
        let admin = server.admin();
        let name = format!(
            "kontor_sql_{}_{}",
            std::process::id(),
            random() % 1_000_000_000
        );
        run_admin(server, &admin, &format!("CREATE DATABASE {name}")).await;
        let url = format!("{}/{name}", base(&admin));
        TempDb {
            server,
            name,
            admin,
            url,
        }
    }

    /// The URL with user and password put in.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        let scheme_end = self.url.find("://").unwrap() + 3;
        let host_start = self.url[scheme_end..]
            .find('@')
            .map(|i| scheme_end + i + 1)
            .unwrap_or(scheme_end);
        format!(
            "{}{user}:{password}@{}",
            &self.url[..scheme_end],
            &self.url[host_start..]
        )
    }

    /// Runs statements (`;`-separated, no `;` inside them) on one connection.
    pub async fn exec(&self, sql: &str) {
        let stmts: Vec<&str> = sql
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        match self.server {
            Server::Maria => {
                let mut c = sqlx::MySqlConnection::connect(&self.url).await.unwrap();
                for stmt in stmts {
                    c.execute(AssertSqlSafe(stmt.to_owned()))
                        .await
                        .unwrap_or_else(|e| panic!("{stmt}: {e}"));
                }
            }
            Server::Pg => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                for stmt in stmts {
                    c.execute(AssertSqlSafe(stmt.to_owned()))
                        .await
                        .unwrap_or_else(|e| panic!("{stmt}: {e}"));
                }
            }
        }
    }

    /// The timestamp column type of this server (without time zone, microseconds).
    pub fn ts(&self) -> &'static str {
        match self.server {
            Server::Maria => "DATETIME(6)",
            Server::Pg => "TIMESTAMP(6)",
        }
    }

    /// A timestamp literal `secs` seconds after 2026-01-01 00:00:00.
    pub fn at(&self, secs: i64) -> String {
        at(secs)
    }
}

/// A timestamp literal `secs` seconds after 2026-01-01 00:00:00.
pub fn at(secs: i64) -> String {
    let t = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        + chrono::TimeDelta::seconds(secs);
    format!("'{}'", t.format("%Y-%m-%d %H:%M:%S"))
}

/// Runs one statement on the database at `url`.
pub async fn exec_on(server: Server, url: &str, sql: &str) {
    match server {
        Server::Maria => {
            let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
            c.execute(AssertSqlSafe(sql.to_owned())).await.unwrap();
        }
        Server::Pg => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            c.execute(AssertSqlSafe(sql.to_owned())).await.unwrap();
        }
    }
}

/// Rows of a two-text-column query.
pub async fn pairs(server: Server, url: &str, sql: &str) -> Vec<(String, String)> {
    match server {
        Server::Maria => {
            let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
            sqlx::query_as(AssertSqlSafe(sql.to_owned()))
                .fetch_all(&mut c)
                .await
                .unwrap()
        }
        Server::Pg => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_as(AssertSqlSafe(sql.to_owned()))
                .fetch_all(&mut c)
                .await
                .unwrap()
        }
    }
}

/// A random number (std only: this file is shared with kontor's integration tests).
pub fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

async fn run_admin(server: Server, admin: &str, sql: &str) {
    match server {
        Server::Maria => {
            let mut c = sqlx::MySqlConnection::connect(admin)
                .await
                .unwrap_or_else(|e| panic!("MariaDB at {admin} (KONTOR_TEST_MYSQL_URL): {e}"));
            c.execute(AssertSqlSafe(sql.to_owned())).await.unwrap();
        }
        Server::Pg => {
            let mut c = sqlx::PgConnection::connect(admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {admin} (KONTOR_TEST_PG_URL): {e}"));
            c.execute(AssertSqlSafe(sql.to_owned())).await.unwrap();
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let (server, admin, name) = (self.server, self.admin.clone(), self.name.clone());
        // From a thread with its own runtime: we may be inside one.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let sql = match server {
                    Server::Maria => format!("DROP DATABASE IF EXISTS {name}"),
                    Server::Pg => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                };
                run_admin(server, &admin, &sql).await;
            });
            Some(())
        })
        .join();
    }
}
