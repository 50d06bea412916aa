//! Configuration: the connector's keys in `kontor.toml` and the streams of the mapping's
//! `[source]`.

use crate::value::Margin;
use kontor_connector::{ConfigError, ConfigPart, parse_duration};
use serde::Deserialize;
use std::time::Duration;

/// The connector's own keys of its `[[connector]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The database URL without a password (trust or socket authentication).
    pub url: Option<String>,
    /// Environment variable holding the database URL (with its password).
    pub url_env: Option<String>,
    /// File holding the database URL (relative to the config folder).
    pub url_file: Option<String>,
    /// Per statement (`"60s"`).
    pub statement_timeout: Option<String>,
    /// Rows per page (default 1000).
    pub page_size: Option<u32>,
    /// Default safety margin of time increments (`"5m"`).
    pub safety_margin: Option<String>,
    /// How long to wait for a connection (`"30s"`).
    pub connect_timeout: Option<String>,
    /// Only these streams.
    pub streams: Option<Vec<String>>,
}

/// The mapping's `[source]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    #[serde(default)]
    pub stream: Vec<StreamConfig>,
    pub page_size: Option<u32>,
}

/// One `[[source.stream]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    pub name: String,
    /// A `SELECT` (or `WITH … SELECT`) over the shop's tables.
    pub query: String,
    /// The column that grows with every change (`updated_at`, a row version, an id); without
    /// it the stream is read whole every run.
    pub increment: Option<String>,
    /// A column unique in the query's result (the tiebreak of equal increments).
    pub key: String,
    /// `"5m"` for time increments, a number of units for numeric ones.
    pub safety_margin: Option<toml::Value>,
    /// Text columns holding JSON (MariaDB's `JSON` is text): parsed into nested values.
    #[serde(default)]
    pub json_columns: Vec<String>,
    pub page_size: Option<u32>,
}

/// A stream ready to read.
#[derive(Debug, Clone)]
pub struct Stream {
    pub name: String,
    pub query: String,
    pub increment: Option<String>,
    pub key: String,
    pub margin: Option<Margin>,
    pub json_columns: Vec<String>,
    pub page_size: u32,
}

pub const DEFAULT_PAGE_SIZE: u32 = 1000;
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(300);
/// Default margin of numeric increments (ids, row versions), in increment units.
pub const DEFAULT_UNITS: u64 = 1000;

fn err(key: &[&str], msg: impl Into<String>) -> ConfigError {
    ConfigError::new(ConfigPart::Source, key, msg)
}

/// A column name as the query's result names it: quoted in the paging query, so it must not
/// contain quotes.
pub fn check_column(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("is empty".into());
    }
    if name
        .chars()
        .any(|c| matches!(c, '"' | '`' | '\'' | '\\') || c.is_control())
    {
        return Err(format!(
            "`{name}`: a column name without quotes or backslashes (give it an alias in the query)"
        ));
    }
    Ok(())
}

/// The query as the user wrote it, without a trailing `;`; must read (`SELECT`/`WITH`).
pub fn check_query(q: &str) -> Result<String, String> {
    let q = q.trim().trim_end_matches(';').trim_end();
    let first = q
        .trim_start_matches(|c: char| c == '(' || c.is_whitespace())
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    if !first.eq_ignore_ascii_case("select") && !first.eq_ignore_ascii_case("with") {
        return Err(format!(
            "must be a SELECT (or WITH … SELECT), not `{}`",
            first.chars().take(20).collect::<String>()
        ));
    }
    Ok(q.to_owned())
}

pub fn margin_of(v: &toml::Value) -> Result<Margin, String> {
    match v {
        toml::Value::String(s) => parse_duration(s).map(Margin::Time),
        toml::Value::Integer(n) if *n >= 0 => Ok(Margin::Units(*n as u64)),
        _ => Err("a duration (\"5m\") or a number of increment units (1000)".into()),
    }
}

pub fn streams(source: &SourceConfig, default_page: u32) -> Result<Vec<Stream>, ConfigError> {
    if source.stream.is_empty() {
        return Err(err(
            &["stream"],
            "no streams: add [[source.stream]] entries (name, query, increment, key) to the mapping",
        ));
    }
    let mut out: Vec<Stream> = Vec::new();
    for (i, s) in source.stream.iter().enumerate() {
        let idx = i.to_string();
        let at = |k: &'static str| vec!["stream", idx.as_str(), k];
        let name = s.name.trim();
        if name.is_empty() || name.chars().any(|c| c.is_control()) {
            return Err(err(&at("name"), "a stream needs a name"));
        }
        if out.iter().any(|o| o.name == name) {
            return Err(err(&at("name"), format!("stream `{name}` appears twice")));
        }
        let query = check_query(&s.query).map_err(|m| err(&at("query"), m))?;
        check_column(&s.key).map_err(|m| err(&at("key"), m))?;
        if let Some(inc) = &s.increment {
            check_column(inc).map_err(|m| err(&at("increment"), m))?;
            if inc == &s.key {
                return Err(err(
                    &at("key"),
                    "the key must be another column than the increment (an id column)",
                ));
            }
        }
        for c in &s.json_columns {
            check_column(c).map_err(|m| err(&at("json_columns"), m))?;
        }
        let margin = match &s.safety_margin {
            Some(_) if s.increment.is_none() => {
                return Err(err(
                    &at("safety_margin"),
                    "only for a stream with an increment column",
                ));
            }
            Some(v) => Some(margin_of(v).map_err(|m| err(&at("safety_margin"), m))?),
            None => None,
        };
        let page_size = s.page_size.or(source.page_size).unwrap_or(default_page);
        if page_size == 0 {
            return Err(err(&at("page_size"), "must be at least 1"));
        }
        out.push(Stream {
            name: name.to_owned(),
            query,
            increment: s.increment.clone(),
            key: s.key.clone(),
            margin,
            json_columns: s.json_columns.clone(),
            page_size,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_must_read() {
        assert_eq!(
            check_query("  SELECT * FROM kunden;  ").unwrap(),
            "SELECT * FROM kunden"
        );
        assert!(check_query("with x as (select 1) select * from x").is_ok());
        assert!(check_query("(select 1) union (select 2)").is_ok());
        assert!(check_query("(delete from x)").is_err());
        assert!(check_query("DELETE FROM kunden").is_err());
        assert!(check_query("").is_err());
    }

    #[test]
    fn column_names_cannot_break_out_of_quotes() {
        assert!(check_column("updated_at").is_ok());
        assert!(check_column("Geändert am").is_ok());
        for bad in ["a\"b", "a`b", "", "x'--"] {
            assert!(check_column(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stream_config_errors_name_the_key() {
        let t: toml::Table = toml::from_str(
            "[[stream]]\nname = \"a\"\nquery = \"select 1\"\nkey = \"id\"\nincrement = \"u\"\n\
             safety_margin = \"5x\"\n",
        )
        .unwrap();
        let src: SourceConfig = kontor_connector::parse_table(&t, ConfigPart::Source).unwrap();
        let e = streams(&src, 10).unwrap_err();
        assert_eq!(e.key, ["stream", "0", "safety_margin"]);
        let t: toml::Table = toml::from_str(
            "[[stream]]\nname = \"a\"\nquery = \"select 1\"\nkey = \"id\"\n\
             [[stream]]\nname = \"a\"\nquery = \"select 2\"\nkey = \"id\"\n",
        )
        .unwrap();
        let src: SourceConfig = kontor_connector::parse_table(&t, ConfigPart::Source).unwrap();
        assert_eq!(streams(&src, 10).unwrap_err().key, ["stream", "1", "name"]);
    }
}
