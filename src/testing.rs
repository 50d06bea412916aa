//! Helpers for tests and benchmarks: throwaway stores.

use crate::store::{self, DynStore, StoreError};

/// The PostgreSQL server tests use: `KONTOR_TEST_PG_URL`, default the local one.
pub fn pg_admin_url() -> String {
    std::env::var("KONTOR_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database created for one test and dropped afterwards.
pub struct TempPg {
    pub url: String,
    name: String,
    admin: String,
}

impl TempPg {
    pub async fn create() -> Result<TempPg, StoreError> {
        use sqlx::Connection;
        let admin = pg_admin_url();
        let name = format!("kontor_test_{}_{}", std::process::id(), rand_suffix());
        let mut conn = sqlx::PgConnection::connect(&admin).await.map_err(|e| StoreError::Connect {
            url: store::redact_url(&admin),
            message: format!("{e} (set KONTOR_TEST_PG_URL to a PostgreSQL server tests may create databases on)"),
        })?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await?;
        let url = match admin.rfind('/') {
            Some(i) if i > "postgres://".len() => format!("{}/{name}", &admin[..i]),
            _ => format!("{admin}/{name}"),
        };
        Ok(TempPg { url, name, admin })
    }
}

impl Drop for TempPg {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop from a separate thread with its own runtime: we may be inside one.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
                .ok()
            })
        })
        .join();
    }
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let h = blake3::hash(format!("{nanos}{:?}", std::thread::current().id()).as_bytes());
    h.to_hex()[..10].to_string()
}

/// A store of the given backend (`sqlite` or `postgres`) in a temporary place. Keep the guard
/// alive while using the store.
pub async fn temp_store(backend: &str) -> Result<(DynStore, TempGuard), StoreError> {
    match backend {
        "sqlite" => {
            let dir = tempfile::tempdir().map_err(|e| StoreError::Data(e.to_string()))?;
            let url = format!("sqlite://{}", dir.path().join("kontor.db").display());
            Ok((store::open(&url).await?, TempGuard::Dir(dir, url)))
        }
        _ => {
            let pg = TempPg::create().await?;
            let s = store::open(&pg.url).await?;
            Ok((s, TempGuard::Pg(pg)))
        }
    }
}

/// Keeps a temporary store's place alive.
pub enum TempGuard {
    Dir(tempfile::TempDir, String),
    Pg(TempPg),
}

impl TempGuard {
    pub fn url(&self) -> &str {
        match self {
            TempGuard::Dir(_, url) => url,
            TempGuard::Pg(pg) => &pg.url,
        }
    }
}

/// An HTTP client for tests (reqwest is built without a bundled TLS provider: install ring).
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
