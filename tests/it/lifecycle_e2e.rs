//! Connector lifecycle (issue 23, drill 2) on both stores, through the CLI as ops use it:
//! `wawi-lager` renamed to `lager` carries its records, checkpoints, runs and quarantine
//! (stock is not doubled, files are not read again); a connector renamed without telling the
//! store is found by `kontor check` and retired — its records closed and kept.

use crate::common::nodes::{connectors_toml, run, workspace, write_config};
use kontor::store::{DynStore, QuarantineFilter};
use rust_decimal::Decimal;
use std::path::Path;

const LAGER: &[&str] = &["wawi-kunden", "wawi-lager"];

async fn on_hand(store: &DynStore, sku: &str) -> Decimal {
    let stock = store
        .records_by_ref(&["stock"], &[sku.to_owned()])
        .await
        .unwrap();
    let refs: Vec<&kontor::store::StoredRecord> = stock.iter().collect();
    kontor::view::availability(sku, &refs)
        .map(|a| a.on_hand)
        .unwrap_or_default()
}

/// A workspace synced once, with one broken stock row in quarantine; then its config names
/// the stock connector `lager`.
async fn synced_then_renamed(
    backend: &str,
) -> (tempfile::TempDir, DynStore, kontor::testing::TempGuard) {
    let (store, guard) = kontor::testing::temp_store(backend).await.unwrap();
    let url = guard.url().to_owned();
    let dir = workspace(&url, &connectors_toml(LAGER, "max_reject_ratio = 0.5"));
    let file = dir.path().join("inbox/wawi-lager/lagerbestand.csv");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.extend_from_slice(b"0817-C;Kaputt;HAUPT;viele;0;Stk;\n");
    std::fs::write(&file, bytes).unwrap();
    let (code, out, err) = run(dir.path(), &["sync", "--all"]);
    assert_eq!(code, 3, "{out}{err}");
    assert_eq!(on_hand(&store, "0815-A").await, Decimal::from(120));
    let renamed = connectors_toml(LAGER, "max_reject_ratio = 0.5").replace(
        "name = \"wawi-lager\"\nkind = \"csv\"\nsystem = \"wawi\"\npath = \"inbox/wawi-lager\"",
        "name = \"lager\"\nkind = \"csv\"\nsystem = \"wawi\"\npath = \"inbox/wawi-lager\"",
    );
    assert!(renamed.contains("name = \"lager\""));
    write_config(dir.path(), "kontor.toml", &url, "", &renamed);
    (dir, store, guard)
}

fn check_warns(dir: &Path) -> String {
    let (code, out, err) = run(dir, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    out
}

async fn a_renamed_connector_carries_its_records(backend: &str) {
    let (dir, store, _guard) = synced_then_renamed(backend).await;
    let dir = dir.path();
    let warned = check_warns(dir);
    assert!(
        warned.contains("open record(s) of connector `wawi-lager`, which is not configured")
            && warned.contains("kontor connector rename wawi-lager NEW")
            && warned.contains("this configuration differs from the cluster's")
            && warned.contains(
                "connector `wawi-lager` is in the cluster's configuration but not configured here"
            ),
        "{warned}"
    );
    // The configuration changed: the cluster's has `wawi-lager`; say so, change nothing.
    let (code, _, err) = run(dir, &["connector", "rename", "wawi-lager", "lager"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("connector `lager` is configured here"),
        "{err}"
    );
    assert_eq!(store.count_records(Some("wawi-lager")).await.unwrap(), 5);
    let (code, out, err) = run(
        dir,
        &[
            "connector",
            "rename",
            "wawi-lager",
            "lager",
            "--take-over-config",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("renamed wawi-lager → lager: records=5 checkpoints=1 runs=1 quarantine=1"),
        "{out}"
    );
    assert_eq!(store.count_records(Some("wawi-lager")).await.unwrap(), 0);
    assert_eq!(store.count_records(Some("lager")).await.unwrap(), 5);
    // Its file is known under the new name: the next run reads nothing, stock is not doubled.
    let (code, out, err) = run(dir, &["sync", "lager"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("read=0 inserted=0"), "{out}");
    assert_eq!(on_hand(&store, "0815-A").await, Decimal::from(120));
    let q = store
        .quarantine(&QuarantineFilter {
            connector: Some("lager".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(store.runs(Some("lager"), 10).await.unwrap().len(), 2);
    let (_, list, _) = run(dir, &["connector", "list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("wawi-lager") && l.contains("renamed to lager")),
        "{list}"
    );
    assert!(
        !check_warns(dir).contains("not configured"),
        "{}",
        check_warns(dir)
    );
}

async fn a_removed_connector_is_retired_and_kept_for_history(backend: &str) {
    let (dir, store, _guard) = synced_then_renamed(backend).await;
    let dir = dir.path();
    // What ops did in the drill: the renamed connector synced as a new one.
    let (code, out, err) = run(dir, &["sync", "--all", "--take-over-config"]);
    assert_eq!(code, 3, "{out}{err}");
    assert_eq!(on_hand(&store, "0815-A").await, Decimal::from(240));
    let warned = check_warns(dir);
    assert!(
        warned.contains("5 open record(s) of connector `wawi-lager`")
            && warned.contains("kontor connector retire wawi-lager"),
        "{warned}"
    );
    // Both hold the same data now: a rename would double it; retire the old one.
    let (code, _, err) = run(dir, &["connector", "rename", "wawi-lager", "lager"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("kontor connector retire wawi-lager"), "{err}");
    let (code, _, err) = run(dir, &["connector", "retire", "lager"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("remove it there"), "{err}");
    let (code, out, err) = run(
        dir,
        &["connector", "retire", "wawi-lager", "--note", "now `lager`"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("retired wawi-lager: records_closed=5 quarantine_closed=1"),
        "{out}"
    );
    assert_eq!(on_hand(&store, "0815-A").await, Decimal::from(120));
    // Kept for history, closed.
    let old = store.records(Some("wawi-lager"), None, 0).await.unwrap();
    assert_eq!(old.len(), 5);
    assert!(old.iter().all(|r| r.closed_at.is_some()), "{old:?}");
    let (_, list, _) = run(dir, &["connector", "list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("wawi-lager") && l.contains("retired")),
        "{list}"
    );
    assert!(!check_warns(dir).contains("wawi-lager"));
    // The customers are untouched.
    assert!(store.customer_keys().await.unwrap().len() >= 5);
}

/// A connector whose customer numbers are its own system (no `system =`): the numbers move
/// to the new name with their customer ids.
async fn a_renamed_connector_keeps_its_customers(backend: &str) {
    let (store, guard) = kontor::testing::temp_store(backend).await.unwrap();
    let own = |name: &str| {
        connectors_toml(&["wawi-kunden"], "")
            .replace("system = \"wawi\"\n", "")
            .replace("name = \"wawi-kunden\"", &format!("name = \"{name}\""))
    };
    let dir = workspace(guard.url(), &own("wawi-kunden"));
    let (code, out, err) = run(dir.path(), &["sync", "--all"]);
    assert_eq!(code, 0, "{out}{err}");
    let before = store.customer_keys().await.unwrap();
    assert!(
        before.iter().all(|k| k.key.system == "wawi-kunden"),
        "{before:?}"
    );
    write_config(dir.path(), "kontor.toml", guard.url(), "", &own("kunden"));
    let (code, out, err) = run(
        dir.path(),
        &[
            "connector",
            "rename",
            "wawi-kunden",
            "kunden",
            "--take-over-config",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("customer_numbers=7 (system wawi-kunden → kunden)"),
        "{out}"
    );
    let after = store.customer_keys().await.unwrap();
    let ids = |keys: &[kontor::store::KeyRow]| -> Vec<(String, i64)> {
        keys.iter()
            .map(|k| (k.key.customer_no.clone(), k.customer_id))
            .collect()
    };
    assert!(after.iter().all(|k| k.key.system == "kunden"), "{after:?}");
    assert_eq!(ids(&after), ids(&before));
    let (code, out, _) = run(dir.path(), &["sync", "kunden"]);
    assert_eq!(code, 0);
    assert!(out.contains("read=0"), "{out}");
    assert_eq!(ids(&store.customer_keys().await.unwrap()), ids(&before));
}

both_backends!(
    a_renamed_connector_carries_its_records,
    a_removed_connector_is_retired_and_kept_for_history,
    a_renamed_connector_keeps_its_customers
);
