//! The Xentral profile's quirks against the mock: 429 storms with `Retry-After` and
//! `X-RateLimit-*`, an expired personal access token, money as strings and numbers, the
//! customers page cap of 100, equal `updatedAt` stamps across a resume, records changed while
//! paging, and stock read per product.

mod common;

use common::*;
use kontor_rest::mock::{self, Fault, Flavor, MockErp};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

fn secrets() -> Secrets {
    Secrets::new(&[("xentral", mock::XENTRAL_TOKEN)])
}

/// The profile with the test's page size; `rate_limit` lifts the documented 100/min unless the
/// test sets its own.
fn settings(erp: &MockErp, extra: &str) -> String {
    let rate = if extra.contains("rate_limit") {
        ""
    } else {
        "rate_limit = \"1000/s\"\n"
    };
    format!(
        "base_url = \"{}\"\nprofile = \"xentral\"\nauth = {{ kind = \"bearer\", token_file = \"xentral\" }}\n{rate}{extra}",
        erp.uri()
    )
}

fn query_value(url: &str, key: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn a_429_storm_is_waited_out_by_retry_after() {
    let s = secrets();
    let erp = MockErp::start("xentral").await;
    // Three requests per second: every few requests the window is used up.
    erp.enforce_rate_limit(3, Duration::from_secs(1));
    let conn = build(
        &settings(
            &erp,
            "page_size = 2\nmax_retries = 3\nmax_retry_wait = \"5s\"",
        ),
        "",
        s.path(),
    );
    let runs = run_all(&conn, &mut HashMap::new()).await;
    for (stream, n) in [
        ("customers", 4),
        ("invoices", 5),
        ("salesOrders", 3),
        ("creditNotes", 1),
        ("stock", 5),
    ] {
        let run = &runs[stream];
        assert!(run.error.is_none(), "{stream}: {:?}", run.error);
        assert_eq!(run.records().len(), n, "{stream}");
    }
    let log = erp.requests();
    let limited: Vec<usize> = (0..log.len()).filter(|&i| log[i].status == 429).collect();
    assert!(limited.len() >= 3, "no storm: {log:#?}");
    // Retry-After is honoured: the retry after a 429 lands in the next window and succeeds
    // (with the 5 ms test backoff alone it would meet 429 again).
    for &i in &limited {
        let next = log.get(i + 1).expect("a retry follows");
        assert_eq!(next.status, 200, "{:#?}", &log[i..=i + 1]);
        assert!(next.at.duration_since(log[i].at) >= Duration::from_millis(200));
    }

    // The headers themselves, as the documentation lists them.
    let http = reqwest::Client::new();
    let url = format!("{}/api/v3/customers", erp.uri());
    let mut seen_429 = None;
    for _ in 0..5 {
        let r = http
            .get(&url)
            .bearer_auth(mock::XENTRAL_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["x-ratelimit-limit"], "3");
        assert!(r.headers().contains_key("x-ratelimit-remaining"));
        if r.status() == 429 {
            seen_429 = Some(r);
            break;
        }
    }
    let r = seen_429.expect("the fourth request in a window is refused");
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(wait, 1);
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
    let reset: u64 = r.headers()["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(reset >= now && reset <= now + 2, "{reset} vs {now}");
}

#[tokio::test]
async fn a_retry_after_beyond_max_retry_wait_fails_and_the_next_run_resumes() {
    let s = secrets();
    let erp = MockErp::start("xentral").await;
    // One request per minute: the second page is refused with Retry-After ≈ 60 s.
    erp.enforce_rate_limit(1, Duration::from_secs(60));
    let conn = build(
        &settings(&erp, "page_size = 2\nmax_retry_wait = \"2s\""),
        "",
        s.path(),
    );
    let first = run_unit(&conn, "customers", None).await;
    let err = first
        .error
        .as_ref()
        .expect("the storm outlasts max_retry_wait")
        .to_string();
    assert!(
        err.contains("HTTP 429") && err.contains("max_retry_wait"),
        "{err}"
    );
    assert_eq!(first.field("id"), ["2001", "2002"]);
    // The limit lifts; the next run continues at the committed cursor.
    erp.enforce_rate_limit(1000, Duration::from_secs(60));
    let second = run_unit(&conn, "customers", first.committed()).await;
    assert!(second.error.is_none(), "{:?}", second.error);
    assert_eq!(second.field("id"), ["2003", "2004"]);
}

#[tokio::test]
async fn an_expired_token_fails_naming_the_personal_access_token() {
    let s = secrets();
    let erp = MockErp::start("xentral").await;
    let conn = build(&settings(&erp, "page_size = 2"), "", s.path());
    let units = conn.discover().await.unwrap();
    let unit = units.iter().find(|u| u.key == "invoices").unwrap();
    let mut reader = conn.open(unit, None).await.unwrap();
    let page = reader.next_batch().await.unwrap().unwrap();
    assert_eq!(page.items.len(), 2);
    // The token reaches its expiry date between two pages.
    erp.fail_next(Fault::ExpireSessions, 1);
    let err = reader.next_batch().await.unwrap_err().to_string();
    for needle in ["401", "personal access token", "expired", "180 days"] {
        assert!(err.contains(needle), "`{needle}` missing: {err}");
    }
    assert!(!err.contains(mock::XENTRAL_TOKEN), "{err}");
    // A bearer token cannot be renewed by the connector: exactly one 401, no loop.
    let unauthorized = erp.requests().iter().filter(|r| r.status == 401).count();
    assert_eq!(unauthorized, 1);
    // Every later run says the same until the token is replaced.
    let again = run_unit(&conn, "customers", None).await;
    let err = again.error.expect("still expired").to_string();
    assert!(err.contains("expired"), "{err}");
}

#[tokio::test]
async fn money_amounts_keep_their_exact_text_as_strings_and_numbers() {
    let s = secrets();
    let mut data = mock::fixtures::for_flavor(Flavor::Xentral);
    let invoices = data.get_mut("invoices").unwrap();
    // More digits than an f64 holds, once as a number and once as a string.
    invoices[0]["totals"]["gross"]["amount"] =
        serde_json::from_str("13.370000000000000001").unwrap();
    invoices[1]["totals"]["gross"]["amount"] = json!("2916.100000000000000001");
    let erp = MockErp::start_with(Flavor::Xentral, data).await;
    let conn = build(&settings(&erp, ""), "", s.path());
    let run = run_unit(&conn, "invoices", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    let gross: Vec<String> = run
        .trees()
        .iter()
        .map(|t| t["totals"]["gross"]["amount"].to_string())
        .collect();
    assert_eq!(
        gross,
        [
            "13.370000000000000001",
            "\"2916.100000000000000001\"",
            "452.20",
            "\"15339.10\"",
            "118.88"
        ]
    );
}

#[tokio::test]
async fn customers_pages_are_capped_at_100_as_the_api_demands() {
    let s = secrets();
    let mut data = mock::fixtures::for_flavor(Flavor::Xentral);
    let template = data["customers"][0].clone();
    let customers: Vec<Value> = (0..250)
        .map(|i| {
            let mut c = template.clone();
            c["id"] = json!(format!("{}", 10_000 + i));
            c["updatedAt"] = json!(format!(
                "2026-02-{:02}T10:{:02}:00+01:00",
                1 + i / 60,
                i % 60
            ));
            c
        })
        .collect();
    data.insert("customers".into(), customers);
    let erp = MockErp::start_with(Flavor::Xentral, data).await;
    // The user asks for 500 per page; customers stay at 100, invoices take 500.
    let conn = build(&settings(&erp, "page_size = 500"), "", s.path());
    let runs = run_all(&conn, &mut HashMap::new()).await;
    let cust = &runs["customers"];
    assert!(cust.error.is_none(), "{:?}", cust.error);
    let ids: HashSet<String> = cust.field("id").into_iter().collect();
    assert_eq!((cust.records().len(), ids.len()), (250, 250));
    assert!(cust.batches.iter().all(|b| b.items.len() <= 100));
    for r in erp.requests() {
        let size = query_value(&r.url, "page[size]");
        if r.url.contains("/api/v3/customers") {
            assert_eq!(size.as_deref(), Some("100"), "{}", r.url);
        } else if r.url.contains("/api/v3/invoices") {
            assert_eq!(size.as_deref(), Some("500"), "{}", r.url);
        }
    }
    // What the API answers to a larger customers page: a 400 validation problem.
    let r = reqwest::Client::new()
        .get(format!("{}/api/v3/customers?page%5Bsize%5D=101", erp.uri()))
        .bearer_auth(mock::XENTRAL_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(
        body["type"],
        "https://api.xentral.biz/problems/request-validation"
    );
    assert!(
        body["violations"]["page"]["size"][0]
            .as_str()
            .unwrap()
            .contains("100")
    );
}

/// Five customers share one `updatedAt`. A run fails after its first page; the next run starts
/// at the committed cursor (that instant, two ids) and must deliver the other three — with a
/// `greaterThan` filter they would be lost, so the profile uses `greaterThanOrEquals`.
#[tokio::test]
async fn equal_stamps_across_a_resume_lose_and_repeat_nothing() {
    let s = secrets();
    let mut data = mock::fixtures::for_flavor(Flavor::Xentral);
    let template = data["customers"][0].clone();
    let customers: Vec<Value> = (0..5)
        .map(|i| {
            let mut c = template.clone();
            c["id"] = json!(format!("{}", 7001 + i));
            c["updatedAt"] = json!("2026-02-15T09:00:00+01:00");
            c
        })
        .collect();
    data.insert("customers".into(), customers);
    let erp = MockErp::start_with(Flavor::Xentral, data).await;
    let conn = build(&settings(&erp, "page_size = 2"), "", s.path());
    // The second request fails for good (a 404 is not retried).
    erp.on_request(|_, _| {});
    let units = conn.discover().await.unwrap();
    let unit = units.iter().find(|u| u.key == "customers").unwrap();
    let mut reader = conn.open(unit, None).await.unwrap();
    let first = reader.next_batch().await.unwrap().unwrap();
    erp.fail_next(
        Fault::Status {
            code: 404,
            retry_after: None,
        },
        1,
    );
    assert!(reader.next_batch().await.is_err());
    let committed = first.position.clone();
    assert_eq!(committed["ids"], json!(["7001", "7002"]), "{committed}");
    assert_eq!(committed["modified"], "2026-02-15T08:00:00Z");

    erp.clear_log();
    let second = run_unit(&conn, "customers", Some(committed)).await;
    assert!(second.error.is_none(), "{:?}", second.error);
    assert_eq!(second.field("id"), ["7003", "7004", "7005"]);
    let urls: Vec<String> = erp.requests().into_iter().map(|r| r.url).collect();
    assert!(
        urls.iter().all(|u| {
            query_value(u, "filter[0][op]").as_deref() == Some("greaterThanOrEquals")
                && query_value(u, "filter[0][value]").as_deref() == Some("2026-02-15T08:00:00Z")
        }),
        "{urls:#?}"
    );
}

/// A sales order changes while the connector pages through the list: the changed order moves
/// to the end of the `updatedAt` order and is delivered in its new version; nothing twice.
#[tokio::test]
async fn a_record_updated_while_paging_arrives_once_in_its_new_version() {
    let s = secrets();
    let erp = MockErp::start("xentral").await;
    erp.on_request(|d, n| {
        if n == 2 {
            // 5001 was on page 1; 5003 not read yet.
            d.modify(
                "salesOrders",
                "5001",
                "desiredDeliveryDate",
                json!("2026-03-31"),
            );
            d.modify("salesOrders", "5003", "status", json!("completed"));
        }
    });
    let conn = build(&settings(&erp, "page_size = 2"), "", s.path());
    let run = run_unit(&conn, "salesOrders", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    let versions: Vec<String> = run.trees().iter().map(|t| t.to_string()).collect();
    let unique: HashSet<&String> = versions.iter().collect();
    assert_eq!(
        unique.len(),
        versions.len(),
        "a version twice: {versions:#?}"
    );
    for rec in erp.records("salesOrders") {
        assert!(run.trees().contains(&&rec), "lost {rec}");
    }
    assert_eq!(run.field("id"), ["5001", "5002", "5001", "5003"]);
}

#[tokio::test]
async fn stock_is_read_per_product_with_the_product_attached() {
    let s = secrets();
    let erp = MockErp::start("xentral").await;
    let conn = build(&settings(&erp, "page_size = 3"), "", s.path());
    let run = run_unit(&conn, "stock", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    let got: Vec<(String, String, String)> = run
        .trees()
        .iter()
        .map(|t| {
            (
                t["product"]["number"].as_str().unwrap().to_owned(),
                t["warehouse"]["name"].as_str().unwrap().to_owned(),
                t["physical"].to_string(),
            )
        })
        .collect();
    assert_eq!(got.len(), 5, "{got:?}");
    assert!(got.contains(&("SCHR-M8".into(), "Außenlager Süd".into(), "300".into())));
    let urls: Vec<String> = erp.requests().into_iter().map(|r| r.url).collect();
    // Two pages of products (3 + 1), one stock request per product.
    assert_eq!(
        urls.iter().filter(|u| u.contains("/stocks")).count(),
        4,
        "{urls:#?}"
    );
    assert_eq!(
        urls.iter()
            .filter(|u| u.contains("/api/v1/products?"))
            .count(),
        2,
        "{urls:#?}"
    );
    let pos = run.committed().unwrap();
    assert_eq!(
        (pos["full_refresh"].as_bool(), pos["records"].as_u64()),
        (Some(true), Some(5))
    );

    // A product deleted between the list and its stock request fails the run (404); the
    // next full read no longer lists it.
    let erp = MockErp::start("xentral").await;
    let conn = build(&settings(&erp, "page_size = 3"), "", s.path());
    erp.on_request(|d, n| {
        // Request 1 lists the products, request 2 reads 6001's stock.
        if n == 2 {
            d.remove("products", "6002");
        }
    });
    let run = run_unit(&conn, "stock", None).await;
    let err = run.error.expect("404 for the deleted product").to_string();
    assert!(
        err.contains("404") && err.contains("/api/v1/products/6002/stocks"),
        "{err}"
    );
}
