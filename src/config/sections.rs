//! The plain sections of `kontor.toml`: `[store]`, `[server]`, `[sync]`, `[identity]`.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    #[serde(default = "default_store_url")]
    pub url: String,
}

fn default_store_url() -> String {
    "sqlite://kontor.db".into()
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            url: default_store_url(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Requests per API token: `"100/s"`, `"3000/m"`; a burst of the same size is allowed.
    #[serde(default = "default_rate_limit")]
    pub rate_limit: String,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}

fn default_rate_limit() -> String {
    "100/s".into()
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            rate_limit: default_rate_limit(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSection {
    /// Records per batch (one transaction each).
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Default for connectors: a unit with a higher share of rejected rows loads nothing.
    #[serde(default = "default_ratio")]
    pub max_reject_ratio: f64,
}

fn default_batch() -> usize {
    5000
}
fn default_ratio() -> f64 {
    0.1
}

impl Default for SyncSection {
    fn default() -> Self {
        Self {
            batch_size: default_batch(),
            max_reject_ratio: default_ratio(),
        }
    }
}

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
        }
    }
}

/// A problem in a section: key path (from the section name) and message.
pub type Problem = (Vec<String>, String);

fn key(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| (*p).to_owned()).collect()
}

impl ServerSection {
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if let Err(e) = self.listen.parse::<std::net::SocketAddr>() {
            out.push((
                key(&["server", "listen"]),
                format!("listen `{}`: {e} (e.g. 127.0.0.1:8080)", self.listen),
            ));
        }
        if let Err(e) = kontor_connector::parse_rate(&self.rate_limit) {
            out.push((key(&["server", "rate_limit"]), e));
        }
        out
    }
}

/// Fields of the merged customer that a field priority can name.
pub const MERGED_FIELDS: &[&str] = &[
    "name",
    "name2",
    "vat_id",
    "gln",
    "email",
    "phones",
    "fax",
    "address",
    "payment_terms_days",
];

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
        if crate::model::phone::parse_phone("030 1234567", &self.phone_region).is_err() {
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
        out
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
