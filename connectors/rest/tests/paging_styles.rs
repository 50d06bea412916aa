//! Every paging style against the generic mock API: normal paging, empty result, the
//! incremental second run, drift while paging, full refresh, ties and unsorted answers.

mod common;

use common::*;
use kontor_rest::mock::{MockErp, Style};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

const STYLES: [Style; 5] = [
    Style::Offset,
    Style::Page,
    Style::NextLink,
    Style::LinkHeader,
    Style::Cursor,
];

fn source(style: Style, page_size: u32) -> String {
    let (paging, records) = match style {
        Style::Offset => (
            r#"{ style = "offset", offset_param = "offset", size_param = "limit" }"#,
            "items",
        ),
        Style::Page => (
            r#"{ style = "page", page_param = "page", size_param = "per_page" }"#,
            "items",
        ),
        Style::NextLink => (
            r#"{ style = "next_link", next = "@odata.nextLink", size_param = "limit" }"#,
            "value",
        ),
        Style::LinkHeader => (r#"{ style = "link_header", size_param = "limit" }"#, ""),
        Style::Cursor => (
            r#"{ style = "cursor", cursor_param = "cursor", next = "meta/next_cursor", size_param = "limit" }"#,
            "data",
        ),
    };
    format!(
        r#"[[endpoint]]
stream = "items"
path = "/items"
records = "{records}"
id_field = "id"
modified_field = "modified"
modified_format = "%Y-%m-%dT%H:%M:%S%.3fZ"
since = {{ modified_since = "{{since}}" }}
full_query = {{ sort = "id" }}
page_size = {page_size}
max_page_size = 40
paging = {paging}
"#
    )
}

fn settings(erp: &MockErp, extra: &str) -> String {
    format!(
        "base_url = \"{}\"\nserver_timezone = \"UTC\"\nauth = {{ kind = \"bearer\", token_file = \"token\" }}\n{extra}",
        erp.uri()
    )
}

fn secrets() -> Secrets {
    Secrets::new(&[("token", kontor_rest::mock::API_TOKEN)])
}

fn assert_unique_versions(run: &Run) {
    let mut seen = HashSet::new();
    for t in run.trees() {
        let key = (t["id"].to_string(), t["modified"].to_string());
        assert!(seen.insert(key.clone()), "delivered twice: {key:?}");
    }
}

#[tokio::test]
async fn normal_paging_delivers_every_record_once_in_order() {
    let s = secrets();
    for style in STYLES {
        let erp = MockErp::start_api(style, items(95)).await;
        let conn = build(&settings(&erp, ""), &source(style, 10), s.path());
        let run = run_unit(&conn, "items", None).await;
        assert!(run.error.is_none(), "{style:?}: {:?}", run.error);
        let ids = run.field("id");
        let want: Vec<String> = (0..95).map(|i| format!("item-{i:06}")).collect();
        assert_eq!(ids, want, "{style:?}");
        // Offset/page paging re-anchors each page on the last stamp (`>=`), which re-reads
        // one record per page: 11 requests instead of 10.
        let pages = erp.requests().len();
        let want_pages = if matches!(style, Style::Offset | Style::Page) {
            11
        } else {
            10
        };
        assert_eq!(pages, want_pages, "{style:?}");
        assert_eq!(run.batches.len(), pages, "{style:?}");
        // Positions name the URL and the page.
        let last = run.records().last().unwrap().position.clone();
        assert!(last.source.starts_with(&erp.uri()), "{style:?}: {last}");
        assert_eq!(last.page, Some(pages as u64), "{style:?}");
        assert!(last.index.is_some(), "{style:?}");
        // The committed cursor is the last record with its id as tiebreak.
        assert_eq!(
            run.committed().unwrap(),
            json!({"modified": "2026-01-01T01:34:00", "ids": ["item-000094"]}),
            "{style:?}"
        );
        // Stream and JSON numbers arrive untouched.
        let r = run.records()[7];
        assert_eq!(r.stream.as_deref(), Some("items"));
        assert_eq!(run.trees()[7]["amount"].to_string(), "21.07");
    }
}

#[tokio::test]
async fn empty_result_ends_cleanly_without_batches() {
    let s = secrets();
    for style in STYLES {
        let erp = MockErp::start_api(style, Vec::new()).await;
        let conn = build(&settings(&erp, ""), &source(style, 10), s.path());
        let run = run_unit(&conn, "items", None).await;
        assert!(run.error.is_none(), "{style:?}: {:?}", run.error);
        assert!(run.batches.is_empty(), "{style:?}");
        assert_eq!(erp.requests().len(), 1, "{style:?}");
    }
}

#[tokio::test]
async fn second_run_filters_by_the_committed_cursor() {
    let s = secrets();
    for style in STYLES {
        let erp = MockErp::start_api(style, items(25)).await;
        let conn = build(&settings(&erp, ""), &source(style, 10), s.path());
        let mut states = HashMap::new();
        let first = run_all(&conn, &mut states).await;
        assert_eq!(first["items"].records().len(), 25, "{style:?}");
        erp.clear_log();
        erp.with_data(|d| {
            d.insert("items", json!({"id": "item-new-1", "name": "Neu"}));
            d.insert("items", json!({"id": "item-new-2", "name": "Neu 2"}));
        });
        let second = run_all(&conn, &mut states).await;
        let run = &second["items"];
        assert!(run.error.is_none(), "{style:?}: {:?}", run.error);
        assert_eq!(run.field("id"), ["item-new-1", "item-new-2"], "{style:?}");
        let first_url = &erp.requests()[0].url;
        assert!(
            first_url.contains("modified_since=2026-01-01T00:24:00.000Z"),
            "{style:?}: {first_url}"
        );
        // A third run without changes delivers nothing but what lies after the cap (the
        // server's `Date` has whole seconds, so records of this very second come again).
        let third = run_all(&conn, &mut states).await;
        for id in third["items"].field("id") {
            assert!(id.starts_with("item-new-"), "{style:?}: {id} again");
        }
    }
}

#[tokio::test]
async fn drift_while_paging_loses_and_duplicates_nothing() {
    let s = secrets();
    for style in STYLES {
        let erp = MockErp::start_api(style, items(60)).await;
        erp.on_request(|d, n| match n {
            2 => {
                // Already delivered, moves to the end.
                d.modify("items", "item-000003", "name", json!("geändert"));
                d.insert("items", json!({"id": "item-000003a", "name": "dazwischen"}));
            }
            4 => {
                d.modify("items", "item-000001", "name", json!("nochmal geändert"));
                // Not delivered yet, moves to the end.
                d.modify("items", "item-000055", "name", json!("später geändert"));
                d.remove("items", "item-000010");
            }
            _ => {}
        });
        let conn = build(&settings(&erp, ""), &source(style, 10), s.path());
        let run = run_unit(&conn, "items", None).await;
        assert!(run.error.is_none(), "{style:?}: {:?}", run.error);
        assert_unique_versions(&run);
        let got: HashSet<(String, String)> = run
            .trees()
            .iter()
            .map(|t| (t["id"].to_string(), t["modified"].to_string()))
            .collect();
        for rec in erp.records("items") {
            let key = (rec["id"].to_string(), rec["modified"].to_string());
            assert!(got.contains(&key), "{style:?}: lost {key:?}");
        }
        let names: Vec<String> = run.field("name");
        assert!(names.contains(&"später geändert".to_owned()), "{style:?}");
    }
}

#[tokio::test]
async fn full_refresh_reads_everything_sorted_by_id_and_ignores_the_cursor() {
    let s = secrets();
    for style in STYLES {
        let erp = MockErp::start_api(style, items(23)).await;
        let conn = build(
            &settings(&erp, "full_refresh = true"),
            &source(style, 10),
            s.path(),
        );
        let state = json!({"modified": "2030-01-01T00:00:00", "ids": []});
        let run = run_unit(&conn, "items", Some(state)).await;
        assert!(run.error.is_none(), "{style:?}: {:?}", run.error);
        assert_eq!(run.records().len(), 23, "{style:?}");
        let url = &erp.requests()[0].url;
        assert!(
            url.contains("sort=id") && !url.contains("modified_since"),
            "{url}"
        );
        assert_eq!(
            run.committed().unwrap()["full_refresh"],
            json!(true),
            "{style:?}"
        );
    }
}

#[tokio::test]
async fn full_refresh_offset_paging_detects_shift_and_restarts() {
    let s = secrets();
    let erp = MockErp::start_api(Style::Offset, items(40)).await;
    erp.on_request(|d, n| {
        if n == 3 {
            // Deleting a record already read shifts the rest to the left.
            d.remove("items", "item-000002");
            d.remove("items", "item-000004");
        }
    });
    let conn = build(
        &settings(&erp, "full_refresh = true"),
        &source(Style::Offset, 10),
        s.path(),
    );
    let run = run_unit(&conn, "items", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    let ids: HashSet<String> = run.field("id").into_iter().collect();
    assert_eq!(run.records().len(), ids.len(), "no duplicates");
    for rec in erp.records("items") {
        assert!(
            ids.contains(rec["id"].as_str().unwrap()),
            "lost {}",
            rec["id"]
        );
    }
    let restarts = erp
        .requests()
        .iter()
        .skip(1)
        .filter(|r| r.url.contains("offset=0&"))
        .count();
    assert_eq!(restarts, 1, "one restart after the shift");
}

fn tied(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"id": format!("t-{i:03}"), "modified": "2026-01-10T08:00:00.000Z", "name": format!("gleich {i}")}))
        .chain((0..5).map(|i| json!({"id": format!("u-{i:03}"), "modified": format!("2026-01-10T09:00:0{i}.000Z")})))
        .collect()
}

#[tokio::test]
async fn equal_timestamps_beyond_a_page_with_offset_paging_survive_drift() {
    let s = secrets();
    let erp = MockErp::start_api(Style::Offset, tied(35)).await;
    erp.on_request(|d, n| {
        if n == 3 {
            d.modify("items", "t-004", "name", json!("verschoben"));
        }
    });
    let conn = build(&settings(&erp, ""), &source(Style::Offset, 10), s.path());
    let run = run_unit(&conn, "items", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_unique_versions(&run);
    let ids: HashSet<String> = run.field("id").into_iter().collect();
    assert_eq!(ids.len(), 40);
    assert!(run.field("name").contains(&"verschoben".to_owned()));
}

#[tokio::test]
async fn equal_timestamps_beyond_a_page_with_page_numbers_raise_the_page_size() {
    let s = secrets();
    let erp = MockErp::start_api(Style::Page, tied(35)).await;
    let conn = build(&settings(&erp, ""), &source(Style::Page, 10), s.path());
    let run = run_unit(&conn, "items", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_unique_versions(&run);
    assert_eq!(run.records().len(), 40);
    let urls: Vec<String> = erp.requests().into_iter().map(|r| r.url).collect();
    assert!(urls.iter().any(|u| u.contains("per_page=40")), "{urls:#?}");
}

#[tokio::test]
async fn answers_not_sorted_by_modified_fail_instead_of_committing_an_unsafe_cursor() {
    let s = secrets();
    let mut list = items(30);
    list.reverse();
    for (i, r) in list.iter_mut().enumerate() {
        r["id"] = json!(format!("x-{i:03}"));
    }
    let erp = MockErp::start_api(Style::Offset, list).await;
    // The server sorts by id (wrong for incremental reading).
    let src = source(Style::Offset, 10).replace(
        "full_query = { sort = \"id\" }",
        "query = { sort = \"id\" }",
    );
    let conn = build(&settings(&erp, ""), &src, s.path());
    let run = run_unit(&conn, "items", None).await;
    let err = run.error.expect("unsorted must fail").to_string();
    assert!(err.contains("not sorted by `modified`"), "{err}");
}

#[tokio::test]
async fn faults_are_survived_in_every_paging_style() {
    use kontor_rest::mock::Fault;
    use std::time::Duration;
    let s = secrets();
    for style in STYLES {
        let erp = MockErp::start_api(style, items(35)).await;
        let conn = build(
            &settings(&erp, "timeout = \"300ms\"\nmax_retries = 3"),
            &source(style, 10),
            s.path(),
        );
        // One fault of each kind before each page.
        erp.on_request(|_, _| {});
        erp.fail_next(
            Fault::Status {
                code: 429,
                retry_after: Some("0".into()),
            },
            2,
        );
        erp.fail_next(
            Fault::Status {
                code: 500,
                retry_after: None,
            },
            1,
        );
        let units = conn.discover().await.unwrap();
        let mut reader = conn.open(&units[0], None).await.unwrap();
        let mut ids = Vec::new();
        let mut round = 0;
        while let Some(b) = reader
            .next_batch()
            .await
            .unwrap_or_else(|e| panic!("{style:?}: {e}"))
        {
            for item in &b.items {
                if let kontor_connector::Item::Record(r) = item
                    && let kontor_connector::Fields::Tree(t) = &r.fields
                {
                    ids.push(t["id"].as_str().unwrap().to_owned());
                }
            }
            round += 1;
            match round {
                1 => erp.fail_next(Fault::Truncate, 2),
                2 => erp.fail_next(Fault::Delay(Duration::from_millis(1000)), 1),
                3 => erp.fail_next(
                    Fault::Status {
                        code: 503,
                        retry_after: Some("0".into()),
                    },
                    3,
                ),
                _ => {}
            }
        }
        let want: Vec<String> = (0..35).map(|i| format!("item-{i:06}")).collect();
        assert_eq!(ids, want, "{style:?}");
        let failed = erp.requests().iter().filter(|r| r.status != 200).count();
        assert_eq!(failed, 6, "{style:?}: 429×2, 500, 503×3");
    }
}
