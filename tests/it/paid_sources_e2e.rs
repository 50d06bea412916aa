//! Where an invoice's paid date comes from when the invoice record has none (issue 19, part
//! 2), on SQLite and PostgreSQL: DATEV bank postings that name the invoice in `Belegfeld 1` or
//! `Belegfeld 2`, ERPNext's payment ledger and Business Central's payment journal lines
//! become `payment` records; an invoice is paid on the day its payments reach its gross
//! amount (a partial payment is not), and payment behaviour counts the days late from there.

use crate::common::{self, TEAMS, world};
use kontor::config::Config;
use kontor::store::{DynStore, RunStatus};
use kontor::testing::temp_store;
use kontor::view::{PaymentBehaviour, ViewContext};
use kontor_rest::mock::{self, MockErp};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use std::path::Path;

both_backends!(
    datev_bank_postings_pay_the_invoice_in_belegfeld_1_or_2,
    erpnext_payment_ledger_pays_its_invoice,
    business_central_payment_journal_lines_pay_their_invoice,
);

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn day(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

/// Payment behaviour of the customer with this connector's number as of a fixed day (the
/// window of 12 months must not move with the clock).
async fn behaviour_at(
    store: &DynStore,
    cfg: &Config,
    connector: &str,
    no: &str,
    today: &str,
) -> Option<PaymentBehaviour> {
    let ctx = ViewContext::from_config(cfg);
    let dir = kontor::directory::Directory::load(store, &ctx.policy, "DE")
        .await
        .unwrap();
    let id = dir
        .customer_of(connector, no)
        .unwrap_or_else(|| panic!("{connector}/{no} is no customer"));
    kontor::view::payment_behaviour_of(store, dir.known(id).unwrap(), day(today))
        .await
        .unwrap()
}

fn demo_config(dir: &Path) -> Config {
    let text = kontor::demo::config("http://127.0.0.1:9");
    Config::parse("kontor.toml", &text, dir.to_path_buf(), Vec::new()).unwrap()
}

/// A Buchungsstapel of October/November 2026 (cp1252, `;`, `1.234,56`) beside the demo's:
/// RE2026-10001 (due 31.10.) paid on 10.11. (Belegfeld 1, debtor credited against the
/// bank), RE2026-10002 (due 04.11.) paid on 04.11. (Belegfeld 2, the bank debited against the
/// debtor, Belegfeld 1 the statement), RE2026-10003 paid 300,00 of 595,00.
async fn datev_bank_postings_pay_the_invoice_in_belegfeld_1_or_2(backend: &str) {
    let w = world(backend, TEAMS).await;
    let (s, hits) = w.get("/api/v1/customers?q=Mustermann", "sales").await;
    assert_eq!(s, StatusCode::OK, "{hits}");
    let id = hits["hits"][0]["id"].as_i64().unwrap();
    let cfg = demo_config(w._dir.path());
    // The demo's November Buchungsstapel already pays RE2026-11001 (due 03.12.) on 20.11.
    let before = behaviour_at(&w.store, &cfg, "datev-buchungen", "10000", "2026-12-05")
        .await
        .expect("the November payment counts");
    assert_eq!(
        (before.invoices_paid, before.paid_late),
        (1, 0),
        "{before:?}"
    );

    std::fs::copy(
        format!(
            "{}/mappings/datev-buchungsstapel.fixtures/zahlungen-2026.csv",
            env!("CARGO_MANIFEST_DIR")
        ),
        w._dir
            .path()
            .join("inbox/datev/EXTF_Buchungsstapel_2026-10.csv"),
    )
    .unwrap();
    let stanza = "[[connector]]\nname = \"datev-buchungen\"\nkind = \"csv\"\nsystem = \"datev\"\n\
         path = \"inbox/datev/EXTF_Buchungsstapel*.csv\"\nmapping = \"mappings/datev-buchungsstapel.toml\"\n\
         min_age_seconds = 0\n";
    let r = common::sync_connector(&w.store, w._dir.path(), stanza, "datev-buchungen").await;
    assert_eq!(
        (r.status, r.counts.quarantined),
        (RunStatus::Ok, 0),
        "{r:?}"
    );
    let payments = w
        .store
        .records(Some("datev-buchungen"), Some("payment"), 0)
        .await
        .unwrap();
    let of = |inv: &str| -> Vec<(String, String)> {
        payments
            .iter()
            .filter(|p| p.data["invoice_ref"] == inv)
            .map(|p| {
                (
                    p.data["date"].as_str().unwrap().to_owned(),
                    p.data["amount"]["amount"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        of("RE2026-10001"),
        [("2026-11-10".into(), "1190.00".into())]
    );
    assert_eq!(
        of("RE2026-10002"),
        [("2026-11-04".into(), "2975.00".into())],
        "from Belegfeld 2 of the bank's posting"
    );
    assert_eq!(of("KA-2026-211").len(), 1, "Belegfeld 1 names no invoice");

    let b = behaviour_at(&w.store, &cfg, "datev-buchungen", "10000", "2026-12-05")
        .await
        .unwrap();
    // RE2026-11001 on time, RE2026-10001 10 days late, RE2026-10002 on time; RE2026-10003
    // is paid in part: not paid.
    assert_eq!((b.invoices_paid, b.paid_late), (3, 1), "{b:?}");
    assert_eq!(b.avg_days_late, d("3.3"), "{b:?}");
    assert_eq!(b.median_days_late, d("0.0"), "{b:?}");
    assert_eq!(
        b.avg_days_late_weighted,
        d("2.2"),
        "10 × 1.190,00 / (1.234,56 + 1.190,00 + 2.975,00): {b:?}"
    );
    // Two instalments of 9.000,00 and 9.449,00 pay 18.449,00 exactly: on the second (20.11.,
    // due 06.11.).
    let b = behaviour_at(&w.store, &cfg, "datev-buchungen", "10001", "2026-12-05")
        .await
        .unwrap();
    assert_eq!(
        (b.invoices_paid, b.paid_late),
        (1, 1),
        "RE2026-11002 is open: {b:?}"
    );
    assert_eq!(b.avg_days_late, d("14.0"), "{b:?}");

    // The card shows it (the API's own today).
    let (_, card) = w.get(&format!("/api/v1/customers/{id}"), "sales").await;
    let p = &card["payment_behaviour"];
    assert!(
        p["invoices_paid"].as_u64().unwrap_or(0)
            + p["previous_invoices_paid"].as_u64().unwrap_or(0)
            >= 3,
        "{p}"
    );
}

/// The demo ERPNext: RE-2026-0003 (due 19.02.2026) paid by a Payment Entry on 02.03.2026;
/// RE-2026-0002 paid in part; a cancelled (delinked) payment of RE-2026-0004 pays nothing.
async fn erpnext_payment_ledger_pays_its_invoice(backend: &str) {
    let w = world(backend, TEAMS).await;
    let cfg = demo_config(w._dir.path());
    let payments = w.store.records(None, Some("payment"), 0).await.unwrap();
    let erp: Vec<_> = payments
        .iter()
        .filter(|p| p.data["customer_no"].as_str().unwrap().starts_with("CUST-"))
        .collect();
    assert_eq!(erp.len(), 3, "{erp:?}");
    assert!(
        erp.iter()
            .any(|p| p.data["invoice_ref"] == "RE-2026-0004" && p.data["cancelled"] == true),
        "{erp:?}"
    );
    let connector = &erp[0].connector;
    let b = behaviour_at(&w.store, &cfg, connector, "CUST-10002", "2026-12-05")
        .await
        .expect("RE-2026-0003 is paid");
    assert_eq!((b.invoices_paid, b.paid_late), (1, 1), "{b:?}");
    assert_eq!(b.avg_days_late, d("11.0"), "{b:?}");
    // Paid in part, or the payment was cancelled: not paid.
    for no in ["CUST-10001", "CUST-10003"] {
        assert_eq!(
            behaviour_at(&w.store, &cfg, connector, no, "2026-12-05").await,
            None,
            "{no}"
        );
    }
}

/// Business Central: the payment journal line of 103003 (due 19.11.) posted on 27.11. pays it;
/// the line of 103004 pays 5.000,00 of 15.339,10.
async fn business_central_payment_journal_lines_pay_their_invoice(backend: &str) {
    let (store, _guard) = temp_store(backend).await.unwrap();
    let erp = MockErp::start("business-central").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), mock::BC_CLIENT_SECRET).unwrap();
    let stanza = format!(
        "[[connector]]\nname = \"bc\"\nkind = \"rest\"\nprofile = \"business-central\"\n\
         base_url = \"{}\"\ncompany = \"{}\"\n\
         auth = {{ kind = \"oauth2_client_credentials\", token_url = \"{}\", client_id = \"{}\", client_secret_file = \"secret\" }}\n",
        erp.uri(),
        mock::BC_COMPANY,
        erp.bc_token_url(),
        mock::BC_CLIENT_ID
    );
    let r = common::sync_connector(&store, dir.path(), &stanza, "bc").await;
    assert_eq!(
        (r.status, r.counts.quarantined),
        (RunStatus::Ok, 0),
        "{r:?}"
    );
    let payments = store.records(Some("bc"), Some("payment"), 0).await.unwrap();
    assert_eq!(payments.len(), 2, "{payments:?}");
    let cfg = Config::parse("kontor.toml", &stanza, dir.path().to_path_buf(), Vec::new()).unwrap();
    kontor::identity::resolve_store(&store, &cfg).await.unwrap();
    let b = behaviour_at(&store, &cfg, "bc", "20000", "2026-12-05")
        .await
        .expect("103003 is paid");
    assert_eq!((b.invoices_paid, b.paid_late), (1, 1), "{b:?}");
    assert_eq!(b.avg_days_late, d("8.0"), "{b:?}");
    assert_eq!(
        behaviour_at(&store, &cfg, "bc", "30000", "2026-12-05").await,
        None,
        "103004 is paid in part"
    );
}
