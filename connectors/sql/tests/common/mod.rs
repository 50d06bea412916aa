//! Driving the connector through its trait, as kontor's engine does.

#![allow(dead_code)]

use crate::support::TempDb;
use kontor_connector::{Connector, ConnectorError, ConnectorSpec, DynConnector, Fields, Item};
use serde_json::Value;

pub fn connector(db: &TempDb, source: &str, settings: &str) -> DynConnector {
    try_connector(&format!("url = \"{}\"\n{settings}", db.url), source)
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn try_connector(
    settings: &str,
    source: &str,
) -> Result<DynConnector, kontor_connector::ConfigError> {
    kontor_sql::build(ConnectorSpec {
        name: "shop".into(),
        settings: toml::from_str(settings).unwrap(),
        source: toml::from_str(source).unwrap(),
        base_dir: std::env::temp_dir(),
        batch_size: 100,
        own: Default::default(),
    })
}

/// What one reading of a stream gave.
#[derive(Debug, Default)]
pub struct Read {
    pub records: Vec<Value>,
    pub rejects: Vec<String>,
    /// The position after each batch.
    pub positions: Vec<Value>,
}

impl Read {
    pub fn last(&self) -> Option<Value> {
        self.positions.last().cloned()
    }

    /// A column of every record, as text.
    pub fn column(&self, name: &str) -> Vec<String> {
        self.records
            .iter()
            .map(|r| match &r[name] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect()
    }
}

/// Reads a stream from `state` to its end (or `max_batches`).
pub async fn read(
    c: &dyn Connector,
    stream: &str,
    state: Option<Value>,
    max_batches: usize,
) -> Result<Read, ConnectorError> {
    let units = c.discover().await?;
    let unit = units
        .iter()
        .find(|u| u.key == stream)
        .unwrap_or_else(|| panic!("no unit {stream}"));
    let mut r = c.open(unit, state).await?;
    let mut out = Read::default();
    for _ in 0..max_batches {
        let Some(b) = r.next_batch().await? else {
            break;
        };
        for item in b.items {
            match item {
                Item::Record(rec) => match rec.fields {
                    Fields::Tree(v) => out.records.push(v),
                    Fields::Row { .. } => panic!("SQL records are trees"),
                },
                Item::Reject(rej) => out.rejects.push(rej.reason),
            }
        }
        out.positions.push(b.position);
    }
    Ok(out)
}

/// The committed position a run would hand the next one (`None` when nothing was committed).
pub fn next_state(r: &Read, before: Option<Value>) -> Option<Value> {
    r.last().or(before)
}
