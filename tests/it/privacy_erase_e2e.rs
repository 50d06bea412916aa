//! Erasure as a data-protection officer checks it, on SQLite and PostgreSQL: a person named
//! precisely (a one-letter "name" is refused, never a substring match), a dry run that lists
//! every change, the real run only with the dry run's count, contact persons keyed without
//! their name, and afterwards — also after a re-sync of the source that still has her — not a
//! byte of her in the store's files (SQLite) or in a `pg_dump` (PostgreSQL).

use crate::common;

use common::{TEAMS, World, world};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(erasure_is_precise_complete_and_leaves_no_bytes);

const CONTACTS: &str = "Kundennr;Name;E-Mail;Telefon\n\
    00042;Hildegard Quastenflosser;hildegard@quasten.de;0221 998877\n\
    00042;Heinz Erhardt;heinz@mueller-soehne.de;0221 4711-30\n\
    00042;Hildegard Quastenflosser;kaputt@;0221 998877\n";

const MAPPING: &str = "[source]\ndelimiter = \";\"\n[[target]]\nentity = \"contact_person\"\n\
    [target.fields]\ncustomer_no = \"Kundennr\"\nname = \"Name\"\nemail = \"E-Mail\"\nphones = \"Telefon\"\n";

/// Every value of her that must not survive, lower case.
const TRACES: &[&str] = &["quastenflosser", "hildegard@quasten", "221998877", "998877"];

async fn sync_contacts(w: &World, reprocess: bool) -> kontor::sync::RunReport {
    let text = format!(
        "{}\n[[connector]]\nname = \"ansprechpartner\"\nkind = \"csv\"\nsystem = \"wawi\"\n\
         path = \"inbox/ansprechpartner/\"\nmapping = \"mappings/ansprechpartner.toml\"\n\
         min_age_seconds = 0\nmax_reject_ratio = 0.5\n",
        kontor::demo::config(&w._erp.uri())
    );
    let cfg = kontor::config::Config::parse(
        "kontor.toml",
        &text,
        w._dir.path().to_path_buf(),
        Vec::new(),
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    let p = kontor::sync::prepare(&cfg, cfg.connector("ansprechpartner").unwrap()).unwrap();
    let opts = kontor::sync::SyncOptions {
        node: "t".into(),
        reprocess,
        ..Default::default()
    };
    kontor::sync::run(&w.store, &p, &opts).await.unwrap()
}

/// Every byte the store keeps: its files (SQLite) or a dump (PostgreSQL), lower case.
async fn store_bytes(w: &World, backend: &str) -> String {
    let url = w._guard.url().to_owned();
    let bytes = if backend == "sqlite" {
        let db = std::path::PathBuf::from(url.trim_start_matches("sqlite://"));
        let dir = db.parent().unwrap();
        let name = db.file_name().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.file_name().to_string_lossy().starts_with(&name) && e.path().is_file() {
                bytes.extend(std::fs::read(e.path()).unwrap());
            }
        }
        bytes
    } else {
        let out = std::process::Command::new("pg_dump")
            .arg("--no-owner")
            .arg(&url)
            .output()
            .expect("pg_dump (postgresql-client) is needed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    String::from_utf8_lossy(&bytes).to_lowercase()
}

async fn erasure_is_precise_complete_and_leaves_no_bytes(backend: &str) {
    let w = world(backend, TEAMS).await;
    let dir = w._dir.path();
    std::fs::create_dir_all(dir.join("inbox/ansprechpartner")).unwrap();
    std::fs::write(dir.join("inbox/ansprechpartner/ap.csv"), CONTACTS).unwrap();
    std::fs::write(dir.join("mappings/ansprechpartner.toml"), MAPPING).unwrap();
    let r = sync_contacts(&w, false).await;
    assert_eq!((r.counts.inserted, r.counts.quarantined), (2, 1), "{r:?}");
    let muller = w.id_of("00042").await;

    // Her traces elsewhere: a note, two complaints (one about someone else), a looked-up number.
    let (s, _) = w
        .call(
            "POST",
            &format!("/api/v1/customers/{muller}/activities"),
            Some("sales"),
            Some(json!({"kind": "note", "text": "Rückruf an Hildegard Quastenflosser, hildegard@quasten.de"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut complaints = Vec::new();
    for (title, text) in [
        (
            "Quastenflosser meldet Schaden",
            "Frau QUASTENFLOSSER, Hildegard rief an (0221/998877): Spannzangen beschädigt",
        ),
        (
            "Lieferung verspätet",
            "Der Spediteur meldete eine Verzögerung, Herr Erhardt wurde informiert",
        ),
    ] {
        let (s, c) = w
            .call(
                "POST",
                "/api/v1/complaints",
                Some("sales"),
                Some(json!({"customer_id": muller, "category": "lieferung", "title": title, "text": text})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        complaints.push(c["complaint"]["id"].as_i64().unwrap());
    }

    // Keys and positions carry no name (finding 2): the contact person is keyed by a hash.
    let contacts = w
        .store
        .records(Some("ansprechpartner"), Some("contact_person"), 0)
        .await
        .unwrap();
    assert_eq!(contacts.len(), 2);
    for c in &contacts {
        assert!(
            c.external_id.starts_with("00042/p-") && c.ref_no.is_none(),
            "{}",
            c.external_id
        );
    }

    // A one-letter name, a lone surname, a broken address: refused, nothing changes (finding 1).
    for body in [
        json!({"name": "e", "dry_run": true}),
        json!({"name": "Quastenflosser", "dry_run": true}),
        json!({"email": "e", "dry_run": true}),
        json!({"phone": "siehe Notiz", "dry_run": true}),
    ] {
        let (s, v) = w
            .call(
                "POST",
                "/api/v1/privacy/erase",
                Some("ops"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        let (s, _) = w
            .call("POST", "/api/v1/privacy/export", Some("ops"), Some(body))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
    }

    // The export finds her: her contact person, the note, the complaint, the quarantined row.
    let person = json!({"name": "Hildegard Quastenflosser", "email": "Hildegard@Quasten.de", "phone": "+49 221 998877"});
    let (s, exp) = w
        .call(
            "POST",
            "/api/v1/privacy/export",
            Some("ops"),
            Some(person.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{exp}");
    let len = |v: &Value, k: &str| v[k].as_array().unwrap().len();
    assert_eq!(
        (
            len(&exp, "records"),
            len(&exp, "activities"),
            len(&exp, "complaints"),
            len(&exp, "quarantine")
        ),
        (1, 1, 1, 1),
        "{exp}"
    );

    // Dry run: every change listed, nothing changed.
    let mut dry = person.clone();
    dry["dry_run"] = json!(true);
    let (s, plan) = w
        .call("POST", "/api/v1/privacy/erase", Some("ops"), Some(dry))
        .await;
    assert_eq!(s, StatusCode::OK, "{plan}");
    let total = plan["total"].as_u64().unwrap();
    let changes = plan["changes"].as_array().unwrap();
    assert_eq!(changes.len() as u64, total);
    assert!(
        changes
            .iter()
            .any(|c| c["table"] == "records" && c["action"] == "delete"),
        "{plan}"
    );
    for t in ["activities", "tickets", "quarantine"] {
        assert!(changes.iter().any(|c| c["table"] == t), "{t}: {plan}");
    }
    assert_eq!(
        w.store.ticket(complaints[0]).await.unwrap().unwrap().title,
        "Quastenflosser meldet Schaden"
    );
    // The real run needs the count: missing → 400, wrong → 409.
    let (s, _) = w
        .call(
            "POST",
            "/api/v1/privacy/erase",
            Some("ops"),
            Some(person.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let mut wrong = person.clone();
    wrong["confirm"] = json!(total + 1);
    let (s, _) = w
        .call("POST", "/api/v1/privacy/erase", Some("ops"), Some(wrong))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let mut go = person.clone();
    go["confirm"] = json!(total);
    let (s, done) = w
        .call("POST", "/api/v1/privacy/erase", Some("ops"), Some(go))
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["total"], total);

    // Precise: the other complaint is untouched, hers keeps its business content.
    let other = w.store.ticket(complaints[1]).await.unwrap().unwrap();
    assert_eq!(
        other.text,
        "Der Spediteur meldete eine Verzögerung, Herr Erhardt wurde informiert"
    );
    let hers = w.store.ticket(complaints[0]).await.unwrap().unwrap();
    assert!(
        hers.text.contains("Spannzangen beschädigt") && hers.text.contains("[gelöscht]"),
        "{}",
        hers.text
    );
    let found = w
        .store
        .tickets_matching(&kontor::front::complaints::terms("Quastenflosser"), 10)
        .await
        .unwrap();
    assert!(
        found.is_empty(),
        "full-text index still knows her: {found:?}"
    );
    // Heinz Erhardt stays.
    let left = w
        .store
        .records(Some("ansprechpartner"), Some("contact_person"), 0)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].data["name"], "Heinz Erhardt");

    // The source still has her: a re-sync of every row does not bring her back.
    let r = sync_contacts(&w, true).await;
    assert_eq!(r.counts.inserted, 0, "{r:?}");
    let (_, exp) = w
        .call("POST", "/api/v1/privacy/export", Some("ops"), Some(person))
        .await;
    for k in ["records", "activities", "complaints", "quarantine"] {
        assert_eq!(len(&exp, k), 0, "{k}: {exp}");
    }
    let bytes = store_bytes(&w, backend).await;
    assert!(bytes.contains("heinz erhardt"), "the scan sees stored text");
    for t in TRACES {
        assert!(!bytes.contains(t), "`{t}` is still in the store's bytes");
    }
}
