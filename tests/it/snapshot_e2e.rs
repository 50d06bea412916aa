//! Snapshot sources (`mode = "snapshot"`): every export is the full list; records missing from
//! a new snapshot are closed (never deleted) in the same transaction, and a snapshot much
//! smaller than what is open (a truncated export) is refused unless forced. Both stores.

use kontor::config::Config;
use kontor::store::{DynStore, RunStatus};
use kontor::sync::{self, RunReport, SyncOptions};
use kontor::testing::temp_store;
use std::path::Path;

both_backends!(vanished_orders_are_closed_and_a_truncated_snapshot_is_refused);

const HEADER: &str = "Auftragsnr;Auftragsdatum;Kundennr;Bestellnr. Kunde;Pos;Artikelnr;Bezeichnung;Menge;Geliefert;Einheit;Liefertermin\n";

/// An open-orders export with orders `from..to`, one line each.
fn export(dir: &Path, orders: std::ops::Range<u32>) {
    let mut text = HEADER.to_owned();
    for n in orders {
        text.push_str(&format!(
            "AB-{n};01.11.2026;{:05};;1;0815-A;Spannzange;{};0;Stk;15.12.2026\n",
            40 + n % 5,
            n % 7 + 1
        ));
    }
    std::fs::write(dir.join("inbox/offene_auftraege.csv"), text).unwrap();
}

async fn run(store: &DynStore, dir: &Path, force: bool) -> RunReport {
    let text = format!(
        "[[connector]]\nname = \"auftraege\"\nkind = \"csv\"\npath = \"inbox/offene_auftraege.csv\"\n\
         mapping = \"{}/mappings/wawi-auftraege.toml\"\nmin_age_seconds = 0\nmode = \"snapshot\"\n",
        env!("CARGO_MANIFEST_DIR")
    );
    let cfg = Config::parse("kontor.toml", &text, dir.to_path_buf(), Vec::new())
        .unwrap_or_else(|d| panic!("{d:?}"));
    let p = sync::prepare(&cfg, cfg.connector("auftraege").unwrap())
        .unwrap_or_else(|d| panic!("{d:?}"));
    let opts = SyncOptions {
        node: "test".into(),
        force,
        ..Default::default()
    };
    sync::run(store, &p, &opts).await.unwrap()
}

async fn open_orders(store: &DynStore) -> Vec<String> {
    let mut v: Vec<String> = store
        .records(Some("auftraege"), Some("order"), 0)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.closed_at.is_none())
        .map(|r| r.external_id)
        .collect();
    v.sort();
    v
}

async fn vanished_orders_are_closed_and_a_truncated_snapshot_is_refused(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("inbox")).unwrap();

    export(dir.path(), 0..10);
    let r = run(&store, dir.path(), false).await;
    assert_eq!(
        (r.status, r.counts.inserted, r.counts.closed),
        (RunStatus::Ok, 20, 0),
        "{r:?}"
    );
    assert_eq!(open_orders(&store).await.len(), 10);

    // Orders 0 and 1 were delivered: they are missing from the next export.
    export(dir.path(), 2..10);
    let r = run(&store, dir.path(), false).await;
    assert_eq!(r.status, RunStatus::Ok, "{r:?}");
    assert_eq!(r.counts.closed, 4, "2 orders with their lines: {r:?}");
    assert_eq!(
        open_orders(&store).await,
        (2..10).map(|n| format!("AB-{n}")).collect::<Vec<_>>()
    );
    let gone = store
        .record("auftraege", "order", "AB-0")
        .await
        .unwrap()
        .unwrap();
    assert!(gone.closed_at.is_some(), "closed, not deleted");
    assert_eq!(store.count_records(Some("auftraege")).await.unwrap(), 20);

    // A truncated export (3 of 8 open orders) changes nothing.
    export(dir.path(), 2..5);
    let r = run(&store, dir.path(), false).await;
    assert_eq!(r.status, RunStatus::Failed, "{r:?}");
    assert!(
        r.errors[0].contains("snapshot refused") && r.errors[0].contains("--force"),
        "{:?}",
        r.errors
    );
    assert_eq!(open_orders(&store).await.len(), 8);
    // Unchanged and refused: the next run leaves it alone …
    let r = run(&store, dir.path(), false).await;
    assert_eq!((r.status, r.counts.closed), (RunStatus::Ok, 0), "{r:?}");
    assert_eq!(open_orders(&store).await.len(), 8);
    // … unless forced.
    let r = run(&store, dir.path(), true).await;
    assert_eq!((r.status, r.counts.closed), (RunStatus::Ok, 10), "{r:?}");
    assert_eq!(open_orders(&store).await, ["AB-2", "AB-3", "AB-4"]);

    // An order that comes back is open again.
    export(dir.path(), 0..5);
    let r = run(&store, dir.path(), false).await;
    assert_eq!(r.status, RunStatus::Ok, "{r:?}");
    assert_eq!(open_orders(&store).await.len(), 5);
    assert!(
        store
            .record("auftraege", "order", "AB-0")
            .await
            .unwrap()
            .unwrap()
            .closed_at
            .is_none()
    );
}
