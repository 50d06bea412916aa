//! The `business-central` profile against its mock: the company lookup, nextLink paging
//! without `$top`, the `ge` increment across an interrupted run, drift while paging, Entra ID
//! tokens expiring mid-run, and a 429 storm with `Retry-After`.

mod common;

use common::*;
use kontor_rest::mock::{self, Fault, MockErp};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

fn secrets() -> Secrets {
    Secrets::new(&[("bc", mock::BC_CLIENT_SECRET)])
}

/// The minimal connector: profile, base URL, the Entra app (token URL of the mock instead of
/// `tenant`), the secret by reference, and the company by name.
fn settings(erp: &MockErp, company: &str, extra: &str) -> String {
    format!(
        "base_url = \"{}\"\nprofile = \"business-central\"\ncompany = \"{company}\"\n\
         auth = {{ kind = \"oauth2_client_credentials\", token_url = \"{}\", client_id = \"{}\", client_secret_file = \"bc\" }}\n{extra}",
        erp.uri(),
        erp.bc_token_url(),
        mock::BC_CLIENT_ID,
    )
}

/// The API requests the mock saw (without the token requests).
fn urls(erp: &MockErp) -> Vec<String> {
    erp.requests()
        .into_iter()
        .map(|r| r.url)
        .filter(|u| !u.contains("/oauth2/"))
        .collect()
}

#[tokio::test]
async fn the_company_is_looked_up_by_name_and_a_wrong_name_lists_the_names() {
    let s = secrets();
    let erp = MockErp::start("business-central").await;
    let conn = build(&settings(&erp, mock::BC_COMPANY, ""), "", s.path());
    let run = run_unit(&conn, "customers", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.records().len(), 5);
    let company_id = mock::BC_COMPANIES[0].0;
    let all = urls(&erp);
    assert!(all[0].ends_with("/api/v2.0/companies"), "{all:#?}");
    assert!(
        all[1].contains(&format!("/api/v2.0/companies({company_id})/customers?")),
        "{all:#?}"
    );
    // The id is looked up once per connector.
    run_unit(&conn, "items", None).await;
    assert_eq!(
        urls(&erp)
            .iter()
            .filter(|u| u.ends_with("/companies"))
            .count(),
        1
    );
    // Case does not matter when only one company matches.
    let conn = build(&settings(&erp, "cronus ag", ""), "", s.path());
    assert!(run_unit(&conn, "customers", None).await.error.is_none());

    // A wrong name: `kontor check` and the run fail with the names there are.
    let conn = build(&settings(&erp, "CRONUS Deutschland", ""), "", s.path());
    let err = conn.check().await.unwrap_err().to_string();
    for name in [
        "\"CRONUS AG\"",
        "\"CRONUS International Ltd.\"",
        "\"My Company\"",
    ] {
        assert!(err.contains(name), "{err}");
    }
    assert!(
        err.contains("company") && err.contains("CRONUS Deutschland"),
        "{err}"
    );
    let units = conn.discover().await.unwrap();
    let err = conn
        .open(&units[0], None)
        .await
        .err()
        .expect("wrong company fails")
        .to_string();
    assert!(
        err.starts_with("configuration:") && err.contains("\"My Company\""),
        "{err}"
    );
    assert!(!err.contains(mock::BC_CLIENT_SECRET));

    // No company at all: a configuration error naming the key.
    let no_company = settings(&erp, "x", "").replace("company = \"x\"\n", "");
    let err = try_build(&no_company, "", s.path())
        .err()
        .expect("company is required");
    assert_eq!(err.key, ["company"], "{err}");
}

#[tokio::test]
async fn pages_follow_the_next_link_and_never_send_top() {
    let s = secrets();
    let erp = MockErp::start("business-central").await;
    let conn = build(
        &settings(&erp, mock::BC_COMPANY, "page_size = 2"),
        "",
        s.path(),
    );
    let mut states = HashMap::new();
    let runs = run_all(&conn, &mut states).await;
    for (stream, n) in [
        ("customers", 5),
        ("salesInvoices", 6),
        ("salesCreditMemos", 2),
        ("salesOrders", 3),
        ("items", 5),
    ] {
        assert!(
            runs[stream].error.is_none(),
            "{stream}: {:?}",
            runs[stream].error
        );
        assert_eq!(runs[stream].records().len(), n, "{stream}");
    }
    let all = urls(&erp);
    assert!(
        all.iter()
            .all(|u| !u.contains("$top") && !u.contains("%24top")),
        "{all:#?}"
    );
    // Three pages of invoices: two of them by the server's link.
    let invoice_pages: Vec<&String> = all
        .iter()
        .filter(|u| u.contains("/salesInvoices"))
        .collect();
    assert_eq!(invoice_pages.len(), 3, "{invoice_pages:#?}");
    assert!(invoice_pages[1..].iter().all(|u| u.contains("$skiptoken=")));
    // The orders come with their lines.
    assert!(runs["salesOrders"].trees()[0]["salesOrderLines"].is_array());
}

#[tokio::test]
async fn with_top_the_service_drops_the_next_link() {
    // Why the profile never sends $top: a source that pages by $top gets the first page only.
    let s = secrets();
    let erp = MockErp::start("business-central").await;
    let source = "[[endpoint]]\nstream = \"salesInvoices\"\npaging = { style = \"next_link\", next = \"@odata.nextLink\", size_param = \"$top\" }\n";
    let conn = build(
        &settings(&erp, mock::BC_COMPANY, "page_size = 2"),
        source,
        s.path(),
    );
    let run = run_unit(&conn, "salesInvoices", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.records().len(), 2, "the nextLink is gone with $top");
    assert!(urls(&erp).iter().any(|u| u.contains("$top=2")));
}

fn customer(id: &str, number: &str, stamp: &str) -> Value {
    json!({"id": id, "number": number, "displayName": format!("Kunde {number}"),
        "lastModifiedDateTime": stamp, "@odata.etag": "W/\"x\""})
}

#[tokio::test]
async fn an_interrupted_run_resumes_with_ge_and_loses_no_equal_stamp() {
    let s = secrets();
    let mut data = mock::fixtures::for_flavor(mock::Flavor::BusinessCentral);
    let same = "2026-11-30T09:00:00.123Z";
    data.insert(
        "customers".into(),
        vec![
            customer("a0", "10000", "2026-11-30T08:59:59.999Z"),
            customer("a1", "20000", same),
            customer("a2", "30000", same),
            customer("a3", "40000", same),
            customer("a4", "50000", "2026-11-30T09:00:01.000Z"),
        ],
    );
    let erp = MockErp::start_with(mock::Flavor::BusinessCentral, data).await;
    let conn = build(
        &settings(&erp, mock::BC_COMPANY, "page_size = 2"),
        "",
        s.path(),
    );
    // The first run stops after its first page (a0, a1): that position is committed.
    let units = conn.discover().await.unwrap();
    let unit = units.iter().find(|u| u.key == "customers").unwrap();
    let mut reader = conn.open(unit, None).await.unwrap();
    let first = reader.next_batch().await.unwrap().unwrap();
    drop(reader);
    assert_eq!(first.position["ids"], json!(["a1"]), "{}", first.position);
    erp.clear_log();
    let resumed = run_unit(&conn, "customers", Some(first.position.clone())).await;
    assert!(resumed.error.is_none(), "{:?}", resumed.error);
    assert_eq!(resumed.field("id"), ["a2", "a3", "a4"]);
    assert!(
        urls(&erp)
            .iter()
            .any(|u| u.contains("lastModifiedDateTime%20ge%202026-11-30T09:00:00.123Z")),
        "{:#?}",
        urls(&erp)
    );
    // With `gt` the records sharing the committed stamp would be lost.
    let gt = "[[endpoint]]\nstream = \"customers\"\nsince = { \"$filter\" = \"lastModifiedDateTime gt {since}\" }\n";
    let conn = build(
        &settings(&erp, mock::BC_COMPANY, "page_size = 2"),
        gt,
        s.path(),
    );
    let lossy = run_unit(&conn, "customers", Some(first.position)).await;
    assert_eq!(lossy.field("id"), ["a4"], "gt skips a2 and a3");
}

#[tokio::test]
async fn drift_while_paging_by_next_link_loses_and_doubles_nothing() {
    let s = secrets();
    let erp = MockErp::start("business-central").await;
    let inv = |n: usize| format!("20000000-{n:04x}-ef11-9f8a-6045bdc8c192");
    let (read, unread, new) = (inv(0), inv(4), inv(6));
    let (r, u, nw) = (read.clone(), unread.clone(), new.clone());
    // Request 1 is the company lookup, 2 the first page of invoices: change the data after it.
    erp.on_request(move |d, n| {
        if n == 3 {
            assert!(d.modify("salesInvoices", &r, "remainingAmount", json!(0)));
            assert!(d.modify("salesInvoices", &u, "remainingAmount", json!(0)));
            d.insert(
                "salesInvoices",
                json!({"id": nw, "number": "103007", "customerNumber": "10000", "status": "Open",
                    "invoiceDate": "2026-12-01", "totalAmountIncludingTax": 11.9, "remainingAmount": 11.9}),
            );
        }
    });
    let conn = build(
        &settings(&erp, mock::BC_COMPANY, "page_size = 2"),
        "",
        s.path(),
    );
    let run = run_unit(&conn, "salesInvoices", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    let got: Vec<(String, String)> = run
        .trees()
        .iter()
        .map(|t| (t["id"].as_str().unwrap().to_owned(), t.to_string()))
        .collect();
    // Every record as it is now arrived, and no version twice.
    for rec in erp.records("salesInvoices") {
        let text = rec.to_string();
        assert_eq!(
            got.iter()
                .filter(|(_, t)| serde_json::from_str::<Value>(t).unwrap() == rec)
                .count(),
            1,
            "{text}"
        );
    }
    let count = |id: &str| got.iter().filter(|(i, _)| i == id).count();
    // Read before the change and again after it; read once, after its change; the new one.
    assert_eq!(
        (count(&read), count(&unread), count(&new)),
        (2, 1, 1),
        "{got:#?}"
    );
    assert_eq!(got.len(), 6 + 2);
}

#[tokio::test]
async fn an_expired_token_mid_run_is_replaced_once() {
    let s = secrets();
    let erp = MockErp::start("business-central").await;
    let conn = build(
        &settings(&erp, mock::BC_COMPANY, "page_size = 2"),
        "",
        s.path(),
    );
    let units = conn.discover().await.unwrap();
    let unit = units.iter().find(|u| u.key == "salesInvoices").unwrap();
    let mut reader = conn.open(unit, None).await.unwrap();
    let mut n = reader.next_batch().await.unwrap().unwrap().items.len();
    assert_eq!(erp.logins(), 1);
    erp.fail_next(Fault::ExpireSessions, 1);
    while let Some(b) = reader.next_batch().await.unwrap() {
        n += b.items.len();
    }
    assert_eq!(n, 6);
    assert_eq!(erp.logins(), 2, "one new token");
    let statuses: Vec<u16> = erp.requests().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        1,
        "{statuses:?}"
    );

    // A token refused again right after the new one fails the run (no loop), without secrets.
    erp.fail_next(Fault::ExpireSessions, 2);
    let err = run_unit(&conn, "customers", None)
        .await
        .error
        .expect("fails")
        .to_string();
    assert!(
        err.contains("authentication failed") && err.contains("401"),
        "{err}"
    );
    assert!(
        !err.contains(mock::BC_CLIENT_SECRET) && !err.contains("eyJ0eXAi"),
        "{err}"
    );
    assert_eq!(erp.logins(), 3);
}

#[tokio::test]
async fn tokens_are_renewed_before_they_expire() {
    let s = secrets();
    let erp = MockErp::start("business-central").await;
    // expires_in 31 s: the connector renews 30 s early, i.e. after 1 s.
    erp.bc_token_lifetime(31);
    let conn = build(&settings(&erp, mock::BC_COMPANY, ""), "", s.path());
    assert!(run_unit(&conn, "customers", None).await.error.is_none());
    assert!(run_unit(&conn, "customers", None).await.error.is_none());
    assert_eq!(erp.logins(), 1, "still valid");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(run_unit(&conn, "customers", None).await.error.is_none());
    assert_eq!(erp.logins(), 2, "renewed");
    assert!(erp.requests().iter().all(|r| r.status != 401));
}

#[tokio::test]
async fn a_429_storm_is_ridden_out_with_retry_after() {
    let s = secrets();
    let erp = MockErp::start("business-central").await;
    // The service allows 3 requests per second; the connector is told it may send 1000/s.
    erp.bc_rate_limit(3, Duration::from_secs(1));
    let conn = build(
        &settings(
            &erp,
            mock::BC_COMPANY,
            "page_size = 2\nrate_limit = \"1000/s\"\nstreams = [\"customers\", \"salesInvoices\"]",
        ),
        "",
        s.path(),
    );
    let runs = run_all(&conn, &mut HashMap::new()).await;
    assert!(
        runs["customers"].error.is_none(),
        "{:?}",
        runs["customers"].error
    );
    assert!(
        runs["salesInvoices"].error.is_none(),
        "{:?}",
        runs["salesInvoices"].error
    );
    assert_eq!(runs["customers"].records().len(), 5);
    assert_eq!(runs["salesInvoices"].records().len(), 6);
    let log = erp.requests();
    let throttled: Vec<usize> = (0..log.len()).filter(|i| log[*i].status == 429).collect();
    assert!(
        throttled.len() >= 2,
        "{:?}",
        log.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for i in throttled {
        let next = log.get(i + 1).expect("a request after the 429");
        let waited = next.at - log[i].at;
        assert!(
            waited >= Duration::from_millis(950),
            "Retry-After not honoured: {waited:?}"
        );
    }
}

#[tokio::test]
async fn the_documented_rate_limit_is_the_default() {
    let info = kontor_rest::profile_info("business-central").unwrap();
    // 6,000 per 5 minutes, evenly spaced.
    assert_eq!(info.rate_limit.as_deref(), Some("1200/min"));
    let stanza = info.stanza("bc");
    assert!(stanza.contains("company = \"CRONUS AG\""), "{stanza}");
    assert!(stanza.contains("tenant = "), "{stanza}");
    assert!(
        stanza.contains("scope = \"https://api.businesscentral.dynamics.com/.default\""),
        "{stanza}"
    );
    let full: Vec<&str> = info
        .streams
        .iter()
        .filter(|s| s.increment == "full read each run")
        .map(|s| s.stream.as_str())
        .collect();
    assert_eq!(full, ["items"]);
}
