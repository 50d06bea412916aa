//! What the front office learns from the back office, through the API on SQLite and
//! PostgreSQL: how a customer pays (an open item that leaves the list was paid that day; the
//! trend against the year before and its reminder) and the complaint report (per category,
//! item, customer or team — never per person).

use crate::common;

use common::{TEAMS, at_hours_ago, world};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(
    the_complaint_report_groups_without_naming_anyone,
    an_open_item_that_leaves_the_list_counts_as_paid_that_day,
    paying_later_than_the_year_before_suggests_a_reminder_once,
);

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
    let today = chrono::Utc::now().date_naive();
    for _ in 0..2 {
        common::suggest_reminders(&w, TEAMS, today, true).await;
    }
    let all = common::reminders_of(&w, id).await;
    let worse: Vec<&Value> = all
        .iter()
        .filter(|r| r["title"] == "Zahlungsverhalten verschlechtert: Müller & Söhne GmbH")
        .collect();
    assert_eq!(worse.len(), 1, "once: {all:?}");
    let reason = worse[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("(Vorjahr 0,0 Tage); 1 von 1 Rechnungen verspätet"),
        "{reason}"
    );
}
