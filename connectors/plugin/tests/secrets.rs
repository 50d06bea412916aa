//! Secrets from the environment reach the plugin's `--config` file but never an error, the
//! connector's `Debug` output or a quoted stdout/stderr line. (Its own test binary: it sets an
//! environment variable before any other thread runs.)

mod common;

use common::{connector, drain, plugin, script};
use kontor_connector::ConnectorError;

const VAR: &str = "KONTOR_PLUGIN_TEST_SECRET";
const SECRET: &str = "s3cr3t-Pässwort\"42";

#[test]
fn secrets_from_env_never_show() {
    // SAFETY: the only test of this binary, and no other thread exists yet (the runtime is
    // built below).
    unsafe { std::env::set_var(VAR, SECRET) };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    // Like a careless tap: checks that it got the password, then logs its config to stderr and
    // prints it on stdout.
    script(
        dir.path(),
        "tap-leaky",
        r#"while [ $# -gt 0 ]; do [ "$1" = --config ] && config="$2"; shift; done
grep -q 's3cr3t-P' "$config" || exit 3
echo "config: $(cat "$config")" >&2
if [ "$LEAK_ON" = stdout ]; then echo "config: $(cat "$config")"; fi
exit 1
"#,
    );
    let settings = |leak: &str| {
        format!(
            "command = ['./tap-leaky']\nconfig = {{ user = 'demo', password = {{ env = '{VAR}' }} }}\n\
             env = {{ LEAK_ON = '{leak}', TAP_TOKEN = {{ env = '{VAR}' }} }}"
        )
    };
    let dbg = format!("{:?}", plugin(dir.path(), &settings("stderr")));
    let conn = connector(dir.path(), &settings("stderr"));
    assert!(dbg.contains(VAR), "{dbg}");
    assert!(!dbg.contains("s3cr3t"), "{dbg}");
    conn.check().await.unwrap();

    // Exit 1 (not 3: the secret reached the config file); stderr is quoted, redacted.
    let (_, err) = drain(&conn, None).await;
    let Some(ConnectorError::Remote(msg)) = err else {
        panic!("{err:?}")
    };
    assert!(msg.contains("exited with code 1"), "{msg}");
    assert!(
        msg.contains(r#"config: {"password":"***","user":"demo"}"#),
        "{msg}"
    );
    assert!(!msg.contains("s3cr3t"), "{msg}");

    // A stdout line with the secret, quoted in a protocol error: redacted as well.
    let conn = connector(dir.path(), &settings("stdout"));
    let (_, err) = drain(&conn, None).await;
    let msg = err.unwrap().to_string();
    assert!(msg.contains("stdout line 1: not JSON"), "{msg}");
    assert!(
        msg.contains(r#"`config: {"password":"***","user":"demo"}`"#),
        "{msg}"
    );
    assert!(!msg.contains("s3cr3t"), "{msg}");

    // A missing variable is named, nothing else.
    let conn = connector(
        dir.path(),
        "command = ['./tap-leaky']\nconfig = { password = { env = 'KONTOR_PLUGIN_TEST_UNSET' } }",
    );
    let err = conn.check().await.unwrap_err().to_string();
    assert_eq!(
        err,
        "configuration: secret environment variable KONTOR_PLUGIN_TEST_UNSET: is not set"
    );
}
