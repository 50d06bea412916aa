//! Sign-in through OpenID Connect (issue 21): npm `oidc-provider` (tests/web/oidc-provider.mjs)
//! started on loopback, kontor configured with `[auth.oidc]`, and headless Chromium
//! (tests/web/oidc-e2e.mjs) going through kontor's login page, the provider's login and consent
//! and back: signed in with the role and team of the provider's claims (`groups` mapped by
//! `role_map`), a customer found, no token in localStorage. A person without a mapped group is
//! refused.
//!
//! Needs what web_e2e.rs needs and `oidc-provider` in tests/web (`npm ci` there).

use crate::common::world_on;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn browser(web: &std::path::Path, base: &str, login: &str) -> (bool, String) {
    let run = tokio::process::Command::new("node")
        .arg(web.join("oidc-e2e.mjs"))
        .arg(base)
        .arg(login)
        .current_dir(web)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the browser did not finish within 120 s")
        .expect("could not start node");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn last_json(out: &str) -> Value {
    let line = out
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no session line:\n{out}"));
    serde_json::from_str(line).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_through_an_oidc_provider_in_chromium() {
    let web = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/web");
    assert!(
        web.join("node_modules/oidc-provider/package.json").exists(),
        "oidc-provider is missing: `cd {} && npm ci`",
        web.display()
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let redirect = format!("{base}/auth/oidc/callback");
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let secrets = tempfile::tempdir().unwrap();
    let secret_file = secrets.path().join("oidc-client");
    std::fs::write(&secret_file, "ein-geheimnis-des-clients\n").unwrap();

    let mut provider = tokio::process::Command::new("node")
        .arg(web.join("oidc-provider.mjs"))
        .arg(port.to_string())
        .arg("kontor")
        .arg("ein-geheimnis-des-clients")
        .arg(&redirect)
        .current_dir(&web)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node");
    let mut lines = BufReader::new(provider.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the provider did not start within 30 s")
        .unwrap()
        .unwrap_or_default();
    assert_eq!(ready, format!("ready {issuer}"));

    let config = format!(
        "[auth.oidc]\nissuer = \"{issuer}\"\nclient_id = \"kontor\"\nclient_secret_file = \"{}\"\nredirect_url = \"{redirect}\"\nrole_claim = \"groups\"\nteam_claim = \"team\"\nrole_map = {{ \"kontor-sales\" = \"sales\", \"kontor-ops\" = \"ops\" }}\n",
        secret_file.display()
    );
    let w = world_on("sqlite", &config, listener).await;

    let (ok, out) = browser(&web, &base, "anna").await;
    println!("{out}");
    assert!(ok, "{out}");
    let s = last_json(&out);
    assert_eq!(s["status"], 200, "{out}");
    assert_eq!(
        (&s["body"]["user"], &s["body"]["role"], &s["body"]["team"]),
        (
            &Value::from("anna"),
            &Value::from("sales"),
            &Value::from("vertrieb-nord")
        ),
        "{out}"
    );
    assert_eq!(s["local"], 0, "nothing in localStorage: {out}");
    let u = w.store.user("anna").await.unwrap().unwrap();
    assert_eq!((u.source.as_str(), u.password_hash), ("oidc", None));

    // In `alle` only: no kontor role, no session.
    let (ok, out) = browser(&web, &base, "eve").await;
    assert!(ok, "{out}");
    let s = last_json(&out);
    assert_eq!(s["status"], 401, "{out}");
    assert!(out.contains("no kontor role"), "{out}");
    assert!(w.store.user("eve").await.unwrap().is_none());
    let _ = provider.kill().await;
}
