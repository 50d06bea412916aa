//! Reading one stream page by page. See the crate docs for the position semantics.

use crate::config::Stream;
use crate::db::{Db, Fetched};
use crate::decode::{Cell, Read};
use crate::error::SqlError;
use crate::position::{Cap, Pos};
use crate::secret::{Redactor, UrlRef};
use crate::value::{Margin, Val};
use async_trait::async_trait;
use kontor_connector::{
    Batch, BatchReader, ConnectorError, Context, Fields, Item, Position, RawRecord, RawReject,
};
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// What the readers of one connector share: the database (connected on first use).
#[derive(Debug)]
pub struct Shared {
    pub url: UrlRef,
    pub limits: crate::db::Limits,
    pub redactor: Redactor,
    /// Default margin of time increments.
    pub margin: Duration,
    db: tokio::sync::OnceCell<(Db, String)>,
}

impl Shared {
    pub fn new(url: UrlRef, limits: crate::db::Limits, margin: Duration) -> Shared {
        Shared {
            url,
            limits,
            redactor: Redactor::default(),
            margin,
            db: tokio::sync::OnceCell::new(),
        }
    }

    /// The database and its label (`scheme://host:port/db`). Resolves the URL; connects lazily.
    pub async fn db(&self) -> Result<&(Db, String), SqlError> {
        self.db
            .get_or_try_init(|| async {
                let url = self.url.resolve(&self.redactor)?;
                let db = Db::new(&url, self.limits).map_err(SqlError::Url)?;
                Ok((db, crate::secret::label(&url)))
            })
            .await
    }

    /// The margin for a stream whose increment has values like `sample`.
    pub fn margin_for(&self, stream: &Stream, sample: &Val) -> Margin {
        stream.margin.unwrap_or(match sample {
            Val::Int(_) | Val::Uint(_) | Val::Decimal(_) => {
                Margin::Units(crate::config::DEFAULT_UNITS)
            }
            _ => Margin::Time(self.margin),
        })
    }
}

/// Where the increment and key columns are in a page.
fn column(f: &Fetched, name: &str) -> Option<usize> {
    f.columns
        .iter()
        .position(|c| c == name)
        .or_else(|| f.columns.iter().position(|c| c.eq_ignore_ascii_case(name)))
}

pub struct StreamReader {
    shared: Arc<Shared>,
    stream: Arc<Stream>,
    /// Where this run started (the committed position).
    start: Option<Pos>,
    /// The last row delivered.
    after: Option<Pos>,
    cap: Option<Cap>,
    done: bool,
    warned_floats: bool,
    context: Arc<Context>,
    stream_name: Arc<str>,
}

impl StreamReader {
    pub fn new(shared: Arc<Shared>, stream: Arc<Stream>, start: Option<Pos>) -> StreamReader {
        let mut context = Context::new();
        context.insert("sql.stream".into(), stream.name.clone());
        StreamReader {
            shared,
            stream_name: stream.name.as_str().into(),
            stream,
            after: start.clone(),
            start,
            cap: None,
            done: false,
            warned_floats: false,
            context: Arc::new(context),
        }
    }

    fn data(&self, msg: impl Into<String>) -> SqlError {
        SqlError::data(&self.stream.name, msg)
    }

    fn position_err(&self, msg: impl Into<String>) -> SqlError {
        SqlError::Position {
            stream: self.stream.name.clone(),
            position: self
                .start
                .as_ref()
                .map(|p| p.to_json().to_string())
                .unwrap_or_default(),
            message: msg.into(),
        }
    }

    /// The cap of this run: the largest increment now, less the margin.
    async fn start_run(&mut self, db: &Db) -> Result<Cap, SqlError> {
        let s = &self.stream;
        let (max, missing) = db.bounds(s).await.map_err(|e| SqlError::db(&s.name, e))?;
        if missing > 0 {
            tracing::warn!(stream = %s.name, rows = missing,
                "rows without {} are not read (they cannot be paged); COALESCE them in the query",
                match &s.increment { Some(i) => format!("increment `{i}` or key `{}`", s.key), None => format!("key `{}`", s.key) });
        }
        if s.increment.is_none() {
            return Ok(Cap::None);
        }
        let Some(max) = max else {
            return Ok(Cap::Start(self.start.clone()));
        };
        if let Some(inc) = self.start.as_ref().and_then(|p| p.increment.as_ref())
            && inc.kind() != max.kind()
        {
            return Err(self.position_err(format!(
                "it holds a {} increment, the column `{}` now gives {}",
                inc.kind(),
                s.increment.as_deref().unwrap_or_default(),
                max.kind()
            )));
        }
        let margin = self.shared.margin_for(s, &max);
        if matches!(margin, Margin::Time(d) if d.is_zero()) || margin == Margin::Units(0) {
            return Ok(Cap::None);
        }
        match max.minus(&margin) {
            Ok(Some(cap)) => Ok(Cap::At(cap)),
            Ok(None) => Ok(Cap::None),
            Err(e) => Err(self.data(e)),
        }
    }

    async fn step(&mut self) -> Result<Option<Batch>, SqlError> {
        let shared = self.shared.clone();
        let (db, label) = shared.db().await?;
        if self.cap.is_none() {
            self.cap = Some(self.start_run(db).await?);
        }
        loop {
            if self.done {
                return Ok(None);
            }
            // The row at the position comes again (`>=`) and is dropped: one more.
            let limit = match &self.after {
                Some(Pos {
                    key: Some(_),
                    complete: false,
                    ..
                }) => self.stream.page_size.saturating_add(1),
                _ => self.stream.page_size,
            };
            let page = db
                .page(&self.stream, self.after.as_ref(), limit)
                .await
                .map_err(|e| SqlError::db(&self.stream.name, e))?;
            self.done = page.rows.len() < limit as usize;
            let items = self.items(&page, label)?;
            if items.is_empty() && !self.done {
                continue;
            }
            let position = match (&self.stream.increment, &self.after) {
                (Some(_), Some(after)) => after
                    .capped(self.cap.as_ref().unwrap_or(&Cap::None))
                    .map(|p| p.to_json())
                    .unwrap_or(Value::Null),
                (Some(_), None) => Value::Null,
                (None, _) if self.done => Pos {
                    complete: true,
                    ..Pos::default()
                }
                .to_json(),
                (None, after) => after.as_ref().map(Pos::to_json).unwrap_or(Value::Null),
            };
            if items.is_empty() && self.stream.increment.is_some() {
                return Ok(None);
            }
            return Ok(Some(Batch {
                items,
                position,
                bytes_read: None,
            }));
        }
    }

    /// The records of a page; moves `after` to its last row.
    fn items(&mut self, page: &Fetched, label: &str) -> Result<Vec<Item>, SqlError> {
        if page.rows.is_empty() {
            return Ok(Vec::new());
        }
        let s = self.stream.clone();
        let missing = |what: &str, name: &str| {
            self.data(format!(
                "the query has no column `{name}` ({what}); its columns are {}",
                page.columns.join(", ")
            ))
        };
        let key_at = column(page, &s.key).ok_or_else(|| missing("key", &s.key))?;
        let inc_at = match &s.increment {
            Some(name) => Some(column(page, name).ok_or_else(|| missing("increment", name))?),
            None => None,
        };
        if !self.warned_floats {
            self.warned_floats = true;
            for (c, r) in page.columns.iter().zip(&page.reads) {
                if *r == Read::Float {
                    tracing::warn!(stream = %s.name, column = %c,
                        "floating point column passed as its shortest text; CAST it to DECIMAL in the query for exact amounts");
                }
            }
        }
        let json_at: Vec<usize> = s
            .json_columns
            .iter()
            .filter_map(|c| column(page, c))
            .collect();
        let mut items = Vec::with_capacity(page.rows.len());
        let mut at_start = 0;
        let mut prev: Option<(Option<Val>, Val)> = None;
        for cells in &page.rows {
            let val = |i: usize, what: &str| -> Result<Val, SqlError> {
                match &cells[i] {
                    Ok(c) => c.to_val(),
                    Err(e) => Err(e.clone()),
                }
                .map_err(|e| self.data(format!("{what} `{}` {e}", page.columns[i])))
            };
            let key = val(key_at, "key")?;
            let inc = inc_at.map(|i| val(i, "increment")).transpose()?;
            self.check_kinds(inc.as_ref(), &key)?;
            if let Some(after) = &self.after
                && !after.complete
                && after.is_at(inc.as_ref(), &key)
            {
                // The last row of the previous page, read again by `>=`.
                at_start += 1;
                if at_start > 1 {
                    return Err(self.not_unique(&key));
                }
                continue;
            }
            if let Some((pi, pk)) = &prev {
                let order = match (pi, &inc) {
                    (Some(a), Some(b)) => a.order(b),
                    _ => Some(Ordering::Equal),
                };
                match order {
                    Some(Ordering::Greater) => {
                        return Err(self.data(format!(
                            "rows arrive out of order ({} after {}); the increment column must be \
                             ordered by the database as kontor compares it",
                            inc.as_ref().map(Val::text).unwrap_or_default(),
                            pi.as_ref().map(Val::text).unwrap_or_default()
                        )));
                    }
                    Some(Ordering::Equal) if pi == &inc && pk == &key => {
                        return Err(self.not_unique(&key));
                    }
                    _ => {}
                }
            }
            let source: Arc<str> = format!("{label}#{} {}={}", s.name, s.key, key.text()).into();
            items.push(self.record(page, cells, &json_at, source));
            prev = Some((inc, key));
        }
        if let Some((inc, key)) = prev {
            self.after = Some(Pos {
                increment: inc,
                key: Some(key),
                complete: false,
            });
        }
        Ok(items)
    }

    fn check_kinds(&self, inc: Option<&Val>, key: &Val) -> Result<(), SqlError> {
        let Some(after) = &self.after else {
            return Ok(());
        };
        for (what, stored, now) in [
            ("increment", after.increment.as_ref(), inc),
            ("key", after.key.as_ref(), Some(key)),
        ] {
            if let (Some(a), Some(b)) = (stored, now)
                && a.kind() != b.kind()
            {
                return Err(self.position_err(format!(
                    "it holds a {} {what}, the query now gives {}",
                    a.kind(),
                    b.kind()
                )));
            }
        }
        Ok(())
    }

    fn not_unique(&self, key: &Val) -> SqlError {
        self.data(format!(
            "key `{}` is not unique in the query's result (`{}` appears twice with the same \
             increment); paging would lose rows — choose a unique key (e.g. the line id of a join)",
            self.stream.key,
            key.text()
        ))
    }

    fn record(
        &self,
        page: &Fetched,
        cells: &[Result<Cell, String>],
        json_at: &[usize],
        source: Arc<str>,
    ) -> Item {
        let position = Position {
            source,
            ..Position::default()
        };
        let mut map = Map::with_capacity(cells.len());
        let mut problem = None;
        for (i, cell) in cells.iter().enumerate() {
            let name = &page.columns[i];
            let value = match cell {
                Ok(Cell::Text(t)) if json_at.contains(&i) => match serde_json::from_str(t) {
                    Ok(v) => v,
                    Err(e) => {
                        problem.get_or_insert((name.clone(), format!("not JSON: {e}")));
                        Value::String(t.clone())
                    }
                },
                Ok(c) => c.to_json(),
                Err(e) => {
                    problem.get_or_insert((name.clone(), e.clone()));
                    Value::Null
                }
            };
            map.insert(name.clone(), value);
        }
        let tree = Value::Object(map);
        match problem {
            Some((field, reason)) => Item::Reject(RawReject {
                position,
                reason: format!("column `{field}`: {reason}"),
                field: Some(field),
                raw: tree.to_string(),
            }),
            None => Item::Record(RawRecord {
                fields: Fields::Tree(tree),
                position,
                context: self.context.clone(),
                stream: Some(self.stream_name.clone()),
            }),
        }
    }
}

#[async_trait]
impl BatchReader for StreamReader {
    async fn next_batch(&mut self) -> Result<Option<Batch>, ConnectorError> {
        match self.step().await {
            Ok(b) => Ok(b),
            Err(e) => {
                self.done = true;
                Err(e.into_connector(&self.shared.redactor))
            }
        }
    }
}
