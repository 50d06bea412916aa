//! [`CaseStore`] for both backends: the same SQL (`$N` placeholders work on SQLite too).

use super::*;
use crate::store::backend::Backend;
use crate::store::optional_eq;
use std::collections::BTreeMap;

macro_rules! case_store {
    ($store:ty) => {
        impl $store {
            /// Fills in the tickets' steps and forwarding (a query per 500 tickets).
            async fn with_process(&self, mut tickets: Vec<TicketRow>) -> Result<Vec<TicketRow>, StoreError> {
                use sqlx::{FromRow, Row};
                let mut steps: BTreeMap<i64, Vec<StepRow>> = BTreeMap::new();
                let mut forwards: BTreeMap<i64, Vec<ForwardRow>> = BTreeMap::new();
                for chunk in tickets.chunks(500) {
                    let list = crate::store::placeholders(1, chunk.len());
                    let sql = format!("SELECT * FROM ticket_steps WHERE ticket_id IN ({list}) ORDER BY ticket_id, n");
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)));
                    for t in chunk {
                        q = q.bind(t.id);
                    }
                    for r in q.fetch_all(self.pool()).await? {
                        steps.entry(r.try_get("ticket_id")?).or_default().push(StepRow::from_row(&r)?);
                    }
                    let sql = format!("SELECT * FROM ticket_forwards WHERE ticket_id IN ({list}) ORDER BY ticket_id, at, id");
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)));
                    for t in chunk {
                        q = q.bind(t.id);
                    }
                    for r in q.fetch_all(self.pool()).await? {
                        forwards.entry(r.try_get("ticket_id")?).or_default().push(ForwardRow::from_row(&r)?);
                    }
                }
                for t in &mut tickets {
                    t.steps = steps.remove(&t.id).unwrap_or_default();
                    t.forwards = forwards.remove(&t.id).unwrap_or_default();
                }
                Ok(tickets)
            }
        }

        #[async_trait]
        impl CaseStore for $store {
            async fn add_ticket(&self, t: &NewTicket) -> Result<i64, StoreError> {
                let now = Utc::now();
                let mut tx = self.begin_write().await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO tickets (customer_id, category, title, text, invoice_ref, order_ref, sku, status, deadline, team, \
                     created_at, updated_at, terms, cost) VALUES ($1, $2, $3, $4, $5, $6, $7, 'new', $8, $9, $10, $10, $11, $12) RETURNING id",
                )
                .bind(t.customer_id)
                .bind(&t.category)
                .bind(&t.title)
                .bind(&t.text)
                .bind(&t.invoice_ref)
                .bind(&t.order_ref)
                .bind(&t.sku)
                .bind(t.deadline)
                .bind(&t.team)
                .bind(now)
                .bind(&t.terms)
                .bind(t.cost.map(|c| c.to_string()))
                .fetch_one(&mut *tx)
                .await?;
                for (i, s) in t.steps.iter().enumerate() {
                    sqlx::query("INSERT INTO ticket_steps (ticket_id, n, step, due, expected_cost) VALUES ($1, $2, $3, $4, $5)")
                        .bind(id)
                        .bind(i as i64 + 1)
                        .bind(&s.step)
                        .bind(s.due)
                        .bind(s.expected_cost.map(|c| c.to_string()))
                        .execute(&mut *tx)
                        .await?;
                }
                <Self as Backend>::index_ticket(&mut tx, id).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn ticket(&self, id: i64) -> Result<Option<TicketRow>, StoreError> {
                let row: Option<TicketRow> = sqlx::query_as("SELECT * FROM tickets WHERE id = $1")
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?;
                let Some(t) = row else {
                    return Ok(None);
                };
                Ok(self.with_process(vec![t]).await?.pop())
            }

            async fn tickets_where(&self, f: &TicketFilter) -> Result<Vec<TicketRow>, StoreError> {
                let team = if f.team.is_some() {
                    "(team = $2 OR id IN (SELECT ticket_id FROM ticket_forwards WHERE to_team = $2))"
                } else {
                    "$2 IS NULL"
                };
                let sql = format!(
                    "SELECT * FROM tickets WHERE {} AND {team} \
                     AND (NOT $3 OR status NOT IN ('resolved', 'closed')) ORDER BY created_at DESC, id DESC LIMIT $4",
                    optional_eq(f.customer_id.is_some(), "customer_id", 1)
                );
                let tickets: Vec<TicketRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(f.customer_id)
                    .bind(&f.team)
                    .bind(f.open_only)
                    .bind(if f.limit > 0 { f.limit } else { i64::MAX })
                    .fetch_all(self.pool())
                    .await?;
                self.with_process(tickets).await
            }

            async fn set_ticket_step(&self, id: i64, n: i64, done: bool) -> Result<bool, StoreError> {
                let now = Utc::now();
                let mut tx = self.begin_write().await?;
                let res = sqlx::query("UPDATE ticket_steps SET done_at = $3 WHERE ticket_id = $1 AND n = $2")
                    .bind(id)
                    .bind(n)
                    .bind(done.then_some(now))
                    .execute(&mut *tx)
                    .await?;
                if res.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                sqlx::query("UPDATE tickets SET updated_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn forward_ticket(&self, id: i64, f: &NewForward) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query("INSERT INTO ticket_forwards (ticket_id, at, from_team, to_team, note) VALUES ($1, $2, $3, $4, $5)")
                    .bind(id)
                    .bind(f.at)
                    .bind(&f.from_team)
                    .bind(&f.to_team)
                    .bind(&f.note)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE tickets SET forwarded_to = $2, updated_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(&f.to_team)
                    .bind(f.at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn set_ticket_cost(&self, id: i64, cost: Option<Decimal>) -> Result<(), StoreError> {
                sqlx::query("UPDATE tickets SET cost = $2, updated_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(cost.map(|c| c.to_string()))
                    .bind(Utc::now())
                    .execute(self.pool())
                    .await?;
                Ok(())
            }

            async fn set_ticket_status(
                &self,
                id: i64,
                status: &str,
                resolution: Option<&str>,
            ) -> Result<(), StoreError> {
                let now = Utc::now();
                let resolved = ["resolved", "closed"].contains(&status).then_some(now);
                sqlx::query(
                    "UPDATE tickets SET status = $2, resolution = coalesce($3, resolution), updated_at = $4, \
                     resolved_at = coalesce(resolved_at, $5) WHERE id = $1",
                )
                .bind(id)
                .bind(status)
                .bind(resolution)
                .bind(now)
                .bind(resolved)
                .execute(self.pool())
                .await?;
                Ok(())
            }

            async fn tickets_matching(
                &self,
                terms: &[String],
                limit: i64,
            ) -> Result<Vec<(i64, f64)>, StoreError> {
                let words: Vec<&str> = terms
                    .iter()
                    .map(String::as_str)
                    .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_alphanumeric()))
                    .collect();
                if words.is_empty() {
                    return Ok(Vec::new());
                }
                Ok(self.search_tickets(&words, limit).await?)
            }

            async fn tickets_about(
                &self,
                sku: Option<&str>,
                order_ref: Option<&str>,
                invoice_ref: Option<&str>,
                limit: i64,
            ) -> Result<Vec<i64>, StoreError> {
                if sku.is_none() && order_ref.is_none() && invoice_ref.is_none() {
                    return Ok(Vec::new());
                }
                Ok(sqlx::query_scalar(
                    "SELECT id FROM tickets WHERE ($1 IS NOT NULL AND sku = $1) OR ($2 IS NOT NULL AND order_ref = $2) \
                     OR ($3 IS NOT NULL AND invoice_ref = $3) ORDER BY created_at DESC LIMIT $4",
                )
                .bind(sku)
                .bind(order_ref)
                .bind(invoice_ref)
                .bind(limit)
                .fetch_all(self.pool())
                .await?)
            }

        }
    };
}

for_each_backend!(case_store);
