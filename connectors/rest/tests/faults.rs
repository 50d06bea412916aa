//! Faults: 429 storms, 5xx, timeouts, truncated bodies, retry limits, rate limit, huge pages,
//! and the cap that keeps the cursor behind the run start.

mod common;

use common::*;
use kontor_rest::mock::{Fault, MockErp, Style};
use serde_json::json;
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SOURCE: &str = r#"[[endpoint]]
stream = "items"
path = "/items"
records = "items"
id_field = "id"
modified_field = "modified"
modified_format = "%Y-%m-%dT%H:%M:%S%.3fZ"
since = { modified_since = "{since}" }
page_size = 10
paging = { style = "offset" }
"#;

fn settings(base: &str, extra: &str) -> String {
    format!(
        "base_url = \"{base}\"\nserver_timezone = \"UTC\"\nauth = {{ kind = \"bearer\", token_file = \"token\" }}\n{extra}"
    )
}

async fn setup(n: usize, extra: &str) -> (MockErp, Secrets, kontor_connector::DynConnector) {
    let erp = MockErp::start_api(Style::Offset, items(n)).await;
    let s = Secrets::new(&[("token", kontor_rest::mock::API_TOKEN)]);
    let conn = build(&settings(&erp.uri(), extra), SOURCE, s.path());
    (erp, s, conn)
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("item-{i:06}")).collect()
}

#[tokio::test]
async fn storm_of_429_honours_retry_after_seconds_and_http_dates() {
    let (erp, _s, conn) = setup(25, "").await;
    let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(5));
    erp.fail_next(
        Fault::Status {
            code: 429,
            retry_after: Some("1".into()),
        },
        2,
    );
    erp.fail_next(
        Fault::Status {
            code: 429,
            retry_after: Some(soon),
        },
        1,
    );
    let run = run_unit(&conn, "items", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.field("id"), ids(25));
    let log = erp.requests();
    assert_eq!(log.iter().filter(|r| r.status == 429).count(), 3);
    // Each retry came no earlier than the server asked.
    assert!(
        log[1].at - log[0].at >= Duration::from_millis(950),
        "{:?}",
        log[1].at - log[0].at
    );
    assert!(log[2].at - log[1].at >= Duration::from_millis(950));
    assert!(
        log[3].at - log[2].at >= Duration::from_millis(900),
        "HTTP date honoured"
    );
}

#[tokio::test]
async fn retry_after_longer_than_max_retry_wait_fails_the_run() {
    let (erp, _s, conn) = setup(5, "max_retry_wait = \"10s\"").await;
    erp.fail_next(
        Fault::Status {
            code: 429,
            retry_after: Some("3600".into()),
        },
        1,
    );
    let run = run_unit(&conn, "items", None).await;
    let err = run.error.expect("must fail").to_string();
    assert!(
        err.contains("3600s") && err.contains("max_retry_wait"),
        "{err}"
    );
    assert!(run.batches.is_empty());
}

#[tokio::test]
async fn intermittent_500s_and_503s_are_retried_with_backoff() {
    let (erp, _s, conn) = setup(25, "").await;
    erp.on_request(|_, _| {});
    erp.fail_next(
        Fault::Status {
            code: 500,
            retry_after: None,
        },
        2,
    );
    erp.fail_next(
        Fault::Status {
            code: 502,
            retry_after: None,
        },
        1,
    );
    let run = run_unit(&conn, "items", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.field("id"), ids(25));
    assert_eq!(erp.requests().iter().filter(|r| r.status >= 500).count(), 3);
}

#[tokio::test]
async fn timeouts_are_retried() {
    let (erp, _s, conn) = setup(25, "timeout = \"300ms\"").await;
    erp.fail_next(Fault::Delay(Duration::from_millis(1500)), 2);
    let run = run_unit(&conn, "items", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.field("id"), ids(25));
}

#[tokio::test]
async fn truncated_json_is_retried_then_fails_without_moving_the_cursor() {
    let (erp, _s, conn) = setup(45, "").await;
    erp.fail_next(Fault::Truncate, 1);
    let ok = run_unit(&conn, "items", None).await;
    assert!(ok.error.is_none(), "{:?}", ok.error);
    assert_eq!(ok.field("id"), ids(45));

    // Page 2 stays broken: the run fails and the last position is page 1's cursor.
    let (erp, _s, conn) = setup(45, "").await;
    erp.on_request(|_, _| {});
    let run = {
        let units = conn.discover().await.unwrap();
        let mut reader = conn.open(&units[0], None).await.unwrap();
        let first = reader.next_batch().await.unwrap().unwrap();
        erp.fail_next(Fault::Truncate, 10);
        let err = reader.next_batch().await.unwrap_err();
        (first, err)
    };
    assert!(run.1.to_string().contains("invalid JSON"), "{}", run.1);
    assert!(
        run.1.to_string().contains("gave up after 5 attempts"),
        "{}",
        run.1
    );
    assert_eq!(
        run.0.position,
        json!({"modified": "2026-01-01T00:09:00", "ids": ["item-000009"]})
    );
}

#[tokio::test]
async fn a_body_cut_off_on_the_wire_is_retried() {
    // A raw server: the first answer promises more bytes than it sends, the second is whole.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let body = r#"{"items": [{"id": "a", "modified": "2026-01-01T00:00:00.000Z"}]}"#;
        for attempt in 0..2 {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await.unwrap();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len() + if attempt == 0 { 500 } else { 0 }
            );
            let sent = if attempt == 0 { &body[..20] } else { body };
            sock.write_all(head.as_bytes()).await.unwrap();
            sock.write_all(sent.as_bytes()).await.unwrap();
            sock.shutdown().await.unwrap();
        }
    });
    let s = Secrets::new(&[("token", "t0ken-value")]);
    let conn = build(&settings(&format!("http://{addr}"), ""), SOURCE, s.path());
    let run = run_unit(&conn, "items", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.field("id"), ["a"]);
    server.await.unwrap();
}

#[tokio::test]
async fn retry_budget_exhausted_fails_cleanly_and_keeps_the_last_good_cursor() {
    let (erp, _s, conn) = setup(45, "max_retries = 10\nretry_budget = 3").await;
    let mut states = std::collections::HashMap::new();
    erp.on_request(|_, _| {});
    // Pages 1 and 2 succeed, then the server keeps failing.
    let runs = {
        let units = conn.discover().await.unwrap();
        let mut reader = conn.open(&units[0], None).await.unwrap();
        for _ in 0..2 {
            let b = reader.next_batch().await.unwrap().unwrap();
            states.insert("items", b.position);
        }
        erp.fail_next(
            Fault::Status {
                code: 503,
                retry_after: None,
            },
            100,
        );
        reader.next_batch().await
    };
    let err = runs.unwrap_err().to_string();
    assert!(err.contains("retry budget of 3 retries used up"), "{err}");
    assert_eq!(erp.requests().len(), 2 + 4, "2 pages, 1 try + 3 retries");
    assert_eq!(
        states["items"],
        json!({"modified": "2026-01-01T00:18:00", "ids": ["item-000018"]})
    );
}

#[tokio::test]
async fn max_retries_per_request_and_non_retryable_statuses() {
    let (erp, _s, conn) = setup(5, "").await;
    erp.fail_next(
        Fault::Status {
            code: 500,
            retry_after: None,
        },
        5,
    );
    let err = run_unit(&conn, "items", None)
        .await
        .error
        .unwrap()
        .to_string();
    assert!(err.contains("gave up after 5 attempts: HTTP 500"), "{err}");

    let (erp, _s, conn) = setup(5, "").await;
    erp.fail_next(
        Fault::Status {
            code: 400,
            retry_after: None,
        },
        1,
    );
    let err = run_unit(&conn, "items", None)
        .await
        .error
        .unwrap()
        .to_string();
    assert!(err.contains("HTTP 400"), "{err}");
    assert_eq!(erp.requests().len(), 1, "no retry of a 400");
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = Secrets::new(&[("token", "t0ken-value")]);
    let conn = build(
        &settings(&format!("http://127.0.0.1:{port}"), ""),
        SOURCE,
        s.path(),
    );
    let err = run_unit(&conn, "items", None)
        .await
        .error
        .unwrap()
        .to_string();
    assert!(
        err.contains("connection failed") && err.contains("5 attempts"),
        "{err}"
    );
}

#[tokio::test]
async fn rate_limit_is_never_exceeded_in_any_one_second_window() {
    let (erp, _s, conn) = setup(150, "rate_limit = \"10/s\"").await;
    let conn2 = conn.clone();
    let start = Instant::now();
    let run = run_unit(&conn2, "items", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.records().len(), 150);
    let times: Vec<Instant> = erp.requests().iter().map(|r| r.at).collect();
    assert!(times.len() >= 16, "{}", times.len());
    for (i, t) in times.iter().enumerate() {
        let in_window = times[i..]
            .iter()
            .filter(|u| **u - *t < Duration::from_secs(1))
            .count();
        assert!(
            in_window <= 10,
            "{in_window} requests within 1 s from request {i}"
        );
    }
    // And it still made progress at about the configured pace.
    assert!(start.elapsed() >= Duration::from_millis(1400));
}

#[tokio::test]
async fn a_huge_page_arrives_as_one_batch() {
    let erp = MockErp::start_api(Style::Offset, items(50_000)).await;
    let s = Secrets::new(&[("token", kontor_rest::mock::API_TOKEN)]);
    let src = SOURCE.replace("page_size = 10", "page_size = 50000");
    let conn = build(&settings(&erp.uri(), "timeout = \"60s\""), &src, s.path());
    let run = run_unit(&conn, "items", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.batches[0].items.len(), 50_000);
    assert_eq!(run.records().len(), 50_000);
    let last = run
        .trees()
        .into_iter()
        .find(|t| t["id"] == "item-049999")
        .unwrap();
    assert_eq!(last["amount"].to_string(), "149997.99");
}

#[tokio::test]
async fn committed_cursor_never_passes_the_run_start() {
    let now = chrono::Utc::now();
    let stamp = |d: chrono::Duration| (now + d).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let list = vec![
        json!({"id": "old", "modified": stamp(chrono::Duration::hours(-3))}),
        json!({"id": "recent", "modified": stamp(chrono::Duration::minutes(-2))}),
        json!({"id": "future", "modified": stamp(chrono::Duration::hours(5))}),
    ];
    let erp = MockErp::start_api(Style::Offset, list).await;
    let s = Secrets::new(&[("token", kontor_rest::mock::API_TOKEN)]);
    let conn = build(
        &settings(&erp.uri(), "safety_margin = \"10m\""),
        SOURCE,
        s.path(),
    );
    let run = run_unit(&conn, "items", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.field("id"), ["old", "recent", "future"]);
    let committed = run.committed().unwrap();
    let at = chrono::NaiveDateTime::parse_from_str(
        committed["modified"].as_str().unwrap(),
        "%Y-%m-%dT%H:%M:%S%.f",
    )
    .unwrap();
    let limit = (now - chrono::Duration::minutes(10)).naive_utc();
    assert!(
        at <= limit + chrono::Duration::seconds(1),
        "{at} beyond {limit}"
    );
    assert!(at > limit - chrono::Duration::seconds(5), "{at} is the cap");
    assert_eq!(committed["ids"], json!([]));
    // The next run starts at the cap: the records after it come again (upsert: unchanged).
    erp.clear_log();
    let again = run_unit(&conn, "items", Some(committed)).await;
    assert_eq!(again.field("id"), ["recent", "future"]);
}
