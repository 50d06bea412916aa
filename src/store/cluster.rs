//! Store side of running several nodes on one store: the cluster configuration (which
//! configuration the nodes agree on), the connector lifecycle (rename, retire), and refused
//! units that keep a connector degraded. The same SQL on both backends.

use super::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// The configuration the cluster runs, as recorded in the store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterConfig {
    pub fingerprint: String,
    /// Part (`connector:NAME`, `identity`, …) → its fingerprint.
    pub parts: BTreeMap<String, String>,
    /// The node (or command) that recorded it.
    pub node: String,
    pub updated_at: DateTime<Utc>,
}

/// A connector as the store knows it: from its records, runs, checkpoints, quarantine.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StoredConnector {
    pub name: String,
    pub records_open: u64,
    pub records_closed: u64,
    pub runs: u64,
    pub last_run_at: Option<DateTime<Utc>>,
    pub quarantine_open: u64,
    /// As of the last identity resolution.
    pub system: Option<String>,
    /// `retired` or `renamed` (with `renamed_to`), else `None`.
    pub lifecycle: Option<String>,
    pub renamed_to: Option<String>,
    pub lifecycle_at: Option<DateTime<Utc>>,
}

/// What a rename moved.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RenameSummary {
    pub records: u64,
    pub checkpoints: u64,
    pub runs: u64,
    pub quarantine: u64,
    pub slots: u64,
    /// Customer numbers moved to the new system (when the system was renamed too).
    pub keys: u64,
}

/// What a retirement did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RetireSummary {
    pub records_closed: u64,
    pub quarantine_closed: u64,
    pub checkpoints: u64,
}

/// A unit that was refused (too many rejects, a header that does not fit the mapping) and
/// no later unit of its connector loaded rows since; ops see [`crate::sync::shown::RefusedUnit`].
#[derive(Debug, Clone, PartialEq)]
pub struct RefusedRow {
    pub connector: String,
    pub unit_key: String,
    /// The file (or stream).
    pub label: String,
    pub refused_at: DateTime<Utc>,
    pub run_id: Option<i64>,
}

#[async_trait]
pub trait ClusterStore: Send + Sync {
    async fn cluster_config(&self) -> Result<Option<ClusterConfig>, StoreError>;
    /// Records `new` as the cluster configuration if the stored one still has the fingerprint
    /// `expected` (`None`: none recorded yet); `false` when another node changed it meanwhile.
    async fn set_cluster_config(
        &self,
        expected: Option<&str>,
        new: &ClusterConfig,
    ) -> Result<bool, StoreError>;

    /// Every connector the store holds anything of, by name.
    async fn stored_connectors(&self) -> Result<Vec<StoredConnector>, StoreError>;
    /// Moves everything of connector `old` to `new` in one transaction: records, checkpoints,
    /// runs, quarantine, schedule slots, alert state. With `system = Some((from, to))` the
    /// customer numbers of system `from` (keys, decisions, suggestions) move to `to` too.
    /// Units of `old` still in staging must have been reset before.
    async fn rename_connector(
        &self,
        old: &str,
        new: &str,
        new_system: &str,
        system: Option<(&str, &str)>,
    ) -> Result<RenameSummary, StoreError>;
    /// Closes the open records of a connector (kept for history), closes its open quarantine
    /// entries, forgets its checkpoints, and records it as retired.
    async fn retire_connector(
        &self,
        name: &str,
        note: Option<&str>,
    ) -> Result<RetireSummary, StoreError>;
    /// Connectors recorded as retired.
    async fn retired_connectors(&self) -> Result<Vec<String>, StoreError>;

    /// Refused units not followed by a unit of their connector that loaded.
    async fn refused_units(&self) -> Result<Vec<RefusedRow>, StoreError>;
    /// Ops accept a refused unit as it is: it stays unloaded, is not read again while it is
    /// unchanged, and no longer keeps its connector degraded; its open quarantine entries are
    /// closed as `dismissed`. Returns the units dismissed.
    async fn dismiss_refused(
        &self,
        connector: &str,
        unit_key: Option<&str>,
    ) -> Result<u64, StoreError>;
    /// Open quarantine entries per connector.
    async fn quarantine_backlog(&self) -> Result<BTreeMap<String, u64>, StoreError>;
}

fn u(v: i64) -> u64 {
    v.max(0) as u64
}

fn entry(by: &mut BTreeMap<String, StoredConnector>, name: String) -> &mut StoredConnector {
    by.entry(name.clone()).or_insert_with(|| StoredConnector {
        name,
        ..Default::default()
    })
}

/// Tables whose rows name their connector (renamed with it).
const CONNECTOR_TABLES: &[&str] = &[
    "records",
    "checkpoints",
    "sync_runs",
    "quarantine",
    "schedule_slots",
];

macro_rules! cluster_store {
    ($store:ty) => {
        #[async_trait]
        impl ClusterStore for $store {
            async fn cluster_config(&self) -> Result<Option<ClusterConfig>, StoreError> {
                use sqlx::Row;
                let Some(r) = sqlx::query("SELECT fingerprint, parts, node, updated_at FROM cluster_config WHERE id = 1")
                    .fetch_optional(self.pool())
                    .await?
                else {
                    return Ok(None);
                };
                let parts: String = r.try_get("parts")?;
                Ok(Some(ClusterConfig {
                    fingerprint: r.try_get("fingerprint")?,
                    parts: serde_json::from_str(&parts).map_err(|e| StoreError::Data(format!("cluster_config.parts: {e}")))?,
                    node: r.try_get("node")?,
                    updated_at: r.try_get("updated_at")?,
                }))
            }

            async fn set_cluster_config(
                &self,
                expected: Option<&str>,
                new: &ClusterConfig,
            ) -> Result<bool, StoreError> {
                let parts = serde_json::to_string(&new.parts).map_err(|e| StoreError::Data(e.to_string()))?;
                let res = match expected {
                    None => sqlx::query(
                        "INSERT INTO cluster_config (id, fingerprint, parts, node, updated_at) VALUES (1, $1, $2, $3, $4) \
                         ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(&new.fingerprint)
                    .bind(&parts)
                    .bind(&new.node)
                    .bind(new.updated_at)
                    .execute(self.pool())
                    .await?,
                    Some(old) => sqlx::query(
                        "UPDATE cluster_config SET fingerprint = $1, parts = $2, node = $3, updated_at = $4 \
                         WHERE id = 1 AND fingerprint = $5",
                    )
                    .bind(&new.fingerprint)
                    .bind(&parts)
                    .bind(&new.node)
                    .bind(new.updated_at)
                    .bind(old)
                    .execute(self.pool())
                    .await?,
                };
                Ok(res.rows_affected() == 1)
            }

            async fn stored_connectors(&self) -> Result<Vec<StoredConnector>, StoreError> {
                use sqlx::Row;
                let pool = self.pool();
                let mut by: BTreeMap<String, StoredConnector> = BTreeMap::new();
                for r in sqlx::query(
                    "SELECT connector, CAST(sum(CASE WHEN closed_at IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS open, \
                     CAST(sum(CASE WHEN closed_at IS NULL THEN 0 ELSE 1 END) AS BIGINT) AS closed FROM records GROUP BY connector",
                )
                .fetch_all(pool)
                .await?
                {
                    let e = entry(&mut by, r.try_get("connector")?);
                    e.records_open = u(r.try_get::<Option<i64>, _>("open")?.unwrap_or(0));
                    e.records_closed = u(r.try_get::<Option<i64>, _>("closed")?.unwrap_or(0));
                }
                for r in sqlx::query("SELECT connector, count(*) AS n, max(started_at) AS last FROM sync_runs GROUP BY connector")
                    .fetch_all(pool)
                    .await?
                {
                    let e = entry(&mut by, r.try_get("connector")?);
                    e.runs = u(r.try_get("n")?);
                    e.last_run_at = r.try_get("last")?;
                }
                for r in sqlx::query("SELECT connector, count(*) AS n FROM quarantine WHERE status = 'open' GROUP BY connector")
                    .fetch_all(pool)
                    .await?
                {
                    let e = entry(&mut by, r.try_get("connector")?);
                    e.quarantine_open = u(r.try_get("n")?);
                }
                for r in sqlx::query("SELECT DISTINCT connector FROM checkpoints").fetch_all(pool).await? {
                    entry(&mut by, r.try_get("connector")?);
                }
                for r in sqlx::query("SELECT connector, system FROM connector_systems").fetch_all(pool).await? {
                    let e = entry(&mut by, r.try_get("connector")?);
                    e.system = Some(r.try_get("system")?);
                }
                for r in sqlx::query("SELECT connector, status, renamed_to, at FROM connector_lifecycle").fetch_all(pool).await? {
                    let e = entry(&mut by, r.try_get("connector")?);
                    e.lifecycle = Some(r.try_get("status")?);
                    e.renamed_to = r.try_get("renamed_to")?;
                    e.lifecycle_at = Some(r.try_get("at")?);
                }
                Ok(by.into_values().collect())
            }

            async fn rename_connector(
                &self,
                old: &str,
                new: &str,
                new_system: &str,
                system: Option<(&str, &str)>,
            ) -> Result<RenameSummary, StoreError> {
                let now = Utc::now();
                let mut tx = self.begin_write().await?;
                Self::records_changed_outside_runs(&mut tx).await?;
                let mut moved = [0u64; 5];
                for (i, table) in CONNECTOR_TABLES.iter().enumerate() {
                    moved[i] = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE {table} SET connector = $2 WHERE connector = $1"
                    )))
                    .bind(old)
                    .bind(new)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                sqlx::query("UPDATE alert_state SET subject = $2 WHERE subject = $1 \
                             AND NOT EXISTS (SELECT 1 FROM alert_state a WHERE a.subject = $2 AND a.condition = alert_state.condition)")
                    .bind(old)
                    .bind(new)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM connector_systems WHERE connector = $1 OR connector = $2")
                    .bind(old)
                    .bind(new)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO connector_systems (connector, system) VALUES ($1, $2)")
                    .bind(new)
                    .bind(new_system)
                    .execute(&mut *tx)
                    .await?;
                let mut keys = 0;
                if let Some((from, to)) = system {
                    keys = sqlx::query("UPDATE customer_keys SET system = $2 WHERE system = $1")
                        .bind(from)
                        .bind(to)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    for sql in [
                        "UPDATE identity_decisions SET a_system = $2 WHERE a_system = $1",
                        "UPDATE identity_decisions SET b_system = $2 WHERE b_system = $1",
                        "UPDATE identity_suggestions SET a_system = $2 WHERE a_system = $1",
                        "UPDATE identity_suggestions SET b_system = $2 WHERE b_system = $1",
                    ] {
                        sqlx::query(sql).bind(from).bind(to).execute(&mut *tx).await?;
                    }
                    // The directories of every node read the keys again.
                    // (All of them: the keys are read through connector → system.)
                    sqlx::query(crate::store::identity::directory::FLOOR_AT_NEXT)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("UPDATE identity_state SET generation = generation + 1 WHERE id = 1")
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("DELETE FROM connector_lifecycle WHERE connector = $1 OR connector = $2")
                    .bind(old)
                    .bind(new)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO connector_lifecycle (connector, status, renamed_to, at) VALUES ($1, 'renamed', $2, $3)")
                    .bind(old)
                    .bind(new)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(RenameSummary {
                    records: moved[0],
                    checkpoints: moved[1],
                    runs: moved[2],
                    quarantine: moved[3],
                    slots: moved[4],
                    keys,
                })
            }

            async fn retire_connector(
                &self,
                name: &str,
                note: Option<&str>,
            ) -> Result<RetireSummary, StoreError> {
                let now = Utc::now();
                let mut tx = self.begin_write().await?;
                Self::records_changed_outside_runs(&mut tx).await?;
                let records_closed = sqlx::query(
                    "UPDATE records SET closed_at = $2 WHERE connector = $1 AND closed_at IS NULL",
                )
                .bind(name)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let quarantine_closed = sqlx::query(
                    "UPDATE quarantine SET status = 'retired', resolved_at = $2 WHERE connector = $1 AND status = 'open'",
                )
                .bind(name)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let checkpoints = sqlx::query("DELETE FROM checkpoints WHERE connector = $1")
                    .bind(name)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sqlx::query("UPDATE alert_state SET firing = FALSE WHERE subject = $1")
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO connector_lifecycle (connector, status, renamed_to, at, note) VALUES ($1, 'retired', NULL, $2, $3) \
                     ON CONFLICT (connector) DO UPDATE SET status = 'retired', renamed_to = NULL, at = excluded.at, note = excluded.note",
                )
                .bind(name)
                .bind(now)
                .bind(note)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(RetireSummary {
                    records_closed,
                    quarantine_closed,
                    checkpoints,
                })
            }

            async fn retired_connectors(&self) -> Result<Vec<String>, StoreError> {
                Ok(sqlx::query_scalar("SELECT connector FROM connector_lifecycle WHERE status = 'retired' ORDER BY connector")
                    .fetch_all(self.pool())
                    .await?)
            }

            async fn refused_units(&self) -> Result<Vec<RefusedRow>, StoreError> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT c.connector, c.unit_key, c.label, c.updated_at, c.run_id FROM checkpoints c \
                     WHERE c.status = 'failed' AND NOT EXISTS (SELECT 1 FROM checkpoints d WHERE d.connector = c.connector \
                     AND d.status = 'done' AND d.updated_at > c.updated_at AND d.read > d.skipped + d.rejected) \
                     ORDER BY c.connector, c.updated_at",
                )
                .fetch_all(self.pool())
                .await?;
                let mut out = Vec::new();
                for r in rows {
                    out.push(RefusedRow {
                        connector: r.try_get("connector")?,
                        unit_key: r.try_get("unit_key")?,
                        label: r.try_get("label")?,
                        refused_at: r.try_get("updated_at")?,
                        run_id: r.try_get("run_id")?,
                    });
                }
                Ok(out)
            }

            async fn dismiss_refused(
                &self,
                connector: &str,
                unit_key: Option<&str>,
            ) -> Result<u64, StoreError> {
                let now = Utc::now();
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "UPDATE checkpoints SET status = 'dismissed', updated_at = $3 WHERE connector = $1 AND status = 'failed' AND {}",
                    crate::store::optional_eq(unit_key.is_some(), "unit_key", 2)
                );
                let n = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(connector)
                    .bind(unit_key)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let sql = format!(
                    "UPDATE quarantine SET status = 'dismissed', resolved_at = $3 WHERE connector = $1 AND status = 'open' AND {} \
                     AND unit_key IN (SELECT unit_key FROM checkpoints WHERE connector = $1 AND status = 'dismissed')",
                    crate::store::optional_eq(unit_key.is_some(), "unit_key", 2)
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(connector)
                    .bind(unit_key)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(n)
            }

            async fn quarantine_backlog(&self) -> Result<BTreeMap<String, u64>, StoreError> {
                use sqlx::Row;
                let rows = sqlx::query("SELECT connector, count(*) AS n FROM quarantine WHERE status = 'open' GROUP BY connector")
                    .fetch_all(self.pool())
                    .await?;
                let mut out = BTreeMap::new();
                for r in rows {
                    out.insert(r.try_get("connector")?, u(r.try_get("n")?));
                }
                Ok(out)
            }
        }
    };
}

for_each_backend!(cluster_store);
