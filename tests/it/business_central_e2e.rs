//! The `business-central` profile end to end (mock → built-in mapping → store) on SQLite and
//! PostgreSQL: exact totals and open amounts, drafts left out, orders with their lines, stock,
//! a second run that writes nothing; and through the binary: a wrong company name fails with
//! the names there are, and no secret shows in the output, the logs or `kontor runs`.

use kontor::store::{DynStore, RunStatus};
use kontor::sync::RunReport;
use kontor::testing::temp_store;
use kontor_rest::mock::{self, MockErp};
use rust_decimal::Decimal;
use std::path::Path;
use std::process::Command;

both_backends!(business_central_syncs_exact_totals_and_a_second_run_writes_nothing);

fn connector(erp: &MockErp, company: &str) -> String {
    format!(
        "[[connector]]\nname = \"bc\"\nkind = \"rest\"\nprofile = \"business-central\"\n\
         base_url = \"{}\"\ncompany = \"{company}\"\n\
         auth = {{ kind = \"oauth2_client_credentials\", token_url = \"{}\", client_id = \"{}\", client_secret_file = \"secret\" }}\n",
        erp.uri(),
        erp.bc_token_url(),
        mock::BC_CLIENT_ID
    )
}

async fn run(store: &DynStore, dir: &Path, connectors: &str) -> RunReport {
    crate::common::sync_connector(store, dir, connectors, "bc").await
}

use crate::common::dec;

async fn business_central_syncs_exact_totals_and_a_second_run_writes_nothing(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let erp = MockErp::start("business-central").await;
    // A draft invoice is listed by salesInvoices but is no invoice yet.
    erp.with_data(|d| {
        d.insert(
            "salesInvoices",
            serde_json::json!({"id": "20000000-00ff-ef11-9f8a-6045bdc8c192", "number": "1001",
                "customerNumber": "10000", "invoiceDate": "2026-12-01", "dueDate": "0001-01-01",
                "totalAmountExcludingTax": 50, "totalTaxAmount": 9.5, "totalAmountIncludingTax": 59.5,
                "remainingAmount": 59.5, "status": "Draft", "currencyCode": "EUR"}),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), mock::BC_CLIENT_SECRET).unwrap();
    let conn = connector(&erp, mock::BC_COMPANY);

    let first = run(&store, dir.path(), &conn).await;
    assert_eq!(first.status, RunStatus::Ok, "{first:?}");
    assert_eq!(first.counts.quarantined, 0, "{first:?}");
    assert_eq!(
        first.counts.skipped, 2,
        "the draft and the service item: {first:?}"
    );
    let records = |e: &'static str| {
        let store = store.clone();
        async move { store.records(Some("bc"), Some(e), 10_000).await.unwrap() }
    };
    let invoices = records("invoice").await;
    assert_eq!(invoices.len(), 6);
    let gross: Decimal = invoices
        .iter()
        .map(|r| dec(&r.data["gross"]["amount"]))
        .sum();
    let open: Decimal = invoices
        .iter()
        .map(|r| dec(&r.data["open_amount"]["amount"]))
        .sum();
    assert_eq!(gross, "21485.42".parse::<Decimal>().unwrap());
    assert_eq!(open, "18176.54".parse::<Decimal>().unwrap());
    let status = |no: &str| {
        invoices
            .iter()
            .find(|r| r.external_id == no)
            .map(|r| r.data["status"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(status("103001").as_deref(), Some("paid"));
    assert_eq!(status("103002").as_deref(), Some("partially_paid"));
    assert_eq!(status("103003").as_deref(), Some("open"));
    assert_eq!(status("103005").as_deref(), Some("cancelled"));
    assert_eq!(status("1001"), None, "drafts are not imported");
    let inv = invoices.iter().find(|r| r.external_id == "103004").unwrap();
    assert_eq!(inv.data["due_date"], "2026-12-02");
    assert_eq!(inv.data["order_ref"], "101005");
    assert_eq!(inv.customer_no.as_deref(), Some("30000"));

    let credit = records("credit_note").await;
    assert_eq!(credit.len(), 2);
    let memo = credit.iter().find(|r| r.external_id == "104002").unwrap();
    assert_eq!(memo.data["invoice_ref"], "103005");
    assert_eq!(
        dec(&memo.data["gross"]["amount"]),
        "118.88".parse::<Decimal>().unwrap()
    );

    let orders = records("order").await;
    assert_eq!(orders.len(), 3);
    let o = |no: &str| orders.iter().find(|r| r.external_id == no).unwrap();
    assert_eq!(o("101001").data["promised_date"], "2026-11-20");
    assert_eq!(o("101001").data["lines"][1]["promised_date"], "2026-12-02");
    assert_eq!(
        dec(&o("101001").data["lines"][0]["delivered_quantity"]),
        Decimal::from(200)
    );
    // 0001-01-01 is Business Central's empty date.
    assert!(
        o("101002").data.get("promised_date").is_none(),
        "{}",
        o("101002").data
    );
    assert_eq!(o("101003").data["status"], "delivered");

    let stock = records("stock").await;
    assert_eq!(stock.len(), 4, "service items have no stock");
    let mehl = stock.iter().find(|r| r.data["sku"] == "MEHL-25").unwrap();
    assert_eq!(
        dec(&mehl.data["on_hand"]),
        "64.5".parse::<Decimal>().unwrap()
    );
    assert_eq!(records("customer").await.len(), 5);

    // Nothing changed: nothing is written.
    let again = run(&store, dir.path(), &conn).await;
    assert_eq!(again.status, RunStatus::Ok, "{again:?}");
    assert_eq!(
        (again.counts.inserted, again.counts.updated),
        (0, 0),
        "{again:?}"
    );

    // A payment: the next run updates exactly that invoice.
    assert!(erp.with_data(|d| d.modify(
        "salesInvoices",
        "20000000-0002-ef11-9f8a-6045bdc8c192",
        "remainingAmount",
        serde_json::json!(0)
    )));
    let third = run(&store, dir.path(), &conn).await;
    assert_eq!(
        (third.counts.inserted, third.counts.updated),
        (0, 1),
        "{third:?}"
    );
    let paid = store
        .record("bc", "invoice", "103003")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dec(&paid.data["open_amount"]["amount"]), Decimal::ZERO);
}

fn kontor(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kontor"))
        .args(args)
        .current_dir(dir)
        .env("KONTOR_LOG", "trace")
        .output()
        .unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_company_and_secrets_through_the_binary() {
    let erp = MockErp::start("business-central").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), mock::BC_CLIENT_SECRET).unwrap();
    let write = |company: &str| {
        std::fs::write(
            dir.path().join("kontor.toml"),
            format!(
                "[store]\nurl = \"sqlite://kontor.db\"\n\n{}",
                connector(&erp, company)
            ),
        )
        .unwrap()
    };
    write("CRONUS Deutschland");
    let (code, out) = kontor(dir.path(), &["sync", "bc"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("CRONUS Deutschland") && out.contains("\"CRONUS International Ltd.\""),
        "{out}"
    );
    write(mock::BC_COMPANY);
    // A config edit: this node takes it over (see CHANGELOG, upgrade notes).
    let (code, sync_out) = kontor(dir.path(), &["--take-over-config", "sync", "bc"]);
    assert_eq!(code, Some(0), "{sync_out}");
    let (_, runs) = kontor(dir.path(), &["runs"]);
    let (_, runs_json) = kontor(dir.path(), &["runs", "--json"]);
    assert!(runs_json.contains("CRONUS Deutschland"), "{runs_json}");
    for text in [&out, &sync_out, &runs, &runs_json] {
        assert!(!text.contains(mock::BC_CLIENT_SECRET), "{text}");
        // Access tokens the mock issued (all start like a JWT header).
        assert!(!text.contains("eyJ0eXAi"), "{text}");
    }
    assert!(erp.logins() >= 2, "tokens were fetched");
}
