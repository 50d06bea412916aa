//! [`IdentityStore`] for both backends.

use super::*;

/// Implements [`IdentityStore`] for a store type with a `pool()`; the body is the same for
/// both backends, the compiler checks it against each driver.
macro_rules! identity_store {
    ($store:ty) => {
        #[async_trait]
        impl IdentityStore for $store {
            async fn identity_snapshot(
                &self,
                rescan: bool,
            ) -> Result<IdentitySnapshot, StoreError> {
                use sqlx::Row;
                let pool = self.pool();
                let state = sqlx::query("SELECT generation, scanned_run, inputs_epoch FROM identity_state WHERE id = 1")
                    .fetch_one(pool)
                    .await?;
                let generation: i64 = state.try_get("generation")?;
                let inputs_epoch: i64 = state.try_get("inputs_epoch")?;
                let scanned: i64 = if rescan { 0 } else { state.try_get("scanned_run")? };
                let scan_to = self.scan_to(scanned).await?;
                let keys = self.customer_keys().await?;
                let docs: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM records \
                     WHERE run_id > $1 AND run_id <= $2 AND customer_no IS NOT NULL AND customer_no <> '')",
                )
                .bind(scanned)
                .bind(scan_to)
                .fetch_one(pool)
                .await?;
                let systems = self.connector_systems().await?;
                let decisions = self.decisions().await?;
                let aliases = sqlx::query("SELECT id, merged_into FROM customer_aliases")
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get("id")?, r.try_get("merged_into")?)))
                    .collect::<Result<BTreeMap<i64, i64>, sqlx::Error>>()?;
                let suggestions = sqlx::query(
                    "SELECT id, a_system, a_no, b_system, b_no, score, rule, reason, status FROM identity_suggestions \
                     WHERE status IN ('open', 'obsolete')",
                )
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    Ok((
                        r.try_get("id")?,
                        NewSuggestion {
                            a: KeyId::new(r.try_get::<String, _>("a_system")?, r.try_get::<String, _>("a_no")?),
                            b: KeyId::new(r.try_get::<String, _>("b_system")?, r.try_get::<String, _>("b_no")?),
                            score: r.try_get("score")?,
                            rule: r.try_get("rule")?,
                            reason: r.try_get("reason")?,
                        },
                        r.try_get("status")?,
                    ))
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?;
                let max_id = keys
                    .iter()
                    .map(|k| k.customer_id.max(k.home_id))
                    .chain(aliases.keys().copied())
                    .max()
                    .unwrap_or(0);
                Ok(IdentitySnapshot {
                    generation,
                    keys,
                    scan_from: scanned,
                    scan_to,
                    docs,
                    systems,
                    decisions,
                    aliases,
                    max_id,
                    inputs_epoch,
                    suggestions,
                })
            }

            async fn apply_identity(&self, ch: &IdentityChanges) -> Result<Option<u64>, StoreError> {
                self.write_identity(ch).await
            }

            async fn decisions(&self) -> Result<Vec<Decision>, StoreError> {
                use sqlx::Row;
                Ok(sqlx::query(
                    "SELECT kind, a_system, a_no, b_system, b_no FROM identity_decisions ORDER BY id",
                )
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(|r| {
                    Ok(Decision::new(
                        decision_kind(r.try_get("kind")?)?,
                        KeyId::new(r.try_get::<String, _>("a_system")?, r.try_get::<String, _>("a_no")?),
                        KeyId::new(r.try_get::<String, _>("b_system")?, r.try_get::<String, _>("b_no")?),
                    ))
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?)
            }

            async fn doc_keys_of(
                &self,
                from: i64,
                to: i64,
                numbers: &[String],
            ) -> Result<Vec<(String, String)>, StoreError> {
                use sqlx::Row;
                let mut out = Vec::new();
                for chunk in numbers.chunks(CHUNK) {
                    let sql = format!(
                        "SELECT DISTINCT connector, customer_no FROM records \
                         WHERE run_id > $1 AND run_id <= $2 AND customer_no IN ({})",
                        in_list(3, chunk.len())
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql))).bind(from).bind(to);
                    for n in chunk {
                        q = q.bind(n);
                    }
                    for r in q.fetch_all(self.pool()).await? {
                        out.push((r.try_get("connector")?, r.try_get("customer_no")?));
                    }
                }
                out.sort();
                out.dedup();
                Ok(out)
            }

            async fn identity_generation(&self) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar("SELECT generation FROM identity_state WHERE id = 1")
                    .fetch_one(self.pool())
                    .await?)
            }

            async fn directory_changes(
                &self,
                since: i64,
            ) -> Result<Option<DirectoryChanges>, StoreError> {
                self.read_directory_changes(since).await
            }

            async fn customer_keys_of(&self, customers: &[i64]) -> Result<Vec<KeyRow>, StoreError> {
                self.read_customer_keys_of(customers).await
            }

            async fn each_customer_row_of(
                &self,
                entity: &str,
                customers: &[i64],
                f: &mut (dyn FnMut(CustomerRow) + Send),
            ) -> Result<(), StoreError> {
                self.read_each_customer_row_of(entity, customers, f).await
            }

            async fn identity_delta(&self, inputs: &str) -> Result<IdentityDelta, StoreError> {
                self.read_delta(inputs).await
            }

            async fn key_attrs(&self, keys: &[KeyId]) -> Result<Vec<(KeyId, Option<i64>)>, StoreError> {
                self.read_key_attrs(keys).await
            }

            async fn customer_rows_of(
                &self,
                entity: &str,
                pairs: &[(String, String)],
            ) -> Result<Vec<CustomerRow>, StoreError> {
                self.read_customer_rows_of(entity, pairs).await
            }

            async fn record_decisions(
                &self,
                add: &[Decision],
                remove: &[Decision],
            ) -> Result<(), StoreError> {
                let now = Utc::now();
                let mut tx = self.begin_write().await?;
                sqlx::query(INPUTS_STALE).execute(&mut *tx).await?;
                for d in remove {
                    sqlx::query(
                        "DELETE FROM identity_decisions WHERE kind = $1 AND a_system = $2 AND a_no = $3 AND b_system = $4 AND b_no = $5",
                    )
                    .bind(d.kind.as_str())
                    .bind(&d.a.system)
                    .bind(&d.a.customer_no)
                    .bind(&d.b.system)
                    .bind(&d.b.customer_no)
                    .execute(&mut *tx)
                    .await?;
                }
                for d in add {
                    sqlx::query(
                        "INSERT INTO identity_decisions (kind, a_system, a_no, b_system, b_no, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                    )
                    .bind(d.kind.as_str())
                    .bind(&d.a.system)
                    .bind(&d.a.customer_no)
                    .bind(&d.b.system)
                    .bind(&d.b.customer_no)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn suggestions(
                &self,
                status: Option<&str>,
                limit: i64,
            ) -> Result<Vec<SuggestionRow>, StoreError> {
                let rows = sqlx::query(SUGGESTIONS_SQL_BY_STATUS)
                    .bind(status)
                    .bind(if limit > 0 { limit } else { i64::MAX })
                    .fetch_all(self.pool())
                    .await?;
                Ok(rows.iter().map(|r| suggestion!(r)).collect::<Result<_, sqlx::Error>>()?)
            }

            async fn suggestion(&self, id: i64) -> Result<Option<SuggestionRow>, StoreError> {
                let row = sqlx::query(SUGGESTION_SQL_BY_ID)
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?;
                Ok(row.as_ref().map(|r| suggestion!(r)).transpose()?)
            }

            async fn set_suggestion_status(&self, id: i64, status: &str) -> Result<(), StoreError> {
                sqlx::query(INPUTS_STALE).execute(self.pool()).await?;
                sqlx::query("UPDATE identity_suggestions SET status = $1, decided_at = $2 WHERE id = $3")
                    .bind(status)
                    .bind(Utc::now())
                    .bind(id)
                    .execute(self.pool())
                    .await?;
                Ok(())
            }

            async fn customer_keys(&self) -> Result<Vec<KeyRow>, StoreError> {
                // Mapped row by row as they stream in: the driver's rows of all keys at once
                // took ≈ 1.7 KB per key (225 MiB at 133 334 keys), the keys ≈ 0.2 KB.
                use futures::TryStreamExt;
                let mut rows = sqlx::query("SELECT * FROM customer_keys ORDER BY customer_id, system, customer_no")
                    .fetch(self.pool());
                let mut keys = Vec::new();
                while let Some(r) = rows.try_next().await? {
                    keys.push(key_row!(&r)?);
                }
                Ok(keys)
            }

            async fn each_customer_row(
                &self,
                entity: &str,
                f: &mut (dyn FnMut(CustomerRow) + Send),
            ) -> Result<(), StoreError> {
                use futures::TryStreamExt;
                let mut rows = sqlx::query(
                    "SELECT connector, entity, customer_no, synced_at, data FROM records \
                     WHERE entity = $1 AND closed_at IS NULL AND customer_no IS NOT NULL ORDER BY connector, external_id",
                )
                .bind(entity)
                .fetch(self.pool());
                while let Some(r) = rows.try_next().await? {
                    f(customer_row!(&r)?);
                }
                Ok(())
            }

            async fn keys_of(&self, customer_id: i64) -> Result<Vec<KeyRow>, StoreError> {
                let rows = sqlx::query(
                    "SELECT * FROM customer_keys WHERE customer_id = $1 ORDER BY system, customer_no",
                )
                .bind(customer_id)
                .fetch_all(self.pool())
                .await?;
                Ok(rows.iter().map(|r| key_row!(r)).collect::<Result<_, sqlx::Error>>()?)
            }

            async fn alias_target(&self, id: i64) -> Result<Option<i64>, StoreError> {
                Ok(sqlx::query_scalar("SELECT merged_into FROM customer_aliases WHERE id = $1")
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?)
            }

            async fn records_of(
                &self,
                pairs: &[(String, String)],
            ) -> Result<Vec<StoredRecord>, StoreError> {
                // Explicit lists (not a join) so that both planners use the
                // (customer_no, connector) index whatever their statistics say.
                let mut nos: Vec<&str> = pairs.iter().map(|p| p.1.as_str()).collect();
                let mut connectors: Vec<&str> = pairs.iter().map(|p| p.0.as_str()).collect();
                nos.sort_unstable();
                nos.dedup();
                connectors.sort_unstable();
                connectors.dedup();
                if nos.is_empty() || connectors.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT * FROM records WHERE customer_no IN ({}) AND connector IN ({})",
                    in_list(1, nos.len()),
                    in_list(nos.len() + 1, connectors.len())
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)));
                for n in &nos {
                    q = q.bind(*n);
                }
                for c in &connectors {
                    q = q.bind(*c);
                }
                let mut out = Vec::new();
                for r in q.fetch_all(self.pool()).await? {
                    let rec = StoredRecord::from_row(&r)?;
                    if pairs.iter().any(|(c, n)| *c == rec.connector && Some(n) == rec.customer_no.as_ref()) {
                        out.push(rec);
                    }
                }
                Ok(out)
            }

            async fn record_hashes(
                &self,
                connector: &str,
            ) -> Result<Vec<(String, String, String, bool)>, StoreError> {
                use futures::TryStreamExt;
                use sqlx::Row;
                let mut rows = sqlx::query(
                    "SELECT entity, external_id, hash, closed_at IS NOT NULL AS closed FROM records WHERE connector = $1",
                )
                .bind(connector)
                .fetch(self.pool());
                let mut out = Vec::new();
                while let Some(r) = rows.try_next().await? {
                    out.push((r.try_get("entity")?, r.try_get("external_id")?, r.try_get("hash")?, r.try_get("closed")?));
                }
                Ok(out)
            }

            async fn records_by_ref(
                &self,
                entities: &[&str],
                refs: &[String],
            ) -> Result<Vec<StoredRecord>, StoreError> {
                let mut out = Vec::new();
                for chunk in refs.chunks(CHUNK) {
                    let sql = format!(
                        "SELECT * FROM records WHERE ref_no IN ({}) AND entity IN ({})",
                        in_list(1, chunk.len()),
                        in_list(chunk.len() + 1, entities.len())
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)));
                    for r in chunk {
                        q = q.bind(r);
                    }
                    for e in entities {
                        q = q.bind(*e);
                    }
                    for r in q.fetch_all(self.pool()).await? {
                        out.push(StoredRecord::from_row(&r)?);
                    }
                }
                Ok(out)
            }

            async fn documents_by_number(
                &self,
                numbers: &[String],
                limit: i64,
            ) -> Result<Vec<DocumentHit>, StoreError> {
                use sqlx::Row;
                if numbers.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT connector, entity, ref_no, customer_no FROM records \
                     WHERE ref_no IN ({}) AND entity IN ('invoice', 'credit_note', 'order', 'delivery', 'supplier_invoice') \
                     AND customer_no IS NOT NULL ORDER BY ref_no, connector LIMIT ${}",
                    in_list(1, numbers.len()),
                    numbers.len() + 1
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)));
                for n in numbers {
                    q = q.bind(n);
                }
                let rows = q.bind(limit).fetch_all(self.pool()).await?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        Ok(DocumentHit {
                            connector: r.try_get("connector")?,
                            entity: r.try_get("entity")?,
                            number: r.try_get("ref_no")?,
                            customer_no: r.try_get("customer_no")?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()?)
            }

            async fn connector_systems(&self) -> Result<BTreeMap<String, String>, StoreError> {
                use sqlx::Row;
                let rows = sqlx::query("SELECT connector, system FROM connector_systems")
                    .fetch_all(self.pool())
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| Ok((r.try_get("connector")?, r.try_get("system")?)))
                    .collect::<Result<_, sqlx::Error>>()?)
            }

            async fn last_successes(&self) -> Result<BTreeMap<String, DateTime<Utc>>, StoreError> {
                use sqlx::Row;
                // The newest successful run per connector (its own row, so that the column
                // keeps its type on both backends).
                let rows = sqlx::query(
                    "SELECT connector, finished_at FROM sync_runs r WHERE status IN ('ok', 'partial') \
                     AND id = (SELECT max(id) FROM sync_runs s WHERE s.connector = r.connector AND s.status IN ('ok', 'partial'))",
                )
                .fetch_all(self.pool())
                .await?;
                let mut out = BTreeMap::new();
                for r in rows {
                    if let Some(t) = r.try_get::<Option<DateTime<Utc>>, _>("finished_at")? {
                        out.insert(r.try_get("connector")?, t);
                    }
                }
                Ok(out)
            }

            async fn note_source_system(
                &self,
                connector: &str,
                system: &str,
                label: &str,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO source_systems (connector, system, label, first_seen) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (connector, system) DO NOTHING",
                )
                .bind(connector)
                .bind(system)
                .bind(label)
                .bind(Utc::now())
                .execute(self.pool())
                .await?;
                Ok(())
            }

            async fn source_systems(&self) -> Result<Vec<SourceSystem>, StoreError> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT connector, system, label FROM source_systems ORDER BY connector, first_seen, system",
                )
                .fetch_all(self.pool())
                .await?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        Ok(SourceSystem {
                            connector: r.try_get("connector")?,
                            system: r.try_get("system")?,
                            label: r.try_get("label")?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()?)
            }

            async fn shared_customer_numbers(&self) -> Result<Vec<SharedNumbers>, StoreError> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "WITH k AS (SELECT DISTINCT connector, customer_no FROM records \
                     WHERE customer_no IS NOT NULL AND customer_no <> '' AND closed_at IS NULL) \
                     SELECT a.connector AS a, b.connector AS b, COUNT(*) AS n, MIN(a.customer_no) AS example \
                     FROM k a JOIN k b ON a.customer_no = b.customer_no AND a.connector < b.connector \
                     GROUP BY a.connector, b.connector ORDER BY a.connector, b.connector",
                )
                .fetch_all(self.pool())
                .await?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        Ok(SharedNumbers {
                            a: r.try_get("a")?,
                            b: r.try_get("b")?,
                            count: r.try_get::<i64, _>("n")? as u64,
                            example: r.try_get("example")?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()?)
            }

            async fn create_token(
                &self,
                name: &str,
                role: &str,
                team: Option<&str>,
                hash: &str,
            ) -> Result<(), StoreError> {
                let res = sqlx::query(
                    "INSERT INTO api_tokens (name, role, hash, created_at, team) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .bind(name)
                .bind(role)
                .bind(hash)
                .bind(Utc::now())
                .bind(team)
                .execute(self.pool())
                .await?;
                if res.rows_affected() == 0 {
                    return Err(StoreError::Data(format!(
                        "a token named `{name}` exists already (revoke it first, or choose another name)"
                    )));
                }
                Ok(())
            }

            async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
                Ok(sqlx::query_as("SELECT * FROM api_tokens ORDER BY id")
                    .fetch_all(self.pool())
                    .await?)
            }

            async fn active_tokens(&self) -> Result<Vec<(String, TokenInfo)>, StoreError> {
                use sqlx::{FromRow, Row};
                let rows = sqlx::query("SELECT * FROM api_tokens WHERE revoked_at IS NULL")
                    .fetch_all(self.pool())
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| Ok((r.try_get("hash")?, TokenInfo::from_row(r)?)))
                    .collect::<Result<_, sqlx::Error>>()?)
            }

            async fn revoke_token(&self, name: &str) -> Result<bool, StoreError> {
                let res = sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $1, name = name || '#' || id WHERE name = $2 AND revoked_at IS NULL",
                )
                .bind(Utc::now())
                .bind(name)
                .execute(self.pool())
                .await?;
                Ok(res.rows_affected() > 0)
            }
        }
    };
}

macro_rules! suggestion_select {
    () => {
        "SELECT s.*, ka.customer_id AS a_customer_id, kb.customer_id AS b_customer_id \
         FROM identity_suggestions s \
         LEFT JOIN customer_keys ka ON ka.system = s.a_system AND ka.customer_no = s.a_no \
         LEFT JOIN customer_keys kb ON kb.system = s.b_system AND kb.customer_no = s.b_no "
    };
}
const SUGGESTIONS_SQL_BY_STATUS: &str = concat!(
    suggestion_select!(),
    "WHERE ($1 IS NULL OR s.status = $1) ORDER BY s.score DESC, s.id LIMIT $2"
);
const SUGGESTION_SQL_BY_ID: &str = concat!(suggestion_select!(), "WHERE s.id = $1");

for_each_backend!(identity_store);
