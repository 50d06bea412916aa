//! Throwaway PostgreSQL databases: what `kontor bench` measures PostgreSQL in (and what the
//! tests' stores are made of).

use crate::store::{self, StoreError};

/// The PostgreSQL server benchmarks and tests create databases on: `KONTOR_TEST_PG_URL`,
/// default the local one.
pub fn pg_admin_url() -> String {
    std::env::var("KONTOR_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database created for one benchmark or test and dropped afterwards.
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
