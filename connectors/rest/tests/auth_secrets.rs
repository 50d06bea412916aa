//! Auth kinds on the wire, and the proof that secret values appear in no error, no Debug
//! output, no position, no unit label and no tracing output.

mod common;

use common::*;
use kontor_connector::DynConnector;
use kontor_rest::mock::{self, Fault, MockErp};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SOURCE: &str = r#"[[endpoint]]
stream = "items"
path = "/items"
records = "items"
id_field = "id"
page_size = 2
paging = { style = "offset" }
"#;

fn items_body(req: &Request) -> ResponseTemplate {
    let offset: usize = req
        .url
        .query_pairs()
        .find(|(k, _)| k == "offset")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let all = ["a", "b", "c"];
    let page: Vec<_> = all
        .iter()
        .skip(offset)
        .take(2)
        .map(|id| serde_json::json!({"id": id}))
        .collect();
    ResponseTemplate::new(200).set_body_json(serde_json::json!({ "items": page }))
}

#[tokio::test]
async fn oauth2_client_credentials_fetches_and_refreshes_the_token() {
    let server = MockServer::start().await;
    let issued = Arc::new(AtomicUsize::new(0));
    let i2 = issued.clone();
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(move |req: &Request| {
            let auth = req.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
            let body = String::from_utf8_lossy(&req.body).to_string();
            // client_secret_basic: base64("kontor-client:cl1ent-s3cret")
            if auth != "Basic a29udG9yLWNsaWVudDpjbDFlbnQtczNjcmV0" || !body.contains("grant_type=client_credentials") || !body.contains("scope=erp.read") {
                return ResponseTemplate::new(401).set_body_string("bad client");
            }
            let n = i2.fetch_add(1, Ordering::SeqCst) + 1;
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"access_token": format!("acc3ss-t0ken-{n}"), "token_type": "Bearer", "expires_in": 3600}))
        })
        .mount(&server)
        .await;
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(move |req: &Request| {
            let n = c2.fetch_add(1, Ordering::SeqCst);
            let auth = req
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            // Token 1 is revoked after the first page.
            let ok = auth == "Bearer acc3ss-t0ken-2" || (auth == "Bearer acc3ss-t0ken-1" && n == 0);
            if ok {
                items_body(req)
            } else {
                ResponseTemplate::new(401)
            }
        })
        .mount(&server)
        .await;
    let s = Secrets::new(&[("client_secret", "cl1ent-s3cret")]);
    let settings = format!(
        r#"base_url = "{0}"
auth = {{ kind = "oauth2_client_credentials", token_url = "{0}/oauth/token", client_id = "kontor-client", client_secret_file = "client_secret", scope = "erp.read" }}"#,
        server.uri()
    );
    let conn = build(&settings, SOURCE, s.path());
    let run = run_unit(&conn, "items", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.field("id"), ["a", "b", "c"]);
    assert_eq!(
        issued.load(Ordering::SeqCst),
        2,
        "one refresh after the 401"
    );
}

#[tokio::test]
async fn basic_auth_and_api_key_in_the_query_string() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(|req: &Request| {
            let auth = req
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok());
            let key = req
                .url
                .query_pairs()
                .find(|(k, _)| k == "api_key")
                .map(|(_, v)| v.into_owned());
            // base64("Jürgen:pa ss/wört") and the key with characters that need encoding.
            if auth == Some("Basic SsO8cmdlbjpwYSBzcy93w7ZydA==")
                || key.as_deref() == Some("k3y+with/odd&chars")
            {
                items_body(req)
            } else {
                ResponseTemplate::new(403).set_body_string("forbidden")
            }
        })
        .mount(&server)
        .await;
    let s = Secrets::new(&[("pw", "pa ss/wört"), ("key", "k3y+with/odd&chars")]);
    let basic = format!(
        "base_url = \"{}\"\nauth = {{ kind = \"basic\", username = \"Jürgen\", password_file = \"pw\" }}",
        server.uri()
    );
    let run = run_unit(&build(&basic, SOURCE, s.path()), "items", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.records().len(), 3);

    let query = format!(
        "base_url = \"{}\"\nauth = {{ kind = \"api_key\", query_param = \"api_key\", key_file = \"key\" }}",
        server.uri()
    );
    let run = run_unit(&build(&query, SOURCE, s.path()), "items", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.records().len(), 3);
    for r in run.records() {
        assert!(!r.position.source.contains("k3y"), "{}", r.position);
    }
}

#[test]
fn inline_secrets_are_rejected_at_build() {
    let dir = tempfile::tempdir().unwrap();
    for (auth, key) in [
        (
            r#"{ kind = "bearer", token = "plain-text-token" }"#,
            "token",
        ),
        (
            r#"{ kind = "basic", username = "u", password = "plain-text-pw" }"#,
            "password",
        ),
        (
            r#"{ kind = "oauth2_client_credentials", token_url = "http://x/t", client_id = "c", client_secret = "plain" }"#,
            "client_secret",
        ),
    ] {
        let Err(err) = try_build(
            &format!("base_url = \"http://127.0.0.1:9\"\nauth = {auth}"),
            SOURCE,
            dir.path(),
        ) else {
            panic!("inline secret accepted");
        };
        assert_eq!(err.key, ["auth", key]);
        assert!(!err.to_string().contains("plain"), "{err}");
    }
    let Err(err) = try_build(
        "base_url = \"http://user:pw@127.0.0.1:9\"",
        SOURCE,
        dir.path(),
    ) else {
        panic!("credentials in base_url accepted");
    };
    assert_eq!(err.key, ["base_url"]);
}

/// A tracing writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test]
async fn secrets_appear_in_no_error_debug_position_label_or_log() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut texts: Vec<String> = Vec::new();
    let secrets = [
        "s3cret-b3arer-value",
        "k3y-in-qu3ry-string",
        mock::SAP_PASSWORD,
        "wr0ng-sap-passw0rd",
    ];

    // 1. A server that echoes credentials into error bodies and next links.
    let server = MockServer::start().await;
    Mock::given(path("/echo"))
        .respond_with(|req: &Request| {
            let auth = req
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            ResponseTemplate::new(500)
                .set_body_string(format!("internal error, you sent {auth} and {}", req.url))
        })
        .mount(&server)
        .await;
    Mock::given(path("/items"))
        .respond_with(|req: &Request| {
            let key = req
                .url
                .query_pairs()
                .find(|(k, _)| k == "api_key")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "items": [{"id": "x"}],
                "next": format!("/items?api_key={key}&after=x"),
            }))
        })
        .mount(&server)
        .await;
    let s = Secrets::new(&[
        ("bearer", secrets[0]),
        ("key", secrets[1]),
        ("sap", secrets[2]),
        ("badsap", secrets[3]),
    ]);
    let echo_src = SOURCE.replace("/items", "/echo");
    let rest = build_rest(
        &format!(
            "base_url = \"{}\"\nauth = {{ kind = \"bearer\", token_file = \"bearer\" }}",
            server.uri()
        ),
        &echo_src,
        s.path(),
    );
    let conn: DynConnector = rest.clone();
    let run = run_unit(&conn, "items", None).await;
    texts.push(run.error.expect("500s fail").to_string());
    texts.push(format!("{rest:?}"));

    let link_src = SOURCE.replace(
        "paging = { style = \"offset\" }",
        "paging = { style = \"next_link\", next = \"next\" }",
    );
    let rest = build_rest(
        &format!(
            "base_url = \"{}\"\nauth = {{ kind = \"api_key\", query_param = \"api_key\", key_file = \"key\" }}",
            server.uri()
        ),
        &link_src,
        s.path(),
    );
    let conn: DynConnector = rest.clone();
    let run = run_unit(&conn, "items", None).await;
    texts.push(format!("{:?}", run.error));
    for b in &run.batches {
        texts.push(b.position.to_string());
        for r in run.records() {
            texts.push(r.position.to_string());
        }
    }
    for u in conn.discover().await.unwrap() {
        texts.push(format!("{u:?}"));
    }
    texts.push(format!("{rest:?}"));

    // 2. SAP B1: a good session (the session id is a secret too), then a refused login.
    let erp = MockErp::start("sap-b1").await;
    let sap = |file: &str| {
        format!(
            "base_url = \"{}\"\nprofile = \"sap-b1\"\nauth = {{ kind = \"sap_b1_session\", company_db = \"{}\", username = \"{}\", password_file = \"{file}\" }}",
            erp.uri(),
            mock::SAP_COMPANY_DB,
            mock::SAP_USER
        )
    };
    let rest = build_rest(&sap("sap"), "", s.path());
    let conn: DynConnector = rest.clone();
    erp.fail_next(Fault::ExpireSessions, 1);
    let run = run_unit(&conn, "BusinessPartners", None).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    texts.push(format!("{rest:?}"));
    for b in &run.batches {
        texts.push(b.position.to_string());
    }
    let bad = build(&sap("badsap"), "", s.path());
    texts.push(bad.check().await.unwrap_err().to_string());
    texts.push(
        run_unit(&bad, "Invoices", None)
            .await
            .error
            .unwrap()
            .to_string(),
    );

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("retrying") && log.contains("401"),
        "the log is captured: {log}"
    );
    texts.push(log);
    let all = texts.join("\n");
    if std::env::var_os("SHOW_REDACTED").is_some() {
        eprintln!("{all}");
    }
    for secret in secrets {
        assert!(!all.contains(secret), "secret `{secret}` leaked:\n{all}");
    }
    // Session ids handed out by the mock never appear either.
    for line in all.lines() {
        assert!(!line.contains("B1SESSION="), "{line}");
    }
    assert!(all.contains("***"), "redaction happened");
}
