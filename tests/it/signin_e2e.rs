//! People sign in (issue 21): local accounts with argon2id, a session cookie
//! (`HttpOnly; SameSite=Strict`, `Secure` behind https) whose id the store keeps only hashed,
//! CSRF tokens on state-changing requests, lockout, idle and absolute timeouts, sign-out (here
//! and everywhere); the signed-in person acts with their role and team like a token, and the
//! audit log names them. Tokens keep working for machines.

use crate::common::{self, World, world};
use kontor::api::accounts::{hash_password, session_hash};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

const PASSWORD: &str = "Spannzange-ER32-Köln";

async fn add_user(w: &World, name: &str, role: &str, team: Option<&str>) {
    let hash = hash_password(PASSWORD).unwrap();
    w.store
        .create_user(name, role, team, "local", Some(&hash))
        .await
        .unwrap();
}

/// A signed-in session as the browser holds it.
struct Signed {
    cookie: String,
    csrf: String,
    set_cookie: String,
}

async fn sign_in_raw(w: &World, user: &str, password: &str) -> (StatusCode, Option<String>, Value) {
    let res = w
        .http
        .post(format!("{}/api/v1/session", w.base))
        .json(&json!({"user": user, "password": password}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let set_cookie = res
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, set_cookie, res.json().await.unwrap())
}

async fn sign_in(w: &World, user: &str) -> Signed {
    let (status, set_cookie, body) = sign_in_raw(w, user, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let set_cookie = set_cookie.expect("Set-Cookie");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    Signed {
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
        set_cookie,
    }
}

/// A request with the session cookie (and the CSRF header when `csrf` is given).
async fn with_cookie(
    w: &World,
    method: &str,
    path: &str,
    s: &Signed,
    csrf: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let url = format!("{}{path}", w.base);
    let mut req = match method {
        "POST" => w.http.post(&url),
        "DELETE" => w.http.delete(&url),
        _ => w.http.get(&url),
    }
    .header("cookie", &s.cookie);
    if let Some(c) = csrf {
        req = req.header("x-csrf-token", c);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text })),
    )
}

async fn signed_in_people_act_with_their_role_and_csrf_guards_changes(backend: &str) {
    let w = world(backend, common::TEAMS).await;
    add_user(&w, "anna", "sales", Some("vertrieb-nord")).await;
    add_user(&w, "olaf", "ops", None).await;

    // Wrong password and unknown user: the same 401.
    let (s, cookie, body) = sign_in_raw(&w, "anna", "falsch-falsch").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert!(cookie.is_none());
    let (s2, _, body2) = sign_in_raw(&w, "niemand", "falsch-falsch").await;
    assert_eq!(s2, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], body2["error"]);

    // The cookie's attributes; no Secure without https.
    let anna = sign_in(&w, "anna").await;
    let attrs: Vec<&str> = anna.set_cookie.split(';').map(str::trim).collect();
    assert!(
        attrs[0].starts_with("kontor_session=") && attrs[0].len() > 40,
        "{attrs:?}"
    );
    for a in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(attrs.contains(&a), "{a} in {attrs:?}");
    }
    assert!(!attrs.contains(&"Secure"), "{attrs:?}");

    // Who am I: the CSRF token again.
    let (s, me) = with_cookie(&w, "GET", "/api/v1/session", &anna, None, None).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(
        (
            me["user"].as_str(),
            me["role"].as_str(),
            me["team"].as_str()
        ),
        (Some("anna"), Some("sales"), Some("vertrieb-nord"))
    );
    assert_eq!(me["csrf_token"].as_str(), Some(anna.csrf.as_str()));

    // The role matrix: sales reads customers, not sync runs or the audit log.
    let id = w.id_of("00042").await;
    let (s, view) = with_cookie(
        &w,
        "GET",
        &format!("/api/v1/customers/{id}"),
        &anna,
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{view}");
    for path in ["/api/v1/sync/runs", "/api/v1/audit"] {
        let (s, _) = with_cookie(&w, "GET", path, &anna, None, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
    }
    let olaf = sign_in(&w, "olaf").await;
    let (s, _) = with_cookie(&w, "GET", "/api/v1/sync/runs", &olaf, None, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = with_cookie(
        &w,
        "GET",
        &format!("/api/v1/customers/{id}"),
        &olaf,
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // State-changing requests need the CSRF token: missing or wrong → 403.
    let complaint = json!({"customer_id": id, "category": "lieferung", "title": "Karton nass"});
    let (s, e) = with_cookie(
        &w,
        "POST",
        "/api/v1/complaints",
        &anna,
        None,
        Some(complaint.clone()),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf")),
        "{e}"
    );
    let (s, _) = with_cookie(
        &w,
        "POST",
        "/api/v1/complaints",
        &anna,
        Some(&olaf.csrf),
        Some(complaint.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another session's CSRF token");
    let (s, filed) = with_cookie(
        &w,
        "POST",
        "/api/v1/complaints",
        &anna,
        Some(&anna.csrf),
        Some(complaint),
    )
    .await;
    assert!(s.is_success(), "{s} {filed}");
    // Tokens are unchanged: no CSRF header needed.
    let (s, _) = w
        .call(
            "POST",
            "/api/v1/complaints",
            Some("sales"),
            Some(json!({"customer_id": id, "category": "lieferung", "title": "per Token"})),
        )
        .await;
    assert!(s.is_success(), "{s}");

    // The audit log names the person (written in the background).
    let mut named = false;
    for _ in 0..40 {
        let (s, log) = with_cookie(&w, "GET", "/api/v1/audit?limit=200", &olaf, None, None).await;
        assert_eq!(s, StatusCode::OK, "{log}");
        let entries = log.as_array().cloned().unwrap_or_default();
        named = entries.iter().any(|e| {
            e["token_name"] == "user:anna"
                && e["action"] == "view_customer"
                && e["customer_id"] == id
        }) && entries
            .iter()
            .any(|e| e["token_name"] == "user:anna" && e["action"] == "sign_in");
        if named {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(named, "audit entries of user:anna");

    // The store has the session id's hash, never the id (a backup is every table's bytes).
    let id_value = anna.cookie.trim_start_matches("kontor_session=").to_owned();
    assert!(
        w.store
            .session(&session_hash(&id_value))
            .await
            .unwrap()
            .is_some()
    );
    assert!(w.store.session(&id_value).await.unwrap().is_none());
    let dump = tempfile::tempdir().unwrap();
    let file = dump.path().join("dump.jsonl");
    kontor::store::backup::backup(w._guard.url(), &file)
        .await
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains(&session_hash(&id_value)),
        "the hash is stored"
    );
    assert!(!text.contains(&id_value), "the session id is not stored");
    assert!(!text.contains(&anna.csrf), "the CSRF token is not stored");
    assert!(!text.contains(PASSWORD) && text.contains("$argon2id$"));

    // Sign-out needs the CSRF token too; then the cookie is worthless.
    let (s, _) = with_cookie(&w, "DELETE", "/api/v1/session", &anna, None, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let res = w
        .http
        .delete(format!("{}/api/v1/session", w.base))
        .header("cookie", &anna.cookie)
        .header("x-csrf-token", &anna.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cleared = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cleared.starts_with("kontor_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let (s, _) = with_cookie(
        &w,
        "GET",
        &format!("/api/v1/customers/{id}"),
        &anna,
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

async fn sign_out_everywhere_ends_every_session(backend: &str) {
    let w = world(backend, "").await;
    add_user(&w, "bernd", "service", Some("innendienst")).await;
    let (a, b) = (sign_in(&w, "bernd").await, sign_in(&w, "bernd").await);
    assert_ne!(a.cookie, b.cookie);
    assert_ne!(a.csrf, b.csrf);
    let (s, out) = with_cookie(
        &w,
        "POST",
        "/api/v1/session/everywhere",
        &a,
        Some(&a.csrf),
        None,
    )
    .await;
    assert_eq!(
        (s, out["ended"].as_u64()),
        (StatusCode::OK, Some(2)),
        "{out}"
    );
    for x in [&a, &b] {
        let (s, _) = with_cookie(&w, "GET", "/api/v1/session", x, None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    // A token is no session.
    let (s, _) = w.get("/api/v1/session", "sales").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

both_backends!(
    signed_in_people_act_with_their_role_and_csrf_guards_changes,
    sign_out_everywhere_ends_every_session
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_after_repeated_failures_and_a_secure_cookie_behind_https() {
    let w = world(
        "sqlite",
        "[auth]\nlockout_after = 3\nlockout_for = \"1h\"\n[server]\npublic_url = \"https://kontor.example.com\"\n",
    )
    .await;
    add_user(&w, "carla", "sales", None).await;
    for n in 1..=2 {
        let (s, _, _) = sign_in_raw(&w, "carla", "falsch-falsch").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let (s, _, e) = sign_in_raw(&w, "carla", "falsch-falsch").await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("locked")),
        "{e}"
    );
    // Locked: the right password does not help.
    let (s, cookie, e) = sign_in_raw(&w, "carla", PASSWORD).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("locked"))
    );
    assert!(cookie.is_none());
    let u = w.store.user("carla").await.unwrap().unwrap();
    assert!(u.locked_until.unwrap() > chrono::Utc::now() + chrono::TimeDelta::minutes(50));
    assert!(w.store.unlock_user("carla").await.unwrap());
    let carla = sign_in(&w, "carla").await;
    assert!(
        carla.set_cookie.split(';').any(|a| a.trim() == "Secure"),
        "{}",
        carla.set_cookie
    );
    // Two failures, a success: the count starts again.
    for _ in 0..2 {
        sign_in_raw(&w, "carla", "falsch-falsch").await;
    }
    sign_in(&w, "carla").await;
    let (s, _, _) = sign_in_raw(&w, "carla", "falsch-falsch").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_when_idle_and_at_their_absolute_limit() {
    let w = world(
        "sqlite",
        "[auth]\nsession_idle = \"2s\"\nsession_max = \"5s\"\n",
    )
    .await;
    add_user(&w, "dora", "sales", None).await;
    let idle = sign_in(&w, "dora").await;
    let busy = sign_in(&w, "dora").await;
    let started = std::time::Instant::now();
    let (s, _) = with_cookie(&w, "GET", "/api/v1/session", &idle, None, None).await;
    assert_eq!(s, StatusCode::OK);
    // The busy session stays alive past the idle timeout, until its absolute end.
    let mut ended_at = None;
    while started.elapsed() < Duration::from_secs(8) {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let (s, _) = with_cookie(&w, "GET", "/api/v1/session", &busy, None, None).await;
        if s == StatusCode::UNAUTHORIZED {
            ended_at = Some(started.elapsed());
            break;
        }
        assert_eq!(s, StatusCode::OK);
    }
    let ended_at = ended_at.expect("the busy session ended");
    assert!(
        ended_at >= Duration::from_secs(4),
        "ended after {ended_at:?}, not before session_max"
    );
    // The idle one ended after 2 s without a request.
    let (s, _) = with_cookie(&w, "GET", "/api/v1/session", &idle, None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

fn kontor(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> (i32, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kontor"))
        .args(args)
        .current_dir(dir)
        .env_remove("KONTOR_STORE__URL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_commands_add_list_passwd_unlock_signout_remove() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("kontor.toml"),
        "[store]\nurl = \"sqlite://kontor.db\"\n",
    )
    .unwrap();
    // From stdin; the password is never an argument.
    let (code, out) = kontor(
        d,
        &[
            "user",
            "add",
            "anna",
            "--role",
            "sales",
            "--team",
            "vertrieb-nord",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(code, 0, "{out}");
    std::fs::write(d.join("pw"), "kurz\n").unwrap();
    let (code, out) = kontor(
        d,
        &[
            "user",
            "add",
            "bert",
            "--role",
            "ops",
            "--password-file",
            "pw",
        ],
        None,
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("at least 10 characters"), "{out}");
    let (code, out) = kontor(
        d,
        &["user", "add", "cti", "--role", "cti"],
        Some("irgendwas-langes\n"),
    );
    assert_eq!(code, 1, "{out}");
    std::fs::write(d.join("pw"), "ein anderes Passwort\n").unwrap();
    let (code, out) = kontor(
        d,
        &[
            "user",
            "add",
            "bert",
            "--role",
            "ops",
            "--password-file",
            "pw",
        ],
        None,
    );
    assert_eq!(code, 0, "{out}");
    let (code, out) = kontor(
        d,
        &[
            "user",
            "add",
            "bert",
            "--role",
            "ops",
            "--password-file",
            "pw",
        ],
        None,
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("exists already"), "{out}");

    let (code, out) = kontor(d, &["user", "list"], None);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("anna") && out.contains("vertrieb-nord") && out.contains("bert"),
        "{out}"
    );
    assert!(!out.contains("argon2"), "{out}");
    let (code, out) = kontor(d, &["user", "list", "--json"], None);
    assert_eq!(code, 0);
    let users: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(users[0]["name"], "anna");
    assert!(users[0].get("password_hash").is_none());

    // The store: argon2id, and the password changes.
    let store = kontor::store::open_with(
        &format!("sqlite://{}", d.join("kontor.db").display()),
        kontor::store::Open::Current,
    )
    .await
    .unwrap();
    let hash = store
        .user("anna")
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert!(hash.starts_with("$argon2id$"));
    assert!(kontor::api::accounts::verify_password(
        Some(&hash),
        PASSWORD
    ));
    let (code, out) = kontor(
        d,
        &["user", "passwd", "anna", "--password-file", "pw"],
        None,
    );
    assert_eq!(code, 0, "{out}");
    let hash = store
        .user("anna")
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert!(kontor::api::accounts::verify_password(
        Some(&hash),
        "ein anderes Passwort"
    ));

    // Unlock and sign-out everywhere.
    let id = store.user("anna").await.unwrap().unwrap().id;
    store
        .sign_in_failed(id, 1, chrono::Utc::now() + chrono::TimeDelta::hours(1))
        .await
        .unwrap();
    let (_, out) = kontor(d, &["user", "list"], None);
    assert!(out.contains("locked until"), "{out}");
    let (code, _) = kontor(d, &["user", "unlock", "anna"], None);
    assert_eq!(code, 0);
    assert!(
        store
            .user("anna")
            .await
            .unwrap()
            .unwrap()
            .locked_until
            .is_none()
    );
    store
        .create_session(kontor::store::NewSession {
            id_hash: "h1",
            user_id: id,
            role: "sales",
            team: None,
            expires_at: chrono::Utc::now() + chrono::TimeDelta::hours(1),
        })
        .await
        .unwrap();
    let (code, out) = kontor(d, &["user", "signout", "anna"], None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 session(s)"), "{out}");
    assert!(store.session("h1").await.unwrap().is_none());

    let (code, _) = kontor(d, &["user", "remove", "anna"], None);
    assert_eq!(code, 0);
    let (code, _) = kontor(d, &["user", "remove", "anna"], None);
    assert_eq!(code, 1);
    assert!(store.user("anna").await.unwrap().is_none());
}
