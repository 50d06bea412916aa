//! The validated, ready-to-run form of an `[[source.endpoint]]`.

use crate::config::{DeriveConfig, EndpointConfig, PagingConfig, Scalar};
use crate::fanout::{PARENT_ID, Parent, parent_of};
use crate::stamp::{ModFormat, ServerTz, Stamp, parse_stamp};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::str::FromStr;

/// A `/`-separated path into a JSON value; numeric steps index arrays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath(Vec<String>);

impl JsonPath {
    pub fn parse(s: &str) -> JsonPath {
        JsonPath(
            s.split('/')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
    pub fn get<'a>(&self, mut v: &'a Value) -> Option<&'a Value> {
        for step in &self.0 {
            v = match v {
                Value::Object(m) => m.get(step)?,
                Value::Array(a) => a.get(step.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(v)
    }
    /// Puts a value back where [`JsonPath::take`] found it.
    pub fn put(&self, v: &mut Value, new: Value) {
        let mut cur = v;
        for step in &self.0 {
            cur = match cur {
                Value::Object(m) => match m.get_mut(step) {
                    Some(x) => x,
                    None => return,
                },
                Value::Array(a) => match step.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                    Some(x) => x,
                    None => return,
                },
                _ => return,
            };
        }
        *cur = new;
    }

    pub fn take(&self, v: &mut Value) -> Option<Value> {
        let mut cur = v;
        for step in &self.0 {
            cur = match cur {
                Value::Object(m) => m.get_mut(step)?,
                Value::Array(a) => a.get_mut(step.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur.take())
    }
}

impl std::fmt::Display for JsonPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("/"))
    }
}

/// A parameter value with placeholders: `{since}`, `{since:<chrono pattern>}`, `{page_size}`;
/// `{{` and `}}` are literal braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Since,
    SinceFmt(String),
    PageSize,
}

impl Template {
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(ch) => name.push(ch),
                            None => return Err(format!("unclosed `{{` in `{s}`")),
                        }
                    }
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(match name.as_str() {
                        "since" => Piece::Since,
                        "page_size" => Piece::PageSize,
                        n if n.starts_with("since:") => {
                            let p = &n["since:".len()..];
                            ModFormat::parse(p)?;
                            Piece::SinceFmt(p.to_owned())
                        }
                        other => {
                            return Err(format!(
                                "unknown placeholder `{{{other}}}` (since, since:<pattern>, page_size); write `{{{{` for a literal brace"
                            ));
                        }
                    });
                }
                '}' => return Err(format!("single `}}` in `{s}`; write `}}}}`")),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template(pieces))
    }

    pub fn uses_since(&self) -> bool {
        self.0
            .iter()
            .any(|p| matches!(p, Piece::Since | Piece::SinceFmt(_)))
    }

    pub fn render(&self, since: Option<Stamp>, fmt: &ModFormat, page_size: u32) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::PageSize => out.push_str(&page_size.to_string()),
                Piece::Since => {
                    if let Some(s) = since {
                        out.push_str(&fmt.render(s));
                    }
                }
                Piece::SinceFmt(p) => {
                    if let Some(s) = since {
                        out.push_str(&s.at.format(p).to_string());
                    }
                }
            }
        }
        out
    }
}

/// How records carry their modification time.
#[derive(Debug, Clone)]
pub struct Modified {
    pub field: JsonPath,
    pub time_field: Option<JsonPath>,
    pub format: ModFormat,
    pub name: String,
}

#[derive(Debug, Clone)]
pub enum Derive {
    Subtract(JsonPath, JsonPath),
    DateFromEpochMs(JsonPath),
    /// `list/*/field`: the date is written into each element of the array `list`.
    EachDateFromEpochMs(JsonPath, JsonPath),
    /// A field of another resource (see [`crate::derive_lookup`]).
    Lookup(crate::derive_lookup::Lookup),
}

/// Paging with validated parameters.
#[derive(Debug, Clone)]
pub enum Paging {
    Offset {
        offset_param: String,
        size_param: String,
        verify_overlap: bool,
    },
    Page {
        page_param: String,
        size_param: String,
        first_page: u64,
        verify_overlap: bool,
        /// The "has next page" flag of the answer, when the API has one.
        has_next: Option<JsonPath>,
    },
    NextLink {
        next: JsonPath,
        size_param: Option<String>,
    },
    LinkHeader {
        size_param: Option<String>,
    },
    Cursor {
        cursor_param: String,
        next: JsonPath,
        size_param: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub stream: String,
    pub path: String,
    pub records: JsonPath,
    pub id_field: Option<JsonPath>,
    pub modified: Option<Modified>,
    pub query: Vec<(String, Template)>,
    pub since: Vec<(String, Template)>,
    pub full_query: Vec<(String, Template)>,
    pub headers: Vec<(String, Template)>,
    pub page_size: u32,
    pub max_page_size: u32,
    pub paging: Paging,
    pub derive: Vec<(String, Derive)>,
    pub full_refresh: bool,
    /// Read once per record of this list (`{parent_id}` in `path`).
    pub parent: Option<Parent>,
    pub max_results: Option<u64>,
    /// Subtracted from the `since` value before it is rendered.
    pub since_lookback: chrono::Duration,
    /// A full re-scan is due when the last one is older than this.
    pub full_every: Option<std::time::Duration>,
}

/// A configuration problem below an endpoint: key path and message.
pub type KeyError = (Vec<String>, String);

fn templates(
    map: &BTreeMap<String, Scalar>,
    key: &str,
) -> Result<Vec<(String, Template)>, KeyError> {
    map.iter()
        .map(|(k, v)| {
            Template::parse(&v.text())
                .map(|t| (k.clone(), t))
                .map_err(|e| (vec![key.to_owned(), k.clone()], e))
        })
        .collect()
}

impl Endpoint {
    /// Validates one endpoint; an error carries the key path below the endpoint.
    pub fn from_config(c: &EndpointConfig, default_page_size: u32) -> Result<Endpoint, KeyError> {
        let err = |k: &str, m: String| (vec![k.to_owned()], m);
        if c.stream.trim().is_empty() {
            return Err(err("stream", "must not be empty".into()));
        }
        if !c.path.starts_with('/') {
            return Err(err("path", format!("`{}` must start with `/`", c.path)));
        }
        let format = match &c.modified_format {
            Some(f) => ModFormat::parse(f).map_err(|e| err("modified_format", e))?,
            None => ModFormat::Auto,
        };
        let modified = c
            .modified_field
            .as_ref()
            .filter(|f| !f.is_empty())
            .map(|f| Modified {
                field: JsonPath::parse(f),
                time_field: c
                    .modified_time_field
                    .as_deref()
                    .filter(|t| !t.is_empty())
                    .map(JsonPath::parse),
                format: format.clone(),
                name: f.clone(),
            });
        if modified.is_none()
            && c.modified_time_field
                .as_deref()
                .is_some_and(|t| !t.is_empty())
        {
            return Err(err(
                "modified_time_field",
                "needs modified_field (the date)".into(),
            ));
        }
        let page_size = c.page_size.unwrap_or(default_page_size);
        if page_size == 0 || c.max_page_size == Some(0) {
            return Err(err("page_size", "must be at least 1".into()));
        }
        // A declared maximum is the API's limit: a larger page would be refused.
        let page_size = c.max_page_size.map_or(page_size, |m| page_size.min(m));
        let max_page_size = c
            .max_page_size
            .unwrap_or(page_size.saturating_mul(10))
            .max(page_size);
        let paging_config = match (&c.paging, &c.parent) {
            (Some(p), _) => p.clone(),
            // Never used: a child is one GET per parent record.
            (None, Some(_)) => PagingConfig::LinkHeader { size_param: None },
            (None, None) => return Err(err("paging", "missing: paging = { style = ... }".into())),
        };
        let paging = match &paging_config {
            PagingConfig::Offset {
                offset_param,
                size_param,
                verify_overlap,
            } => Paging::Offset {
                offset_param: offset_param.clone(),
                size_param: size_param.clone(),
                verify_overlap: verify_overlap.unwrap_or(true),
            },
            PagingConfig::Page {
                page_param,
                size_param,
                first_page,
                verify_overlap,
                has_next,
            } => Paging::Page {
                page_param: page_param.clone(),
                size_param: size_param.clone(),
                first_page: first_page.unwrap_or(1),
                verify_overlap: verify_overlap.unwrap_or(false),
                has_next: has_next.as_deref().map(JsonPath::parse),
            },
            PagingConfig::NextLink { next, size_param } => Paging::NextLink {
                next: JsonPath::parse(next),
                size_param: size_param.clone(),
            },
            PagingConfig::LinkHeader { size_param } => Paging::LinkHeader {
                size_param: size_param.clone(),
            },
            PagingConfig::Cursor {
                cursor_param,
                next,
                size_param,
            } => Paging::Cursor {
                cursor_param: cursor_param.clone(),
                next: JsonPath::parse(next),
                size_param: size_param.clone(),
            },
        };
        let since = templates(&c.since, "since")?;
        if modified.is_some() && !since.iter().any(|(_, t)| t.uses_since()) {
            return Err(err(
                "since",
                "an endpoint with modified_field needs a `since` parameter using {since} (the modified-since filter)".into(),
            ));
        }
        let duration = |key: &str, v: &Option<String>| {
            v.as_deref()
                .map(crate::config::parse_duration)
                .transpose()
                .map_err(|e| err(key, e))
        };
        let since_lookback = duration("since_lookback", &c.since_lookback)?
            .map(|d| {
                chrono::Duration::from_std(d).map_err(|e| err("since_lookback", e.to_string()))
            })
            .transpose()?
            .unwrap_or_else(chrono::Duration::zero);
        let full_every = duration("full_every", &c.full_every)?;
        if full_every.is_some_and(|d| d.is_zero()) {
            return Err(err("full_every", "must be more than 0".into()));
        }
        if full_every.is_some() && modified.is_none() {
            return Err(err(
                "full_every",
                "needs modified_field (the increment between full scans)".into(),
            ));
        }
        let derive = c
            .derive
            .iter()
            .map(|(name, d)| derive_of(name, d))
            .collect::<Result<Vec<_>, _>>()?;
        let parent = match &c.parent {
            Some(p) => Some(parent_of(c, p, modified.is_some(), default_page_size)?),
            None if c.path.contains(PARENT_ID) => {
                return Err(err("path", format!("{PARENT_ID} needs a `parent` list")));
            }
            None => None,
        };
        Ok(Endpoint {
            stream: c.stream.clone(),
            path: c.path.clone(),
            records: JsonPath::parse(&c.records),
            id_field: c.id_field.as_deref().map(JsonPath::parse),
            modified,
            query: templates(&c.query, "query")?,
            since,
            full_query: templates(&c.full_query, "full_query")?,
            headers: templates(&c.headers, "headers")?,
            page_size,
            max_page_size,
            paging,
            derive,
            full_refresh: c.full_refresh.unwrap_or(false) || parent.is_some(),
            parent,
            max_results: c.max_results.filter(|m| *m > 0),
            since_lookback,
            full_every,
        })
    }

    /// The record's id as text (strings as they are, numbers by their exact text).
    pub fn id_of(&self, rec: &Value) -> Option<String> {
        match self.id_field.as_ref()?.get(rec)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    pub fn stamp_of(&self, rec: &Value) -> Option<Stamp> {
        let m = self.modified.as_ref()?;
        let v = m.field.get(rec)?;
        let t = match &m.time_field {
            Some(tf) => Some(tf.get(rec)?),
            None => None,
        };
        parse_stamp(v, t, &m.format)
    }

    /// The lookups among the derived fields.
    pub fn lookups(&self) -> impl Iterator<Item = &crate::derive_lookup::Lookup> {
        self.derive.iter().filter_map(|(_, d)| match d {
            Derive::Lookup(l) => Some(l),
            _ => None,
        })
    }

    /// Adds the derived fields to a record (objects only; failures leave the field out, so a
    /// mapping that requires it quarantines the record with a reason). `looked_up` answers a
    /// lookup's resource path from the run's cache.
    pub fn apply_derive(
        &self,
        rec: &mut Value,
        tz: ServerTz,
        looked_up: &dyn Fn(&str) -> Option<Value>,
    ) {
        if self.derive.is_empty() {
            return;
        }
        let mut add = Vec::new();
        for (name, d) in &self.derive {
            let v = match d {
                Derive::Subtract(a, b) => {
                    let (Some(a), Some(b)) = (decimal(a.get(rec)), decimal(b.get(rec))) else {
                        continue;
                    };
                    serde_json::from_str::<Value>(&(a - b).to_string()).ok()
                }
                Derive::DateFromEpochMs(p) => epoch_date(p.get(rec), tz),
                Derive::Lookup(l) => l.path_for(rec).and_then(|p| looked_up(&p)),
                Derive::EachDateFromEpochMs(list, inner) => {
                    if let Some(mut arr) = list.take(rec) {
                        if let Value::Array(items) = &mut arr {
                            for item in items.iter_mut() {
                                let v = epoch_date(inner.get(item), tz);
                                if let (Some(v), Value::Object(m)) = (v, item) {
                                    m.insert(name.clone(), v);
                                }
                            }
                        }
                        list.put(rec, arr);
                    }
                    None
                }
            };
            if let Some(v) = v {
                add.push((name.clone(), v));
            }
        }
        if let Value::Object(m) = rec {
            for (k, v) in add {
                m.insert(k, v);
            }
        }
    }
}

fn epoch_date(v: Option<&Value>, tz: ServerTz) -> Option<Value> {
    let s = parse_stamp(v?, None, &ModFormat::EpochMs)?;
    Some(Value::String(
        tz.utc_to_local(s.at).format("%Y-%m-%d").to_string(),
    ))
}

fn decimal(v: Option<&Value>) -> Option<Decimal> {
    match v? {
        Value::Number(n) => {
            let t = n.to_string();
            Decimal::from_str(&t)
                .or_else(|_| Decimal::from_scientific(&t))
                .ok()
        }
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

fn derive_of(name: &str, d: &DeriveConfig) -> Result<(String, Derive), KeyError> {
    let op = match (&d.subtract, &d.date_from_epoch_ms, &d.lookup) {
        (None, None, Some(l)) => {
            Derive::Lookup(crate::derive_lookup::Lookup::from_config(name, l)?)
        }
        (Some([a, b]), None, None) => Derive::Subtract(JsonPath::parse(a), JsonPath::parse(b)),
        (None, Some(p), None) => match p.split_once("/*/") {
            Some((list, inner)) => {
                Derive::EachDateFromEpochMs(JsonPath::parse(list), JsonPath::parse(inner))
            }
            None => Derive::DateFromEpochMs(JsonPath::parse(p)),
        },
        _ => {
            return Err((
                vec!["derive".into(), name.into()],
                "exactly one of subtract, date_from_epoch_ms, lookup".into(),
            ));
        }
    };
    Ok((name.to_owned(), op))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_render_since_and_escape_braces() {
        let t = Template::parse(r#"[["modified",">=","{since}"]]"#).unwrap();
        let s = Stamp::from_text("2024-01-15T10:23:45.5").unwrap();
        let f = ModFormat::parse("%Y-%m-%d %H:%M:%S%.6f").unwrap();
        assert_eq!(
            t.render(Some(s), &f, 100),
            r#"[["modified",">=","2024-01-15 10:23:45.500000"]]"#
        );
        let t = Template::parse("UpdateDate ge '{since:%Y-%m-%d}' {{x}}").unwrap();
        assert_eq!(
            t.render(Some(s), &ModFormat::Auto, 1),
            "UpdateDate ge '2024-01-15' {x}"
        );
        assert!(Template::parse("{until}").is_err());
        assert!(Template::parse("{since").is_err());
    }

    #[test]
    fn derive_subtracts_exactly_and_converts_epoch_dates() {
        let mut c: EndpointConfig = toml::from_str(
            r#"stream = "Invoices"
path = "/Invoices"
paging = { style = "offset" }
derive = { OpenAmount = { subtract = ["DocTotal", "PaidToDate"] }, Day = { date_from_epoch_ms = "invoiceDate" }, LineDay = { date_from_epoch_ms = "lines/*/d" } }
"#,
        )
        .unwrap();
        c.id_field = Some("DocEntry".into());
        let ep = Endpoint::from_config(&c, 100).unwrap();
        let mut rec: Value = serde_json::from_str(
            r#"{"DocEntry": 7, "DocTotal": 1190.10, "PaidToDate": 0.1, "invoiceDate": 1704063600000, "lines": [{"d": 1719784800000}, {"x": 1}]}"#,
        )
        .unwrap();
        ep.apply_derive(&mut rec, ServerTz::CentralEurope, &|_| None);
        assert_eq!(rec["OpenAmount"].to_string(), "1190.00");
        // 2023-12-31T23:00:00Z is 1 January in Berlin.
        assert_eq!(rec["Day"], json!("2024-01-01"));
        assert_eq!(ep.id_of(&rec).as_deref(), Some("7"));
        // 2024-06-30T22:00:00Z is 1 July in Berlin (summer time).
        assert_eq!(rec["lines"][0]["LineDay"], json!("2024-07-01"));
        assert!(rec["lines"][1].get("LineDay").is_none());
    }

    #[test]
    fn a_parent_endpoint_refuses_lookup_derives() {
        let c: EndpointConfig = toml::from_str(
            r#"stream = "stock"
path = "/api/v1/products/{parent_id}/stocks"
parent = { path = "/api/v1/products", id_field = "id", into = "product", paging = { style = "page" } }
derive = { No = { lookup = { path = "/v1/x/{id}", id = "xId", field = "n" } } }
"#,
        )
        .unwrap();
        let (key, msg) = Endpoint::from_config(&c, 100).unwrap_err();
        assert_eq!(key, ["derive"]);
        assert!(msg.contains("lookup"), "{msg}");
    }
}
