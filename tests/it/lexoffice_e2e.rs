//! The `lexoffice` profile through the whole ingest path on SQLite and PostgreSQL, configured
//! with nothing but `profile`, `base_url` and the secret reference (the documented 2/s): exact
//! totals and open amounts, invoices linked to their contact's customer number, the collective
//! customer, a second run that writes nothing, and the API key nowhere in reports or records.

use kontor::store::{DynStore, RunStatus};
use kontor::sync::RunReport;
use kontor::testing::temp_store;
use kontor_rest::mock::{LEXOFFICE_TOKEN, MockErp};
use rust_decimal::Decimal;
use std::path::Path;

both_backends!(lexoffice_syncs_exact_open_items_linked_to_customer_numbers);

async fn run(store: &DynStore, dir: &Path, connectors: &str) -> RunReport {
    crate::common::sync_connector(store, dir, connectors, "lex").await
}

use crate::common::dec;

async fn lexoffice_syncs_exact_open_items_linked_to_customer_numbers(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let erp = MockErp::start("lexoffice").await;
    // The account's documented limit, enforced: the profile's default rate never hits it.
    erp.with_data(|d| d.lexoffice.rate = Some(2.0));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lexoffice.key"), LEXOFFICE_TOKEN).unwrap();
    let connectors = format!(
        "[[connector]]\nname = \"lex\"\nkind = \"rest\"\nprofile = \"lexoffice\"\nbase_url = \"{}\"\n\
         auth = {{ kind = \"bearer\", token_file = \"lexoffice.key\" }}\n",
        erp.uri()
    );
    let first = run(&store, dir.path(), &connectors).await;
    assert_eq!(first.status, RunStatus::Ok, "{first:?}");
    assert!(
        erp.requests().iter().all(|r| r.status == 200),
        "{:?}",
        erp.requests()
    );

    // Customers by their lexoffice customer number, plus the collective customer.
    let customers: Vec<String> = store
        .records(Some("lex"), Some("customer"), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.external_id)
        .collect();
    assert_eq!(
        customers,
        ["10001", "10002", "10003", "10004", "SAMMELKUNDE"]
    );
    let kranz = store
        .record("lex", "customer", "10001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kranz.data["name"], "Brauhaus Kranz GmbH");
    assert_eq!(kranz.data["address"]["city"], "Köln");

    // Invoices: exact totals and open amounts, linked to the contact's customer number.
    let vouchers = erp.records("voucherlist");
    let invoices = store
        .records(Some("lex"), Some("invoice"), 100)
        .await
        .unwrap();
    let notes = store
        .records(Some("lex"), Some("credit_note"), 100)
        .await
        .unwrap();
    assert_eq!(invoices.len() + notes.len(), vouchers.len());
    let want_gross: Decimal = vouchers.iter().map(|v| dec(&v["totalAmount"])).sum();
    let got_gross: Decimal = invoices
        .iter()
        .chain(&notes)
        .map(|r| dec(&r.data["gross"]["amount"]))
        .sum();
    assert_eq!(got_gross, want_gross);
    let want_open: Decimal = vouchers
        .iter()
        .filter(|v| v["voucherType"] == "invoice")
        .map(|v| dec(&v["openAmount"]))
        .sum();
    let got_open: Decimal = invoices
        .iter()
        .map(|r| dec(&r.data["open_amount"]["amount"]))
        .sum();
    assert_eq!(got_open, want_open);
    assert_eq!(want_open, "3984.00".parse::<Decimal>().unwrap());
    let re1003 = store
        .record("lex", "invoice", "RE1003")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(re1003.customer_no.as_deref(), Some("10001"));
    assert_eq!(
        dec(&re1003.data["open_amount"]["amount"]),
        "295".parse().unwrap()
    );
    assert_eq!(re1003.data["status"], "partially_paid");
    assert_eq!(re1003.data["issue_date"], "2026-01-20");
    assert_eq!(re1003.data["due_date"], "2026-03-20");
    let voided = store
        .record("lex", "invoice", "RE1005")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(voided.data["status"], "cancelled");
    assert_eq!(voided.customer_no.as_deref(), Some("10004"));
    let collective = store
        .record("lex", "invoice", "RE1004")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(collective.customer_no.as_deref(), Some("SAMMELKUNDE"));
    assert!(collective.data.to_string().contains("Sammelkunde"));
    let note = store
        .record("lex", "credit_note", "GS1001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(note.customer_no.as_deref(), Some("10001"));
    assert_eq!(
        dec(&note.data["open_amount"]["amount"]),
        "119".parse().unwrap()
    );

    // Nothing changed: nothing written.
    let again = run(&store, dir.path(), &connectors).await;
    assert_eq!(again.status, RunStatus::Ok, "{again:?}");
    assert_eq!(
        (again.counts.inserted, again.counts.updated),
        (0, 0),
        "{again:?}"
    );

    // The API key appears nowhere: reports, runs, records, cursors.
    let mut seen = format!("{first:?}{again:?}");
    seen.push_str(&format!("{:?}", store.runs(Some("lex"), 10).await.unwrap()));
    seen.push_str(&format!("{:?}", store.checkpoints("lex").await.unwrap()));
    for r in store.records(Some("lex"), None, 1000).await.unwrap() {
        seen.push_str(&format!("{:?}{}", r.position, r.data));
    }
    assert!(!seen.contains(LEXOFFICE_TOKEN));
}
