//! Reading one endpoint page by page. See the crate docs ("Cursor semantics") for why each
//! paging style is drift-safe or where it is not.

use crate::cursor::{Cap, Cursor, ScanPosition};
use crate::endpoint::{Endpoint, Paging, Template};
use crate::error::RestError;
use crate::http::HttpClient;
use crate::paging::{build_url, link_next};
use crate::stamp::{ServerTz, Stamp};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kontor_connector::{
    Batch, BatchReader, ConnectorError, Context, Fields, Item, Position, RawRecord,
};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use url::Url;

// Page sizes, result windows and the overlap probe of page-number paging.
#[path = "reader_pages.rs"]
mod pages;
use pages::records_check;

/// What the readers of one connector share.
#[derive(Debug)]
pub struct Shared {
    pub http: HttpClient,
    pub base_url: String,
    pub tz: ServerTz,
    pub safety_margin: Duration,
    pub max_drift_restarts: u32,
    /// Values fetched by `lookup` derives in this run (cleared by `discover`).
    pub derived: crate::derive_lookup::LookupCache,
    /// Connector-level headers (`headers = {...}`), over the endpoints' own.
    pub headers: Vec<(String, String)>,
}

/// Periodic full re-scans of an incremental endpoint (`full_every`).
#[derive(Debug, Clone)]
pub enum Scan {
    /// The endpoint has no `full_every`.
    Off,
    /// An incremental run; the time of the last full scan is carried in the position.
    Carry(Option<DateTime<Utc>>),
    /// This run reads the endpoint in full (deduplicated by id). Until its last page the
    /// positions repeat the old one, so a scan that fails is done again; the last page
    /// commits the cursor (the newest stamp seen, capped) and the scan's start time.
    Rescan {
        old: ScanPosition,
        started: DateTime<Utc>,
    },
}

enum Next {
    Start,
    Url(Url),
    Token(String),
    Done,
}

/// Identity of a raw record for the overlap check.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    Id(Option<String>, Option<Stamp>),
    Whole(Value),
}

pub struct EndpointReader {
    shared: Arc<Shared>,
    ep: Arc<Endpoint>,
    incremental: bool,
    /// Incremental: the last delivered record (starts at the committed cursor).
    state: Option<Cursor>,
    /// Full refresh: ids delivered in this run.
    seen: HashSet<String>,
    delivered: u64,
    /// Incremental offset/page paging: the modified-since value of the current query.
    anchor: Option<Stamp>,
    /// Records of the current query consumed (offset/page paging).
    consumed: u64,
    page_size: u32,
    next: Next,
    overlap: Option<Key>,
    query_prev: Option<Stamp>,
    restarts: u32,
    page_no: u64,
    cap: Option<Cap>,
    opened_at: SystemTime,
    warned_tie: bool,
    scan: Scan,
    /// The page size the server allows (page paging with a `has_next` flag).
    size_cap: u32,
    stream: Arc<str>,
    context: Arc<Context>,
}

impl EndpointReader {
    pub fn new(
        shared: Arc<Shared>,
        ep: Arc<Endpoint>,
        incremental: bool,
        start: Option<Cursor>,
    ) -> EndpointReader {
        let mut context = Context::new();
        context.insert("rest.stream".into(), ep.stream.clone());
        EndpointReader {
            anchor: start.as_ref().map(|c| c.stamp),
            state: start,
            incremental,
            seen: HashSet::new(),
            delivered: 0,
            consumed: 0,
            page_size: ep.page_size,
            next: Next::Start,
            overlap: None,
            query_prev: None,
            restarts: 0,
            page_no: 0,
            cap: None,
            opened_at: SystemTime::now(),
            warned_tie: false,
            scan: Scan::Off,
            size_cap: u32::MAX,
            stream: ep.stream.as_str().into(),
            context: Arc::new(context),
            shared,
            ep,
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.ep
    }

    pub fn with_scan(mut self, scan: Scan) -> EndpointReader {
        self.scan = scan;
        self
    }

    fn base_size(&self) -> u32 {
        self.ep.page_size.min(self.size_cap)
    }

    fn render(&self, list: &[(String, Template)], since: Option<Stamp>) -> Vec<(String, String)> {
        let fmt = self
            .ep
            .modified
            .as_ref()
            .map(|m| m.format.clone())
            .unwrap_or(crate::stamp::ModFormat::Auto);
        list.iter()
            .map(|(k, t)| (k.clone(), t.render(since, &fmt, self.page_size)))
            .collect()
    }

    fn since_params(&self, since: Option<Stamp>) -> Vec<(String, String)> {
        match since {
            Some(s) => {
                let s = Stamp {
                    at: s.at - self.ep.since_lookback,
                    ..s
                };
                self.render(&self.ep.since, Some(s))
            }
            None => Vec::new(),
        }
    }

    fn base_params(&self) -> Vec<(String, String)> {
        let mut params = self.render(&self.ep.query, None);
        let overlay = if self.incremental {
            self.since_params(self.anchor)
        } else {
            self.render(&self.ep.full_query, None)
        };
        for (k, v) in overlay {
            match params.iter_mut().find(|(pk, _)| *pk == k) {
                Some(slot) => slot.1 = v,
                None => params.push((k, v)),
            }
        }
        params
    }

    /// The next request: URL, and for offset paging whether it re-reads the previous page's
    /// last record, and the offset it asks for.
    fn plan(&self) -> Result<(Url, bool, u64), RestError> {
        let mut params = self.base_params();
        let size = self.page_size.to_string();
        let mut overlap = false;
        let mut offset = self.consumed;
        let build = |p: &[(String, String)]| {
            build_url(&self.shared.base_url, &self.ep.path, p).map_err(RestError::Config)
        };
        let url = match (&self.ep.paging, &self.next) {
            (
                Paging::Offset {
                    offset_param,
                    size_param,
                    verify_overlap,
                },
                _,
            ) => {
                if *verify_overlap && self.consumed > 0 && self.overlap.is_some() {
                    overlap = true;
                    offset = self.consumed - 1;
                }
                self.check_window(offset)?;
                params.push((offset_param.clone(), offset.to_string()));
                params.push((size_param.clone(), size));
                build(&params)?
            }
            (
                Paging::Page {
                    page_param,
                    size_param,
                    first_page,
                    ..
                },
                _,
            ) => {
                self.check_window(self.consumed)?;
                let page = first_page + self.consumed / u64::from(self.page_size);
                params.push((page_param.clone(), page.to_string()));
                params.push((size_param.clone(), size));
                build(&params)?
            }
            (_, Next::Url(u)) => u.clone(),
            (
                Paging::NextLink { size_param, .. }
                | Paging::LinkHeader { size_param }
                | Paging::Cursor { size_param, .. },
                next,
            ) => {
                if let Some(sp) = size_param {
                    params.push((sp.clone(), size));
                }
                if let (Paging::Cursor { cursor_param, .. }, Next::Token(t)) =
                    (&self.ep.paging, next)
                {
                    params.push((cursor_param.clone(), t.clone()));
                }
                build(&params)?
            }
        };
        Ok((url, overlap, offset))
    }

    /// Fetches the `lookup` values the page's records need and the run has not cached yet
    /// (records the cursor already covers are skipped: they will not be delivered).
    async fn resolve_lookups(&self, records: &[Value]) -> Result<(), RestError> {
        for l in self.ep.lookups() {
            for rec in records {
                let Some(path) = l.path_for(rec) else {
                    continue;
                };
                if self.shared.derived.contains(&path) || !self.will_deliver(rec) {
                    continue;
                }
                let url =
                    build_url(&self.shared.base_url, &path, &[]).map_err(RestError::Config)?;
                let any = |_: &Value| Ok(());
                let value = match self.shared.http.get_json(&url, &[], &any).await {
                    Ok(resp) => l.field.get(&resp.body).filter(|v| !v.is_null()).cloned(),
                    Err(RestError::NotFound { url, .. }) => {
                        tracing::info!(stream = %self.ep.stream, %url, "lookup: not found");
                        None
                    }
                    Err(e) => return Err(e),
                };
                self.shared.derived.insert(path, value);
            }
        }
        Ok(())
    }

    /// Whether `items` would hand this record on (not covered by the cursor or seen).
    fn will_deliver(&self, rec: &Value) -> bool {
        let id = self.ep.id_of(rec);
        if self.incremental {
            match (self.ep.stamp_of(rec), &self.state) {
                (Some(s), Some(c)) => !c.covers(s, id.as_deref()),
                _ => true,
            }
        } else {
            id.is_none_or(|id| !self.seen.contains(&id))
        }
    }

    fn key(&self, rec: &Value) -> Key {
        match self.ep.id_of(rec) {
            Some(id) => Key::Id(Some(id), self.ep.stamp_of(rec)),
            None => Key::Whole(rec.clone()),
        }
    }

    /// Incremental offset/page paging: start a new query from the last record's stamp when
    /// that changes the modified-since filter. Returns whether it did.
    fn reanchor(&mut self, last: Option<Stamp>) -> bool {
        let Some(s) = last.filter(|_| self.incremental) else {
            return false;
        };
        if self.since_params(Some(s)) == self.since_params(self.anchor) {
            return false;
        }
        self.anchor = Some(s);
        self.consumed = 0;
        self.overlap = None;
        self.query_prev = None;
        self.page_size = self.base_size();
        true
    }

    fn restart_query(&mut self) -> Result<(), RestError> {
        self.restarts += 1;
        if self.restarts > self.shared.max_drift_restarts {
            return Err(RestError::Drift {
                stream: self.ep.stream.clone(),
                restarts: self.restarts - 1,
            });
        }
        tracing::warn!(stream = %self.ep.stream, restarts = self.restarts, "result shifted between pages; restarting the query");
        self.consumed = 0;
        self.overlap = None;
        self.query_prev = None;
        self.page_size = self.base_size();
        Ok(())
    }

    fn capped(&self) -> Option<Cursor> {
        let c = self.state.as_ref()?;
        Some(match &self.cap {
            Some(cap) => cap.apply(c),
            None => c.clone(),
        })
    }

    fn position(&self) -> Value {
        match &self.scan {
            Scan::Off => {}
            Scan::Rescan { old, .. } if !matches!(self.next, Next::Done) => return old.to_json(),
            Scan::Rescan { started, .. } => {
                return ScanPosition {
                    cursor: self.capped(),
                    full_scan_at: Some(*started),
                }
                .to_json();
            }
            Scan::Carry(at) => {
                return ScanPosition {
                    cursor: self.capped(),
                    full_scan_at: *at,
                }
                .to_json();
            }
        }
        if !self.incremental {
            return json!({ "full_refresh": true, "pages": self.page_no, "records": self.delivered });
        }
        match (&self.state, &self.cap) {
            (Some(c), Some(cap)) => cap.apply(c).to_json(),
            (Some(c), None) => c.to_json(),
            (None, _) => Value::Null,
        }
    }

    async fn step(&mut self) -> Result<Option<Batch>, RestError> {
        loop {
            if matches!(self.next, Next::Done) {
                return Ok(None);
            }
            let (url, overlap, offset) = self.plan()?;
            let mut headers = self.render(&self.ep.headers, None);
            for (k, v) in &self.shared.headers {
                headers.retain(|(h, _)| !h.eq_ignore_ascii_case(k));
                headers.push((k.clone(), v.clone()));
            }
            let check = records_check(self.ep.records.clone());
            let resp = self.shared.http.get_json(&url, &headers, &check).await?;
            if self.cap.is_none() {
                let start = resp.date.unwrap_or(self.opened_at).min(SystemTime::now());
                self.cap = Some(Cap::new(start, self.shared.safety_margin, self.shared.tz));
            }
            self.page_no += 1;
            let shown: Arc<str> = self.shared.http.shown(&url).into();
            let link = match &self.ep.paging {
                Paging::NextLink { next, .. } => next.get(&resp.body).and_then(link_text),
                Paging::Cursor { next, .. } => next.get(&resp.body).and_then(link_text),
                Paging::LinkHeader { .. } => link_next(
                    resp.headers
                        .get_all(reqwest::header::LINK)
                        .iter()
                        .filter_map(|v| v.to_str().ok()),
                ),
                _ => None,
            };
            let has_next = match &self.ep.paging {
                Paging::Page {
                    has_next: Some(p), ..
                } => p.get(&resp.body).and_then(Value::as_bool),
                _ => None,
            };
            let mut body = resp.body;
            let records = match self.ep.records.take(&mut body) {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            let n = records.len() as u64;
            let mut skip_first = false;
            if overlap {
                let expected = self.overlap.clone();
                if records.first().map(|r| self.key(r)) == expected {
                    skip_first = true;
                } else {
                    self.restart_query()?;
                    continue;
                }
            }
            if self.probe_due() && !self.probe_unshifted().await? {
                self.restart_query()?;
                continue;
            }
            let last_stamp = records.last().and_then(|r| self.ep.stamp_of(r));
            let last_key = records.last().map(|r| self.key(r));
            let short = n < u64::from(self.page_size);
            self.resolve_lookups(&records).await?;
            let items = self.items(records, skip_first, &shown)?;
            // Where the next request goes (after the items: a new query resets the order check).
            match &self.ep.paging {
                Paging::Offset { .. } => {
                    self.consumed = offset + n;
                    if n == 0 || short {
                        self.next = Next::Done;
                    } else if !self.reanchor(last_stamp) {
                        self.overlap = last_key;
                    }
                }
                Paging::Page { .. } => {
                    let before = self.consumed;
                    self.consumed += n;
                    let done = match has_next {
                        Some(more) => !more || n == 0,
                        None => n == 0 || short,
                    };
                    if done {
                        self.next = Next::Done;
                    } else if short {
                        self.server_caps_page_size(n, before);
                        // Going on by page number: remember where this page ended.
                        self.overlap = last_key.filter(|_| self.consumed > 0);
                    } else if !(self.incremental && self.reanchor(last_stamp)) {
                        if self.incremental {
                            self.tie_on_page_paging();
                        }
                        self.overlap = last_key.filter(|_| self.consumed > 0);
                    }
                }
                Paging::NextLink { .. } | Paging::LinkHeader { .. } => {
                    self.next = match link {
                        Some(l) => {
                            let u = url.join(&l).map_err(|e| RestError::Http {
                                url: shown.to_string(),
                                message: format!("invalid next link: {e}"),
                            })?;
                            if u == url {
                                return Err(RestError::Http {
                                    url: shown.to_string(),
                                    message: "the next link points to the same page".into(),
                                });
                            }
                            Next::Url(u)
                        }
                        None => Next::Done,
                    };
                }
                Paging::Cursor { .. } => {
                    self.next = match link {
                        Some(t) if n > 0 => Next::Token(t),
                        _ => Next::Done,
                    };
                }
            }
            if items.is_empty() {
                // A full re-scan commits its result even when its last page is empty.
                // (An empty endpoint commits nothing: it is scanned again, one request.)
                if matches!(self.scan, Scan::Rescan { .. })
                    && matches!(self.next, Next::Done)
                    && self.delivered > 0
                {
                    return Ok(Some(Batch {
                        items,
                        position: self.position(),
                        bytes_read: None,
                    }));
                }
                continue;
            }
            return Ok(Some(Batch {
                items,
                position: self.position(),
                bytes_read: None,
            }));
        }
    }

    fn items(
        &mut self,
        records: Vec<Value>,
        skip_first: bool,
        shown: &Arc<str>,
    ) -> Result<Vec<Item>, RestError> {
        let mut items = Vec::with_capacity(records.len());
        for (i, mut rec) in records.into_iter().enumerate() {
            if skip_first && i == 0 {
                continue;
            }
            let lookups = &self.shared.derived;
            self.ep
                .apply_derive(&mut rec, self.shared.tz, &|p| lookups.get(p));
            let id = self.ep.id_of(&rec);
            if self.incremental {
                if let Some(s) = self.ep.stamp_of(&rec) {
                    if let Some(p) = self.query_prev
                        && s.at < p.at
                    {
                        return Err(RestError::Unsorted {
                            url: shown.to_string(),
                            field: self
                                .ep
                                .modified
                                .as_ref()
                                .map(|m| m.name.clone())
                                .unwrap_or_default(),
                            detail: format!("{s} after {p}"),
                        });
                    }
                    self.query_prev = Some(s);
                    match &mut self.state {
                        Some(c) if c.covers(s, id.as_deref()) => continue,
                        Some(c) => c.advance(s, id),
                        None => self.state = Some(Cursor::starting_at(s, id)),
                    }
                }
            } else {
                if let Some(id) = &id
                    && !self.seen.insert(id.clone())
                {
                    continue;
                }
                // A full re-scan moves the increment's cursor to the newest stamp it saw.
                if matches!(self.scan, Scan::Rescan { .. })
                    && let Some(s) = self.ep.stamp_of(&rec)
                {
                    match &mut self.state {
                        Some(c) => c.advance(s, id),
                        None => self.state = Some(Cursor::starting_at(s, id)),
                    }
                }
            }
            self.delivered += 1;
            items.push(Item::Record(RawRecord {
                fields: Fields::Tree(rec),
                position: Position::page(shown.clone(), self.page_no, i as u64),
                context: self.context.clone(),
                stream: Some(self.stream.clone()),
            }));
        }
        Ok(items)
    }
}

fn link_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[async_trait]
impl BatchReader for EndpointReader {
    async fn next_batch(&mut self) -> Result<Option<Batch>, ConnectorError> {
        match self.step().await {
            Ok(b) => Ok(b),
            Err(e) => {
                self.next = Next::Done;
                Err(e.into_connector(&self.shared.http.redactor))
            }
        }
    }
}
