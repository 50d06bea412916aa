//! Front-office features through the API, on SQLite and PostgreSQL: contact history and the
//! timeline, incoming calls, reminders (manual and suggested, never twice), complaints with
//! similar cases and their workflow. Data protection through the API: privacy_api_e2e.rs.

use crate::common;

use common::{TEAMS, world};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(
    contacts_calls_and_the_timeline,
    reminders_manual_and_suggested_never_twice,
    complaints_with_similar_cases_and_their_workflow,
    a_backdated_contact_is_answered_behind_many_newer_ones,
);

async fn contacts_calls_and_the_timeline(backend: &str) {
    let w = world(backend, TEAMS).await;
    let id = w.id_of("00042").await;
    let (s, a) = w
        .call("POST", &format!("/api/v1/customers/{id}/activities"), Some("sales"),
            Some(json!({"kind": "visit", "subject": "Besuch Werkstatt", "text": "Neue Fräser vorgestellt"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!(a["team"], "vertrieb-nord", "the token's team, not a person");
    let (s, bad) = w
        .call(
            "POST",
            &format!("/api/v1/customers/{id}/activities"),
            Some("sales"),
            Some(json!({"kind": "fax"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    // An incoming call: recorded, answered with the screen-pop.
    let (s, pop) = w
        .call(
            "POST",
            "/api/v1/calls",
            Some("cti"),
            Some(json!({"from": "+49 221 4711-23", "to": "0228 9999-10"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{pop}");
    let c = &pop["customer"];
    assert_eq!(
        (c["id"].as_i64(), c["name"].as_str()),
        (Some(id), Some("Müller & Söhne GmbH")),
        "{pop}"
    );
    assert_eq!(c["open_items_total"]["amount"], "5449.60");
    assert!(c["overdue_count"].as_u64().unwrap() >= 4, "{pop}");
    let order = c["open_orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["number"] == "AB-50001")
        .unwrap();
    assert_eq!(order["next_delivery_date"], "2026-12-08");
    assert!(pop["call_id"].as_i64().is_some());
    let (s, _) = w
        .call(
            "POST",
            "/api/v1/calls",
            Some("sales"),
            Some(json!({"from": "0221 4711-0"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, unknown) = w
        .call(
            "POST",
            "/api/v1/calls",
            Some("cti"),
            Some(json!({"from": "030 999999"})),
        )
        .await;
    assert_eq!(
        (s, unknown["customer"].is_null()),
        (StatusCode::OK, true),
        "{unknown}"
    );
    // The timeline: contacts and documents, newest first, filterable, paged.
    let (s, t) = w
        .get(
            &format!("/api/v1/customers/{id}/timeline?limit=100"),
            "service",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let items = t["items"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    for k in ["call", "visit", "invoice", "credit_note", "order"] {
        assert!(kinds.contains(&k), "{k} missing in {kinds:?}");
    }
    let ats: Vec<&str> = items.iter().map(|i| i["at"].as_str().unwrap()).collect();
    assert!(
        ats.windows(2).all(|p| p[0] >= p[1]),
        "newest first: {ats:?}"
    );
    let (_, calls) = w
        .get(
            &format!("/api/v1/customers/{id}/timeline?kind=call"),
            "sales",
        )
        .await;
    assert!(
        calls["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["kind"] == "call")
    );
    let (_, p1) = w
        .get(&format!("/api/v1/customers/{id}/timeline?limit=3"), "sales")
        .await;
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = w
        .get(
            &format!("/api/v1/customers/{id}/timeline?limit=3&cursor={cursor}"),
            "sales",
        )
        .await;
    assert_eq!(p2["items"][0], items[3], "page 2 continues page 1");
    let (s, _) = w
        .get(
            &format!("/api/v1/customers/{id}/timeline?kind=tweet"),
            "sales",
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // The screen-pop page's route (no call recorded).
    let (s, pop) = w
        .get("/api/v1/screenpop?number=089%20123456", "sales")
        .await;
    assert_eq!(
        (s, pop["customer"]["name"].as_str()),
        (StatusCode::OK, Some("Bäckerei Weiß e.K.")),
        "{pop}"
    );
}

async fn reminders_manual_and_suggested_never_twice(backend: &str) {
    let w = world(backend, TEAMS).await;
    let id = w.id_of("00042").await;
    let today = chrono::Local::now().date_naive();
    let (s, r) = w
        .call("POST", "/api/v1/reminders", Some("sales"),
            Some(json!({"customer_id": id, "title": "Angebot nachfassen", "due_date": today.to_string()})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let rid = r["id"].as_i64().unwrap();
    let (_, due) = w.get("/api/v1/reminders", "sales").await;
    assert!(
        due.as_array().unwrap().iter().any(|x| x["id"] == rid),
        "{due}"
    );
    let tomorrow = today.succ_opt().unwrap();
    let (s, snoozed) = w
        .call(
            "POST",
            &format!("/api/v1/reminders/{rid}/snooze"),
            Some("sales"),
            Some(json!({"until": tomorrow.to_string()})),
        )
        .await;
    assert_eq!(
        (s, snoozed["status"].as_str()),
        (StatusCode::OK, Some("snoozed"))
    );
    let (_, due) = w.get("/api/v1/reminders", "sales").await;
    assert!(
        !due.as_array().unwrap().iter().any(|x| x["id"] == rid),
        "snoozed until tomorrow: {due}"
    );
    let (s, done) = w
        .call(
            "POST",
            &format!("/api/v1/reminders/{rid}/done"),
            Some("sales"),
            None,
        )
        .await;
    assert_eq!((s, done["status"].as_str()), (StatusCode::OK, Some("done")));
    // "Rückgängig": open again, due on its own date, listed as due again.
    let (s, reopened) = w
        .call(
            "POST",
            &format!("/api/v1/reminders/{rid}/reopen"),
            Some("sales"),
            None,
        )
        .await;
    assert_eq!(
        (
            s,
            reopened["status"].as_str(),
            reopened["snoozed_until"].is_null()
        ),
        (StatusCode::OK, Some("open"), true),
        "{reopened}"
    );
    let (_, due) = w.get("/api/v1/reminders", "sales").await;
    assert!(
        due.as_array().unwrap().iter().any(|x| x["id"] == rid),
        "reopened: {due}"
    );
    let (s, _) = w
        .call(
            "POST",
            "/api/v1/reminders/999999/reopen",
            Some("sales"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = w
        .call(
            "POST",
            &format!("/api/v1/reminders/{rid}/done"),
            Some("sales"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // Suggestions after a sync: overdue invoices, the moved delivery date.
    let cfg =
        kontor::config::Config::parse("k.toml", TEAMS, std::path::PathBuf::from("."), Vec::new())
            .unwrap();
    let ctx = kontor::view::ViewContext::from_config(&cfg);
    let dir = kontor::directory::Directory::load(&w.store, &ctx.policy, "DE")
        .await
        .unwrap();
    // (The server suggests too, after its start: created here or there, never twice.)
    let first =
        kontor::front::reminders::suggest(&w.store, &cfg.reminders, &ctx, &dir, today, true)
            .await
            .unwrap();
    assert!(first.created + first.known >= 2, "{first:?}");
    let (_, mine) = w
        .get(
            &format!("/api/v1/reminders?customer_id={id}&show=all"),
            "sales",
        )
        .await;
    let sources: Vec<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["source"].as_str().unwrap())
        .collect();
    assert!(
        sources.contains(&"overdue_invoice") && sources.contains(&"delivery_moved"),
        "{mine}"
    );
    // Overdue invoices: one reminder per customer, counting each invoice once (the view
    // merges a booked invoice with its e-invoice; the reminder scan must agree).
    let (_, view) = w.get(&format!("/api/v1/customers/{id}"), "sales").await;
    let overdue: Vec<&Value> = view["open_items"]["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            i["days_overdue"].as_i64().unwrap() > 14
                && i["open_amount"]["amount"]
                    .as_str()
                    .unwrap()
                    .parse::<rust_decimal::Decimal>()
                    .unwrap()
                    >= rust_decimal::Decimal::from(500)
        })
        .collect();
    let reminded: Vec<&Value> = mine
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["source"] == "overdue_invoice")
        .collect();
    assert_eq!(reminded.len(), 1, "{mine}");
    let reason = reminded[0]["reason"].as_str().unwrap();
    match overdue.len() {
        0 => panic!("the test world has overdue invoices: {view}"),
        1 => assert!(
            reason.contains(overdue[0]["number"].as_str().unwrap()),
            "{reason}"
        ),
        n => assert!(
            reason.starts_with(&format!("{n} Rechnungen überfällig")),
            "{reason} / {overdue:?}"
        ),
    }
    // Written for a salesperson: the open sum in German notation with its currency, no
    // internal rule text.
    let total: rust_decimal::Decimal = overdue
        .iter()
        .map(|i| {
            i["open_amount"]["amount"]
                .as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap()
        })
        .sum();
    let expected = kontor::view::Money {
        amount: total,
        currency: "EUR".into(),
    }
    .german();
    assert!(
        reason.contains(&format!("offen {expected}"))
            || reason.contains(&format!("offen zusammen {expected}")),
        "{reason} / {expected}"
    );
    assert!(
        !reason.contains(" ab ") && !reason.contains("je Rechnung"),
        "{reason}"
    );
    let moved = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == "delivery_moved")
        .unwrap();
    assert!(
        moved["reason"]
            .as_str()
            .unwrap()
            .contains("27.11.2026 auf den 08.12.2026"),
        "{moved}"
    );
    // Again (a re-sync): nothing new; done ones stay done.
    let again =
        kontor::front::reminders::suggest(&w.store, &cfg.reminders, &ctx, &dir, today, true)
            .await
            .unwrap();
    assert_eq!(
        (again.created, again.known),
        (0, first.created + first.known),
        "{again:?}"
    );
    let mid = moved["id"].as_i64().unwrap();
    w.call(
        "POST",
        &format!("/api/v1/reminders/{mid}/done"),
        Some("sales"),
        None,
    )
    .await;
    let third =
        kontor::front::reminders::suggest(&w.store, &cfg.reminders, &ctx, &dir, today, true)
            .await
            .unwrap();
    assert_eq!(third.created, 0);
}

async fn complaints_with_similar_cases_and_their_workflow(backend: &str) {
    let w = world(backend, TEAMS).await;
    let id = w.id_of("00042").await;
    let file = |title: &str, text: &str, sku: Option<&str>, category: &str| json!({"customer_id": id, "category": category, "title": title, "text": text, "sku": sku});
    let (s, first) = w
        .call(
            "POST",
            "/api/v1/complaints",
            Some("service"),
            Some(file(
                "Spannzangen beschädigt geliefert",
                "Die Verpackung war eingedrückt, zwei Spannzangen verbogen.",
                Some("0815-A"),
                "lieferung",
            )),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let cid = first["complaint"]["id"].as_i64().unwrap();
    assert_eq!(first["complaint"]["status"], "new");
    assert!(first["complaint"]["deadline"].is_string());
    // The workflow: resolved needs a resolution; closed is final.
    let status = |s: &str, r: Option<&str>| json!({"status": s, "resolution": r});
    let (s, _) = w
        .call(
            "POST",
            &format!("/api/v1/complaints/{cid}/status"),
            Some("service"),
            Some(status("closed", None)),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "new → closed is not allowed");
    w.call(
        "POST",
        &format!("/api/v1/complaints/{cid}/status"),
        Some("service"),
        Some(status("in_progress", None)),
    )
    .await;
    let (s, _) = w
        .call(
            "POST",
            &format!("/api/v1/complaints/{cid}/status"),
            Some("service"),
            Some(status("resolved", None)),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "resolved without a resolution");
    let (s, t) = w
        .call(
            "POST",
            &format!("/api/v1/complaints/{cid}/status"),
            Some("service"),
            Some(status(
                "resolved",
                Some("Ersatz geliefert, Spedition informiert"),
            )),
        )
        .await;
    assert_eq!(
        (s, t["status"].as_str()),
        (StatusCode::OK, Some("resolved")),
        "{t}"
    );
    // A new complaint in other words finds the old one, with its resolution.
    let (s, second) = w
        .call(
            "POST",
            "/api/v1/complaints",
            Some("sales"),
            Some(file(
                "Beschädigte Spannzange erhalten",
                "Spannzange kam verbogen an",
                None,
                "lieferung",
            )),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{second}");
    let similar = second["similar"].as_array().unwrap();
    assert_eq!(
        similar[0]["complaint"]["id"].as_i64(),
        Some(cid),
        "{second}"
    );
    assert_eq!(
        similar[0]["complaint"]["resolution"],
        "Ersatz geliefert, Spedition informiert"
    );
    assert!(
        similar[0]["why"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == "similar text")
    );
    // Same item: found without shared words.
    let (_, third) = w
        .call(
            "POST",
            "/api/v1/complaints",
            Some("sales"),
            Some(file(
                "Falscher Artikel",
                "Lieferschein passt nicht",
                Some("0815-A"),
                "lieferung",
            )),
        )
        .await;
    assert!(
        third["similar"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["complaint"]["id"] == cid && c["why"][0] == "same item 0815-A"),
        "{third}"
    );
    // Unrelated text: not similar.
    let (_, other) = w
        .call(
            "POST",
            "/api/v1/complaints",
            Some("sales"),
            Some(file(
                "Rechnungsbetrag falsch",
                "Skonto nicht abgezogen",
                None,
                "lieferung",
            )),
        )
        .await;
    assert!(
        !other["similar"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["complaint"]["id"] == cid),
        "{other}"
    );
    // Overdue flag, and the merged view lists them.
    let (_, urgent) = w
        .call(
            "POST",
            "/api/v1/complaints",
            Some("sales"),
            Some(file("Sofort", "eilt", None, "eilig")),
        )
        .await;
    assert_eq!(urgent["complaint"]["overdue"], true, "{urgent}");
    let (s, _) = w
        .call(
            "POST",
            "/api/v1/complaints",
            Some("sales"),
            Some(file("x", "y", None, "unbekannt")),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, view) = w.get(&format!("/api/v1/customers/{id}"), "sales").await;
    assert_eq!(
        view["tickets"].as_array().unwrap().len(),
        5,
        "{}",
        view["tickets"]
    );
}

/// A contact logged late (its `at` long past) is answered with itself even when the customer
/// has hundreds of newer ones.
async fn a_backdated_contact_is_answered_behind_many_newer_ones(backend: &str) {
    let w = world(backend, "").await;
    let id = w.id_of("00042").await;
    for i in 0..205 {
        w.store
            .add_activity(&kontor::store::NewActivity {
                customer_id: Some(id),
                kind: "note".into(),
                direction: None,
                at: chrono::Utc::now(),
                subject: Some(format!("Notiz {i}")),
                text: None,
                team: None,
                phone: None,
                source: "import".into(),
                author: None,
            })
            .await
            .unwrap();
    }
    let (s, a) = w
        .call(
            "POST",
            &format!("/api/v1/customers/{id}/activities"),
            Some("sales"),
            Some(json!({"kind": "call", "direction": "in", "at": "2025-03-04T09:00:00Z", "subject": "Nachgetragen"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!(a["subject"], "Nachgetragen", "{a}");
    assert_eq!(a["at"], "2025-03-04T09:00:00Z", "{a}");
}
