//! Triage of many suggestions at once: clusters (the connected components of suggested
//! pairs, so that a group's three numbers are decided together) and selections by rule,
//! system or cluster for bulk decisions.

use super::KeyId;
use crate::store::{DynStore, StoreError, SuggestionRow};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Rules a suggestion can have (`<rule>_blocked`: a deterministic rule held back by a guard;
/// `name_postcode`: similar names); a selection takes these or their first part (`email`).
pub const SUGGESTION_RULES: &[&str] = &[
    "vat_id_blocked",
    "gln_blocked",
    "email_blocked",
    "phone_blocked",
    "name_postcode",
];

/// A suggestion as a listing shows it: the stored one with its cluster.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub id: i64,
    pub a: KeyId,
    pub b: KeyId,
    pub a_customer_id: Option<i64>,
    pub b_customer_id: Option<i64>,
    pub score: f64,
    pub rule: String,
    pub reason: String,
    /// open | confirmed | rejected | obsolete
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// The cluster (connected suggestions) it belongs to in the listing: the lowest suggestion
    /// id of the cluster. Not stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<i64>,
}

impl From<SuggestionRow> for Suggestion {
    fn from(s: SuggestionRow) -> Self {
        Suggestion {
            id: s.id,
            a: s.a,
            b: s.b,
            a_customer_id: s.a_customer_id,
            b_customer_id: s.b_customer_id,
            score: s.score,
            rule: s.rule,
            reason: s.reason,
            status: s.status,
            created_at: s.created_at,
            cluster: None,
        }
    }
}

/// The suggestions with `status` (`None`: all), clusters assigned over the whole listing.
pub async fn listing(
    store: &DynStore,
    status: Option<&str>,
) -> Result<Vec<Suggestion>, StoreError> {
    let mut list: Vec<Suggestion> = store
        .suggestions(status, 0)
        .await?
        .into_iter()
        .map(Suggestion::from)
        .collect();
    assign_clusters(&mut list);
    Ok(list)
}

/// A side of a suggestion: its customer now, else its key.
fn node(customer: Option<i64>, key: &KeyId) -> String {
    customer.map_or_else(|| format!("k:{key}"), |c| format!("c:{c}"))
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Sets each suggestion's `cluster`: suggestions that share a customer (directly or through
/// others) form one cluster, named by its lowest suggestion id.
pub fn assign_clusters(list: &mut [Suggestion]) {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut parent: Vec<usize> = Vec::new();
    let mut ends = Vec::with_capacity(list.len());
    for s in list.iter() {
        let mut id = |n: String| {
            let next = index.len();
            *index.entry(n).or_insert_with(|| {
                parent.push(next);
                next
            })
        };
        let (a, b) = (
            id(node(s.a_customer_id, &s.a)),
            id(node(s.b_customer_id, &s.b)),
        );
        ends.push((a, b));
    }
    for &(a, b) in &ends {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut lowest: HashMap<usize, i64> = HashMap::new();
    for (s, &(a, _)) in list.iter().zip(&ends) {
        let root = find(&mut parent, a);
        let l = lowest.entry(root).or_insert(s.id);
        *l = (*l).min(s.id);
    }
    for (s, &(a, _)) in list.iter_mut().zip(&ends) {
        s.cluster = lowest.get(&find(&mut parent, a)).copied();
    }
}

/// A cluster of a listing.
#[derive(Debug)]
pub struct Group<'a> {
    pub cluster: i64,
    /// Customers (or keys without one) the cluster's suggestions connect.
    pub customers: usize,
    /// In the listing's order (best first).
    pub suggestions: Vec<&'a Suggestion>,
}

impl Group<'_> {
    pub fn best(&self) -> f64 {
        self.suggestions.iter().map(|s| s.score).fold(0.0, f64::max)
    }

    /// The rules of its suggestions, each once, in order.
    pub fn rules(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for s in &self.suggestions {
            if !out.contains(&s.rule.as_str()) {
                out.push(&s.rule);
            }
        }
        out
    }
}

/// The clusters of a listing (clusters assigned), best score first, then by id.
pub fn groups(list: &[Suggestion]) -> Vec<Group<'_>> {
    let mut by: BTreeMap<i64, Vec<&Suggestion>> = BTreeMap::new();
    for s in list {
        by.entry(s.cluster.unwrap_or(s.id)).or_default().push(s);
    }
    let mut out: Vec<Group<'_>> = by
        .into_iter()
        .map(|(cluster, suggestions)| {
            let mut nodes: Vec<String> = suggestions
                .iter()
                .flat_map(|s| [node(s.a_customer_id, &s.a), node(s.b_customer_id, &s.b)])
                .collect();
            nodes.sort();
            nodes.dedup();
            Group {
                cluster,
                customers: nodes.len(),
                suggestions,
            }
        })
        .collect();
    out.sort_by(|x, y| {
        y.best()
            .total_cmp(&x.best())
            .then(x.cluster.cmp(&y.cluster))
    });
    out
}

/// Which suggestions a bulk decision takes: all given conditions hold.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// A suggestion rule (`email` takes `email_blocked`; `name` takes `name_postcode`).
    pub rule: Option<String>,
    /// One side is a customer number of this system.
    pub system: Option<String>,
    /// The cluster's id (its lowest suggestion id).
    pub cluster: Option<i64>,
}

fn rule_matches(rule: &str, wanted: &str) -> bool {
    rule == wanted
        || rule
            .strip_prefix(wanted)
            .is_some_and(|rest| rest.starts_with('_'))
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.rule.is_none() && self.system.is_none() && self.cluster.is_none()
    }

    /// Why the selection cannot match anything (an unknown rule).
    pub fn problem(&self) -> Option<String> {
        let rule = self.rule.as_deref()?;
        (!SUGGESTION_RULES.iter().any(|r| rule_matches(r, rule))).then(|| {
            format!(
                "unknown rule `{rule}` (suggestions come from: {})",
                SUGGESTION_RULES.join(", ")
            )
        })
    }

    /// Whether `s` (clusters assigned) is selected.
    pub fn matches(&self, s: &Suggestion) -> bool {
        self.rule
            .as_deref()
            .is_none_or(|r| rule_matches(&s.rule, r))
            && self
                .system
                .as_deref()
                .is_none_or(|sys| s.a.system == sys || s.b.system == sys)
            && self.cluster.is_none_or(|c| s.cluster.unwrap_or(s.id) == c)
    }

    /// `rule email, system wawi`
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(r) = &self.rule {
            parts.push(format!("rule {r}"));
        }
        if let Some(s) = &self.system {
            parts.push(format!("system {s}"));
        }
        if let Some(c) = self.cluster {
            parts.push(format!("cluster {c}"));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(id: i64, a: (&str, i64), b: (&str, i64), rule: &str) -> Suggestion {
        let key = |(k, _): (&str, i64)| KeyId::parse(k).unwrap();
        Suggestion {
            id,
            a: key(a),
            b: key(b),
            a_customer_id: Some(a.1),
            b_customer_id: Some(b.1),
            score: if rule == "name_postcode" { 0.9 } else { 0.7 },
            rule: rule.into(),
            reason: String::new(),
            status: "open".into(),
            created_at: Utc::now(),
            cluster: None,
        }
    }

    #[test]
    fn clusters_are_connected_components_named_by_their_lowest_id() {
        let mut list = vec![
            s(7, ("shop:1", 1), ("wawi:2", 2), "email_blocked"),
            s(3, ("shop:1", 1), ("wawi:3", 3), "email_blocked"),
            s(9, ("wawi:4", 4), ("wawi:5", 5), "phone_blocked"),
            s(12, ("wawi:5", 5), ("wawi:6", 6), "name_postcode"),
            s(20, ("wawi:8", 8), ("shop:9", 9), "name_postcode"),
        ];
        assign_clusters(&mut list);
        let c: Vec<i64> = list.iter().map(|s| s.cluster.unwrap()).collect();
        assert_eq!(c, [3, 3, 9, 9, 20]);
        let g = groups(&list);
        let shape: Vec<(i64, usize, usize)> = g
            .iter()
            .map(|g| (g.cluster, g.customers, g.suggestions.len()))
            .collect();
        // Best score first (0.9), then by id.
        assert_eq!(shape, [(9, 3, 2), (20, 2, 1), (3, 3, 2)]);
        assert_eq!(g[0].rules(), ["phone_blocked", "name_postcode"]);
    }

    #[test]
    fn selections_by_rule_system_and_cluster() {
        let mut list = vec![
            s(1, ("shop:1", 1), ("wawi:2", 2), "email_blocked"),
            s(2, ("erp:1", 3), ("erp:2", 4), "email_blocked"),
            s(3, ("wawi:4", 5), ("wawi:5", 6), "name_postcode"),
        ];
        assign_clusters(&mut list);
        let ids = |sel: Selection| -> Vec<i64> {
            list.iter()
                .filter(|s| sel.matches(s))
                .map(|s| s.id)
                .collect()
        };
        let sel = |rule: Option<&str>, system: Option<&str>, cluster: Option<i64>| Selection {
            rule: rule.map(Into::into),
            system: system.map(Into::into),
            cluster,
        };
        assert_eq!(ids(sel(Some("email"), None, None)), [1, 2]);
        assert_eq!(ids(sel(Some("email"), Some("wawi"), None)), [1]);
        assert_eq!(ids(sel(Some("name"), None, None)), [3]);
        assert_eq!(ids(sel(Some("name_postcode"), Some("wawi"), None)), [3]);
        assert_eq!(ids(sel(None, None, Some(2))), [2]);
        assert_eq!(ids(sel(Some("email_blocked"), None, None)), [1, 2]);
        assert!(ids(sel(Some("emai"), None, None)).is_empty());
        assert!(sel(Some("emai"), None, None).problem().is_some());
        assert!(sel(Some("email"), None, None).problem().is_none());
        assert!(sel(Some("email_blocked"), None, None).problem().is_none());
        assert_eq!(
            sel(Some("email"), Some("wawi"), None).describe(),
            "rule email, system wawi"
        );
    }
}
