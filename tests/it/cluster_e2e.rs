//! One configuration across nodes (issue 23, drill 1) on PostgreSQL with two `kontor serve`
//! nodes: one with the full configuration, one started with only `[store]` and `[server]`.
//! The partial node changes nothing — no slot, no identity resolution — and says why; the
//! customers stay findable on both nodes; even when the partial configuration is forced on
//! the cluster (`--take-over-config`), no customer numbers or systems are deleted.

use crate::common::nodes::{Node, connectors_toml, poll, run, workspace, write_config};
use kontor::api::auth::{hash_token, new_token};
use kontor::testing::TempPg;
use std::time::Duration;

const ALL: &[&str] = &["wawi-kunden", "wawi-offene-posten", "wawi-lager"];

async fn search(node: &Node, token: &str, q: &str) -> serde_json::Value {
    kontor::testing::http_client()
        .get(format!("{}/api/v1/customers?q={q}", node.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_only_store_and_server_changes_nothing_and_says_why() {
    let pg = TempPg::create().await.unwrap();
    let dir = workspace(
        &pg.url,
        &connectors_toml(ALL, "schedule = \"*/2 * * * * *\""),
    );
    write_config(dir.path(), "partial.toml", &pg.url, "", "");
    let (code, out, err) = run(dir.path(), &["sync", "--all"]);
    assert_eq!(code, 0, "{out}{err}");
    let store = kontor::store::open(&pg.url).await.unwrap();
    let keys = store.customer_keys().await.unwrap();
    let systems = store.connector_systems().await.unwrap();
    let generation = store.identity_generation().await.unwrap();
    assert!(
        keys.len() >= 5 && systems.len() == 3,
        "{keys:?} {systems:?}"
    );
    let token = new_token();
    store
        .create_token("drill", "sales", None, &hash_token(&token))
        .await
        .unwrap();

    // A third node (another machine) has the same configuration, but an older mapping for
    // the stock.
    let other = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(other.path().join("mappings")).unwrap();
    for f in [
        "kontor.toml",
        "mappings/wawi-kunden.toml",
        "mappings/wawi-offene-posten.toml",
    ] {
        std::fs::copy(dir.path().join(f), other.path().join(f)).unwrap();
    }
    let lager = std::fs::read_to_string(dir.path().join("mappings/wawi-lager.toml")).unwrap();
    std::fs::write(
        other.path().join("mappings/wawi-lager.toml"),
        lager.replace("unit = \"Einheit\"", "unit = { value = \"Stk\" }"),
    )
    .unwrap();
    let full = Node::start(dir.path(), &[]);
    let partial = Node::start(dir.path(), &["--config", "partial.toml"]);
    let older = Node::start(other.path(), &[]);
    // The partial node says why it changes nothing: in /healthz and in its log.
    let h = poll(Duration::from_secs(30), async || {
        partial
            .health()
            .await
            .filter(|h| h["config"]["status"] == "differs")
    })
    .await
    .unwrap_or_else(|| panic!("partial node did not report: {}", partial.log()));
    let why = h["config"]["differences"].as_str().unwrap();
    for c in ALL {
        assert!(
            why.contains(&format!(
                "connector `{c}` is in the cluster's configuration but not configured here"
            )),
            "{why}"
        );
    }
    assert_eq!(h["status"], "degraded", "{h}");
    // The full node runs the schedule: several slots, none on the partial node.
    let slots = poll(Duration::from_secs(30), async || {
        let s = store.slots(None, 0).await.ok()?;
        (s.iter().filter(|s| s.status == "done").count() >= 6).then_some(s)
    })
    .await
    .expect("the full node ran no slots");
    let nodes: std::collections::BTreeSet<&str> = slots.iter().map(|s| s.node.as_str()).collect();
    assert_eq!(nodes.len(), 1, "{slots:?}");
    let h = older.health().await.unwrap();
    assert_eq!(h["config"]["status"], "differs", "{h}");
    let why = h["config"]["differences"].as_str().unwrap();
    assert!(
        why.contains(": connector `wawi-lager`: its mapping mappings/wawi-lager.toml differs. Nothing was changed."),
        "{why}"
    );
    drop(older);
    assert!(
        partial.log().contains("this node changes nothing"),
        "{}",
        partial.log()
    );
    let alerts = store.alert_states().await.unwrap();
    assert!(
        alerts.iter().any(|a| a.condition == "config_differs"
            && a.firing
            && a.message
                .contains("connector `wawi-kunden` is in the cluster's configuration")),
        "{alerts:?}"
    );
    // Nothing derived was touched; the no-op runs did not even move the generation.
    assert_eq!(store.customer_keys().await.unwrap(), keys);
    assert_eq!(store.connector_systems().await.unwrap(), systems);
    assert_eq!(store.identity_generation().await.unwrap(), generation);
    let mut customers = Vec::new();
    for node in [&full, &partial] {
        let h = node.health().await.unwrap();
        customers.push(h["customers"].as_u64().unwrap_or(0));
        let found = search(node, &token, "Mueller").await;
        assert!(
            found["hits"].as_array().is_some_and(|h| !h.is_empty()),
            "{found}"
        );
    }
    assert!(
        customers[0] > 0 && customers[0] == customers[1],
        "{customers:?}"
    );
    let full_health = full.health().await.unwrap();
    assert_eq!(full_health["config"]["status"], "cluster", "{full_health}");

    // Forcing the partial configuration on the cluster: the full node stops changing
    // things, and still no customer number or system is deleted.
    drop(partial);
    let forced = Node::start(
        dir.path(),
        &["--config", "partial.toml", "--take-over-config"],
    );
    poll(Duration::from_secs(30), async || {
        full.health()
            .await
            .filter(|h| h["config"]["status"] == "differs")
    })
    .await
    .unwrap_or_else(|| panic!("full node did not notice: {}", full.log()));
    assert!(
        forced
            .log()
            .contains("took the cluster's configuration over"),
        "{}",
        forced.log()
    );
    let (code, _, err) = run(
        dir.path(),
        &["--config", "partial.toml", "identity", "resolve"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(store.customer_keys().await.unwrap(), keys);
    assert_eq!(store.connector_systems().await.unwrap(), systems);
    // A command with the full configuration now refuses, naming the parts.
    let (code, _, err) = run(dir.path(), &["sync", "wawi-lager"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "connector `wawi-lager` is configured here but not in the cluster's configuration"
        ) && err.contains("--take-over-config"),
        "{err}"
    );
}
