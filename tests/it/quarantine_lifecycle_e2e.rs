//! The quarantine lifecycle (issue 20 item 4) on both stores: entries resolve themselves when
//! their record later loads cleanly or a newer snapshot supersedes their file; ops resolve
//! them by id, file or date with a reason; lists show open entries by default with counts.

use crate::common::nodes::{connectors_toml, run, workspace};
use kontor::config::Config;
use kontor::store::{DynStore, QuarantineFilter, QuarantineRow};
use kontor::sync::{self, RunReport, SyncOptions};
use kontor::testing::temp_store;
use std::path::Path;

both_backends!(
    entries_resolve_when_the_record_loads_or_a_newer_snapshot_comes,
    ops_resolve_by_id_file_and_date_and_lists_show_open_ones,
);

const HEADER: &str =
    "Belegnr;Belegart;Kundennr;Belegdatum;Fällig am;Netto;MwSt;Brutto;Offen;Währung;Bezug\n";

/// Good invoices `good`, and rows with a broken amount for `bad`.
fn op_file(path: &Path, good: std::ops::Range<u32>, bad: &[u32]) {
    let mut text = HEADER.to_owned();
    for n in good {
        text.push_str(&format!(
            "RE-{n};RE;00042;01.09.2026;01.10.2026;100,00;19,00;119,00;119,00;EUR;\n"
        ));
    }
    for n in bad {
        text.push_str(&format!(
            "RE-{n};RE;00042;01.09.2026;01.10.2026;100,00;19,00;kaputt;119,00;EUR;\n"
        ));
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

async fn sync_with(store: &DynStore, dir: &Path, name: &str, extra: &str) -> RunReport {
    let text = format!(
        "[[connector]]\nname = \"{name}\"\nkind = \"csv\"\npath = \"{name}/*.csv\"\n\
         mapping = \"{}/mappings/wawi-offene-posten.toml\"\nmin_age_seconds = 0\n{extra}",
        env!("CARGO_MANIFEST_DIR")
    );
    let cfg = Config::parse("kontor.toml", &text, dir.to_path_buf(), Vec::new()).unwrap();
    let p = sync::prepare(&cfg, cfg.connector(name).unwrap()).unwrap();
    let opts = SyncOptions {
        node: "test".into(),
        ..Default::default()
    };
    sync::run(store, &p, &opts).await.unwrap()
}

async fn entries(store: &DynStore, connector: &str) -> Vec<QuarantineRow> {
    store
        .quarantine(&QuarantineFilter {
            connector: Some(connector.into()),
            all: true,
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn entries_resolve_when_the_record_loads_or_a_newer_snapshot_comes(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();

    // Incremental: RE-11 is broken on day 1 and corrected on day 2.
    op_file(&dir.join("inc/OP_2026-12-01.csv"), 1..11, &[11]);
    let r = sync_with(&store, dir, "inc", "mode = \"incremental\"\n").await;
    assert_eq!(r.counts.quarantined, 1, "{r:?}");
    let q = entries(&store, "inc").await;
    assert_eq!(
        (
            q[0].status.as_str(),
            q[0].entity.as_deref(),
            q[0].record_key.as_deref()
        ),
        ("open", Some("invoice"), Some("RE-11")),
        "{q:?}"
    );
    op_file(&dir.join("inc/OP_2026-12-02.csv"), 1..12, &[]);
    let r = sync_with(&store, dir, "inc", "mode = \"incremental\"\n").await;
    let q = entries(&store, "inc").await;
    assert_eq!(q.len(), 1);
    assert_eq!(
        (
            q[0].status.as_str(),
            q[0].resolved_reason.as_deref(),
            q[0].resolved_by.as_deref(),
            q[0].resolved_run_id
        ),
        (
            "resolved",
            Some("loaded later"),
            Some("sync"),
            Some(r.run_id)
        ),
        "{q:?}"
    );
    assert!(q[0].resolved_at.is_some());

    // Snapshot (open items, no `mode`): the broken rows of day 1 are superseded by day 2's
    // file, although their invoices do not come back (they were paid).
    op_file(&dir.join("snap/OP_2026-12-01.csv"), 1..11, &[12]);
    let r = sync_with(&store, dir, "snap", "").await;
    assert_eq!(r.counts.quarantined, 1, "{r:?}");
    op_file(&dir.join("snap/OP_2026-12-02.csv"), 1..11, &[]);
    let r = sync_with(&store, dir, "snap", "").await;
    assert!(r.errors.is_empty(), "{r:?}");
    let q = entries(&store, "snap").await;
    assert_eq!(
        (q[0].status.as_str(), q[0].resolved_reason.as_deref()),
        ("resolved", Some("superseded by snap/OP_2026-12-02.csv")),
        "{q:?}"
    );
    // A newer file with a broken row keeps that one open.
    op_file(&dir.join("snap/OP_2026-12-03.csv"), 1..11, &[13]);
    sync_with(&store, dir, "snap", "").await;
    let open: Vec<String> = entries(&store, "snap")
        .await
        .into_iter()
        .filter(|e| e.status == "open")
        .filter_map(|e| e.record_key)
        .collect();
    assert_eq!(open, ["RE-13"]);
}

async fn ops_resolve_by_id_file_and_date_and_lists_show_open_ones(backend: &str) {
    let (_store, guard) = temp_store(backend).await.unwrap();
    const OP: &str = "wawi-offene-posten";
    let ws = workspace(
        guard.url(),
        &connectors_toml(&[OP], "mode = \"incremental\""),
    );
    let dir = ws.path();
    let inbox = dir.join("inbox").join(OP);
    std::fs::remove_file(inbox.join("offene_posten.csv")).unwrap();
    op_file(&inbox.join("a.csv"), 1..31, &[101, 102, 103]);
    op_file(&inbox.join("b.csv"), 31..61, &[104, 105]);
    let (code, out, err) = run(dir, &["sync", OP]);
    assert_eq!(code, 3, "rows quarantined: {out}{err}");
    // `kontor check` names the mode in force per entity, and why.
    let (_, out, _) = run(dir, &["check"]);
    assert!(
        out.lines().any(|l| l
            == format!("mode: {OP} invoice incremental — `mode = \"incremental\"` in kontor.toml: records missing from a later file stay open")),
        "{out}"
    );

    let (code, out, err) = run(dir, &["quarantine", "list"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 5, "{out}");
    assert!(err.contains("5 of 5 open rows shown"), "{err}");
    let (_, out, err) = run(dir, &["quarantine", "list", "--limit", "2"]);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(err.contains("2 of 5 open rows shown"), "{err}");

    // By id, with a reason.
    let (_, out, _) = run(dir, &["quarantine", "list", "--json"]);
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["status"], "open");
    assert_eq!(first["record_key"], "RE-101");
    assert!(first["resolved_at"].is_null() && first["reason"].is_string());
    let id = first["id"].as_i64().unwrap().to_string();
    let (code, out, err) = run(
        dir,
        &[
            "quarantine",
            "resolve",
            &id,
            "--reason",
            "storniert in der WaWi",
        ],
    );
    assert_eq!((code, out.trim()), (0, "1 resolved"), "{err}");
    let (_, _, err) = run(dir, &["quarantine", "list"]);
    assert!(
        err.contains("4 of 4 open rows shown") && err.contains("1 resolved"),
        "{err}"
    );

    // By file (its name is enough), then everything before a moment.
    let (code, out, err) = run(
        dir,
        &[
            "quarantine",
            "resolve",
            "--file",
            "b.csv",
            "--reason",
            "neu exportiert",
        ],
    );
    assert_eq!((code, out.trim()), (0, "2 resolved"), "{err}");
    let later = (chrono::Utc::now() + chrono::TimeDelta::minutes(1)).to_rfc3339();
    let (code, out, err) = run(
        dir,
        &[
            "quarantine",
            "resolve",
            "--before",
            &later,
            "--reason",
            "Altlasten",
        ],
    );
    assert_eq!((code, out.trim()), (0, "2 resolved"), "{err}");
    let (code, _, err) = run(
        dir,
        &[
            "quarantine",
            "resolve",
            "--before",
            "2020-01-01",
            "--reason",
            "x",
        ],
    );
    assert_eq!(code, 1, "nothing matched: {err}");
    let (code, _, err) = run(dir, &["quarantine", "resolve", "--reason", "x"]);
    assert_ne!(code, 0);
    assert!(err.contains("say which rows"), "{err}");

    // Open by default: none left; the resolved ones on request, with why and by whom.
    let (_, out, err) = run(dir, &["quarantine", "list"]);
    assert_eq!(out, "");
    assert!(err.contains("no open rows; 5 resolved"), "{err}");
    let (_, out, err) = run(dir, &["quarantine", "list", "--resolved", "--json"]);
    assert!(err.contains("5 of 5 resolved rows shown"), "{err}");
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let reasons: Vec<&str> = rows
        .iter()
        .map(|r| r["resolved_reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "storniert in der WaWi",
            "Altlasten",
            "Altlasten",
            "neu exportiert",
            "neu exportiert"
        ]
    );
    assert!(rows.iter().all(|r| r["status"] == "resolved"
        && r["resolved_by"].is_string()
        && r["resolved_at"].is_string()));
    let (_, out, _) = run(dir, &["quarantine", "list", "--all"]);
    assert_eq!(out.lines().count(), 5, "{out}");
}
