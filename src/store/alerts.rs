//! Store side of alerts: the state of each alert condition (so that a condition alerts once
//! when it begins and once when it ends, whichever node notices) and the outbox of webhook
//! messages (delivered by one node at a time, retried until delivered). The same SQL on both
//! backends.

use super::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// An alert condition of a subject (a connector, or a node).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertState {
    pub subject: String,
    pub condition: String,
    pub firing: bool,
    pub since: DateTime<Utc>,
    pub message: String,
}

/// A webhook message in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct OutboxEntry {
    pub id: i64,
    pub subject: String,
    pub condition: String,
    /// firing | resolved
    pub status: String,
    /// The message (JSON) as it is posted, without its `id`.
    pub payload: String,
    pub created_at: DateTime<Utc>,
    #[sqlx(try_from = "i64")]
    pub attempts: u64,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// Messages older than this are not sent any more (a webhook down for a week, or none
/// configured on any node); they stay in the outbox as a record.
pub const OUTBOX_GIVE_UP: chrono::TimeDelta = chrono::TimeDelta::days(7);

#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Turns a condition on (`firing`) or off unless it is so already; when this call made
    /// the change, `payload` is queued in the outbox in the same transaction and its id is
    /// returned. Two nodes noticing the same change queue one message.
    async fn alert_transition(
        &self,
        subject: &str,
        condition: &str,
        firing: bool,
        message: &str,
        payload: &str,
    ) -> Result<Option<i64>, StoreError>;
    async fn alert_states(&self) -> Result<Vec<AlertState>, StoreError>;
    /// Claims up to `limit` messages due now for `node` until `lease_until`: oldest first,
    /// never one whose earlier message of the same condition is undelivered.
    async fn claim_alerts(
        &self,
        node: &str,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxEntry>, StoreError>;
    async fn alert_delivered(&self, id: i64) -> Result<(), StoreError>;
    async fn alert_failed(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Messages not delivered yet (and not given up).
    async fn alert_pending(&self) -> Result<u64, StoreError>;
    /// The outbox, newest first.
    async fn alert_outbox(&self, limit: i64) -> Result<Vec<OutboxEntry>, StoreError>;
}

macro_rules! alert_store {
    ($store:ty) => {
        #[async_trait]
        impl AlertStore for $store {
            async fn alert_transition(
                &self,
                subject: &str,
                condition: &str,
                firing: bool,
                message: &str,
                payload: &str,
            ) -> Result<Option<i64>, StoreError> {
                let now = Utc::now();
                let mut tx = self.begin_write().await?;
                let changed = if firing {
                    sqlx::query(
                        "INSERT INTO alert_state (subject, condition, firing, since, message) VALUES ($1, $2, TRUE, $3, $4) \
                         ON CONFLICT (subject, condition) DO UPDATE SET firing = TRUE, since = excluded.since, message = excluded.message \
                         WHERE alert_state.firing = FALSE",
                    )
                } else {
                    sqlx::query(
                        "UPDATE alert_state SET firing = FALSE, since = $3, message = $4 \
                         WHERE subject = $1 AND condition = $2 AND firing = TRUE",
                    )
                }
                .bind(subject)
                .bind(condition)
                .bind(now)
                .bind(message)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !changed {
                    tx.rollback().await?;
                    return Ok(None);
                }
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO alert_outbox (subject, condition, status, payload, created_at, next_attempt_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                )
                .bind(subject)
                .bind(condition)
                .bind(if firing { "firing" } else { "resolved" })
                .bind(payload)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Some(id))
            }

            async fn alert_states(&self) -> Result<Vec<AlertState>, StoreError> {
                use sqlx::Row;
                let rows = sqlx::query("SELECT subject, condition, firing, since, message FROM alert_state ORDER BY subject, condition")
                    .fetch_all(self.pool())
                    .await?;
                let mut out = Vec::new();
                for r in rows {
                    out.push(AlertState {
                        subject: r.try_get("subject")?,
                        condition: r.try_get("condition")?,
                        firing: r.try_get("firing")?,
                        since: r.try_get("since")?,
                        message: r.try_get("message")?,
                    });
                }
                Ok(out)
            }

            async fn claim_alerts(
                &self,
                node: &str,
                lease_until: DateTime<Utc>,
                limit: i64,
            ) -> Result<Vec<OutboxEntry>, StoreError> {
                let now = Utc::now();
                let oldest = now - OUTBOX_GIVE_UP;
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT id FROM alert_outbox o WHERE delivered_at IS NULL AND next_attempt_at <= $1 \
                     AND (claimed_until IS NULL OR claimed_until < $1) AND created_at > $2 \
                     AND NOT EXISTS (SELECT 1 FROM alert_outbox e WHERE e.subject = o.subject AND e.condition = o.condition \
                     AND e.id < o.id AND e.delivered_at IS NULL AND e.created_at > $2) ORDER BY id LIMIT $3",
                )
                .bind(now)
                .bind(oldest)
                .bind(limit)
                .fetch_all(self.pool())
                .await?;
                let mut out = Vec::new();
                for id in ids {
                    let claimed = sqlx::query(
                        "UPDATE alert_outbox SET claimed_by = $2, claimed_until = $3 WHERE id = $1 AND delivered_at IS NULL \
                         AND (claimed_until IS NULL OR claimed_until < $4)",
                    )
                    .bind(id)
                    .bind(node)
                    .bind(lease_until)
                    .bind(now)
                    .execute(self.pool())
                    .await?
                    .rows_affected()
                        == 1;
                    if claimed {
                        out.push(
                            sqlx::query_as("SELECT * FROM alert_outbox WHERE id = $1")
                                .bind(id)
                                .fetch_one(self.pool())
                                .await?,
                        );
                    }
                }
                Ok(out)
            }

            async fn alert_delivered(&self, id: i64) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE alert_outbox SET delivered_at = $2, attempts = attempts + 1, claimed_until = NULL, last_error = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(Utc::now())
                .execute(self.pool())
                .await?;
                Ok(())
            }

            async fn alert_failed(
                &self,
                id: i64,
                error: &str,
                next_attempt_at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE alert_outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3, claimed_until = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(next_attempt_at)
                .bind(error)
                .execute(self.pool())
                .await?;
                Ok(())
            }

            async fn alert_pending(&self) -> Result<u64, StoreError> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM alert_outbox WHERE delivered_at IS NULL AND created_at > $1",
                )
                .bind(Utc::now() - OUTBOX_GIVE_UP)
                .fetch_one(self.pool())
                .await?;
                Ok(n.max(0) as u64)
            }

            async fn alert_outbox(&self, limit: i64) -> Result<Vec<OutboxEntry>, StoreError> {
                Ok(sqlx::query_as("SELECT * FROM alert_outbox ORDER BY id DESC LIMIT $1")
                    .bind(if limit > 0 { limit } else { i64::MAX })
                    .fetch_all(self.pool())
                    .await?)
            }
        }
    };
}

for_each_backend!(alert_store);
