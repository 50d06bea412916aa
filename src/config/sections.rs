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
    /// Serve `/metrics` on this (loopback) address instead of `listen`.
    #[serde(default)]
    pub metrics_listen: Option<String>,
    /// POSTed a JSON message when a run fails or a source becomes stale.
    #[serde(default)]
    pub alert_webhook: Option<String>,
    /// Whether `kontor serve` runs the connectors' schedules.
    #[serde(default = "yes")]
    pub scheduler: bool,
    /// Host names the server answers to (the `Host` header, without port). Default: when
    /// listening on loopback, `localhost`, `127.0.0.1` and `[::1]` (no DNS rebinding);
    /// otherwise any — set it when serving on a network.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// The address people use (`https://kontor.example.com` behind a TLS reverse proxy):
    /// `https` turns on HSTS.
    #[serde(default)]
    pub public_url: Option<String>,
    /// A client must send a request's headers within this (idle connections close after it).
    #[serde(default = "default_header_timeout")]
    pub header_timeout: String,
    /// A request (body included) must be done within this.
    #[serde(default = "default_request_timeout")]
    pub request_timeout: String,
    /// Open connections per client address.
    #[serde(default = "default_per_ip")]
    pub max_connections_per_ip: usize,
    /// `/metrics` on the main listener needs `Authorization: Bearer` with this file's token
    /// (or an ops API token); not needed with `metrics_listen`.
    #[serde(default)]
    pub metrics_token_file: Option<String>,
}

fn default_header_timeout() -> String {
    "10s".into()
}
fn default_request_timeout() -> String {
    "60s".into()
}
fn default_per_ip() -> usize {
    64
}

impl ServerSection {
    /// The host names the server answers to (empty: any).
    pub fn hosts(&self) -> Vec<String> {
        if !self.allowed_hosts.is_empty() {
            return self
                .allowed_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect();
        }
        let loopback = self
            .listen
            .parse::<std::net::SocketAddr>()
            .is_ok_and(|a| a.ip().is_loopback());
        if loopback {
            ["localhost", "127.0.0.1", "[::1]"]
                .map(String::from)
                .to_vec()
        } else {
            Vec::new()
        }
    }

    /// Header and request time limits.
    pub fn timeouts(&self) -> (std::time::Duration, std::time::Duration) {
        let d = |s: &str, default: u64| {
            kontor_connector::parse_duration(s).unwrap_or(std::time::Duration::from_secs(default))
        };
        (d(&self.header_timeout, 10), d(&self.request_timeout, 60))
    }
}

fn yes() -> bool {
    true
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
            metrics_listen: None,
            alert_webhook: None,
            scheduler: true,
            allowed_hosts: Vec::new(),
            public_url: None,
            header_timeout: default_header_timeout(),
            request_timeout: default_request_timeout(),
            max_connections_per_ip: default_per_ip(),
            metrics_token_file: None,
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
    /// Scheduled runs start up to this much after their slot (spreads load): `"5s"`.
    #[serde(default = "default_jitter")]
    pub jitter: String,
    /// Folders outside the config's folder that connectors may read from and archive to
    /// (`path`, `archive`); everything else must stay inside the config's folder.
    #[serde(default)]
    pub allowed_roots: Vec<String>,
}

fn default_jitter() -> String {
    "5s".into()
}

impl SyncSection {
    pub fn problems(&self) -> Vec<Problem> {
        match kontor_connector::parse_duration(&self.jitter) {
            Ok(_) => Vec::new(),
            Err(e) => vec![(key(&["sync", "jitter"]), e)],
        }
    }
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
            jitter: default_jitter(),
            allowed_roots: Vec::new(),
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
            own_vat_ids: Vec::new(),
            own_glns: Vec::new(),
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
        if let Some(m) = &self.metrics_listen
            && let Err(e) = m.parse::<std::net::SocketAddr>()
        {
            out.push((
                key(&["server", "metrics_listen"]),
                format!("metrics_listen `{m}`: {e}"),
            ));
        }
        for (k, v) in [
            ("header_timeout", &self.header_timeout),
            ("request_timeout", &self.request_timeout),
        ] {
            if let Err(e) = kontor_connector::parse_duration(v) {
                out.push((key(&["server", k]), e));
            }
        }
        if self.max_connections_per_ip == 0 {
            out.push((
                key(&["server", "max_connections_per_ip"]),
                "max_connections_per_ip must be at least 1".into(),
            ));
        }
        if let Some(u) = &self.public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            out.push((
                key(&["server", "public_url"]),
                format!("public_url `{u}`: use an http(s) URL"),
            ));
        }
        if let Some(w) = &self.alert_webhook
            && !(w.starts_with("http://") || w.starts_with("https://"))
        {
            out.push((
                key(&["server", "alert_webhook"]),
                format!("alert_webhook `{w}`: use an http(s) URL"),
            ));
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

/// `[complaints]`: categories with their deadline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintsSection {
    /// Category → time to resolve (`"3d"`, `"48h"`).
    #[serde(default = "default_categories")]
    pub categories: std::collections::BTreeMap<String, String>,
}

fn default_categories() -> std::collections::BTreeMap<String, String> {
    [
        ("lieferung", "3d"),
        ("qualitaet", "5d"),
        ("rechnung", "10d"),
        ("sonstiges", "7d"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect()
}

impl Default for ComplaintsSection {
    fn default() -> Self {
        Self {
            categories: default_categories(),
        }
    }
}

/// `[reminders]`: when kontor suggests a reminder after a sync.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemindersSection {
    /// An invoice this many days overdue …
    #[serde(default = "default_overdue_days")]
    pub overdue_days: i64,
    /// … with at least this open amount.
    #[serde(default = "default_overdue_amount")]
    pub overdue_amount: String,
    /// No contact for this many days …
    #[serde(default = "default_no_contact_days")]
    pub no_contact_days: i64,
    /// … with a customer whose invoiced gross of the last 12 months reaches this.
    #[serde(default = "default_revenue")]
    pub revenue_threshold: String,
    /// Who suggested reminders are for (a team).
    #[serde(default)]
    pub assignee: Option<String>,
}

fn default_overdue_days() -> i64 {
    14
}
fn default_overdue_amount() -> String {
    "500".into()
}
fn default_no_contact_days() -> i64 {
    90
}
fn default_revenue() -> String {
    "10000".into()
}

impl Default for RemindersSection {
    fn default() -> Self {
        Self {
            overdue_days: default_overdue_days(),
            overdue_amount: default_overdue_amount(),
            no_contact_days: default_no_contact_days(),
            revenue_threshold: default_revenue(),
            assignee: None,
        }
    }
}

/// `[privacy]`: retention, works-council mode, teams.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacySection {
    /// Table → how long rows are kept (`activities`, `tickets` (closed ones), `reminders`
    /// (done ones), `audit_log`).
    #[serde(default = "default_retention")]
    pub retention: std::collections::BTreeMap<String, String>,
    /// Works-council mode: contacts record teams, reports only for groups of at least
    /// `min_group_size` people.
    #[serde(default = "yes")]
    pub works_council: bool,
    #[serde(default = "default_group")]
    pub min_group_size: u32,
    /// Team → number of members (for the group-size rule).
    #[serde(default)]
    pub teams: std::collections::BTreeMap<String, u32>,
}

fn default_retention() -> std::collections::BTreeMap<String, String> {
    [
        ("activities", "3y"),
        ("tickets", "5y"),
        ("reminders", "1y"),
        ("audit_log", "90d"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect()
}
fn default_group() -> u32 {
    5
}

impl Default for PrivacySection {
    fn default() -> Self {
        Self {
            retention: default_retention(),
            works_council: true,
            min_group_size: default_group(),
            teams: Default::default(),
        }
    }
}

/// `"3d"`, `"48h"`, `"90d"`, `"3y"`, `"30m"` → a time span.
pub fn parse_span(s: &str) -> Result<chrono::TimeDelta, String> {
    let s = s.trim();
    let bad = || format!("`{s}`: use a number and a unit: 30m, 48h, 3d, 2w, 3y");
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let days = |d: i64| chrono::TimeDelta::try_days(d).ok_or_else(bad);
    match unit.trim() {
        "m" | "min" => chrono::TimeDelta::try_minutes(n).ok_or_else(bad),
        "h" => chrono::TimeDelta::try_hours(n).ok_or_else(bad),
        "d" => days(n),
        "w" => days(n * 7),
        "y" => days(n * 365),
        _ => Err(bad()),
    }
}

impl ComplaintsSection {
    pub fn problems(&self) -> Vec<Problem> {
        self.categories
            .iter()
            .filter_map(|(k, v)| {
                parse_span(v)
                    .err()
                    .map(|e| (key(&["complaints", "categories", k]), e))
            })
            .collect()
    }
}

impl RemindersSection {
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        for (k, v) in [
            ("overdue_amount", &self.overdue_amount),
            ("revenue_threshold", &self.revenue_threshold),
        ] {
            if v.parse::<rust_decimal::Decimal>().is_err() {
                out.push((
                    key(&["reminders", k]),
                    format!("{k} `{v}`: a decimal amount such as 500 or 1000.50"),
                ));
            }
        }
        out
    }
}

impl PrivacySection {
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        for (k, v) in &self.retention {
            if !["activities", "tickets", "reminders", "audit_log"].contains(&k.as_str()) {
                out.push((
                    key(&["privacy", "retention", k]),
                    format!("unknown table `{k}` (activities, tickets, reminders, audit_log)"),
                ));
            } else if let Err(e) = parse_span(v) {
                out.push((key(&["privacy", "retention", k]), e));
            }
        }
        out
    }
}
