//! The HTTP API end to end, on SQLite and PostgreSQL: the demo workspace (WaWi and DATEV
//! CSV, XRechnung and openTRANS XML, a mocked ERPNext) synced, resolved and served on
//! loopback; every route with every role, the merged view's content, search, caller-ID, ops
//! decisions, errors and the rate limit.

use crate::common;

use common::world;
use reqwest::StatusCode;

both_backends!(
    every_route_answers_each_role_as_spec_says,
    merged_view_combines_csv_xml_and_rest,
    search_and_caller_id_find_the_right_customer,
    ops_merge_split_and_suggestions_through_the_api,
);

async fn every_route_answers_each_role_as_spec_says(backend: &str) {
    let w = world(backend, "").await;
    let muller = w.id_of("00042").await;
    let routes: Vec<(&str, String, &[&str])> = vec![
        (
            "GET",
            "/api/v1/customers?q=Mueller".into(),
            &["sales", "service"],
        ),
        (
            "GET",
            format!("/api/v1/customers/{muller}"),
            &["sales", "service"],
        ),
        (
            "GET",
            "/api/v1/lookup/phone/0221%204711-0".into(),
            &["cti", "sales", "service"],
        ),
        (
            "GET",
            "/api/v1/items/0815-A/availability".into(),
            &["sales", "service"],
        ),
        (
            "GET",
            "/api/v1/items?q=0815-A".into(),
            &["sales", "service"],
        ),
        ("GET", "/api/v1/sync/runs".into(), &["ops"]),
        ("GET", "/api/v1/identity/suggestions".into(), &["ops"]),
    ];
    for (method, path, allowed) in &routes {
        for role in ["sales", "service", "ops", "cti"] {
            let (s, body) = w.call(method, path, Some(role), None).await;
            let want = if allowed.contains(&role) {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(s, want, "{role} {method} {path}: {body}");
            if s == StatusCode::FORBIDDEN {
                assert_eq!(body["error"]["code"], "forbidden", "{body}");
            }
        }
        for bad in [None, Some("revoked"), Some("kontor_not-a-token")] {
            let (s, body) = w.call(method, path, bad, None).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{bad:?} {path}: {body}");
            assert_eq!(body["error"]["code"], "unauthorized");
        }
    }
    // POST routes: ops only (a 403 for the others before anything happens).
    for path in [
        "/api/v1/sync/wawi-kunden".to_owned(),
        format!("/api/v1/customers/{muller}/merge"),
        format!("/api/v1/customers/{muller}/split"),
        "/api/v1/identity/suggestions/1/confirm".into(),
        "/api/v1/identity/suggestions/1/reject".into(),
    ] {
        for role in ["sales", "service", "cti"] {
            let (s, _) = w
                .call("POST", &path, Some(role), Some(serde_json::json!({})))
                .await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{role} POST {path}");
        }
        let (s, _) = w.call("POST", &path, None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "POST {path}");
    }
    // Starting a sync: 202 with the run id; the run shows up in the runs.
    let (s, started) = w
        .call("POST", "/api/v1/sync/wawi-kunden", Some("ops"), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    let run_id = started["run_id"].as_i64().unwrap();
    let mut finished = false;
    for _ in 0..100 {
        let (_, runs) = w
            .get("/api/v1/sync/runs?connector=wawi-kunden", "ops")
            .await;
        let run = runs
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == run_id)
            .cloned()
            .unwrap();
        if run["status"] != "running" {
            assert_eq!(run["status"], "ok", "{run}");
            finished = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(finished, "run {run_id} did not finish");
    let (s, _) = w
        .call("POST", "/api/v1/sync/no-such-connector", Some("ops"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // No token needed: health (with every connector's state), the OpenAPI document; metrics
    // with an ops token.
    let (s, health) = w.call("GET", "/healthz", None, None).await;
    assert_eq!(
        (s, health["status"].as_str()),
        (StatusCode::OK, Some("ok")),
        "{health}"
    );
    let kunden = health["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "wawi-kunden")
        .unwrap();
    assert_eq!(kunden["last_run_status"], "ok", "{health}");
    let metrics = w
        .http
        .get(format!("{}/metrics", w.base))
        .bearer_auth(&w.tokens["ops"])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Counters of what this node did (the run through the API), gauges of the store (that
    // run and the sync before the server started).
    for want in [
        "kontor_sync_runs_total{connector=\"wawi-kunden\",status=\"ok\"} 1\n",
        "kontor_sync_rows_total{connector=\"wawi-kunden\",outcome=\"read\"} 0\n",
        "kontor_sync_run_duration_seconds_count{connector=\"wawi-kunden\"} 1\n",
        "kontor_store_sync_runs{connector=\"wawi-kunden\",status=\"ok\",scope=\"store\"} 2\n",
        "kontor_store_sync_rows{connector=\"wawi-kunden\",outcome=\"inserted\",scope=\"store\"} 7\n",
        "kontor_sync_last_success_timestamp_seconds{connector=\"erpnext\",scope=\"store\"}",
        "kontor_build_info{version=\"",
        "kontor_config_matches_cluster 1\n",
        "route=\"/api/v1/customers/{id}\"",
        "# EOF",
    ] {
        assert!(metrics.contains(want), "missing {want} in\n{metrics}");
    }
    let (s, doc) = w.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    for p in [
        "/api/v1/customers",
        "/api/v1/customers/{id}",
        "/api/v1/lookup/phone/{number}",
        "/api/v1/items/{sku}/availability",
        "/api/v1/items",
        "/api/v1/sync/runs",
        "/api/v1/sync/{connector}",
        "/healthz",
    ] {
        assert!(doc["paths"].get(p).is_some(), "OpenAPI lacks {p}");
    }
    assert!(doc["components"]["schemas"].get("MergedView").is_some());
    // Bad input: 4xx with a JSON error, never a 500.
    for (path, want) in [
        ("/api/v1/customers/abc", StatusCode::BAD_REQUEST),
        ("/api/v1/customers/999999", StatusCode::NOT_FOUND),
        ("/api/v1/customers?q=", StatusCode::BAD_REQUEST),
        ("/api/v1/customers?q=x&limit=0", StatusCode::BAD_REQUEST),
        ("/api/v1/customers?q=x&limit=abc", StatusCode::BAD_REQUEST),
        (
            "/api/v1/customers?q=x&cursor=bogus",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/items/NOPE/availability", StatusCode::NOT_FOUND),
        ("/api/v1/nothing-here", StatusCode::NOT_FOUND),
    ] {
        let (s, body) = w.get(path, "sales").await;
        assert_eq!(s, want, "{path}: {body}");
        assert!(body["error"]["message"].is_string(), "{path}: {body}");
    }
    let (s, body) = w.get("/api/v1/lookup/phone/siehe%20Notiz", "cti").await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    let (s, body) = w
        .call("DELETE", "/api/v1/customers?q=x", Some("sales"), None)
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    let (s, body) = w
        .call(
            "POST",
            &format!("/api/v1/customers/{muller}/merge"),
            Some("ops"),
            Some(serde_json::json!({"other": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");

    // The rate limit per token.
    let limited = world(backend, "[server]\nrate_limit = \"5/m\"\n").await;
    let mut codes = Vec::new();
    for _ in 0..7 {
        let res = limited
            .http
            .get(format!("{}/api/v1/lookup/phone/089123456", limited.base))
            .bearer_auth(&limited.tokens["cti"])
            .send()
            .await
            .unwrap();
        codes.push((res.status(), res.headers().get("retry-after").is_some()));
    }
    assert_eq!(
        codes[..5].iter().filter(|c| c.0 == StatusCode::OK).count(),
        5,
        "{codes:?}"
    );
    assert_eq!(codes[5], (StatusCode::TOO_MANY_REQUESTS, true), "{codes:?}");
    // Another token has its own budget.
    let (s, _) = limited.get("/api/v1/lookup/phone/089123456", "sales").await;
    assert_eq!(s, StatusCode::OK);
}

async fn merged_view_combines_csv_xml_and_rest(backend: &str) {
    let w = world(backend, "").await;
    let id = w.id_of("00042").await;
    let (s, v) = w.get(&format!("/api/v1/customers/{id}"), "service").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["name"], "Müller & Söhne GmbH");
    let connectors: Vec<&str> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["connector"].as_str().unwrap())
        .collect();
    for c in [
        "wawi-kunden",
        "wawi-offene-posten",
        "wawi-auftraege",
        "erpnext",
        "einvoices",
        "opentrans",
    ] {
        assert!(connectors.contains(&c), "{c} missing in {connectors:?}");
    }
    let erp = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["connector"] == "erpnext")
        .unwrap();
    assert_eq!(
        (
            erp["external_id"].as_str(),
            erp["matched_on"]["rule"].as_str()
        ),
        (Some("CUST-10001"), Some("vat_id")),
        "{erp}"
    );
    // Provenance per field, and the values that lost.
    let vat = &v["fields"]["vat_id"];
    assert_eq!(vat["value"], "DE123456788");
    assert!(
        vat["source"]["connector"].is_string() && vat["synced_at"].is_string(),
        "{vat}"
    );
    let email = &v["fields"]["email"];
    assert!(
        !email["others"].as_array().unwrap().is_empty(),
        "sources disagree on the e-mail: {email}"
    );
    assert_eq!(
        v["fields"]["payment_terms_days"]["source"]["position"],
        "inbox/wawi/kunden.csv:2"
    );
    // Open items from the WaWi export (open amounts), the ERP and the XRechnung.
    let items = &v["open_items"];
    let numbers: Vec<&str> = items["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_str().unwrap())
        .collect();
    assert_eq!(
        numbers,
        [
            "RE-2026-0001",
            "RE-2026-0002",
            "RE-2026-1001",
            "RE-2026-1002",
            "RE-2026-1008"
        ]
    );
    let total: rust_decimal::Decimal = items["total"]["amount"].as_str().unwrap().parse().unwrap();
    assert_eq!(total.to_string(), "5449.60"); // 1190 + 1916.10 + 1190 + 975 + 178.50
    let re1002 = items["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["number"] == "RE-2026-1002")
        .unwrap();
    assert_eq!(
        (
            re1002["open_amount"]["amount"].as_str(),
            re1002["status"].as_str()
        ),
        (Some("975.00"), Some("partially_paid"))
    );
    let re1008 = items["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["number"] == "RE-2026-1008")
        .unwrap();
    assert_eq!(re1008["source"]["connector"], "einvoices");
    // Credit notes of two sources.
    let notes: Vec<&str> = v["credit_notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_str().unwrap())
        .collect();
    assert!(
        notes.contains(&"GU-2026-0007") && notes.contains(&"GS-2026-0001"),
        "{notes:?}"
    );
    // The order confirmation (openTRANS, another connector) moved line 1 of AB-50001.
    let order = v["open_orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["number"] == "AB-50001")
        .unwrap();
    let line1 = &order["lines"][0];
    assert_eq!(
        (
            line1["promised_date"].as_str(),
            line1["promised_date_before"].as_str()
        ),
        (Some("2026-12-08"), Some("2026-11-27")),
        "{order}"
    );
    assert_eq!(line1["promised_date_source"]["connector"], "opentrans");
    assert_eq!(line1["availability"]["available"], "0");
    assert_eq!(line1["availability"]["next_receipt_date"], "2026-11-26");
    assert_eq!(order["lines"][1]["open_quantity"], "0");
    assert_eq!(order["next_delivery_date"], "2026-12-08");
    assert!(v["contacts"].is_array() && v["tickets"].is_array() && v["reminders"].is_array());
    // Item availability over all warehouses.
    let (s, a) = w.get("/api/v1/items/SCHR-M8/availability", "sales").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            a["available"].as_str(),
            a["warehouses"].as_array().unwrap().len()
        ),
        (Some("1000"), 2),
        "{a}"
    );
}

async fn search_and_caller_id_find_the_right_customer(backend: &str) {
    let w = world(backend, "").await;
    let muller = w.id_of("00042").await;
    let weiss = w.id_of("00043").await;
    for (q, id, field) in [
        ("Mueller", muller, "name"),
        ("Müller", muller, "name"),
        ("Mülller", muller, "name"),
        ("K%C3%B6ln%20M%C3%BCller", muller, "name"),
        ("DE123456788", muller, "vat_id"),
        ("CUST-10001", muller, "customer_no"),
        ("RE-2026-1001", muller, "invoice_number"),
        ("re-2026-1008", muller, "invoice_number"),
        ("AB-50001", muller, "order_number"),
        ("0221%2F4711-0", muller, "phone"),
        ("Weiss", weiss, "name"),
        ("Muenchen", weiss, "city"),
    ] {
        let (s, page) = w.get(&format!("/api/v1/customers?q={q}"), "sales").await;
        assert_eq!(s, StatusCode::OK, "{q}: {page}");
        let hit = &page["hits"][0];
        assert_eq!(hit["id"].as_i64(), Some(id), "{q}: {page}");
        let fields: Vec<&str> = hit["matched_on"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{q}: {fields:?}");
    }
    // Cursor paging: every hit once.
    let (_, all) = w.get("/api/v1/customers?q=GmbH&limit=100", "sales").await;
    let total = all["total"].as_u64().unwrap();
    assert!(total >= 3, "{all}");
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/customers?q=GmbH&limit=2&cursor={c}"),
            None => "/api/v1/customers?q=GmbH&limit=2".into(),
        };
        let (s, page) = w.get(&path, "service").await;
        assert_eq!(s, StatusCode::OK, "{page}");
        seen.extend(
            page["hits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len() as u64, total);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len() as u64, total);
    // Caller-ID in awkward notations.
    for (n, id, matched) in [
        ("0221%204711-0", muller, "exact"),
        ("%2B49%20221%204711-23", muller, "main_number"),
        ("%2B49%20(0)89%201234-56", weiss, "exact"),
        ("0049%2089%20123456", weiss, "exact"),
        ("089%2F123456-0", weiss, "main_number"),
        ("089%20123456%20Durchwahl%2012", weiss, "main_number"),
    ] {
        let (s, r) = w.get(&format!("/api/v1/lookup/phone/{n}"), "cti").await;
        assert_eq!(s, StatusCode::OK, "{n}: {r}");
        let best = &r["candidates"][0];
        assert_eq!(
            (best["customer_id"].as_i64(), best["matched"].as_str()),
            (Some(id), Some(matched)),
            "{n}: {r}"
        );
        assert!(best["confidence"].as_f64().unwrap() > 0.5);
    }
    let (_, r) = w.get("/api/v1/lookup/phone/030%20999999", "cti").await;
    assert_eq!(r["candidates"].as_array().map(Vec::len), Some(0));
}

async fn ops_merge_split_and_suggestions_through_the_api(backend: &str) {
    let w = world(backend, "").await;
    let (weiss, schroeder) = (w.id_of("00043").await, w.id_of("CUST-10002").await);
    assert_ne!(weiss, schroeder);
    let (s, r) = w
        .call(
            "POST",
            &format!("/api/v1/customers/{weiss}/merge"),
            Some("ops"),
            Some(serde_json::json!({"other": schroeder})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let keep = weiss.min(schroeder);
    let gone = weiss.max(schroeder);
    // The merged-away id answers with the merged customer.
    let (s, v) = w.get(&format!("/api/v1/customers/{gone}"), "sales").await;
    assert_eq!(
        (s, v["id"].as_i64(), v["requested_id"].as_i64()),
        (StatusCode::OK, Some(keep), Some(gone)),
        "{v}"
    );
    // One side joined the other by the ops decision, and says so.
    let rules: Vec<&str> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"manual") && rules.contains(&"anchor"),
        "{rules:?}"
    );
    // Split it again: both come back with their ids.
    let (s, r) = w
        .call(
            "POST",
            &format!("/api/v1/customers/{keep}/split"),
            Some("ops"),
            Some(serde_json::json!({"keys": ["erpnext:CUST-10002"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (w.id_of("00043").await, w.id_of("CUST-10002").await),
        (weiss, schroeder)
    );
    let (s, r) = w
        .call(
            "POST",
            &format!("/api/v1/customers/{keep}/split"),
            Some("ops"),
            Some(serde_json::json!({"keys": ["wawi:nope"]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
    // Suggestions: reject one, confirm another.
    let (_, open) = w.get("/api/v1/identity/suggestions", "ops").await;
    let open = open.as_array().unwrap().clone();
    assert!(open.len() >= 2, "{open:?}");
    // Each names its cluster (suggestions sharing a customer): the lowest id among them.
    for s in &open {
        let c = s["cluster"].as_i64().unwrap_or_else(|| panic!("{s}"));
        assert!(c <= s["id"].as_i64().unwrap(), "{s}");
    }
    let (a, b) = (
        open[0]["id"].as_i64().unwrap(),
        open[1]["id"].as_i64().unwrap(),
    );
    let (s, _) = w
        .call(
            "POST",
            &format!("/api/v1/identity/suggestions/{a}/reject"),
            Some("ops"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = w
        .call(
            "POST",
            &format!("/api/v1/identity/suggestions/{b}/confirm"),
            Some("ops"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, again) = w
        .call(
            "POST",
            &format!("/api/v1/identity/suggestions/{b}/confirm"),
            Some("ops"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{again}");
    let (_, now_open) = w.get("/api/v1/identity/suggestions", "ops").await;
    let ids: Vec<i64> = now_open
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert!(!ids.contains(&a) && !ids.contains(&b), "{ids:?}");
    let confirmed = w.store.suggestion(b).await.unwrap().unwrap();
    assert_eq!(confirmed.status, "confirmed");
    assert_eq!(confirmed.a_customer_id, confirmed.b_customer_id);
    let (_, rejected) = w
        .get("/api/v1/identity/suggestions?status=rejected", "ops")
        .await;
    assert_eq!(rejected[0]["id"].as_i64(), Some(a));
}
