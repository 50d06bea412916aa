//! Times the phases of a sync on a generated file: read only, read+map, and store writes.
//! `cargo run --release --example phases -- ROWS [sqlite|postgres]`
use kontor::mapping::{ColumnCache, Mapping};
use kontor::sync::{MappingSet, map_items};
use kontor_connector::{ConnectorSpec, toml};
use std::time::Instant;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rows: u64 = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.csv");
    kontor::bench::write_invoice_export(&file, rows, None).unwrap();
    let mapping = Mapping::from_text(
        "r",
        "r.toml",
        kontor::bench::INVOICE_MAPPING,
        kontor::mapping::no_builtins,
    )
    .unwrap();
    let mut settings = toml::Table::new();
    settings.insert(
        "path".into(),
        toml::Value::String(file.display().to_string()),
    );
    settings.insert("min_age_seconds".into(), toml::Value::Integer(0));
    let c = kontor_csv::build(ConnectorSpec {
        name: "r".into(),
        settings,
        source: mapping.source.clone(),
        base_dir: dir.path().into(),
        batch_size: 5000,
        own: Default::default(),
    })
    .unwrap();
    let set = MappingSet::single(mapping);

    let t = Instant::now();
    let units = c.discover().await.unwrap();
    println!("discover+hash: {:.2}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut r = c.open(&units[0], None).await.unwrap();
    let mut batches = Vec::new();
    while let Some(b) = r.next_batch().await.unwrap() {
        batches.push(b);
    }
    let read = t.elapsed().as_secs_f64();
    println!("read: {read:.2}s ({:.0} rows/s)", rows as f64 / read);
    let t = Instant::now();
    let mut cache = ColumnCache::default();
    let mut mapped = Vec::new();
    for b in batches {
        mapped.push(map_items(&set, b.items, &mut cache));
    }
    let map = t.elapsed().as_secs_f64();
    println!("map+encode: {map:.2}s ({:.0} rows/s)", rows as f64 / map);
    let backend = args.get(2).map(String::as_str).unwrap_or("sqlite");
    let (store, _g) = kontor::testing::temp_store(backend).await.unwrap();
    let run = store.start_run("r", "x").await.unwrap();
    let t = Instant::now();
    let unit = kontor::store::UnitRef {
        connector: "r",
        key: &units[0].key,
        label: "r.csv",
        fingerprint: Some(&units[0].key),
        mapping_hash: "m",
    };
    for (i, m) in mapped.into_iter().enumerate() {
        let n = m.read;
        store
            .write_batch(kontor::store::WriteBatch {
                run_id: run,
                unit: unit.clone(),
                records: m.records,
                rejects: m.rejects,
                position: serde_json::json!({"records": (i as u64 + 1) * n}),
                read: n,
                skipped: 0,
                promote: false,
                resolves: vec![],
            })
            .await
            .unwrap();
    }
    let stage = t.elapsed().as_secs_f64();
    println!(
        "{backend} stage: {stage:.2}s ({:.0} rows/s)",
        rows as f64 / stage
    );
    let t = Instant::now();
    let out = store.finish_unit(unit, run, 0.1).await.unwrap();
    let promote = t.elapsed().as_secs_f64();
    println!(
        "{backend} promote: {promote:.2}s ({:.0} rows/s) {out:?}",
        rows as f64 / promote
    );
}
