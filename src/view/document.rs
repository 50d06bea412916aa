//! One document of a merged customer, opened from the card or the timeline
//! (`GET /api/v1/customers/{id}/documents/{kind}/{number}`): its dates, amounts and lines,
//! where it comes from, and the documents it refers to or that refer to it. A document that
//! left its source (a paid invoice, a delivered order) still opens.

use super::documents::{ExtraField, best_of, extras};
use super::orders::{Orders, build};
use super::{Known, Money, OrderView, Provenance, ViewContext, number_of};
use crate::model::Entity;
use crate::model::typed::{Amount, CreditNote, Delivery, DocLine, Invoice, Order, Quote, Record};
use crate::store::{DynStore, StoreError, StoredRecord};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

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

fn line(l: &DocLine, currency: &Option<String>) -> DocumentLine {
    DocumentLine {
        line_no: l.line_no.clone(),
        sku: l.sku.clone(),
        description: l.description.clone(),
        quantity: l.quantity,
        unit: l.unit.clone(),
        // A line is in its document's currency.
        net: Money::of(&l.net, &None).map(|mut m| {
            if let Some(c) = currency {
                m.currency = c.clone();
            }
            m
        }),
    }
}

/// What a record of the customer names by number: the references `related` follows.
#[derive(Default)]
struct Refs {
    order_ref: Option<String>,
    supersedes: Option<String>,
    invoice_ref: Option<String>,
    order_number: Option<String>,
    quote_ref: Option<String>,
    customer_order_ref: Option<String>,
}

fn refs(r: &StoredRecord) -> Refs {
    match Entity::parse(&r.entity) {
        Some(Entity::Invoice) => {
            let d: Invoice = r.head();
            Refs {
                order_ref: d.order_ref,
                supersedes: d.supersedes,
                ..Refs::default()
            }
        }
        Some(Entity::CreditNote) => Refs {
            invoice_ref: r.head::<CreditNote>().invoice_ref,
            ..Refs::default()
        },
        Some(Entity::Quote) => Refs {
            order_ref: r.head::<Quote>().order_ref,
            ..Refs::default()
        },
        Some(Entity::Order) => {
            let d: Order = r.head();
            Refs {
                quote_ref: d.quote_ref,
                customer_order_ref: d.customer_order_ref,
                ..Refs::default()
            }
        }
        Some(Entity::Delivery) => Refs {
            order_number: r.head::<Delivery>().order_number,
            ..Refs::default()
        },
        _ => Refs::default(),
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
    let this = refs(best);
    // (the reference of this document, the entity it names, how)
    let refers_to: Vec<(&Option<String>, &str, &str)> = match kind {
        "invoice" => vec![
            (&this.order_ref, "order", "order"),
            (&this.supersedes, "invoice", "supersedes"),
        ],
        "credit_note" => vec![(&this.invoice_ref, "invoice", "invoice")],
        "quote" => vec![(&this.order_ref, "order", "became_order")],
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    let po = &this.customer_order_ref;
    for other in records {
        let od = refs(other);
        let other_no = number_of(other);
        for (reference, entity, relation) in &refers_to {
            let Some(reference) = reference else {
                continue;
            };
            let names = &other_no == reference
                || (*entity == "order" && od.customer_order_ref.as_ref() == Some(reference));
            if other.entity == *entity && names {
                out.push(r(entity, other_no.clone(), relation));
            }
        }
        let refers = |field: &Option<String>| field.as_deref() == Some(number);
        let rel = match (kind, other.entity.as_str()) {
            ("invoice", "credit_note") if refers(&od.invoice_ref) => "credited_by",
            ("invoice", "invoice") if refers(&od.supersedes) => "superseded_by",
            ("order", "invoice")
                if refers(&od.order_ref) || (po.is_some() && &od.order_ref == po) =>
            {
                "invoiced_by"
            }
            ("order", "delivery") if refers(&od.order_number) => "delivered_by",
            ("order", "quote")
                if refers(&od.order_ref) || this.quote_ref.as_ref() == Some(&other_no) =>
            {
                "from_quote"
            }
            ("quote", "order") if refers(&od.quote_ref) => "became_order",
            _ => continue,
        };
        out.push(r(&other.entity, other_no, rel));
    }
    out.sort();
    out.dedup();
    out
}

/// The fields of a document the dialog shows, whichever its kind.
#[derive(Default)]
struct Shown {
    issue_date: Option<NaiveDate>,
    due_date: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
    status: Option<String>,
    currency: Option<String>,
    net: Option<Amount>,
    tax: Option<Amount>,
    gross: Option<Amount>,
    open_amount: Option<Amount>,
    dunning_level: Option<i64>,
    buyer_reference: Option<String>,
    lines: Vec<DocLine>,
    warnings: Vec<String>,
    extra: BTreeMap<String, Value>,
}

fn shown(r: &StoredRecord) -> Shown {
    match Entity::parse(&r.entity) {
        Some(Entity::Invoice) => {
            let d: Invoice = r.read();
            Shown {
                issue_date: d.issue_date,
                due_date: d.due_date,
                status: d.status,
                currency: d.currency,
                net: d.net,
                tax: d.tax,
                gross: d.gross,
                open_amount: d.open_amount,
                dunning_level: d.dunning_level,
                buyer_reference: d.buyer_reference,
                lines: d.lines,
                warnings: d.warnings,
                extra: d.extra,
                ..Shown::default()
            }
        }
        Some(Entity::CreditNote) => {
            let d: CreditNote = r.read();
            Shown {
                issue_date: d.issue_date,
                currency: d.currency,
                net: d.net,
                tax: d.tax,
                gross: d.gross,
                open_amount: d.open_amount,
                buyer_reference: d.buyer_reference,
                lines: d.lines,
                warnings: d.warnings,
                extra: d.extra,
                ..Shown::default()
            }
        }
        Some(Entity::Order) => {
            let d: Order = r.read();
            Shown {
                issue_date: d.order_date,
                status: d.status,
                currency: d.currency,
                gross: d.total,
                extra: d.extra,
                ..Shown::default()
            }
        }
        Some(Entity::Quote) => {
            let d: Quote = r.read();
            Shown {
                issue_date: d.quote_date,
                valid_until: d.valid_until,
                status: d.status,
                currency: d.currency,
                gross: d.total,
                lines: d.lines,
                extra: d.extra,
                ..Shown::default()
            }
        }
        _ => Shown::default(),
    }
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
    let Some((best, mut also_in)) = best_of(pool, &ctx.policy, true) else {
        return Ok(None);
    };
    also_in.extend(
        group
            .iter()
            .filter(|r| !pool.iter().any(|p| std::ptr::eq(*p, **r)))
            .map(|r| Provenance::of(r)),
    );
    let d = shown(best);
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
    let lines = d.lines.iter().map(|l| line(l, &d.currency)).collect();
    Ok(Some(DocumentView {
        kind: kind.to_owned(),
        number: number.to_owned(),
        issue_date: d.issue_date,
        due_date: d.due_date,
        valid_until: d.valid_until,
        status: if kind == "quote" {
            let orders: Vec<&StoredRecord> =
                records.iter().filter(|r| r.entity == "order").collect();
            let ordered = super::quotes::ordered_quotes(&orders).contains(number);
            Some(super::quote_status(
                &Quote::head(&best.data),
                today,
                ordered,
            ))
        } else {
            d.status
        },
        closed_at: best.closed_at,
        net: Money::of(&d.net, &d.currency),
        tax: Money::of(&d.tax, &d.currency),
        gross: Money::of(&d.gross, &d.currency),
        open_amount: Money::of(&d.open_amount, &d.currency),
        dunning_level: d.dunning_level,
        buyer_reference: d.buyer_reference,
        lines,
        order,
        related: related(kind, number, best, &records),
        warnings: d.warnings,
        extra: extras(best, &d.extra, &ctx.labels),
        source: Provenance::of(best),
        also_in,
    }))
}
