//! The XML and REST connectors through the whole ingest path (connector → built-in mapping →
//! store), on SQLite and on PostgreSQL.

use kontor::store::{DynStore, RunStatus};
use kontor::sync::RunReport;
use kontor::testing::temp_store;
use std::path::{Path, PathBuf};

both_backends!(
    xml_documents_load_with_their_semantics_and_a_hostile_file_is_quarantined,
    rest_profile_loads_incrementally_and_a_resync_writes_nothing,
    every_profile_syncs_with_correct_totals,
);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_xml(from: &Path, to: &Path) -> usize {
    let mut n = 0;
    for f in std::fs::read_dir(from).unwrap().flatten() {
        if f.path().extension().is_some_and(|e| e == "xml") {
            std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
            n += 1;
        }
    }
    n
}

async fn run(store: &DynStore, dir: &Path, connectors: &str, name: &str) -> RunReport {
    crate::common::sync_connector(store, dir, connectors, name).await
}

fn text<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

async fn xml_documents_load_with_their_semantics_and_a_hostile_file_is_quarantined(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let good = copy_xml(&repo().join("tests/fixtures/xrechnung"), &inbox)
        + copy_xml(&repo().join("tests/fixtures/opentrans"), &inbox)
        + copy_xml(&repo().join("connectors/xml/tests/data"), &inbox);
    std::fs::write(
        inbox.join("evil.xml"),
        "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n\
         <Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\">&x;</Invoice>\n",
    )
    .unwrap();
    let connectors = "[[connector]]\nname = \"docs\"\nkind = \"xml\"\npath = \"inbox/\"\n\
                      format = \"auto\"\n";

    let report = run(&store, dir.path(), connectors, "docs").await;
    // The other files load; the run is failed (ops must look at the refused file) and the
    // next run skips the refused file until it changes.
    assert_eq!(report.status, RunStatus::Failed, "{report:?}");
    assert_eq!(report.units_done as usize, good, "{report:?}");
    assert!(report.errors[0].contains("evil.xml"), "{report:?}");
    assert_eq!(report.counts.quarantined, 1, "{report:?}");
    let q = store.quarantine(&Default::default()).await.unwrap();
    assert_eq!(q.len(), 1);
    assert!(q[0].position.contains("evil.xml"), "{:?}", q[0]);
    assert!(q[0].reason.to_lowercase().contains("doctype"), "{:?}", q[0]);

    // UBL CreditNote (381) → credit note with the credited invoice; its buyer → customer.
    let cn = store
        .record("docs", "credit_note", "GS-2016-0042")
        .await
        .unwrap()
        .expect("UBL credit note");
    assert_eq!(text(&cn.data, "invoice_ref"), "123456XX");
    assert_eq!(cn.data["gross"]["amount"], "27.89");
    assert_eq!(cn.customer_no.as_deref(), Some("K-004711"));
    let buyer = store
        .record("docs", "customer", "K-004711")
        .await
        .unwrap()
        .expect("buyer of the credit note");
    assert_eq!(text(&buyer.data, "name"), "Muster Buchhandlung GmbH");
    assert_eq!(text(&buyer.data, "gln"), "4012345000009");
    assert_eq!(buyer.data["address"]["city"], "Köln");
    // Invoice 0000123456 (case 03.03a): due date as written in the document.
    let inv = store
        .record("docs", "invoice", "0000123456")
        .await
        .unwrap()
        .expect("CII invoice 03.03a");
    assert_eq!(text(&inv.data, "due_date"), "2018-01-10");
    assert_eq!(inv.data["gross"]["currency"], "EUR");
    assert!(
        inv.position.as_deref().unwrap().contains("03.03a-INVOICE_"),
        "UBL and CII of case 03.03a carry the same invoice"
    );
    // openTRANS ORDERRESPONSE → promised dates of the order lines.
    let oc = store
        .record("docs", "order_confirmation", "GWAHJV-160131-1470")
        .await
        .unwrap()
        .expect("order response");
    assert_eq!(oc.data["lines"][0]["promised_date"], "2018-06-27");
    let by_entity = |e: &'static str| {
        let store = store.clone();
        async move { store.records(Some("docs"), Some(e), 10_000).await.unwrap() }
    };
    assert!(by_entity("credit_note").await.len() >= 2);
    assert!(!by_entity("delivery").await.is_empty());
    // 17 ORDER documents; the minimal samples share their order ids.
    let orders: Vec<String> = by_entity("order")
        .await
        .into_iter()
        .map(|r| r.external_id)
        .collect();
    assert_eq!(
        orders,
        ["OID1", "ORDER_180801-004", "ORDER_180801-005", "order-id-1"]
    );
    let order = store
        .record("docs", "order", "ORDER_180801-004")
        .await
        .unwrap()
        .expect("openTRANS order");
    assert_eq!(order.customer_no.as_deref(), Some("123456"));
    assert!(
        order.data["lines"]
            .as_array()
            .is_some_and(|l| !l.is_empty())
    );

    // Again: every file is known by its content hash; nothing is read or written.
    let total = store.count_records(Some("docs")).await.unwrap();
    let again = run(&store, dir.path(), connectors, "docs").await;
    assert_eq!(
        (
            again.counts.read,
            again.counts.inserted,
            again.counts.updated
        ),
        (0, 0, 0),
        "{again:?}"
    );
    assert_eq!(store.count_records(Some("docs")).await.unwrap(), total);
}

async fn rest_profile_loads_incrementally_and_a_resync_writes_nothing(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let erp = kontor_rest::mock::MockErp::start("erpnext").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), kontor_rest::mock::ERPNEXT_TOKEN).unwrap();
    let connectors = format!(
        "[[connector]]\nname = \"erp\"\nkind = \"rest\"\nbase_url = \"{}\"\nprofile = \"erpnext\"\n\
         auth = {{ kind = \"token\", token_file = \"token\" }}\n",
        erp.uri()
    );

    let first = run(&store, dir.path(), &connectors, "erp").await;
    assert_eq!(first.status, RunStatus::Ok, "{first:?}");
    let customers = erp.records("Customer").len();
    let invoices = erp.records("Sales Invoice").len();
    assert_eq!(
        store
            .records(Some("erp"), Some("customer"), 1000)
            .await
            .unwrap()
            .len(),
        customers
    );
    let stored_docs = store
        .records(Some("erp"), Some("invoice"), 1000)
        .await
        .unwrap()
        .len()
        + store
            .records(Some("erp"), Some("credit_note"), 1000)
            .await
            .unwrap()
            .len();
    assert_eq!(
        stored_docs, invoices,
        "Sales Invoices become invoices or credit notes"
    );
    let c = store
        .record("erp", "customer", "CUST-10001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(text(&c.data, "name"), "Müller & Söhne GmbH");
    assert!(
        c.position
            .as_deref()
            .unwrap()
            .contains("/api/resource/Customer")
    );
    let cursors = store.checkpoints("erp").await.unwrap();
    assert!(
        cursors.iter().all(|cp| cp
            .position
            .as_ref()
            .is_some_and(|p| p["modified"].is_string())),
        "{cursors:?}"
    );

    // Nothing changed in the ERP: the cursor re-reads at most its boundary records.
    let again = run(&store, dir.path(), &connectors, "erp").await;
    assert_eq!(again.status, RunStatus::Ok);
    assert_eq!(
        (again.counts.inserted, again.counts.updated),
        (0, 0),
        "{again:?}"
    );

    // One invoice is paid in the ERP: the next run picks up exactly that change.
    let changed = erp.with_data(|d| {
        let id = "RE-2026-0002";
        d.modify(
            "Sales Invoice",
            id,
            "outstanding_amount",
            serde_json::json!(0),
        ) && d.modify("Sales Invoice", id, "status", serde_json::json!("Paid"))
    });
    assert!(changed);
    let third = run(&store, dir.path(), &connectors, "erp").await;
    assert_eq!(
        (third.counts.inserted, third.counts.updated),
        (0, 1),
        "{third:?}"
    );
    let paid = store
        .record("erp", "invoice", "RE-2026-0002")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(paid.data["open_amount"]["amount"], "0");
    assert_eq!(text(&paid.data, "status"), "paid", "{:?}", paid.data);

    // A record without its required customer goes to quarantine with URL, page and reason;
    // the stored invoice keeps its last good version.
    assert!(erp.with_data(|d| d.modify(
        "Sales Invoice",
        "RE-2026-0003",
        "customer",
        serde_json::Value::Null
    )));
    let fourth = run(&store, dir.path(), &connectors, "erp").await;
    assert_eq!(fourth.counts.quarantined, 1, "{fourth:?}");
    assert_eq!(fourth.status, RunStatus::Partial);
    let q = store.quarantine(&Default::default()).await.unwrap();
    assert_eq!(q.len(), 1);
    assert!(
        q[0].position.contains("/api/resource/Sales%20Invoice"),
        "{:?}",
        q[0]
    );
    assert!(q[0].position.contains("page="), "{:?}", q[0]);
    assert!(q[0].reason.contains("customer_no"), "{:?}", q[0]);
    assert!(
        store
            .record("erp", "invoice", "RE-2026-0003")
            .await
            .unwrap()
            .is_some()
    );
}

/// (profile, its invoice streams, their gross field: a `/`-path into the record, `|` between
/// alternatives for streams of different shapes). How each signs in to its mock:
/// `MockErp::connector_auth`.
const PROFILES: &[(&str, &[&str], &str)] = &[
    ("erpnext", &["Sales Invoice"], "grand_total"),
    ("sap-b1", &["Invoices", "CreditNotes"], "DocTotal"),
    ("weclapp", &["salesInvoice"], "grossAmount"),
    (
        "xentral",
        &["invoices", "creditNotes"],
        "totals/gross/amount|amountGross",
    ),
    ("lexoffice", &["voucherlist"], "totalAmount"),
    (
        "business-central",
        &["salesInvoices", "salesCreditMemos"],
        "totalAmountIncludingTax",
    ),
    ("jtl-wawi", &["invoices"], "TotalGrossAmount"),
];

fn amount(v: &serde_json::Value) -> rust_decimal::Decimal {
    let s = match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    s.parse::<rust_decimal::Decimal>()
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .abs()
}

async fn every_profile_syncs_with_correct_totals(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    for (profile, invoice_streams, gross_field) in PROFILES {
        let erp = kontor_rest::mock::MockErp::start(profile).await;
        erp.require_auth(true);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("secret"),
            kontor_rest::mock::secret_of(profile),
        )
        .unwrap();
        let connectors = format!(
            "[[connector]]\nname = \"{profile}\"\nkind = \"rest\"\nbase_url = \"{}\"\n\
             profile = \"{profile}\"\n{}\n",
            erp.uri(),
            erp.connector_auth(profile, "secret")
        );
        let report = run(&store, dir.path(), &connectors, profile).await;
        assert_eq!(report.status, RunStatus::Ok, "{profile}: {report:?}");

        let want: rust_decimal::Decimal = invoice_streams
            .iter()
            .flat_map(|s| erp.records(s))
            .map(|r| {
                let v = gross_field
                    .split('|')
                    .find_map(|p| r.pointer(&format!("/{p}")))
                    .unwrap_or(&serde_json::Value::Null);
                amount(v)
            })
            .sum();
        let want_docs: usize = invoice_streams.iter().map(|s| erp.records(s).len()).sum();
        let mut docs = store
            .records(Some(profile), Some("invoice"), 10_000)
            .await
            .unwrap();
        docs.extend(
            store
                .records(Some(profile), Some("credit_note"), 10_000)
                .await
                .unwrap(),
        );
        let got: rust_decimal::Decimal = docs
            .iter()
            .map(|r| amount(&r.data["gross"]["amount"]))
            .sum();
        assert_eq!(docs.len(), want_docs, "{profile}: documents");
        assert_eq!(
            got, want,
            "{profile}: total gross of invoices and credit notes"
        );
        assert!(
            !store
                .records(Some(profile), Some("customer"), 10)
                .await
                .unwrap()
                .is_empty(),
            "{profile}: customers"
        );
        // What the profile declares it reads (lexoffice keeps no orders or stock).
        let info = kontor_rest::profile_info(profile).unwrap();
        for e in ["order", "stock"] {
            if !info
                .streams
                .iter()
                .any(|s| s.entities.iter().any(|x| x == e))
            {
                continue;
            }
            assert!(
                !store
                    .records(Some(profile), Some(e), 10)
                    .await
                    .unwrap()
                    .is_empty(),
                "{profile}: {e}"
            );
        }
    }
}
