//! Writing a resolution's changes (the largest part of [`IdentityStore`], for both backends).

use super::*;

macro_rules! identity_apply {
    ($store:ty) => {
        impl $store {
            /// [`IdentityStore::apply_identity`]: the resolution's changes in one transaction.
            pub(super) async fn write_identity(&self, ch: &IdentityChanges) -> Result<Option<u64>, StoreError> {
                let now = Utc::now();
                let mut tx = self.begin_write().await?;
                // The cards of what the runs since the last pass touched go with the pass
                // (before the scan position and the keys move).
                // A pass that changes no key but passes records the directory is built from
                // (a closed contact person, a customer number moved) moves the generation and
                // lists their customers all the same.
                if ch.noop && !Self::directory_touched(&mut tx).await? {
                    Self::forget_touched_cards(&mut tx, &[], &[]).await?;
                    let kept = sqlx::query(
                        "UPDATE identity_state SET scanned_run = $2, \
                         inputs = CASE WHEN inputs_epoch = $4 THEN $3 ELSE NULL END WHERE id = 1 AND generation = $1",
                    )
                    .bind(ch.generation)
                    .bind(ch.scan_to)
                    .bind(&ch.inputs)
                    .bind(ch.inputs_epoch)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    return Ok((kept.rows_affected() == 1).then_some(0));
                }
                // Not after a change outside runs (an erasure, a decision, a renamed connector)
                // that came after the snapshot either: what the resolution read may be what an
                // erasure removed (its keys' explanations and fingerprints would keep it) — the
                // caller reads again.
                let keys: Vec<&KeyId> = ch.delete.iter().chain(ch.upsert.iter().map(|k| &k.key)).collect();
                let customers: Vec<i64> = ch.upsert.iter().map(|k| k.customer_id).collect();
                Self::list_directory_changes(
                    &mut tx,
                    ch.generation + 1,
                    &keys,
                    &customers,
                    ch.systems.is_some(),
                )
                .await?;
                Self::forget_touched_cards(&mut tx, &keys, &customers).await?;
                let moved = sqlx::query(
                    "UPDATE identity_state SET generation = generation + 1, scanned_run = $2, resolved_at = $3, \
                     inputs = $4 WHERE id = 1 AND generation = $1 AND inputs_epoch = $5",
                )
                .bind(ch.generation)
                .bind(ch.scan_to)
                .bind(now)
                .bind(&ch.inputs)
                .bind(ch.inputs_epoch)
                .execute(&mut *tx)
                .await?;
                if moved.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Ok(None);
                }
                if let Some(systems) = &ch.systems {
                    sqlx::query("DELETE FROM connector_systems").execute(&mut *tx).await?;
                    for (c, s) in systems {
                        sqlx::query("INSERT INTO connector_systems (connector, system) VALUES ($1, $2)")
                            .bind(c)
                            .bind(s)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                for k in &ch.delete {
                    sqlx::query("DELETE FROM customer_keys WHERE system = $1 AND customer_no = $2")
                        .bind(&k.system)
                        .bind(&k.customer_no)
                        .execute(&mut *tx)
                        .await?;
                }
                for chunk in ch.upsert.chunks(CHUNK) {
                    let sql = format!(
                        "INSERT INTO customer_keys (system, customer_no, customer_id, home_id, rule, matched_on, attrs, first_seen_at, updated_at) \
                         VALUES {} ON CONFLICT (system, customer_no) DO UPDATE SET customer_id = excluded.customer_id, \
                         home_id = excluded.home_id, rule = excluded.rule, matched_on = excluded.matched_on, attrs = excluded.attrs, \
                         updated_at = excluded.updated_at",
                        crate::store::values_list(chunk.len(), 9, true)
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)));
                    for k in chunk {
                        q = q
                            .bind(&k.key.system)
                            .bind(&k.key.customer_no)
                            .bind(k.customer_id)
                            .bind(k.home_id)
                            .bind(&k.rule)
                            .bind(matched_json(&k.matched_on))
                            .bind(k.attrs)
                            .bind(now)
                            .bind(now);
                    }
                    q.execute(&mut *tx).await?;
                }
                for id in &ch.alias_delete {
                    sqlx::query("DELETE FROM customer_aliases WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                for (id, into) in &ch.alias_upsert {
                    sqlx::query(
                        "INSERT INTO customer_aliases (id, merged_into, created_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (id) DO UPDATE SET merged_into = excluded.merged_into",
                    )
                    .bind(id)
                    .bind(into)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                // After the keys and aliases: their ids are not given again.
                let singletons = match &ch.singletons {
                    Some(new) => Self::write_singletons(&mut tx, new, ch.scan_to, ch.generation + 1, now).await?,
                    None => 0,
                };
                for chunk in ch.suggestion_obsolete.chunks(CHUNK) {
                    let sql = format!(
                        "UPDATE identity_suggestions SET status = 'obsolete' WHERE status = 'open' AND id IN ({})",
                        in_list(1, chunk.len())
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)));
                    for id in chunk {
                        q = q.bind(id);
                    }
                    q.execute(&mut *tx).await?;
                }
                for (id, s) in &ch.suggestion_update {
                    sqlx::query(
                        "UPDATE identity_suggestions SET score = $2, rule = $3, reason = $4, status = 'open' \
                         WHERE id = $1 AND status IN ('open', 'obsolete')",
                    )
                    .bind(id)
                    .bind(s.score)
                    .bind(&s.rule)
                    .bind(&s.reason)
                    .execute(&mut *tx)
                    .await?;
                }
                for chunk in ch.suggestion_insert.chunks(CHUNK / 2) {
                    let sql = format!(
                        "INSERT INTO identity_suggestions (a_system, a_no, b_system, b_no, score, rule, reason, status, created_at) \
                         VALUES {} ON CONFLICT (a_system, a_no, b_system, b_no) DO NOTHING",
                        crate::store::values_list(chunk.len(), 9, true)
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)));
                    for s in chunk {
                        q = q
                            .bind(&s.a.system)
                            .bind(&s.a.customer_no)
                            .bind(&s.b.system)
                            .bind(&s.b.customer_no)
                            .bind(s.score)
                            .bind(&s.rule)
                            .bind(&s.reason)
                            .bind("open")
                            .bind(now);
                    }
                    q.execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(Some(singletons))
            }

            /// [`NewSingletons`]: one statement, after the resolution's keys (which it leaves
            /// out, as it leaves out every key stored already); their customers are listed
            /// for the directories as the resolution's are.
            async fn write_singletons(
                tx: &mut <$store as crate::store::backend::Staging>::Conn,
                new: &NewSingletons,
                scan_to: i64,
                generation: i64,
                now: DateTime<Utc>,
            ) -> Result<u64, sqlx::Error> {
                if new.systems.is_empty() {
                    return Ok(0);
                }
                // After the resolution's keys: the first id no key or alias has.
                let (customer, home, alias): (Option<i64>, Option<i64>, Option<i64>) = sqlx::query_as(
                    "SELECT (SELECT max(customer_id) FROM customer_keys), (SELECT max(home_id) FROM customer_keys), \
                     (SELECT max(id) FROM customer_aliases)",
                )
                .fetch_one(&mut *tx)
                .await?;
                let first_id = [customer, home, alias]
                    .into_iter()
                    .flatten()
                    .fold(new.floor - 1, i64::max)
                    + 1;
                let sql = format!(
                    "WITH cs (connector, system) AS (VALUES {}) \
                     INSERT INTO customer_keys (system, customer_no, customer_id, home_id, rule, matched_on, attrs, first_seen_at, updated_at) \
                     SELECT system, customer_no, $3 + n - 1, $3 + n - 1, 'anchor', NULL, $4, $5, $5 FROM \
                     (SELECT system, customer_no, row_number() OVER (ORDER BY system{bytes}, customer_no{bytes}) AS n FROM \
                      (SELECT DISTINCT cs.system, r.customer_no FROM records r JOIN cs ON cs.connector = r.connector \
                       WHERE r.run_id > $1 AND r.run_id <= $2 AND r.customer_no IS NOT NULL AND r.customer_no <> '') d \
                      WHERE NOT EXISTS (SELECT 1 FROM customer_keys k WHERE k.system = d.system AND k.customer_no = d.customer_no)) x",
                    crate::store::values_list_from(6, new.systems.len(), 2),
                    bytes = <$store as crate::store::backend::Backend>::BYTE_ORDER,
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)))
                    .bind(new.from)
                    .bind(scan_to)
                    .bind(first_id)
                    // What identity keeps of a source customer without party records.
                    .bind(crate::identity::SourceCustomer::default().fingerprint())
                    .bind(now);
                for (connector, system) in &new.systems {
                    q = q.bind(connector).bind(system);
                }
                let written = q.execute(&mut *tx).await?.rows_affected();
                Self::list_new_customers(tx, generation, first_id, written).await?;
                Ok(written)
            }
        }
    };
}

for_each_backend!(identity_apply);
