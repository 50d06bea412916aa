//! The `jtl-wawi` profile against the JTL-Wawi mock: paging by `HasNextPage` (also when the
//! server caps the page size), creation-date increments with a periodic full re-scan
//! (`full_every`, position `full_scan_at`), 429/503 with `Retry-After`, wrong key and app.

mod common;

use common::*;
use kontor_rest::mock::{self, Fault, Flavor, MockErp};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

fn secrets(key: &str) -> Secrets {
    Secrets::new(&[("jtl", key)])
}

fn settings(erp: &MockErp, extra: &str) -> String {
    format!(
        "base_url = \"{}\"\nprofile = \"jtl-wawi\"\n\
         auth = {{ kind = \"api_key\", header = \"Authorization\", prefix = \"Wawi \", key_file = \"jtl\" }}\n\
         page_size = 2\n{extra}",
        erp.uri()
    )
}

fn data_requests(erp: &MockErp, path: &str) -> Vec<String> {
    erp.requests()
        .into_iter()
        .map(|r| r.url)
        .filter(|u| u.contains(path))
        .collect()
}

#[tokio::test]
async fn paging_stops_on_has_next_page_without_an_extra_request() {
    let s = secrets(mock::JTL_API_KEY);
    let erp = MockErp::start("jtl-wawi").await;
    let conn = build(&settings(&erp, ""), "", s.path());
    // 4 customers, 2 per page: the second page says HasNextPage = false, so no third
    // (empty) request as a short-page rule would need.
    let run = run_unit(&conn, "customers", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.field("Id"), ["101", "102", "103", "104"]);
    let urls = data_requests(&erp, "/v1/customers");
    assert_eq!(urls.len(), 2, "{urls:#?}");
    assert!(urls[1].contains("pageNumber=2") && urls[1].contains("pageSize=2"));
    assert!(
        urls[0].contains("sortBy=Id"),
        "a full scan sorts by id: {urls:#?}"
    );
}

fn many_customers(n: usize) -> BTreeMap<String, Vec<Value>> {
    let mut data = mock::fixtures::for_flavor(Flavor::JtlWawi);
    let list = (0..n)
        .map(|i| {
            json!({"Id": 10_000 + i, "Number": format!("K{i:05}"),
                   "BillingAddress": {"Company": format!("Firma {i}")},
                   "CreationDate": format!("2026-01-{:02}T{:02}:{:02}:00.000", 1 + i / 1440 % 28, i / 60 % 24, i % 60)})
        })
        .collect();
    data.insert("customers".into(), list);
    data
}

#[tokio::test]
async fn a_server_that_caps_the_page_size_is_paged_by_its_flag() {
    let s = secrets(mock::JTL_API_KEY);
    let n = mock::JTL_MAX_PAGE_SIZE * 2 + 100;
    let erp = MockErp::start_with(Flavor::JtlWawi, many_customers(n)).await;
    let big = settings(&erp, "streams = [\"customers\"]").replace(
        "page_size = 2",
        &format!("page_size = {}", mock::JTL_MAX_PAGE_SIZE + 300),
    );
    let conn = build(&big, "", s.path());
    let run = run_unit(&conn, "customers", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    let ids = run.field("Id");
    assert_eq!(ids.len(), n);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), n, "duplicates");
    // The same server paged by the short-page rule alone stops after its first page.
    let source = "[[endpoint]]\nstream = \"customers\"\n\
                  paging = { style = \"page\", page_param = \"pageNumber\", size_param = \"pageSize\" }\n";
    let conn = build(&big, source, s.path());
    let run = run_unit(&conn, "customers", None).await;
    assert_eq!(run.records().len(), mock::JTL_MAX_PAGE_SIZE);
}

#[tokio::test]
async fn a_full_rescan_after_full_every_finds_a_change_the_creation_window_misses() {
    let s = secrets(mock::JTL_API_KEY);
    let erp = MockErp::start("jtl-wawi").await;
    let conn = build(&settings(&erp, "streams = [\"customers\"]"), "", s.path());
    let mut states = HashMap::new();
    // First run: a full scan (no position yet), committed with its time.
    let first = run_all(&conn, &mut states).await;
    assert_eq!(first["customers"].records().len(), 4);
    let pos = states["customers"].clone();
    let at = pos["full_scan_at"]
        .as_str()
        .expect("full_scan_at")
        .to_owned();
    chrono::DateTime::parse_from_rfc3339(&at).expect("RFC 3339");
    assert_eq!(pos["modified"], "2026-02-15T08:04:00", "{pos}");

    // A customer changes; its creation date does not.
    assert!(erp.with_data(|d| d.modify("customers", "102", "VatId", json!("DE999999999"))));
    erp.clear_log();
    let second = run_all(&conn, &mut states).await;
    assert!(
        second["customers"].records().is_empty(),
        "the creation window cannot see the change"
    );
    let urls = data_requests(&erp, "/v1/customers");
    assert!(
        urls.iter()
            .all(|u| u.contains("CreationDateAfter=2026-02-15T08:03:59.000")),
        "{urls:#?}"
    );
    assert_eq!(states["customers"]["full_scan_at"], at.as_str(), "carried");

    // The last full scan is older than full_every (24h): this run reads everything again.
    let old = (chrono::Utc::now() - chrono::Duration::hours(25))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut stale = states["customers"].clone();
    stale["full_scan_at"] = json!(old);
    states.insert("customers".into(), stale.clone());
    erp.clear_log();
    let third = run_all(&conn, &mut states).await;
    let run = &third["customers"];
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.field("Id"), ["101", "102", "103", "104"]);
    assert_eq!(run.trees()[1]["VatId"], "DE999999999");
    // Until the last page the scan commits the old position: a scan that dies is done again.
    assert_eq!(run.batches[0].position, stale);
    let done = run.committed().unwrap();
    assert_ne!(done["full_scan_at"], json!(old), "{done}");
    assert_eq!(done["modified"], "2026-02-15T08:04:00");
    assert!(
        data_requests(&erp, "/v1/customers")
            .iter()
            .all(|u| !u.contains("CreationDateAfter")),
        "a full scan has no filter"
    );

    // A position that is not understood (bad time) is not trusted: a full scan.
    let mut bad = done.clone();
    bad["full_scan_at"] = json!("gestern");
    let run = run_unit(&conn, "customers", Some(bad)).await;
    assert_eq!(run.records().len(), 4);

    // full_every as a connector setting; an invalid one is a config error.
    assert!(
        try_build(&settings(&erp, "full_every = \"0s\""), "", s.path()).is_err(),
        "0s"
    );
    assert!(try_build(&settings(&erp, "full_every = \"soon\""), "", s.path()).is_err());
}

#[tokio::test]
async fn a_new_record_is_read_by_its_creation_date() {
    let s = secrets(mock::JTL_API_KEY);
    let erp = MockErp::start("jtl-wawi").await;
    let conn = build(&settings(&erp, "streams = [\"salesOrders\"]"), "", s.path());
    let mut states = HashMap::new();
    run_all(&conn, &mut states).await;
    erp.with_data(|d| {
        d.insert(
            "salesOrders",
            json!({"Id": 399, "Number": "AB-2026-0099", "CustomerId": 101}),
        )
    });
    let runs = run_all(&conn, &mut states).await;
    assert_eq!(runs["salesOrders"].field("Id"), ["399"]);
}

#[tokio::test]
async fn retry_after_is_honoured_on_429_and_503() {
    let s = secrets(mock::JTL_API_KEY);
    let erp = MockErp::start("jtl-wawi").await;
    let conn = build(
        &settings(&erp, "streams = [\"invoices\"]\nmax_retries = 4"),
        "",
        s.path(),
    );
    erp.fail_next(
        Fault::Status {
            code: 429,
            retry_after: Some("1".into()),
        },
        1,
    );
    erp.fail_next(
        Fault::Status {
            code: 503,
            retry_after: Some("1".into()),
        },
        1,
    );
    let run = run_unit(&conn, "invoices", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.records().len(), 5);
    let seen = erp.requests();
    let statuses: Vec<u16> = seen.iter().map(|r| r.status).collect();
    assert_eq!(&statuses[..3], [429, 503, 200], "{statuses:?}");
    for w in seen.windows(2).take(2) {
        let gap = w[1].at - w[0].at;
        assert!(gap >= Duration::from_millis(950), "waited only {gap:?}");
    }
}

#[tokio::test]
async fn a_wrong_key_or_app_fails_clearly_without_showing_the_key() {
    let erp = MockErp::start("jtl-wawi").await;
    let s = secrets("falscher-schluessel-123");
    let conn = build(&settings(&erp, ""), "", s.path());
    let err = run_unit(&conn, "customers", None)
        .await
        .error
        .expect("401")
        .to_string();
    assert!(
        err.contains("401") && err.contains("invalid API key"),
        "{err}"
    );
    assert!(!err.contains("falscher-schluessel-123"), "{err}");

    // The right key, but an app the Wawi does not know (connector `headers` override the
    // profile's defaults).
    let s = secrets(mock::JTL_API_KEY);
    let conn = build(
        &settings(
            &erp,
            "headers = { \"x-appid\" = \"fremde-app/v1\", \"X-AppVersion\" = \"2.0\" }",
        ),
        "",
        s.path(),
    );
    let err = run_unit(&conn, "customers", None)
        .await
        .error
        .expect("401")
        .to_string();
    assert!(err.contains("unknown app"), "{err}");
    assert!(!err.contains(mock::JTL_API_KEY), "{err}");
    let conn = build(&settings(&erp, ""), "", s.path());
    let run = run_unit(&conn, "customers", None).await;
    assert!(run.error.is_none());
    for b in &run.batches {
        assert!(!b.position.to_string().contains(mock::JTL_API_KEY));
        for r in b.items.iter() {
            if let kontor_connector::Item::Record(r) = r {
                assert!(!r.position.to_string().contains(mock::JTL_API_KEY));
            }
        }
    }
    assert!(
        !format!("{:?}", build_rest(&settings(&erp, ""), "", s.path())).contains(mock::JTL_API_KEY)
    );
}
