//! E-invoices as they arrive, through the whole path (XML connector → built-in mapping →
//! store → identity → merged view and directory), and DATEV sources that join by
//! themselves; on SQLite and on PostgreSQL.

use kontor::config::Config;
use kontor::directory::Directory;
use kontor::store::DynStore;
use kontor::sync::{self, RunReport, SyncOptions};
use kontor::testing::temp_store;
use kontor::view::{ViewContext, customer_view};
use std::path::{Path, PathBuf};

both_backends!(
    a_mixed_einvoice_folder_loads_and_only_invalid_documents_are_refused,
    invoices_to_us_make_suppliers_found_by_search_and_caller_id,
    datev_postings_and_debtors_join_without_a_configured_system,
);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_all(from: &Path, to: &Path, ext: &[&str]) -> usize {
    let mut n = 0;
    for f in std::fs::read_dir(from).unwrap().flatten() {
        if f.path()
            .extension()
            .is_some_and(|e| ext.iter().any(|x| e.eq_ignore_ascii_case(x)))
        {
            std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
            n += 1;
        }
    }
    n
}

fn config(dir: &Path, text: &str) -> Config {
    Config::parse(
        "kontor.toml",
        &format!("[store]\nurl = \"sqlite::memory:\"\n\n{text}"),
        dir.to_path_buf(),
        Vec::new(),
    )
    .unwrap_or_else(|d| panic!("{d:?}"))
}

async fn sync_all(store: &DynStore, cfg: &Config) -> Vec<RunReport> {
    let opts = SyncOptions {
        node: "test".into(),
        ..SyncOptions::default()
    };
    let mut out = Vec::new();
    for c in &cfg.connectors {
        let p = sync::prepare(cfg, c).unwrap_or_else(|d| panic!("{d:?}"));
        out.push(sync::run(store, &p, &opts).await.unwrap());
    }
    kontor::identity::resolve_store(store, cfg).await.unwrap();
    out
}

async fn a_mixed_einvoice_folder_loads_and_only_invalid_documents_are_refused(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let fixtures = repo().join("tests/fixtures");
    let n = copy_all(&fixtures.join("xrechnung"), &inbox, &["xml"])
        + copy_all(&fixtures.join("opentrans"), &inbox, &["xml"])
        + copy_all(&fixtures.join("zugferd"), &inbox, &["pdf", "xml"])
        + copy_all(&fixtures.join("en16931"), &inbox, &["xml"]);
    // An invoice whose sums do not add up: loads with warnings.
    let bad = std::fs::read_to_string(fixtures.join("xrechnung/01.01a-INVOICE_uncefact.xml"))
        .unwrap()
        .replace("<ram:ID>123456XX</ram:ID>", "<ram:ID>R-WARN-1</ram:ID>")
        .replace(
            "<ram:GrandTotalAmount>336.9</ram:GrandTotalAmount>",
            "<ram:GrandTotalAmount>337.9</ram:GrandTotalAmount>",
        );
    std::fs::write(inbox.join("summen-falsch.xml"), bad).unwrap();
    let cfg = config(
        dir.path(),
        "[[connector]]\nname = \"eingang\"\nkind = \"xml\"\npath = \"inbox\"\n",
    );
    let reports = sync_all(&store, &cfg).await;
    let r = &reports[0];
    assert_eq!(r.counts.read, n as u64 + 1, "{:?}", r.errors);
    // Only the PDF without an invoice is refused, with its German reason.
    assert_eq!(r.counts.quarantined, 1, "{:?}", r.errors);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(
        r.errors[0].contains("blankoA3.pdf")
            && r.errors[0].contains("PDF enthält keine E-Rechnung"),
        "{:?}",
        r.errors
    );
    assert_eq!(r.counts.warnings, 1, "the invoice with wrong sums");
    let runs = store.runs(Some("eingang"), 1).await.unwrap();
    assert_eq!(runs[0].counts.warnings, 1, "kept with the run");
    let q = store
        .quarantine(&kontor::store::QuarantineFilter::default())
        .await
        .unwrap();
    assert!(q[0].position.ends_with("blankoA3.pdf"), "{}", q[0].position);

    // The PDF invoices are invoices with their PDF position; the warning is on the record.
    let inv = store
        .records(Some("eingang"), Some("invoice"), 1000)
        .await
        .unwrap();
    let from_pdf = inv
        .iter()
        .find(|r| r.external_id == "RE1001")
        .expect("MustangBeispiel invoice");
    assert!(
        from_pdf
            .position
            .as_deref()
            .unwrap()
            .contains("MustangBeispiel20221026.pdf#factur-x.xml:"),
        "{:?}",
        from_pdf.position
    );
    let warned = inv.iter().find(|r| r.external_id == "R-WARN-1").unwrap();
    let w = warned.data["warnings"].as_array().unwrap();
    assert!(w[0].as_str().unwrap().starts_with("BR-CO-15"), "{w:?}");
    // XRechnung's Leitweg-ID is kept.
    assert_eq!(warned.data["buyer_reference"], "04011000-12345-03");

    // The merged view shows the warning in the invoice's provenance.
    let keys = store.customer_keys().await.unwrap();
    let owner = keys
        .iter()
        .find(|k| k.key.customer_no == warned.customer_no.clone().unwrap())
        .unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let view = customer_view(&store, &ViewContext::default(), owner.customer_id, today)
        .await
        .unwrap()
        .unwrap();
    let shown = view
        .open_items
        .invoices
        .iter()
        .find(|i| i.number == "R-WARN-1")
        .expect("open item");
    assert!(shown.source.warnings[0].starts_with("BR-CO-15"));

    // A re-run writes nothing.
    let again = sync_all(&store, &cfg).await;
    assert_eq!(again[0].counts.inserted + again[0].counts.updated, 0);
}

async fn invoices_to_us_make_suppliers_found_by_search_and_caller_id(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let fixtures = repo().join("tests/fixtures");
    // ZUGFeRD 1.0 sample: seller Lieferant GmbH (GLN 4000001123452), buyer Kunden AG Mitte
    // (GLN 4000001987658) — which is us here. Its seller gets a phone number.
    let zf1 = std::fs::read_to_string(fixtures.join("zugferd/ZUGFeRD1_COMFORT_Einfach.xml"))
        .unwrap()
        .replacen(
            "<ram:Name>Lieferant GmbH</ram:Name>",
            "<ram:Name>Lieferant GmbH</ram:Name><ram:DefinedTradeContact><ram:TelephoneUniversalCommunication><ram:CompleteNumber>089 4711-0</ram:CompleteNumber></ram:TelephoneUniversalCommunication></ram:DefinedTradeContact>",
            1,
        );
    std::fs::write(inbox.join("eingangsrechnung.xml"), zf1).unwrap();
    // One of our own (sent) invoices as well.
    std::fs::copy(
        fixtures.join("xrechnung/01.01a-INVOICE_ubl.xml"),
        inbox.join("ausgang.xml"),
    )
    .unwrap();
    let cfg = config(
        dir.path(),
        "[identity]\nown_glns = [\"4000001987658\"]\n\n[[connector]]\nname = \"eingang\"\nkind = \"xml\"\npath = \"inbox\"\n",
    );
    let reports = sync_all(&store, &cfg).await;
    assert_eq!(reports[0].counts.quarantined, 0, "{:?}", reports[0].errors);
    let sup = store.records(None, Some("supplier"), 10).await.unwrap();
    assert_eq!(sup.len(), 1);
    assert_eq!(sup[0].data["supplier_no"], "4000001123452");
    assert_eq!(sup[0].data["name"], "Lieferant GmbH");
    let si = store
        .records(None, Some("supplier_invoice"), 10)
        .await
        .unwrap();
    assert_eq!(si.len(), 1);
    assert_eq!(si[0].external_id, "4000001123452/471102");
    assert_eq!(si[0].data["kind"], "invoice");
    assert_eq!(si[0].data["due_amount"]["amount"], "529.87");
    // Never a customer's open item, and we are no customer of ours.
    let inv = store.records(None, Some("invoice"), 10).await.unwrap();
    assert!(inv.iter().all(|r| r.external_id != "471102"), "{inv:?}");
    let cust = store.records(None, Some("customer"), 10).await.unwrap();
    assert!(cust.iter().all(|r| r.data["name"] != "Kunden AG Mitte"));

    // Search and caller-ID find the supplier, marked as such.
    let dirx = Directory::load(&store, &Default::default(), "DE")
        .await
        .unwrap();
    let hits = dirx
        .search(&store, "Lieferant", 10, None)
        .await
        .unwrap()
        .hits;
    let hit = hits
        .iter()
        .find(|h| h.name.as_deref() == Some("Lieferant GmbH"))
        .unwrap();
    assert_eq!(hit.roles, ["supplier"]);
    let call = dirx.lookup_phone("+49 89 4711-0").unwrap();
    assert_eq!(call.candidates[0].customer_id, hit.id);
    assert_eq!(call.candidates[0].roles, ["supplier"]);
    // Its merged view: a supplier with its supplier invoice, no open items.
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let view = customer_view(&store, &ViewContext::default(), hit.id, today)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.roles, ["supplier"]);
    assert_eq!(view.open_items.count, 0);
    assert_eq!(view.supplier_invoices.len(), 1);
    assert_eq!(view.supplier_invoices[0].number, "471102");
}

async fn datev_postings_and_debtors_join_without_a_configured_system(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in ["buchungen", "stamm"] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    let fixtures = repo().join("tests/fixtures/datev");
    std::fs::copy(
        fixtures.join("EXTF_Buchungsstapel.csv"),
        d.join("buchungen/EXTF_Buchungsstapel.csv"),
    )
    .unwrap();
    std::fs::copy(
        fixtures.join("EXTF_Stammdaten.csv"),
        d.join("stamm/EXTF_Stammdaten.csv"),
    )
    .unwrap();
    let mappings = repo().join("mappings");
    let cfg = config(
        d,
        &format!(
            "[[connector]]\nname = \"datev-buchungen\"\nkind = \"csv\"\npath = \"buchungen\"\nmin_age_seconds = 0\nmapping = \"{}\"\n\n\
             [[connector]]\nname = \"datev-stamm\"\nkind = \"csv\"\npath = \"stamm\"\nmin_age_seconds = 0\nmapping = \"{}\"\n",
            mappings.join("datev-buchungsstapel.toml").display(),
            mappings.join("datev-debitoren.toml").display(),
        ),
    );
    let reports = sync_all(&store, &cfg).await;
    for r in &reports {
        assert!(r.errors.is_empty(), "{:?}", r.errors);
    }
    let systems = store.connector_systems().await.unwrap();
    assert_eq!(systems["datev-buchungen"], "datev:1001:456");
    assert_eq!(systems["datev-stamm"], "datev:1001:456");
    // Every debtor with postings is one customer with its invoices: the documents' numbers
    // are keys of the debtors' customers, no key stands alone.
    let keys = store.customer_keys().await.unwrap();
    assert!(
        keys.iter().all(|k| k.key.system == "datev:1001:456"),
        "{keys:?}"
    );
    let docs = store
        .records(Some("datev-buchungen"), None, 10_000)
        .await
        .unwrap();
    let debtors = store
        .records(Some("datev-stamm"), Some("customer"), 10_000)
        .await
        .unwrap();
    let debtor_nos: std::collections::BTreeSet<String> = debtors
        .iter()
        .filter_map(|r| r.customer_no.clone())
        .collect();
    let booked: std::collections::BTreeSet<String> =
        docs.iter().filter_map(|r| r.customer_no.clone()).collect();
    assert!(!booked.is_empty());
    let joined: Vec<&String> = booked.intersection(&debtor_nos).collect();
    assert!(
        !joined.is_empty(),
        "postings {booked:?} debtors {debtor_nos:?}"
    );
    for no in joined {
        let k = keys.iter().find(|k| &k.key.customer_no == no).unwrap();
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let view = customer_view(&store, &ViewContext::default(), k.customer_id, today)
            .await
            .unwrap()
            .unwrap();
        let connectors: Vec<&str> = view.sources.iter().map(|s| s.connector.as_str()).collect();
        assert!(
            connectors.contains(&"datev-stamm") && connectors.contains(&"datev-buchungen"),
            "debtor {no}: {connectors:?}"
        );
    }
    // An explicit system still wins.
    let cfg2 = config(
        d,
        "[[connector]]\nname = \"datev-buchungen\"\nkind = \"csv\"\nsystem = \"fibu\"\npath = \"buchungen\"\n",
    );
    let named = store.source_systems().await.unwrap();
    assert_eq!(
        kontor::identity::run::systems_of(&cfg2, &named)["datev-buchungen"],
        "fibu"
    );
}
