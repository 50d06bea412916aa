//! The connector: configuration → endpoints, units, readers.

use crate::auth::{Auth, AuthKind};
use crate::auth_config::auth_kind;
use crate::config::{Settings, SourceConfig, parse_duration, parse_rate};
use crate::cursor::{Cursor, ScanPosition};
use crate::endpoint::Endpoint;
use crate::fanout::FanoutReader;
use crate::http::{HttpClient, RetryPolicy};
use crate::lookup::Lookups;
use crate::profiles;
use crate::reader::{EndpointReader, Scan, Shared};
use crate::secret::Redactor;
use crate::stamp::ServerTz;
use async_trait::async_trait;
use kontor_connector::{
    BatchReader, CommitMode, ConfigError, ConfigPart, Connector, ConnectorError, ConnectorSpec,
    Description, DynConnector, Unit, parse_table,
};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// The connector kind name in `kontor.toml`.
pub const KIND: &str = "rest";

/// Builds a REST connector (`kontor_connector::BuildFn`).
pub fn build(spec: ConnectorSpec) -> Result<DynConnector, ConfigError> {
    Ok(Arc::new(RestConnector::from_spec(spec)?))
}

#[derive(Debug)]
pub struct RestConnector {
    name: String,
    /// The built-in profile, whose mapping applies when the connector has no mapping file.
    profile: Option<String>,
    shared: Arc<Shared>,
    endpoints: Vec<Arc<Endpoint>>,
    /// Values the endpoint paths need (`{company_id}`), looked up on first use.
    lookups: Arc<Lookups>,
    full_refresh: bool,
    rate_limited: bool,
}

fn setting_err(key: &str, msg: impl Into<String>) -> ConfigError {
    ConfigError::new(ConfigPart::Settings, &[key], msg)
}

fn duration(v: &Option<String>, key: &str, default: Duration) -> Result<Duration, ConfigError> {
    match v {
        Some(s) => parse_duration(s).map_err(|e| setting_err(key, e)),
        None => Ok(default),
    }
}

impl RestConnector {
    pub fn from_spec(spec: ConnectorSpec) -> Result<RestConnector, ConfigError> {
        // The profile decides the source, whose lookups decide which extra connector keys
        // exist (`company`); the remaining keys are then parsed strictly.
        let profile = spec.settings.get("profile").and_then(|v| v.as_str());
        let source_table = match profile {
            Some(p) => {
                let default = profiles::source(p).ok_or_else(|| {
                    setting_err(
                        "profile",
                        format!("unknown profile `{p}` ({})", profiles::NAMES.join(", ")),
                    )
                })?;
                profiles::merge_source(default, &spec.source)
            }
            None => spec.source.clone(),
        };
        let source: SourceConfig = parse_table(&source_table, ConfigPart::Source)?;
        let mut settings = spec.settings.clone();
        let paths: Vec<&str> = source.endpoint.iter().map(|e| e.path.as_str()).collect();
        let lookups = Lookups::from_config(&source.lookup, &mut settings, &paths)?;
        if let (Some(p), Some(toml::Value::Table(auth))) = (profile, settings.get_mut("auth")) {
            profiles::apply_auth_defaults(p, auth);
        }
        let s: Settings = parse_table(&settings, ConfigPart::Settings)?;
        let base = Url::parse(&s.base_url)
            .map_err(|e| setting_err("base_url", format!("`{}`: {e}", s.base_url)))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(setting_err("base_url", "must be an http(s) URL"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(setting_err(
                "base_url",
                "must not contain credentials; use auth = { kind = \"basic\", ... }",
            ));
        }
        if source.endpoint.is_empty() {
            return Err(ConfigError::new(
                ConfigPart::Source,
                &["endpoint"],
                "no endpoints: set `profile` or add [[source.endpoint]] entries to the mapping",
            ));
        }
        let page_size = s.page_size.or(source.page_size).unwrap_or(100);
        let full_every = duration(&s.full_every, "full_every", Duration::ZERO)?;
        if s.full_every.is_some() && full_every.is_zero() {
            return Err(setting_err("full_every", "must be more than 0"));
        }
        let mut endpoints = Vec::new();
        for (i, c) in source.endpoint.iter().enumerate() {
            let mut c = c.clone();
            if s.page_size.is_some() {
                c.page_size = s.page_size;
                if let Some(p) = c.parent.as_mut() {
                    p.page_size = s.page_size;
                }
            }
            let ep = Endpoint::from_config(&c, page_size).map_err(|(key, msg)| {
                let mut path = vec!["endpoint".to_owned(), i.to_string()];
                path.extend(key);
                ConfigError {
                    part: ConfigPart::Source,
                    key: path,
                    message: msg,
                }
            })?;
            let mut ep = ep;
            if s.full_every.is_some() && ep.modified.is_some() {
                ep.full_every = Some(full_every);
            }
            if endpoints
                .iter()
                .any(|e: &Arc<Endpoint>| e.stream == ep.stream)
            {
                return Err(ConfigError::new(
                    ConfigPart::Source,
                    &["endpoint", &i.to_string(), "stream"],
                    format!("stream `{}` appears twice", ep.stream),
                ));
            }
            endpoints.push(Arc::new(ep));
        }
        for (part, list) in [
            (ConfigPart::Settings, &s.streams),
            (ConfigPart::Source, &source.streams),
        ] {
            if let Some(list) = list {
                for name in list {
                    if !endpoints.iter().any(|e| &e.stream == name) {
                        return Err(ConfigError::new(
                            part,
                            &["streams"],
                            format!("unknown stream `{name}`"),
                        ));
                    }
                }
                endpoints.retain(|e| list.contains(&e.stream));
            }
        }
        let redactor = Redactor::default();
        let kind = match &s.auth {
            Some(a) => auth_kind(a, &base, &spec.base_dir)?,
            None => AuthKind::None,
        };
        let defaults = RetryPolicy::default();
        let policy = RetryPolicy {
            timeout: duration(&s.timeout, "timeout", defaults.timeout)?,
            max_retries: s.max_retries.unwrap_or(defaults.max_retries),
            retry_budget: s.retry_budget.unwrap_or(defaults.retry_budget),
            backoff: duration(&s.backoff, "backoff", defaults.backoff)?,
            max_backoff: duration(&s.max_backoff, "max_backoff", defaults.max_backoff)?,
            max_retry_wait: duration(&s.max_retry_wait, "max_retry_wait", defaults.max_retry_wait)?,
        };
        if policy.timeout.is_zero() {
            return Err(setting_err("timeout", "must be more than 0"));
        }
        // Without a `rate_limit` of its own, a profile connector keeps to the vendor's
        // documented limit.
        let profile_rate = s
            .profile
            .as_deref()
            .and_then(profiles::info)
            .and_then(|i| i.rate_limit);
        let rate = match s.rate_limit.as_ref().or(profile_rate.as_ref()) {
            Some(r) => Some(parse_rate(r).map_err(|e| setting_err("rate_limit", e))?),
            None => None,
        };
        let tz = ServerTz::parse(s.server_timezone.as_deref().unwrap_or("Europe/Berlin"))
            .map_err(|e| setting_err("server_timezone", e))?;
        let mut http = HttpClient::new(policy, rate, Auth::new(kind, redactor.clone()), redactor)
            .map_err(|e| setting_err("base_url", e))?;
        http.unauthorized_hint = source.unauthorized_hint.clone();
        Ok(RestConnector {
            name: spec.name,
            profile: s.profile.clone(),
            shared: Arc::new(Shared {
                http,
                base_url: s.base_url.trim_end_matches('/').to_owned(),
                tz,
                safety_margin: duration(
                    &s.safety_margin,
                    "safety_margin",
                    Duration::from_secs(300),
                )?,
                max_drift_restarts: s.max_drift_restarts.unwrap_or(5),
                derived: Default::default(),
                headers: s.headers.clone().unwrap_or_default().into_iter().collect(),
            }),
            endpoints,
            lookups: Arc::new(lookups),
            full_refresh: s.full_refresh.unwrap_or(false),
            rate_limited: rate.is_some(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn incremental(&self, ep: &Endpoint) -> bool {
        !self.full_refresh && !ep.full_refresh && ep.modified.is_some()
    }
}

#[async_trait]
impl Connector for RestConnector {
    fn describe(&self) -> Description {
        Description {
            kind: KIND,
            streams: self.endpoints.iter().map(|e| e.stream.clone()).collect(),
            builtin_mappings: self.profile.iter().map(|p| (None, p.clone())).collect(),
        }
    }

    async fn check(&self) -> Result<Vec<String>, ConnectorError> {
        // Resolves the secrets and logs in (SAP B1) or fetches a token (OAuth2).
        self.shared
            .http
            .auth
            .credentials(&self.shared.http)
            .await
            .map_err(|e| e.into_connector(&self.shared.http.redactor))?;
        if !self.lookups.is_empty() {
            self.lookups
                .values(&self.shared.http, &self.shared.base_url)
                .await
                .map_err(|e| e.into_connector(&self.shared.http.redactor))?;
        }
        let mut warnings = Vec::new();
        if !self.rate_limited {
            warnings.push(format!(
                "connector `{}`: no rate_limit set; the ERP's own limits apply",
                self.name
            ));
        }
        for ep in &self.endpoints {
            if !self.incremental(ep) {
                warnings.push(format!(
                    "stream `{}` is read in full every run (no modified_field or full_refresh)",
                    ep.stream
                ));
            }
        }
        Ok(warnings)
    }

    async fn discover(&self) -> Result<Vec<Unit>, ConnectorError> {
        // A run starts with discover: the retry budget is per run.
        self.shared.http.reset_budget();
        self.shared.derived.clear();
        Ok(self
            .endpoints
            .iter()
            .map(|ep| Unit {
                key: ep.stream.clone(),
                label: self
                    .shared
                    .http
                    .redactor
                    .redact(&format!("{}{}", self.shared.base_url, ep.path)),
                fingerprint: None,
                size: None,
                commit: CommitMode::Incremental,
                stream: Some(ep.stream.clone()),
                modified: None,
            })
            .collect())
    }

    async fn open(
        &self,
        unit: &Unit,
        state: Option<serde_json::Value>,
    ) -> Result<Box<dyn BatchReader>, ConnectorError> {
        let ep = self
            .endpoints
            .iter()
            .find(|e| e.stream == unit.key)
            .ok_or_else(|| ConnectorError::Config(format!("unknown stream `{}`", unit.key)))?;
        let incremental = self.incremental(ep);
        let ep = if ep.path.contains('{') {
            let path = self
                .lookups
                .fill(&ep.path, &self.shared.http, &self.shared.base_url)
                .await
                .map_err(|e| e.into_connector(&self.shared.http.redactor))?;
            Arc::new(Endpoint {
                path,
                ..(**ep).clone()
            })
        } else {
            ep.clone()
        };
        if let (true, Some(every)) = (incremental, ep.full_every) {
            let pos = match &state {
                Some(v) => ScanPosition::from_json(v).unwrap_or_else(|e| {
                    tracing::warn!(stream = %ep.stream, "stored position not understood ({e}); scanning in full");
                    ScanPosition::default()
                }),
                None => ScanPosition::default(),
            };
            let now = chrono::Utc::now();
            let cursor = pos.cursor.clone();
            let (incremental, scan) = if pos.full_scan_due(now, every) {
                tracing::info!(stream = %ep.stream, last = ?pos.full_scan_at, "full re-scan due");
                (
                    false,
                    Scan::Rescan {
                        old: pos,
                        started: now,
                    },
                )
            } else {
                (true, Scan::Carry(pos.full_scan_at))
            };
            return Ok(Box::new(
                EndpointReader::new(self.shared.clone(), ep.clone(), incremental, cursor)
                    .with_scan(scan),
            ));
        }
        let start = match (&state, incremental) {
            (Some(v), true) if !v.is_null() => {
                let c = Cursor::from_json(v);
                if c.is_none() {
                    tracing::warn!(stream = %ep.stream, "stored cursor not understood; reading from the start");
                }
                c
            }
            _ => None,
        };
        if let Some(parent) = &ep.parent {
            return Ok(Box::new(FanoutReader::new(
                self.shared.clone(),
                ep.clone(),
                parent,
            )));
        }
        Ok(Box::new(EndpointReader::new(
            self.shared.clone(),
            ep,
            incremental,
            start,
        )))
    }
}
