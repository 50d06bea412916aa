//! Complaints handed between teams and what they cost, through the API on SQLite and
//! PostgreSQL: a complaint forwarded to another team (with a note) shows in both teams' lists
//! and in the customer's timeline, the audit names the team but never the note; the recorded
//! cost is summed per group in the complaint report, never per person nor per withheld team.

use crate::common;
use crate::complaint_process_e2e::{CONFIG, file, repair, token};

use common::world;
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(
    a_forwarded_complaint_shows_in_both_teams_lists_and_the_timeline,
    the_report_sums_cost_per_group_never_per_person,
);

async fn a_forwarded_complaint_shows_in_both_teams_lists_and_the_timeline(backend: &str) {
    let mut w = world(backend, CONFIG).await;
    let service = token(&w, "service", "service").await;
    let product = token(&w, "sales", "produktmanagement").await;
    let id = w.id_of("00042").await;
    let t = repair(&w, &service, id, "Spindel läuft unrund").await;
    let tid = t["id"].as_i64().unwrap();
    let forward = format!("/api/v1/complaints/{tid}/forward");
    let note = "Bitte Lagercharge 4711 prüfen, Kunde Müller ruft zurück";

    let (_, detail) = w.get(&format!("/api/v1/complaints/{tid}"), &service).await;
    assert_eq!(
        detail["forward_to"],
        json!(["klein", "produktmanagement", "vertrieb-nord"]),
        "configured teams but its own"
    );
    for (body, want) in [
        (
            json!({"team": "einkauf", "note": note}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"team": "produktmanagement", "note": "  "}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"team": "service", "note": note}),
            StatusCode::CONFLICT,
        ),
        (
            json!({"team": "produktmanagement"}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, e) = w
            .call("POST", &forward, Some(&service), Some(body.clone()))
            .await;
        assert_eq!(s, want, "{body}: {e}");
    }
    let (s, e) = w
        .call(
            "POST",
            &forward,
            Some("cti"),
            Some(json!({"team": "produktmanagement", "note": note})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let (s, fwd) = w
        .call(
            "POST",
            &forward,
            Some(&service),
            Some(json!({"team": "produktmanagement", "note": note})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{fwd}");
    assert_eq!(fwd["team"], "service", "the owning team stays");
    assert_eq!(fwd["forwarded_to"], "produktmanagement");
    assert_eq!(fwd["forwards"][0]["from_team"], "service");
    assert_eq!(fwd["forwards"][0]["to_team"], "produktmanagement");
    assert_eq!(fwd["forwards"][0]["note"], note);
    let (s, e) = w
        .call(
            "POST",
            &forward,
            Some(&product),
            Some(json!({"team": "produktmanagement", "note": note})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "with that team already: {e}");

    // Both teams' lists have it; a third team's list does not.
    let listed = |team: &str, token: String| {
        let path = format!("/api/v1/complaints?team={team}");
        let w = &w;
        async move {
            let (s, l) = w.get(&path, &token).await;
            assert_eq!(s, StatusCode::OK, "{l}");
            l.as_array().unwrap().iter().any(|c| c["id"] == tid)
        }
    };
    assert!(listed("service", service.clone()).await);
    assert!(listed("produktmanagement", service.clone()).await);
    assert!(!listed("vertrieb-nord", service.clone()).await);
    let (_, mine) = w.get("/api/v1/complaints?mine=true", &product).await;
    assert!(
        mine.as_array().unwrap().iter().any(|c| c["id"] == tid),
        "product management's own list: {mine}"
    );
    let (_, mine) = w.get("/api/v1/complaints?mine=true", "sales").await;
    assert!(
        !mine.as_array().unwrap().iter().any(|c| c["id"] == tid),
        "vertrieb-nord's own list: {mine}"
    );
    // Today's rule stands: any salesperson reads a customer's complaints (the card), whatever
    // team has them.
    let (s, _) = w.get(&format!("/api/v1/complaints/{tid}"), "sales").await;
    assert_eq!(s, StatusCode::OK);

    // The timeline shows the forwarding with its note, by the team that forwarded it.
    let (s, tl) = w
        .get(
            &format!("/api/v1/customers/{id}/timeline?kind=complaint"),
            "sales",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{tl}");
    let item = tl["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference"] == format!("R{tid}-W1"))
        .unwrap_or_else(|| panic!("{tl}"));
    assert_eq!(
        item["title"],
        "Reklamation „Spindel läuft unrund“ weitergeleitet an Team produktmanagement"
    );
    assert_eq!(item["detail"], note);
    assert_eq!(item["team"], "service");
    assert_eq!(item["kind"], "complaint");

    // Forwarded back: the history keeps both, the service team has it again.
    let (s, back) = w
        .call(
            "POST",
            &forward,
            Some(&product),
            Some(json!({"team": "service", "note": "Charge ist in Ordnung"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{back}");
    assert_eq!(back["forwarded_to"], "service");
    assert_eq!(back["forwards"][1]["from_team"], "produktmanagement");
    assert!(
        listed("produktmanagement", product.clone()).await,
        "it was theirs once"
    );

    // The audit names the team, never the note.
    w.shutdown().await;
    let audit = w.store.audit_entries(Some(id), 1000).await.unwrap();
    let forwards: Vec<&str> = audit
        .iter()
        .filter(|a| a.action == "forward_complaint")
        .filter_map(|a| a.detail.as_deref())
        .collect();
    assert_eq!(
        forwards,
        [
            format!("complaint {tid} to service"),
            format!("complaint {tid} to produktmanagement")
        ]
    );
    assert!(
        !audit
            .iter()
            .any(|a| a.detail.as_deref().is_some_and(|d| d.contains("Charge"))),
        "{audit:?}"
    );
}

async fn the_report_sums_cost_per_group_never_per_person(backend: &str) {
    let w = world(backend, CONFIG).await;
    let service = token(&w, "service", "service").await;
    let small = token(&w, "service", "klein").await;
    let id = w.id_of("00042").await;
    let a = repair(&w, &service, id, "Spindel läuft unrund").await;
    repair(&w, &service, id, "Spindel klemmt").await;
    let c = repair(&w, &small, id, "Display flackert").await;
    file(
        &w,
        &service,
        json!({"customer_id": id, "category": "sonstiges", "title": "Rückfrage"}),
    )
    .await;
    for (t, cost) in [(&a, "230"), (&c, "99.90")] {
        let (s, e) = w
            .call(
                "PATCH",
                &format!("/api/v1/complaints/{}", t["id"]),
                Some(&service),
                Some(json!({"cost": cost})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{e}");
    }
    let (s, e) = w
        .call(
            "PATCH",
            &format!("/api/v1/complaints/{}", a["id"]),
            Some(&service),
            Some(json!({"cost": "1,5"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, e) = w
        .call(
            "PATCH",
            &format!("/api/v1/complaints/{}", a["id"]),
            Some(&service),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "nothing to change: {e}");

    let range = "from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z";
    let (s, rep) = w
        .get(
            &format!("/api/v1/reports/complaints?{range}&group=category"),
            "ops",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{rep}");
    let group = |rep: &Value, key: &str| -> Value {
        rep["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == key)
            .cloned()
            .unwrap_or_else(|| panic!("{key}: {rep}"))
    };
    let repair_group = group(&rep, "reparatur_vor_ort");
    assert_eq!(repair_group["count"], 3);
    assert_eq!(repair_group["cost"], "329.90");
    assert_eq!(repair_group["cost_recorded"], 2);
    assert_eq!(repair_group["expected_cost"], "616.50", "3 × 205.50");
    let other = group(&rep, "sonstiges");
    assert!(
        other.get("cost").is_none() && other.get("expected_cost").is_none(),
        "only when recorded: {other}"
    );
    assert!(
        rep.get("cost").is_none(),
        "no total beside the groups: {rep}"
    );

    // Per team: the team of 2 is not shown, nor its cost.
    let (_, teams) = w
        .get(
            &format!("/api/v1/reports/complaints?{range}&group=team"),
            "ops",
        )
        .await;
    let service_group = group(&teams, "service");
    assert_eq!(service_group["cost"], "230.00");
    assert!(
        !teams.to_string().contains("99.90") && !teams.to_string().contains("klein"),
        "{teams}"
    );
    assert_eq!(teams["withheld"], 1);
    // No field names a person.
    for g in teams["groups"].as_array().unwrap() {
        for k in g.as_object().unwrap().keys() {
            assert!(
                !["author", "user", "person", "employee", "token_name"].contains(&k.as_str()),
                "{k}"
            );
        }
    }
    // Service sees its own team's, with its cost.
    let (s, own) = w
        .get(
            &format!("/api/v1/reports/complaints?{range}&group=item"),
            &service,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{own}");
    assert_eq!(own["team"], "service");
    assert_eq!(group(&own, "–")["cost"], "230.00");
}
