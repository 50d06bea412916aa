//! The `lexoffice` profile against its mock: customer numbers looked up for vouchers, the
//! collective customer, the 2 requests/s limit (429 storms), the voucherlist's 10,000-entry
//! window, vouchers changed while paging, and a wrong API key.

mod common;

use common::*;
use kontor_rest::mock::{self, Flavor, MockErp};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};

fn secrets() -> Secrets {
    Secrets::new(&[("key", mock::LEXOFFICE_TOKEN)])
}

/// `extra` lines win over the defaults below (later TOML keys would be duplicates, so the
/// defaults are only added when `extra` does not set them).
fn settings(erp: &MockErp, extra: &str) -> String {
    let mut s = format!(
        "base_url = \"{}\"\nprofile = \"lexoffice\"\nauth = {{ kind = \"bearer\", token_file = \"key\" }}\n{extra}\n",
        erp.uri()
    );
    if !extra.contains("rate_limit") {
        s.push_str("rate_limit = \"1000/s\"\n");
    }
    s
}

fn voucher(i: usize, day: u32, contact: Option<&str>) -> Value {
    let mut v = json!({
        "id": format!("00000000-0000-4000-8000-{i:012}"),
        "voucherType": if i.is_multiple_of(10) { "creditnote" } else { "invoice" },
        "voucherStatus": "open",
        "voucherNumber": format!("RE{i:06}"),
        "voucherDate": "2025-11-03T00:00:00.000+01:00",
        "updatedDate": format!("{}T09:{:02}:{:02}.000+01:00", day_of(day), i / 60 % 60, i % 60),
        "dueDate": "2025-12-03T00:00:00.000+01:00",
        "contactName": "Brauhaus Kranz GmbH",
        "totalAmount": serde_json::from_str::<Value>(&format!("{}.{:02}", 100 + i, i % 100)).unwrap(),
        "openAmount": 0,
        "currency": "EUR",
        "archived": false,
    });
    if let Some(c) = contact {
        v["contactId"] = json!(c);
    }
    v
}

/// `day` days after 2025-01-01.
fn day_of(day: u32) -> String {
    (chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Days::new(u64::from(day)))
        .format("%Y-%m-%d")
        .to_string()
}

/// The fixture contacts plus `vouchers`.
async fn mock_with(vouchers: Vec<Value>) -> MockErp {
    let mut data = mock::fixtures::for_flavor(Flavor::Lexoffice);
    data.insert("voucherlist".into(), vouchers);
    MockErp::start_with(Flavor::Lexoffice, data).await
}

fn unique_ids(run: &Run) -> HashSet<String> {
    let ids = run.field("id");
    let set: HashSet<String> = ids.iter().cloned().collect();
    assert_eq!(set.len(), ids.len(), "a voucher delivered twice");
    set
}

fn count(erp: &MockErp, pred: impl Fn(&mock::Seen) -> bool) -> usize {
    erp.requests().iter().filter(|r| pred(r)).count()
}

#[tokio::test]
async fn vouchers_get_the_customer_number_of_their_contact_once_per_run() {
    let s = secrets();
    let erp = MockErp::start("lexoffice").await;
    let conn = build(&settings(&erp, ""), "", s.path());
    let mut states = HashMap::new();
    let runs = run_all(&conn, &mut states).await;
    let contacts = &runs["contacts"];
    assert!(contacts.error.is_none(), "{:?}", contacts.error);
    // customer=true leaves the vendor out.
    assert_eq!(contacts.records().len(), 4);
    let vl = &runs["voucherlist"];
    assert!(vl.error.is_none(), "{:?}", vl.error);
    let by_number: BTreeMap<String, Value> = vl
        .trees()
        .into_iter()
        .map(|t| (t["voucherNumber"].as_str().unwrap().to_owned(), t.clone()))
        .collect();
    assert_eq!(by_number.len(), 8);
    assert_eq!(by_number["RE1001"]["KontorCustomerNo"], json!(10001));
    assert_eq!(by_number["GS1001"]["KontorCustomerNo"], json!(10001));
    assert_eq!(by_number["RE1002"]["KontorCustomerNo"], json!(10002));
    assert_eq!(by_number["RE1006"]["KontorCustomerNo"], json!(10003));
    // The collective customer's voucher has no contact: nothing to look up.
    assert!(by_number["RE1004"].get("KontorCustomerNo").is_none());
    // One request per distinct contact (4), not per voucher (7 with a contact).
    let lookups = |erp: &MockErp| count(erp, |r| r.url.contains("/v1/contacts/"));
    assert_eq!(lookups(&erp), 4);
    // The voucherlist request carries the documented required filters and the sort.
    let urls: Vec<String> = erp.requests().into_iter().map(|r| r.url).collect();
    assert!(
        urls.iter().any(|u| u.contains("/v1/voucherlist?")
            && u.contains("voucherType=invoice,creditnote")
            && u.contains("voucherStatus=open,paid,paidoff,voided,transferred,sepadebit")
            && u.contains("sort=updatedDate,ASC")
            && u.contains("page=0")
            && u.contains("size=250")),
        "{urls:#?}"
    );

    // Next run: one voucher paid → one lookup again (the cache lives for one run).
    erp.with_data(|d| {
        d.modify(
            "voucherlist",
            "7e1b0f2a-0003-4c3d-9e8f-000000000003",
            "openAmount",
            json!(0),
        )
    });
    erp.clear_log();
    let runs = run_all(&conn, &mut states).await;
    let vl = &runs["voucherlist"];
    assert_eq!(vl.field("voucherNumber"), ["RE1003"]);
    assert_eq!(vl.trees()[0]["KontorCustomerNo"], json!(10001));
    assert_eq!(lookups(&erp), 1);
}

#[tokio::test]
async fn a_deleted_contact_leaves_the_number_out_and_other_lookup_failures_fail_the_page() {
    let s = secrets();
    let erp = mock_with(vec![
        voucher(1, 1, Some("11111111-2222-4333-8444-555555555555")),
        voucher(2, 2, Some(mock::CONTACT_KRANZ)),
    ])
    .await;
    let conn = build(&settings(&erp, ""), "", s.path());
    let run = run_unit(&conn, "voucherlist", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    let trees = run.trees();
    assert!(trees[0].get("KontorCustomerNo").is_none(), "404: no value");
    assert_eq!(trees[1]["KontorCustomerNo"], json!(10001));

    // A lookup that keeps failing (5xx) fails the run: no voucher with a guessed customer.
    erp.fail_next(mock::Fault::Delay(std::time::Duration::ZERO), 1);
    erp.fail_next(
        mock::Fault::Status {
            code: 502,
            retry_after: None,
        },
        10,
    );
    let run = run_unit(&conn, "voucherlist", None).await;
    let err = run
        .error
        .as_ref()
        .expect("lookup failure fails the run")
        .to_string();
    assert!(err.contains("/v1/contacts/"), "{err}");
    assert!(run.records().is_empty());
}

#[tokio::test]
async fn the_profile_keeps_to_two_requests_per_second_by_default() {
    let s = secrets();
    let erp = MockErp::start("lexoffice").await;
    erp.with_data(|d| d.lexoffice.rate = Some(2.0));
    // No rate_limit in the connector: the profile's documented "2/s" applies.
    let conn = build(
        &settings(&erp, "# no rate_limit: the profile's default"),
        "",
        s.path(),
    );
    let runs = run_all(&conn, &mut HashMap::new()).await;
    assert!(runs.values().all(|r| r.error.is_none()), "{runs:?}");
    assert_eq!(runs["voucherlist"].records().len(), 8);
    assert_eq!(count(&erp, |r| r.status == 429), 0, "{:?}", erp.requests());
}

#[tokio::test]
async fn a_429_storm_is_waited_out_and_nothing_is_read_twice_or_lost() {
    let s = secrets();
    let vouchers: Vec<Value> = (0..40)
        .map(|i| voucher(i, i as u32, Some(mock::CONTACT_KRANZ)))
        .collect();
    let erp = mock_with(vouchers).await;
    erp.with_data(|d| d.lexoffice.rate = Some(2.0));
    // 50/s against an account allowing 2/s: most requests are refused, not executed.
    let conn = build(
        &settings(
            &erp,
            "rate_limit = \"50/s\"\npage_size = 10\nbackoff = \"100ms\"\nmax_backoff = \"400ms\"\nmax_retries = 30\nretry_budget = 1000",
        ),
        "",
        s.path(),
    );
    let run = run_unit(&conn, "voucherlist", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(unique_ids(&run).len(), 40);
    let refused = count(&erp, |r| r.status == 429);
    assert!(refused > 0, "no 429 at all: the storm did not happen");
    // Every 200 the mock gave lies within its bucket: never more than 2 + 2/s × elapsed.
    let ok: Vec<std::time::Instant> = erp
        .requests()
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.at)
        .collect();
    let span = ok.last().unwrap().duration_since(ok[0]).as_secs_f64();
    assert!(
        ok.len() as f64 <= 2.0 + 2.0 * span + 1.0,
        "{} in {span}s",
        ok.len()
    );
}

#[tokio::test]
async fn more_vouchers_than_the_cap_sync_completely_by_moving_the_filter() {
    let s = secrets();
    // 120 vouchers over 40 days, a cap of 50 entries per query, pages of 10: reading by page
    // number alone would need page 11 and get a 500.
    let vouchers: Vec<Value> = (0..120).map(|i| voucher(i, (i / 3) as u32, None)).collect();
    let erp = mock_with(vouchers).await;
    erp.with_data(|d| d.lexoffice.voucherlist_cap = 50);
    let conn = build(&settings(&erp, "page_size = 10"), "", s.path());
    let run = run_unit(&conn, "voucherlist", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(unique_ids(&run).len(), 120);
    assert_eq!(count(&erp, |r| r.status == 500), 0);
    // The mock does enforce the cap.
    let body = reqwest::Client::new()
        .get(format!(
            "{}/v1/voucherlist?voucherType=any&voucherStatus=open&page=5&size=10",
            erp.uri()
        ))
        .bearer_auth(mock::LEXOFFICE_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(body.status().as_u16(), 500);
}

#[tokio::test]
async fn more_than_ten_thousand_vouchers_sync_at_the_documented_cap() {
    let s = secrets();
    let n = 10_300;
    // About 100 changes a day; the real cap of 10,000 and the largest page, 250.
    let vouchers: Vec<Value> = (0..n).map(|i| voucher(i, (i / 100) as u32, None)).collect();
    let erp = mock_with(vouchers).await;
    let conn = build(&settings(&erp, "timeout = \"30s\""), "", s.path());
    let run = run_unit(&conn, "voucherlist", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(unique_ids(&run).len(), n);
    assert_eq!(count(&erp, |r| r.status == 500), 0);
}

#[tokio::test]
async fn more_changes_on_one_day_than_the_cap_fail_clearly_without_skipping() {
    let s = secrets();
    let vouchers: Vec<Value> = (0..60).map(|i| voucher(i, 3, None)).collect();
    let erp = mock_with(vouchers).await;
    erp.with_data(|d| d.lexoffice.voucherlist_cap = 50);
    let source = "[[endpoint]]\nstream = \"voucherlist\"\nmax_results = 50\n";
    let conn = build(&settings(&erp, "page_size = 10"), source, s.path());
    let run = run_unit(&conn, "voucherlist", None).await;
    let err = run
        .error
        .as_ref()
        .expect("cannot page past the cap")
        .to_string();
    assert!(err.contains("max_results") && err.contains("50"), "{err}");
    // The run stopped before asking for what the API would refuse.
    assert_eq!(count(&erp, |r| r.status == 500), 0, "{:?}", erp.requests());
    // What was delivered is a prefix in updatedDate order, and its cursor covers no more.
    let ids = unique_ids(&run);
    assert!(ids.len() <= 50);
}

#[tokio::test]
async fn a_voucher_paid_while_paging_is_delivered_in_its_new_version() {
    let s = secrets();
    let vouchers: Vec<Value> = (0..30)
        .map(|i| voucher(i, i as u32, Some(mock::CONTACT_KRANZ)))
        .collect();
    let erp = mock_with(vouchers).await;
    let first = "00000000-0000-4000-8000-000000000001";
    let later = "00000000-0000-4000-8000-000000000025";
    erp.on_request(move |d, n| {
        if n == 4 {
            d.modify("voucherlist", first, "openAmount", json!(0));
            d.modify("voucherlist", first, "voucherStatus", json!("paid"));
            d.modify("voucherlist", later, "openAmount", json!(12.5));
        }
    });
    let conn = build(&settings(&erp, "page_size = 5"), "", s.path());
    let run = run_unit(&conn, "voucherlist", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    let versions: Vec<Value> = run
        .trees()
        .iter()
        .map(|t| {
            let mut t = (*t).clone();
            t.as_object_mut().unwrap().remove("KontorCustomerNo");
            t
        })
        .collect();
    for (i, v) in versions.iter().enumerate() {
        assert!(!versions[..i].contains(v), "a version twice: {v}");
    }
    for rec in erp.records("voucherlist") {
        assert!(versions.contains(&rec), "lost {rec}");
    }
    let last = run.trees().last().unwrap()["id"].clone();
    assert!(
        last == first || last == later,
        "changed vouchers come last: {last}"
    );
}

#[tokio::test]
async fn a_wrong_key_fails_at_once_with_a_clear_401() {
    let s = Secrets::new(&[("key", "not-the-key-4711")]);
    let erp = MockErp::start("lexoffice").await;
    let conn = build(&settings(&erp, ""), "", s.path());
    let run = run_unit(&conn, "voucherlist", None).await;
    let err = run.error.expect("401").to_string();
    assert!(
        err.contains("authentication failed") && err.contains("401"),
        "{err}"
    );
    assert!(!err.contains("not-the-key-4711"), "{err}");
    assert_eq!(erp.requests().len(), 1, "a 401 is not retried");
}

#[tokio::test]
async fn the_mock_follows_the_documented_filters() {
    let s = secrets();
    let mut vouchers = mock::fixtures::for_flavor(Flavor::Lexoffice)["voucherlist"].clone();
    let mut draft = vouchers[0].clone();
    draft["id"] = json!("draft-1");
    draft["voucherStatus"] = json!("draft");
    let mut quotation = vouchers[0].clone();
    quotation["id"] = json!("quotation-1");
    quotation["voucherType"] = json!("quotation");
    vouchers.extend([draft, quotation]);
    let erp = mock_with(vouchers).await;
    let conn = build(&settings(&erp, ""), "", s.path());
    let run = run_unit(&conn, "voucherlist", None).await;
    let ids = unique_ids(&run);
    assert_eq!(ids.len(), 8);
    assert!(!ids.contains("draft-1") && !ids.contains("quotation-1"));
    let get = |q: &str| {
        let url = format!("{}/v1/voucherlist?{q}", erp.uri());
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(mock::LEXOFFICE_TOKEN)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(get("voucherType=invoice").await.status().as_u16(), 400);
    assert_eq!(
        get("voucherType=invoice&voucherStatus=open,overdue")
            .await
            .status()
            .as_u16(),
        400
    );
    let overdue: Value = serde_json::from_str(
        &get("voucherType=invoice&voucherStatus=overdue")
            .await
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    // Open and past the due date; paid RE1002 is not overdue.
    let numbers: Vec<&str> = overdue["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["voucherNumber"].as_str().unwrap())
        .collect();
    assert!(
        numbers.contains(&"RE1007") && !numbers.contains(&"RE1002"),
        "{numbers:?}"
    );
    assert_eq!(overdue["number"], 0);
    assert!(overdue["totalPages"].is_number() && overdue["last"].is_boolean());
}

#[tokio::test]
async fn a_voucher_changed_while_paging_within_one_day_is_not_skipped() {
    let s = secrets();
    // 30 vouchers changed on one day; pages of 10 that may not grow: the day is read by page
    // number, where a change moves a voucher of page 1 behind all others and shifts the rest.
    let vouchers: Vec<Value> = (0..30)
        .map(|i| voucher(i, 5, Some(mock::CONTACT_KRANZ)))
        .collect();
    let erp = mock_with(vouchers).await;
    let moved = "00000000-0000-4000-8000-000000000003";
    // Requests: 1 page 0 (no filter yet), 2 the contact, 3 page 0 of the day, 4 page 1 …
    erp.on_request(move |d, n| {
        if n == 4 {
            d.modify("voucherlist", moved, "openAmount", json!(7.5));
        }
    });
    let source = "[[endpoint]]\nstream = \"voucherlist\"\nmax_page_size = 10\n";
    let conn = build(&settings(&erp, "page_size = 10"), source, s.path());
    let run = run_unit(&conn, "voucherlist", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    let ids = run.field("id");
    for rec in erp.records("voucherlist") {
        let id = rec["id"].as_str().unwrap();
        let n = ids.iter().filter(|x| *x == id).count();
        assert_eq!(n, if id == moved { 2 } else { 1 }, "{id}: {ids:?}");
    }
    let last = (*run.trees().last().unwrap()).clone();
    assert_eq!(last["id"], moved);
    assert_eq!(last["openAmount"], json!(7.5));
    // The shift was seen by re-reading the previous page's last voucher alone.
    let urls: Vec<String> = erp.requests().into_iter().map(|r| r.url).collect();
    assert!(
        urls.iter().any(|u| u.contains("page=9&size=1")),
        "{urls:#?}"
    );
}
