//! Secrets of a REST connector never show in `kontor sync` output or `kontor runs`, even when
//! the server echoes them into its error answers.

use std::process::Command;
use wiremock::{Mock, MockServer, Request, ResponseTemplate, matchers::any};

const KEY: &str = "k0ntor-api-key-4711";
const SECRET: &str = "s3cret-half-0815";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_show_in_sync_output_or_runs() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(|req: &Request| {
            let auth = req
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            ResponseTemplate::new(500).set_body_string(format!("internal error; you sent `{auth}`"))
        })
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), format!("{KEY}:{SECRET}")).unwrap();
    std::fs::write(
        dir.path().join("kontor.toml"),
        format!(
            "[store]\nurl = \"sqlite://kontor.db\"\n\n[[connector]]\nname = \"erp\"\nkind = \"rest\"\n\
             base_url = \"{}\"\nprofile = \"erpnext\"\nmax_retries = 1\nretry_budget = 2\n\
             backoff = \"10ms\"\nauth = {{ kind = \"token\", token_file = \"token\" }}\n",
            server.uri()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_kontor"))
            .args(args)
            .current_dir(dir.path())
            .env("KONTOR_LOG", "trace")
            .output()
            .unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, sync_text) = run(&["sync", "erp"]);
    assert_eq!(code, Some(1), "{sync_text}");
    // The server did receive the credentials and echoed them back.
    let received = server.received_requests().await.unwrap();
    assert!(!received.is_empty());
    assert!(
        received[0].headers["authorization"]
            .to_str()
            .unwrap()
            .contains(SECRET)
    );
    let (_, runs_json) = run(&["runs", "--json"]);
    let (_, runs_table) = run(&["runs"]);
    assert!(runs_json.contains("\"status\":\"failed\""), "{runs_json}");
    assert!(
        runs_json.contains("500"),
        "the error is reported: {runs_json}"
    );
    for (what, text) in [
        ("sync", &sync_text),
        ("runs --json", &runs_json),
        ("runs", &runs_table),
    ] {
        assert!(!text.contains(KEY), "{what} shows the key: {text}");
        assert!(!text.contains(SECRET), "{what} shows the secret: {text}");
    }
}
