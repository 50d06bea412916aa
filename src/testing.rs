//! Helpers for tests (feature `testsuite`, on for this crate's own tests): throwaway stores.

pub use crate::bench::http_client;
pub use crate::bench::pg::{TempPg, pg_admin_url};
use crate::store::{self, DynStore, StoreError};

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
