//! Open orders of a merged customer with their lines: promised dates moved by order
//! confirmations (openTRANS ORDERRESPONSE, from any connector), delivered quantities from
//! dispatch notifications, and the current availability of each item.

use super::documents::{best_of, dedupe};
use super::{Money, Policy, Provenance, number_of};
use crate::model::Entity;
use crate::model::typed::{
    ConfirmationLine, Delivery, DeliveryLine, Order, OrderConfirmation, OrderLine, OrderLineItem,
    Stock,
};
use crate::store::{DynStore, StoreError, StoredRecord};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// Current stock of the item (all warehouses); read live, also for a stored card.
    #[serde(skip_deserializing)]
    pub availability: Option<Availability>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
    let mut rs: Vec<(&StoredRecord, Stock)> = stock
        .iter()
        .filter(|r| r.closed_at.is_none())
        .map(|r| (*r, r.read::<Stock>()))
        .filter(|(_, d)| d.sku.as_deref() == Some(sku))
        .collect();
    if rs.is_empty() {
        return None;
    }
    rs.sort_by(|(a, _), (b, _)| {
        (&a.connector, &a.external_id).cmp(&(&b.connector, &b.external_id))
    });
    let warehouses: Vec<WarehouseStock> = rs
        .iter()
        .map(|(r, d)| WarehouseStock {
            warehouse: d.warehouse.clone().unwrap_or_default(),
            on_hand: d.on_hand.unwrap_or_default(),
            available: d.available.or(d.on_hand).unwrap_or_default(),
            next_receipt_date: d.next_receipt_date,
            source: Provenance::of(r),
        })
        .collect();
    Some(Availability {
        sku: sku.to_owned(),
        description: rs.iter().find_map(|(_, d)| d.description.clone()),
        ean: rs.iter().find_map(|(_, d)| d.ean.clone()),
        on_hand: warehouses.iter().map(|w| w.on_hand).sum(),
        available: warehouses.iter().map(|w| w.available).sum(),
        unit: rs.iter().find_map(|(_, d)| d.unit.clone()),
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

/// An order line delivered as a record of its own, as the line of its order.
pub(super) fn item_of(l: OrderLine) -> OrderLineItem {
    OrderLineItem {
        line_no: l.line_no,
        sku: l.sku,
        description: l.description,
        quantity: l.quantity,
        delivered_quantity: l.delivered_quantity,
        unit: l.unit,
        promised_date: l.promised_date,
        extra: l.extra,
    }
}

fn line_of(l: OrderLineItem) -> OrderLineView {
    OrderLineView {
        line_no: l.line_no,
        sku: l.sku,
        description: l.description,
        quantity: l.quantity,
        delivered_quantity: l.delivered_quantity,
        open_quantity: None,
        unit: l.unit,
        promised_date: l.promised_date,
        promised_date_before: None,
        promised_date_source: None,
        availability: None,
    }
}

/// The line of `lines` a confirmation or delivery line means: same line number, else the
/// only line with the same item.
fn find_line(lines: &[OrderLineView], no: &Option<String>, sku: &Option<String>) -> Option<usize> {
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

/// An order confirmation or a delivery: what moves an order's promised dates and delivered
/// quantities.
enum Followup {
    Confirmation(OrderConfirmation),
    Delivery(Delivery),
}

impl Followup {
    fn read(r: &StoredRecord) -> Option<Followup> {
        match Entity::parse(&r.entity)? {
            Entity::OrderConfirmation => Some(Followup::Confirmation(r.read())),
            Entity::Delivery => Some(Followup::Delivery(r.read())),
            _ => None,
        }
    }

    /// When it was confirmed or dispatched: followups apply in this order.
    fn date(&self) -> Option<NaiveDate> {
        match self {
            Followup::Confirmation(c) => c.confirmation_date,
            Followup::Delivery(d) => d.dispatch_date,
        }
    }
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
        Orders::One => best_of(orders, policy, false).into_iter().collect(),
        Orders::Open => dedupe(orders, policy, false)
            .into_iter()
            .filter(|(r, _)| {
                let s = r.head::<Order>().status.unwrap_or_default();
                !["closed", "cancelled", "delivered"].contains(&s.as_str())
            })
            .collect(),
    };
    let open: Vec<(&StoredRecord, Order, Vec<Provenance>)> = open
        .into_iter()
        .map(|(r, also_in)| (r, r.read(), also_in))
        .collect();
    let mut refs: BTreeSet<String> = BTreeSet::new();
    for (_, d, _) in &open {
        refs.extend(d.number.clone());
        refs.extend(d.customer_order_ref.clone());
    }
    let refs: Vec<String> = refs.into_iter().collect();
    let followups = if refs.is_empty() {
        Vec::new()
    } else {
        store
            .records_by_ref(&["order_confirmation", "delivery"], &refs)
            .await?
    };
    let followups: Vec<(&StoredRecord, Followup)> = {
        let mut f: Vec<(&StoredRecord, Followup)> = followups
            .iter()
            .filter(|f| f.closed_at.is_none())
            .filter_map(|f| Some((f, Followup::read(f)?)))
            .collect();
        f.sort_by_key(|(r, f)| (f.date(), r.synced_at));
        f
    };
    let mut views = Vec::new();
    for (r, d, also_in) in open {
        let number = number_of(r);
        let po = d.customer_order_ref.clone();
        let mut lines: Vec<OrderLineView> = if d.lines.is_empty() {
            let mut ls: Vec<OrderLine> = order_lines
                .iter()
                .filter(|l| l.connector == r.connector && l.closed_at.is_none())
                .map(|l| l.read::<OrderLine>())
                .filter(|l| l.order_number.as_deref() == Some(number.as_str()))
                .collect();
            ls.sort_by_key(|l| {
                let n = l.line_no.clone().unwrap_or_default();
                (n.len(), n)
            });
            ls.into_iter().map(|l| line_of(item_of(l))).collect()
        } else {
            d.lines.into_iter().map(line_of).collect()
        };
        let mut view = OrderView {
            promised_date: d.promised_date,
            promised_date_before: None,
            number: number.clone(),
            order_date: d.order_date,
            status: d.status.unwrap_or_else(|| "open".into()),
            customer_order_ref: po.clone(),
            next_delivery_date: None,
            total: Money::of(&d.total, &d.currency),
            lines: Vec::new(),
            source: Provenance::of(r),
            also_in,
            confirmations: Vec::new(),
            deliveries: Vec::new(),
        };
        let means_this = |c: &OrderConfirmation| {
            let on = &c.order_number;
            on.as_deref() == Some(number.as_str())
                || c.supplier_order_number.as_deref() == Some(number.as_str())
                || (po.is_some() && on == &po)
        };
        let mut delivered: BTreeMap<usize, Decimal> = BTreeMap::new();
        for (f, fd) in &followups {
            if let Followup::Confirmation(c) = fd
                && means_this(c)
            {
                if let Some(p) = c.promised_date
                    && view.promised_date != Some(p)
                {
                    view.promised_date_before = view.promised_date_before.or(view.promised_date);
                    view.promised_date = Some(p);
                }
                for cl in &c.lines {
                    let ConfirmationLine {
                        line_no,
                        sku,
                        promised_date,
                        ..
                    } = cl;
                    let Some(p) = *promised_date else {
                        continue;
                    };
                    if let Some(i) = find_line(&lines, line_no, sku)
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
            } else if let Followup::Delivery(dv) = fd {
                let header = &dv.order_number;
                let mut used = false;
                for dl in &dv.lines {
                    let DeliveryLine {
                        line_no,
                        order_number,
                        sku,
                        quantity,
                        ..
                    } = dl;
                    let on = order_number.clone().or_else(|| header.clone());
                    if on.as_deref() != Some(number.as_str()) && (po.is_none() || on != po) {
                        continue;
                    }
                    let Some(q) = *quantity else {
                        continue;
                    };
                    let Some(i) = find_line(&lines, line_no, sku) else {
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
    fill_availability(store, &mut views).await?;
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

/// The current availability of every item on the orders' lines (one read of the stock).
pub(super) async fn fill_availability(
    store: &DynStore,
    views: &mut [OrderView],
) -> Result<(), StoreError> {
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
        for v in views.iter_mut() {
            for l in &mut v.lines {
                if let Some(sku) = &l.sku {
                    l.availability = availability(sku, &stock);
                }
            }
        }
    }
    Ok(())
}
