//! What the backup tests share: reading a dump back, a busy store of either kind, the merged
//! view as the API shows it.

use crate::common::{TEAMS, world};
use chrono::{DateTime, SubsecRound, Utc};
use kontor::front::desk::{Activity, AuditEntry, Reminder};
use kontor::front::ticket::Ticket;
use kontor::store::backup::backup;
use kontor::store::*;
use kontor::sync::shown::{QuarantineEntry, RunInfo};
use kontor::testing::TempPg;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

/// A backup file as tables: columns (name, source type) and rows.
pub(super) type Tables = BTreeMap<String, (Vec<(String, String)>, Vec<Vec<Value>>)>;

pub(super) fn read_dump(path: &Path) -> (Value, Tables) {
    let file = std::fs::File::open(path).unwrap();
    let mut r: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(std::io::BufReader::new(flate2::read::GzDecoder::new(file)))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let mut first = String::new();
    r.read_line(&mut first).unwrap();
    let header: Value = serde_json::from_str(&first).unwrap();
    let mut tables = Tables::new();
    let mut current = None;
    for line in r.lines() {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if let Some(t) = v.get("table") {
            let cols: Vec<(String, String)> = serde_json::from_value(v["columns"].clone()).unwrap();
            current = Some(t.as_str().unwrap().to_owned());
            tables.insert(current.clone().unwrap(), (cols, Vec::new()));
        } else if let Value::Array(row) = v {
            tables
                .get_mut(current.as_ref().unwrap())
                .unwrap()
                .1
                .push(row);
        }
    }
    (header, tables)
}

/// Values as they compare across store kinds: PostgreSQL keeps timestamps to the microsecond
/// and JSONB as parsed JSON (types from the PostgreSQL side's dump).
pub(super) fn normalized(t: &Tables, pg_types: &Tables) -> Tables {
    let mut out = t.clone();
    for (name, (cols, rows)) in out.iter_mut() {
        let types: Vec<String> = match pg_types.get(name) {
            Some((pg_cols, _)) => cols
                .iter()
                .map(|(c, _)| {
                    pg_cols
                        .iter()
                        .find(|(p, _)| p == c)
                        .map_or(String::new(), |(_, ty)| ty.clone())
                })
                .collect(),
            None => vec![String::new(); cols.len()],
        };
        for row in rows.iter_mut() {
            for (v, ty) in row.iter_mut().zip(&types) {
                let Value::String(s) = v else { continue };
                match ty.as_str() {
                    "timestamptz" => {
                        let t = DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
                        *v = json!(t.trunc_subsecs(6).to_rfc3339());
                    }
                    "jsonb" | "json" => *v = serde_json::from_str(s).unwrap(),
                    _ => {}
                }
            }
        }
        rows.sort_by_key(|r| serde_json::to_string(r).unwrap());
        for c in cols.iter_mut() {
            c.1.clear();
        }
    }
    out
}

pub(super) async fn dump(url: &str, dir: &Path, name: &str) -> (Value, Tables) {
    let path = dir.join(name);
    backup(url, &path).await.unwrap();
    read_dump(&path)
}

pub(super) fn other(backend: &str) -> &'static str {
    if backend == "sqlite" {
        "postgres"
    } else {
        "sqlite"
    }
}

/// The demo data plus what the front office and ops add: contacts, a complaint, a reminder, a
/// merge (identity decision), audit, a tombstone, a quarantined row, a schedule slot.
pub(super) async fn busy_world(backend: &str) -> crate::common::World {
    let w = world(backend, TEAMS).await;
    let id = w.id_of("00042").await;
    let (s, a) = w
        .call("POST", &format!("/api/v1/customers/{id}/activities"), Some("sales"),
            Some(json!({"kind": "visit", "subject": "Besuch Werkstatt", "text": "Neue Fräser vorgestellt\n„Zeile 2“ \\ 😀"})))
        .await;
    assert!(s.is_success(), "{a}");
    let (s, c) = w
        .call("POST", "/api/v1/complaints", Some("service"),
            Some(json!({"customer_id": id, "category": "lieferung", "title": "Spannzangen beschädigt geliefert",
                        "text": "Die Verpackung war eingedrückt, zwei Spannzangen verbogen.", "sku": "0815-A"})))
        .await;
    assert!(s.is_success(), "{c}");
    let (s, r) = w
        .call(
            "POST",
            "/api/v1/reminders",
            Some("sales"),
            Some(
                json!({"customer_id": id, "title": "Angebot nachfassen", "due_date": "2026-12-31"}),
            ),
        )
        .await;
    assert!(s.is_success(), "{r}");
    let (_, page) = w.get("/api/v1/customers?q=GmbH", "sales").await;
    let ids: Vec<i64> = page["hits"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["id"].as_i64())
        .filter(|h| *h != id)
        .collect();
    let (s, m) = w
        .call(
            "POST",
            &format!("/api/v1/customers/{id}/merge"),
            Some("ops"),
            Some(json!({"other": ids[0]})),
        )
        .await;
    assert!(s.is_success(), "{m}");
    let store = &w.store;
    // The server writes its audit entries in the background (within 0.5 s): wait for the
    // merge's, so the backup below holds it.
    for _ in 0..100 {
        let entries = store.audit_entries(None, 1000).await.unwrap();
        if entries.iter().any(|e| e.action == "identity_merge") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    store
        .add_audit(&[NewAudit {
            at: Utc::now(),
            token_name: "test-ops".into(),
            role: "ops".into(),
            action: "view".into(),
            customer_id: Some(id),
            detail: Some("looked up".into()),
        }])
        .await
        .unwrap();
    store.add_tombstone("email", "0123abcd").await.unwrap();
    store
        .claim_slot("wawi-kunden", Utc::now().trunc_subsecs(0), "node-a")
        .await
        .unwrap();
    let run = store.start_run("extra", "node-a").await.unwrap();
    store
        .write_batch(WriteBatch {
            run_id: run,
            unit: UnitRef {
                connector: "extra",
                key: "k1",
                label: "extra.csv",
                fingerprint: None,
                mapping_hash: "m",
            },
            records: Vec::new(),
            rejects: vec![NewReject {
                source: "extra.csv".into(),
                line: Some(7),
                position: "extra.csv:7".into(),
                field: Some("Betrag".into()),
                reason: "`1.234,5x` is not a number".into(),
                raw: "R7;1.234,5x\t\"x\"".into(),
                ..NewReject::default()
            }],
            position: json!({"records": 1}),
            read: 1,
            skipped: 0,
            promote: true,
            resolves: Vec::new(),
        })
        .await
        .unwrap();
    store
        .finish_run(
            run,
            RunStatus::Partial,
            &Counts::default(),
            Some("1 row quarantined"),
        )
        .await
        .unwrap();
    w
}

/// What the store API answers, timestamps to the microsecond (what PostgreSQL keeps).
pub(super) async fn api_view(store: &DynStore) -> Value {
    fn micro(v: &mut Value) {
        match v {
            Value::String(s) => {
                if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                    *s = t.with_timezone(&Utc).trunc_subsecs(6).to_rfc3339();
                }
            }
            Value::Array(a) => a.iter_mut().for_each(micro),
            Value::Object(o) => o.values_mut().for_each(micro),
            _ => {}
        }
    }
    let keys = store.customer_keys().await.unwrap();
    let mut customers: Vec<i64> = keys.iter().map(|k| k.customer_id).collect();
    customers.sort();
    customers.dedup();
    let mut activities = Vec::new();
    let mut tickets = Vec::new();
    for c in &customers {
        for a in store.activities(*c, None, 1000).await.unwrap() {
            // What is shown, and what the store keeps beside it.
            let (author, created_at) = (a.author.clone(), a.created_at);
            activities.push(json!([Activity::from(a), author, created_at]));
        }
        let filter = kontor::store::TicketFilter {
            customer_id: Some(*c),
            ..Default::default()
        };
        // The API's shape holds every stored column of a ticket, its steps and forwarding.
        let now = Utc::now();
        let today = now.date_naive();
        for t in store.tickets_where(&filter).await.unwrap() {
            tickets.push(serde_json::to_value(Ticket::of(t, now, today)).unwrap());
        }
    }
    let mut checkpoints = Vec::new();
    for r in store.runs(None, 10_000).await.unwrap() {
        checkpoints
            .push(serde_json::to_value(store.checkpoints(&r.connector).await.unwrap()).unwrap());
    }
    let mut v = json!({
        "records": serde_json::to_value(store.records(None, None, 0).await.unwrap()).unwrap(),
        "runs": store.runs(None, 10_000).await.unwrap().into_iter().map(RunInfo::from).collect::<Vec<_>>(),
        "checkpoints": checkpoints,
        "quarantine": store.quarantine(&QuarantineFilter { all: true, ..Default::default() }).await.unwrap().into_iter()
            .map(|q| json!([q.record.clone(), q.context.clone(), QuarantineEntry::from(q)])).collect::<Vec<_>>(),
        "tokens": serde_json::to_value(store.tokens().await.unwrap()).unwrap(),
        "keys": keys.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>(),
        "suggestions": serde_json::to_value(store.suggestions(None, 0).await.unwrap().into_iter().map(kontor::identity::triage::Suggestion::from).collect::<Vec<_>>()).unwrap(),
        "generation": store.identity_generation().await.unwrap(),
        "activities": activities,
        "tickets": tickets,
        "reminders": store.reminders(&ReminderFilter::default()).await.unwrap().into_iter().map(Reminder::from).collect::<Vec<_>>(),
        "audit": store.audit_entries(None, 1000).await.unwrap().into_iter().map(AuditEntry::from).collect::<Vec<_>>(),
        "tombstones": serde_json::to_value(store.tombstones().await.unwrap()).unwrap(),
        "slots": serde_json::to_value(store.slots(None, 0).await.unwrap()).unwrap(),
    });
    micro(&mut v);
    // Text sorts by the database's collation: compare as sets.
    for list in v.as_object_mut().unwrap().values_mut() {
        if let Value::Array(a) = list {
            a.sort_by_key(|x| x.to_string());
        }
    }
    v
}

/// A place for a new store that does not exist yet.
pub(super) async fn blank(backend: &str) -> (String, Box<dyn std::any::Any + Send>) {
    if backend == "sqlite" {
        let d = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", d.path().join("new.db").display());
        (url, Box::new(d))
    } else {
        let pg = TempPg::create().await.unwrap();
        (pg.url.clone(), Box::new(pg))
    }
}
