//! Observability (issue 23, drill 6): JSON for every log line with the run's connector, run id
//! and unit; the example dashboard and alert rules use only metrics kontor exports; SIGHUP
//! reloads (by the cluster configuration's rules) and never ends the server; PostgreSQL
//! connections carry `application_name`; a run that changed nothing moves neither the
//! identity generation nor the directory.

use crate::common::nodes::{Node, connectors_toml, kontor, poll, run, workspace};
use std::collections::BTreeSet;
use std::time::Duration;

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_log_line_is_json_and_a_run_s_lines_carry_connector_run_and_unit() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("k.db").display());
    // Both files read (open items are snapshots by default: only the newest would be).
    let ws = workspace(
        &url,
        &connectors_toml(&["wawi-offene-posten"], "mode = \"incremental\""),
    );
    let dir = ws.path();
    std::fs::write(
        dir.join("inbox/wawi-offene-posten/falsch.csv"),
        "foo;bar\n1;2\n",
    )
    .unwrap();
    let o = kontor(dir, &["--log-format", "json", "sync", "wawi-offene-posten"])
        .env("KONTOR_LOG", "debug")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    let lines = json_lines(&err);
    let in_unit: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["spans"].as_array().is_some_and(|s| s.len() == 2))
        .collect();
    assert!(in_unit.len() >= 2, "{err}");
    let mut units = BTreeSet::new();
    for l in &in_unit {
        let (run, unit) = (&l["spans"][0], &l["spans"][1]);
        assert_eq!(
            (run["name"].as_str(), run["connector"].as_str()),
            (Some("run"), Some("wawi-offene-posten")),
            "{l}"
        );
        assert!(run["run_id"].as_i64().is_some(), "{l}");
        units.insert(unit["unit"].as_str().unwrap().to_owned());
    }
    assert!(units.iter().any(|u| u.ends_with("falsch.csv")), "{units:?}");
    assert!(
        units.iter().any(|u| u.ends_with("offene_posten.csv")),
        "{units:?}"
    );
    // KONTOR_LOG=debug is kontor's debug, not the libraries'.
    assert!(
        lines.iter().all(|l| l["target"]
            .as_str()
            .is_some_and(|t| t.starts_with("kontor"))),
        "{err}"
    );
    // A fatal error is a JSON line too.
    let o = kontor(dir, &["--log-format", "json", "sync", "nope"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let lines = json_lines(&String::from_utf8_lossy(&o.stderr));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["level"], "ERROR");
    assert!(
        lines[0]["message"]
            .as_str()
            .unwrap()
            .contains("no connector `nope`")
    );
    // So is the server's banner.
    let node = Node::start(dir, &["--log-format", "json"]);
    poll(Duration::from_secs(20), async || node.health().await)
        .await
        .expect("no answer");
    let log = node.log();
    let lines = json_lines(&log);
    assert!(
        lines.iter().any(|l| l["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("kontor serves on")),
        "{log}"
    );
}

/// Metric names an expression uses (`kontor_…`).
fn used_metrics(expr: &str, out: &mut BTreeSet<String>) {
    let re = regex::Regex::new(r"kontor_[a-z0-9_]+").unwrap();
    out.extend(re.find_iter(expr).map(|m| m.as_str().to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_and_the_alert_rules_use_only_metrics_kontor_exports() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut used = BTreeSet::new();
    let dash: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("docs/grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    let panels = dash["panels"].as_array().unwrap();
    assert!(panels.len() >= 10);
    for p in panels {
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{p}");
        for t in targets {
            used_metrics(t["expr"].as_str().unwrap(), &mut used);
        }
    }
    let rules: serde_json::Value = yaml_serde::from_str(
        &std::fs::read_to_string(root.join("docs/prometheus-alerts.yaml")).unwrap(),
    )
    .unwrap();
    let mut alerts = 0;
    for g in rules["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            assert!(
                r["alert"].is_string() && r["annotations"]["summary"].is_string(),
                "{r}"
            );
            used_metrics(r["expr"].as_str().unwrap(), &mut used);
            alerts += 1;
        }
    }
    assert!(alerts >= 8);
    // What a node exports once it has done something of each kind.
    let (store, _guard) = kontor::testing::temp_store("sqlite").await.unwrap();
    let m = kontor::metrics::Metrics::new();
    let counts = kontor::store::Counts {
        read: 3,
        inserted: 3,
        ..Default::default()
    };
    let run = store.start_run("x", "test").await.unwrap();
    store
        .finish_run(
            run,
            kontor::store::RunStatus::Failed,
            &counts,
            Some("broken"),
        )
        .await
        .unwrap();
    m.observe_run(
        "x",
        kontor::store::RunStatus::Ok,
        &counts,
        Duration::from_secs(2),
    );
    m.observe_http("GET", "/healthz", 200, 0.001);
    m.observe_webhook(true);
    m.observe_webhook(false);
    let cluster = kontor::metrics::Cluster {
        connectors: vec!["x".into()],
        config_matches: true,
        ..Default::default()
    };
    let text = m.render(&store, &cluster).await.unwrap();
    let exported: BTreeSet<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    for name in &used {
        assert!(
            exported.contains(name.as_str()),
            "{name} is not exported:\n{text}"
        );
    }
    // Store gauges say they are.
    for l in text
        .lines()
        .filter(|l| l.starts_with("kontor_store_") || l.starts_with("kontor_quarantine_open"))
    {
        assert!(l.contains("scope=\"store\""), "{l}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_by_the_cluster_rules_and_never_ends_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("k.db").display());
    let ws = workspace(&url, &connectors_toml(&["wawi-lager"], ""));
    let dir = ws.path();
    assert_eq!(run(dir, &["sync", "--all"]).0, 0);
    let node = Node::start(dir, &[]);
    let config = async |want: &str| {
        poll(Duration::from_secs(30), async || {
            node.health()
                .await
                .filter(|h| h["config"]["status"] == want)
        })
        .await
        .unwrap_or_else(|| panic!("config never `{want}`: {}", node.log()))
    };
    config("cluster").await;
    node.signal(libc::SIGHUP);
    poll(Duration::from_secs(10), async || {
        node.log()
            .contains("SIGHUP: configuration and mappings loaded again")
            .then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("{}", node.log()));
    // An edited mapping, loaded: it differs from the cluster's, so the node pauses and says so.
    let m = dir.join("mappings/wawi-lager.toml");
    let text = std::fs::read_to_string(&m).unwrap();
    std::fs::write(
        &m,
        text.replace(
            "unit = \"Einheit\"",
            "unit = { column = \"Einheit\", case = \"lower\" }",
        ),
    )
    .unwrap();
    node.signal(libc::SIGHUP);
    let h = config("differs").await;
    assert!(
        h["config"]["differences"]
            .as_str()
            .unwrap()
            .contains("connector `wawi-lager`: its mapping mappings/wawi-lager.toml differs"),
        "{h}"
    );
    // Ops make it the cluster's: the node runs again.
    let (code, _, err) = run(dir, &["sync", "--all", "--take-over-config"]);
    assert_eq!(code, 0, "{err}");
    config("cluster").await;
    // A configuration that does not load: reported, the running one stays.
    std::fs::write(dir.join("kontor.toml"), "[store\nurl = ").unwrap();
    node.signal(libc::SIGHUP);
    poll(Duration::from_secs(10), async || {
        node.log()
            .contains("SIGHUP: the configuration does not load; keeping the running one")
            .then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("{}", node.log()));
    assert_eq!(node.health().await.unwrap()["config"]["status"], "cluster");
    let mut node = node;
    node.signal(libc::SIGTERM);
    assert!(
        node.wait(Duration::from_secs(30))
            .is_some_and(|s| s.success())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_carry_application_name() {
    let pg = kontor::testing::TempPg::create().await.unwrap();
    let store = kontor::store::PgStore::open(&pg.url).await.unwrap();
    let name: String = sqlx::query_scalar("SELECT current_setting('application_name')")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(
        name.starts_with("kontor ") && name.contains(&std::process::id().to_string()),
        "{name}"
    );
    // The URL's own wins.
    let url = format!("{}?application_name=kontor-report", pg.url);
    let store = kontor::store::PgStore::open(&url).await.unwrap();
    let name: String = sqlx::query_scalar("SELECT current_setting('application_name')")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(name, "kontor-report");
}

async fn a_run_that_changes_nothing_moves_no_generation(backend: &str) {
    let (store, guard) = kontor::testing::temp_store(backend).await.unwrap();
    let ws = workspace(
        guard.url(),
        &connectors_toml(&["wawi-kunden", "wawi-lager"], ""),
    );
    let cfg = kontor::config::Config::load(&ws.path().join("kontor.toml")).unwrap();
    let opts = kontor::sync::SyncOptions {
        node: "test".into(),
        ..Default::default()
    };
    let sync_all = async || {
        for c in &cfg.connectors {
            let p = kontor::sync::prepare(&cfg, c).unwrap();
            kontor::sync::run(&store, &p, &opts).await.unwrap();
        }
        kontor::identity::resolve_store(&store, &cfg).await.unwrap()
    };
    let first = sync_all().await;
    let generation = store.identity_generation().await.unwrap();
    assert_eq!(first.generation, generation);
    let again = sync_all().await;
    assert_eq!(again.generation, generation, "{again:?}");
    assert_eq!(store.identity_generation().await.unwrap(), generation);
    // A changed customer moves it (the directory must show the new data).
    let file = ws.path().join("inbox/wawi-kunden/kunden.csv");
    let bytes = std::fs::read(&file).unwrap();
    let at = bytes.windows(4).position(|w| w == b"info").unwrap();
    let mut changed = bytes[..at].to_vec();
    changed.extend_from_slice(b"vertrieb");
    changed.extend_from_slice(&bytes[at + 4..]);
    std::fs::write(&file, changed).unwrap();
    let third = sync_all().await;
    assert_eq!(third.generation, generation + 1, "{third:?}");
}

both_backends!(a_run_that_changes_nothing_moves_no_generation);
