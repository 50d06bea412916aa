//! Invoices and credit notes of a merged customer: open items (what is owed, what is
//! overdue) and credit notes. A document delivered by several sources (the WaWi's open-items
//! export and the XRechnung) is shown once, from the source the policy prefers.

use super::{ExtraLabels, Money, Policy, Provenance, number_of};
use crate::model::Entity;
use crate::model::typed::{CreditNote, Invoice, SupplierInvoice};
use crate::store::StoredRecord;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvoiceView {
    pub number: String,
    pub issue_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub gross: Option<Money>,
    pub open_amount: Money,
    /// open | partially_paid | …
    pub status: String,
    /// Days past the due date (0 when not overdue).
    pub days_overdue: i64,
    pub overdue: bool,
    pub order_ref: Option<String>,
    /// The dunning level (Mahnstufe) as the source says: 0 = not dunned, 1 = first reminder, …
    pub dunning_level: Option<i64>,
    /// A self-billed invoice (type code 389).
    pub self_billed: bool,
    /// The mapping's `extra.<name>` fields, by name.
    pub extra: Vec<ExtraField>,
    pub source: Provenance,
    /// The same invoice in other sources.
    pub also_in: Vec<Provenance>,
}

/// A field a mapping keeps as `extra.<name>`, with the `label` the mapping gives it (else
/// its name).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExtraField {
    pub name: String,
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CurrencyTotal {
    pub total: Money,
    pub overdue: Money,
    /// Open credit notes in this currency.
    pub open_credit_notes: Money,
    /// `total` − `open_credit_notes`.
    pub open_net: Money,
}

/// What the customer owes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OpenItems {
    /// Sum of the open amounts of the invoices (in the customer's main currency); open credit
    /// notes are not deducted (see `open_net`).
    pub total: Money,
    /// Sum of the open amounts past their due date.
    pub overdue: Money,
    pub count: usize,
    pub overdue_count: usize,
    /// Sum of the open amounts of credit notes (in the main currency): credit notes whose
    /// source gives their open remainder (`open_amount`) and have one.
    pub open_credit_notes: Money,
    pub open_credit_notes_count: usize,
    /// What the customer owes after their open credit notes: `total` − `open_credit_notes`
    /// (negative when we owe the customer).
    pub open_net: Money,
    /// The highest dunning level (Mahnstufe) of the open invoices, when the source gives it.
    pub dunning_level: Option<i64>,
    /// Open invoices, oldest due date first.
    pub invoices: Vec<InvoiceView>,
    /// Totals of open items in further currencies.
    pub other_currencies: Vec<CurrencyTotal>,
    /// Invoices replaced by a corrected invoice (type code 384): not open any more.
    pub superseded: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreditNoteView {
    pub number: String,
    pub issue_date: Option<NaiveDate>,
    pub gross: Option<Money>,
    /// What is still to be settled, when the source gives it (open-items exports).
    pub open_amount: Option<Money>,
    pub invoice_ref: Option<String>,
    /// The mapping's `extra.<name>` fields, by name.
    pub extra: Vec<ExtraField>,
    pub source: Provenance,
    pub also_in: Vec<Provenance>,
}

/// An invoice or credit note received from a supplier.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SupplierInvoiceView {
    pub number: String,
    /// `invoice` or `credit_note`.
    pub kind: String,
    pub issue_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub gross: Option<Money>,
    /// The amount due for payment as the document says (payments are not tracked).
    pub due_amount: Option<Money>,
    pub source: Provenance,
}

/// Supplier invoices of a party, newest first (at most 50).
pub(super) fn supplier_invoices(records: &[&StoredRecord]) -> Vec<SupplierInvoiceView> {
    let mut out: Vec<SupplierInvoiceView> = records
        .iter()
        .filter(|r| r.closed_at.is_none())
        .map(|r| {
            let d: SupplierInvoice = r.head();
            SupplierInvoiceView {
                number: number_of(r),
                kind: d.kind.unwrap_or_else(|| "invoice".into()),
                issue_date: d.issue_date,
                due_date: d.due_date,
                gross: Money::of(&d.gross, &d.currency),
                due_amount: Money::of(&d.due_amount, &d.currency),
                source: Provenance::of(r),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.issue_date
            .cmp(&a.issue_date)
            .then(a.number.cmp(&b.number))
    });
    out.truncate(50);
    out
}

/// What choosing among a document's sources reads of a record: whether it gives the open
/// amount, and whether it is an e-invoice as sent (it has a type code).
fn gives_open_amount_and_is_sent(r: &StoredRecord) -> (bool, bool) {
    match Entity::parse(&r.entity) {
        Some(Entity::Invoice) => {
            let d: Invoice = r.head();
            (d.open_amount.is_some(), d.type_code.is_some())
        }
        Some(Entity::CreditNote) => {
            let d: CreditNote = r.head();
            (d.open_amount.is_some(), d.type_code.is_some())
        }
        _ => (false, false),
    }
}

/// Groups documents by number; per group the record the policy prefers (among those giving
/// their open amount when `prefer_open`), booked records (open-items exports, the ERP) before
/// e-invoices.
pub(super) fn dedupe<'a>(
    records: &[&'a StoredRecord],
    policy: &Policy,
    prefer_open: bool,
) -> Vec<(&'a StoredRecord, Vec<Provenance>)> {
    let mut groups: BTreeMap<String, Vec<&StoredRecord>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.closed_at.is_none()) {
        let number = number_of(r);
        groups.entry(number).or_default().push(r);
    }
    groups
        .into_values()
        .filter_map(|group| best_of(&group, policy, prefer_open))
        .collect()
}

/// Of the records of one document, the one to show (see [`dedupe`]) and where else it is.
pub(super) fn best_of<'a>(
    group: &[&'a StoredRecord],
    policy: &Policy,
    prefer_open: bool,
) -> Option<(&'a StoredRecord, Vec<Provenance>)> {
    let with: Vec<&StoredRecord> = match prefer_open {
        true => group
            .iter()
            .filter(|r| gives_open_amount_and_is_sent(r).0)
            .copied()
            .collect(),
        false => Vec::new(),
    };
    let pool = if with.is_empty() {
        group.to_vec()
    } else {
        with
    };
    // An e-invoice (it has a type code) is what was sent; an open-items export or the ERP
    // knows what was paid since.
    let booked: Vec<&StoredRecord> = pool
        .iter()
        .filter(|r| !gives_open_amount_and_is_sent(r).1)
        .copied()
        .collect();
    let pool = if booked.is_empty() { pool } else { booked };
    let best = policy.best("documents", &pool)?;
    let also = group
        .iter()
        .filter(|r| !std::ptr::eq(**r, best))
        .map(|r| Provenance::of(r))
        .collect();
    Some((best, also))
}

/// The `extra` fields of a document as [`ExtraField`]s, labelled as its mapping says.
pub(super) fn extras(
    r: &StoredRecord,
    extra: &BTreeMap<String, serde_json::Value>,
    labels: &ExtraLabels,
) -> Vec<ExtraField> {
    extra
        .iter()
        .filter_map(|(name, v)| {
            let value = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => return None,
                other => other.to_string(),
            };
            let label = labels
                .get(&(r.connector.clone(), r.entity.clone(), name.clone()))
                .cloned()
                .unwrap_or_else(|| name.clone());
            Some(ExtraField {
                name: name.clone(),
                label,
                value,
            })
        })
        .collect()
}

pub(super) fn build(
    invoices: &[&StoredRecord],
    credit_notes: &[&StoredRecord],
    policy: &Policy,
    labels: &ExtraLabels,
    today: NaiveDate,
) -> (OpenItems, Vec<CreditNoteView>) {
    let invoices: Vec<(&StoredRecord, Invoice, Vec<Provenance>)> = dedupe(invoices, policy, true)
        .into_iter()
        .map(|(r, also_in)| (r, r.head(), also_in))
        .collect();
    let superseded: BTreeSet<String> = invoices
        .iter()
        .filter_map(|(_, d, _)| d.supersedes.clone())
        .collect();
    let mut open: Vec<InvoiceView> = Vec::new();
    for (r, d, also_in) in invoices {
        let number = number_of(r);
        let status = d.status.clone().unwrap_or_else(|| "open".into());
        if superseded.contains(&number)
            || ["paid", "cancelled", "closed"].contains(&status.as_str())
        {
            continue;
        }
        let gross = Money::of(&d.gross, &d.currency);
        let Some(open_amount) = Money::of(&d.open_amount, &d.currency).or_else(|| gross.clone())
        else {
            continue;
        };
        if open_amount.amount <= Decimal::ZERO {
            continue;
        }
        let due_date = d.due_date;
        let days_overdue = due_date.map_or(0, |due| (today - due).num_days().max(0));
        open.push(InvoiceView {
            number,
            issue_date: d.issue_date,
            due_date,
            gross,
            open_amount,
            status,
            days_overdue,
            overdue: days_overdue > 0,
            order_ref: d.order_ref.clone(),
            dunning_level: d.dunning_level.filter(|l| *l >= 0),
            self_billed: d.self_billed.unwrap_or(false),
            extra: extras(r, &d.extra, labels),
            source: Provenance::of(r),
            also_in,
        });
    }
    open.sort_by(|a, b| {
        (a.due_date.is_none(), a.due_date, &a.number).cmp(&(
            b.due_date.is_none(),
            b.due_date,
            &b.number,
        ))
    });
    let mut notes: Vec<CreditNoteView> = dedupe(credit_notes, policy, true)
        .into_iter()
        .map(|(r, also_in)| {
            let d: CreditNote = r.head();
            CreditNoteView {
                number: number_of(r),
                issue_date: d.issue_date,
                gross: Money::of(&d.gross, &d.currency),
                open_amount: Money::of(&d.open_amount, &d.currency),
                invoice_ref: d.invoice_ref.clone(),
                extra: extras(r, &d.extra, labels),
                source: Provenance::of(r),
                also_in,
            }
        })
        .collect();
    notes.sort_by(|a, b| {
        b.issue_date
            .cmp(&a.issue_date)
            .then(a.number.cmp(&b.number))
    });
    // Totals per currency: (open, overdue, invoices, open credit notes, credit notes); the
    // main currency is the one with the most open invoices.
    #[derive(Default, Clone, Copy)]
    struct Sums {
        open: Decimal,
        overdue: Decimal,
        count: usize,
        credit: Decimal,
        credit_count: usize,
    }
    let mut per: BTreeMap<&str, Sums> = BTreeMap::new();
    for i in &open {
        let e = per.entry(i.open_amount.currency.as_str()).or_default();
        e.open += i.open_amount.amount;
        if i.overdue {
            e.overdue += i.open_amount.amount;
        }
        e.count += 1;
    }
    for n in &notes {
        if let Some(o) = n.open_amount.as_ref().filter(|o| o.amount > Decimal::ZERO) {
            let e = per.entry(o.currency.as_str()).or_default();
            e.credit += o.amount;
            e.credit_count += 1;
        }
    }
    let main = per
        .iter()
        .max_by_key(|(c, v)| (v.count, v.credit_count, **c == "EUR"))
        .map_or("EUR", |(c, _)| *c)
        .to_owned();
    let m = |amount: Decimal, currency: &str| Money {
        amount,
        currency: currency.to_owned(),
    };
    let main_sums = per.get(main.as_str()).copied().unwrap_or_default();
    let other_currencies = per
        .iter()
        .filter(|(c, _)| **c != main)
        .map(|(c, v)| CurrencyTotal {
            total: m(v.open, c),
            overdue: m(v.overdue, c),
            open_credit_notes: m(v.credit, c),
            open_net: m(v.open - v.credit, c),
        })
        .collect();
    let overdue_count = open.iter().filter(|i| i.overdue).count();
    let dunning_level = open.iter().filter_map(|i| i.dunning_level).max();
    let items = OpenItems {
        total: m(main_sums.open, &main),
        overdue: m(main_sums.overdue, &main),
        count: open.len(),
        overdue_count,
        open_credit_notes: m(main_sums.credit, &main),
        open_credit_notes_count: main_sums.credit_count,
        open_net: m(main_sums.open - main_sums.credit, &main),
        dunning_level,
        invoices: open,
        other_currencies,
        superseded: superseded.into_iter().collect(),
    };
    (items, notes)
}
