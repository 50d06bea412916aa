//! The sales desk through the API, on SQLite and PostgreSQL: one's own contacts corrected
//! and deleted (for a day, audited, nobody else's), documents opened from the card (lines,
//! dates, provenance, related documents — also when paid), the item search naming the open
//! orders that wait, and click-to-dial through sipgate, Placetel or a URL (the call lands in
//! the timeline), and the complaint report (never per person).

use crate::common;

use common::{TEAMS, World, world};
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

both_backends!(
    own_contacts_are_corrected_and_deleted_for_a_day,
    documents_open_with_lines_provenance_and_relations,
    the_item_search_names_the_orders_that_wait,
    click_to_dial_rings_the_desk_and_lands_in_the_timeline,
    the_complaint_report_groups_without_naming_anyone,
    an_open_item_that_leaves_the_list_counts_as_paid_that_day,
    paying_later_than_the_year_before_suggests_a_reminder_once,
);

async fn timeline(w: &World, id: i64, token: &str) -> Vec<Value> {
    let (s, t) = w
        .get(&format!("/api/v1/customers/{id}/timeline?limit=200"), token)
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    t["items"].as_array().unwrap().clone()
}

fn entry<'a>(items: &'a [Value], reference: &str) -> Option<&'a Value> {
    items.iter().find(|i| i["reference"] == reference)
}

/// Runs `sql` on the world's store with `$1` = `hours` ago; the rows it changed.
async fn at_hours_ago(w: &World, backend: &str, sql: &str, hours: i64) -> u64 {
    use sqlx::Connection;
    let at = chrono::Utc::now() - chrono::Duration::hours(hours);
    let url = w._guard.url().to_owned();
    if backend == "sqlite" {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(at)
            .execute(&mut c)
            .await
            .unwrap()
            .rows_affected()
    } else {
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(at)
            .execute(&mut c)
            .await
            .unwrap()
            .rows_affected()
    }
}

/// Moves a contact's recording time back (as if recorded `hours` ago).
async fn backdate(w: &World, backend: &str, aid: i64, hours: i64) {
    let sql = format!("UPDATE activities SET created_at = $1 WHERE id = {aid}");
    assert_eq!(at_hours_ago(w, backend, &sql, hours).await, 1);
}

async fn own_contacts_are_corrected_and_deleted_for_a_day(backend: &str) {
    let w = world(backend, TEAMS).await;
    let id = w.id_of("00042").await;
    let (s, a) = w
        .call("POST", &format!("/api/v1/customers/{id}/activities"), Some("sales"),
            Some(json!({"kind": "call", "direction": "out", "subject": "Rückfrage Liefertermn", "text": "AB-50001"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert!(
        a.get("author").is_none(),
        "who recorded it is never shown: {a}"
    );
    let aid = a["id"].as_i64().unwrap();
    let reference = format!("A{aid}");
    // The author sees it as theirs; another caller does not.
    let mine = timeline(&w, id, "sales").await;
    let own = &entry(&mine, &reference).expect("the new contact")["own"];
    assert_eq!(own["id"], aid, "{own}");
    assert_eq!(own["subject"], "Rückfrage Liefertermn");
    assert!(own["editable_until"].is_string(), "{own}");
    let theirs = timeline(&w, id, "service").await;
    assert!(entry(&theirs, &reference).unwrap().get("own").is_none());
    let patch = format!("/api/v1/activities/{aid}");
    let (s, e) = w
        .call(
            "PATCH",
            &patch,
            Some("service"),
            Some(json!({"subject": "fremd"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let (s, e) = w.call("DELETE", &patch, Some("service"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    // The author corrects the typo.
    let (s, fixed) = w
        .call(
            "PATCH",
            &patch,
            Some("sales"),
            Some(json!({"subject": "Rückfrage Liefertermin"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{fixed}");
    assert_eq!(fixed["subject"], "Rückfrage Liefertermin");
    assert_eq!(fixed["text"], "AB-50001", "what was not sent stays");
    assert!(fixed["edited_at"].is_string(), "{fixed}");
    let (s, e) = w
        .call("PATCH", &patch, Some("sales"), Some(json!({"kind": "fax"})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, e) = w
        .call("PATCH", &patch, Some("sales"), Some(json!({"author": "x"})))
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "unknown fields are refused: {e}"
    );
    let items = timeline(&w, id, "sales").await;
    assert_eq!(
        entry(&items, &reference).unwrap()["title"],
        "Rückfrage Liefertermin"
    );
    // After a day it stays as it is.
    backdate(&w, backend, aid, 25).await;
    let (s, e) = w
        .call(
            "PATCH",
            &patch,
            Some("sales"),
            Some(json!({"subject": "zu spät"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("24 hours"),
        "{e}"
    );
    let items = timeline(&w, id, "sales").await;
    assert!(entry(&items, &reference).unwrap().get("own").is_none());
    // Within the day it can be deleted; the audit log names who and what, never the text.
    backdate(&w, backend, aid, 1).await;
    let (s, _) = w.call("DELETE", &patch, Some("sales"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(entry(&timeline(&w, id, "sales").await, &reference).is_none());
    let (s, _) = w.call("DELETE", &patch, Some("sales"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let audit = common::nodes::poll(std::time::Duration::from_secs(10), async || {
        let (_, log) = w
            .get(&format!("/api/v1/audit?customer_id={id}&limit=100"), "ops")
            .await;
        let log = log.as_array()?.clone();
        log.iter()
            .any(|e| e["action"] == "delete_activity")
            .then_some(log)
    })
    .await
    .expect("the deletion in the audit log");
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .filter(|e| e["action"].as_str().unwrap().ends_with("_activity"))
        .map(|e| (e["action"].as_str().unwrap(), e["detail"].as_str().unwrap()))
        .collect();
    assert!(
        actions.contains(&("edit_activity", reference.as_str())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("delete_activity", reference.as_str())),
        "{actions:?}"
    );
    assert!(
        audit
            .iter()
            .all(|e| !e.to_string().contains("Liefertermin")),
        "no contact text in the audit log"
    );
}

async fn documents_open_with_lines_provenance_and_relations(backend: &str) {
    let w = world(backend, TEAMS).await;
    let id = w.id_of("00042").await;
    let doc = |kind: &'static str, number: &'static str| {
        let w = &w;
        async move {
            w.get(
                &format!("/api/v1/customers/{id}/documents/{kind}/{number}"),
                "sales",
            )
            .await
        }
    };
    // The e-invoice: its lines, the order it bills, where it comes from.
    let (s, inv) = doc("invoice", "RE-2026-1008").await;
    assert_eq!(s, StatusCode::OK, "{inv}");
    assert_eq!(inv["number"], "RE-2026-1008");
    let lines = inv["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{inv}");
    assert_eq!(
        (lines[0]["sku"].as_str(), lines[0]["net"]["amount"].as_str()),
        (Some("0816-B"), Some("150.00"))
    );
    assert!(
        lines.iter().all(|l| l["net"]["amount"].is_string()),
        "{inv}"
    );
    assert!(inv["source"]["connector"].is_string(), "{inv}");
    assert!(
        inv["related"].as_array().unwrap().iter().any(|r| r
            == &json!({
            "kind": "order", "number": "AB-50001", "relation": "order"})),
        "the buyer's order number B-4711 names our order AB-50001: {inv}"
    );
    // A REST profile's extra field carries the label of its built-in mapping (it showed
    // `customer_po`: labels were read from mapping files only).
    let (_, card) = w.get(&format!("/api/v1/customers/{id}"), "sales").await;
    let erp_invoice = card["open_items"]["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["number"] == "RE-2026-0001")
        .unwrap_or_else(|| panic!("{card}"));
    assert_eq!(
        erp_invoice["extra"],
        json!([{"name": "customer_po", "label": "Bestellnummer des Kunden", "value": "B-4711"}])
    );
    // An invoice with a credit note against it.
    let (s, credited) = doc("invoice", "RE-2026-1002").await;
    assert_eq!(s, StatusCode::OK, "{credited}");
    assert_eq!(credited["open_amount"]["amount"], "975.00", "{credited}");
    assert!(
        credited["related"].as_array().unwrap().iter().any(|r| r
            == &json!({
            "kind": "credit_note", "number": "GU-2026-0007", "relation": "credited_by"})),
        "{credited}"
    );
    let (s, note) = doc("credit_note", "GU-2026-0007").await;
    assert_eq!(s, StatusCode::OK, "{note}");
    assert_eq!(note["related"][0]["number"], "RE-2026-1002", "{note}");
    // An order: its lines with what is still open and the stock.
    let (s, order) = doc("order", "AB-50001").await;
    assert_eq!(s, StatusCode::OK, "{order}");
    let o = &order["order"];
    let line = o["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"] == "0815-A")
        .unwrap_or_else(|| panic!("{order}"));
    assert_eq!(
        common::dec(&line["open_quantity"]),
        rust_decimal::Decimal::from(20)
    );
    assert!(line["availability"].is_object(), "{line}");
    assert!(
        order["related"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["number"] == "RE-2026-1008" && r["relation"] == "invoiced_by"),
        "{order}"
    );
    // Another customer's document, an unknown kind or number: not found / refused.
    let (s, _) = w
        .get(
            &format!(
                "/api/v1/customers/{}/documents/order/AB-50001",
                w.id_of("00046").await
            ),
            "sales",
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "only the customer's own documents open"
    );
    let (s, _) = doc("invoice", "RE-0000").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = doc("salary", "1").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // A paid invoice (gone from the next open-items list) still opens, marked as such.
    let closed = "UPDATE records SET closed_at = $1 WHERE entity = 'invoice' AND external_id = 'RE-2026-1001'";
    assert!(at_hours_ago(&w, backend, closed, 2).await >= 1);
    let (s, paid) = doc("invoice", "RE-2026-1001").await;
    assert_eq!(s, StatusCode::OK, "{paid}");
    assert!(paid["closed_at"].is_string(), "{paid}");
}

async fn the_item_search_names_the_orders_that_wait(backend: &str) {
    let w = world(backend, TEAMS).await;
    let (s, hits) = w.get("/api/v1/items?q=0815-A", "sales").await;
    assert_eq!(s, StatusCode::OK, "{hits}");
    let item = &hits["items"][0];
    assert_eq!(item["sku"], "0815-A");
    let waiting: Vec<(&str, String, Option<i64>)> = item["waiting_orders"]
        .as_array()
        .unwrap_or_else(|| panic!("{item}"))
        .iter()
        .map(|o| {
            (
                o["order_number"].as_str().unwrap(),
                common::dec(&o["open_quantity"]).to_string(),
                o["customer_id"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        waiting,
        [
            ("AB-50001", "20".to_owned(), Some(w.id_of("00042").await)),
            ("AB-50003", "150".to_owned(), Some(w.id_of("00046").await)),
        ],
        "soonest promised first, delivered quantities taken off"
    );
    assert_eq!(
        item["waiting_orders"][0]["customer_name"],
        "Müller & Söhne GmbH"
    );
    // A fully delivered line waits for nothing.
    let (_, hits) = w.get("/api/v1/items?q=0816-B", "sales").await;
    assert!(hits["items"][0].get("waiting_orders").is_none(), "{hits}");
}

async fn click_to_dial_rings_the_desk_and_lands_in_the_timeline(backend: &str) {
    let pbx = MockServer::start().await;
    // sipgate: POST /v2/sessions/calls, basic auth with token-id:token (sipgate's docs).
    Mock::given(method("POST"))
        .and(path("/v2/sessions/calls"))
        .and(header("authorization", "Basic dG9rZW4taWQ6c2VjcmV0"))
        .and(body_json(
            json!({"deviceId": "e0", "caller": "e0", "callee": "+492214711230"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"sessionId": "4711"})))
        .expect(1)
        .mount(&pbx)
        .await;
    let config = format!(
        "{TEAMS}[cti.dial]\nprovider = \"sipgate\"\ntoken_file = \"secrets/sipgate\"\nbase_url = \"{}/v2\"\ndevices = {{ test-sales = \"e0\" }}\n",
        pbx.uri()
    );
    let w = world(backend, &config).await;
    let id = w.id_of("00042").await;
    let dial = |token: &'static str, number: &'static str| {
        let w = &w;
        async move {
            w.call(
                "POST",
                "/api/v1/calls/dial",
                Some(token),
                Some(json!({"number": number, "customer_id": id})),
            )
            .await
        }
    };
    let (s, e) = dial("sales", "0221 4711-230").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "no token file yet: {e}");
    std::fs::write(w._dir.path().join("secrets/sipgate"), "token-id:secret\n").unwrap();
    let (s, e) = dial("service", "0221 4711-230").await;
    assert_eq!(s, StatusCode::CONFLICT, "no phone for this caller: {e}");
    let (s, e) = dial("sales", "keine Nummer").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, d) = dial("sales", "0221 4711-230").await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    assert_eq!(
        (d["number"].as_str(), d["device"].as_str()),
        (Some("+492214711230"), Some("e0"))
    );
    let call = d["activity"]["id"].as_i64().unwrap();
    let items = timeline(&w, id, "sales").await;
    let item = entry(&items, &format!("A{call}")).expect("the call in the timeline");
    assert_eq!(
        (item["kind"].as_str(), item["title"].as_str()),
        (Some("call"), Some("Anruf (ausgehend)"))
    );
    assert_eq!(
        item["own"]["id"], call,
        "whoever dialled may note what was said"
    );
    pbx.verify().await;
    // The PBX refuses the token: a clear 502, nothing logged as a call.
    pbx.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&pbx)
        .await;
    let (s, e) = dial("sales", "0221 4711-230").await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("credentials"),
        "{e}"
    );
    assert_eq!(timeline(&w, id, "sales").await.len(), items.len());
}

/// Placetel (`POST /v2/calls`, bearer token, `sipuid` + `target`) and a dial URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn click_to_dial_through_placetel_and_a_url() {
    let pbx = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/calls"))
        .and(header("authorization", "Bearer pt-key"))
        .and(body_json(
            json!({"sipuid": "777123@fpbx.de", "target": "+492214711230"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        .expect(1)
        .mount(&pbx)
        .await;
    Mock::given(method("POST"))
        .and(path("/dial/23/%2B492214711230"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&pbx)
        .await;
    for (provider, extra) in [
        (
            "placetel",
            format!(
                "token_file = \"secrets/pt\"\nbase_url = \"{}/v2\"\ndevices = {{ vertrieb-nord = \"777123@fpbx.de\" }}",
                pbx.uri()
            ),
        ),
        (
            "url",
            format!(
                "url = \"{}/dial/{{device}}/{{number}}\"\ndevices = {{ vertrieb-nord = \"23\" }}",
                pbx.uri()
            ),
        ),
    ] {
        let config = format!("{TEAMS}[cti.dial]\nprovider = \"{provider}\"\n{extra}\n");
        let w = world("sqlite", &config).await;
        std::fs::write(w._dir.path().join("secrets/pt"), "pt-key").unwrap();
        let id = w.id_of("00042").await;
        let (s, d) = w
            .call(
                "POST",
                "/api/v1/calls/dial",
                Some("sales"),
                Some(json!({"number": "+49 221 4711-230", "customer_id": id})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{provider}: {d}");
    }
    pbx.verify().await;
}

/// Complaint analysis: per category and item, time to resolve, past deadline, recurring
/// words; a team of 2 is never shown on its own; sales see their own team's only.
async fn the_complaint_report_groups_without_naming_anyone(backend: &str) {
    let w = world(backend, TEAMS).await;
    let small = kontor::api::auth::new_token();
    w.store
        .create_token(
            "klein",
            "service",
            Some("klein"),
            &kontor::api::auth::hash_token(&small),
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let id = w.id_of("00042").await;
    let file =
        |token: String, category: &'static str, title: &'static str, sku: Option<&'static str>| {
            let w = &w;
            async move {
                let (s, c) = w
                    .call(
                        "POST",
                        "/api/v1/complaints",
                        Some(&token),
                        Some(json!({
                    "customer_id": id, "category": category, "title": title,
                    "text": "Bitte prüfen", "sku": sku})),
                    )
                    .await;
                assert_eq!(s, StatusCode::CREATED, "{c}");
                c["complaint"]["id"].as_i64().unwrap()
            }
        };
    let sales = w.tokens["sales"].clone();
    let a = file(
        sales.clone(),
        "lieferung",
        "Spannzangen verbogen geliefert",
        Some("0815-A"),
    )
    .await;
    let b = file(
        sales.clone(),
        "lieferung",
        "Spannzange verbogen, Karton nass",
        Some("0815-A"),
    )
    .await;
    let _c = file(sales.clone(), "eilig", "Schütz defekt", Some("4711-X")).await;
    let _d = file(small.clone(), "lieferung", "Mehl feucht", None).await;
    for (t, hours) in [(a, 48), (b, 96)] {
        let (s, r) = w
            .call(
                "POST",
                &format!("/api/v1/complaints/{t}/status"),
                Some("sales"),
                Some(json!({"status": "resolved", "resolution": "Ersatz geliefert"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let sql = format!("UPDATE tickets SET created_at = $1 WHERE id = {t}");
        assert_eq!(at_hours_ago(&w, backend, &sql, hours).await, 1);
    }
    let from = (chrono::Utc::now() - chrono::Duration::days(30)).format("%Y-%m-%dT%H:%M:%SZ");
    let to = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let report = |group: &'static str, token: &'static str| {
        let w = &w;
        let path = format!("/api/v1/reports/complaints?from={from}&to={to}&group={group}");
        async move { w.get(&path, token).await }
    };
    let (s, r) = report("category", "ops").await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["total"], 4, "{r}");
    let lieferung = &r["groups"][0];
    assert_eq!(
        (
            lieferung["key"].as_str(),
            lieferung["count"].as_u64(),
            lieferung["open"].as_u64()
        ),
        (Some("lieferung"), Some(3), Some(1)),
        "{r}"
    );
    assert_eq!(lieferung["median_days_to_resolve"], 2.0, "{lieferung}");
    assert_eq!(lieferung["p90_days_to_resolve"], 4.0, "{lieferung}");
    assert_eq!(
        lieferung["top_items"],
        json!([{"value": "0815-A", "count": 2}])
    );
    assert!(
        lieferung["recurring_terms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == &json!({"value": "verbogen", "stem": "verbog", "count": 2})),
        "'verbogen' comes back, shown as written: {lieferung}"
    );
    let eilig = &r["groups"][1];
    assert_eq!(
        (eilig["key"].as_str(), eilig["past_deadline"].as_u64()),
        (Some("eilig"), Some(1)),
        "{r}"
    );
    assert_eq!(eilig["past_deadline_share"], 1.0);
    let (_, by_item) = report("item", "ops").await;
    assert_eq!(by_item["groups"][0]["key"], "0815-A", "{by_item}");
    // Teams: vertrieb-nord (7 members) is shown, klein (2) is withheld — never per person.
    let (_, by_team) = report("team", "ops").await;
    let keys: Vec<&str> = by_team["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        (keys, by_team["withheld"].as_u64()),
        (vec!["vertrieb-nord"], Some(1)),
        "{by_team}"
    );
    // Sales see their own team's complaints; without a team, none.
    let (s, own) = report("category", "sales").await;
    assert_eq!(
        (s, own["total"].as_u64(), own["team"].as_str()),
        (StatusCode::OK, Some(3), Some("vertrieb-nord")),
        "{own}"
    );
    let (s, _) = report("category", "cti").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = report("person", "ops").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
}

/// Payment behaviour: an invoice whose open item left the open-items list was paid that day;
/// the card says how late, the e-invoice of the same customer never counts as paid.
async fn an_open_item_that_leaves_the_list_counts_as_paid_that_day(backend: &str) {
    let w = world(backend, TEAMS).await;
    let id = w.id_of("00042").await;
    let (_, before) = w.get(&format!("/api/v1/customers/{id}"), "sales").await;
    assert!(
        before["payment_behaviour"].is_null(),
        "nothing paid yet: {}",
        before["payment_behaviour"]
    );
    // RE-2026-1001 (due 01.11.2026) left the open-items list five days ago.
    let closed = "UPDATE records SET closed_at = $1 WHERE entity = 'invoice' AND external_id = 'RE-2026-1001'";
    assert!(at_hours_ago(&w, backend, closed, 5 * 24).await >= 1);
    let paid_on = (chrono::Utc::now() - chrono::Duration::days(5)).date_naive();
    let due = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let late = (paid_on - due).num_days().max(0);
    let (_, card) = w.get(&format!("/api/v1/customers/{id}"), "sales").await;
    let p = &card["payment_behaviour"];
    assert_eq!(
        (p["invoices_paid"].as_u64(), p["trend"].as_str()),
        (Some(1), Some("new")),
        "{p}"
    );
    assert_eq!(p["avg_days_late"], format!("{late}.0"), "{p}");
    assert_eq!(p["paid_late"], u64::from(late > 0), "{p}");
    assert!(
        card["open_items"]["invoices"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["number"] != "RE-2026-1001"),
        "no longer open"
    );
    // The screen-pop says it too.
    let (s, pop) = w
        .get("/api/v1/screenpop?number=0221%204711-0", "sales")
        .await;
    assert_eq!(s, StatusCode::OK, "{pop}");
    assert_eq!(pop["customer"]["payment_behaviour"], *p, "{pop}");
}

/// "Zahlungsverhalten verschlechtert": paid on time the year before, a month late now → one
/// suggested reminder with the reason, not a second one on the next scan.
async fn paying_later_than_the_year_before_suggests_a_reminder_once(backend: &str) {
    let w = world(backend, TEAMS).await;
    let id = w.id_of("00042").await;
    for (number, days_ago) in [("RE-2026-1002", 400), ("RE-2026-1001", 5)] {
        let sql = format!(
            "UPDATE records SET closed_at = $1 WHERE entity = 'invoice' AND external_id = '{number}'"
        );
        assert!(at_hours_ago(&w, backend, &sql, days_ago * 24).await >= 1);
    }
    let (_, card) = w.get(&format!("/api/v1/customers/{id}"), "sales").await;
    assert_eq!(
        card["payment_behaviour"]["trend"], "worse",
        "{}",
        card["payment_behaviour"]
    );
    let cfg =
        kontor::config::Config::parse("k.toml", TEAMS, std::path::PathBuf::from("."), Vec::new())
            .unwrap();
    let ctx = kontor::view::ViewContext::from_config(&cfg);
    let dir = kontor::directory::Directory::load(&w.store, &ctx.policy, "DE")
        .await
        .unwrap();
    let today = chrono::Utc::now().date_naive();
    for _ in 0..2 {
        kontor::front::reminders::suggest(&w.store, &cfg.reminders, &ctx, &dir, today, true)
            .await
            .unwrap();
    }
    let (_, all) = w
        .get(
            &format!("/api/v1/reminders?customer_id={id}&show=all"),
            "sales",
        )
        .await;
    let worse: Vec<&Value> = all
        .as_array()
        .unwrap_or_else(|| all["reminders"].as_array().unwrap())
        .iter()
        .filter(|r| r["title"] == "Zahlungsverhalten verschlechtert: Müller & Söhne GmbH")
        .collect();
    assert_eq!(worse.len(), 1, "once: {all}");
    let reason = worse[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("(Vorjahr 0,0 Tage); 1 von 1 Rechnungen verspätet"),
        "{reason}"
    );
}
