//! A sync whose future is dropped mid-file (a caller's timeout, a task aborted): each batch's
//! write runs on a task of its own while the next batch is mapped, and dropping the sync
//! aborts it with the caller. Nothing of the unfinished file is visible, and run again the
//! file loads whole and once, from the committed checkpoint.
//!
//! On PostgreSQL a write dropped in the middle of its `COPY` used to give its connection
//! back to the pool with a reply still unread, and the next `BEGIN` on it failed with
//! `BeginFailed` (1 run in 3 of this test with three drops): a write transaction cut off
//! now closes its connection (`store/postgres/write_tx.rs`).

use kontor::config::Config;
use kontor::store::DynStore;
use kontor::sync::{self, SyncOptions};
use kontor::testing::temp_store;
use std::time::Duration;

const ROWS: u64 = 40_000;

async fn rows_stored(store: &DynStore) -> u64 {
    store.count_records(Some("rechnungen")).await.unwrap()
}

both_backends!(a_dropped_sync_resumes_and_loads_every_row_once);

async fn a_dropped_sync_resumes_and_loads_every_row_once(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("rechnungen.csv");
    kontor::bench::write_invoice_export(&data, ROWS, None).unwrap();
    std::fs::create_dir_all(dir.path().join("mappings")).unwrap();
    std::fs::write(
        dir.path().join("mappings/rechnungen.toml"),
        kontor::bench::INVOICE_MAPPING,
    )
    .unwrap();
    let text = format!(
        "[store]\nurl = \"sqlite::memory:\"\n\n[[connector]]\nname = \"rechnungen\"\nkind = \"csv\"\n\
         path = \"{}\"\nmapping = \"mappings/rechnungen.toml\"\nmin_age_seconds = 0\nbatch_size = 500\n",
        data.display()
    );
    let cfg = Config::parse("kontor.toml", &text, dir.path().to_path_buf(), Vec::new())
        .unwrap_or_else(|d| panic!("{d:?}"));
    let p = sync::prepare(&cfg, &cfg.connectors[0]).unwrap_or_else(|d| panic!("{d:?}"));
    let opts = SyncOptions {
        node: "test".into(),
        ..Default::default()
    };
    // Dropped after a few batches, eight times over: each time some more of the file is
    // staged (or, on a slow machine, nothing yet), none of it visible; each drop cuts a
    // write somewhere else (on PostgreSQL, sometimes in its `COPY`).
    let mut dropped = 0;
    for wait in [30, 40, 50, 60, 70, 80, 90, 100] {
        match tokio::time::timeout(Duration::from_millis(wait), sync::run(&store, &p, &opts)).await
        {
            Err(_) => dropped += 1,
            Ok(r) => {
                r.unwrap();
                break;
            }
        }
        // Nothing of an unfinished file is visible, and nothing lands after the drop.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            rows_stored(&store).await,
            0,
            "{backend}: a dropped file's rows are visible"
        );
    }
    assert!(
        dropped > 0,
        "{backend}: 40 000 rows synced within 30 ms; the test dropped nothing"
    );
    // The run after: the rest of the file (or all of it again), every row once.
    let report = sync::run(&store, &p, &opts).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        rows_stored(&store).await,
        ROWS,
        "{backend}: {:?}",
        report.counts
    );
    assert_eq!(
        report.counts.inserted, ROWS,
        "{backend}: {:?}",
        report.counts
    );
    // And again: nothing to do.
    let again = sync::run(&store, &p, &opts).await.unwrap();
    assert_eq!(again.counts.inserted + again.counts.updated, 0);
    assert_eq!(rows_stored(&store).await, ROWS);
}
