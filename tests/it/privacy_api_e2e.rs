//! Data protection through the API, on SQLite and PostgreSQL: erasure that holds across a
//! re-sync, the export, the audit log (ops only, written before the server stops) and the
//! group-size rule of team reports.

use crate::common;

use common::{TEAMS, world};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(
    erasure_holds_across_a_resync_and_audit_and_reports_follow_the_rules,
    audit_entries_still_queued_at_shutdown_are_written,
    every_read_of_personal_data_is_audited_and_retention_is_by_storage_date,
);

async fn erasure_holds_across_a_resync_and_audit_and_reports_follow_the_rules(backend: &str) {
    let w = world(backend, TEAMS).await;
    let sabine = w.id_of("sabine@mustermann.de").await;
    let (_, v) = w.get(&format!("/api/v1/customers/{sabine}"), "sales").await;
    assert_eq!(v["fields"]["email"]["value"], "sabine@mustermann.de");
    w.call(
        "POST",
        &format!("/api/v1/customers/{sabine}/activities"),
        Some("sales"),
        Some(json!({"kind": "note", "text": "Rückruf an sabine@mustermann.de"})),
    )
    .await;
    let (s, exp) = w
        .call(
            "POST",
            "/api/v1/privacy/export",
            Some("ops"),
            Some(json!({"email": "Sabine@Mustermann.de"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{exp}");
    assert!(
        exp["records"].as_array().unwrap().len() >= 2,
        "WaWi and DATEV: {exp}"
    );
    assert_eq!(exp["activities"].as_array().unwrap().len(), 1);
    let (s, _) = w
        .call(
            "POST",
            "/api/v1/privacy/export",
            Some("sales"),
            Some(json!({"email": "x@y.de"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let sabine_ids = json!({"email": "sabine@mustermann.de", "phone": "0221/1234567", "name": "Sabine Mustermann"});
    let mut dry = sabine_ids.clone();
    dry["dry_run"] = json!(true);
    let (s, plan) = w
        .call("POST", "/api/v1/privacy/erase", Some("ops"), Some(dry))
        .await;
    assert_eq!(s, StatusCode::OK, "{plan}");
    let mut go = sabine_ids;
    go["confirm"] = plan["total"].clone();
    let (s, erased) = w
        .call("POST", "/api/v1/privacy/erase", Some("ops"), Some(go))
        .await;
    assert_eq!(s, StatusCode::OK, "{erased}");
    assert!(
        erased["records"].as_u64().unwrap() >= 2 && erased["tombstones"].as_u64().unwrap() == 3,
        "{erased}"
    );
    // A re-sync of the sources that still have her (reprocess: every row again).
    let text = kontor::demo::config(&w._erp.uri());
    let cfg = kontor::config::Config::parse(
        "kontor.toml",
        &text,
        w._dir.path().to_path_buf(),
        Vec::new(),
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    for name in ["wawi-kunden", "datev-debitoren"] {
        let p = kontor::sync::prepare(&cfg, cfg.connector(name).unwrap()).unwrap();
        let opts = kontor::sync::SyncOptions {
            node: "t".into(),
            reprocess: true,
            ..Default::default()
        };
        kontor::sync::run(&w.store, &p, &opts).await.unwrap();
    }
    let all = w.store.records(None, None, 0).await.unwrap();
    let text: String = all.iter().map(|r| r.data.to_string()).collect();
    assert!(
        !text.contains("sabine@mustermann.de")
            && !text.contains("Sabine Mustermann")
            && !text.contains("+492211234567"),
        "she is back"
    );
    let (_, exp) = w
        .call(
            "POST",
            "/api/v1/privacy/export",
            Some("ops"),
            Some(json!({"email": "sabine@mustermann.de"})),
        )
        .await;
    assert_eq!(
        (
            exp["records"].as_array().unwrap().len(),
            exp["activities"].as_array().unwrap().len()
        ),
        (0, 0),
        "{exp}"
    );
    // Her invoices stay (retention duty), under her customer number.
    assert!(
        all.iter()
            .any(|r| r.entity == "invoice" && r.customer_no.as_deref() == Some("10000"))
    );

    // Audit log: who opened which customer; ops only. Written in batches within a second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (s, audit) = w
            .get(&format!("/api/v1/audit?customer_id={sabine}"), "ops")
            .await;
        assert_eq!(s, StatusCode::OK);
        let seen = audit
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["token_name"] == "test-sales" && a["action"] == "view_customer");
        if seen {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not in the audit log: {audit}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (s, _) = w.get("/api/v1/audit", "sales").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Team report: a team of 7 is shown, a team of 2 is not (nor as "other teams" alone).
    let small = kontor::api::auth::new_token();
    w.store
        .create_token(
            "klein-team",
            "sales",
            Some("klein"),
            &kontor::api::auth::hash_token(&small),
        )
        .await
        .unwrap();
    let id = w.id_of("00042").await;
    for _ in 0..3 {
        w.http
            .post(format!("{}/api/v1/customers/{id}/activities", w.base))
            .bearer_auth(&small)
            .json(&json!({"kind": "call"}))
            .send()
            .await
            .unwrap();
    }
    let from = "2020-01-01T00:00:00Z";
    let to = "2100-01-01T00:00:00Z";
    let (s, rep) = w
        .get(
            &format!("/api/v1/reports/contacts?from={from}&to={to}"),
            "ops",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{rep}");
    let teams: Vec<&str> = rep["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["team"].as_str().unwrap())
        .collect();
    assert_eq!(teams, ["vertrieb-nord"], "{rep}");
    assert_eq!(rep["withheld"], 3, "{rep}");
    let (s, _) = w
        .get(
            &format!("/api/v1/reports/contacts?from={from}&to={to}"),
            "sales",
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let _: Value = rep;
}

async fn audit_entries_still_queued_at_shutdown_are_written(backend: &str) {
    let mut w = world(backend, "").await;
    let id = w.id_of("00042").await;
    let before = w.store.audit_entries(Some(id), 100).await.unwrap().len();
    for _ in 0..3 {
        let (s, _) = w.get(&format!("/api/v1/customers/{id}"), "sales").await;
        assert_eq!(s, StatusCode::OK);
    }
    // Right away, well within the writer's batching window.
    w.shutdown().await;
    let after = w.store.audit_entries(Some(id), 100).await.unwrap();
    let views = after
        .iter()
        .filter(|a| a.token_name == "test-sales" && a.action == "view_customer")
        .count();
    assert_eq!(after.len() - before, 3, "{after:?}");
    assert_eq!(views, 3, "{after:?}");
}

/// Audit entries until `want` are all there (the writer flushes every 0.5 s: a kill loses at
/// most that much), at most 3 s.
async fn audit_until(w: &common::World, want: &[&str]) -> Vec<kontor::store::AuditRow> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let entries = w.store.audit_entries(None, 1000).await.unwrap();
        if want.iter().all(|a| entries.iter().any(|e| e.action == *a)) {
            return entries;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "missing some of {want:?} in {entries:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn every_read_of_personal_data_is_audited_and_retention_is_by_storage_date(backend: &str) {
    let w = world(backend, TEAMS).await;
    let muller = w.id_of("00042").await;
    for (token, path) in [
        ("sales", format!("/api/v1/customers/{muller}/timeline")),
        ("sales", format!("/api/v1/complaints?customer_id={muller}")),
        ("sales", "/api/v1/screenpop?number=0221%204711-0".to_owned()),
        ("cti", "/api/v1/lookup/phone/0221%201234567".to_owned()),
    ] {
        let (s, v) = w.get(&path, token).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
    }
    let (s, _) = w
        .call(
            "POST",
            "/api/v1/calls",
            Some("cti"),
            Some(json!({"from": "0221 4711-0"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let sabine = json!({"email": "sabine@mustermann.de", "phone": "0221 1234567"});
    let (s, _) = w
        .call(
            "POST",
            "/api/v1/privacy/export",
            Some("ops"),
            Some(sabine.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let entries = audit_until(
        &w,
        &[
            "view_timeline",
            "list_complaints",
            "screen_pop",
            "lookup_phone",
            "incoming_call",
            "privacy_export",
        ],
    )
    .await;
    let lookup = entries.iter().find(|e| e.action == "lookup_phone").unwrap();
    assert_eq!(
        (
            lookup.token_name.as_str(),
            lookup.role.as_str(),
            lookup.detail.as_deref()
        ),
        ("test-cti", "cti", Some("+492211234567"))
    );
    let timeline = entries
        .iter()
        .find(|e| e.action == "view_timeline")
        .unwrap();
    assert_eq!(timeline.customer_id, Some(muller));
    // Erasing her rewrites the audit's reference to her number; the erasure itself is
    // audited with its size, not with her.
    let mut dry = sabine.clone();
    dry["dry_run"] = json!(true);
    let (_, plan) = w
        .call("POST", "/api/v1/privacy/erase", Some("ops"), Some(dry))
        .await;
    let mut go = sabine;
    go["confirm"] = plan["total"].clone();
    let (s, v) = w
        .call("POST", "/api/v1/privacy/erase", Some("ops"), Some(go))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let entries = audit_until(&w, &["privacy_erase_dry_run", "privacy_erase"]).await;
    for e in &entries {
        let d = e.detail.as_deref().unwrap_or("");
        assert!(!d.contains("1234567") && !d.contains("mustermann"), "{e:?}");
    }
    assert!(
        entries
            .iter()
            .any(|e| e.action == "lookup_phone" && e.detail.as_deref() == Some("[gelöscht]")),
        "{entries:?}"
    );

    // Contacts dated outside 1970..tomorrow are refused; retention counts from storage.
    for at in [
        "9999-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "1969-12-31T00:00:00Z",
    ] {
        let (s, v) = w
            .call(
                "POST",
                &format!("/api/v1/customers/{muller}/activities"),
                Some("sales"),
                Some(json!({"kind": "call", "at": at})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{at}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().starts_with("at:"),
            "{v}"
        );
    }
    let old = w
        .store
        .add_activity(&kontor::store::NewActivity {
            customer_id: Some(muller),
            kind: "visit".into(),
            at: chrono::Utc::now() - chrono::TimeDelta::days(3650),
            source: "import".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let purged = w
        .store
        .purge_before(
            "activities",
            chrono::Utc::now() - chrono::TimeDelta::days(3 * 365),
        )
        .await
        .unwrap();
    assert_eq!(
        purged, 0,
        "a contact stored today is not purged for its old date"
    );
    assert!(w.store.activity(old).await.unwrap().is_some());
}
