//! Quotes (Angebote) of a merged customer: the open ones with the days until they expire, and
//! the customer's unanswered requests. A quote whose `valid_until` has passed counts as
//! expired even when its source still says `open` (ERPs often set `Expired` only in a nightly
//! job); an accepted quote names the order it became.

use super::documents::dedupe;
use super::{Money, Policy, Provenance, number_of};
use crate::model::typed::{Order, Quote};
use crate::store::StoredRecord;
use chrono::NaiveDate;
use serde::Serialize;

/// An open quote or an unanswered request (`GET /api/v1/customers/{id}`, `open_quotes`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuoteView {
    pub number: String,
    pub quote_date: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    /// `open` or `requested` (the customer asked, no quote yet).
    pub status: String,
    /// Days from today until `valid_until` (0: expires today); absent without a date.
    pub days_to_expiry: Option<i64>,
    pub total: Option<Money>,
    /// The customer's request (RFQ) or reference the quote answers.
    pub request_ref: Option<String>,
    /// Items quoted.
    pub lines: usize,
    pub source: Provenance,
    pub also_in: Vec<Provenance>,
}

/// The status of a quote record as of `today`: the mapped status; `accepted` when an order
/// names the quote (`ordered`: the order is the stronger evidence — SAP B1 closes a quotation
/// it copied to an order like one closed by hand), unless it was cancelled; `open` (or none)
/// turned into `expired` once `valid_until` has passed.
pub fn effective_status(d: &Quote, today: NaiveDate, ordered: bool) -> String {
    let status = d.status.clone().unwrap_or_else(|| "open".into());
    let expired = d.valid_until.is_some_and(|v| v < today);
    match status.as_str() {
        s if ordered && s != "cancelled" => "accepted".into(),
        "open" if expired => "expired".into(),
        _ => status,
    }
}

/// The quote numbers the customer's orders name (`quote_ref`).
pub fn ordered_quotes(orders: &[&StoredRecord]) -> std::collections::BTreeSet<String> {
    orders
        .iter()
        .filter_map(|o| o.head::<Order>().quote_ref)
        .collect()
}

/// The open quotes and requests among `records` (quote records of the customer's sources), the
/// soonest to expire first; one per number (the best source wins, as for documents).
pub(super) fn open_quotes(
    records: &[&StoredRecord],
    orders: &[&StoredRecord],
    policy: &Policy,
    today: NaiveDate,
) -> Vec<QuoteView> {
    let ordered = ordered_quotes(orders);
    let mut out: Vec<QuoteView> = dedupe(records, policy, false)
        .into_iter()
        .filter_map(|(r, also_in)| {
            let d: Quote = r.read();
            let status = effective_status(&d, today, ordered.contains(&number_of(r)));
            if !matches!(status.as_str(), "open" | "requested") {
                return None;
            }
            let valid_until = d.valid_until;
            Some(QuoteView {
                number: number_of(r),
                quote_date: d.quote_date,
                valid_until,
                days_to_expiry: valid_until.map(|v| (v - today).num_days()),
                status,
                total: Money::of(&d.total, &d.currency),
                request_ref: d.request_ref,
                lines: d.lines.len(),
                source: Provenance::of(r),
                also_in,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (a.valid_until.is_none(), a.valid_until, &a.number).cmp(&(
            b.valid_until.is_none(),
            b.valid_until,
            &b.number,
        ))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::typed::Record;
    use serde_json::json;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn an_open_quote_past_its_date_is_expired_an_accepted_one_stays_accepted() {
        let today = d("2026-12-06");
        let q = |status: Option<&str>, until: &str| {
            let mut v = json!({"number": "AN-1", "valid_until": until});
            if let Some(s) = status {
                v["status"] = json!(s);
            }
            effective_status(&Quote::read(&v), today, false)
        };
        assert_eq!(q(None, "2026-12-05"), "expired");
        assert_eq!(q(Some("open"), "2026-12-05"), "expired");
        assert_eq!(q(Some("open"), "2026-12-06"), "open");
        assert_eq!(q(Some("accepted"), "2026-12-01"), "accepted");
        assert_eq!(q(Some("rejected"), "2026-12-31"), "rejected");
        assert_eq!(q(Some("requested"), "2026-12-01"), "requested");
        // An order names the quote: accepted, whatever the quote's source still says.
        let open = json!({"number": "AN-1", "status": "open", "valid_until": "2026-12-31"});
        assert_eq!(
            effective_status(&Quote::read(&open), today, true),
            "accepted"
        );
        let closed = json!({"number": "AN-1", "status": "rejected"});
        assert_eq!(
            effective_status(&Quote::read(&closed), today, true),
            "accepted"
        );
        let cancelled = json!({"number": "AN-1", "status": "cancelled"});
        assert_eq!(
            effective_status(&Quote::read(&cancelled), today, true),
            "cancelled"
        );
    }
}
