//! Stored records for ops (`kontor records`): filtered by connector, entity and customer
//! number, open or also closed, with their provenance. The same SQL on both backends.

use super::{StoreError, StoredRecord};
use async_trait::async_trait;

/// Which stored records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordFilter {
    pub connector: Option<String>,
    pub entity: Option<String>,
    pub customer_no: Option<String>,
    /// Also records that left their source (`closed_at` set); without it only open ones.
    pub closed: bool,
}

#[async_trait]
pub trait BrowseStore: Send + Sync {
    /// Records matching `filter`, newest sync first; `limit` 0 = all.
    async fn find_records(
        &self,
        filter: &RecordFilter,
        limit: i64,
    ) -> Result<Vec<StoredRecord>, StoreError>;
    /// How many records match `filter`.
    async fn count_found(&self, filter: &RecordFilter) -> Result<u64, StoreError>;
}

/// The WHERE clause of a filter: parameters $1 connector, $2 entity, $3 customer number,
/// $4 closed too.
fn filter_sql(f: &RecordFilter) -> String {
    use super::optional_eq;
    format!(
        "{} AND {} AND {} AND ($4 OR closed_at IS NULL)",
        optional_eq(f.connector.is_some(), "connector", 1),
        optional_eq(f.entity.is_some(), "entity", 2),
        optional_eq(f.customer_no.is_some(), "customer_no", 3),
    )
}

macro_rules! browse_store {
    ($store:ty) => {
        #[async_trait]
        impl BrowseStore for $store {
            async fn find_records(
                &self,
                filter: &RecordFilter,
                limit: i64,
            ) -> Result<Vec<StoredRecord>, StoreError> {
                let sql = format!(
                    "SELECT * FROM records WHERE {} \
                     ORDER BY synced_at DESC, connector, entity, external_id LIMIT $5",
                    filter_sql(filter)
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(filter.connector.as_deref())
                    .bind(filter.entity.as_deref())
                    .bind(filter.customer_no.as_deref())
                    .bind(filter.closed)
                    .bind(if limit > 0 { limit } else { i64::MAX })
                    .fetch_all(self.pool())
                    .await?;
                Ok(rows
                    .iter()
                    .map(StoredRecord::from_row)
                    .collect::<Result<_, sqlx::Error>>()?)
            }

            async fn count_found(&self, filter: &RecordFilter) -> Result<u64, StoreError> {
                let sql = format!("SELECT count(*) FROM records WHERE {}", filter_sql(filter));
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(filter.connector.as_deref())
                    .bind(filter.entity.as_deref())
                    .bind(filter.customer_no.as_deref())
                    .bind(filter.closed)
                    .fetch_one(self.pool())
                    .await?;
                Ok(n.max(0) as u64)
            }
        }
    };
}

for_each_backend!(browse_store);
