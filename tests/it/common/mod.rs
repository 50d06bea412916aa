//! Shared by the API end-to-end tests: the demo workspace synced into a fresh store and
//! served on loopback, with a token per role.

#![allow(dead_code)]

pub mod nodes;

use kontor::api::auth::{Role, hash_token, new_token};
use kontor::api::{AppState, serve};
use kontor::config::Config;
use kontor::store::DynStore;
use kontor::sync::{self, SyncOptions};
use kontor::testing::{TempGuard, temp_store};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Runs each named `async fn name(backend: &str)` as a test on SQLite and on PostgreSQL.
#[allow(unused_macros)]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name("sqlite").await } )* }
        mod postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name("postgres").await } )* }
    };
}

/// Teams of the works-council rule (one big enough, one too small) and complaint deadlines.
pub const TEAMS: &str = "[privacy]\nteams = { vertrieb-nord = 7, klein = 2 }\n[complaints]\ncategories = { lieferung = \"3d\", eilig = \"0m\" }\n";

pub struct World {
    pub base: String,
    pub tokens: BTreeMap<&'static str, String>,
    pub http: reqwest::Client,
    pub store: DynStore,
    pub _guard: TempGuard,
    pub _dir: tempfile::TempDir,
    pub _erp: kontor_rest::mock::MockErp,
    pub server: tokio::task::JoinHandle<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for World {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The demo workspace, synced into a fresh store of `backend` and served on loopback.
pub async fn world(backend: &str, extra_config: &str) -> World {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    world_on(backend, extra_config, listener).await
}

/// [`world`] served on `listener` (when the config must know the address, e.g. a redirect URL).
pub async fn world_on(
    backend: &str,
    extra_config: &str,
    listener: tokio::net::TcpListener,
) -> World {
    let (store, guard) = temp_store(backend).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    kontor::demo::write_workspace(dir.path()).unwrap();
    let erp = kontor_rest::mock::MockErp::start("erpnext").await;
    std::fs::write(
        dir.path().join("secrets/erpnext"),
        kontor_rest::mock::ERPNEXT_TOKEN,
    )
    .unwrap();
    let text = format!("{}\n{extra_config}", kontor::demo::config(&erp.uri()));
    let cfg = Config::parse("kontor.toml", &text, dir.path().to_path_buf(), Vec::new())
        .unwrap_or_else(|d| panic!("{d:?}"));
    let opts = SyncOptions {
        node: "test".into(),
        ..Default::default()
    };
    for c in &cfg.connectors {
        let p = sync::prepare(&cfg, c).unwrap_or_else(|d| panic!("{d:?}"));
        let r = sync::run(&store, &p, &opts).await.unwrap();
        assert!(r.errors.is_empty(), "{}: {:?}", c.name, r.errors);
    }
    kontor::identity::resolve_store(&store, &cfg).await.unwrap();
    let mut tokens = BTreeMap::new();
    for role in Role::ALL {
        let t = new_token();
        store
            .create_token(
                &format!("test-{role}"),
                role.as_str(),
                Some("vertrieb-nord"),
                &hash_token(&t),
            )
            .await
            .unwrap();
        tokens.insert(role.as_str(), t);
    }
    let revoked = new_token();
    store
        .create_token("gone", "sales", None, &hash_token(&revoked))
        .await
        .unwrap();
    assert!(store.revoke_token("gone").await.unwrap());
    tokens.insert("revoked", revoked);
    let state = AppState::new(store.clone(), Arc::new(cfg)).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve(listener, state, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    World {
        base,
        tokens,
        http: kontor::testing::http_client(),
        store,
        _guard: guard,
        _dir: dir,
        _erp: erp,
        server,
        stop: Some(stop),
    }
}

impl World {
    /// Shuts the server down as SIGTERM does and waits until `serve` has returned.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.server).await.unwrap();
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.base);
        let mut req = match method {
            "POST" => self.http.post(&url),
            "DELETE" => self.http.delete(&url),
            "PATCH" => self.http.patch(&url),
            _ => self.http.get(&url),
        };
        if let Some(t) = token {
            let t = self.tokens.get(t).map_or(t, String::as_str);
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"))
        };
        (status, json)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call("GET", path, Some(token), None).await
    }

    /// The customer id of a source customer number (through the search).
    pub async fn id_of(&self, customer_no: &str) -> i64 {
        let (s, page) = self
            .get(&format!("/api/v1/customers?q={customer_no}"), "sales")
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        page["hits"][0]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("{customer_no}: {page}"))
    }
}

/// The schema version this kontor migrates to (the highest migration; both stores agree).
pub fn latest_schema() -> i64 {
    let last = |m: sqlx::migrate::Migrator| m.iter().map(|m| m.version).max().unwrap();
    let sqlite = last(sqlx::migrate!("./migrations/sqlite"));
    assert_eq!(sqlite, last(sqlx::migrate!("./migrations/postgres")));
    sqlite
}

/// One sync of connector `name` from `connectors` (TOML `[[connector]]` stanzas, paths
/// relative to `dir`) into `store`, as `kontor sync NAME` does it.
pub async fn sync_connector(
    store: &DynStore,
    dir: &std::path::Path,
    connectors: &str,
    name: &str,
) -> kontor::sync::RunReport {
    let cfg = Config::parse(
        "kontor.toml",
        &format!("[store]\nurl = \"sqlite::memory:\"\n\n{connectors}"),
        dir.to_path_buf(),
        Vec::new(),
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    let prepared =
        sync::prepare(&cfg, cfg.connector(name).unwrap()).unwrap_or_else(|d| panic!("{d:?}"));
    let opts = SyncOptions {
        node: "test".into(),
        ..Default::default()
    };
    sync::run(store, &prepared, &opts).await.unwrap()
}

/// A decimal from JSON (a string, or a number with its exact text).
pub fn dec(v: &Value) -> rust_decimal::Decimal {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Runs `sql` on the world's store with `$1` = `hours` ago; the rows it changed.
pub async fn at_hours_ago(w: &World, backend: &str, sql: &str, hours: i64) -> u64 {
    use sqlx::Connection;
    let at = chrono::Utc::now() - chrono::Duration::hours(hours);
    let url = w._guard.url().to_owned();
    if backend == "sqlite" {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(at)
            .execute(&mut c)
            .await
            .unwrap()
            .rows_affected()
    } else {
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(at)
            .execute(&mut c)
            .await
            .unwrap()
            .rows_affected()
    }
}

/// Runs the reminder rules on the world's store under the `[reminders]` etc. of `config`
/// (`full`: the daily invoice scan too), as the server does after a sync.
pub async fn suggest_reminders(
    w: &World,
    config: &str,
    today: chrono::NaiveDate,
    full: bool,
) -> kontor::front::reminders::SuggestSummary {
    let cfg = Config::parse("k.toml", config, std::path::PathBuf::from("."), Vec::new())
        .unwrap_or_else(|d| panic!("{d:?}"));
    let ctx = kontor::view::ViewContext::from_config(&cfg);
    let dir = kontor::directory::Directory::load(&w.store, &ctx.policy, "DE")
        .await
        .unwrap();
    kontor::front::reminders::suggest(&w.store, &cfg.reminders, &ctx, &dir, today, full)
        .await
        .unwrap()
}

/// Every reminder of customer `id` (open, snoozed and done), as the API lists them.
pub async fn reminders_of(w: &World, id: i64) -> Vec<Value> {
    let (s, all) = w
        .get(
            &format!("/api/v1/reminders?customer_id={id}&show=all"),
            "sales",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{all}");
    all.as_array().unwrap().clone()
}

/// Erases a WaWi customer record the way an erasure does (its data rewritten, without a run);
/// returns its (connector, entity, external id).
pub async fn erase_a_customer_record(store: &DynStore) -> (String, String, String) {
    let any = store
        .records(Some("wawi-kunden"), Some("customer"), 1)
        .await
        .unwrap();
    let r = &any[0];
    store
        .replace_record(
            &r.connector,
            &r.entity,
            &r.external_id,
            "{}",
            "erased",
            None,
        )
        .await
        .unwrap();
    (r.connector.clone(), r.entity.clone(), r.external_id.clone())
}
