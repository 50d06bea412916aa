//! Helpers shared by the integration tests.
#![allow(dead_code)]

use kontor_connector::{Fields, Item, RawRecord};
use kontor_xml::{Format, Limits, reader_for};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The repository root (fixtures live in `tests/fixtures/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn fixture(rel: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(rel)
}

pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// Reads one profile document; panics on errors (tests only).
pub fn read_doc(path: &Path) -> RawRecord {
    let mut reader = reader_for(
        path.to_path_buf(),
        Format::Auto,
        Limits::default(),
        None,
        100,
        0,
    );
    let batch = reader
        .next_batch_blocking()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .unwrap_or_else(|| panic!("{}: no batch", path.display()));
    assert!(
        reader.next_batch_blocking().unwrap().is_none(),
        "one batch per document"
    );
    assert_eq!(
        batch.items.len(),
        1,
        "{}: one record per document",
        path.display()
    );
    match batch.items.into_iter().next() {
        Some(Item::Record(r)) => r,
        other => panic!("{}: expected a record, got {other:?}", path.display()),
    }
}

pub fn tree(r: &RawRecord) -> &Value {
    match &r.fields {
        Fields::Tree(v) => v,
        Fields::Row { .. } => panic!("expected a tree"),
    }
}

/// A string at a `/`-separated path (`lines/0/sku`).
pub fn at<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    let mut cur = v;
    for step in path.split('/') {
        cur = match step.parse::<usize>() {
            Ok(i) => cur.get(i)?,
            Err(_) => cur.get(step)?,
        };
    }
    cur.as_str()
}
