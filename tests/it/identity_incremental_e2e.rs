//! Identity resolution after a sync costs what changed (issue 17): a sync that changed nothing
//! resolves nothing; a changed or closed record, an erasure, a decision, a renamed connector or
//! changed identity settings make the next one resolve — on both stores.

use kontor::config::Config;
use kontor::identity::resolve_changed;
use kontor::store::{DynStore, IdentityChanges};
use kontor::sync::{self, SyncOptions};
use kontor::testing::temp_store;
use std::path::Path;

both_backends!(
    a_sync_that_changed_nothing_resolves_nothing_and_every_change_resolves_again,
    a_resolution_that_read_before_an_erasure_does_not_record_its_inputs,
);

/// The demo's configuration; its WaWi customer export is a full list (a customer missing
/// from a newer file is closed). `identity`: more `[identity]` settings.
fn config(dir: &Path, identity: &str) -> Config {
    let demo = kontor::demo::config("http://127.0.0.1:9");
    let wawi = "mapping = \"mappings/wawi-kunden.toml\"\n";
    assert!(demo.contains(wawi));
    let demo = demo.replace(wawi, &format!("{wawi}mode = \"snapshot\"\n"));
    let section = "[identity]\n";
    assert!(demo.contains(section));
    let text = demo.replace(section, &format!("{section}{identity}"));
    Config::parse("kontor.toml", &text, dir.to_path_buf(), Vec::new())
        .unwrap_or_else(|d| panic!("{d:?}"))
}

/// Syncs the workspace's file connectors (the demo's REST source is left out: no server).
async fn sync_files(store: &DynStore, cfg: &Config) -> (u64, u64) {
    let (mut written, mut closed) = (0, 0);
    let opts = SyncOptions {
        node: "test".into(),
        ..Default::default()
    };
    for c in cfg.connectors.iter().filter(|c| c.kind != "rest") {
        let p = sync::prepare(cfg, c).unwrap_or_else(|d| panic!("{d:?}"));
        let r = sync::run(store, &p, &opts).await.unwrap();
        written += r.counts.inserted + r.counts.updated;
        closed += r.counts.closed;
    }
    (written, closed)
}

async fn resolves(store: &DynStore, cfg: &Config) -> bool {
    resolve_changed(store, cfg).await.unwrap().is_some()
}

/// The WaWi customer export with `f` applied to its lines (Windows-1252, as the demo writes it).
fn edit_customers(dir: &Path, f: impl Fn(Vec<String>) -> Vec<String>) {
    let path = dir.join("inbox/wawi/kunden.csv");
    let bytes = std::fs::read(&path).unwrap();
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&bytes);
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let out = f(lines).join("\r\n") + "\r\n";
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&out);
    std::fs::write(&path, bytes).unwrap();
}

async fn a_sync_that_changed_nothing_resolves_nothing_and_every_change_resolves_again(
    backend: &str,
) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    kontor::demo::write_workspace(dir.path()).unwrap();
    let cfg = config(dir.path(), "");

    let (written, _) = sync_files(&store, &cfg).await;
    assert!(written > 0);
    assert!(resolves(&store, &cfg).await, "the first resolution");
    assert!(!resolves(&store, &cfg).await, "nothing changed since");

    // The same files again: runs that write nothing.
    assert_eq!(sync_files(&store, &cfg).await, (0, 0));
    assert!(!resolves(&store, &cfg).await, "an unchanged re-sync");

    // A changed customer.
    edit_customers(dir.path(), |lines| {
        lines
            .into_iter()
            .map(|l| l.replace("sabine@mustermann.de", "s.mustermann@example.de"))
            .collect()
    });
    assert_eq!(sync_files(&store, &cfg).await.0, 1);
    assert!(resolves(&store, &cfg).await, "a changed record");
    assert!(!resolves(&store, &cfg).await);

    // A customer gone from the full export: its record is closed, nothing is written.
    edit_customers(dir.path(), |lines| {
        lines
            .into_iter()
            .filter(|l| !l.starts_with("00045;"))
            .collect()
    });
    let (written, closed) = sync_files(&store, &cfg).await;
    assert_eq!((written, closed), (0, 1));
    assert!(resolves(&store, &cfg).await, "a closed record");
    assert!(!resolves(&store, &cfg).await);

    // Other settings for identity (a new cross-reference file would be the same).
    let stricter = config(dir.path(), "suggest_threshold = 0.99\n");
    assert!(
        resolves(&store, &stricter).await,
        "changed identity settings"
    );
    assert!(!resolves(&store, &stricter).await);
    assert!(resolves(&store, &cfg).await, "and back");

    // An ops decision (recorded, then resolved by `kontor identity merge`/`split`).
    store.record_decisions(&[], &[]).await.unwrap();
    assert!(resolves(&store, &cfg).await, "a decision");
    assert!(!resolves(&store, &cfg).await);

    // An erasure rewrites and deletes records without a run.
    let any = store
        .records(Some("wawi-kunden"), Some("customer"), 1)
        .await
        .unwrap();
    let r = &any[0];
    store
        .replace_record(
            &r.connector,
            &r.entity,
            &r.external_id,
            "{}",
            "erased",
            None,
        )
        .await
        .unwrap();
    assert!(resolves(&store, &cfg).await, "an erased record");
    assert!(!resolves(&store, &cfg).await);
    let key = (r.connector.clone(), r.entity.clone(), r.external_id.clone());
    store.delete_records(&[key]).await.unwrap();
    assert!(resolves(&store, &cfg).await, "a deleted record");
    assert!(!resolves(&store, &cfg).await);

    // A connector renamed (`kontor connector rename`): its records move without a run.
    store
        .rename_connector("wawi-offene-posten", "wawi-op", "wawi", None)
        .await
        .unwrap();
    assert!(resolves(&store, &cfg).await, "a renamed connector");
}

/// An erasure (or decision, or renamed connector) while a resolution runs: the resolution read
/// the records before it, so the next sync must resolve again — its fingerprint is not kept.
async fn a_resolution_that_read_before_an_erasure_does_not_record_its_inputs(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let write = |snap: &kontor::store::IdentitySnapshot| IdentityChanges {
        generation: snap.generation,
        scan_to: snap.scan_to,
        noop: true,
        inputs: Some("fp".into()),
        inputs_epoch: snap.inputs_epoch,
        ..IdentityChanges::default()
    };
    let snap = store.identity_snapshot(false).await.unwrap();
    store.delete_records(&[]).await.unwrap();
    assert!(store.apply_identity(&write(&snap)).await.unwrap());
    assert!(
        !store.identity_unchanged("fp").await.unwrap(),
        "read before the erasure"
    );
    let snap = store.identity_snapshot(false).await.unwrap();
    assert!(store.apply_identity(&write(&snap)).await.unwrap());
    assert!(store.identity_unchanged("fp").await.unwrap());
    assert!(!store.identity_unchanged("other").await.unwrap());
}
