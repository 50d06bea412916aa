//! Materialised customer cards (issue 17, target 2): each customer's merged view as last
//! built, so that showing it is one row plus its live parts. The same SQL on both backends.
//!
//! A card is used while its `stamp` (business date, view settings, systems, release) matches
//! the reader's and nothing deleted it. Deleted, each in the transaction of the change:
//! - by a run's end (`finish_run`, before it reports its counts) and by the identity pass
//!   (which also knows the keys it moves): the cards of the customers whose records runs
//!   since the last pass wrote or closed, or moved to another customer number, of every
//!   customer with orders when order confirmations or deliveries came (they name an order,
//!   not a customer), and of the customers keys moved from or to (`forget_touched_cards`);
//! - by a change of records outside runs — an erasure's rewrites, a connector renamed or
//!   retired — all of them (`forget_all_cards`).
//!
//! Each counts itself in `identity_state.cards_epoch`; a card built from what was read before
//! such a change, or from keys of an older identity generation (an API node whose directory
//! has not reloaded yet), is not stored ([`CardStore::put_cards`] compares both under a lock
//! of their row). So a card is never older than what a run that reported its counts wrote.

use super::StoreError;
use async_trait::async_trait;

/// The counters a card is valid under, as read before its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CardEpochs {
    /// Changes that deleted cards.
    pub cards: i64,
    /// The identity generation (which keys belong to which customer).
    pub generation: i64,
}

/// A valid stored card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCard {
    /// The view without its live parts: a JSON object.
    pub body: String,
    /// Its sources, a JSON array.
    pub sources: String,
    /// Its open orders, a JSON array; `None` without any.
    pub orders: Option<String>,
}

/// What [`CardStore::card`] reads in one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRead {
    pub epochs: CardEpochs,
    /// The card, when one is stored and valid for the stamp and epochs.
    pub card: Option<StoredCard>,
    /// Whether the customer has any complaint or ticket (then they are read live).
    pub has_tickets: bool,
    /// Whether the customer has any reminder not done.
    pub has_reminders: bool,
}

/// How many cards are stored and their size (body, sources and orders, in characters:
/// mostly ASCII JSON, so about bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CardStats {
    pub count: u64,
    pub bytes: u64,
}

/// A card to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCard {
    pub customer_id: i64,
    pub stamp: String,
    /// As read before the view's records ([`CardRead::epochs`]), with the generation of the
    /// keys the view was built from.
    pub epochs: CardEpochs,
    pub card: StoredCard,
}

#[async_trait]
pub trait CardStore: Send + Sync {
    /// The card of `customer_id` if one valid for `stamp` is stored, the counters a card
    /// built now is valid under, and whether its live parts exist: one query.
    async fn card(&self, customer_id: i64, stamp: &str) -> Result<CardRead, StoreError>;
    /// Stores cards (replacing older ones) whose epochs are still current; returns how many.
    async fn put_cards(&self, cards: &[NewCard]) -> Result<u64, StoreError>;
    /// Stored cards (valid or not) and their bytes.
    async fn card_stats(&self) -> Result<CardStats, StoreError>;
    /// Deletes every card (after an erasure: no copy of erased data stays behind).
    async fn forget_cards(&self) -> Result<(), StoreError>;
}

/// A query of the customers whose records (of `entities`, an SQL list, or of every entity)
/// runs after `$1` (the stored scan position) wrote or closed, or moved away from one of
/// their customer numbers (`card_moves`), through the keys as they are before the pass
/// moves any. The cards' and the directory's part of the pass ask it.
pub(crate) fn touched_customers(entities: Option<&str>) -> String {
    let of = entities.map_or(String::new(), |e| format!(" AND r.entity IN ({e})"));
    let via_keys = |from: &str, filter: &str| {
        format!(
            "SELECT k.customer_id FROM {from} \
             JOIN connector_systems cs ON cs.connector = r.connector \
             JOIN customer_keys k ON k.system = cs.system AND k.customer_no = r.customer_no \
             WHERE {filter}"
        )
    };
    format!(
        "{} UNION {} UNION {}",
        via_keys(
            "records r",
            &format!("r.run_id > $1 AND r.customer_no IS NOT NULL{of}")
        ),
        via_keys(
            "records r",
            &format!(
                "r.closed_run_id IS NOT NULL AND r.closed_run_id > $1 AND r.customer_no IS NOT NULL{of}"
            )
        ),
        via_keys("card_moves r", "r.run_id > $1"),
    )
}

/// Whether runs after `$1` wrote or closed order confirmations or deliveries: they name an
/// order by its number or the customer's order reference, not the customer.
pub(crate) const FOLLOWUPS_CAME: &str = "SELECT EXISTS (SELECT 1 FROM records WHERE run_id > $1 \
     AND entity IN ('order_confirmation', 'delivery')) \
     OR EXISTS (SELECT 1 FROM records WHERE closed_run_id IS NOT NULL AND closed_run_id > $1 \
     AND entity IN ('order_confirmation', 'delivery'))";

/// Deletes the cards of every customer with an order (open or not: a delivery's change can
/// open or close one).
pub(crate) const CARDS_WITH_ORDERS: &str = "DELETE FROM customer_cards WHERE customer_id IN (\
     SELECT k.customer_id FROM records o \
     JOIN connector_systems cs ON cs.connector = o.connector \
     JOIN customer_keys k ON k.system = cs.system AND k.customer_no = o.customer_no \
     WHERE o.entity = 'order')";

/// Counts a pass that deletes cards: a card built from what was read before it is not stored.
pub(crate) const CARDS_EPOCH: &str =
    "UPDATE identity_state SET cards_epoch = cards_epoch + 1 WHERE id = 1";

/// Beyond this many records written or closed since the last pass, deleting every card is
/// cheaper than finding whose they are (they are built again as they are shown).
pub(crate) const MAX_TOUCHED_RECORDS: i64 = 200_000;

macro_rules! card_store {
    ($store:ty) => {
        #[async_trait]
        impl CardStore for $store {
            async fn card(&self, customer_id: i64, stamp: &str) -> Result<CardRead, StoreError> {
                use sqlx::Row;
                let r = sqlx::query(
                    "SELECT s.cards_epoch, s.generation, c.body, c.sources, c.orders, \
                     EXISTS (SELECT 1 FROM tickets t WHERE t.customer_id = $1) AS has_tickets, \
                     EXISTS (SELECT 1 FROM reminders m WHERE m.customer_id = $1 AND m.status <> 'done') AS has_reminders \
                     FROM identity_state s LEFT JOIN customer_cards c ON c.customer_id = $1 AND c.stamp = $2 \
                     WHERE s.id = 1",
                )
                .bind(customer_id)
                .bind(stamp)
                .fetch_one(self.pool())
                .await?;
                let body: Option<String> = r.try_get("body")?;
                let card = match body {
                    Some(body) => Some(StoredCard {
                        body,
                        sources: r.try_get("sources")?,
                        orders: r.try_get("orders")?,
                    }),
                    None => None,
                };
                Ok(CardRead {
                    epochs: CardEpochs {
                        cards: r.try_get("cards_epoch")?,
                        generation: r.try_get("generation")?,
                    },
                    card,
                    has_tickets: r.try_get("has_tickets")?,
                    has_reminders: r.try_get("has_reminders")?,
                })
            }

            async fn put_cards(&self, cards: &[NewCard]) -> Result<u64, StoreError> {
                use sqlx::Row;
                if cards.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.begin_write().await?;
                // Under a shared lock of the counters' row (PostgreSQL; SQLite's write
                // transaction excludes every other writer): a pass that deletes cards waits
                // for this to commit, or this sees the pass's counters.
                let sql = format!(
                    "SELECT cards_epoch, generation FROM identity_state WHERE id = 1{}",
                    <Self as crate::store::backend::Backend>::LOCK_SHARED
                );
                let now = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *tx).await?;
                let current = CardEpochs {
                    cards: now.try_get("cards_epoch")?,
                    generation: now.try_get("generation")?,
                };
                let now = chrono::Utc::now();
                let mut stored = 0;
                for c in cards.iter().filter(|c| c.epochs == current) {
                    stored += sqlx::query(
                        "INSERT INTO customer_cards (customer_id, stamp, body, sources, orders, built_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (customer_id) DO UPDATE SET \
                         stamp = excluded.stamp, body = excluded.body, \
                         sources = excluded.sources, orders = excluded.orders, built_at = excluded.built_at",
                    )
                    .bind(c.customer_id)
                    .bind(&c.stamp)
                    .bind(&c.card.body)
                    .bind(&c.card.sources)
                    .bind(c.card.orders.as_deref())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                tx.commit().await?;
                Ok(stored)
            }

            async fn card_stats(&self) -> Result<CardStats, StoreError> {
                let (count, bytes): (i64, Option<i64>) = sqlx::query_as(
                    "SELECT count(*), CAST(sum(length(body) + length(sources) + coalesce(length(orders), 0)) AS BIGINT) \
                     FROM customer_cards",
                )
                .fetch_one(self.pool())
                .await?;
                Ok(CardStats {
                    count: count as u64,
                    bytes: bytes.unwrap_or(0) as u64,
                })
            }

            async fn forget_cards(&self) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::forget_all_cards(&mut tx).await?;
                tx.commit().await?;
                Ok(())
            }
        }

        impl $store {
            /// In the transaction of a change of records without a run (an erasure's
            /// rewrite, a renamed or retired connector): the next resolution runs whatever
            /// its inputs say ([`crate::store::identity::INPUTS_STALE`]) and every card goes.
            pub(crate) async fn records_changed_outside_runs(
                tx: &mut <$store as crate::store::backend::Staging>::Conn,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(crate::store::identity::INPUTS_STALE).execute(&mut *tx).await?;
                // The next generation's directories load everything.
                sqlx::query(crate::store::identity::directory::FLOOR_AT_NEXT)
                    .execute(&mut *tx)
                    .await?;
                Self::forget_all_cards(tx).await
            }

            /// Deletes every card, in the transaction of a change of records outside runs
            /// (an erasure's rewrites, a renamed or retired connector).
            pub(crate) async fn forget_all_cards(
                tx: &mut <$store as crate::store::backend::Staging>::Conn,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(CARDS_EPOCH).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM customer_cards").execute(&mut *tx).await?;
                Ok(())
            }

            /// The cards part of the pass that moves the scan position past `scan_to`: counts
            /// the pass, then deletes the cards of the customers whose records runs after the
            /// stored scan position wrote, closed or moved ([`touched_customers`]) — all cards
            /// when there are more than
            /// [`MAX_TOUCHED_RECORDS`] such records — and of the customers `keys` belong
            /// to now and `customers` (whom a resolution gives them).
            pub(crate) async fn forget_touched_cards(
                tx: &mut <$store as crate::store::backend::Staging>::Conn,
                keys: &[&crate::identity::KeyId],
                customers: &[i64],
            ) -> Result<(), sqlx::Error> {
                sqlx::query(CARDS_EPOCH).execute(&mut *tx).await?;
                let scanned: i64 =
                    sqlx::query_scalar("SELECT scanned_run FROM identity_state WHERE id = 1")
                        .fetch_one(&mut *tx)
                        .await?;
                // Moves of runs up to the stored scan position were used by an earlier pass.
                sqlx::query("DELETE FROM card_moves WHERE run_id <= $1")
                    .bind(scanned)
                    .execute(&mut *tx)
                    .await?;
                let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM customer_cards)")
                    .fetch_one(&mut *tx)
                    .await?;
                if !any {
                    return Ok(());
                }
                let records: i64 = sqlx::query_scalar(
                    "SELECT (SELECT count(*) FROM records WHERE run_id > $1 AND customer_no IS NOT NULL) \
                          + (SELECT count(*) FROM records WHERE closed_run_id IS NOT NULL AND closed_run_id > $1 \
                             AND customer_no IS NOT NULL)",
                )
                .bind(scanned)
                .fetch_one(&mut *tx)
                .await?;
                if records > MAX_TOUCHED_RECORDS
                    || (keys.len() + customers.len()) as i64 > MAX_TOUCHED_RECORDS
                {
                    sqlx::query("DELETE FROM customer_cards").execute(&mut *tx).await?;
                    return Ok(());
                }
                if records > 0 {
                    let sql = format!(
                        "DELETE FROM customer_cards WHERE customer_id IN ({})",
                        touched_customers(None)
                    );
                    sqlx::query(sqlx::AssertSqlSafe(bulk!(sql))).bind(scanned).execute(&mut *tx).await?;
                }
                let followups: bool = sqlx::query_scalar(FOLLOWUPS_CAME)
                    .bind(scanned)
                    .fetch_one(&mut *tx)
                    .await?;
                if followups {
                    sqlx::query(CARDS_WITH_ORDERS).execute(&mut *tx).await?;
                }
                for chunk in keys.chunks(200) {
                    let pairs = crate::store::identity::key_pairs(1, chunk.len());
                    let sql = format!(
                        "DELETE FROM customer_cards WHERE customer_id IN \
                         (SELECT customer_id FROM customer_keys WHERE {pairs})"
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)));
                    for k in chunk {
                        q = q.bind(&k.system).bind(&k.customer_no);
                    }
                    q.execute(&mut *tx).await?;
                }
                for chunk in customers.chunks(400) {
                    let sql = format!(
                        "DELETE FROM customer_cards WHERE customer_id IN ({})",
                        crate::store::identity::in_list(1, chunk.len())
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(bulk!(sql)));
                    for id in chunk {
                        q = q.bind(id);
                    }
                    q.execute(&mut *tx).await?;
                }
                Ok(())
            }
        }
    };
}

for_each_backend!(card_store);
