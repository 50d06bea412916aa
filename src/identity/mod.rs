//! Identity resolution: which source customers (a customer number in one system) are the same
//! customer.
//!
//! Deterministic rules merge automatically (configured cross-references, VAT ID, GLN, e-mail,
//! E.164 phone), unless a guard says the two cannot be one (two numbers of one system,
//! different VAT IDs or GLNs, an ops decision): then a **suggestion** is made instead. Fuzzy
//! rules (normalised company name, Kölner Phonetik, postcode) only ever suggest. Ops decide
//! suggestions and can merge and split by hand; their decisions are kept and applied on every
//! resolution. Each key records how it joined its customer (`matched_on`), and customer ids
//! are stable: a merge keeps the older id (the other becomes an alias), a split gives keys
//! back the id they had first.

pub mod actions;
pub mod attrs;
pub mod generic;
pub mod ids;
pub mod normalize;
pub mod resolve;
pub mod run;
pub mod triage;
pub mod xref;

pub use attrs::SourceCustomer;
pub use resolve::{Resolution, ResolveOptions, resolve};
pub use run::{IdentityError, ResolveSummary, Resolved, resolve_changed, resolve_store};

use serde::{Deserialize, Serialize};
use std::fmt;

/// A source customer: a customer number in a system (the connectors of one ERP share one).
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub struct KeyId {
    pub system: String,
    pub customer_no: String,
}

impl KeyId {
    pub fn new(system: impl Into<String>, customer_no: impl Into<String>) -> Self {
        Self {
            system: system.into(),
            customer_no: customer_no.into(),
        }
    }

    /// `system:customer_no`, the form the CLI takes.
    pub fn parse(s: &str) -> Option<KeyId> {
        let (system, no) = s.split_once(':')?;
        (!system.is_empty() && !no.is_empty()).then(|| KeyId::new(system, no))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.system, self.customer_no)
    }
}

/// Why a key belongs to its customer: the rule, the value both sides share, and the key it
/// was matched with. The first key of a customer (its anchor) has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MatchedOn {
    /// `xref`, `vat_id`, `gln`, `email`, `phone` or `manual`.
    pub rule: String,
    pub value: String,
    pub via: KeyId,
}

/// An ops decision about two source customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// The two are one customer (manual merge, confirmed suggestion).
    Link,
    /// The two are different customers (split, rejected suggestion).
    Unlink,
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Link => "link",
            DecisionKind::Unlink => "unlink",
        }
    }
    pub fn parse(s: &str) -> Option<DecisionKind> {
        match s {
            "link" => Some(DecisionKind::Link),
            "unlink" => Some(DecisionKind::Unlink),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub kind: DecisionKind,
    pub a: KeyId,
    pub b: KeyId,
}

impl Decision {
    /// A decision with its two keys in canonical order (so that it is stored once).
    pub fn new(kind: DecisionKind, a: KeyId, b: KeyId) -> Decision {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        Decision { kind, a, b }
    }
}

/// The state of a key before a resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrevKey {
    pub customer_id: i64,
    pub home_id: i64,
}

/// A key's place after a resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub key: KeyId,
    pub customer_id: i64,
    pub home_id: i64,
    /// `anchor` for the first key of a customer, else the rule of `matched_on`.
    pub rule: String,
    pub matched_on: Option<MatchedOn>,
}

/// Two customers that may be one, for ops to decide.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NewSuggestion {
    pub a: KeyId,
    pub b: KeyId,
    /// 0..1
    pub score: f64,
    /// `name_postcode`, or a deterministic rule held back by a guard (`email_blocked`, …).
    pub rule: String,
    pub reason: String,
}

/// The decisions that merge two customers (given their keys): a link between them, and any
/// earlier unlink between their keys withdrawn. Returns (add, remove).
pub fn merge_decisions(x: &[KeyId], y: &[KeyId]) -> (Vec<Decision>, Vec<Decision>) {
    let (Some(a), Some(b)) = (x.iter().min(), y.iter().min()) else {
        return (Vec::new(), Vec::new());
    };
    let add = vec![Decision::new(DecisionKind::Link, a.clone(), b.clone())];
    let remove = pairs(x, y, DecisionKind::Unlink);
    (add, remove)
}

/// The decisions that split `moved` off a customer whose keys are `all`: links between the
/// two parts withdrawn, and unlinks so that no rule merges them again. Returns (add, remove).
pub fn split_decisions(all: &[KeyId], moved: &[KeyId]) -> (Vec<Decision>, Vec<Decision>) {
    let rest: Vec<KeyId> = all.iter().filter(|k| !moved.contains(k)).cloned().collect();
    (
        pairs(moved, &rest, DecisionKind::Unlink),
        pairs(moved, &rest, DecisionKind::Link),
    )
}

fn pairs(x: &[KeyId], y: &[KeyId], kind: DecisionKind) -> Vec<Decision> {
    x.iter()
        .flat_map(|a| {
            y.iter()
                .map(move |b| Decision::new(kind, a.clone(), b.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests;
