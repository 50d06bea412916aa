//! Snapshot semantics that cannot be missed (issue 20 item 1): an open-items export is a
//! snapshot without `mode`, several files of one sync are applied oldest first and only the
//! newest counts, a mode change takes effect on the next sync, and a DATEV Buchungsstapel
//! in snapshot mode closes (and guards) what its stream delivers. Both stores.

use kontor::config::Config;
use kontor::store::{DynStore, RunStatus};
use kontor::sync::{self, RunReport, SyncOptions};
use kontor::testing::temp_store;
use std::path::Path;

both_backends!(
    paid_invoice_leaves_the_open_items_without_a_mode_key,
    files_of_one_sync_apply_oldest_first_and_the_newest_counts,
    a_mode_change_takes_effect_on_the_next_sync,
    datev_buchungsstapel_snapshot_closes_and_is_guarded,
);

const OP_HEADER: &str =
    "Belegnr;Belegart;Kundennr;Belegdatum;Fällig am;Netto;MwSt;Brutto;Offen;Währung;Bezug\n";

fn repo() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

/// An open-items export with invoices `RE-n` of customer 00042, due on 01.10.2026.
fn op_file(dir: &Path, name: &str, invoices: &[u32]) {
    let mut text = OP_HEADER.to_owned();
    for n in invoices {
        text.push_str(&format!(
            "RE-{n};RE;00042;01.09.2026;01.10.2026;100,00;19,00;119,00;119,00;EUR;\n"
        ));
    }
    std::fs::write(dir.join("inbox").join(name), text).unwrap();
}

fn config(dir: &Path, extra: &str) -> Config {
    let text = format!(
        "[[connector]]\nname = \"kunden\"\nkind = \"csv\"\nsystem = \"wawi\"\npath = \"kunden.csv\"\n\
         mapping = \"{r}/mappings/wawi-kunden.toml\"\nmin_age_seconds = 0\n\n\
         [[connector]]\nname = \"op\"\nkind = \"csv\"\nsystem = \"wawi\"\npath = \"inbox/*.csv\"\n\
         mapping = \"{r}/mappings/wawi-offene-posten.toml\"\nmin_age_seconds = 0\n{extra}",
        r = repo()
    );
    Config::parse("kontor.toml", &text, dir.to_path_buf(), Vec::new())
        .unwrap_or_else(|d| panic!("{d:?}"))
}

async fn sync_one(store: &DynStore, cfg: &Config, name: &str, force: bool) -> RunReport {
    let p = sync::prepare(cfg, cfg.connector(name).unwrap()).unwrap_or_else(|d| panic!("{d:?}"));
    let opts = SyncOptions {
        node: "test".into(),
        force,
        ..Default::default()
    };
    sync::run(store, &p, &opts).await.unwrap()
}

async fn open_ids(store: &DynStore, connector: &str, entity: &str) -> Vec<String> {
    let mut v: Vec<String> = store
        .records(Some(connector), Some(entity), 0)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.closed_at.is_none())
        .map(|r| r.external_id)
        .collect();
    v.sort();
    v
}

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("inbox")).unwrap();
    std::fs::copy(
        format!("{}/tests/fixtures/wawi/kunden.csv", repo()),
        dir.path().join("kunden.csv"),
    )
    .unwrap();
    dir
}

async fn paid_invoice_leaves_the_open_items_without_a_mode_key(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let dir = workspace();
    let cfg = config(dir.path(), "");
    let p = sync::prepare(&cfg, cfg.connector("op").unwrap()).unwrap();
    let modes: Vec<(String, bool)> = p
        .modes
        .iter()
        .map(|m| (m.entity.to_string(), m.snapshot))
        .collect();
    assert_eq!(
        modes,
        [("invoice".into(), true), ("credit_note".into(), true)],
        "the open-items mapping maps open_amount for invoices and credit notes"
    );
    assert!(p.modes[0].why.contains("open_amount"), "{:?}", p.modes);
    let r = sync_one(&store, &cfg, "kunden", false).await;
    assert!(r.errors.is_empty(), "{r:?}");

    op_file(dir.path(), "OP_2026-12-01.csv", &[1, 2, 3]);
    let r = sync_one(&store, &cfg, "op", false).await;
    assert_eq!(
        (r.status, r.counts.inserted, r.counts.closed),
        (RunStatus::Ok, 3, 0),
        "{r:?}"
    );
    // Day 2: RE-1 was paid. Yesterday's file stays in the inbox.
    op_file(dir.path(), "OP_2026-12-02.csv", &[2, 3]);
    let r = sync_one(&store, &cfg, "op", false).await;
    assert_eq!(
        (r.status, r.counts.read, r.counts.closed),
        (RunStatus::Ok, 2, 1),
        "only the newest file is read, RE-1 left it: {r:?}"
    );
    assert_eq!(open_ids(&store, "op", "invoice").await, ["RE-2", "RE-3"]);

    // The merged view: RE-1 is neither open nor overdue.
    kontor::identity::resolve_store(&store, &cfg).await.unwrap();
    let keys = store.customer_keys().await.unwrap();
    let id = keys
        .iter()
        .find(|k| k.key.customer_no == "00042")
        .unwrap()
        .customer_id;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    let view = kontor::view::customer_view(&store, &Default::default(), id, today)
        .await
        .unwrap()
        .unwrap();
    let numbers: Vec<&str> = view
        .open_items
        .invoices
        .iter()
        .map(|i| i.number.as_str())
        .collect();
    assert_eq!(numbers, ["RE-2", "RE-3"]);
    assert_eq!(view.open_items.overdue_count, 2);

    // Nothing new: nothing read, nothing closed (no re-reads of old files).
    let r = sync_one(&store, &cfg, "op", false).await;
    assert_eq!((r.counts.read, r.counts.closed), (0, 0), "{r:?}");
}

async fn files_of_one_sync_apply_oldest_first_and_the_newest_counts(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let dir = workspace();
    let cfg = config(dir.path(), "");
    // Three days in one drop, written in the wrong order (the newest file is the oldest on
    // disk): the date in the name decides.
    op_file(dir.path(), "op 03.12.2026.csv", &[3, 4]);
    op_file(dir.path(), "OP_20261201.csv", &[1, 2, 3]);
    op_file(dir.path(), "OP_2026-12-02.csv", &[2, 3]);
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
    std::fs::File::options()
        .write(true)
        .open(dir.path().join("inbox/op 03.12.2026.csv"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let r = sync_one(&store, &cfg, "op", false).await;
    assert_eq!(
        (
            r.status,
            r.counts.inserted,
            r.counts.closed,
            r.units_skipped
        ),
        (RunStatus::Ok, 2, 0, 2),
        "{r:?}"
    );
    assert_eq!(open_ids(&store, "op", "invoice").await, ["RE-3", "RE-4"]);

    // A file older than the snapshot applied arrives late: passed over, with a warning.
    for f in ["op 03.12.2026.csv", "OP_20261201.csv", "OP_2026-12-02.csv"] {
        std::fs::remove_file(dir.path().join("inbox").join(f)).unwrap();
    }
    op_file(dir.path(), "OP_2026-11-30.csv", &[1]);
    let r = sync_one(&store, &cfg, "op", false).await;
    assert_eq!((r.counts.read, r.counts.closed), (0, 0), "{r:?}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("OP_2026-11-30.csv") && w.contains("older than the snapshot")),
        "{r:?}"
    );
    assert_eq!(open_ids(&store, "op", "invoice").await, ["RE-3", "RE-4"]);
}

async fn a_mode_change_takes_effect_on_the_next_sync(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let dir = workspace();
    let incremental = config(dir.path(), "mode = \"incremental\"\n");
    op_file(dir.path(), "OP_2026-12-01.csv", &[1, 2, 3]);
    sync_one(&store, &incremental, "op", false).await;
    op_file(dir.path(), "OP_2026-12-02.csv", &[2, 3]);
    let r = sync_one(&store, &incremental, "op", false).await;
    assert_eq!(r.counts.closed, 0, "{r:?}");
    assert_eq!(open_ids(&store, "op", "invoice").await.len(), 3);

    // The override removed: the next sync closes RE-1, no --reprocess.
    let default = config(dir.path(), "");
    let r = sync_one(&store, &default, "op", false).await;
    assert_eq!(
        (r.status, r.counts.read, r.counts.closed),
        (RunStatus::Ok, 2, 1),
        "{r:?}"
    );
    assert_eq!(open_ids(&store, "op", "invoice").await, ["RE-2", "RE-3"]);
    // Reprocessing re-reads only the newest file: nothing really left, nothing closed.
    let p = sync::prepare(&default, default.connector("op").unwrap()).unwrap();
    let opts = SyncOptions {
        node: "test".into(),
        reprocess: true,
        ..Default::default()
    };
    let r = sync::run(&store, &p, &opts).await.unwrap();
    assert_eq!(
        (r.counts.read, r.counts.unchanged, r.counts.closed),
        (2, 2, 0),
        "{r:?}"
    );
}

/// A DATEV Buchungsstapel with `n` invoice postings (debtor debit against revenue), made
/// from the shipped sample's header and row shape.
fn buchungsstapel(dir: &Path, n: u32) {
    let sample = std::fs::read(format!(
        "{}/tests/fixtures/datev/EXTF_Buchungsstapel.csv",
        repo()
    ))
    .unwrap();
    let mut lines = sample.split(|b| *b == b'\n');
    let mut out = Vec::new();
    for _ in 0..2 {
        out.extend_from_slice(lines.next().unwrap());
        out.push(b'\n');
    }
    let row = String::from_utf8_lossy(lines.next().unwrap()).into_owned();
    let fields: Vec<&str> = row.trim_end().split(';').collect();
    for i in 0..n {
        let mut f: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        f[0] = "119,00".into();
        f[1] = "\"S\"".into();
        f[6] = format!("{}", 10000 + i % 400);
        f[7] = "8400".into();
        f[9] = "0112".into();
        f[10] = format!("\"RE{i:05}\"");
        f[13] = "\"Rechnung\"".into();
        out.extend_from_slice(f.join(";").as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    std::fs::write(dir.join("inbox/EXTF_Buchungsstapel.csv"), out).unwrap();
}

async fn datev_buchungsstapel_snapshot_closes_and_is_guarded(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let dir = workspace();
    let text = format!(
        "[[connector]]\nname = \"datev\"\nkind = \"csv\"\npath = \"inbox/EXTF_Buchungsstapel.csv\"\n\
         mapping = \"{}/mappings/datev-buchungsstapel.toml\"\nmin_age_seconds = 0\nmode = \"snapshot\"\n",
        repo()
    );
    let cfg = Config::parse("kontor.toml", &text, dir.path().to_path_buf(), Vec::new()).unwrap();
    buchungsstapel(dir.path(), 3000);
    let r = sync_one(&store, &cfg, "datev", false).await;
    assert_eq!(
        (r.status, r.counts.inserted, r.counts.closed),
        (RunStatus::Ok, 3000, 0),
        "{r:?}"
    );
    buchungsstapel(dir.path(), 2000);
    let r = sync_one(&store, &cfg, "datev", false).await;
    assert_eq!(
        (r.status, r.counts.unchanged, r.counts.closed),
        (RunStatus::Ok, 2000, 1000),
        "the stream's entities are closed: {r:?}"
    );
    assert_eq!(open_ids(&store, "datev", "invoice").await.len(), 2000);
    buchungsstapel(dir.path(), 100);
    let r = sync_one(&store, &cfg, "datev", false).await;
    assert_eq!(r.status, RunStatus::Failed, "{r:?}");
    assert!(
        r.errors[0].contains("snapshot refused") && r.errors[0].contains("2000 open now"),
        "{:?}",
        r.errors
    );
    assert_eq!(open_ids(&store, "datev", "invoice").await.len(), 2000);
}
