//! The quarantine lifecycle: counts for listings, and resolving open entries — by ops
//! (`kontor quarantine resolve`), or by a sync when the record later loads cleanly or a newer
//! snapshot of the connector supersedes the entry's file. The same SQL on both backends.

use super::{QuarantineFilter, QuarantineResolve, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// How many quarantine entries there are, open and no longer open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QuarantineCounts {
    pub open: u64,
    /// Resolved, replayed, superseded or dismissed.
    pub resolved: u64,
}

impl QuarantineCounts {
    /// The entries a listing with `f` would show without a limit.
    pub fn matching(&self, f: &QuarantineFilter) -> u64 {
        if f.all {
            self.open + self.resolved
        } else if f.resolved {
            self.resolved
        } else {
            self.open
        }
    }
}

#[async_trait]
pub trait QuarantineStore: Send + Sync {
    /// Entries of a connector / run (the filter's status part is ignored).
    async fn quarantine_counts(&self, f: &QuarantineFilter)
    -> Result<QuarantineCounts, StoreError>;
    /// Resolves the open entries `r` selects; returns how many.
    async fn resolve_quarantine(&self, r: &QuarantineResolve) -> Result<u64, StoreError>;
}

/// Marks open entries of a connector from other files than `unit_key` resolved: a newer
/// snapshot of the connector (`label`) supersedes them. `$1` now, `$2` run, `$3` reason,
/// `$4` connector, `$5` unit key.
pub(crate) const SUPERSEDE_SQL: &str = "UPDATE quarantine SET status = 'resolved', resolved_at = $1, resolved_run_id = $2, \
     resolved_by = 'sync', resolved_reason = $3 \
     WHERE connector = $4 AND status = 'open' AND unit_key IS NOT NULL AND unit_key <> $5";

/// The reason stored for entries superseded by the snapshot `label`.
pub(crate) fn superseded_by(label: &str) -> String {
    format!("superseded by {label}")
}

/// The reason stored for entries whose record loaded cleanly later.
pub(crate) const LOADED_LATER: &str = "loaded later";

/// The WHERE clause of a resolve: $1 ids (as text, comma-separated), $2 file, $3 before,
/// $4 connector.
fn resolve_where(r: &QuarantineResolve) -> String {
    let mut parts = vec!["status = 'open'".to_owned()];
    if !r.ids.is_empty() {
        // Numbers only (from the command line as i64): safe to inline.
        let ids: Vec<String> = r.ids.iter().map(i64::to_string).collect();
        parts.push(format!("id IN ({})", ids.join(",")));
    }
    parts.push(if r.file.is_some() {
        // The file as stored, or its name (the last path component).
        "(source = $1 OR source LIKE ('%/' || $1) OR unit_key IN (SELECT unit_key FROM checkpoints c WHERE c.connector = quarantine.connector AND c.label = $1))".into()
    } else {
        "$1 IS NULL".into()
    });
    parts.push(super::optional_eq(r.before.is_some(), "created_at", 2).replace("= $2", "< $2"));
    parts.push(super::optional_eq(r.connector.is_some(), "connector", 3));
    parts.join(" AND ")
}

macro_rules! quarantine_store {
    ($store:ty) => {
        #[async_trait]
        impl QuarantineStore for $store {
            async fn quarantine_counts(
                &self,
                f: &QuarantineFilter,
            ) -> Result<QuarantineCounts, StoreError> {
                use sqlx::Row;
                let sql = format!(
                    "SELECT coalesce(sum(CASE WHEN status = 'open' THEN 1 ELSE 0 END), 0) AS open, count(*) AS total \
                     FROM quarantine WHERE {} AND {}",
                    super::optional_eq(f.connector.is_some(), "connector", 1),
                    super::optional_eq(f.run_id.is_some(), "run_id", 2),
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(f.connector.as_deref())
                    .bind(f.run_id)
                    .fetch_one(self.pool())
                    .await?;
                let open: i64 = row.try_get("open")?;
                let total: i64 = row.try_get("total")?;
                Ok(QuarantineCounts {
                    open: open.max(0) as u64,
                    resolved: (total - open).max(0) as u64,
                })
            }

            async fn resolve_quarantine(&self, r: &QuarantineResolve) -> Result<u64, StoreError> {
                let sql = format!(
                    "UPDATE quarantine SET status = 'resolved', resolved_at = $4, resolved_reason = $5, resolved_by = $6 \
                     WHERE {}",
                    resolve_where(r)
                );
                let now: DateTime<Utc> = Utc::now();
                let n = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(r.file.as_deref())
                    .bind(r.before)
                    .bind(r.connector.as_deref())
                    .bind(now)
                    .bind(&r.reason)
                    .bind(&r.by)
                    .execute(self.pool())
                    .await?
                    .rows_affected();
                Ok(n)
            }
        }
    };
}

for_each_backend!(quarantine_store);
