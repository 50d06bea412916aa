//! Test harness: builds connectors and drives them like the engine does (discover → open with
//! the committed state → next_batch until done; each batch's position is "committed").

#![allow(dead_code)]

use kontor_connector::{
    Batch, ConnectorError, ConnectorSpec, DynConnector, Fields, Item, RawRecord,
};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

pub struct Secrets {
    pub dir: tempfile::TempDir,
}

impl Secrets {
    pub fn new(files: &[(&str, &str)]) -> Secrets {
        let dir = tempfile::tempdir().unwrap();
        for (name, value) in files {
            std::fs::write(dir.path().join(name), format!("{value}\n")).unwrap();
        }
        Secrets { dir }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Test settings (added where a test does not set the key): fast backoff, short timeout.
pub const FAST: &str = r#"
timeout = "2s"
backoff = "5ms"
max_backoff = "20ms"
max_retries = 4
retry_budget = 40
safety_margin = "0s"
"#;

pub fn build(settings: &str, source: &str, base_dir: &Path) -> DynConnector {
    try_build(settings, source, base_dir).unwrap_or_else(|e| panic!("config: {e}"))
}

/// The concrete connector (for its `Debug` output).
pub fn build_rest(
    settings: &str,
    source: &str,
    base_dir: &Path,
) -> std::sync::Arc<kontor_rest::RestConnector> {
    let spec = spec(settings, source, base_dir);
    std::sync::Arc::new(kontor_rest::RestConnector::from_spec(spec).expect("config"))
}

pub fn try_build(
    settings: &str,
    source: &str,
    base_dir: &Path,
) -> Result<DynConnector, kontor_connector::ConfigError> {
    kontor_rest::build(spec(settings, source, base_dir))
}

fn spec(settings: &str, source: &str, base_dir: &Path) -> ConnectorSpec {
    let mut table: toml::Table = toml::from_str(settings).expect("settings TOML");
    let fast: toml::Table = toml::from_str(FAST).unwrap();
    for (k, v) in fast {
        table.entry(k).or_insert(v);
    }
    ConnectorSpec {
        name: "test".into(),
        settings: table,
        source: toml::from_str(source).expect("source TOML"),
        base_dir: base_dir.to_path_buf(),
        batch_size: 500,
        own: Default::default(),
    }
}

/// What one unit run produced.
#[derive(Debug, Default)]
pub struct Run {
    pub batches: Vec<Batch>,
    pub error: Option<ConnectorError>,
}

impl Run {
    pub fn records(&self) -> Vec<&RawRecord> {
        self.batches
            .iter()
            .flat_map(|b| b.items.iter())
            .filter_map(|i| match i {
                Item::Record(r) => Some(r),
                Item::Reject(_) => None,
            })
            .collect()
    }
    pub fn trees(&self) -> Vec<&Value> {
        self.records()
            .into_iter()
            .map(|r| match &r.fields {
                Fields::Tree(v) => v,
                Fields::Row { .. } => panic!("expected trees"),
            })
            .collect()
    }
    /// Values of one field, as text, in delivery order.
    pub fn field(&self, name: &str) -> Vec<String> {
        self.trees()
            .into_iter()
            .map(|t| match &t[name] {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            })
            .collect()
    }
    /// The position the engine would have committed last.
    pub fn committed(&self) -> Option<Value> {
        self.batches.last().map(|b| b.position.clone())
    }
}

/// Reads one stream with a committed state, like the engine.
pub async fn run_unit(conn: &DynConnector, stream: &str, state: Option<Value>) -> Run {
    let units = conn.discover().await.expect("discover");
    let unit = units
        .iter()
        .find(|u| u.key == stream)
        .unwrap_or_else(|| panic!("no unit {stream}"));
    let mut run = Run::default();
    // Opening may fail too (a lookup that needs the API, as Business Central's company id).
    let mut reader = match conn.open(unit, state).await {
        Ok(r) => r,
        Err(e) => {
            run.error = Some(e);
            return run;
        }
    };
    loop {
        match reader.next_batch().await {
            Ok(Some(b)) => run.batches.push(b),
            Ok(None) => break,
            Err(e) => {
                run.error = Some(e);
                break;
            }
        }
    }
    run
}

/// Runs every unit, committing positions into `states` (the engine's checkpoint table).
pub async fn run_all(
    conn: &DynConnector,
    states: &mut HashMap<String, Value>,
) -> HashMap<String, Run> {
    let units = conn.discover().await.expect("discover");
    let mut out = HashMap::new();
    for unit in units {
        let mut reader = conn
            .open(&unit, states.get(&unit.key).cloned())
            .await
            .expect("open");
        let mut run = Run::default();
        loop {
            match reader.next_batch().await {
                Ok(Some(b)) => {
                    states.insert(unit.key.clone(), b.position.clone());
                    run.batches.push(b);
                }
                Ok(None) => break,
                Err(e) => {
                    run.error = Some(e);
                    break;
                }
            }
        }
        out.insert(unit.key.clone(), run);
    }
    out
}

/// Generic `/items` records: `n` items with distinct, increasing modification times.
pub fn items(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            serde_json::json!({
                "id": format!("item-{i:06}"),
                "modified": format!("2026-01-{:02}T{:02}:{:02}:00.000Z", 1 + i / 1440 % 28, i / 60 % 24, i % 60),
                "name": format!("Artikel Nr. {i} – Größe {}", i % 7),
                "amount": serde_json::from_str::<Value>(&format!("{}.{:02}", i * 3, i % 100)).unwrap(),
            })
        })
        .collect()
}
