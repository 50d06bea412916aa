//! How a customer pays (Zahlungsmoral): of the invoices paid in the last 12 months, how many
//! late, by how many days (average, median, weighted by amount), and the trend against the
//! 12 months before. An invoice counts as paid on its `paid_date` (mapped where the source has
//! it), else on the day the `payment` records naming it (DATEV bank postings, ERP payments)
//! reached its gross amount, else on the day its open item left a snapshot source
//! (`closed_at`: the open-items list no longer named it). E-invoices say what was sent, never
//! what was paid: they are not read.

use super::{Money, number_of};
use crate::model::typed::{Invoice, Payment};
use crate::store::StoredRecord;
use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// The average days late must change by this much against the year before to be a trend.
pub const TREND_DAYS: i64 = 5;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PaymentBehaviour {
    /// Invoices paid in the last 12 months.
    pub invoices_paid: usize,
    /// Of those, paid after their due date.
    pub paid_late: usize,
    /// `paid_late` / `invoices_paid` (0..1, two decimals).
    #[schema(value_type = String)]
    pub paid_late_share: Decimal,
    /// Days after the due date, on average (early or on time counts 0), one decimal.
    #[schema(value_type = String)]
    pub avg_days_late: Decimal,
    #[schema(value_type = String)]
    pub median_days_late: Decimal,
    /// The average weighted by the invoices' gross amounts (a late large invoice weighs more).
    #[schema(value_type = String)]
    pub avg_days_late_weighted: Decimal,
    /// The 12 months before: invoices paid and their average days late.
    pub previous_invoices_paid: usize,
    #[schema(value_type = Option<String>)]
    pub previous_avg_days_late: Option<Decimal>,
    /// `worse` / `better` (the average moved by at least [`TREND_DAYS`] days), `same`, or
    /// `new` without invoices paid in the 12 months before.
    pub trend: String,
}

/// One paid invoice: (paid on, days late, gross).
type Paid = (NaiveDate, i64, Decimal);

/// The day the payments towards an invoice of `gross` reached it, counted per source (one
/// payment read from two systems is not paid twice) in the invoice's currency, exact; `None`
/// while they fall short (a partial payment) or name no amount.
fn settled_on(payments: &[&StoredRecord], gross: &Money) -> Option<NaiveDate> {
    if gross.amount <= Decimal::ZERO {
        return None;
    }
    let mut by_source: BTreeMap<&str, Vec<(NaiveDate, Decimal)>> = BTreeMap::new();
    for p in payments {
        let d: Payment = p.read();
        let (Some(day), Some(amount)) = (d.date, Money::of(&d.amount, &d.currency)) else {
            continue;
        };
        if amount.currency == gross.currency {
            by_source
                .entry(p.connector.as_str())
                .or_default()
                .push((day, amount.amount));
        }
    }
    by_source
        .into_values()
        .filter_map(|mut paid| {
            paid.sort();
            let mut sum = Decimal::ZERO;
            paid.into_iter().find_map(|(day, amount)| {
                sum += amount;
                (sum >= gross.amount).then_some(day)
            })
        })
        .min()
}

/// The payment records by the invoice number they name (reversed ones left out).
fn by_invoice<'a>(payments: &[&'a StoredRecord]) -> BTreeMap<String, Vec<&'a StoredRecord>> {
    let mut out: BTreeMap<String, Vec<&StoredRecord>> = BTreeMap::new();
    for p in payments {
        let d: Payment = p.read();
        if let (Some(no), false) = (d.invoice_ref, d.cancelled == Some(true)) {
            out.entry(no).or_default().push(p);
        }
    }
    out
}

fn paid_invoices(invoices: &[&StoredRecord], payments: &[&StoredRecord]) -> Vec<Paid> {
    let payments = by_invoice(payments);
    // (the record, what it says)
    let mut by_number: BTreeMap<String, Vec<(&StoredRecord, Invoice)>> = BTreeMap::new();
    for r in invoices {
        let d: Invoice = r.head();
        if d.type_code.is_none() {
            by_number.entry(number_of(r)).or_default().push((r, d));
        }
    }
    by_number
        .into_iter()
        .filter_map(|(number, recs)| {
            let due = recs.iter().find_map(|(_, d)| d.due_date)?;
            if recs
                .iter()
                .any(|(_, d)| d.status.as_deref() == Some("cancelled"))
            {
                return None;
            }
            let gross = recs
                .iter()
                .find_map(|(_, d)| Money::of(&d.gross, &d.currency));
            let mapped = recs.iter().find_map(|(_, d)| d.paid_date);
            let by_payments = gross
                .as_ref()
                .zip(payments.get(&number))
                .and_then(|(g, p)| settled_on(p, g));
            // Left every booked source: paid on the day it went (the first one to drop it).
            let left = recs
                .iter()
                .all(|(r, _)| r.closed_at.is_some())
                .then(|| recs.iter().filter_map(|(r, _)| r.closed_at).min())
                .flatten()
                .map(|t| t.date_naive());
            let paid = mapped.or(by_payments).or(left)?;
            let gross = gross.map_or(Decimal::ZERO, |m| m.amount);
            Some((paid, (paid - due).num_days().max(0), gross))
        })
        .collect()
}

/// One decimal, always written with it (`29.0`).
fn round1(d: Decimal) -> Decimal {
    let mut d = d.round_dp(1);
    d.rescale(1);
    d
}

fn average(v: &[Paid]) -> Option<Decimal> {
    (!v.is_empty())
        .then(|| round1(Decimal::from(v.iter().map(|p| p.1).sum::<i64>()) / Decimal::from(v.len())))
}

/// How the customer with these invoice and payment records pays, as of `today`; `None`
/// without any invoice paid in the last 24 months.
pub fn behaviour(
    invoices: &[&StoredRecord],
    payments: &[&StoredRecord],
    today: NaiveDate,
) -> Option<PaymentBehaviour> {
    let year_ago = today - Duration::days(365);
    let two_years_ago = today - Duration::days(730);
    let all = paid_invoices(invoices, payments);
    let (now, before): (Vec<Paid>, Vec<Paid>) = all
        .into_iter()
        .filter(|p| p.0 > two_years_ago && p.0 <= today)
        .partition(|p| p.0 > year_ago);
    if now.is_empty() && before.is_empty() {
        return None;
    }
    let mut days: Vec<i64> = now.iter().map(|p| p.1).collect();
    days.sort_unstable();
    let median = match days.len() {
        0 => round1(Decimal::ZERO),
        n if n % 2 == 1 => round1(Decimal::from(days[n / 2])),
        n => round1(Decimal::from(days[n / 2 - 1] + days[n / 2]) / Decimal::TWO),
    };
    let weight: Decimal = now.iter().map(|p| p.2).sum();
    let weighted = if weight > Decimal::ZERO {
        round1(
            now.iter()
                .map(|p| Decimal::from(p.1) * p.2)
                .sum::<Decimal>()
                / weight,
        )
    } else {
        average(&now).unwrap_or_else(|| round1(Decimal::ZERO))
    };
    let late = now.iter().filter(|p| p.1 > 0).count();
    let avg = average(&now).unwrap_or_else(|| round1(Decimal::ZERO));
    let previous = average(&before);
    let trend = match previous {
        None => "new",
        Some(_) if now.is_empty() => "same",
        Some(p) if avg - p >= Decimal::from(TREND_DAYS) => "worse",
        Some(p) if p - avg >= Decimal::from(TREND_DAYS) => "better",
        Some(_) => "same",
    };
    Some(PaymentBehaviour {
        invoices_paid: now.len(),
        paid_late: late,
        paid_late_share: if now.is_empty() {
            Decimal::new(0, 2)
        } else {
            let mut share = (Decimal::from(late) / Decimal::from(now.len())).round_dp(2);
            share.rescale(2);
            share
        },
        avg_days_late: avg,
        median_days_late: median,
        avg_days_late_weighted: weighted,
        previous_invoices_paid: before.len(),
        previous_avg_days_late: previous,
        trend: trend.to_owned(),
    })
}

/// [`behaviour`] of the customer whose keys are `known`, from its invoice and payment records
/// alone (the daily reminder scan: no need for the whole merged view).
pub async fn behaviour_of(
    store: &crate::store::DynStore,
    known: super::Known<'_>,
    today: NaiveDate,
) -> Result<Option<PaymentBehaviour>, crate::store::StoreError> {
    let records = store.records_of(&known.record_pairs()).await?;
    let of = |e: &str| -> Vec<&StoredRecord> { records.iter().filter(|r| r.entity == e).collect() };
    Ok(behaviour(&of("invoice"), &of("payment"), today))
}

#[cfg(test)]
mod tests {
    use super::behaviour;
    use crate::store::StoredRecord;
    use chrono::{NaiveDate, TimeZone, Utc};
    use rust_decimal::Decimal;
    use serde_json::json;

    fn inv(
        no: &str,
        due: &str,
        gross: &str,
        paid: Option<&str>,
        closed: Option<&str>,
    ) -> StoredRecord {
        let mut data =
            json!({"number": no, "due_date": due, "gross": {"amount": gross, "currency": "EUR"}});
        if let Some(p) = paid {
            data["paid_date"] = json!(p);
        }
        StoredRecord {
            connector: "op".into(),
            entity: "invoice".into(),
            external_id: no.into(),
            customer_no: Some("1".into()),
            data,
            closed_at: closed.map(|d| {
                let d: NaiveDate = d.parse().unwrap();
                Utc.from_utc_datetime(&d.and_hms_opt(6, 0, 0).unwrap())
            }),
            ..StoredRecord::default()
        }
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn late_payments_their_average_median_weight_and_trend() {
        let today: NaiveDate = "2026-12-05".parse().unwrap();
        let recs = [
            // The year before: paid on time or 2 days late → average 1.
            inv("A1", "2025-03-01", "100", Some("2025-03-01"), None),
            inv("A2", "2025-06-01", "100", None, Some("2025-06-03")),
            // This year: 0, 10 and 30 days late; the 30 days on the large invoice.
            inv("B1", "2026-02-01", "100", Some("2026-01-20"), None),
            inv("B2", "2026-05-01", "100", None, Some("2026-05-11")),
            inv("B3", "2026-09-01", "800", Some("2026-10-01"), None),
            // Open: not paid, not counted.
            inv("C1", "2026-11-01", "500", None, None),
        ];
        let refs: Vec<&StoredRecord> = recs.iter().collect();
        let b = behaviour(&refs, &[], today).unwrap();
        assert_eq!((b.invoices_paid, b.paid_late), (3, 2));
        assert_eq!(b.paid_late_share, d("0.67"));
        assert_eq!(b.avg_days_late, d("13.3"));
        assert_eq!(b.median_days_late, d("10"));
        assert_eq!(
            b.avg_days_late_weighted,
            d("25.0"),
            "(0×100 + 10×100 + 30×800) / 1000"
        );
        assert_eq!(
            (b.previous_invoices_paid, b.previous_avg_days_late),
            (2, Some(d("1.0")))
        );
        assert_eq!(b.trend, "worse");
    }

    #[test]
    fn an_e_invoice_or_an_item_still_open_somewhere_is_not_paid() {
        let today: NaiveDate = "2026-12-05".parse().unwrap();
        let mut einvoice = inv("E1", "2026-10-01", "100", None, Some("2026-10-05"));
        einvoice.data["type_code"] = json!("380");
        let closed_here = inv("E2", "2026-10-01", "100", None, Some("2026-10-05"));
        let mut open_there = inv("E2", "2026-10-01", "100", None, None);
        open_there.connector = "datev".into();
        let recs = [einvoice, closed_here, open_there];
        let refs: Vec<&StoredRecord> = recs.iter().collect();
        assert_eq!(behaviour(&refs, &[], today), None);
    }

    fn pay(connector: &str, id: &str, inv: &str, date: &str, amount: &str) -> StoredRecord {
        StoredRecord {
            connector: connector.into(),
            entity: "payment".into(),
            external_id: id.into(),
            customer_no: Some("1".into()),
            data: json!({"id": id, "invoice_ref": inv, "date": date,
                "amount": {"amount": amount, "currency": "EUR"}}),
            ..StoredRecord::default()
        }
    }

    #[test]
    fn payments_pay_an_invoice_on_the_day_they_reach_its_gross() {
        let today: NaiveDate = "2026-12-05".parse().unwrap();
        let recs = [
            // Two instalments: paid on the second, 10 days after the due date.
            inv("P1", "2026-10-01", "1234.56", None, None),
            // Paid short by a cent: not paid.
            inv("P2", "2026-10-01", "100.00", None, None),
            // A mapped paid date wins over the payments.
            inv("P3", "2026-10-01", "50.00", Some("2026-09-30"), None),
        ];
        let mut reversed = pay("datev", "x", "P2", "2026-10-02", "0.01");
        reversed.data["cancelled"] = json!(true);
        let pays = [
            pay("datev", "a", "P1", "2026-10-11", "234.56"),
            pay("datev", "b", "P1", "2026-09-20", "1000.00"),
            pay("datev", "c", "P2", "2026-10-02", "99.99"),
            // The same payment read from a second system does not add up with the first.
            pay("erp", "c", "P2", "2026-10-02", "99.99"),
            reversed,
            pay("datev", "d", "P3", "2026-11-30", "50.00"),
            // Another currency is never added to euros.
            pay("datev", "e", "P2", "2026-10-05", "0.01"),
        ];
        let mut pays = pays;
        pays[6].data["amount"]["currency"] = json!("CHF");
        let refs: Vec<&StoredRecord> = recs.iter().collect();
        let prefs: Vec<&StoredRecord> = pays.iter().collect();
        let b = behaviour(&refs, &prefs, today).unwrap();
        assert_eq!(
            (b.invoices_paid, b.paid_late),
            (2, 1),
            "P1 and P3; P2 is short"
        );
        assert_eq!(
            b.avg_days_late_weighted,
            d("9.6"),
            "(10×1234.56 + 0×50) / 1284.56"
        );
        assert_eq!(b.median_days_late, d("5.0"));
    }
}
