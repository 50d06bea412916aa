//! Stock search (`kontor item`, `GET /api/v1/items?q=`): an item by its number (exactly as
//! written, leading zeros kept), its EAN, the start of its number or words of its name, with
//! its stock per warehouse.

use super::number_of;
use super::orders::item_of;
use super::orders::{Availability, availability};
use crate::identity::normalize::fold;
use crate::model::typed::{Order, OrderLine, OrderLineItem, Stock};
use crate::store::{DynStore, RecordFilter, StoreError, StoredRecord};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// An open order line that waits for an item.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WaitingOrder {
    pub order_number: String,
    pub connector: String,
    pub customer_no: Option<String>,
    /// The merged customer (the API fills it in from its directory).
    pub customer_id: Option<i64>,
    pub customer_name: Option<String>,
    /// Ordered and not yet delivered.
    #[schema(value_type = String)]
    pub open_quantity: Decimal,
    pub promised_date: Option<NaiveDate>,
}

/// The open orders whose lines wait for one of `skus` (soonest promised first), by item.
/// Reads the open orders once.
pub async fn waiting_orders(
    store: &DynStore,
    skus: &BTreeSet<String>,
) -> Result<BTreeMap<String, Vec<WaitingOrder>>, StoreError> {
    let mut out: BTreeMap<String, Vec<WaitingOrder>> = BTreeMap::new();
    if skus.is_empty() {
        return Ok(out);
    }
    let of = |entity: &str| RecordFilter {
        entity: Some(entity.into()),
        ..RecordFilter::default()
    };
    let (order_filter, line_filter) = (of("order"), of("order_line"));
    let (orders, lines) = tokio::try_join!(
        store.find_records(&order_filter, 0),
        store.find_records(&line_filter, 0),
    )?;
    // Orders still to be delivered: (connector, number) → (customer, promised date).
    let mut open: BTreeMap<(&str, String), (&StoredRecord, Option<NaiveDate>)> = BTreeMap::new();
    // (the record, the order number it names, the line)
    let mut found: Vec<(&StoredRecord, Option<String>, OrderLineItem)> = Vec::new();
    for o in &orders {
        let d: Order = o.read();
        let status = d.status.unwrap_or_default();
        if ["closed", "cancelled", "delivered"].contains(&status.as_str()) {
            continue;
        }
        let number = number_of(o);
        open.insert((&o.connector, number.clone()), (o, d.promised_date));
        for l in d.lines {
            found.push((o, Some(number.clone()), l));
        }
    }
    for l in &lines {
        let d: OrderLine = l.read();
        found.push((l, d.order_number.clone(), item_of(d)));
    }
    for (r, number, line) in found {
        let Some(sku) = line.sku.clone().filter(|s| skus.contains(s)) else {
            continue;
        };
        let Some(number) = number else {
            continue;
        };
        let Some((order, promised)) = open.get(&(r.connector.as_str(), number.clone())) else {
            continue;
        };
        let ordered = line.quantity.unwrap_or_default();
        let open_quantity = ordered - line.delivered_quantity.unwrap_or_default();
        if open_quantity <= Decimal::ZERO {
            continue;
        }
        out.entry(sku).or_default().push(WaitingOrder {
            order_number: number,
            connector: order.connector.clone(),
            customer_no: order.customer_no.clone(),
            customer_id: None,
            customer_name: None,
            open_quantity,
            promised_date: line.promised_date.or(*promised),
        });
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| {
            (a.promised_date.is_none(), a.promised_date, &a.order_number).cmp(&(
                b.promised_date.is_none(),
                b.promised_date,
                &b.order_number,
            ))
        });
    }
    Ok(out)
}

/// How an item matched a query, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    /// The item number in another case (`0815-a`).
    Number,
    /// The item number without its leading zeros (`123` for `000123`): how people type it.
    NumberWithoutZeros,
    Ean,
    /// The item number starts with the query.
    NumberPrefix,
    /// Every word of the query is in the name.
    Name,
}

fn rank(query: &str, words: &[String], sku: &str, recs: &[Stock]) -> Option<Rank> {
    let q = fold(query);
    let f_sku = fold(sku);
    if f_sku == q {
        return Some(Rank::Number);
    }
    let unpadded = |s: &str| s.trim_start_matches('0').to_owned();
    if !unpadded(&q).is_empty() && unpadded(&q) == unpadded(&f_sku) {
        return Some(Rank::NumberWithoutZeros);
    }
    let digits: String = query.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 8
        && digits.len() == query.chars().filter(|c| !c.is_whitespace()).count()
        && recs
            .iter()
            .any(|r| r.ean.as_ref().is_some_and(|e| e.trim() == digits))
    {
        return Some(Rank::Ean);
    }
    if f_sku.starts_with(&q) {
        return Some(Rank::NumberPrefix);
    }
    let name = recs.iter().find_map(|r| r.description.clone())?;
    let name = fold(&name);
    (!words.is_empty() && words.iter().all(|w| name.contains(w.as_str()))).then_some(Rank::Name)
}

/// Items matching `query`, best first, at most `limit`. An item number written exactly is
/// answered from the index alone; otherwise the open stock records are read and matched.
pub async fn find_items(
    store: &DynStore,
    query: &str,
    limit: usize,
) -> Result<Vec<Availability>, StoreError> {
    let q = query.trim();
    if q.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let exact = store
        .records_by_ref(&["stock"], std::slice::from_ref(&q.to_owned()))
        .await?;
    let refs: Vec<&StoredRecord> = exact.iter().collect();
    if let Some(a) = availability(q, &refs) {
        return Ok(vec![a]);
    }
    let filter = RecordFilter {
        entity: Some("stock".into()),
        ..RecordFilter::default()
    };
    let all = store.find_records(&filter, 0).await?;
    // sku → (its records, what they say)
    let mut by_sku: BTreeMap<String, (Vec<&StoredRecord>, Vec<Stock>)> = BTreeMap::new();
    for r in &all {
        let d: Stock = r.read();
        if let Some(sku) = d.sku.clone() {
            let e = by_sku.entry(sku).or_default();
            e.0.push(r);
            e.1.push(d);
        }
    }
    let words: Vec<String> = fold(q).split_whitespace().map(str::to_owned).collect();
    let mut hits: Vec<(Rank, &String)> = by_sku
        .iter()
        .filter_map(|(sku, (_, stock))| Some((rank(q, &words, sku, stock)?, sku)))
        .collect();
    hits.sort();
    Ok(hits
        .into_iter()
        .take(limit)
        .filter_map(|(_, sku)| availability(sku, &by_sku[sku].0))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::{Rank, rank};

    /// Found by a new ops person: `kontor item 123` found nothing for item `000123`.
    #[test]
    fn an_item_number_is_found_without_its_leading_zeros() {
        assert_eq!(
            rank("123", &[], "000123", &[]),
            Some(Rank::NumberWithoutZeros)
        );
        assert_eq!(rank("0042", &[], "42", &[]), Some(Rank::NumberWithoutZeros));
        assert_eq!(rank("000123", &[], "000123", &[]), Some(Rank::Number));
        assert_eq!(rank("0", &[], "000", &[]), Some(Rank::NumberPrefix));
        assert_eq!(rank("1230", &[], "000123", &[]), None);
    }
}
