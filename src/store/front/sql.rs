//! [`FrontStore`] for both backends: the same SQL (`$N` placeholders work on SQLite too).

use super::*;
use crate::store::backend::Backend;
use crate::store::optional_eq;

macro_rules! front_store {
    ($store:ty) => {
        #[async_trait]
        impl FrontStore for $store {
            async fn add_activity(&self, a: &NewActivity) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO activities (customer_id, kind, direction, at, subject, text, team, phone, source, created_at, author) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                )
                .bind(a.customer_id)
                .bind(&a.kind)
                .bind(&a.direction)
                .bind(a.at)
                .bind(&a.subject)
                .bind(&a.text)
                .bind(&a.team)
                .bind(&a.phone)
                .bind(&a.source)
                .bind(Utc::now())
                .bind(&a.author)
                .fetch_one(self.pool())
                .await?)
            }

            async fn edit_activity(&self, id: i64, e: &ActivityEdit) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE activities SET kind = COALESCE($1, kind), direction = COALESCE($2, direction), \
                     at = COALESCE($3, at), subject = COALESCE($4, subject), text = COALESCE($5, text), \
                     edited_at = $6 WHERE id = $7",
                )
                .bind(&e.kind)
                .bind(&e.direction)
                .bind(e.at)
                .bind(&e.subject)
                .bind(&e.text)
                .bind(Utc::now())
                .bind(id)
                .execute(self.pool())
                .await?;
                Ok(())
            }

            async fn delete_activity(&self, id: i64) -> Result<bool, StoreError> {
                let done = sqlx::query("DELETE FROM activities WHERE id = $1")
                    .bind(id)
                    .execute(self.pool())
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn set_activity_subject(&self, id: i64, subject: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE activities SET subject = $1 WHERE id = $2")
                    .bind(subject)
                    .bind(id)
                    .execute(self.pool())
                    .await?;
                Ok(())
            }

            async fn activity(&self, id: i64) -> Result<Option<ActivityRow>, StoreError> {
                Ok(sqlx::query_as("SELECT * FROM activities WHERE id = $1")
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?)
            }

            async fn activities(
                &self,
                customer_id: i64,
                before: Option<(DateTime<Utc>, i64)>,
                limit: i64,
            ) -> Result<Vec<ActivityRow>, StoreError> {
                let rows = match before {
                    None => sqlx::query_as("SELECT * FROM activities WHERE customer_id = $1 ORDER BY at DESC, id DESC LIMIT $2")
                        .bind(customer_id)
                        .bind(limit)
                        .fetch_all(self.pool())
                        .await?,
                    Some((at, id)) => sqlx::query_as(
                        "SELECT * FROM activities WHERE customer_id = $1 AND (at < $2 OR (at = $2 AND id < $3)) \
                         ORDER BY at DESC, id DESC LIMIT $4",
                    )
                    .bind(customer_id)
                    .bind(at)
                    .bind(id)
                    .bind(limit)
                    .fetch_all(self.pool())
                    .await?,
                };
                Ok(rows)
            }

            async fn last_contacts(&self) -> Result<Vec<(i64, DateTime<Utc>)>, StoreError> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT a.customer_id, a.at FROM activities a WHERE a.customer_id IS NOT NULL \
                     AND a.id = (SELECT max(b.id) FROM activities b WHERE b.customer_id = a.customer_id \
                     AND b.at = (SELECT max(c.at) FROM activities c WHERE c.customer_id = a.customer_id))",
                )
                .fetch_all(self.pool())
                .await?;
                Ok(rows
                    .iter()
                    .map(|r| Ok((r.try_get("customer_id")?, r.try_get("at")?)))
                    .collect::<Result<_, sqlx::Error>>()?)
            }

            async fn contacts_by_team(
                &self,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
            ) -> Result<Vec<(Option<String>, String, i64)>, StoreError> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT team, kind, count(*) AS n FROM activities WHERE at >= $1 AND at < $2 GROUP BY team, kind ORDER BY team, kind",
                )
                .bind(from)
                .bind(to)
                .fetch_all(self.pool())
                .await?;
                Ok(rows
                    .iter()
                    .map(|r| Ok((r.try_get("team")?, r.try_get("kind")?, r.try_get("n")?)))
                    .collect::<Result<_, sqlx::Error>>()?)
            }

            async fn add_reminder(&self, r: &NewReminder) -> Result<Option<i64>, StoreError> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO reminders (customer_id, title, due_date, assignee, status, source, reason, rule_key, created_at) \
                     VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id",
                )
                .bind(r.customer_id)
                .bind(&r.title)
                .bind(r.due_date)
                .bind(&r.assignee)
                .bind(&r.source)
                .bind(&r.reason)
                .bind(&r.rule_key)
                .bind(Utc::now())
                .fetch_optional(self.pool())
                .await?)
            }

            async fn add_reminders(&self, rs: &[NewReminder]) -> Result<u64, StoreError> {
                let now = Utc::now();
                let mut created = 0;
                let mut tx = self.pool().begin().await?;
                for chunk in rs.chunks(400) {
                    let sql = format!(
                        "INSERT INTO reminders (customer_id, title, due_date, assignee, status, source, reason, rule_key, created_at) \
                         VALUES {} ON CONFLICT DO NOTHING",
                        crate::store::values_list(chunk.len(), 9, true)
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)));
                    for r in chunk {
                        q = q
                            .bind(r.customer_id)
                            .bind(&r.title)
                            .bind(r.due_date)
                            .bind(&r.assignee)
                            .bind("open")
                            .bind(&r.source)
                            .bind(&r.reason)
                            .bind(&r.rule_key)
                            .bind(now);
                    }
                    created += q.execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
                Ok(created)
            }

            async fn reminder(&self, id: i64) -> Result<Option<ReminderRow>, StoreError> {
                Ok(sqlx::query_as("SELECT * FROM reminders WHERE id = $1")
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?)
            }

            async fn reminders(&self, f: &ReminderFilter) -> Result<Vec<ReminderRow>, StoreError> {
                let sql = format!(
                    "SELECT * FROM reminders WHERE {} AND {} \
                     AND ($3 OR status <> 'done') \
                     AND ($4 IS NULL OR (CASE WHEN status = 'snoozed' THEN snoozed_until ELSE due_date END) <= $4) \
                     ORDER BY due_date, id LIMIT $5",
                    optional_eq(f.customer_id.is_some(), "customer_id", 1),
                    optional_eq(f.assignee.is_some(), "assignee", 2)
                );
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(f.customer_id)
                .bind(&f.assignee)
                .bind(f.include_done)
                .bind(f.due_by)
                .bind(if f.limit > 0 { f.limit } else { i64::MAX })
                .fetch_all(self.pool())
                .await?)
            }

            async fn set_reminder(
                &self,
                id: i64,
                status: &str,
                snoozed_until: Option<NaiveDate>,
            ) -> Result<(), StoreError> {
                let done = (status == "done").then(Utc::now);
                sqlx::query("UPDATE reminders SET status = $2, snoozed_until = $3, done_at = $4 WHERE id = $1")
                    .bind(id)
                    .bind(status)
                    .bind(snoozed_until)
                    .bind(done)
                    .execute(self.pool())
                    .await?;
                Ok(())
            }

            async fn add_audit(&self, entries: &[NewAudit]) -> Result<(), StoreError> {
                let mut tx = self.pool().begin().await?;
                for chunk in entries.chunks(400) {
                    let sql = format!(
                        "INSERT INTO audit_log (at, token_name, role, action, customer_id, detail) VALUES {}",
                        crate::store::values_list(chunk.len(), 6, true)
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)));
                    for a in chunk {
                        q = q
                            .bind(a.at)
                            .bind(&a.token_name)
                            .bind(&a.role)
                            .bind(&a.action)
                            .bind(a.customer_id)
                            .bind(&a.detail);
                    }
                    q.execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn audit_entries(
                &self,
                customer_id: Option<i64>,
                limit: i64,
            ) -> Result<Vec<AuditRow>, StoreError> {
                let sql = format!(
                    "SELECT * FROM audit_log WHERE {} ORDER BY id DESC LIMIT $2",
                    optional_eq(customer_id.is_some(), "customer_id", 1)
                );
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(customer_id)
                    .bind(limit)
                    .fetch_all(self.pool())
                    .await?)
            }

            async fn purge_before(&self, table: &str, before: DateTime<Utc>) -> Result<u64, StoreError> {
                let (table, column) = match table {
                    "audit_log" => ("audit_log", "at"),
                    // When it was stored, not the date it claims (an import dated 9999).
                    "activities" => ("activities", "created_at"),
                    "tickets" => ("tickets", "updated_at"),
                    "reminders" => ("reminders", "created_at"),
                    other => return Err(StoreError::Data(format!("no retention for `{other}`"))),
                };
                let extra = match table {
                    "tickets" => " AND status = 'closed'",
                    "reminders" => " AND status = 'done'",
                    _ => "",
                };
                let res = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE {column} < $1{extra}"
                )))
                .bind(before)
                .execute(self.pool())
                .await?;
                Ok(res.rows_affected())
            }

            async fn add_tombstone(&self, kind: &str, hash: &str) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO tombstones (kind, hash, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(kind)
                    .bind(hash)
                    .bind(Utc::now())
                    .execute(self.pool())
                    .await?;
                Ok(())
            }

            async fn tombstones(&self) -> Result<Vec<(String, String)>, StoreError> {
                use sqlx::Row;
                let rows = sqlx::query("SELECT kind, hash FROM tombstones").fetch_all(self.pool()).await?;
                Ok(rows
                    .iter()
                    .map(|r| Ok((r.try_get("kind")?, r.try_get("hash")?)))
                    .collect::<Result<_, sqlx::Error>>()?)
            }

            async fn replace_record(
                &self,
                connector: &str,
                entity: &str,
                external_id: &str,
                data: &str,
                hash: &str,
                position: Option<&str>,
            ) -> Result<(), StoreError> {
                // One transaction: a resolution that read the record before it sees the epoch
                // moved and reads again (no fingerprint of the old values is written).
                let mut tx = self.begin_write().await?;
                Self::records_changed_outside_runs(&mut tx).await?;
                sqlx::query(crate::store::identity::ATTRS_FORGOTTEN).execute(&mut *tx).await?;
                sqlx::query("UPDATE records SET data = $4, hash = $5, position = $6 WHERE connector = $1 AND entity = $2 AND external_id = $3")
                    .bind(connector)
                    .bind(entity)
                    .bind(external_id)
                    .bind(data)
                    .bind(hash)
                    .bind(position)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delete_records(&self, keys: &[(String, String, String)]) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::records_changed_outside_runs(&mut tx).await?;
                sqlx::query(crate::store::identity::ATTRS_FORGOTTEN).execute(&mut *tx).await?;
                for (c, e, x) in keys {
                    sqlx::query("DELETE FROM records WHERE connector = $1 AND entity = $2 AND external_id = $3")
                        .bind(c)
                        .bind(e)
                        .bind(x)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn scan_erasable(
                &self,
                t: &'static Erasable,
                f: &mut (dyn FnMut(String, Vec<Option<String>>) + Send),
            ) -> Result<(), StoreError> {
                use futures::TryStreamExt;
                use sqlx::Row;
                let (select, _) = erasable_sql(t);
                let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(self.pool());
                while let Some(r) = rows.try_next().await? {
                    let mut key = Vec::with_capacity(t.key.len());
                    for i in 0..t.key.len() {
                        let k: Option<String> = r.try_get(i)?;
                        key.push(k.unwrap_or_default());
                    }
                    let mut values = Vec::with_capacity(t.columns.len());
                    for i in 0..t.columns.len() {
                        values.push(r.try_get::<Option<String>, _>(t.key.len() + i)?);
                    }
                    f(key.join("\u{1f}"), values);
                }
                Ok(())
            }

            async fn rewrite_erasable(
                &self,
                t: &'static Erasable,
                rows: &[(String, Vec<Option<String>>)],
            ) -> Result<(), StoreError> {
                let (_, update) = erasable_sql(t);
                let mut tx = self.begin_write().await?;
                if t.table == "records" {
                    sqlx::query(crate::store::identity::INPUTS_STALE).execute(&mut *tx).await?;
                    sqlx::query(crate::store::identity::ATTRS_FORGOTTEN).execute(&mut *tx).await?;
                    // Rewritten without a run: no list can name whose directory entries changed.
                    sqlx::query(crate::store::identity::directory::FLOOR_AT_NEXT)
                        .execute(&mut *tx)
                        .await?;
                }
                // Cards hold copies of records, of the values keys were matched on and of
                // everything else a view shows.
                Self::forget_all_cards(&mut tx).await?;
                for (key, values) in rows {
                    // A complaint's key is its id; its words leave the index before the
                    // rewrite and the rewritten ones go in after it.
                    let ticket = (t.table == "tickets").then(|| key.parse::<i64>().ok()).flatten();
                    if let Some(id) = ticket {
                        <Self as Backend>::unindex_ticket(&mut tx, id).await?;
                    }
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(update.clone()));
                    for v in values {
                        q = q.bind(v.clone());
                    }
                    for k in key.split('\u{1f}') {
                        q = q.bind(k.to_owned());
                    }
                    q.execute(&mut *tx).await?;
                    if let Some(id) = ticket {
                        <Self as Backend>::index_ticket(&mut tx, id).await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            async fn after_erasure(&self) -> Result<(), StoreError> {
                // Cards built while the erasure ran (each of its writes deleted them all).
                crate::store::CardStore::forget_cards(self).await?;
                self.compact_after_erasure().await
            }

            async fn for_each_record(
                &self,
                entity: &str,
                f: &mut (dyn for<'a> FnMut(&'a str, Option<&'a str>, &'a str) + Send),
            ) -> Result<u64, StoreError> {
                use futures::TryStreamExt;
                use sqlx::Row;
                let mut rows = sqlx::query(
                    "SELECT connector, customer_no, data FROM records WHERE entity = $1 AND closed_at IS NULL",
                )
                .bind(entity)
                .fetch(self.pool());
                let mut n = 0;
                while let Some(r) = rows.try_next().await? {
                    let c: &str = r.try_get("connector")?;
                    let no: Option<&str> = r.try_get("customer_no")?;
                    let d: &str = r.try_get("data")?;
                    f(c, no, d);
                    n += 1;
                }
                Ok(n)
            }

            async fn closed_since(
                &self,
                entity: &str,
                since: DateTime<Utc>,
            ) -> Result<Vec<(String, String)>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT DISTINCT connector, customer_no FROM records \
                     WHERE entity = $1 AND closed_at >= $2 AND customer_no IS NOT NULL",
                )
                .bind(entity)
                .bind(since)
                .fetch_all(self.pool())
                .await?)
            }

            async fn job_last_run(&self, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
                Ok(sqlx::query_scalar("SELECT last_run FROM jobs WHERE name = $1")
                    .bind(name)
                    .fetch_optional(self.pool())
                    .await?)
            }

            async fn job_ran(&self, name: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO jobs (name, last_run) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET last_run = excluded.last_run",
                )
                .bind(name)
                .bind(at)
                .execute(self.pool())
                .await?;
                Ok(())
            }

            async fn key_salt(&self) -> Result<[u8; 32], StoreError> {
                use rand::RngCore;
                let mut fresh = [0u8; 32];
                rand::rng().fill_bytes(&mut fresh);
                let hex: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
                sqlx::query("INSERT INTO store_settings (name, value) VALUES ('key_salt', $1) ON CONFLICT (name) DO NOTHING")
                    .bind(&hex)
                    .execute(self.pool())
                    .await?;
                let stored: String = sqlx::query_scalar("SELECT value FROM store_settings WHERE name = 'key_salt'")
                    .fetch_one(self.pool())
                    .await?;
                let mut salt = [0u8; 32];
                for (i, b) in salt.iter_mut().enumerate() {
                    *b = stored
                        .get(2 * i..2 * i + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or_else(|| StoreError::Data("store_settings.key_salt is damaged".into()))?;
                }
                Ok(salt)
            }

            async fn records_of_person(&self, needles: &[String]) -> Result<Vec<StoredRecord>, StoreError> {
                let mut out: Vec<StoredRecord> = Vec::new();
                for n in needles {
                    let rows = sqlx::query(
                        "SELECT * FROM records WHERE entity IN ('customer', 'supplier', 'contact_person') AND lower(data) LIKE lower($1) ESCAPE '\\'",
                    )
                    .bind(contains_pattern(n))
                    .fetch_all(self.pool())
                    .await?;
                    for r in &rows {
                        let rec = StoredRecord::from_row(r)?;
                        if !out.iter().any(|o| o.connector == rec.connector && o.entity == rec.entity && o.external_id == rec.external_id) {
                            out.push(rec);
                        }
                    }
                }
                Ok(out)
            }
        }
    };
}

for_each_backend!(front_store);
