//! The Xentral profile end to end through `kontor sync` (only `profile`, `base_url` and the
//! token reference configured; the documented 100 requests/min apply): exact totals and open
//! amounts in the store (money as strings and as numbers), a second run writes nothing, an
//! expired personal access token fails the run with a clear message, and the token appears in
//! no output, log line or stored run — on SQLite and PostgreSQL.

use kontor::store::DynStore;
use kontor::testing::temp_store;
use kontor_rest::mock::{self, Fault, Flavor, MockErp};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};

both_backends!(xentral_syncs_exact_amounts_resyncs_nothing_and_keeps_the_token_secret);

fn sync(dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kontor"))
        .args(["sync", "xentral"])
        .current_dir(dir)
        .env("KONTOR_LOG", "trace")
        .output()
        .unwrap()
}

/// stdout and stderr; neither may ever hold the token.
fn text(out: &Output) -> String {
    let s = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !s.contains(mock::XENTRAL_TOKEN),
        "token in the output:\n{s}"
    );
    s
}

async fn record(store: &DynStore, entity: &str, id: &str) -> Value {
    store
        .record("xentral", entity, id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{entity} {id} missing"))
        .data
}

async fn xentral_syncs_exact_amounts_resyncs_nothing_and_keeps_the_token_secret(backend: &str) {
    let (store, guard) = temp_store(backend).await.unwrap();
    let mut data = mock::fixtures::for_flavor(Flavor::Xentral);
    // More digits than an f64 holds, as a JSON number (the other amounts of this invoice are
    // strings, invoices 3003 and 3005 carry numbers throughout).
    data.get_mut("invoices").unwrap()[3]["totals"]["gross"]["amount"] =
        serde_json::from_str("15339.100000000000000001").unwrap();
    let erp = MockErp::start_with(Flavor::Xentral, data).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("xentral-token"), mock::XENTRAL_TOKEN).unwrap();
    std::fs::write(
        dir.path().join("kontor.toml"),
        format!(
            "[store]\nurl = \"{}\"\n\n[[connector]]\nname = \"xentral\"\nkind = \"rest\"\n\
             profile = \"xentral\"\nbase_url = \"{}\"\n\
             auth = {{ kind = \"bearer\", token_file = \"xentral-token\" }}\n",
            guard.url(),
            erp.uri()
        ),
    )
    .unwrap();

    let first = sync(dir.path());
    let out = text(&first);
    assert!(first.status.success(), "{out}");
    // Xentral's documented headers came with every answer; none was a 429.
    assert!(erp.requests().iter().all(|r| r.status == 200));

    // Totals: invoices and the credit note, exactly.
    let gross = |v: &Value| v["gross"]["amount"].as_str().unwrap().to_owned();
    let i1 = record(&store, "invoice", "RE-2026-0001").await;
    assert_eq!(
        (gross(&i1), i1["open_amount"]["amount"].as_str()),
        ("1190.00".into(), Some("1190.00"))
    );
    assert_eq!(i1["status"], "open");
    assert_eq!(i1["customer_no"], "2001");
    assert_eq!(i1["due_date"], "2026-02-04");
    // Partly paid: the list has no open amount; none is invented.
    let i2 = record(&store, "invoice", "RE-2026-0002").await;
    assert_eq!(gross(&i2), "2916.10");
    assert!(i2["open_amount"].is_null(), "{i2}");
    assert_eq!(i2["status"], "partially_paid");
    // Paid, amounts as JSON numbers.
    let i3 = record(&store, "invoice", "RE-2026-0003").await;
    assert_eq!(gross(&i3), "452.20");
    assert_eq!(i3["status"], "paid");
    assert_eq!(
        i3["open_amount"]["amount"]
            .as_str()
            .unwrap()
            .parse::<rust_decimal::Decimal>()
            .unwrap(),
        rust_decimal::Decimal::ZERO
    );
    let i4 = record(&store, "invoice", "RE-2026-0004").await;
    assert_eq!(gross(&i4), "15339.100000000000000001");
    assert_eq!(i4["open_amount"]["amount"], "15339.100000000000000001");
    let i5 = record(&store, "invoice", "RE-2026-0005").await;
    assert_eq!(
        (gross(&i5), i5["open_amount"]["amount"].as_str()),
        ("118.88".into(), Some("118.88"))
    );
    let cn = record(&store, "credit_note", "GS-2026-0001").await;
    assert_eq!(gross(&cn), "119.00");
    assert_eq!(cn["invoice_ref"], "RE-2026-0001");

    let c = record(&store, "customer", "2001").await;
    assert_eq!(c["name"], "Müller & Söhne GmbH");
    assert_eq!(c["address"]["city"], "Köln");
    let o = record(&store, "order", "AB-2026-0001").await;
    assert_eq!(o["promised_date"], "2026-02-20");
    assert_eq!(o["lines"][1]["promised_date"], "2026-03-02");
    assert_eq!(o["lines"][0]["delivered_quantity"], "200");
    let stock = store
        .records(Some("xentral"), Some("stock"), 100)
        .await
        .unwrap();
    assert_eq!(stock.len(), 5);
    let sued = stock
        .iter()
        .find(|r| r.data["sku"] == "SCHR-M8" && r.data["warehouse"] == "Außenlager Süd")
        .expect("SCHR-M8 in the southern warehouse");
    assert_eq!(sued.data["on_hand"], "300");

    // Nothing changed in Xentral: the second run writes nothing.
    let before = store.count_records(Some("xentral")).await.unwrap();
    let second = sync(dir.path());
    let out = text(&second);
    assert!(second.status.success(), "{out}");
    assert!(out.contains("inserted=0 updated=0"), "{out}");
    assert_eq!(store.count_records(Some("xentral")).await.unwrap(), before);

    // The token expires: the run fails and says why, naming the personal access token.
    erp.fail_next(Fault::ExpireSessions, 1);
    let third = sync(dir.path());
    let out = text(&third);
    assert!(!third.status.success(), "{out}");
    assert!(
        out.contains("personal access token") && out.contains("expired"),
        "{out}"
    );
    let runs = store.runs(Some("xentral"), 10).await.unwrap();
    assert_eq!(runs.len(), 3);
    let stored = format!("{runs:?}");
    assert!(!stored.contains(mock::XENTRAL_TOKEN), "{stored}");
    assert!(stored.contains("expired"), "{stored}");
    let cps = json!(
        store
            .checkpoints("xentral")
            .await
            .unwrap()
            .iter()
            .map(|c| c.position.clone())
            .collect::<Vec<_>>()
    );
    assert!(!cps.to_string().contains(mock::XENTRAL_TOKEN));
}
