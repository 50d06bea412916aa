//! Which customers' directory entries changed, per identity generation (issue 17, target 3):
//! the pass that moves the generation lists them (`directory_changes`), so an API node whose
//! directory is at generation `g` reads only the customers of the generations after `g`
//! ([`IdentityStore::directory_changes`]) instead of every customer.
//!
//! A customer is listed when runs since the last pass wrote, closed or moved one of its
//! customer, supplier or contact-person records, or a key moved from or to it. What the list
//! cannot name raises `identity_state.directory_floor`, the oldest generation a node may
//! read changes from; a node below it loads everything:
//! - more than [`MAX_LISTED`] records or keys in one pass (a first sync);
//! - a change of connector → system (the directory's keys are read through it);
//! - a change of records outside runs (an erasure, a connector renamed or retired);
//! - lists older than [`KEEP_GENERATIONS`] generations, which are deleted.

use super::*;

/// The customers changed after a generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryChanges {
    /// The store's generation now.
    pub generation: i64,
    /// Customers changed in the generations after the one asked about, sorted.
    pub customers: Vec<i64>,
}

/// Beyond this many records or keys in one pass, the pass lists nothing and nodes load
/// everything (cheaper than reading that many customers one by one).
pub(crate) const MAX_LISTED: i64 = 20_000;

/// Lists of this many generations are kept; a node further behind loads everything.
pub(crate) const KEEP_GENERATIONS: i64 = 100;

/// Nodes whose directory is older than `$1` load everything.
pub(crate) const RAISE_FLOOR: &str = "UPDATE identity_state SET directory_floor = \
     CASE WHEN directory_floor < $1 THEN $1 ELSE directory_floor END WHERE id = 1";

/// With a change of records outside runs: the next generation cannot be read as a list.
pub(crate) const FLOOR_AT_NEXT: &str =
    "UPDATE identity_state SET directory_floor = generation + 1 WHERE id = 1";

/// The records of the directory's entities ([`crate::model::Entity::DIRECTORY`]).
fn directory_entities() -> String {
    crate::model::Entity::DIRECTORY
        .iter()
        .map(|e| format!("'{}'", e.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

macro_rules! identity_directory {
    ($store:ty) => {
        impl $store {
            /// In the pass that moves the generation to `generation`, before its keys move:
            /// lists the customers whose directory entries change — those of the records runs
            /// after the scan position wrote, closed or moved, those `keys` belong to now and
            /// `customers` (whom the pass gives keys) — or, where it cannot
            /// (`systems_changed`, too many), raises the floor to `generation`.
            pub(crate) async fn list_directory_changes(
                tx: &mut <$store as crate::store::backend::Staging>::Conn,
                generation: i64,
                keys: &[&KeyId],
                customers: &[i64],
                systems_changed: bool,
            ) -> Result<(), sqlx::Error> {
                use super::directory::*;
                let cut = generation - KEEP_GENERATIONS;
                sqlx::query("DELETE FROM directory_changes WHERE generation <= $1")
                    .bind(cut)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(RAISE_FLOOR).bind(cut).execute(&mut *tx).await?;
                // (Checked first, before any records are counted: a first sync moves many keys.)
                if systems_changed || (keys.len() + customers.len()) as i64 > MAX_LISTED {
                    sqlx::query(RAISE_FLOOR).bind(generation).execute(&mut *tx).await?;
                    return Ok(());
                }
                let scanned: i64 =
                    sqlx::query_scalar("SELECT scanned_run FROM identity_state WHERE id = 1")
                        .fetch_one(&mut *tx)
                        .await?;
                let entities = directory_entities();
                // Counted up to one more than the limit (a first sync stops early).
                let records: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT (SELECT count(*) FROM (SELECT 1 FROM records WHERE run_id > $1 \
                             AND entity IN ({entities}) LIMIT $2) a) \
                          + (SELECT count(*) FROM (SELECT 1 FROM records WHERE closed_run_id IS NOT NULL \
                             AND closed_run_id > $1 AND entity IN ({entities}) LIMIT $2) b) \
                          + (SELECT count(*) FROM (SELECT 1 FROM card_moves WHERE run_id > $1 LIMIT $2) c)"
                )))
                .bind(scanned)
                .bind(MAX_LISTED + 1)
                .fetch_one(&mut *tx)
                .await?;
                if records > MAX_LISTED {
                    sqlx::query(RAISE_FLOOR).bind(generation).execute(&mut *tx).await?;
                    return Ok(());
                }
                if records > 0 {
                    // (`WHERE true`: SQLite reads `ON` after a join as the join's otherwise.)
                    let sql = format!(
                        "INSERT INTO directory_changes (generation, customer_id) SELECT $2, customer_id FROM ({}) t \
                         WHERE true ON CONFLICT DO NOTHING",
                        crate::store::cards::touched_customers(Some(&entities))
                    );
                    sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)))
                        .bind(scanned)
                        .bind(generation)
                        .execute(&mut *tx)
                        .await?;
                }
                for chunk in keys.chunks(200) {
                    let sql = format!(
                        "INSERT INTO directory_changes (generation, customer_id) \
                         SELECT $1, customer_id FROM customer_keys WHERE {} ON CONFLICT DO NOTHING",
                        key_pairs(2, chunk.len())
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql))).bind(generation);
                    for k in chunk {
                        q = q.bind(&k.system).bind(&k.customer_no);
                    }
                    q.execute(&mut *tx).await?;
                }
                let mut customers = customers.to_vec();
                customers.sort_unstable();
                customers.dedup();
                for chunk in customers.chunks(400) {
                    let sql = format!(
                        "INSERT INTO directory_changes (generation, customer_id) VALUES {} ON CONFLICT DO NOTHING",
                        crate::store::values_list(chunk.len(), 2, true)
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)));
                    for id in chunk {
                        q = q.bind(generation).bind(id);
                    }
                    q.execute(&mut *tx).await?;
                }
                Ok(())
            }

            /// In the same pass, after [`NewSingletons`] gave `count` new customers the ids
            /// from `first_id` on: lists them, or raises the floor when they are too many.
            pub(crate) async fn list_new_customers(
                tx: &mut <$store as crate::store::backend::Staging>::Conn,
                generation: i64,
                first_id: i64,
                count: u64,
            ) -> Result<(), sqlx::Error> {
                use super::directory::*;
                if count == 0 {
                    return Ok(());
                }
                if count as i64 > MAX_LISTED {
                    sqlx::query(RAISE_FLOOR).bind(generation).execute(&mut *tx).await?;
                    return Ok(());
                }
                sqlx::query(
                    "INSERT INTO directory_changes (generation, customer_id) \
                     SELECT $1, customer_id FROM customer_keys WHERE customer_id >= $2 ON CONFLICT DO NOTHING",
                )
                .bind(generation)
                .bind(first_id)
                .execute(&mut *tx)
                .await?;
                Ok(())
            }

            /// Whether runs after the scan position wrote, closed or moved records of the
            /// directory's entities (or moved any record's customer number).
            pub(crate) async fn directory_touched(
                tx: &mut <$store as crate::store::backend::Staging>::Conn,
            ) -> Result<bool, sqlx::Error> {
                let entities = directory_entities();
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT EXISTS (SELECT 1 FROM records WHERE run_id > s.scanned_run AND entity IN ({entities})) \
                         OR EXISTS (SELECT 1 FROM records WHERE closed_run_id IS NOT NULL \
                            AND closed_run_id > s.scanned_run AND entity IN ({entities})) \
                         OR EXISTS (SELECT 1 FROM card_moves WHERE run_id > s.scanned_run) \
                     FROM identity_state s WHERE s.id = 1"
                )))
                .fetch_one(&mut *tx)
                .await
            }

            /// [`IdentityStore::directory_changes`]: one statement, so the generation, the
            /// floor and the lists are of one moment.
            pub(super) async fn read_directory_changes(
                &self,
                since: i64,
            ) -> Result<Option<DirectoryChanges>, StoreError> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT s.generation, s.directory_floor, c.customer_id FROM identity_state s \
                     LEFT JOIN directory_changes c ON c.generation > $1 AND c.generation <= s.generation \
                     WHERE s.id = 1",
                )
                .bind(since)
                .fetch_all(self.pool())
                .await?;
                let Some(first) = rows.first() else {
                    return Ok(None);
                };
                let generation: i64 = first.try_get("generation")?;
                let floor: i64 = first.try_get("directory_floor")?;
                if since < floor || since > generation {
                    return Ok(None);
                }
                let mut customers = rows
                    .iter()
                    .map(|r| r.try_get::<Option<i64>, _>("customer_id"))
                    .filter_map(Result::transpose)
                    .collect::<Result<Vec<i64>, _>>()?;
                customers.sort_unstable();
                customers.dedup();
                Ok(Some(DirectoryChanges {
                    generation,
                    customers,
                }))
            }

            /// [`IdentityStore::customer_keys_of`].
            pub(super) async fn read_customer_keys_of(
                &self,
                customers: &[i64],
            ) -> Result<Vec<KeyRow>, StoreError> {
                let mut ids = customers.to_vec();
                ids.sort_unstable();
                ids.dedup();
                let mut keys = Vec::new();
                for chunk in ids.chunks(400) {
                    let sql = format!(
                        "SELECT * FROM customer_keys WHERE customer_id IN ({}) ORDER BY customer_id, system, customer_no",
                        in_list(1, chunk.len())
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)));
                    for id in chunk {
                        q = q.bind(id);
                    }
                    for r in q.fetch_all(self.pool()).await? {
                        keys.push(key_row!(&r)?);
                    }
                }
                Ok(keys)
            }

            /// [`IdentityStore::each_customer_row_of`].
            pub(super) async fn read_each_customer_row_of(
                &self,
                entity: &str,
                customers: &[i64],
                f: &mut (dyn FnMut(CustomerRow) + Send),
            ) -> Result<(), StoreError> {
                let mut ids = customers.to_vec();
                ids.sort_unstable();
                ids.dedup();
                for chunk in ids.chunks(400) {
                    // The keys first, then the records by number (`CROSS JOIN` keeps SQLite
                    // to that order); per customer the order of `each_customer_row`.
                    let sql = format!(
                        "SELECT r.connector, r.entity, r.customer_no, r.synced_at, r.data \
                         FROM customer_keys k CROSS JOIN connector_systems cs CROSS JOIN records r \
                         WHERE k.customer_id IN ({}) AND cs.system = k.system \
                         AND r.customer_no = k.customer_no AND r.connector = cs.connector \
                         AND r.entity = $1 AND r.closed_at IS NULL \
                         ORDER BY r.connector, r.external_id",
                        in_list(2, chunk.len())
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql))).bind(entity);
                    for id in chunk {
                        q = q.bind(id);
                    }
                    for r in q.fetch_all(self.pool()).await? {
                        f(customer_row!(&r)?);
                    }
                }
                Ok(())
            }
        }
    };
}

for_each_backend!(identity_directory);
