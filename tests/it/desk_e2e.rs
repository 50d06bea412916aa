//! The sales desk through the API, on SQLite and PostgreSQL: one's own contacts corrected
//! and deleted (for a day, audited, nobody else's), documents opened from the card (lines,
//! dates, provenance, related documents — also when paid), the item search naming the open
//! orders that wait, and click-to-dial through sipgate, Placetel or a URL (the call lands in
//! the timeline).

use crate::common;

use common::{TEAMS, World, at_hours_ago, world};
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

both_backends!(
    own_contacts_are_corrected_and_deleted_for_a_day,
    documents_open_with_lines_provenance_and_relations,
    the_item_search_names_the_orders_that_wait,
    click_to_dial_rings_the_desk_and_lands_in_the_timeline,
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
