//! The plain sections of `kontor.toml`: `[store]`, `[server]`, `[sync]`, `[identity]`.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// The store URL as written (without secrets from files): use [`StoreSection::connect_url`]
    /// to connect and `store::redact_url` to print.
    #[serde(default = "default_store_url")]
    pub url: String,
    /// A file holding the whole URL (a container secret), instead of `url`.
    #[serde(default)]
    pub url_file: Option<String>,
    /// A file holding the PostgreSQL password, put into the URL's user part.
    #[serde(default)]
    pub password_file: Option<String>,
    /// The config's folder: relative paths (SQLite files, secret files) are relative to it.
    #[serde(skip)]
    pub base_dir: std::path::PathBuf,
}

fn default_store_url() -> String {
    "sqlite://kontor.db".into()
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            url: default_store_url(),
            url_file: None,
            password_file: None,
            base_dir: Default::default(),
        }
    }
}

impl StoreSection {
    /// The URL to connect with: `url`, or the content of `url_file`, with the password of
    /// `password_file`. It holds secrets: never print it (`store::redact_url`). Errors name the
    /// file and never its content.
    pub fn connect_url(&self) -> Result<String, String> {
        let mut url = match &self.url_file {
            Some(f) => resolve_sqlite(&read_secret("url_file", &self.path(f))?, &self.base_dir),
            None => self.url.clone(),
        };
        if let Some(f) = &self.password_file {
            let password = read_secret("password_file", &self.path(f))?;
            url = with_password(&url, &password)?;
        }
        Ok(url)
    }

    /// What to call the store in messages: the redacted URL, or where it comes from.
    pub fn label(&self) -> String {
        match &self.url_file {
            Some(f) => format!("the store of [store] url_file {}", self.path(f).display()),
            None => crate::store::redact_url(&self.url),
        }
    }

    fn path(&self, p: &str) -> std::path::PathBuf {
        let p = std::path::Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}

/// A secret file's content, trimmed (a trailing newline is not part of the secret).
fn read_secret(key: &str, path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("[store] {key} {}: {}", path.display(), e.kind()))?;
    let v = text.trim();
    if v.is_empty() {
        return Err(format!(
            "[store] {key} {}: the file is empty",
            path.display()
        ));
    }
    Ok(v.to_owned())
}

/// A relative SQLite path is relative to the config's folder.
pub(crate) fn resolve_sqlite(url: &str, dir: &std::path::Path) -> String {
    match url.strip_prefix("sqlite://") {
        Some(rest)
            if !rest.starts_with('/') && !rest.starts_with(':') && !dir.as_os_str().is_empty() =>
        {
            format!("sqlite://{}", dir.join(rest).display())
        }
        _ => url.to_owned(),
    }
}

/// `postgres://user@host/db` with `password` put in (percent-encoded).
fn with_password(url: &str, password: &str) -> Result<String, String> {
    let err = |m: &str| Err(format!("[store] password_file: {m}"));
    let Some(s) = url.find("://").filter(|_| crate::store::is_postgres(url)) else {
        return err("only PostgreSQL URLs take a password");
    };
    let rest = &url[s + 3..];
    let host_start = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..host_start].rfind('@') else {
        return err("the URL needs a user: postgres://USER@HOST:PORT/DB");
    };
    let user = &rest[..at];
    if user.contains(':') {
        return err("the URL has a password already; remove it from the URL");
    }
    let mut enc = String::with_capacity(password.len() * 3);
    for b in password.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(format!("{}{user}:{enc}{}", &url[..s + 3], &rest[at..]))
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

/// A problem in a section: key path (from the section name) and message.
pub type Problem = (Vec<String>, String);

pub(super) fn key(parts: &[&str]) -> Vec<String> {
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
    /// Suggest following up an open quote this many days before it expires.
    #[serde(default = "default_quote_days")]
    pub quote_days: u32,
    /// Who suggested reminders are for (a team).
    #[serde(default)]
    pub assignee: Option<String>,
}

fn default_quote_days() -> u32 {
    5
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
            quote_days: default_quote_days(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_file_goes_into_the_url_encoded() {
        assert_eq!(
            with_password("postgres://kontor@db:5432/kontor", "g3h:e@i/m%").unwrap(),
            "postgres://kontor:g3h%3Ae%40i%2Fm%25@db:5432/kontor"
        );
        assert!(
            with_password("postgres://kontor:x@db/k", "p")
                .unwrap_err()
                .contains("has a password already")
        );
        assert!(
            with_password("postgres://db/k", "p")
                .unwrap_err()
                .contains("needs a user")
        );
        assert!(
            with_password("sqlite://k.db", "p")
                .unwrap_err()
                .contains("only PostgreSQL")
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "geheim\n").unwrap();
        let s = StoreSection {
            url: "postgres://kontor@db/k".into(),
            password_file: Some("pw".into()),
            base_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        assert_eq!(s.connect_url().unwrap(), "postgres://kontor:geheim@db/k");
        assert_eq!(s.label(), "postgres://kontor@db/k");
        std::fs::write(dir.path().join("pw"), "\n").unwrap();
        let err = s.connect_url().unwrap_err();
        assert!(err.contains("is empty") && err.contains("pw"), "{err}");
    }
}
