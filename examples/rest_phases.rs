//! Where the time of a REST sync goes after the connector: a mocked ERPNext serves N Sales
//! Invoices (default 20 000) in pages of 100 on loopback; they are read through the connector
//! (time reported, but bound by the mock, which filters and sorts its whole list per request —
//! the connector's own HTTP/JSON cost is measured by `kontor-rest`'s `rest_bench` against a fast
//! server), mapped with the built-in ERPNext mapping (timed), and written page by page with
//! their cursor into a fresh store exactly as the sync engine does for an incremental stream
//! (timed).
//!
//! `cargo run --release --example rest_phases -- [N] [sqlite|postgres]`

use kontor::config::Config;
use kontor::mapping::ColumnCache;
use kontor::store::{UnitRef, WriteBatch};
use kontor::sync::{self, Group, map_items};
use kontor_rest::mock::{Flavor, MockErp};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Instant;

fn invoices(n: usize) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| {
            json!({
                "name": format!("SINV-{i:07}"),
                "customer": format!("CUST-{:05}", i % 5000),
                "customer_name": format!("Müller & Söhne GmbH {i}"),
                "posting_date": format!("2026-01-{:02}", 1 + i % 28),
                "due_date": format!("2026-02-{:02}", 1 + i % 28),
                "currency": "EUR", "docstatus": 1, "is_return": 0,
                "net_total": format!("{}.{:02}", i % 9000, i % 100).parse::<serde_json::Number>().unwrap(),
                "total_taxes_and_charges": format!("{}.{:02}", i % 1700, i % 100).parse::<serde_json::Number>().unwrap(),
                "grand_total": format!("{}.{:02}", i % 10700, i % 100).parse::<serde_json::Number>().unwrap(),
                "outstanding_amount": i % 500, "status": "Unpaid", "po_no": "",
                "modified": format!("2026-03-{:02} {:02}:{:02}:{:02}.{:06}",
                    1 + i / 86_400 % 28, i / 3600 % 24, i / 60 % 60, i % 60, i % 1000),
            })
        })
        .collect()
}

#[tokio::main]
async fn main() {
    if let Ok(f) = std::env::var("KONTOR_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(f))
            .init();
    }
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let backend = args.get(2).map(String::as_str).unwrap_or("sqlite");
    let erp = MockErp::start_with(
        Flavor::ErpNext,
        BTreeMap::from([("Sales Invoice".to_owned(), invoices(n))]),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), kontor_rest::mock::ERPNEXT_TOKEN).unwrap();
    let text = format!(
        "[[connector]]\nname = \"erp\"\nkind = \"rest\"\nbase_url = \"{}\"\nprofile = \"erpnext\"\n\
         streams = [\"Sales Invoice\"]\nauth = {{ kind = \"token\", token_file = \"token\" }}\n",
        erp.uri()
    );
    let cfg = Config::parse("kontor.toml", &text, dir.path().into(), Vec::new()).unwrap();
    let p = sync::prepare(&cfg, cfg.connector("erp").unwrap()).unwrap();

    // The connector alone (mock-bound, see above).
    let t = Instant::now();
    let mut batches = Vec::new();
    let mut units = Vec::new();
    for unit in p.connector.discover().await.unwrap() {
        let mut r = p.connector.open(&unit, None).await.unwrap();
        while let Some(b) = r.next_batch().await.unwrap() {
            batches.push((units.len(), b));
        }
        units.push(unit);
    }
    let read = t.elapsed().as_secs_f64();
    let requests = erp.requests().len();

    // Mapping: the built-in ERPNext mapping, canonical JSON, content hash.
    let t = Instant::now();
    let mut cache = ColumnCache::default();
    let mapped: Vec<_> = batches
        .into_iter()
        .map(|(u, b)| (u, b.position, map_items(&p.mappings, b.items, &mut cache)))
        .collect();
    let map = t.elapsed().as_secs_f64();
    let records: usize = mapped.iter().map(|(_, _, m)| m.records.len()).sum();
    assert_eq!(records, n, "every invoice mapped");

    // Store, twice into a fresh store: one transaction per page (records + cursor), and
    // grouped as the engine writes API streams (`kontor::sync::Group`: pages commit together
    // up to `batch_size` records, 2 MiB or one second).
    let cap = cfg.connector("erp").unwrap().batch_size;
    let mut store_secs = Vec::new();
    for grouped in [false, true] {
        let (store, _guard) = kontor::testing::temp_store(backend).await.unwrap();
        let run = store.start_run("erp", "bench").await.unwrap();
        let t = Instant::now();
        let mut inserted = 0;
        let mut writes = 0;
        let mut group = Group::new(if grouped { cap } else { 1 });
        let last = mapped.len().saturating_sub(1);
        for (i, (u, position, m)) in mapped.iter().enumerate() {
            let unit = &units[*u];
            group.add(WriteBatch {
                run_id: run,
                unit: UnitRef {
                    connector: "erp",
                    key: &unit.key,
                    label: &unit.label,
                    fingerprint: None,
                    mapping_hash: &p.mappings.hash,
                },
                records: m.records.clone(),
                rejects: m.rejects.clone(),
                position: position.clone(),
                read: m.read,
                skipped: m.skipped,
                promote: true,
                resolves: Vec::new(),
            });
            if let Some(b) = group.take_due(i == last) {
                inserted += store.write_batch(b).await.unwrap().inserted;
                writes += 1;
            }
        }
        store_secs.push((t.elapsed().as_secs_f64(), writes));
        assert_eq!(inserted as usize, n);
    }
    let [(paged, paged_writes), (grouped, grouped_writes)] = store_secs[..] else {
        unreachable!()
    };

    let per = |secs: f64| format!("{:.1} µs", secs * 1e6 / n as f64);
    println!("{n} Sales Invoices, pages of 100 ({requests} requests), store {backend}");
    println!("| phase | time | per record | records/s |");
    println!("|---|---:|---:|---:|");
    for (phase, secs) in [
        (
            "read through the connector from the mock ERPNext (mock-bound)".to_owned(),
            read,
        ),
        (
            "mapping: built-in ERPNext mapping, canonical JSON, hash".to_owned(),
            map,
        ),
        (
            format!("store: one transaction per page with its cursor ({paged_writes} commits)"),
            paged,
        ),
        (
            format!("store: pages grouped as the engine writes them ({grouped_writes} commits)"),
            grouped,
        ),
    ] {
        println!(
            "| {phase} | {secs:.2} s | {} | {:.0} |",
            per(secs),
            n as f64 / secs
        );
    }
}
