//! Raw records: what a connector hands to the mapping engine.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Where a record came from: a file and line, or a URL and page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// File path or URL.
    pub source: Arc<str>,
    /// Line number (1-based) in a text file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Column (1-based) within the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// Page number for paged sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    /// Index of the record within its page or document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
}

impl Position {
    /// Line `line` of `source`.
    pub fn line(source: Arc<str>, line: u64) -> Self {
        Self {
            source,
            line: Some(line),
            ..Self::default()
        }
    }
    /// Record `index` on page `page` of `source`.
    pub fn page(source: Arc<str>, page: u64, index: u64) -> Self {
        Self {
            source,
            page: Some(page),
            index: Some(index),
            ..Self::default()
        }
    }
}

impl fmt::Display for Position {
    /// `file:line[:col]` or `url#page=P&index=I`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if let Some(page) = self.page {
            write!(f, "#page={page}")?;
            if let Some(index) = self.index {
                write!(f, "&index={index}")?;
            }
        } else if let Some(index) = self.index {
            write!(f, "#{index}")?;
        }
        Ok(())
    }
}

/// Values of one unit that every record of it can see, such as a DATEV header's fiscal year
/// start (`datev.fiscal_year_start`).
pub type Context = BTreeMap<String, String>;

/// One flat row: the values share one buffer (like `csv::StringRecord`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    buf: String,
    ends: Vec<usize>,
}

impl Row {
    /// An empty row with room for `bytes` of text in `fields` values.
    pub fn with_capacity(bytes: usize, fields: usize) -> Self {
        Self {
            buf: String::with_capacity(bytes),
            ends: Vec::with_capacity(fields),
        }
    }
    /// Appends a value.
    pub fn push(&mut self, value: &str) {
        self.buf.push_str(value);
        self.ends.push(self.buf.len());
    }
    /// The number of values.
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    /// Whether the row has no values.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    /// The value at a 0-based index.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.buf[start..end])
    }
    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

impl<'a> FromIterator<&'a str> for Row {
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> Self {
        let mut row = Row::default();
        for v in iter {
            row.push(v);
        }
        row
    }
}

/// The fields of a raw record.
#[derive(Debug, Clone)]
pub enum Fields {
    /// A flat-file row; `header` holds the column names (shared by all rows of a file).
    Row {
        /// The column names.
        header: Arc<Vec<String>>,
        /// The row's values, one per column.
        values: Row,
    },
    /// A tree (JSON object from an API, an XML element converted to JSON: attributes as
    /// `@name`, text of mixed elements as `#text`, repeated children as arrays). Numbers keep
    /// their exact text (`serde_json` with `arbitrary_precision`).
    Tree(serde_json::Value),
}

/// A record as the source delivered it.
#[derive(Debug, Clone)]
pub struct RawRecord {
    /// The record's fields as the source has them.
    pub fields: Fields,
    /// Where it is in the source.
    pub position: Position,
    /// Values of the unit (file header data and the like).
    pub context: Arc<Context>,
    /// A hint which mapping applies, for sources that deliver several kinds of records.
    pub stream: Option<Arc<str>>,
}

/// An estimate of the heap a JSON tree holds (strings, arrays, maps), for batch budgets.
fn tree_bytes(v: &serde_json::Value) -> usize {
    use serde_json::Value;
    // A value's own slot, plus what it points to.
    const SLOT: usize = 32;
    SLOT + match v {
        Value::Null | Value::Bool(_) => 0,
        Value::Number(n) => n.as_str().len(),
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(tree_bytes).sum(),
        Value::Object(o) => o.iter().map(|(k, v)| SLOT + k.len() + tree_bytes(v)).sum(),
    }
}

impl RawRecord {
    /// An estimate of the memory the record's fields hold (a [`Batch`](crate::Batch) is
    /// bounded by it: [`MAX_BATCH_BYTES`](crate::MAX_BATCH_BYTES)).
    pub fn approx_bytes(&self) -> usize {
        match &self.fields {
            Fields::Row { values, .. } => values.buf.capacity() + values.ends.capacity() * 8,
            Fields::Tree(v) => tree_bytes(v),
        }
    }

    /// The raw content as text, for quarantine: the row joined by `;` or the JSON tree.
    pub fn raw_text(&self) -> String {
        match &self.fields {
            Fields::Row { values, .. } => values.iter().collect::<Vec<_>>().join(";"),
            Fields::Tree(v) => v.to_string(),
        }
    }

    /// The fields as one JSON object (header name → value), the form kept in quarantine so a
    /// row can be replayed after a mapping fix.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.fields {
            Fields::Row { header, values } => {
                let mut cols = serde_json::Map::new();
                let mut list = Vec::with_capacity(values.len());
                for (i, v) in values.iter().enumerate() {
                    list.push(serde_json::Value::String(v.to_owned()));
                    if let Some(h) = header.get(i) {
                        cols.entry(h.clone())
                            .or_insert_with(|| serde_json::Value::String(v.to_owned()));
                    }
                }
                serde_json::json!({ "columns": list, "header": header.as_slice(), "by_name": cols })
            }
            Fields::Tree(v) => serde_json::json!({ "tree": v }),
        }
    }

    /// Inverse of [`RawRecord::to_json`].
    pub fn fields_from_json(v: &serde_json::Value) -> Option<Fields> {
        if let Some(tree) = v.get("tree") {
            return Some(Fields::Tree(tree.clone()));
        }
        let header = v
            .get("header")?
            .as_array()?
            .iter()
            .map(|h| h.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()?;
        let values = v
            .get("columns")?
            .as_array()?
            .iter()
            .map(|c| c.as_str())
            .collect::<Option<Row>>()?;
        Some(Fields::Row {
            header: Arc::new(header),
            values,
        })
    }
}

/// A piece of input that could not become a record (wrong column count, undecodable bytes,
/// malformed document). The engine quarantines it.
#[derive(Debug, Clone)]
pub struct RawReject {
    /// Where it is in the source.
    pub position: Position,
    /// The field at fault, when one is.
    pub field: Option<String>,
    /// Why it was rejected.
    pub reason: String,
    /// The input as read (for ops to see and fix).
    pub raw: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_roundtrip_keeps_values_and_empties() {
        let row: Row = ["0012", "", "Müller GmbH"].into_iter().collect();
        assert_eq!(row.len(), 3);
        assert_eq!(row.get(0), Some("0012"));
        assert_eq!(row.get(1), Some(""));
        assert_eq!(row.get(2), Some("Müller GmbH"));
        assert_eq!(row.get(3), None);
    }

    #[test]
    fn record_json_roundtrip() {
        let rec = RawRecord {
            fields: Fields::Row {
                header: Arc::new(vec!["Kto".into(), "Name".into()]),
                values: ["0012", "Köln"].into_iter().collect(),
            },
            position: Position::line("a.csv".into(), 3),
            context: Arc::default(),
            stream: None,
        };
        let back = RawRecord::fields_from_json(&rec.to_json()).unwrap();
        match back {
            Fields::Row { header, values } => {
                assert_eq!(header.as_slice(), ["Kto", "Name"]);
                assert_eq!(values.get(1), Some("Köln"));
            }
            Fields::Tree(_) => panic!("expected a row"),
        }
    }

    #[test]
    fn position_display() {
        assert_eq!(Position::line("x.csv".into(), 7).to_string(), "x.csv:7");
        assert_eq!(
            Position::page("https://h/api".into(), 2, 5).to_string(),
            "https://h/api#page=2&index=5"
        );
    }
}
