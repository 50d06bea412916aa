//! What the runs since the last resolution changed, as far as identity is concerned
//! ([`IdentityStore::identity_delta`]): a few index lookups, whatever the number of records.

use super::*;

/// What the records written since the last resolution mean for the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityDelta {
    /// Nothing a resolution reads changed: the last one was given the same inputs, no run it
    /// did not scan wrote or closed a record, and nothing else changed records or decisions.
    Unchanged,
    /// Runs wrote or closed records: whether a resolution would come out differently
    /// depends only on what the party records of `parties` say now
    /// ([`crate::identity::SourceCustomer::fingerprint`]) and, with `unknown`, on whether a
    /// cross-reference row or decision names one of the new customer numbers; documents of
    /// customer numbers resolved already change no customer.
    Changed {
        generation: i64,
        /// The runs after this one and up to `scan_to` are the ones read.
        scan_from: i64,
        scan_to: i64,
        inputs_epoch: i64,
        /// How many records the runs wrote or closed.
        records: i64,
        /// (connector, customer number) of the party records they wrote or closed.
        parties: Vec<(String, String)>,
        /// Whether they wrote or closed records the directory is built from
        /// ([`crate::model::Entity::DIRECTORY`]: parties, contact persons). If not, only
        /// documents changed: the directories stay as they are.
        directory: bool,
        /// Whether the runs wrote records of customer numbers not resolved yet.
        unknown: bool,
    },
    /// Anything else — other inputs, more than [`MAX_TOUCHED`] parties: resolve.
    Resolve,
}

/// Beyond this many parties written or closed since the last resolution, comparing them one
/// by one costs about as much as resolving.
pub const MAX_TOUCHED: usize = 10_000;

macro_rules! identity_delta {
    ($store:ty) => {
        impl $store {
            /// [`IdentityStore::identity_delta`].
            pub(super) async fn read_delta(&self, inputs: &str) -> Result<IdentityDelta, StoreError> {
                use sqlx::Row;
                let pool = self.pool();
                let state = sqlx::query(
                    "SELECT generation, scanned_run, inputs_epoch, inputs FROM identity_state WHERE id = 1",
                )
                .fetch_one(pool)
                .await?;
                if state.try_get::<Option<String>, _>("inputs")?.as_deref() != Some(inputs) {
                    return Ok(IdentityDelta::Resolve);
                }
                let scanned: i64 = state.try_get("scanned_run")?;
                // Before anything is read: every run up to here had ended, so all it wrote
                // is visible to the checks below (which look at later runs too).
                let scan_to = self.scan_to(scanned).await?;
                let records: i64 = sqlx::query_scalar(
                    "SELECT (SELECT count(*) FROM records WHERE run_id > $1) \
                          + (SELECT count(*) FROM records WHERE closed_run_id IS NOT NULL AND closed_run_id > $1)",
                )
                .bind(scanned)
                .fetch_one(pool)
                .await?;
                if records == 0 {
                    return Ok(IdentityDelta::Unchanged);
                }
                // A customer number not resolved yet (in the system its connector had at the
                // last resolution, which the unchanged inputs say is still its system).
                let unknown: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM records r WHERE r.run_id > $1 \
                       AND r.customer_no IS NOT NULL AND r.customer_no <> '' \
                       AND NOT EXISTS (SELECT 1 FROM connector_systems cs \
                         JOIN customer_keys k ON k.system = cs.system AND k.customer_no = r.customer_no \
                         WHERE cs.connector = r.connector))",
                )
                .bind(scanned)
                .fetch_one(pool)
                .await?;
                let entities = crate::model::Entity::DIRECTORY;
                let of = |column: &str| {
                    format!(
                        "SELECT connector, customer_no, entity FROM records WHERE {column} AND entity IN ({}) \
                         AND customer_no IS NOT NULL",
                        in_list(2, entities.len())
                    )
                };
                let sql = format!(
                    "{} UNION {} LIMIT {}",
                    of("run_id > $1"),
                    of("closed_run_id IS NOT NULL AND closed_run_id > $1"),
                    MAX_TOUCHED + 1
                );
                let mut q = sqlx::query_as::<_, (String, String, String)>(sqlx::AssertSqlSafe(sql)).bind(scanned);
                for e in entities {
                    q = q.bind(e.as_str());
                }
                let touched = q.fetch_all(pool).await?;
                if touched.len() > MAX_TOUCHED {
                    return Ok(IdentityDelta::Resolve);
                }
                // Customer numbers records moved away from (`card_moves`): what their party
                // records say now is compared as well, and their directory entries change.
                let moves: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT DISTINCT connector, customer_no FROM card_moves WHERE run_id > $1 LIMIT {}",
                    MAX_TOUCHED + 1
                )))
                .bind(scanned)
                .fetch_all(pool)
                .await?;
                if touched.len() + moves.len() > MAX_TOUCHED {
                    return Ok(IdentityDelta::Resolve);
                }
                let directory = !touched.is_empty() || !moves.is_empty();
                let party = |e: &str| crate::model::Entity::PARTIES.iter().any(|p| p.as_str() == e);
                let mut parties: Vec<(String, String)> = touched
                    .into_iter()
                    .filter(|(_, _, e)| party(e))
                    .map(|(c, no, _)| (c, no))
                    .chain(moves)
                    .collect();
                parties.sort();
                parties.dedup();
                Ok(IdentityDelta::Changed {
                    generation: state.try_get("generation")?,
                    scan_from: scanned,
                    scan_to,
                    inputs_epoch: state.try_get("inputs_epoch")?,
                    records,
                    parties,
                    directory,
                    unknown,
                })
            }

            /// [`IdentityStore::key_attrs`].
            pub(super) async fn read_key_attrs(
                &self,
                keys: &[KeyId],
            ) -> Result<Vec<(KeyId, Option<i64>)>, StoreError> {
                use sqlx::Row;
                let mut keys: Vec<&KeyId> = keys.iter().collect();
                keys.sort();
                keys.dedup();
                let mut out = Vec::with_capacity(keys.len());
                // By system: the primary key (system, customer_no) finds each one (the
                // number alone has no index — a scan of every key per statement).
                for group in keys.chunk_by(|a, b| a.system == b.system) {
                    for chunk in group.chunks(CHUNK) {
                        let system = &chunk[0].system;
                        let sql = format!(
                            "SELECT customer_no, attrs FROM customer_keys WHERE system = $1 AND customer_no IN ({})",
                            in_list(2, chunk.len())
                        );
                        let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql))).bind(system);
                        for k in chunk {
                            q = q.bind(&k.customer_no);
                        }
                        for r in q.fetch_all(self.pool()).await? {
                            let key = KeyId::new(system.clone(), r.try_get::<String, _>("customer_no")?);
                            out.push((key, r.try_get("attrs")?));
                        }
                    }
                }
                Ok(out)
            }

            /// [`IdentityStore::customer_rows_of`].
            pub(super) async fn read_customer_rows_of(
                &self,
                entity: &str,
                pairs: &[(String, String)],
            ) -> Result<Vec<CustomerRow>, StoreError> {
                use sqlx::Row;
                let mut pairs: Vec<&(String, String)> = pairs.iter().collect();
                // By number, so that all rows of one number come from one statement in its
                // order.
                pairs.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
                pairs.dedup();
                let mut out = Vec::new();
                for chunk in pairs.chunk_by(|a, b| a.1 == b.1).collect::<Vec<_>>().chunks(CHUNK) {
                    let nos: Vec<&str> = chunk.iter().map(|g| g[0].1.as_str()).collect();
                    // The order of [`IdentityStore::each_customer_row`], in the store's
                    // collation. No `connector IN (…)`: with it, SQLite (no statistics) walks
                    // the connector's whole (connector, entity) index instead of the few rows
                    // of these numbers; the pairs are checked below.
                    let sql = format!(
                        "SELECT connector, entity, customer_no, synced_at, data FROM records \
                         WHERE entity = $1 AND closed_at IS NULL AND customer_no IN ({}) \
                         ORDER BY connector, external_id",
                        in_list(2, nos.len())
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql))).bind(entity);
                    for n in &nos {
                        q = q.bind(*n);
                    }
                    let wanted: std::collections::HashSet<(&str, &str)> = chunk
                        .iter()
                        .flat_map(|g| g.iter())
                        .map(|p| (p.0.as_str(), p.1.as_str()))
                        .collect();
                    for r in q.fetch_all(self.pool()).await? {
                        let connector: String = r.try_get("connector")?;
                        let customer_no: String = r.try_get("customer_no")?;
                        if !wanted.contains(&(connector.as_str(), customer_no.as_str())) {
                            continue;
                        }
                        let data: &str = r.try_get("data")?;
                        out.push(CustomerRow {
                            connector,
                            entity: r.try_get("entity")?,
                            customer_no,
                            synced_at: r.try_get("synced_at")?,
                            data: Customer::of_text(data).unwrap_or_default(),
                        });
                    }
                }
                Ok(out)
            }

            /// The runs a resolution reading now may mark scanned: up to the newest run,
            /// short of the oldest one still running.
            pub(super) async fn scan_to(&self, scanned: i64) -> Result<i64, StoreError> {
                use crate::store::backend::Backend;
                let mut tx = self.pool().begin().await?;
                // A run whose id is drawn but whose row is not visible yet would otherwise be
                // passed over: its records would never be scanned.
                if !<Self as Backend>::RUN_IDS_EXCLUSIVE.is_empty() {
                    sqlx::query(<Self as Backend>::RUN_IDS_EXCLUSIVE).execute(&mut *tx).await?;
                }
                let max_run: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM sync_runs")
                    .fetch_one(&mut *tx)
                    .await?;
                let running: Option<i64> =
                    sqlx::query_scalar("SELECT min(id) FROM sync_runs WHERE status = 'running'")
                        .fetch_one(&mut *tx)
                        .await?;
                tx.commit().await?;
                Ok(max_run
                    .unwrap_or(0)
                    .min(running.map_or(i64::MAX, |r| r - 1))
                    .max(scanned))
            }
        }
    };
}

for_each_backend!(identity_delta);
