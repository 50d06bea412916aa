//! The connector: configuration → streams, units, readers.

use crate::config::{self, Settings, SourceConfig, Stream};
use crate::db::Limits;
use crate::decode::Read;
use crate::error::SqlError;
use crate::position::Pos;
use crate::reader::{Shared, StreamReader};
use crate::secret::{self, UrlRef};
use crate::value::Val;
use async_trait::async_trait;
use kontor_connector::{
    BatchReader, CommitMode, ConfigError, ConfigPart, Connector, ConnectorError, ConnectorSpec,
    Description, DynConnector, Unit, parse_duration, parse_table,
};
use std::sync::Arc;
use std::time::Duration;

/// The connector kind name in `kontor.toml`.
pub const KIND: &str = "sql";

/// Builds a SQL connector (`kontor_connector::BuildFn`).
pub fn build(spec: ConnectorSpec) -> Result<DynConnector, ConfigError> {
    Ok(Arc::new(SqlConnector::from_spec(spec)?))
}

#[derive(Debug)]
pub struct SqlConnector {
    name: String,
    shared: Arc<Shared>,
    streams: Vec<Arc<Stream>>,
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

fn url_ref(s: &Settings, base: &std::path::Path) -> Result<UrlRef, ConfigError> {
    let given = [&s.url, &s.url_env, &s.url_file]
        .iter()
        .filter(|v| v.is_some())
        .count();
    if given != 1 {
        return Err(setting_err(
            if given == 0 { "url_env" } else { "url" },
            "give the database URL by exactly one of url_env (an environment variable), url_file \
             (a file) or url (only without a password)",
        ));
    }
    if let Some(u) = &s.url {
        let url = secret::parse(u).map_err(|e| setting_err("url", e))?;
        if url.password().is_some() {
            // The message must not repeat the URL.
            return Err(setting_err(
                "url",
                "contains a password: put the URL into an environment variable (url_env) or a \
                 file (url_file) instead",
            ));
        }
        return Ok(UrlRef::Inline(u.clone()));
    }
    if let Some(e) = &s.url_env {
        if e.trim().is_empty() {
            return Err(setting_err("url_env", "is empty"));
        }
        return Ok(UrlRef::Env(e.clone()));
    }
    let f = s.url_file.as_deref().unwrap_or_default();
    if f.trim().is_empty() {
        return Err(setting_err("url_file", "is empty"));
    }
    Ok(UrlRef::File(base.join(f)))
}

impl SqlConnector {
    pub fn from_spec(spec: ConnectorSpec) -> Result<SqlConnector, ConfigError> {
        let s: Settings = parse_table(&spec.settings, ConfigPart::Settings)?;
        let url = url_ref(&s, &spec.base_dir)?;
        let source: SourceConfig = parse_table(&spec.source, ConfigPart::Source)?;
        let page_size = s
            .page_size
            .or(source.page_size)
            .unwrap_or(config::DEFAULT_PAGE_SIZE);
        if page_size == 0 {
            return Err(setting_err("page_size", "must be at least 1"));
        }
        let mut streams = config::streams(&source, page_size)?;
        if let Some(p) = s.page_size {
            streams.iter_mut().for_each(|st| st.page_size = p);
        }
        if let Some(list) = &s.streams {
            for name in list {
                if !streams.iter().any(|st| &st.name == name) {
                    return Err(setting_err("streams", format!("unknown stream `{name}`")));
                }
            }
            streams.retain(|st| list.contains(&st.name));
        }
        let limits = Limits {
            statement_timeout: duration(
                &s.statement_timeout,
                "statement_timeout",
                Duration::from_secs(60),
            )?,
            connect_timeout: duration(
                &s.connect_timeout,
                "connect_timeout",
                Duration::from_secs(30),
            )?,
        };
        if limits.statement_timeout < Duration::from_millis(1) {
            return Err(setting_err("statement_timeout", "must be more than 0"));
        }
        let margin = duration(&s.safety_margin, "safety_margin", config::DEFAULT_MARGIN)?;
        Ok(SqlConnector {
            name: spec.name,
            shared: Arc::new(Shared::new(url, limits, margin)),
            streams: streams.into_iter().map(Arc::new).collect(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn err(&self, e: SqlError) -> ConnectorError {
        e.into_connector(&self.shared.redactor)
    }

    /// What `kontor check` says about one stream (reads one row and counts unpageable rows).
    async fn check_stream(&self, st: &Stream, warnings: &mut Vec<String>) -> Result<(), SqlError> {
        let (db, _) = self.shared.db().await?;
        let page = db
            .page(st, None, 1)
            .await
            .map_err(|e| SqlError::db(&st.name, e))?;
        let (max, missing) = db.bounds(st).await.map_err(|e| SqlError::db(&st.name, e))?;
        let say = |w: String| format!("stream `{}`: {w}", st.name);
        for (c, r) in page.columns.iter().zip(&page.reads) {
            if *r == Read::Float {
                warnings.push(say(format!(
                    "column `{c}` is floating point: passed as its shortest text; CAST it to \
                     DECIMAL in the query for exact amounts"
                )));
            }
        }
        if !page.rows.is_empty() {
            for (what, name) in [("key", Some(&st.key)), ("increment", st.increment.as_ref())] {
                if let Some(name) = name
                    && !page.columns.iter().any(|c| c.eq_ignore_ascii_case(name))
                {
                    return Err(SqlError::data(
                        &st.name,
                        format!("the query has no column `{name}` ({what})"),
                    ));
                }
            }
        }
        if missing > 0 {
            warnings.push(say(format!(
                "{missing} rows have no increment or key and are not read; COALESCE them in the query"
            )));
        }
        match (&st.increment, &max) {
            (None, _) => warnings.push(say("no increment column: read whole every run".into())),
            (Some(i), Some(Val::Text(_))) => warnings.push(say(format!(
                "increment `{i}` is text: no safety margin is possible, a row committed late \
                 with a smaller value is missed; prefer a timestamp or a row version"
            ))),
            (Some(_), Some(v)) => {
                v.minus(&self.shared.margin_for(st, v))
                    .map_err(|e| SqlError::data(&st.name, e))?;
            }
            (Some(_), None) => {}
        }
        Ok(())
    }
}

#[async_trait]
impl Connector for SqlConnector {
    fn describe(&self) -> Description {
        Description {
            kind: KIND,
            streams: self.streams.iter().map(|s| s.name.clone()).collect(),
            builtin_mappings: Vec::new(),
        }
    }

    async fn check(&self) -> Result<Vec<String>, ConnectorError> {
        let (db, _) = self.shared.db().await.map_err(|e| self.err(e))?;
        db.version()
            .await
            .map_err(|e| self.err(SqlError::Url(format!("cannot connect: {e}"))))?;
        let mut warnings = Vec::new();
        for st in &self.streams {
            self.check_stream(st, &mut warnings)
                .await
                .map_err(|e| self.err(e))?;
        }
        Ok(warnings)
    }

    async fn discover(&self) -> Result<Vec<Unit>, ConnectorError> {
        let (_, label) = self.shared.db().await.map_err(|e| self.err(e))?;
        Ok(self
            .streams
            .iter()
            .map(|st| Unit {
                key: st.name.clone(),
                label: format!("{label}#{}", st.name),
                fingerprint: None,
                size: None,
                commit: CommitMode::Incremental,
                stream: Some(st.name.clone()),
                modified: None,
            })
            .collect())
    }

    async fn open(
        &self,
        unit: &Unit,
        state: Option<serde_json::Value>,
    ) -> Result<Box<dyn BatchReader>, ConnectorError> {
        let st = self
            .streams
            .iter()
            .find(|s| s.name == unit.key)
            .ok_or_else(|| ConnectorError::Config(format!("unknown stream `{}`", unit.key)))?;
        let start = match state {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(Pos::parse(&v, st.increment.is_some()).map_err(|message| {
                self.err(SqlError::Position {
                    stream: st.name.clone(),
                    position: v.to_string(),
                    message,
                })
            })?),
        };
        // A stream read whole starts again once it was read to its end.
        let start = start.filter(|p| !p.complete);
        Ok(Box::new(StreamReader::new(
            self.shared.clone(),
            st.clone(),
            start,
        )))
    }
}
