//! A source format change is an error (issue 23, drill 3) and alerts arrive once (drill 5).
//! On both stores through the CLI: a wrong header and a renamed key column refuse their file
//! with the header found and the columns expected; a file whose rows are all skipped makes
//! the run `partial`; refused files keep the connector degraded until a later file loads (or
//! ops dismiss them). On PostgreSQL with two nodes and a webhook that is down at first: the
//! failure, its recovery, the refused file and missed slots each arrive once, nothing lost.

use crate::common::nodes::{Node, Webhook, connectors_toml, poll, run, workspace};
use kontor::store::{DynStore, QuarantineFilter};
use std::path::Path;
use std::time::Duration;

const HEADER: &str =
    "Belegnr;Belegart;Kundennr;Belegdatum;Fällig am;Netto;MwSt;Brutto;Offen;Währung;Bezug";

fn drop_file(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join("inbox/wawi-offene-posten").join(name), text).unwrap();
}

fn invoices(prefix: &str, kind: &str) -> String {
    format!(
        "{HEADER}\n{prefix}-1;{kind};00042;02.10.2026;01.11.2026;10,00;1,90;11,90;11,90;EUR;\n\
         {prefix}-2;{kind};00043;03.10.2026;02.11.2026;20,00;3,80;23,80;23,80;EUR;\n"
    )
}

async fn refused(store: &DynStore) -> Vec<String> {
    store
        .refused_units()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.label)
        .collect()
}

async fn a_changed_export_fails_its_file_and_keeps_the_connector_degraded(backend: &str) {
    let (store, guard) = kontor::testing::temp_store(backend).await.unwrap();
    // Several files, each loaded (open items are snapshots by default).
    let ws = workspace(
        guard.url(),
        &connectors_toml(&["wawi-offene-posten"], "mode = \"incremental\""),
    );
    let dir = ws.path();
    assert_eq!(run(dir, &["sync", "--all"]).0, 0);
    // A wrong header: the file fails as a whole, with what was found and what is expected.
    drop_file(dir, "falsch.csv", "foo,bar,baz\n1,2,3\n4,5,6\n");
    let (code, out, err) = run(dir, &["sync", "wawi-offene-posten"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(
            "falsch.csv: the header does not fit the mapping mappings/wawi-offene-posten.toml"
        ) && err.contains("missing column(s) `Belegnr`")
            && err.contains("found: foo,bar,baz")
            && err.contains("expected: Belegnr, Belegart, Währung, Kundennr, Fällig am"),
        "{err}"
    );
    assert!(
        out.contains("inserted=0") && out.contains("quarantined=1"),
        "{out}"
    );
    // The key column renamed in the ERP's export.
    drop_file(
        dir,
        "umbenannt.csv",
        &invoices("RE-9", "RE").replacen("Belegnr", "Beleg-Nr.", 1),
    );
    let (code, _, err) = run(dir, &["sync", "wawi-offene-posten"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("missing column(s) `Belegnr`; found: Beleg-Nr., Belegart"),
        "{err}"
    );
    let q = store
        .quarantine(&QuarantineFilter {
            connector: Some("wawi-offene-posten".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(q.len(), 2, "{q:?}");
    assert!(q[1].raw.starts_with("Beleg-Nr.;Belegart"), "{:?}", q[1]);
    assert_eq!(q[1].field.as_deref(), Some("Belegnr"));
    assert_eq!(refused(&store).await.len(), 2);
    // The next run finds nothing new: `ok`, but the connector stays degraded.
    let (code, _, _) = run(dir, &["sync", "wawi-offene-posten"]);
    assert_eq!(code, 0);
    assert_eq!(refused(&store).await.len(), 2);
    // Every row skipped (no row matches a target): partial, with a warning.
    drop_file(dir, "nur-xx.csv", &invoices("XX-1", "XX"));
    let (code, out, err) = run(dir, &["sync", "wawi-offene-posten"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains("warning: all 2 rows were skipped"), "{err}");
    let last = store
        .runs(Some("wawi-offene-posten"), 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(last.status, kontor::store::RunStatus::Partial, "{last:?}");
    assert!(
        last.error.as_deref().unwrap_or("").contains("skipped"),
        "{last:?}"
    );
    assert_eq!(
        refused(&store).await.len(),
        2,
        "a skipped file loads nothing"
    );
    // Ops accept one of them as it is…
    let label = refused(&store).await.remove(1);
    assert!(label.ends_with("umbenannt.csv"), "{label}");
    let (code, out, err) = run(
        dir,
        &[
            "quarantine",
            "dismiss",
            "--connector",
            "wawi-offene-posten",
            "--file",
            &label,
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(refused(&store).await.len(), 1);
    assert!(
        run(dir, &["sync", "wawi-offene-posten"])
            .1
            .contains("read=0")
    );
    // …and a later file that loads ends the degradation.
    drop_file(dir, "neu.csv", &invoices("RE-8", "RE"));
    let (code, out, err) = run(dir, &["sync", "wawi-offene-posten"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("inserted=2"), "{out}");
    assert!(refused(&store).await.is_empty());
}

async fn missed_slots_are_recorded_once_and_not_before_the_configuration(backend: &str) {
    use kontor::alert::missed_slots;
    let (store, _guard) = kontor::testing::temp_store(backend).await.unwrap();
    let every_minute = kontor::schedule::parse("* * * * *").unwrap();
    let now = chrono::Utc::now();
    let before = now - chrono::TimeDelta::seconds(30);
    // A new schedule (no slot yet) has no gap.
    assert_eq!(
        missed_slots(&store, "c", &every_minute, (None, before), "a")
            .await
            .unwrap(),
        0
    );
    let minute = now.timestamp() / 60 * 60;
    let last = chrono::DateTime::from_timestamp(minute - 10 * 60, 0).unwrap();
    assert!(store.claim_slot("c", last, "gone").await.unwrap());
    let n = missed_slots(&store, "c", &every_minute, (None, before), "a")
        .await
        .unwrap();
    assert!((9..=10).contains(&n), "{n}");
    // Once: another node finds nothing new.
    assert_eq!(
        missed_slots(&store, "c", &every_minute, (None, before), "b")
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.missed_slot_counts().await.unwrap()["c"], n as i64);
    let slots = store.slots(Some("c"), 0).await.unwrap();
    assert!(
        slots
            .iter()
            .filter(|s| s.status == "missed")
            .all(|s| s.node == "a")
    );
    // A configuration recorded after the last slot: its gap does not count.
    let last = chrono::DateTime::from_timestamp(minute - 20 * 60, 0).unwrap();
    assert!(store.claim_slot("d", last, "gone").await.unwrap());
    let since = Some(now - chrono::TimeDelta::minutes(3));
    let n = missed_slots(&store, "d", &every_minute, (since, before), "a")
        .await
        .unwrap();
    assert!((2..=3).contains(&n), "{n}");
}

both_backends!(
    a_changed_export_fails_its_file_and_keeps_the_connector_degraded,
    missed_slots_are_recorded_once_and_not_before_the_configuration
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_arrive_once_across_nodes_and_a_webhook_outage_loses_none() {
    let pg = kontor::testing::TempPg::create().await.unwrap();
    let hook = Webhook::start(true).await;
    let connectors = connectors_toml(
        &["wawi-offene-posten"],
        "schedule = \"*/2 * * * * *\"\nmode = \"incremental\"",
    ) + &connectors_toml(&["wawi-kunden"], "schedule = \"0 * * * *\"");
    let ws = workspace(&pg.url, &connectors);
    let dir = ws.path();
    let text = std::fs::read_to_string(dir.join("kontor.toml")).unwrap();
    std::fs::write(
        dir.join("kontor.toml"),
        text.replace(
            "[server]\n",
            &format!("[server]\nalert_webhook = \"{}\"\n", hook.url),
        ),
    )
    .unwrap();
    assert_eq!(run(dir, &["sync", "--all"]).0, 0);
    let store = kontor::store::open(&pg.url).await.unwrap();
    // The cluster has run this configuration for a day; the hourly connector's last slot was
    // three hours ago: the slots since ran nowhere.
    let mut since = store.cluster_config().await.unwrap().unwrap();
    let fingerprint = since.fingerprint.clone();
    since.updated_at -= chrono::TimeDelta::days(1);
    assert!(
        store
            .set_cluster_config(Some(&fingerprint), &since)
            .await
            .unwrap()
    );
    let hour = chrono::Utc::now().timestamp() / 3600 * 3600;
    let old = chrono::DateTime::from_timestamp(hour - 3 * 3600, 0).unwrap();
    assert!(
        store
            .claim_slot("wawi-kunden", old, "gone:1")
            .await
            .unwrap()
    );
    store
        .update_slot("wawi-kunden", old, "done", None, None)
        .await
        .unwrap();

    let a = Node::start(dir, &[]);
    let b = Node::start(dir, &[]);
    drop_file(dir, "falsch.csv", "foo,bar,baz\n1,2,3\n");
    // Refused, then a run that is `ok` again — the connector stays degraded.
    poll(Duration::from_secs(40), async || {
        let states = store.alert_states().await.ok()?;
        let is = |c: &str, on: bool| {
            states
                .iter()
                .any(|s| s.subject == "wawi-offene-posten" && s.condition == c && s.firing == on)
        };
        (is("run_failed", false) && is("refused", true)).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("no failure and recovery: {}", a.log()));
    let h = a.health().await.unwrap();
    assert_eq!(h["status"], "degraded", "{h}");
    let op = h["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "wawi-offene-posten")
        .unwrap();
    assert_eq!(op["last_run_status"], "ok", "{op}");
    assert!(
        op["refused"][0]["label"]
            .as_str()
            .unwrap()
            .ends_with("falsch.csv"),
        "{op}"
    );
    let addr = a.base.trim_start_matches("http://").to_owned();
    assert_eq!(run(dir, &["health", "--addr", &addr]).0, 2);
    assert_eq!(run(dir, &["health", "--addr", &addr, "--live"]).0, 0);
    // The webhook was down all along: attempts, nothing delivered, nothing given up.
    poll(Duration::from_secs(20), async || {
        (hook.attempts.load(std::sync::atomic::Ordering::Relaxed) >= 3).then_some(())
    })
    .await
    .expect("no delivery attempts");
    assert!(hook.messages().is_empty());
    assert!(store.alert_pending().await.unwrap() >= 3);
    assert!(
        a.log().contains("alert webhook: answered 503")
            || b.log().contains("alert webhook: answered 503")
    );
    hook.down.store(false, std::sync::atomic::Ordering::Relaxed);
    // A later file loads: the refused one no longer degrades the connector.
    drop_file(dir, "neu.csv", &invoices("RE-8", "RE"));
    poll(Duration::from_secs(60), async || {
        let resolved = hook
            .of("refused", Some("wawi-offene-posten"))
            .iter()
            .any(|(s, _)| s == "resolved");
        (resolved && store.alert_pending().await.ok()? == 0).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("not delivered: {:?}", hook.messages()));
    let msgs = hook.messages();
    // Each change once (two nodes, retries), the beginning before the end.
    let mut ids: Vec<i64> = msgs.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), msgs.len(), "{msgs:#?}");
    let statuses = |c: &str, conn: &str| -> Vec<String> {
        hook.of(c, Some(conn)).into_iter().map(|(s, _)| s).collect()
    };
    assert_eq!(
        statuses("run_failed", "wawi-offene-posten"),
        ["firing", "resolved"],
        "{msgs:#?}"
    );
    assert_eq!(
        statuses("refused", "wawi-offene-posten"),
        ["firing", "resolved"],
        "{msgs:#?}"
    );
    assert_eq!(
        statuses("missed_slot", "wawi-kunden"),
        ["firing"],
        "{msgs:#?}"
    );
    let (_, failed) = &hook.of("run_failed", None)[0];
    assert!(
        failed.contains("falsch.csv: the header does not fit"),
        "{failed}"
    );
    let (_, missed) = &hook.of("missed_slot", None)[0];
    assert!(
        missed.starts_with("wawi-kunden: 2 scheduled slot(s) ran on no node")
            || missed.starts_with("wawi-kunden: 3 scheduled slot(s)"),
        "{missed}"
    );
    let resolved = msgs
        .iter()
        .find(|m| m["condition"] == "run_failed" && m["status"] == "resolved")
        .unwrap();
    assert_eq!(resolved["kind"], "resolved");
    assert!(
        resolved["run_id"].as_i64().is_some() && resolved["node"].as_str().is_some(),
        "{resolved}"
    );
    assert_eq!(
        store.missed_slot_counts().await.unwrap()["wawi-kunden"],
        missed.split(' ').nth(1).unwrap().parse::<i64>().unwrap()
    );
    assert_eq!(a.health().await.unwrap()["status"], "ok");
    assert_eq!(run(dir, &["health", "--addr", &addr]).0, 0);
}
