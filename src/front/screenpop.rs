//! The screen-pop of an incoming call: who is calling and what matters right now — open
//! items and what is overdue, open orders with their next delivery date, open complaints,
//! due reminders. Built from the in-memory directory and one merged view.

use super::desk::Reminder;
use super::ticket::Ticket;
use crate::directory::{Directory, PhoneCandidate};
use crate::store::{DynStore, ReminderFilter, StoreError};
use crate::view::{Money, ViewContext, customer_view_known};
use chrono::NaiveDate;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderDue {
    pub number: String,
    pub next_delivery_date: Option<NaiveDate>,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomerSummary {
    pub id: i64,
    pub name: Option<String>,
    pub customer_no: Option<String>,
    pub city: Option<String>,
    /// Open invoices (as `open_items.total` of the merged view).
    pub open_items_total: Money,
    /// Open credit notes (`open_items.open_credit_notes`).
    pub open_credit_notes: Money,
    /// Open invoices less open credit notes (`open_items.open_net`).
    pub open_net: Money,
    pub overdue_total: Money,
    pub overdue_count: usize,
    /// The highest dunning level (Mahnstufe) of the open invoices, when the source gives it.
    pub dunning_level: Option<i64>,
    /// How the customer pays (`payment_behaviour` of the merged view).
    pub payment_behaviour: Option<crate::view::PaymentBehaviour>,
    pub open_orders: Vec<OrderDue>,
    pub open_complaints: Vec<Ticket>,
    pub due_reminders: Vec<Reminder>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScreenPop {
    /// The caller's number as E.164.
    pub number: String,
    /// Everyone the number may belong to, best first.
    pub candidates: Vec<PhoneCandidate>,
    /// The best candidate's summary (none when nobody has the number).
    pub customer: Option<CustomerSummary>,
    /// The call as recorded in the contact history.
    pub call_id: Option<i64>,
    /// The number with the company's own area code (`[cti] default_area_code`) when it was
    /// typed without one (`4711230` → `0221 4711230`): the call page offers it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

/// `typed` with `area_code` in front when it looks like a local number without one: digits
/// (and separators) only, 3 to 8 digits, not starting with 0.
pub fn with_area_code(typed: &str, area_code: Option<&str>) -> Option<String> {
    let area = area_code?.trim();
    let t = typed.trim();
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit() || " -/".contains(c)) {
        return None;
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    (!digits.starts_with('0') && (3..=8).contains(&digits.len())).then(|| format!("{area} {t}"))
}

/// The summary of one customer on `today`.
pub async fn summary(
    store: &DynStore,
    ctx: &ViewContext,
    dir: &Directory,
    id: i64,
    today: NaiveDate,
) -> Result<Option<CustomerSummary>, StoreError> {
    let Some(known) = dir.known(id) else {
        return Ok(None);
    };
    let view = customer_view_known(store, ctx, id, known, today).await?;
    let entry = dir.entry(id);
    let entry = entry.as_ref();
    let open_complaints = super::ticket::of_customer(store, Some(id), true, 20).await?;
    let due_reminders = super::desk::reminders(
        store,
        &ReminderFilter {
            customer_id: Some(id),
            due_by: Some(today),
            limit: 20,
            ..ReminderFilter::default()
        },
    )
    .await?;
    Ok(Some(CustomerSummary {
        id,
        name: view.name.clone(),
        customer_no: entry.and_then(|e| e.keys.first().map(|k| k.customer_no.clone())),
        city: entry.and_then(|e| e.city.clone()),
        open_items_total: view.open_items.total.clone(),
        open_credit_notes: view.open_items.open_credit_notes.clone(),
        open_net: view.open_items.open_net.clone(),
        overdue_total: view.open_items.overdue.clone(),
        overdue_count: view.open_items.overdue_count,
        dunning_level: view.open_items.dunning_level,
        payment_behaviour: view.payment_behaviour.clone(),
        open_orders: view
            .open_orders
            .iter()
            .map(|o| OrderDue {
                number: o.number.clone(),
                next_delivery_date: o.next_delivery_date,
                status: o.status.clone(),
            })
            .collect(),
        open_complaints,
        due_reminders,
    }))
}

#[cfg(test)]
mod tests {
    use super::with_area_code;

    #[test]
    fn a_local_number_gets_our_area_code() {
        let ac = Some("0221");
        assert_eq!(
            with_area_code("4711230", ac).as_deref(),
            Some("0221 4711230")
        );
        assert_eq!(
            with_area_code(" 4711-23 ", ac).as_deref(),
            Some("0221 4711-23")
        );
        assert_eq!(with_area_code("0228 99990", ac), None);
        assert_eq!(with_area_code("+49 221 4711", ac), None);
        assert_eq!(with_area_code("47", ac), None);
        assert_eq!(with_area_code("123456789", ac), None);
        assert_eq!(with_area_code("Müller", ac), None);
        assert_eq!(with_area_code("4711230", None), None);
    }
}
