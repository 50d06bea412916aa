//! One document of a merged customer, opened from the card or the timeline
//! (`GET /api/v1/customers/{id}/documents/{kind}/{number}`): its dates, amounts and lines,
//! where it comes from, and the documents it refers to or that refer to it. A document that
//! left its source (a paid invoice, a delivered order) still opens.

use super::documents::{ExtraField, best_of, extras};
use super::orders::{Orders, build};
use super::{
    Known, Money, OrderView, Provenance, ViewContext, date, decimal, money, number_of, text, texts,
};
use crate::store::{DynStore, StoreError, StoredRecord};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

/// The kinds of documents that open (entity names).
pub const DOCUMENT_KINDS: &[&str] = &["invoice", "credit_note", "order", "quote"];

/// A line of an invoice or credit note.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocumentLine {
    pub line_no: Option<String>,
    pub sku: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<String>)]
    pub quantity: Option<Decimal>,
    pub unit: Option<String>,
    pub net: Option<Money>,
}

/// Another document of the customer this one refers to, or that refers to it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub struct DocumentRef {
    /// `invoice`, `credit_note`, `order`, `delivery` or `quote`.
    pub kind: String,
    pub number: String,
    /// How they are related: `order` (the order it bills), `invoice` (the invoice it
    /// credits), `supersedes`, `superseded_by`, `invoiced_by`, `credited_by`, `delivered_by`,
    /// `became_order` (an accepted quote's order), `from_quote` (the quote an order came from).
    pub relation: String,
}

/// One invoice, credit note, order or quote.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocumentView {
    /// `invoice`, `credit_note`, `order` or `quote`.
    pub kind: String,
    pub number: String,
    pub issue_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    /// Quotes: until when the offer stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<NaiveDate>,
    /// As the source says (`open`, `paid`, …; orders: `open`, `delivered`, …); quotes as of
    /// today (`expired` once `valid_until` passed).
    pub status: Option<String>,
    /// When it left its source (an open-items list that no longer names it: paid or settled).
    pub closed_at: Option<DateTime<Utc>>,
    pub net: Option<Money>,
    pub tax: Option<Money>,
    pub gross: Option<Money>,
    pub open_amount: Option<Money>,
    pub dunning_level: Option<i64>,
    pub buyer_reference: Option<String>,
    /// Invoices and credit notes: their lines.
    pub lines: Vec<DocumentLine>,
    /// Orders: the order with its lines, confirmed dates, deliveries and availability.
    pub order: Option<OrderView>,
    pub related: Vec<DocumentRef>,
    /// What the source document gets wrong (EN 16931 rules), never a reason to refuse it.
    pub warnings: Vec<String>,
    pub extra: Vec<ExtraField>,
    pub source: Provenance,
    pub also_in: Vec<Provenance>,
}

fn line(l: &Value, currency: Option<&str>) -> DocumentLine {
    DocumentLine {
        line_no: text(l, "line_no"),
        sku: text(l, "sku"),
        description: text(l, "description"),
        quantity: decimal(l, "quantity"),
        unit: text(l, "unit"),
        net: money(l, "net").map(|mut m| {
            if let Some(c) = currency {
                m.currency = c.to_owned();
            }
            m
        }),
    }
}

/// What refers to `number` (of `kind`) among the customer's `records`, and what it refers to
/// (only documents the customer has: an invoice's order reference may be the buyer's order
/// number, which names our order by its `customer_order_ref`).
fn related(
    kind: &str,
    number: &str,
    best: &StoredRecord,
    records: &[StoredRecord],
) -> Vec<DocumentRef> {
    let r = |kind: &str, number: String, relation: &str| DocumentRef {
        kind: kind.to_owned(),
        number,
        relation: relation.to_owned(),
    };
    let d = &best.data;
    // (the field of this document, the entity it names, how)
    let refers_to: &[(&str, &str, &str)] = match kind {
        "invoice" => &[
            ("order_ref", "order", "order"),
            ("supersedes", "invoice", "supersedes"),
        ],
        "credit_note" => &[("invoice_ref", "invoice", "invoice")],
        "quote" => &[("order_ref", "order", "became_order")],
        _ => &[],
    };
    let mut out = Vec::new();
    let po = text(d, "customer_order_ref");
    for other in records {
        let od = &other.data;
        let other_no = number_of(other);
        for (field, entity, relation) in refers_to {
            let Some(reference) = text(d, field) else {
                continue;
            };
            let names = other_no == reference
                || (*entity == "order"
                    && text(od, "customer_order_ref").as_deref() == Some(&reference));
            if other.entity == *entity && names {
                out.push(r(entity, other_no.clone(), relation));
            }
        }
        let refers = |field: &str| text(od, field).as_deref() == Some(number);
        let rel = match (kind, other.entity.as_str()) {
            ("invoice", "credit_note") if refers("invoice_ref") => "credited_by",
            ("invoice", "invoice") if refers("supersedes") => "superseded_by",
            ("order", "invoice")
                if refers("order_ref") || (po.is_some() && text(od, "order_ref") == po) =>
            {
                "invoiced_by"
            }
            ("order", "delivery") if refers("order_number") => "delivered_by",
            ("order", "quote")
                if refers("order_ref") || text(d, "quote_ref").as_deref() == Some(&other_no) =>
            {
                "from_quote"
            }
            ("quote", "order") if refers("quote_ref") => "became_order",
            _ => continue,
        };
        out.push(r(&other.entity, other_no, rel));
    }
    out.sort();
    out.dedup();
    out
}

/// The document `kind`/`number` of the customer whose keys are `known`; `None` when the
/// customer has no such document.
pub async fn document(
    store: &DynStore,
    ctx: &ViewContext,
    known: Known<'_>,
    kind: &str,
    number: &str,
    today: NaiveDate,
) -> Result<Option<DocumentView>, StoreError> {
    if !DOCUMENT_KINDS.contains(&kind) {
        return Ok(None);
    }
    let records = store.records_of(&known.record_pairs()).await?;
    let group: Vec<&StoredRecord> = records
        .iter()
        .filter(|r| r.entity == kind && number_of(r) == number)
        .collect();
    // A record still in its source tells the present; one that left it, the past.
    let open: Vec<&StoredRecord> = group
        .iter()
        .filter(|r| r.closed_at.is_none())
        .copied()
        .collect();
    let pool = if open.is_empty() { &group } else { &open };
    let Some((best, mut also_in)) = best_of(pool, &ctx.policy, Some("open_amount")) else {
        return Ok(None);
    };
    also_in.extend(
        group
            .iter()
            .filter(|r| !pool.iter().any(|p| std::ptr::eq(*p, **r)))
            .map(|r| Provenance::of(r)),
    );
    let d = &best.data;
    let order = if kind == "order" {
        let lines: Vec<&StoredRecord> = records
            .iter()
            .filter(|r| r.entity == "order_line")
            .collect();
        build(store, pool, &lines, &ctx.policy, Orders::One)
            .await?
            .into_iter()
            .next()
    } else {
        None
    };
    let currency = text(d, "currency");
    let lines = d
        .get("lines")
        .and_then(Value::as_array)
        .map(|ls| ls.iter().map(|l| line(l, currency.as_deref())).collect())
        .unwrap_or_default();
    Ok(Some(DocumentView {
        kind: kind.to_owned(),
        number: number.to_owned(),
        issue_date: date(d, "issue_date")
            .or_else(|| date(d, "order_date"))
            .or_else(|| date(d, "quote_date")),
        due_date: date(d, "due_date"),
        valid_until: date(d, "valid_until"),
        status: if kind == "quote" {
            let orders: Vec<&StoredRecord> =
                records.iter().filter(|r| r.entity == "order").collect();
            let ordered = super::quotes::ordered_quotes(&orders).contains(number);
            Some(super::quote_status(d, today, ordered))
        } else {
            text(d, "status")
        },
        closed_at: best.closed_at,
        net: money(d, "net"),
        tax: money(d, "tax"),
        gross: money(d, "gross").or_else(|| money(d, "total")),
        open_amount: money(d, "open_amount"),
        dunning_level: d.get("dunning_level").and_then(Value::as_i64),
        buyer_reference: text(d, "buyer_reference"),
        lines,
        order,
        related: related(kind, number, best, &records),
        warnings: texts(d, "warnings"),
        extra: extras(best, &ctx.labels),
        source: Provenance::of(best),
        also_in,
    }))
}
