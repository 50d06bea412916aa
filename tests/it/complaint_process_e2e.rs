//! Service processes of complaints through the API, on SQLite and PostgreSQL: a complaint
//! gets its category's steps (due dates, expected cost) when it is filed and keeps them when
//! the template changes; steps are marked done and open again; an overdue step suggests one
//! reminder for the owning team, never twice. And `[complaints.processes]` errors name their
//! key. Forwarding and the cost in the report: complaint_forward_e2e.rs.

use crate::common;

use chrono::{Days, NaiveDate};
use common::{World, world};
use kontor::api::auth::{hash_token, new_token};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(
    steps_are_copied_with_due_dates_and_cost_and_stay_when_the_template_changes,
    steps_are_marked_done_and_open_again,
    an_overdue_step_reminds_the_owning_team_once,
);

/// Teams (one too small for reports), a category with a process of three steps, one without.
pub(crate) const CONFIG: &str = r#"
[privacy]
teams = { vertrieb-nord = 7, service = 5, produktmanagement = 5, klein = 2 }

[complaints]
categories = { lieferung = "3d", reparatur_vor_ort = "10d", sonstiges = "7d" }

[[complaints.processes.reparatur_vor_ort]]
step = "Termin vereinbaren"
days = 1

[[complaints.processes.reparatur_vor_ort]]
step = "Techniker vor Ort"
days = 3
cost = "180"

[[complaints.processes.reparatur_vor_ort]]
step = "Abschlussbericht"
days = 2
cost = "25.5"
"#;

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn day(d: NaiveDate, n: u64) -> String {
    d.checked_add_days(Days::new(n)).unwrap().to_string()
}

/// A token of `role` in `team` (the world's tokens are all of vertrieb-nord).
pub(crate) async fn token(w: &World, role: &str, team: &str) -> String {
    let t = new_token();
    w.store
        .create_token(&format!("{role}-{team}"), role, Some(team), &hash_token(&t))
        .await
        .unwrap();
    // The server reloads its tokens in the background.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    t
}

pub(crate) async fn file(w: &World, token: &str, body: Value) -> Value {
    let (s, c) = w
        .call("POST", "/api/v1/complaints", Some(token), Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    c["complaint"].clone()
}

pub(crate) async fn repair(w: &World, token: &str, customer: i64, title: &str) -> Value {
    file(
        w,
        token,
        json!({"customer_id": customer, "category": "reparatur_vor_ort", "title": title}),
    )
    .await
}

/// Sets a step's due date in the store (as if it had been filed days ago).
async fn set_due(w: &World, backend: &str, ticket: i64, n: i64, due: NaiveDate) {
    use sqlx::Connection;
    let sql = "UPDATE ticket_steps SET due = $1 WHERE ticket_id = $2 AND n = $3";
    let url = w._guard.url().to_owned();
    let changed = if backend == "sqlite" {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let q = sqlx::query(sql).bind(due).bind(ticket).bind(n);
        q.execute(&mut c).await.unwrap().rows_affected()
    } else {
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let q = sqlx::query(sql).bind(due).bind(ticket).bind(n);
        q.execute(&mut c).await.unwrap().rows_affected()
    };
    assert_eq!(changed, 1);
}

/// The service team's suggested reminders of overdue steps (open ones).
async fn step_reminders(w: &World) -> Vec<Value> {
    let (s, all) = w
        .get("/api/v1/reminders?assignee=service&show=all", "sales")
        .await;
    assert_eq!(s, StatusCode::OK, "{all}");
    all.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["source"] == "complaint_step")
        .cloned()
        .collect()
}

fn statuses(t: &Value) -> Vec<String> {
    t["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap().to_owned())
        .collect()
}

async fn steps_are_copied_with_due_dates_and_cost_and_stay_when_the_template_changes(
    backend: &str,
) {
    let w = world(backend, CONFIG).await;
    let service = token(&w, "service", "service").await;
    let id = w.id_of("00042").await;
    let today = today();
    let t = repair(&w, &service, id, "Spindel läuft unrund").await;
    let steps = t["steps"].as_array().unwrap();
    let got: Vec<(i64, &str, &str, Value)> = steps
        .iter()
        .map(|s| {
            (
                s["n"].as_i64().unwrap(),
                s["step"].as_str().unwrap(),
                s["due"].as_str().unwrap(),
                s["expected_cost"].clone(),
            )
        })
        .collect();
    // Each step is due `days` after the one before, the first after the day it was filed.
    assert_eq!(
        got,
        [
            (1, "Termin vereinbaren", day(today, 1).as_str(), Value::Null),
            (
                2,
                "Techniker vor Ort",
                day(today, 4).as_str(),
                json!("180.00")
            ),
            (
                3,
                "Abschlussbericht",
                day(today, 6).as_str(),
                json!("25.50")
            ),
        ],
        "{t}"
    );
    assert_eq!(statuses(&t), ["open", "open", "open"]);
    assert!(steps.iter().all(|s| s["done_at"].is_null()), "{t}");
    assert_eq!(t["expected_cost"], "205.50", "the expected cost up front");
    assert_eq!(t["cost"], Value::Null);
    assert_eq!(t["team"], "service");
    assert_eq!(t["forwarded_to"], Value::Null);
    assert_eq!(t["forwards"], json!([]));

    // A category without a process: no steps, no expected cost; a cost known at filing.
    let other = file(
        &w,
        "sales",
        json!({"customer_id": id, "category": "sonstiges", "title": "Rückfrage Skonto", "cost": "12.5"}),
    )
    .await;
    assert_eq!(
        (&other["steps"], &other["expected_cost"], &other["cost"]),
        (&json!([]), &Value::Null, &json!("12.50")),
        "{other}"
    );
    for bad in ["-5", "12,50", "1.999", "zwölf"] {
        let (s, e) = w
            .call(
                "POST",
                "/api/v1/complaints",
                Some("sales"),
                Some(
                    json!({"customer_id": id, "category": "sonstiges", "title": "x", "cost": bad}),
                ),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains("cost"),
            "{e}"
        );
    }

    // The template changes (one step only): a complaint filed now gets the new process …
    let changed: kontor::config::Config = kontor::config::Config::parse(
        "k.toml",
        "[complaints]\ncategories = { reparatur_vor_ort = \"10d\" }\n[complaints.processes]\nreparatur_vor_ort = [{ step = \"Ferndiagnose\", days = 2, cost = \"40\" }]\n",
        std::path::PathBuf::from("."),
        Vec::new(),
    )
    .unwrap();
    let (later, _) = kontor::front::complaints::create(
        &w.store,
        &changed.complaints,
        kontor::front::complaints::NewComplaint {
            customer_id: id,
            category: "reparatur_vor_ort".into(),
            title: "Spindel läuft wieder unrund".into(),
            text: String::new(),
            invoice_ref: None,
            order_ref: None,
            sku: None,
            team: Some("service".into()),
            cost: None,
        },
        today,
    )
    .await
    .unwrap();
    let (s, now) = w
        .get(&format!("/api/v1/complaints/{}", later.id), "sales")
        .await;
    assert_eq!(s, StatusCode::OK, "{now}");
    assert_eq!(now["complaint"]["steps"][0]["step"], "Ferndiagnose");
    assert_eq!(now["complaint"]["steps"][0]["due"], day(today, 2));
    assert_eq!(now["complaint"]["expected_cost"], "40.00");
    // … while the server (still the old template) shows each complaint with its own steps.
    let (_, before) = w
        .get(&format!("/api/v1/complaints/{}", t["id"]), "sales")
        .await;
    assert_eq!(before["complaint"]["steps"], t["steps"], "{before}");
    assert_eq!(before["complaint"]["expected_cost"], "205.50");
    assert_eq!(now["complaint"]["steps"].as_array().unwrap().len(), 1);
}

async fn steps_are_marked_done_and_open_again(backend: &str) {
    let mut w = world(backend, CONFIG).await;
    let service = token(&w, "service", "service").await;
    let id = w.id_of("00042").await;
    let t = repair(&w, &service, id, "Spindel läuft unrund").await;
    let tid = t["id"].as_i64().unwrap();
    let step = |n: &str| format!("/api/v1/complaints/{tid}/steps/{n}");
    let (s, done) = w
        .call(
            "PATCH",
            &step("2"),
            Some("sales"),
            Some(json!({"done": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(statuses(&done), ["open", "done", "open"]);
    assert!(done["steps"][1]["done_at"].is_string(), "{done}");
    // The card (merged view) shows the same.
    let (_, card) = w.get(&format!("/api/v1/customers/{id}"), "sales").await;
    let on_card = card["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == tid)
        .unwrap();
    assert_eq!(statuses(on_card), ["open", "done", "open"]);
    let (s, open) = w
        .call(
            "PATCH",
            &step("2"),
            Some("sales"),
            Some(json!({"done": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{open}");
    assert_eq!(statuses(&open), ["open", "open", "open"]);
    assert!(open["steps"][1]["done_at"].is_null(), "{open}");

    for (path, body, want) in [
        (step("9"), json!({"done": true}), StatusCode::NOT_FOUND),
        (step("zwei"), json!({"done": true}), StatusCode::BAD_REQUEST),
        (
            step("1"),
            json!({"erledigt": true}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/complaints/999999/steps/1".into(),
            json!({"done": true}),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (s, e) = w.call("PATCH", &path, Some("sales"), Some(body)).await;
        assert_eq!(s, want, "{path}: {e}");
    }
    for role in ["cti", "ops"] {
        let (s, _) = w
            .call("PATCH", &step("1"), Some(role), Some(json!({"done": true})))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{role}");
    }
    let (s, _) = w
        .call("PATCH", &step("1"), None, Some(json!({"done": true})))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // A closed complaint keeps its steps as they are.
    for status in ["resolved", "closed"] {
        let (s, e) = w
            .call(
                "POST",
                &format!("/api/v1/complaints/{tid}/status"),
                Some("sales"),
                Some(json!({"status": status, "resolution": "Lager getauscht", "cost": "230"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{e}");
    }
    let (s, e) = w
        .call(
            "PATCH",
            &step("1"),
            Some("sales"),
            Some(json!({"done": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    let (_, closed) = w.get(&format!("/api/v1/complaints/{tid}"), "sales").await;
    assert_eq!(
        closed["complaint"]["cost"], "230.00",
        "cost with the status"
    );
    assert_eq!(closed["forward_to"], json!([]), "a closed one goes nowhere");
    w.shutdown().await;
    let audit = w.store.audit_entries(Some(id), 1000).await.unwrap();
    let steps: Vec<&str> = audit
        .iter()
        .filter(|a| a.action == "complaint_step")
        .filter_map(|a| a.detail.as_deref())
        .collect();
    assert_eq!(
        steps,
        [
            format!("complaint {tid} step 2 open"),
            format!("complaint {tid} step 2 done")
        ],
        "newest first"
    );
}

async fn an_overdue_step_reminds_the_owning_team_once(backend: &str) {
    let w = world(backend, CONFIG).await;
    let service = token(&w, "service", "service").await;
    let id = w.id_of("00042").await;
    let today = today();
    let t = repair(&w, &service, id, "Spindel läuft unrund").await;
    let tid = t["id"].as_i64().unwrap();
    let resolved = repair(&w, &service, id, "Lüfter laut").await;
    let rid = resolved["id"].as_i64().unwrap();
    let past = today.checked_sub_days(Days::new(3)).unwrap();
    set_due(&w, backend, tid, 1, past).await;
    set_due(&w, backend, rid, 1, past).await;
    let (_, now) = w.get(&format!("/api/v1/complaints/{tid}"), "sales").await;
    assert_eq!(statuses(&now["complaint"]), ["overdue", "open", "open"]);
    let (s, e) = w
        .call(
            "POST",
            &format!("/api/v1/complaints/{rid}/status"),
            Some("sales"),
            Some(json!({"status": "resolved", "resolution": "Lüfter getauscht"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(
        statuses(&e),
        ["open", "open", "open"],
        "a resolved complaint has no overdue steps"
    );

    let cfg =
        kontor::config::Config::parse("k.toml", CONFIG, std::path::PathBuf::from("."), Vec::new())
            .unwrap();
    let ctx = kontor::view::ViewContext::from_config(&cfg);
    let dir = kontor::directory::Directory::load(&w.store, &ctx.policy, "DE")
        .await
        .unwrap();
    let suggest =
        || kontor::front::reminders::suggest(&w.store, &cfg.reminders, &ctx, &dir, today, false);
    suggest().await.unwrap();
    suggest().await.unwrap();
    let got = step_reminders(&w).await;
    assert_eq!(
        got.len(),
        1,
        "one reminder, for the owning team, not twice: {got:?}"
    );
    assert_eq!(
        got[0]["title"],
        "Schritt „Termin vereinbaren“ der Reklamation „Spindel läuft unrund“ ist überfällig"
    );
    assert_eq!(
        got[0]["reason"],
        format!("Schritt 1 von 3 war fällig am {}", past.format("%d.%m.%Y"))
    );
    assert_eq!(got[0]["assignee"], "service");
    assert_eq!(got[0]["customer_id"], id);
    // The sales team's list does not get it.
    let (_, sales) = w
        .get("/api/v1/reminders?assignee=vertrieb-nord&show=all", "sales")
        .await;
    assert!(
        !sales
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["source"] == "complaint_step"),
        "{sales}"
    );
    // Done with the reminder and the step still overdue: not suggested again; a second
    // overdue step is a reminder of its own.
    let rem = got[0]["id"].as_i64().unwrap();
    let (s, _) = w
        .call(
            "POST",
            &format!("/api/v1/reminders/{rem}/done"),
            Some("sales"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    set_due(&w, backend, tid, 2, past).await;
    let sum = suggest().await.unwrap();
    assert_eq!(sum.created, 1, "{sum:?}");
    let (_, done) = w
        .get("/api/v1/reminders?assignee=service&show=done", "sales")
        .await;
    assert_eq!(done.as_array().unwrap().len(), 1, "{done}");
    let open = step_reminders(&w).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(
        open[0]["title"]
            .as_str()
            .unwrap()
            .contains("Techniker vor Ort")
    );
}

#[test]
fn process_errors_name_their_key_and_line() {
    let text = r#"[complaints]
categories = { lieferung = "3d" }

[complaints.processes]
lieferung = [
  { step = "Fotos", days = 0 },
  { step = "", days = 1 },
  { step = "Ersatz", days = -2, cost = 12.5 },
]
reparatur = [{ step = "Termin", days = 1 }]
"#;
    let Err(err) = kontor::config::Config::parse(
        "kontor.toml",
        text,
        std::path::PathBuf::from("."),
        Vec::new(),
    ) else {
        panic!("refused");
    };
    let shown: Vec<String> = err.iter().map(ToString::to_string).collect();
    let find = |needle: &str| {
        shown
            .iter()
            .find(|d| d.contains(needle))
            .unwrap_or_else(|| panic!("{needle}: {shown:#?}"))
            .clone()
    };
    assert!(
        find("step is empty").starts_with("kontor.toml:7:")
            && find("step is empty").contains("process `lieferung`, step 2"),
        "{shown:#?}"
    );
    assert!(
        find("days = -2").starts_with("kontor.toml:8:"),
        "{shown:#?}"
    );
    assert!(find("cost 12.5").contains("as a string"), "{shown:#?}");
    assert!(
        find("unknown category `reparatur`").starts_with("kontor.toml:10:"),
        "{shown:#?}"
    );
    assert_eq!(shown.len(), 4, "{shown:#?}");
}
