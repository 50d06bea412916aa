//! Fake taps: small `#!/bin/sh` scripts written at test time, and helpers to run a connector.

#![allow(dead_code)]

use kontor_connector::{
    Batch, BatchReader, ConnectorError, ConnectorSpec, DynConnector, Fields, Item,
};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Writes an executable `#!/bin/sh` script.
pub fn script(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn spec(dir: &Path, settings: &str) -> ConnectorSpec {
    ConnectorSpec {
        name: "tap".into(),
        settings: toml::from_str(settings).unwrap(),
        source: toml::Table::new(),
        base_dir: dir.to_path_buf(),
        batch_size: 1000,
        own: Default::default(),
    }
}

/// A plugin connector from `kontor.toml` settings, with `dir` as the config folder.
pub fn connector(dir: &Path, settings: &str) -> DynConnector {
    kontor_plugin::build(spec(dir, settings)).unwrap()
}

/// The same as its concrete type (for `Debug`).
pub fn plugin(dir: &Path, settings: &str) -> kontor_plugin::PluginConnector {
    kontor_plugin::PluginConnector::from_spec(spec(dir, settings)).unwrap()
}

/// Opens the one unit. Retries "text file busy": a script written a moment ago can still be
/// open in a child that another test forked and has not exec'd yet.
pub async fn open(conn: &DynConnector, state: Option<Value>) -> Box<dyn BatchReader> {
    let units = conn.discover().await.unwrap();
    assert_eq!(units.len(), 1);
    let mut tries = 0;
    loop {
        match conn.open(&units[0], state.clone()).await {
            Ok(r) => return r,
            Err(e) if tries < 20 && e.to_string().contains("busy") => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("open: {e}"),
        }
    }
}

/// Every batch until the end or an error (after which the reader yields nothing more).
pub async fn drain(
    conn: &DynConnector,
    state: Option<Value>,
) -> (Vec<Batch>, Option<ConnectorError>) {
    let mut reader = open(conn, state).await;
    let mut batches = Vec::new();
    loop {
        match reader.next_batch().await {
            Ok(Some(b)) => batches.push(b),
            Ok(None) => return (batches, None),
            Err(e) => {
                assert!(matches!(reader.next_batch().await, Ok(None)));
                return (batches, Some(e));
            }
        }
    }
}

/// `(stdout line, record)` of each record in a batch.
pub fn records(b: &Batch) -> Vec<(u64, Value)> {
    b.items
        .iter()
        .map(|i| match i {
            Item::Record(r) => match &r.fields {
                Fields::Tree(v) => (r.position.line.unwrap_or(0), v.clone()),
                Fields::Row { .. } => panic!("tree record expected"),
            },
            Item::Reject(r) => panic!("unexpected reject {r:?}"),
        })
        .collect()
}

/// Whether a process is gone (or a zombie nobody reaped yet).
pub fn dead(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

pub const SCHEMA: &str = r#"{"type":"SCHEMA","stream":"customers","schema":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":["string","null"]}},"required":["id"]},"key_properties":["id"]}"#;
