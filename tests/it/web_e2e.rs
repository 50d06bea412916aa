//! The web page end to end in headless Chromium: the demo workspace (as in api_e2e.rs) synced
//! into SQLite, resolved and served on loopback; one complaint about damaged Spannzangen filed
//! and resolved through the API (with a token: machines keep them); then `tests/web/e2e.mjs`
//! (playwright-core driving Debian's /usr/bin/chromium) signs in with a local account (a wrong
//! password first), finds no token in localStorage, searches, opens the customer card, files a
//! complaint that finds the earlier case, works its service process (a step done, the cost,
//! forwarded to product management; a second complaint's step is overdue), opens the call
//! screen-pop (with the Mahnstufe),
//! searches an item's stock, sees a request without the CSRF token refused with 403, and
//! signs out.
//!
//! Needs Node.js, Chromium and playwright-core:
//! `apt-get install -y --no-install-recommends chromium chromium-driver nodejs npm` and
//! `npm ci` in tests/web. `KONTOR_WEB_SCREENSHOTS=<dir>` keeps the screenshots there.

use kontor::api::auth::{hash_token, new_token};
use kontor::api::{AppState, serve};
use kontor::config::Config;
use kontor::sync::{self, SyncOptions};
use kontor::testing::temp_store;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";

/// What the test needs outside Rust; a clear message of what to install when it is missing.
fn prerequisites(web: &Path) -> Result<(), String> {
    let mut missing = Vec::new();
    let node = std::process::Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !node.is_ok_and(|s| s.success()) {
        missing.push("Node.js (`apt-get install -y nodejs npm`)".to_owned());
    }
    let chromium = std::env::var("KONTOR_CHROMIUM").unwrap_or_else(|_| CHROMIUM.into());
    if !Path::new(&chromium).exists() {
        missing.push(format!(
            "Chromium at {chromium} (`apt-get install -y --no-install-recommends chromium chromium-driver`)"
        ));
    }
    if !web
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        missing.push(format!(
            "playwright-core (`cd {} && npm ci`)",
            web.display()
        ));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the web end-to-end test needs: {} (.ci/run installs them)",
            missing.join("; ")
        ))
    }
}

async fn post(http: &reqwest::Client, base: &str, token: &str, path: &str, body: Value) -> Value {
    let res = http
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert!(status.is_success(), "POST {path}: {status} {v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_page_search_card_complaint_and_screen_pop_in_chromium() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let web = root.join("tests/web");
    if let Err(m) = prerequisites(&web) {
        panic!("{m}");
    }

    // The world of api_e2e.rs, on SQLite.
    let (store, _guard) = temp_store("sqlite").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    kontor::demo::write_workspace(dir.path()).unwrap();
    let erp = kontor_rest::mock::MockErp::start("erpnext").await;
    std::fs::write(
        dir.path().join("secrets/erpnext"),
        kontor_rest::mock::ERPNEXT_TOKEN,
    )
    .unwrap();
    // The PBX's dial URL (click-to-dial rings anna's phone `e0`, then the number).
    let pbx = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path_regex(r"^/dial/e0/%2B49\d+$"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .expect(1)
        .mount(&pbx)
        .await;
    // Teams to forward complaints to.
    let text = format!(
        "{}\n[privacy]\nteams = {{ vertrieb-nord = 6, service = 5, produktmanagement = 5 }}\n\
         [cti.dial]\nprovider = \"url\"\nurl = \"{}/dial/{{device}}/{{number}}\"\ndevices = {{ anna = \"e0\" }}\n",
        kontor::demo::config(&erp.uri()),
        pbx.uri()
    );
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
    // Customer 00047 paid RE-2026-1006 (due 24.11.2026) two days ago: its item left the
    // open-items list then (the card's "Zahlungsmoral").
    {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(_guard.url()).await.unwrap();
        let done = sqlx::query("UPDATE records SET closed_at = $1 WHERE entity = 'invoice' AND external_id = 'RE-2026-1006'")
            .bind(chrono::Utc::now() - chrono::Duration::days(2))
            .execute(&mut c)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
    }
    let token = new_token();
    store
        .create_token(
            "web-e2e",
            "sales",
            Some("vertrieb-nord"),
            &hash_token(&token),
        )
        .await
        .unwrap();
    // The PBX (its calls pop up on the page).
    let cti = new_token();
    store
        .create_token("web-e2e-pbx", "cti", None, &hash_token(&cti))
        .await
        .unwrap();
    // The person who signs in through the page.
    let password = "Vertrieb-Nord-2026!";
    store
        .create_user(
            "anna",
            "sales",
            Some("vertrieb-nord"),
            "local",
            Some(&kontor::api::accounts::hash_password(password).unwrap()),
        )
        .await
        .unwrap();
    let state = AppState::new(store.clone(), Arc::new(cfg)).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        serve(listener, state, std::future::pending())
            .await
            .unwrap();
    });

    // An earlier complaint about damaged Spannzangen, resolved.
    let http = kontor::testing::http_client();
    let res = http
        .get(format!("{base}/api/v1/customers?q=00042"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    let muller = page["hits"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("00042: {page}"));
    let filed = post(
        &http,
        &base,
        &token,
        "/api/v1/complaints",
        json!({
            "customer_id": muller,
            "category": "lieferung",
            "title": "Spannzangen beschädigt geliefert",
            "text": "Karton eingedrückt, zwei Spannzangen verbogen",
            "sku": "0815-A",
        }),
    )
    .await;
    let complaint = filed["complaint"]["id"].as_i64().unwrap();
    let status = format!("/api/v1/complaints/{complaint}/status");
    post(
        &http,
        &base,
        &token,
        &status,
        json!({"status": "in_progress"}),
    )
    .await;
    let resolved = post(
        &http,
        &base,
        &token,
        &status,
        json!({"status": "resolved", "resolution": "Ersatz geliefert, Spedition informiert"}),
    )
    .await;
    assert_eq!(resolved["status"], "resolved", "{resolved}");
    // What it cost (a credit note), for the report.
    let res = http
        .patch(format!("{base}/api/v1/complaints/{complaint}"))
        .bearer_auth(&token)
        .json(&json!({"cost": "120"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // An open complaint whose first process step was due three days ago.
    let late = post(
        &http,
        &base,
        &token,
        "/api/v1/complaints",
        json!({"customer_id": muller, "category": "lieferung", "title": "Teillieferung AB-50001 unvollständig"}),
    )
    .await;
    assert_eq!(late["complaint"]["steps"][0]["status"], "open", "{late}");
    {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(_guard.url()).await.unwrap();
        let due = chrono::Local::now().date_naive() - chrono::Days::new(3);
        let done = sqlx::query("UPDATE ticket_steps SET due = $1 WHERE ticket_id = $2 AND n = 1")
            .bind(due)
            .bind(late["complaint"]["id"].as_i64().unwrap())
            .execute(&mut c)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
    }

    // The browser.
    let shots_tmp = tempfile::tempdir().unwrap();
    let shots = std::env::var_os("KONTOR_WEB_SCREENSHOTS")
        .map_or_else(|| shots_tmp.path().to_path_buf(), PathBuf::from);
    let started = Instant::now();
    let run = tokio::process::Command::new("node")
        .arg(web.join("e2e.mjs"))
        .arg(&base)
        .arg("anna")
        .arg(password)
        .arg(&shots)
        .env("KONTOR_CTI_TOKEN", &cti)
        .current_dir(&web)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("the browser test did not finish within 240 s")
        .expect("could not start node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!(
        "{stdout}{stderr}browser test took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let keep = if std::env::var_os("KONTOR_WEB_SCREENSHOTS").is_some() {
        format!("screenshots in {}", shots.display())
    } else {
        "set KONTOR_WEB_SCREENSHOTS=<dir> to keep the screenshots".to_owned()
    };
    assert!(
        out.status.success(),
        "the browser test failed ({}; {keep}):\n{stdout}\n{stderr}",
        out.status
    );
    for name in ["screenshot-kunde.png", "screenshot-anruf.png"] {
        let png = std::fs::read(shots.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is not a PNG");
    }
    pbx.verify().await;
    server.abort();
    drop(erp);
}
