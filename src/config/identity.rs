//! `[identity]`: how source customers are merged, which evidence counts, whose value wins.

use super::sections::{Problem, key};
use serde::Deserialize;

/// `[identity]`: how source customers are merged and whose value wins a field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySection {
    /// CSV files of customer-number cross-references: a header row naming systems, then one
    /// row per customer with its number in each system (empty = not there).
    #[serde(default)]
    pub xref: Vec<String>,
    /// Deterministic rules that merge automatically, strongest first.
    #[serde(default = "default_rules")]
    pub rules: Vec<String>,
    /// Field conflicts: `newest` (the most recently changed value wins) or `priority`.
    #[serde(default = "default_conflict")]
    pub conflict: String,
    /// Connectors in order of trust for `conflict = "priority"` (unlisted ones after, newest
    /// first).
    #[serde(default)]
    pub priority: Vec<String>,
    /// Per field (`email`, `phones`, `address`, …) its own connector order.
    #[serde(default)]
    pub field_priority: std::collections::BTreeMap<String, Vec<String>>,
    /// Region for phone numbers written without a country code.
    #[serde(default = "default_region")]
    pub phone_region: String,
    /// Name similarity (0..1) from which two customers at one postcode are suggested as one.
    #[serde(default = "default_threshold")]
    pub suggest_threshold: f64,
    /// An e-mail address or phone number carried by more customer numbers of one system
    /// than this is generic (a shared `info@`): no evidence for merging or suggesting; role
    /// addresses (`info@`, `buchhaltung@`, …) at a domain that many numbers of one system use
    /// likewise. 0 turns the counting off.
    #[serde(default = "default_generic_after")]
    pub generic_after: usize,
    /// Addresses and phone numbers that are never evidence (written as in the data; phones
    /// are compared in E.164).
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Our own VAT IDs: an e-invoice whose buyer has one of them was received (its seller is a
    /// supplier, the document a supplier invoice), not sent.
    #[serde(default)]
    pub own_vat_ids: Vec<String>,
    /// Our own GLNs, used like `own_vat_ids`.
    #[serde(default)]
    pub own_glns: Vec<String>,
}

/// The deterministic identity rules kontor knows.
pub const IDENTITY_RULES: &[&str] = &["xref", "vat_id", "gln", "email", "phone"];

fn default_rules() -> Vec<String> {
    IDENTITY_RULES.iter().map(|r| (*r).to_owned()).collect()
}
fn default_conflict() -> String {
    "newest".into()
}
fn default_region() -> String {
    "DE".into()
}
fn default_threshold() -> f64 {
    0.85
}
fn default_generic_after() -> usize {
    3
}

impl Default for IdentitySection {
    fn default() -> Self {
        Self {
            xref: Vec::new(),
            rules: default_rules(),
            conflict: default_conflict(),
            priority: Vec::new(),
            field_priority: Default::default(),
            phone_region: default_region(),
            suggest_threshold: default_threshold(),
            generic_after: default_generic_after(),
            ignore: Vec::new(),
            own_vat_ids: Vec::new(),
            own_glns: Vec::new(),
        }
    }
}

/// Declared beside the view that shows them; kept here under its old path.
pub use crate::view::shown::MERGED_FIELDS;

impl IdentitySection {
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        for (i, r) in self.rules.iter().enumerate() {
            if !IDENTITY_RULES.contains(&r.as_str()) {
                out.push((
                    key(&["identity", "rules", &i.to_string()]),
                    format!("unknown rule `{r}` (known: {})", IDENTITY_RULES.join(", ")),
                ));
            }
        }
        if !["newest", "priority"].contains(&self.conflict.as_str()) {
            out.push((
                key(&["identity", "conflict"]),
                format!(
                    "conflict `{}`: use \"newest\" or \"priority\"",
                    self.conflict
                ),
            ));
        }
        for field in self.field_priority.keys() {
            if !MERGED_FIELDS.contains(&field.as_str()) {
                out.push((
                    key(&["identity", "field_priority", field]),
                    format!(
                        "unknown field `{field}` (known: {})",
                        MERGED_FIELDS.join(", ")
                    ),
                ));
            }
        }
        // (Not a sample parse: that builds the number metadata, ≈ 0.1 s of every command.)
        if !crate::model::phone::known_region(&self.phone_region) {
            out.push((
                key(&["identity", "phone_region"]),
                format!(
                    "phone_region `{}`: use an ISO country code such as DE",
                    self.phone_region
                ),
            ));
        }
        if !(0.0..=1.0).contains(&self.suggest_threshold) {
            out.push((
                key(&["identity", "suggest_threshold"]),
                "suggest_threshold must be between 0 and 1".into(),
            ));
        }
        for (i, v) in self.ignore.iter().enumerate() {
            if crate::identity::generic::ignore_entry(v, &self.phone_region).is_none() {
                out.push((
                    key(&["identity", "ignore", &i.to_string()]),
                    format!("ignore `{v}`: neither an e-mail address nor a phone number"),
                ));
            }
        }
        out
    }

    /// The ignore list, normalised (entries that are neither are left out).
    pub fn ignored_values(&self) -> std::collections::BTreeSet<String> {
        self.ignore
            .iter()
            .filter_map(|v| crate::identity::generic::ignore_entry(v, &self.phone_region))
            .collect()
    }

    /// The lists of connector names in this section, with their key paths.
    pub fn connector_lists(&self) -> Vec<(Vec<String>, &[String])> {
        let mut out = vec![(key(&["priority"]), self.priority.as_slice())];
        for (field, list) in &self.field_priority {
            out.push((key(&["field_priority", field]), list.as_slice()));
        }
        out
    }
}
