//! The plugin connector against fake taps: batches end at STATE messages, resume passes the
//! committed state back, and every failure keeps exactly the batches up to the last STATE.

mod common;

use common::{SCHEMA, connector, dead, drain, records, script};
use kontor_connector::{ConnectorError, Item};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn states_end_batches_and_the_tail_follows_a_clean_exit() {
    let dir = tempfile::tempdir().unwrap();
    script(
        dir.path(),
        "tap-normal",
        &format!(
            "cat <<'EOF'\n{SCHEMA}\n\
             {{\"type\":\"STATE\",\"value\":{{}}}}\n\
             {{\"type\":\"RECORD\",\"stream\":\"customers\",\"record\":{{\"id\":1,\"name\":\"Müller GmbH\",\"amount\":1.50}}}}\n\
             {{\"type\":\"RECORD\",\"stream\":\"other\",\"record\":{{\"x\":1}}}}\n\
             {{\"type\":\"RECORD\",\"stream\":\"customers\",\"record\":{{\"id\":2,\"name\":null}}}}\n\
             {{\"type\":\"STATE\",\"value\":{{\"bookmarks\":{{\"customers\":2}}}}}}\n\
             {{\"type\":\"RECORD\",\"stream\":\"customers\",\"record\":{{\"id\":3}}}}\n\
             {{\"type\":\"STATE\",\"value\":{{\"bookmarks\":{{\"customers\":3}}}}}}\n\
             {{\"type\":\"ACTIVATE_VERSION\",\"stream\":\"customers\",\"version\":1}}\n\
             {{\"type\":\"RECORD\",\"stream\":\"customers\",\"record\":{{\"id\":4}}}}\n\
             EOF\necho 'some log line' >&2\n"
        ),
    );
    let conn = connector(
        dir.path(),
        "command = ['./tap-normal']\nstreams = ['customers']\ntimeout = '10s'",
    );
    let units = conn.discover().await.unwrap();
    assert_eq!(units[0].key, "plugin");
    assert_eq!(units[0].label, "./tap-normal");
    assert_eq!(units[0].commit, kontor_connector::CommitMode::Incremental);
    assert!(units[0].stream.is_none());

    let (batches, err) = drain(&conn, None).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(batches.len(), 3, "{batches:?}");
    let (s2, s3) = (
        json!({"state": {"bookmarks": {"customers": 2}}}),
        json!({"state": {"bookmarks": {"customers": 3}}}),
    );
    // The records since the previous STATE, with the STATE as position.
    let first = records(&batches[0]);
    assert_eq!(first.iter().map(|r| r.0).collect::<Vec<_>>(), [3, 5]);
    // Numbers keep their text.
    assert_eq!(
        first[0].1.to_string(),
        r#"{"amount":1.50,"id":1,"name":"Müller GmbH"}"#
    );
    assert_eq!(batches[0].position, s2);
    assert_eq!(
        records(&batches[1]).iter().map(|r| r.0).collect::<Vec<_>>(),
        [7]
    );
    assert_eq!(batches[1].position, s3);
    // After a clean exit: the trailing record with the last STATE.
    assert_eq!(
        records(&batches[2]).iter().map(|r| r.0).collect::<Vec<_>>(),
        [10]
    );
    assert_eq!(batches[2].position, s3);
    let Item::Record(r) = &batches[0].items[0] else {
        panic!()
    };
    assert_eq!(r.position.to_string(), "tap-normal:3");
    assert_eq!(r.stream.as_deref(), Some("customers"));
    assert_eq!(
        r.context.get("plugin.stream").map(String::as_str),
        Some("customers")
    );
}

#[tokio::test]
async fn a_resumed_run_gets_the_committed_state_and_its_config() {
    let dir = tempfile::tempdir().unwrap();
    script(
        dir.path(),
        "tap-echo",
        r#"state=null
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config=$(cat "$2"); shift ;;
    --state) state=$(cat "$2"); shift ;;
  esac
  shift
done
echo '{"type":"SCHEMA","stream":"echo","schema":{"type":"object"},"key_properties":[]}'
printf '{"type":"RECORD","stream":"echo","record":{"state":%s,"config":%s,"env":"%s"}}\n' "$state" "$config" "$TAP_MODE"
if [ "$state" = null ]; then n=1; else n=2; fi
printf '{"type":"STATE","value":{"run":%s}}\n' "$n"
"#,
    );
    let conn = connector(
        dir.path(),
        "command = ['./tap-echo']\nconfig = { greeting = 'hallo', n = 3, nested = { list = [1, 'a'] } }\nenv = { TAP_MODE = 'full' }",
    );
    let (batches, err) = drain(&conn, None).await;
    assert!(err.is_none(), "{err:?}");
    let rec = &records(&batches[0])[0].1;
    assert_eq!(rec["state"], json!(null));
    assert_eq!(
        rec["config"],
        json!({"greeting": "hallo", "n": 3, "nested": {"list": [1, "a"]}})
    );
    assert_eq!(rec["env"], "full");
    assert_eq!(batches[0].position, json!({"state": {"run": 1}}));

    // The engine hands back the committed position.
    let (batches, err) = drain(&conn, Some(batches[0].position.clone())).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(records(&batches[0])[0].1["state"], json!({"run": 1}));
    assert_eq!(batches[0].position, json!({"state": {"run": 2}}));
    // A null position (nothing committed yet) is a fresh start.
    let (batches, _) = drain(&conn, Some(serde_json::Value::Null)).await;
    assert_eq!(records(&batches[0])[0].1["state"], json!(null));
}

#[tokio::test]
async fn a_crash_keeps_the_batches_up_to_the_last_state() {
    let dir = tempfile::tempdir().unwrap();
    script(
        dir.path(),
        "tap-crash",
        &format!(
            "cat <<'EOF'\n{SCHEMA}\n\
             {{\"type\":\"RECORD\",\"stream\":\"customers\",\"record\":{{\"id\":1}}}}\n\
             {{\"type\":\"STATE\",\"value\":\"s1\"}}\n\
             {{\"type\":\"RECORD\",\"stream\":\"customers\",\"record\":{{\"id\":2}}}}\n\
             {{\"type\":\"RECORD\",\"stream\":\"customers\",\"record\":{{\"id\":3}}}}\n\
             EOF\necho 'Traceback (most recent call last):' >&2\necho 'ValueError: boom' >&2\nexit 1\n"
        ),
    );
    let conn = connector(dir.path(), "command = ['./tap-crash']");
    let (batches, err) = drain(&conn, None).await;
    assert_eq!(batches.len(), 1);
    assert_eq!(records(&batches[0]).len(), 1);
    assert_eq!(batches[0].position, json!({"state": "s1"}));
    let Some(ConnectorError::Remote(msg)) = err else {
        panic!("{err:?}")
    };
    assert!(
        msg.contains("plugin `tap-crash` exited with code 1 after stdout line 5"),
        "{msg}"
    );
    assert!(
        msg.contains("Traceback (most recent call last):\n  ValueError: boom"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_hung_plugin_is_killed_with_its_children_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    script(
        dir.path(),
        "tap-hang",
        &format!(
            "cat <<'EOF'\n{SCHEMA}\n\
             {{\"type\":\"RECORD\",\"stream\":\"customers\",\"record\":{{\"id\":1}}}}\n\
             {{\"type\":\"STATE\",\"value\":1}}\n\
             {{\"type\":\"RECORD\",\"stream\":\"customers\",\"record\":{{\"id\":2}}}}\n\
             EOF\necho $$ > sh.pid\nsleep 30 &\necho $! > sleep.pid\necho 'waiting for the API' >&2\nwait\n"
        ),
    );
    let conn = connector(dir.path(), "command = ['./tap-hang']\ntimeout = '1s'");
    let started = Instant::now();
    let (batches, err) = drain(&conn, None).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].position, json!({"state": 1}));
    let Some(ConnectorError::Remote(msg)) = err else {
        panic!("{err:?}")
    };
    assert!(
        msg.contains(
            "plugin `tap-hang` hung: no line on stdout for 1s after stdout line 4; killed it"
        ),
        "{msg}"
    );
    assert!(msg.contains("waiting for the API"), "{msg}");
    for f in ["sh.pid", "sleep.pid"] {
        let pid = std::fs::read_to_string(dir.path().join(f)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !dead(&pid) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(dead(&pid), "{f} {pid} still running");
    }
}

/// A tap printing `lines` after a SCHEMA, a record and a STATE (stdout lines 1–3).
fn broken_tap(dir: &std::path::Path, name: &str, lines: &str) {
    script(
        dir,
        name,
        &format!(
            "cat <<'EOF'\n{SCHEMA}\n\
             {{\"type\":\"RECORD\",\"stream\":\"customers\",\"record\":{{\"id\":1}}}}\n\
             {{\"type\":\"STATE\",\"value\":\"s1\"}}\n\
             {{\"type\":\"RECORD\",\"stream\":\"customers\",\"record\":{{\"id\":2}}}}\n\
             {lines}\nEOF\n"
        ),
    );
}

async fn protocol_error(name: &str, lines: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    broken_tap(dir.path(), name, lines);
    let conn = connector(dir.path(), &format!("command = ['./{name}']"));
    let (batches, err) = drain(&conn, None).await;
    // The batch up to the STATE, nothing of the tail.
    assert_eq!(batches.len(), 1, "{batches:?}");
    assert_eq!(batches[0].position, json!({"state": "s1"}));
    match err {
        Some(ConnectorError::Remote(msg)) => msg,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_line_that_is_not_json_names_its_line_number() {
    let long = "x".repeat(300);
    let msg = protocol_error("tap-garbage", &format!("Starting sync {long}")).await;
    assert!(
        msg.starts_with("plugin `tap-garbage`: stdout line 5: not JSON"),
        "{msg}"
    );
    assert!(
        msg.ends_with(&format!("`Starting sync {}…`", "x".repeat(186))),
        "{msg}"
    );
    let msg = protocol_error("tap-notype", r#"{"stream":"customers"}"#).await;
    assert!(
        msg.contains("stdout line 5: no `type`: `{\"stream\":\"customers\"}`"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_record_violating_its_schema_fails_the_run() {
    let msg = protocol_error(
        "tap-invalid",
        r#"{"type":"RECORD","stream":"customers","record":{"id":"7","name":"x"}}"#,
    )
    .await;
    assert!(
        msg.contains("stdout line 5: record violates the schema of stream `customers` at /id:"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_record_before_its_schema_fails_the_run() {
    let msg = protocol_error(
        "tap-early",
        r#"{"type":"RECORD","stream":"orders","record":{"id":1}}"#,
    )
    .await;
    assert!(
        msg.contains("stdout line 5: RECORD of stream `orders` before its SCHEMA"),
        "{msg}"
    );
}

#[tokio::test]
async fn many_records_without_state_are_handed_over_with_the_last_state() {
    let dir = tempfile::tempdir().unwrap();
    let n = kontor_plugin::MAX_BUFFERED + 1;
    script(
        dir.path(),
        "tap-flood",
        &format!(
            "cat <<'EOF'\n{SCHEMA}\n{{\"type\":\"STATE\",\"value\":\"s0\"}}\nEOF\n\
             awk 'BEGIN {{ for (i = 1; i <= {n}; i++) printf \"{{\\\"type\\\":\\\"RECORD\\\",\\\"stream\\\":\\\"customers\\\",\\\"record\\\":{{\\\"id\\\":%d}}}}\\n\", i }}'\n"
        ),
    );
    let conn = connector(dir.path(), "command = ['./tap-flood']");
    let (batches, err) = drain(&conn, None).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[0].items.len(), kontor_plugin::MAX_BUFFERED);
    assert_eq!(batches[1].items.len(), 1);
    for b in &batches {
        assert_eq!(b.position, json!({"state": "s0"}));
    }
}

#[tokio::test]
async fn check_resolves_the_program_and_the_secrets() {
    let dir = tempfile::tempdir().unwrap();
    script(dir.path(), "tap-ok", "exit 0\n");
    let ok = connector(dir.path(), "command = ['./tap-ok']\nstreams = ['a']");
    assert_eq!(ok.check().await.unwrap(), Vec::<String>::new());
    let missing = connector(dir.path(), "command = ['tap-surely-not-installed']");
    let err = missing.check().await.unwrap_err().to_string();
    assert!(
        err.contains("program `tap-surely-not-installed`: not found on PATH"),
        "{err}"
    );
    std::fs::write(dir.path().join("not-exec"), "#!/bin/sh\n").unwrap();
    let err = connector(dir.path(), "command = ['./not-exec']")
        .check()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not executable"), "{err}");
    let err = connector(
        dir.path(),
        "command = ['./tap-ok']\nconfig = { key = { file = 'no/such/file' } }",
    )
    .check()
    .await
    .unwrap_err();
    assert!(err.to_string().contains("secret file"), "{err}");
    assert!(
        err.to_string().contains("no/such/file: entity not found"),
        "{err}"
    );
}
