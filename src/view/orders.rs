//! Open orders of a merged customer with their lines: promised dates moved by order
//! confirmations (openTRANS ORDERRESPONSE, from any connector), delivered quantities from
//! dispatch notifications, and the current availability of each item.

use super::documents::{best_of, dedupe};
use super::{Money, Policy, Provenance, date, decimal, money, number_of, text};
use crate::store::{DynStore, StoreError, StoredRecord};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderLineView {
    pub line_no: Option<String>,
    pub sku: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<String>)]
    pub quantity: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub delivered_quantity: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub open_quantity: Option<Decimal>,
    pub unit: Option<String>,
    pub promised_date: Option<NaiveDate>,
    /// The date before an order confirmation moved it.
    pub promised_date_before: Option<NaiveDate>,
    /// The confirmation that set `promised_date`.
    pub promised_date_source: Option<Provenance>,
    /// Current stock of the item (all warehouses).
    pub availability: Option<Availability>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub number: String,
    pub order_date: Option<NaiveDate>,
    pub status: String,
    pub customer_order_ref: Option<String>,
    pub promised_date: Option<NaiveDate>,
    pub promised_date_before: Option<NaiveDate>,
    /// The earliest promised date of a line still to deliver.
    pub next_delivery_date: Option<NaiveDate>,
    pub total: Option<Money>,
    pub lines: Vec<OrderLineView>,
    pub source: Provenance,
    pub also_in: Vec<Provenance>,
    /// Order confirmations and dispatch notifications applied to this order.
    pub confirmations: Vec<Provenance>,
    pub deliveries: Vec<Provenance>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WarehouseStock {
    pub warehouse: String,
    #[schema(value_type = String)]
    pub on_hand: Decimal,
    #[schema(value_type = String)]
    pub available: Decimal,
    pub next_receipt_date: Option<NaiveDate>,
    pub source: Provenance,
}

/// Stock of one item over all warehouses (`GET /api/v1/items/{sku}/availability`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Availability {
    pub sku: String,
    pub description: Option<String>,
    /// The item's EAN/GTIN, when a source gives it.
    pub ean: Option<String>,
    #[schema(value_type = String)]
    pub on_hand: Decimal,
    #[schema(value_type = String)]
    pub available: Decimal,
    pub unit: Option<String>,
    /// The earliest expected receipt.
    pub next_receipt_date: Option<NaiveDate>,
    pub warehouses: Vec<WarehouseStock>,
    /// Item search: the open orders waiting for it, soonest promised first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting_orders: Vec<super::items::WaitingOrder>,
}

/// Availability of `sku` from its stock records (`None` without any).
pub fn availability(sku: &str, stock: &[&StoredRecord]) -> Option<Availability> {
    let mut rs: Vec<&&StoredRecord> = stock
        .iter()
        .filter(|r| r.closed_at.is_none() && text(&r.data, "sku").as_deref() == Some(sku))
        .collect();
    if rs.is_empty() {
        return None;
    }
    rs.sort_by(|a, b| (&a.connector, &a.external_id).cmp(&(&b.connector, &b.external_id)));
    let warehouses: Vec<WarehouseStock> = rs
        .iter()
        .map(|r| WarehouseStock {
            warehouse: text(&r.data, "warehouse").unwrap_or_default(),
            on_hand: decimal(&r.data, "on_hand").unwrap_or_default(),
            available: decimal(&r.data, "available")
                .or_else(|| decimal(&r.data, "on_hand"))
                .unwrap_or_default(),
            next_receipt_date: date(&r.data, "next_receipt_date"),
            source: Provenance::of(r),
        })
        .collect();
    Some(Availability {
        sku: sku.to_owned(),
        description: rs.iter().find_map(|r| text(&r.data, "description")),
        ean: rs.iter().find_map(|r| text(&r.data, "ean")),
        on_hand: warehouses.iter().map(|w| w.on_hand).sum(),
        available: warehouses.iter().map(|w| w.available).sum(),
        unit: rs.iter().find_map(|r| text(&r.data, "unit")),
        next_receipt_date: warehouses.iter().filter_map(|w| w.next_receipt_date).min(),
        warehouses,
        waiting_orders: Vec::new(),
    })
}

/// `00001` and `1` are the same line.
fn same_line(a: &str, b: &str) -> bool {
    let t = |s: &str| s.trim().trim_start_matches('0').to_owned();
    a == b || (!t(a).is_empty() && t(a) == t(b))
}

pub(super) fn line_of(l: &Value) -> OrderLineView {
    OrderLineView {
        line_no: text(l, "line_no"),
        sku: text(l, "sku"),
        description: text(l, "description"),
        quantity: decimal(l, "quantity"),
        delivered_quantity: decimal(l, "delivered_quantity"),
        open_quantity: None,
        unit: text(l, "unit"),
        promised_date: date(l, "promised_date"),
        promised_date_before: None,
        promised_date_source: None,
        availability: None,
    }
}

/// The line of `lines` a confirmation or delivery line means: same line number, else the
/// only line with the same item.
fn find_line(lines: &[OrderLineView], l: &Value) -> Option<usize> {
    let no = text(l, "line_no");
    let sku = text(l, "sku");
    let by_no = no.as_ref().and_then(|n| {
        lines
            .iter()
            .position(|x| x.line_no.as_deref().is_some_and(|x| same_line(x, n)))
    });
    by_no.or_else(|| {
        let sku = sku.as_ref()?;
        let hits: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].sku.as_ref() == Some(sku))
            .collect();
        (hits.len() == 1).then(|| hits[0])
    })
}

/// Which orders [`build`] shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Orders {
    /// Those still to be delivered (the merged view).
    Open,
    /// `orders` are the records of one order: it, whatever its state (a document opened
    /// from the timeline).
    One,
}

pub(super) async fn build(
    store: &DynStore,
    orders: &[&StoredRecord],
    order_lines: &[&StoredRecord],
    policy: &Policy,
    which: Orders,
) -> Result<Vec<OrderView>, StoreError> {
    let open: Vec<(&StoredRecord, Vec<Provenance>)> = match which {
        Orders::One => best_of(orders, policy, None).into_iter().collect(),
        Orders::Open => dedupe(orders, policy, None)
            .into_iter()
            .filter(|(r, _)| {
                let s = text(&r.data, "status").unwrap_or_default();
                !["closed", "cancelled", "delivered"].contains(&s.as_str())
            })
            .collect(),
    };
    let mut refs: BTreeSet<String> = BTreeSet::new();
    for (r, _) in &open {
        refs.extend(text(&r.data, "number"));
        refs.extend(text(&r.data, "customer_order_ref"));
    }
    let refs: Vec<String> = refs.into_iter().collect();
    let mut followups = if refs.is_empty() {
        Vec::new()
    } else {
        store
            .records_by_ref(&["order_confirmation", "delivery"], &refs)
            .await?
    };
    followups.sort_by(|a, b| {
        let key = |r: &StoredRecord| {
            (
                date(&r.data, "confirmation_date").or_else(|| date(&r.data, "dispatch_date")),
                r.synced_at,
            )
        };
        key(a).cmp(&key(b))
    });
    let mut views = Vec::new();
    for (r, also_in) in open {
        let d = &r.data;
        let number = number_of(r);
        let po = text(d, "customer_order_ref");
        let mut lines: Vec<OrderLineView> = match d.get("lines").and_then(Value::as_array) {
            Some(ls) if !ls.is_empty() => ls.iter().map(line_of).collect(),
            _ => {
                let mut ls: Vec<&&StoredRecord> = order_lines
                    .iter()
                    .filter(|l| {
                        l.connector == r.connector
                            && l.closed_at.is_none()
                            && text(&l.data, "order_number").as_deref() == Some(number.as_str())
                    })
                    .collect();
                ls.sort_by_key(|l| {
                    let n = text(&l.data, "line_no").unwrap_or_default();
                    (n.len(), n)
                });
                ls.iter().map(|l| line_of(&l.data)).collect()
            }
        };
        let mut view = OrderView {
            promised_date: date(d, "promised_date"),
            promised_date_before: None,
            number: number.clone(),
            order_date: date(d, "order_date"),
            status: text(d, "status").unwrap_or_else(|| "open".into()),
            customer_order_ref: po.clone(),
            next_delivery_date: None,
            total: money(d, "total"),
            lines: Vec::new(),
            source: Provenance::of(r),
            also_in,
            confirmations: Vec::new(),
            deliveries: Vec::new(),
        };
        let means_this = |f: &StoredRecord| {
            let on = text(&f.data, "order_number");
            let ours = text(&f.data, "supplier_order_number");
            on.as_deref() == Some(number.as_str())
                || ours.as_deref() == Some(number.as_str())
                || (po.is_some() && on == po)
        };
        let mut delivered: BTreeMap<usize, Decimal> = BTreeMap::new();
        for f in followups.iter().filter(|f| f.closed_at.is_none()) {
            let fd = &f.data;
            if f.entity == "order_confirmation" && means_this(f) {
                if let Some(p) = date(fd, "promised_date")
                    && view.promised_date != Some(p)
                {
                    view.promised_date_before = view.promised_date_before.or(view.promised_date);
                    view.promised_date = Some(p);
                }
                for cl in fd
                    .get("lines")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(p) = date(cl, "promised_date") else {
                        continue;
                    };
                    if let Some(i) = find_line(&lines, cl)
                        && lines[i].promised_date != Some(p)
                    {
                        let line = &mut lines[i];
                        line.promised_date_before =
                            line.promised_date_before.or(line.promised_date);
                        line.promised_date = Some(p);
                        line.promised_date_source = Some(Provenance::of(f));
                    }
                }
                view.confirmations.push(Provenance::of(f));
            } else if f.entity == "delivery" {
                let header = text(fd, "order_number");
                let mut used = false;
                for dl in fd
                    .get("lines")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let on = text(dl, "order_number").or_else(|| header.clone());
                    if on.as_deref() != Some(number.as_str()) && (po.is_none() || on != po) {
                        continue;
                    }
                    let Some(q) = decimal(dl, "quantity") else {
                        continue;
                    };
                    let Some(i) = find_line(&lines, dl) else {
                        continue;
                    };
                    *delivered.entry(i).or_default() += q;
                    used = true;
                }
                if used {
                    view.deliveries.push(Provenance::of(f));
                }
            }
        }
        for (i, line) in lines.iter_mut().enumerate() {
            if let Some(q) = delivered.get(&i) {
                line.delivered_quantity = Some(line.delivered_quantity.unwrap_or_default().max(*q));
            }
            line.open_quantity = line
                .quantity
                .map(|q| (q - line.delivered_quantity.unwrap_or_default()).max(Decimal::ZERO));
            if line.promised_date.is_none() {
                line.promised_date = view.promised_date;
            }
        }
        let to_deliver = |l: &&OrderLineView| l.open_quantity.is_none_or(|q| q > Decimal::ZERO);
        if which == Orders::Open && !lines.is_empty() && !lines.iter().any(|l| to_deliver(&l)) {
            continue; // everything delivered
        }
        view.next_delivery_date = lines
            .iter()
            .filter(to_deliver)
            .filter_map(|l| l.promised_date)
            .min()
            .or(view.promised_date);
        view.lines = lines;
        views.push(view);
    }
    // Availability of every item on an open line.
    let skus: Vec<String> = views
        .iter()
        .flat_map(|v| v.lines.iter().filter_map(|l| l.sku.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !skus.is_empty() {
        let stock = store.records_by_ref(&["stock"], &skus).await?;
        let stock: Vec<&StoredRecord> = stock.iter().collect();
        for v in &mut views {
            for l in &mut v.lines {
                if let Some(sku) = &l.sku {
                    l.availability = availability(sku, &stock);
                }
            }
        }
    }
    views.sort_by(|a, b| {
        (
            a.next_delivery_date.is_none(),
            a.next_delivery_date,
            &a.number,
        )
            .cmp(&(
                b.next_delivery_date.is_none(),
                b.next_delivery_date,
                &b.number,
            ))
    });
    Ok(views)
}
