//! Complaint analysis (`GET /api/v1/reports/complaints`): per category, item, customer or
//! team — how many, how many open, how long to resolve (median, p90), how many past their
//! deadline, which items and which words come back. Never per person: complaints carry a
//! team, and a team is reported on its own only with at least `min_group_size` members
//! (works-council rule; smaller teams together as "other teams", or withheld). Costs (the
//! recorded cost and the process steps' expected cost) are summed per group only — the report
//! has no total of them, which would give away the withheld teams' share.

use super::complaints::stemmed_words;
use super::reports::TeamGate;
use super::ticket::Ticket;
use crate::config::PrivacySection;
use crate::store::{DynStore, StoreError};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// What a report can be grouped by.
pub const GROUPS: &[&str] = &["category", "item", "customer", "team"];

/// A value and how often it came up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counted {
    pub value: String,
    pub count: usize,
}

/// A word that comes back: as people wrote it most often, its stem (what the full-text index
/// matches: `verbogen`, `verbiegt` → `verbog`), in how many complaints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RecurringTerm {
    pub value: String,
    pub stem: String,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComplaintGroup {
    /// The category, item number, customer id or team (`other teams`: small teams together;
    /// `–`: complaints without an item or team).
    pub key: String,
    pub count: usize,
    pub open: usize,
    pub resolved: usize,
    /// Days from filing to resolution, of the resolved ones (one decimal).
    pub median_days_to_resolve: Option<f64>,
    pub p90_days_to_resolve: Option<f64>,
    /// Resolved after their deadline, or open and past it now.
    pub past_deadline: usize,
    /// `past_deadline` / `count` (0..1).
    pub past_deadline_share: f64,
    /// The items complained about most (up to 5; not when grouped by item).
    pub top_items: Vec<Counted>,
    /// Words that come back in at least two complaints of the group (up to 5).
    pub recurring_terms: Vec<RecurringTerm>,
    /// The cost recorded on its complaints together (only when any has one), in euros.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "360.00")]
    pub cost: Option<Decimal>,
    /// How many of its complaints have a cost recorded (with `cost`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_recorded: Option<usize>,
    /// What their process steps are expected to cost together (only when any step has a cost).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "410.00")]
    pub expected_cost: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComplaintReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub group: String,
    /// Only complaints of this team (sales and service see their own team's).
    pub team: Option<String>,
    pub min_group_size: u32,
    /// Complaints filed in the period.
    pub total: usize,
    /// Largest group first.
    pub groups: Vec<ComplaintGroup>,
    /// Complaints of teams too small to be shown (counted, not attributed).
    pub withheld: usize,
}

/// The `p`-th percentile (nearest rank) of sorted `v`.
fn percentile(v: &[f64], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    Some((v[rank.min(v.len()) - 1] * 10.0).round() / 10.0)
}

fn top(counts: BTreeMap<String, usize>) -> Vec<Counted> {
    let mut v: Vec<Counted> = counts
        .into_iter()
        .map(|(value, count)| Counted { value, count })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    v.truncate(5);
    v
}

fn summarise(
    key: String,
    tickets: &[&Ticket],
    by_item: bool,
    now: DateTime<Utc>,
) -> ComplaintGroup {
    let mut days: Vec<f64> = tickets
        .iter()
        .filter_map(|t| {
            t.resolved_at
                .map(|r| (r - t.created_at).num_seconds() as f64 / 86_400.0)
        })
        .collect();
    days.sort_by(f64::total_cmp);
    let past_deadline = tickets
        .iter()
        .filter(|t| {
            t.deadline
                .is_some_and(|d| t.resolved_at.map_or(now > d, |r| r > d))
        })
        .count();
    let mut items: BTreeMap<String, usize> = BTreeMap::new();
    // stem → (complaints, how often each spelling)
    let mut stems: BTreeMap<String, (usize, BTreeMap<String, usize>)> = BTreeMap::new();
    for t in tickets {
        if let Some(sku) = &t.sku {
            *items.entry(sku.clone()).or_default() += 1;
        }
        let mut seen = std::collections::BTreeSet::new();
        for (stem, word) in stemmed_words(&format!("{} {}", t.title, t.text)) {
            let e = stems.entry(stem.clone()).or_default();
            *e.1.entry(word).or_default() += 1;
            if seen.insert(stem) {
                e.0 += 1;
            }
        }
    }
    let mut recurring: Vec<RecurringTerm> = stems
        .into_iter()
        .filter(|(_, (n, _))| *n >= 2)
        .map(|(stem, (count, spellings))| RecurringTerm {
            value: spellings
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
                .map(|(w, _)| w)
                .unwrap_or_else(|| stem.clone()),
            stem,
            count,
        })
        .collect();
    recurring.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    recurring.truncate(5);
    let open = tickets
        .iter()
        .filter(|t| !["resolved", "closed"].contains(&t.status.as_str()))
        .count();
    let costs: Vec<Decimal> = tickets.iter().filter_map(|t| t.cost).collect();
    let expected: Vec<Decimal> = tickets.iter().filter_map(|t| t.expected_cost).collect();
    ComplaintGroup {
        key,
        count: tickets.len(),
        open,
        resolved: tickets.len() - open,
        median_days_to_resolve: percentile(&days, 50.0),
        p90_days_to_resolve: percentile(&days, 90.0),
        past_deadline,
        past_deadline_share: if tickets.is_empty() {
            0.0
        } else {
            past_deadline as f64 / tickets.len() as f64
        },
        top_items: if by_item { Vec::new() } else { top(items) },
        recurring_terms: recurring,
        cost: (!costs.is_empty()).then(|| costs.iter().sum()),
        cost_recorded: (!costs.is_empty()).then_some(costs.len()),
        expected_cost: (!expected.is_empty()).then(|| expected.iter().sum()),
    }
}

/// The complaints filed in [`from`, `to`) (of `team` only, when given), grouped by `group`.
pub async fn complaints(
    store: &DynStore,
    privacy: &PrivacySection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group: &str,
    team: Option<&str>,
) -> Result<ComplaintReport, StoreError> {
    let gate = TeamGate::new(privacy);
    let all = super::ticket::of_customer(store, None, false, 0).await?;
    let tickets: Vec<&Ticket> = all
        .iter()
        .filter(|t| t.created_at >= from && t.created_at < to)
        .filter(|t| team.is_none() || t.team.as_deref() == team)
        .collect();
    let mut groups: BTreeMap<String, Vec<&Ticket>> = BTreeMap::new();
    let mut withheld = 0;
    let teams = gate.buckets(tickets.iter().map(|t| t.team.as_deref()));
    for t in &tickets {
        let key = match group {
            "item" => t.sku.clone().unwrap_or_else(|| "–".into()),
            "customer" => t.customer_id.to_string(),
            "team" => match teams.get(&t.team.as_deref().map(str::to_owned)) {
                Some(Some(bucket)) => bucket.clone(),
                _ => {
                    withheld += 1;
                    continue;
                }
            },
            _ => t.category.clone(),
        };
        groups.entry(key).or_default().push(t);
    }
    let now = Utc::now();
    let mut out: Vec<ComplaintGroup> = groups
        .into_iter()
        .map(|(k, ts)| summarise(k, &ts, group == "item", now))
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    Ok(ComplaintReport {
        from,
        to,
        group: group.to_owned(),
        team: team.map(str::to_owned),
        min_group_size: gate.min,
        total: tickets.len(),
        groups: out,
        withheld,
    })
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(percentile(&v, 50.0), Some(5.0));
        assert_eq!(percentile(&v, 90.0), Some(9.0));
        assert_eq!(percentile(&[2.25], 90.0), Some(2.3));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
