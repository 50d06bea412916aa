//! Suggested reminders, after syncs: an invoice long overdue, a promised delivery date moved
//! later, a complaint past its deadline, no contact for long with a customer of some revenue.
//! Each carries its reason and a rule key, so a re-sync never suggests it twice (nor after
//! it was done).

use crate::config::RemindersSection;
use crate::directory::Directory;
use crate::model::typed::{Amount, Invoice, Record};
use crate::store::{DynStore, NewReminder, StoreError};
use crate::view::{ViewContext, customer_view_known};
use chrono::{Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::str::FromStr;

#[derive(Debug, Clone, Default, Serialize)]
pub struct SuggestSummary {
    pub created: usize,
    /// Suggestions that existed already (open or done).
    pub known: usize,
    pub invoices_checked: u64,
}

/// A customer's overdue invoices: how many, the open total, the oldest (due date, connector,
/// number).
/// An invoice that is both booked and came as an e-invoice counts once (by its number).
struct Overdue {
    oldest: (NaiveDate, String, String),
    count: usize,
    /// Open amounts per currency (never added across currencies).
    total: BTreeMap<String, Decimal>,
    seen: HashSet<u64>,
}

/// Amounts per currency as a salesperson reads them: `1.190,00 €`, `1.190,00 € und 500,00 NOK`.
fn amounts(total: &BTreeMap<String, Decimal>) -> String {
    let mut parts: Vec<String> = total
        .iter()
        .map(|(currency, amount)| {
            crate::view::Money {
                amount: *amount,
                currency: currency.clone(),
            }
            .german()
        })
        .collect();
    // Euro first, then the others by code.
    parts.sort_by_key(|p| !p.ends_with('€'));
    parts.join(" und ")
}

impl Overdue {
    fn reminder(self, id: i64, today: NaiveDate, assignee: &Option<String>) -> NewReminder {
        let (due, connector, number) = self.oldest;
        let days = (today - due).num_days();
        let (title, reason) = if self.count == 1 {
            (
                format!("Offene Rechnung {number} nachfassen"),
                format!(
                    "Rechnung {number} ist seit {days} Tagen fällig, offen {}",
                    amounts(&self.total)
                ),
            )
        } else {
            (
                format!(
                    "{} offene Rechnungen nachfassen (älteste {number})",
                    self.count
                ),
                format!(
                    "{} Rechnungen überfällig, offen zusammen {}; die älteste, {number}, ist seit {days} Tagen fällig",
                    self.count,
                    amounts(&self.total)
                ),
            )
        };
        NewReminder {
            customer_id: Some(id),
            title,
            due_date: today,
            assignee: assignee.clone(),
            source: "overdue_invoice".into(),
            reason: Some(reason),
            rule_key: Some(format!("overdue_invoice:{connector}:{number}")),
        }
    }
}

fn number_hash(number: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(number)
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_default()
}

/// Runs every rule; `full` also scans all open invoices (done once a day).
pub async fn suggest(
    store: &DynStore,
    cfg: &RemindersSection,
    ctx: &ViewContext,
    dir: &Directory,
    today: NaiveDate,
    full: bool,
) -> Result<SuggestSummary, StoreError> {
    let mut new: Vec<NewReminder> = Vec::new();
    let assignee = cfg.assignee.clone();
    let mut sum = SuggestSummary::default();
    if full {
        let threshold = dec(&cfg.overdue_amount);
        let revenue_threshold = dec(&cfg.revenue_threshold);
        let year_ago = today - chrono::Days::new(365);
        // Per customer and currency (amounts of different currencies are never added).
        let mut revenue: BTreeMap<i64, BTreeMap<String, Decimal>> = BTreeMap::new();
        // Overdue invoices, gathered per customer: one reminder each (memory per customer,
        // not per invoice), keyed by the oldest overdue invoice.
        let mut overdue: BTreeMap<i64, Overdue> = BTreeMap::new();
        // Customers with an invoice whose source gives the day it was paid.
        let mut paid_mapped: BTreeSet<i64> = BTreeSet::new();
        sum.invoices_checked = store
            .for_each_record("invoice", &mut |connector, customer_no, data| {
                let Some(id) = customer_no.and_then(|no| dir.customer_of(connector, no)) else {
                    return;
                };
                let Some(inv) = Invoice::head_of_text(data) else {
                    return;
                };
                if inv.paid_date.is_some() {
                    paid_mapped.insert(id);
                }
                let gross = inv.gross.as_ref().map_or(Decimal::ZERO, |g| g.amount);
                let currency = |a: Option<&Amount>| {
                    a.and_then(|a| a.currency.clone())
                        .or_else(|| inv.gross.as_ref().and_then(|g| g.currency.clone()))
                        .or_else(|| inv.currency.clone())
                        .unwrap_or_else(|| "EUR".into())
                };
                if inv.issue_date.is_some_and(|d| d >= year_ago) {
                    *revenue
                        .entry(id)
                        .or_default()
                        .entry(currency(None))
                        .or_default() += gross;
                }
                let status = inv.status.as_deref().unwrap_or("open");
                if ["paid", "cancelled", "closed"].contains(&status) {
                    return;
                }
                let currency = currency(inv.open_amount.as_ref());
                let open = inv.open_amount.as_ref().map_or(gross, |a| a.amount);
                let Some(due) = inv.due_date else {
                    return;
                };
                if (today - due).num_days() > cfg.overdue_days && open >= threshold {
                    let number = inv.number.unwrap_or_default();
                    let o = overdue.entry(id).or_insert_with(|| Overdue {
                        oldest: (due, connector.to_owned(), number.clone()),
                        count: 0,
                        total: BTreeMap::new(),
                        seen: HashSet::new(),
                    });
                    if !o.seen.insert(number_hash(&number)) {
                        return;
                    }
                    o.count += 1;
                    *o.total.entry(currency).or_default() += open;
                    let candidate = (due, connector.to_owned(), number);
                    if candidate < o.oldest {
                        o.oldest = candidate;
                    }
                }
            })
            .await?;
        new.extend(
            overdue
                .into_iter()
                .map(|(id, o)| o.reminder(id, today, &assignee)),
        );
        // Customers with payments that name their invoices (bank postings, ERP payments).
        store
            .for_each_record("payment", &mut |connector, customer_no, _| {
                paid_mapped.extend(customer_no.and_then(|no| dir.customer_of(connector, no)));
            })
            .await?;
        new.extend(payment_worse(store, dir, today, paid_mapped, &assignee).await?);
        // No contact for long with a customer of some revenue.
        let last: BTreeMap<i64, chrono::DateTime<Utc>> =
            store.last_contacts().await?.into_iter().collect();
        for (id, rev) in revenue
            .into_iter()
            .filter(|(_, r)| r.values().any(|a| *a >= revenue_threshold))
        {
            let rev = amounts(&rev);
            let since = last.get(&id).map(|t| t.date_naive());
            if since.is_some_and(|d| (today - d).num_days() <= cfg.no_contact_days) {
                continue;
            }
            let name = dir
                .entry(id)
                .and_then(|e| e.name.clone())
                .unwrap_or_else(|| format!("Kunde {id}"));
            new.push(NewReminder {
                customer_id: Some(id),
                title: format!("{name} anrufen"),
                due_date: today,
                assignee: assignee.clone(),
                source: "no_contact".into(),
                reason: Some(match since {
                    Some(d) => format!(
                        "letzter Kontakt am {}, Umsatz 12 Monate {rev}",
                        d.format("%d.%m.%Y")
                    ),
                    None => format!("noch kein Kontakt erfasst, Umsatz 12 Monate {rev}"),
                }),
                rule_key: Some(format!(
                    "no_contact:{id}:{}",
                    since.map_or_else(|| format!("never-{}", today.year()), |d| d.to_string())
                )),
            });
        }
    }
    // Promised delivery dates moved later (by an order confirmation).
    let mut customers: BTreeSet<i64> = BTreeSet::new();
    store
        .for_each_record("order_confirmation", &mut |connector, customer_no, _| {
            if let Some(id) = customer_no.and_then(|no| dir.customer_of(connector, no)) {
                customers.insert(id);
            }
        })
        .await?;
    for id in customers.into_iter().take(5_000) {
        let Some(known) = dir.known(id) else { continue };
        let view = customer_view_known(store, ctx, id, known, today).await?;
        for o in &view.open_orders {
            for l in &o.lines {
                if let (Some(before), Some(now)) = (l.promised_date_before, l.promised_date)
                    && now > before
                {
                    let line = l.line_no.clone().unwrap_or_default();
                    new.push(NewReminder {
                        customer_id: Some(id),
                        title: format!("Kunde über neuen Liefertermin zu {} informieren", o.number),
                        due_date: today,
                        assignee: assignee.clone(),
                        source: "delivery_moved".into(),
                        reason: Some(format!(
                            "Auftrag {} Pos. {line} ({}): Liefertermin vom {} auf den {} verschoben",
                            o.number,
                            l.sku.clone().unwrap_or_default(),
                            before.format("%d.%m.%Y"),
                            now.format("%d.%m.%Y")
                        )),
                        rule_key: Some(format!("delivery_moved:{}:{line}:{now}", o.number)),
                    });
                }
            }
        }
    }
    new.extend(quotes_expiring(store, dir, today, cfg.quote_days, &assignee).await?);
    // Complaints past their deadline, and their process steps past their due date.
    let open = super::ticket::of_customer(store, None, true, 0).await?;
    new.extend(super::complaint_process::overdue_step_reminders(
        &open, today, &assignee,
    ));
    for t in open {
        if t.overdue {
            new.push(NewReminder {
                customer_id: Some(t.customer_id),
                title: format!("Reklamation „{}“ ist überfällig", t.title),
                due_date: today,
                assignee: assignee.clone(),
                source: "complaint_overdue".into(),
                reason: Some(format!(
                    "Frist {} überschritten (Status {})",
                    t.deadline
                        .map(|d| d.format("%d.%m.%Y %H:%M").to_string())
                        .unwrap_or_default(),
                    t.status
                )),
                rule_key: Some(format!("complaint_overdue:{}", t.id)),
            });
        }
    }
    let created = store.add_reminders(&new).await? as usize;
    sum.created = created;
    sum.known = new.len() - created;
    Ok(sum)
}

/// "Zahlungsverhalten verschlechtert": customers who paid an invoice in the last year (its
/// item left a snapshot source, the source gives the day, or payments name it) whose average
/// days late grew by at least [`crate::view::TREND_DAYS`] against the year before. Once a year
/// per customer.
async fn payment_worse(
    store: &DynStore,
    dir: &Directory,
    today: NaiveDate,
    mut candidates: BTreeSet<i64>,
    assignee: &Option<String>,
) -> Result<Vec<NewReminder>, StoreError> {
    let since = (today - chrono::Days::new(365))
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    for (connector, no) in store.closed_since("invoice", since).await? {
        candidates.extend(dir.customer_of(&connector, &no));
    }
    let mut out = Vec::new();
    for id in candidates.into_iter().take(5_000) {
        let Some(known) = dir.known(id) else { continue };
        let behaviour = crate::view::payment_behaviour_of(store, known, today).await?;
        let Some(p) = behaviour.filter(|p| p.trend == "worse") else {
            continue;
        };
        let name = dir
            .entry(id)
            .and_then(|e| e.name.clone())
            .unwrap_or_else(|| format!("Kunde {id}"));
        let before = p.previous_avg_days_late.unwrap_or_default();
        out.push(NewReminder {
            customer_id: Some(id),
            title: format!("Zahlungsverhalten verschlechtert: {name}"),
            due_date: today,
            assignee: assignee.clone(),
            source: "payment_worse".into(),
            reason: Some(format!(
                "zahlt im Schnitt {} Tage nach Fälligkeit (Vorjahr {} Tage); {} von {} Rechnungen verspätet",
                german_days(p.avg_days_late),
                german_days(before),
                p.paid_late,
                p.invoices_paid
            )),
            rule_key: Some(format!("payment_worse:{id}:{}", today.year())),
        });
    }
    Ok(out)
}

/// "Angebot … läuft am … ab — nachfassen": open quotes whose `valid_until` is at most
/// `days` days away (not passed). Once per customer and quote number, whichever source has it.
async fn quotes_expiring(
    store: &DynStore,
    dir: &Directory,
    today: NaiveDate,
    days: u32,
    assignee: &Option<String>,
) -> Result<Vec<NewReminder>, StoreError> {
    let last = today + chrono::Days::new(u64::from(days));
    let mut out: BTreeMap<(i64, String), NewReminder> = BTreeMap::new();
    store
        .for_each_record("quote", &mut |connector, customer_no, data| {
            let Some(id) = customer_no.and_then(|no| dir.customer_of(connector, no)) else {
                return;
            };
            let Some(d) = crate::model::typed::Quote::head_of_text(data) else {
                return;
            };
            let Some(until) = d.valid_until else {
                return;
            };
            if until > last || crate::view::quote_status(&d, today, false) != "open" {
                return;
            }
            let Some(number) = d.number.clone() else {
                return;
            };
            let total = crate::view::Money::of(&d.total, &d.currency)
                .map(|m| format!("Angebot über {}, ", m.german()))
                .unwrap_or_default();
            let left = match (until - today).num_days() {
                0 => "heute".to_owned(),
                1 => "morgen".to_owned(),
                n => format!("in {n} Tagen"),
            };
            out.entry((id, number.clone()))
                .or_insert_with(|| NewReminder {
                    customer_id: Some(id),
                    title: format!(
                        "Angebot {number} läuft am {} ab — nachfassen",
                        until.format("%d.%m.%Y")
                    ),
                    due_date: today,
                    assignee: assignee.clone(),
                    source: "quote_expiring".into(),
                    reason: Some(format!(
                        "{total}gültig bis {} ({left})",
                        until.format("%d.%m.%Y")
                    )),
                    rule_key: Some(format!("quote_expiring:{id}:{number}")),
                });
        })
        .await?;
    // A quote an order names was accepted, whatever its own source still says.
    let ids: BTreeSet<i64> = out.keys().map(|(id, _)| *id).collect();
    for id in ids {
        let Some(known) = dir.known(id) else { continue };
        let records = store.records_of(&known.record_pairs()).await?;
        let orders: Vec<&crate::store::StoredRecord> =
            records.iter().filter(|r| r.entity == "order").collect();
        for number in crate::view::ordered_quotes(&orders) {
            out.remove(&(id, number));
        }
    }
    Ok(out.into_values().collect())
}

/// Days with one decimal as Germans write them: `12,5`.
fn german_days(d: Decimal) -> String {
    d.round_dp(1).to_string().replace('.', ",")
}

/// After a sync: the cheap rules every time, the invoice scan once a day.
pub async fn after_sync(
    store: &DynStore,
    cfg: &crate::config::Config,
    dir: &Directory,
) -> Result<SuggestSummary, StoreError> {
    let today = chrono::Local::now().date_naive();
    let full = store
        .job_last_run("reminders_full")
        .await?
        .is_none_or(|t| t.with_timezone(&chrono::Local).date_naive() < today);
    let ctx = ViewContext::from_config(cfg);
    let s = suggest(store, &cfg.reminders, &ctx, dir, today, full).await?;
    if full {
        store.job_ran("reminders_full", Utc::now()).await?;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_german_and_never_add_currencies() {
        let mut t = BTreeMap::new();
        t.insert("EUR".to_owned(), Decimal::from_str("15339.1").unwrap());
        assert_eq!(amounts(&t), "15.339,10 €");
        t.insert("NOK".to_owned(), Decimal::from_str("-1000").unwrap());
        t.insert("CHF".to_owned(), Decimal::from_str("0.5").unwrap());
        assert_eq!(amounts(&t), "15.339,10 € und 0,50 CHF und -1.000,00 NOK");
        assert_eq!(
            crate::view::german_amount(Decimal::from_str("1234567.899").unwrap()),
            "1.234.567,90"
        );
    }
}
