//! Lookups (`[[source.lookup]]`): a value an endpoint path needs that only the API knows,
//! found by a connector setting. Business Central serves every entity below
//! `companies(<id>)`; the connector names the company (`company = "CRONUS AG"`) and the
//! lookup reads `/companies` once to fill `{company_id}` in the endpoint paths.
//!
//! The setting must match the record's `match_field` exactly; when nothing matches exactly,
//! one case-insensitive match is accepted. No match, or several, fail with the values that
//! exist, so a typo is fixed from the error message alone.

use crate::config::LookupConfig;
use crate::endpoint::JsonPath;
use crate::error::RestError;
use crate::http::HttpClient;
use crate::paging::{build_url, encode_component};
use kontor_connector::{ConfigError, ConfigPart};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Mutex;

/// At most this many pages of a lookup list are read.
const MAX_PAGES: usize = 100;
/// At most this many existing values are listed in an error.
const MAX_LISTED: usize = 50;

#[derive(Debug, Clone)]
struct Lookup {
    name: String,
    setting: String,
    /// The value looked for (the connector setting).
    wanted: String,
    path: String,
    records: JsonPath,
    match_field: JsonPath,
    value_field: JsonPath,
    next: Option<JsonPath>,
}

/// The lookups of one connector and, once found, their values.
#[derive(Debug, Default)]
pub struct Lookups {
    list: Vec<Lookup>,
    found: Mutex<Option<Arc<BTreeMap<String, String>>>>,
}

/// The `{name}` placeholders of an endpoint path.
pub fn placeholders(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push(rest[start + 1..start + len].to_owned());
        rest = &rest[start + len + 1..];
    }
    out
}

fn source_err(i: usize, key: &str, msg: impl Into<String>) -> ConfigError {
    ConfigError::new(ConfigPart::Source, &["lookup", &i.to_string(), key], msg)
}

impl Lookups {
    /// Validates the `[[source.lookup]]`s and takes their settings out of the connector's
    /// keys (so that the other keys are checked as usual). `paths` are the endpoint paths;
    /// each of their placeholders must be a lookup.
    pub fn from_config(
        configs: &[LookupConfig],
        settings: &mut toml::Table,
        paths: &[&str],
    ) -> Result<Lookups, ConfigError> {
        let mut list = Vec::new();
        for (i, c) in configs.iter().enumerate() {
            let ident = |s: &str| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            };
            if !ident(&c.name) {
                return Err(source_err(i, "name", "letters, digits, `_` and `-` only"));
            }
            if !ident(&c.setting) {
                return Err(source_err(
                    i,
                    "setting",
                    "letters, digits, `_` and `-` only",
                ));
            }
            if !c.path.starts_with('/') || c.path.contains('{') {
                return Err(source_err(
                    i,
                    "path",
                    format!("`{}` must start with `/` and have no placeholders", c.path),
                ));
            }
            if list.iter().any(|l: &Lookup| l.name == c.name) {
                return Err(source_err(i, "name", format!("`{}` twice", c.name)));
            }
            let wanted = match settings.remove(&c.setting) {
                Some(toml::Value::String(s)) if !s.trim().is_empty() => s,
                Some(_) => {
                    return Err(ConfigError::new(
                        ConfigPart::Settings,
                        &[&c.setting],
                        "must be a non-empty text",
                    ));
                }
                None => {
                    return Err(ConfigError::new(
                        ConfigPart::Settings,
                        &[&c.setting],
                        format!(
                            "required: {} (looked up in {})",
                            c.description.as_deref().unwrap_or("the value to look up"),
                            c.path
                        ),
                    ));
                }
            };
            list.push(Lookup {
                name: c.name.clone(),
                setting: c.setting.clone(),
                wanted,
                path: c.path.clone(),
                records: JsonPath::parse(&c.records),
                match_field: JsonPath::parse(&c.match_field),
                value_field: JsonPath::parse(&c.value_field),
                next: c.next.as_deref().map(JsonPath::parse),
            });
        }
        for (i, p) in paths.iter().enumerate() {
            for name in placeholders(p) {
                // `{parent_id}` is filled per record of a `parent` list (fanout.rs).
                let parent = crate::fanout::PARENT_ID.trim_matches(['{', '}']) == name;
                if !parent && !list.iter().any(|l| l.name == name) {
                    return Err(ConfigError::new(
                        ConfigPart::Source,
                        &["endpoint", &i.to_string(), "path"],
                        format!(
                            "placeholder `{{{name}}}` in `{p}` is not a [[source.lookup]] name"
                        ),
                    ));
                }
            }
        }
        Ok(Lookups {
            list,
            found: Mutex::new(None),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The endpoint path with its placeholders filled (looked up on first use, then kept).
    pub async fn fill(
        &self,
        path: &str,
        http: &HttpClient,
        base_url: &str,
    ) -> Result<String, RestError> {
        if !path.contains('{') {
            return Ok(path.to_owned());
        }
        let values = self.values(http, base_url).await?;
        let mut out = path.to_owned();
        for (name, value) in values.iter() {
            out = out.replace(&format!("{{{name}}}"), &encode_component(value));
        }
        Ok(out)
    }

    /// Every lookup's value; a failed lookup is tried again on the next call.
    pub async fn values(
        &self,
        http: &HttpClient,
        base_url: &str,
    ) -> Result<Arc<BTreeMap<String, String>>, RestError> {
        let mut found = self.found.lock().await;
        if let Some(v) = found.as_ref() {
            return Ok(v.clone());
        }
        let mut values = BTreeMap::new();
        for l in &self.list {
            let v = l.run(http, base_url).await?;
            tracing::info!(lookup = %l.name, setting = %l.setting, "looked up");
            values.insert(l.name.clone(), v);
        }
        let values = Arc::new(values);
        *found = Some(values.clone());
        Ok(values)
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Lookup {
    async fn run(&self, http: &HttpClient, base_url: &str) -> Result<String, RestError> {
        let first = build_url(base_url, &self.path, &[]).map_err(RestError::Config)?;
        let shown = http.shown(&first);
        let records = self.records.clone();
        let check = move |body: &Value| match records.get(body) {
            Some(Value::Array(_)) => Ok(()),
            _ => Err(format!("no `{records}` list in the answer")),
        };
        // (match value, looked-up value) of every record.
        let mut seen: Vec<(String, Option<String>)> = Vec::new();
        let mut url = first;
        for _ in 0..MAX_PAGES {
            let resp = http.get_json(&url, &[], &check).await?;
            if let Some(Value::Array(list)) = self.records.get(&resp.body) {
                for r in list {
                    if let Some(m) = text(self.match_field.get(r)) {
                        seen.push((m, text(self.value_field.get(r))));
                    }
                }
            }
            let next = self
                .next
                .as_ref()
                .and_then(|n| n.get(&resp.body))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            match next.map(|n| url.join(n)) {
                Some(Ok(u)) if u != url => url = u,
                Some(Err(e)) => {
                    return Err(RestError::Http {
                        url: shown,
                        message: format!("invalid next link: {e}"),
                    });
                }
                _ => break,
            }
        }
        let exact: Vec<&(String, Option<String>)> =
            seen.iter().filter(|(m, _)| *m == self.wanted).collect();
        let hits = if exact.is_empty() {
            let folded = self.wanted.trim().to_lowercase();
            seen.iter()
                .filter(|(m, _)| m.trim().to_lowercase() == folded)
                .collect()
        } else {
            exact
        };
        let listed = || {
            let mut names: Vec<String> = seen.iter().map(|(m, _)| format!("\"{m}\"")).collect();
            names.sort();
            names.dedup();
            let more = names.len().saturating_sub(MAX_LISTED);
            names.truncate(MAX_LISTED);
            let mut s = if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            };
            if more > 0 {
                s.push_str(&format!(" and {more} more"));
            }
            s
        };
        match hits.as_slice() {
            [(_, Some(v))] => Ok(v.clone()),
            [(m, None)] => Err(self.error(
                &shown,
                format!(
                    "the record with {} \"{m}\" has no `{}`",
                    self.match_field, self.value_field
                ),
            )),
            [] => Err(self.error(
                &shown,
                format!(
                    "no record with {} \"{}\"; there are: {}",
                    self.match_field,
                    self.wanted,
                    listed()
                ),
            )),
            _ => Err(self.error(
                &shown,
                format!(
                    "{} records with {} \"{}\"",
                    hits.len(),
                    self.match_field,
                    self.wanted
                ),
            )),
        }
    }

    fn error(&self, url: &str, message: String) -> RestError {
        RestError::Lookup {
            setting: self.setting.clone(),
            url: url.to_owned(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(t: &str) -> Vec<LookupConfig> {
        #[derive(serde::Deserialize)]
        struct S {
            lookup: Vec<LookupConfig>,
        }
        toml::from_str::<S>(t).unwrap().lookup
    }

    const LOOKUP: &str = r#"[[lookup]]
name = "company_id"
setting = "company"
description = "the company name"
path = "/api/v2.0/companies"
records = "value"
match_field = "name"
value_field = "id"
"#;

    #[test]
    fn placeholders_are_found() {
        assert_eq!(
            placeholders("/api/v2.0/companies({company_id})/x{y}"),
            ["company_id", "y"]
        );
        assert!(placeholders("/plain").is_empty());
    }

    #[test]
    fn the_setting_is_taken_out_and_required() {
        let c = config(LOOKUP);
        let mut s: toml::Table = toml::from_str("company = 'CRONUS AG'\nbase_url = 'x'").unwrap();
        let l =
            Lookups::from_config(&c, &mut s, &["/api/v2.0/companies({company_id})/items"]).unwrap();
        assert!(!l.is_empty());
        assert!(s.get("company").is_none() && s.get("base_url").is_some());

        let mut s = toml::Table::new();
        let err = Lookups::from_config(&c, &mut s, &[]).unwrap_err();
        assert_eq!(err.key, ["company"]);
        assert!(err.message.contains("the company name"), "{err}");

        let mut s: toml::Table = toml::from_str("company = 'C'").unwrap();
        let err = Lookups::from_config(&c, &mut s, &["/x({other})"]).unwrap_err();
        assert_eq!(err.key, ["endpoint", "0", "path"]);
        // Endpoint paths without lookups must not have placeholders either.
        let err = Lookups::from_config(&[], &mut toml::Table::new(), &["/x({id})"]).unwrap_err();
        assert!(err.message.contains("{id}"), "{err}");
    }
}
