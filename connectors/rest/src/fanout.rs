//! Endpoints read once per record of a parent list (`parent = { ... }`), e.g. a product's
//! stock at `/api/v1/products/{parent_id}/stocks` for every product of `/api/v1/products`.
//!
//! The parent list is read in full with its own paging (an [`EndpointReader`] in full-refresh
//! mode: sorted, deduplicated by id); for each parent record one GET of the child path. Each
//! child record receives the parent record in the field `into`. A child answer whose records
//! path holds an object is one record; `null` or a missing array is none. One batch per page
//! of the parent list. Such an endpoint is read in full every run; its position is
//! informational (`{"full_refresh": true, ...}`).

use crate::config::{EndpointConfig, ParentConfig};
use crate::endpoint::{Endpoint, KeyError};
use crate::error::RestError;
use crate::paging::build_url;
use crate::reader::{EndpointReader, Shared};
use async_trait::async_trait;
use kontor_connector::{
    Batch, BatchReader, ConnectorError, Context, Fields, Item, Position, RawRecord,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct FanoutReader {
    shared: Arc<Shared>,
    ep: Arc<Endpoint>,
    into: String,
    list: EndpointReader,
    parents: u64,
    delivered: u64,
    requests: u64,
    done: bool,
    stream: Arc<str>,
    context: Arc<Context>,
}

/// Percent-encodes a path segment: everything but unreserved characters.
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl FanoutReader {
    pub fn new(shared: Arc<Shared>, ep: Arc<Endpoint>, parent: &Parent) -> FanoutReader {
        let mut context = Context::new();
        context.insert("rest.stream".into(), ep.stream.clone());
        FanoutReader {
            list: EndpointReader::new(shared.clone(), parent.list.clone(), false, None),
            into: parent.into.clone(),
            parents: 0,
            delivered: 0,
            requests: 0,
            done: false,
            stream: ep.stream.as_str().into(),
            context: Arc::new(context),
            shared,
            ep,
        }
    }

    async fn children(&mut self, parent: Value) -> Result<Vec<Item>, RestError> {
        let list = self.list_endpoint();
        let Some(id) = list.id_of(&parent) else {
            return Err(RestError::Http {
                url: self.shared.base_url.clone(),
                message: format!(
                    "a record of {} has no `{}`",
                    list.path,
                    list.id_field
                        .as_ref()
                        .map(|p| p.to_string())
                        .unwrap_or_default()
                ),
            });
        };
        let path = self.ep.path.replace(PARENT_ID, &segment(&id));
        let fmt = crate::stamp::ModFormat::Auto;
        let render = |l: &[(String, crate::endpoint::Template)]| -> Vec<(String, String)> {
            l.iter()
                .map(|(k, t)| (k.clone(), t.render(None, &fmt, self.ep.page_size)))
                .collect()
        };
        let params = render(&self.ep.query);
        let headers = render(&self.ep.headers);
        let url = build_url(&self.shared.base_url, &path, &params).map_err(RestError::Config)?;
        let records_path = self.ep.records.clone();
        let check = move |body: &Value| match records_path.get(body) {
            Some(Value::Array(_) | Value::Object(_) | Value::Null) => Ok(()),
            Some(_) => Err(format!("`{records_path}` is neither a list nor an object")),
            None if records_path.is_root() => Ok(()),
            None => Err(format!("no `{records_path}` in the response")),
        };
        let mut resp = self.shared.http.get_json(&url, &headers, &check).await?;
        self.requests += 1;
        let shown: Arc<str> = self.shared.http.shown(&url).into();
        let found = match self.ep.records.take(&mut resp.body) {
            Some(Value::Array(a)) => a,
            Some(v @ Value::Object(_)) => vec![v],
            _ => Vec::new(),
        };
        let mut items = Vec::with_capacity(found.len());
        for (i, mut rec) in found.into_iter().enumerate() {
            let Value::Object(m) = &mut rec else {
                continue;
            };
            m.insert(self.into.clone(), parent.clone());
            // No lookups here: `parent` endpoints refuse them at configuration.
            self.ep.apply_derive(&mut rec, self.shared.tz, &|_| None);
            self.delivered += 1;
            items.push(Item::Record(RawRecord {
                fields: Fields::Tree(rec),
                position: Position::page(shown.clone(), self.requests, i as u64),
                context: self.context.clone(),
                stream: Some(self.stream.clone()),
            }));
        }
        Ok(items)
    }

    fn list_endpoint(&self) -> &Endpoint {
        self.list.endpoint()
    }

    async fn step(&mut self) -> Result<Option<Batch>, ConnectorError> {
        loop {
            if self.done {
                return Ok(None);
            }
            let Some(page) = self.list.next_batch().await? else {
                self.done = true;
                return Ok(None);
            };
            let mut items = Vec::new();
            for item in page.items {
                let Item::Record(RawRecord {
                    fields: Fields::Tree(parent),
                    ..
                }) = item
                else {
                    continue;
                };
                self.parents += 1;
                let children = self
                    .children(parent)
                    .await
                    .map_err(|e| e.into_connector(&self.shared.http.redactor))?;
                items.extend(children);
            }
            if items.is_empty() {
                continue;
            }
            return Ok(Some(Batch {
                items,
                position: json!({
                    "full_refresh": true,
                    "parents": self.parents,
                    "records": self.delivered,
                }),
                bytes_read: None,
            }));
        }
    }
}

#[async_trait]
impl BatchReader for FanoutReader {
    async fn next_batch(&mut self) -> Result<Option<Batch>, ConnectorError> {
        let r = self.step().await;
        if r.is_err() {
            self.done = true;
        }
        r
    }
}

/// The list an endpoint is read for, record by record.
#[derive(Debug, Clone)]
pub struct Parent {
    /// The list, read in full (its `id_field` gives `{parent_id}`).
    pub list: std::sync::Arc<Endpoint>,
    /// Field of each child record that receives the parent record.
    pub into: String,
}

/// The placeholder of the parent's id in a child path.
pub const PARENT_ID: &str = "{parent_id}";

/// The parent list of an endpoint with `parent`, checked (a child is read in full, puts the
/// parent's id into its path, and has no lookup derives).
pub(crate) fn parent_of(
    c: &EndpointConfig,
    p: &ParentConfig,
    incremental: bool,
    default_page_size: u32,
) -> Result<Parent, KeyError> {
    let err = |k: &str, m: String| (vec![k.to_owned()], m);
    if incremental {
        return Err(err(
            "modified_field",
            "an endpoint with a `parent` is read in full every run".into(),
        ));
    }
    if !c.path.contains(PARENT_ID) {
        return Err(err(
            "path",
            format!("an endpoint with a `parent` puts its id into the path as {PARENT_ID}"),
        ));
    }
    if c.derive.values().any(|d| d.lookup.is_some()) {
        return Err(err(
            "derive",
            "a `lookup` derive is not available on an endpoint with a `parent`".into(),
        ));
    }
    if p.into.trim().is_empty() {
        return Err((
            vec!["parent".into(), "into".into()],
            "must not be empty".into(),
        ));
    }
    let list = EndpointConfig {
        stream: format!("{} (parent list)", c.stream),
        path: p.path.clone(),
        records: p.records.clone(),
        id_field: Some(p.id_field.clone()),
        modified_field: None,
        modified_time_field: None,
        modified_format: None,
        query: p.query.clone(),
        since: BTreeMap::new(),
        full_query: BTreeMap::new(),
        headers: p.headers.clone(),
        page_size: p.page_size,
        max_page_size: p.max_page_size,
        paging: Some(p.paging.clone()),
        derive: BTreeMap::new(),
        full_refresh: Some(true),
        parent: None,
        max_results: None,
        since_lookback: None,
        full_every: None,
    };
    let list = Endpoint::from_config(&list, default_page_size).map_err(|(mut k, m)| {
        k.insert(0, "parent".into());
        (k, m)
    })?;
    Ok(Parent {
        list: std::sync::Arc::new(list),
        into: p.into.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::segment;

    #[test]
    fn ids_cannot_leave_their_path_segment() {
        assert_eq!(segment("17"), "17");
        assert_eq!(segment("a/../b c"), "a%2F..%2Fb%20c");
        assert_eq!(segment("Ü?#"), "%C3%9C%3F%23");
    }
}
