//! Data protection at import: source columns on the deny-list (birthday, …) are dropped before
//! anything is stored — not in records, not in quarantine, not in any file of the store.

use kontor::config::Config;
use kontor::sync::{self, SyncOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_columns_never_reach_the_store() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("inbox")).unwrap();
    // Two good rows and one the mapping rejects (kind `Fax`): all carry a birthday.
    std::fs::write(
        dir.path().join("inbox/kontakte.csv"),
        "Kontakt-ID;Kundennr;Art;Richtung;Datum;Uhrzeit;Betreff;Notiz;Team;Geburtstag Ansprechpartner;Hobbys\n\
         K-1;00042;Anruf;eingehend;24.11.2026;09:15;Termin;Rückfrage;vertrieb-nord;17.05.1970;Segeln auf dem Baldeneysee\n\
         K-2;00042;Besuch;;27.11.2026;14:00;Besuch;Fräser;vertrieb-nord;17.05.1970;Segeln auf dem Baldeneysee\n\
         K-3;00043;Fax;;28.11.2026;;Bestellung;per Fax;service;03.02.1981;Modelleisenbahn Spur H0\n",
    )
    .unwrap();
    let db = dir.path().join("k.db");
    let url = format!("sqlite://{}", db.display());
    let text = format!(
        "[store]\nurl = \"{url}\"\n[[connector]]\nname = \"kontakte\"\nkind = \"csv\"\npath = \"inbox/kontakte.csv\"\n\
         mapping = \"{}/mappings/wawi-kontakte.toml\"\nmin_age_seconds = 0\nmax_reject_ratio = 0.5\n",
        env!("CARGO_MANIFEST_DIR")
    );
    let cfg = Config::parse("kontor.toml", &text, dir.path().to_path_buf(), Vec::new()).unwrap();
    let store = kontor::store::open(&url).await.unwrap();
    let p = sync::prepare(&cfg, cfg.connector("kontakte").unwrap()).unwrap();
    let r = sync::run(
        &store,
        &p,
        &SyncOptions {
            node: "t".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((r.counts.inserted, r.counts.quarantined), (2, 1), "{r:?}");
    let q = store.quarantine(&Default::default()).await.unwrap();
    assert_eq!(q.len(), 1);
    assert!(
        q[0].raw.contains("K-3") && q[0].raw.contains("per Fax"),
        "the rest of the row is kept: {}",
        q[0].raw
    );
    drop(store);
    // Every byte the store wrote: database, WAL, staging file.
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with("k.db") && entry.path().is_file() {
            bytes.extend(std::fs::read(entry.path()).unwrap());
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("Rückfrage"), "the scan sees stored text");
    for secret in ["17.05.1970", "03.02.1981", "Baldeneysee", "Modelleisenbahn"] {
        assert!(!text.contains(secret), "`{secret}` was stored");
    }
}

#[test]
fn a_mapping_that_targets_a_denied_field_fails_the_check() {
    let text = "[[target]]\nentity = \"contact_person\"\n[target.fields]\ncustomer_no = \"Kundennr\"\nname = \"Name\"\n\"extra.geburtstag\" = \"Geburtstag\"\n";
    let err =
        kontor::mapping::Mapping::from_text("m", "m.toml", text, kontor::registry::builtin_mapping)
            .unwrap_err();
    assert!(err[0].to_string().contains("deny-list"), "{err:?}");
    assert!(err[0].to_string().starts_with("m.toml:6:"), "{err:?}");
}
