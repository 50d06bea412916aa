//! A real Singer tap from PyPI through the plugin connector: `tap-csv-folder` (built with the
//! Meltano Singer SDK) reads a generated export of 20 000 customers, a mapping turns its
//! records into customers. A re-sync writes nothing; a `kontor sync` killed with SIGKILL in the
//! middle of the stream (its tap dies with it) and run again leaves the store exactly as a
//! clean run: nothing lost, nothing twice.
//!
//! The tap is installed once into a virtualenv under the target's tmp folder (reruns reuse
//! it). Without `python3` (with its `venv` module) the tests are skipped with a message.

use kontor::config::Config;
use kontor::sync::{self, SyncOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const CUSTOMERS: usize = 20_000;
const TAP: &str = "tap-csv-folder==0.0.1a1";
const CONNECTOR: &str = "singer-kunden";

/// The tap's executable, installed on first use; `None` (skip) without Python.
fn tap_program() -> Option<PathBuf> {
    static TAP_PATH: OnceLock<Option<PathBuf>> = OnceLock::new();
    TAP_PATH.get_or_init(install_tap).clone()
}

fn install_tap() -> Option<PathBuf> {
    let python = "python3";
    let has_venv = Command::new(python)
        .args(["-c", "import venv, ensurepip"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_venv {
        eprintln!(
            "SKIPPED: `{python}` with the venv module is not available; the Singer tap test needs it"
        );
        return None;
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("singer-venv");
    let tap = venv.join("bin/tap-csv-folder");
    let marker = venv.join("kontor-installed.txt");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == TAP) && tap.exists() {
        return Some(tap);
    }
    let started = Instant::now();
    let _ = std::fs::remove_dir_all(&venv);
    let ok = |what: &str, cmd: &mut Command| {
        let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            out.status.success(),
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(
        "python3 -m venv",
        Command::new(python).args(["-m", "venv"]).arg(&venv),
    );
    ok(
        "pip install (PyPI must be reachable)",
        Command::new(venv.join("bin/pip")).args([
            "install",
            "--disable-pip-version-check",
            "--quiet",
            TAP,
        ]),
    );
    std::fs::write(&marker, TAP).unwrap();
    eprintln!(
        "installed {TAP} into {} in {:.1}s",
        venv.display(),
        started.elapsed().as_secs_f64()
    );
    Some(tap)
}

/// A config folder: the export in `inbox/`, the mapping, `kontor.toml` for `store_url`.
fn workspace(tap: &Path, store_url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let mut csv = String::from("customer_no,name,email,postcode,city\n");
    for i in 0..CUSTOMERS {
        csv.push_str(&format!(
            "K{i:06},\"Kunde {i} Müller & Söhne, GmbH\",einkauf{i}@example.de,{:05},Köln\n",
            10000 + i % 89999
        ));
    }
    std::fs::write(inbox.join("kunden.csv"), csv).unwrap();
    std::fs::create_dir_all(dir.path().join("mappings")).unwrap();
    std::fs::write(
        dir.path().join("mappings/kunden.toml"),
        "[[target]]\nstream = \"customers\"\nentity = \"customer\"\n[target.fields]\n\
         customer_no = { path = \"customer_no\", required = true }\n\
         name = { path = \"name\", required = true }\nemail = \"email\"\n\
         \"address.postcode\" = \"postcode\"\n\"address.city\" = \"city\"\n",
    )
    .unwrap();
    // A value from a file, the way secrets are given.
    std::fs::write(dir.path().join("stream-name.txt"), "customers\n").unwrap();
    std::fs::write(
        dir.path().join("kontor.toml"),
        format!(
            "[store]\nurl = \"{store_url}\"\n\n[[connector]]\nname = \"{CONNECTOR}\"\nkind = \"plugin\"\n\
             mapping = \"mappings/kunden.toml\"\ncommand = [\"{}\"]\n\
             config = {{ path = \"inbox\", read_mode = \"merge\", stream_name = {{ file = \"stream-name.txt\" }} }}\n\
             streams = [\"customers\"]\ntimeout = \"120s\"\n",
            tap.display()
        ),
    )
    .unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pypi_tap_syncs_customers_and_a_resync_writes_nothing() {
    let Some(tap) = tap_program() else { return };
    let (store, _guard) = kontor::testing::temp_store("sqlite").await.unwrap();
    let ws = workspace(&tap, "sqlite::memory:");
    let text = std::fs::read_to_string(ws.path().join("kontor.toml")).unwrap();
    let cfg = Config::parse("kontor.toml", &text, ws.path().to_path_buf(), Vec::new())
        .unwrap_or_else(|d| panic!("{d:?}"));
    let prepared =
        sync::prepare(&cfg, cfg.connector(CONNECTOR).unwrap()).unwrap_or_else(|d| panic!("{d:?}"));
    assert!(prepared.connector.check().await.is_ok());
    let opts = SyncOptions {
        node: "test".into(),
        ..SyncOptions::default()
    };

    let started = Instant::now();
    let first = sync::run(&store, &prepared, &opts).await.unwrap();
    let first_secs = started.elapsed().as_secs_f64();
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    let n = CUSTOMERS as u64;
    assert_eq!(
        (first.counts.read, first.counts.inserted),
        (n, n),
        "{first:?}"
    );
    assert_eq!(first.counts.quarantined, 0, "{first:?}");
    let rec = store
        .record(CONNECTOR, "customer", "K000042")
        .await
        .unwrap()
        .expect("customer K000042");
    assert_eq!(rec.data["name"], "Kunde 42 Müller & Söhne, GmbH");
    assert_eq!(rec.data["email"], "einkauf42@example.de");
    assert_eq!(rec.data["address"]["city"], "Köln");
    assert!(
        rec.position
            .as_deref()
            .unwrap()
            .starts_with("tap-csv-folder:"),
        "{:?}",
        rec.position
    );
    // The tap's final STATE is the committed position.
    let cps = store.checkpoints(CONNECTOR).await.unwrap();
    let state = cps[0].position.clone().unwrap_or_default();
    assert!(
        state["state"]["bookmarks"]["customers"].is_object(),
        "{state}"
    );

    let started = Instant::now();
    let second = sync::run(&store, &prepared, &opts).await.unwrap();
    let second_secs = started.elapsed().as_secs_f64();
    assert!(second.errors.is_empty(), "{:?}", second.errors);
    assert_eq!(
        (second.counts.inserted, second.counts.updated),
        (0, 0),
        "{second:?}"
    );
    assert_eq!(store.count_records(Some(CONNECTOR)).await.unwrap(), n);
    eprintln!(
        "tap-csv-folder, {CUSTOMERS} customers: first sync {first_secs:.1}s ({}), re-sync {second_secs:.1}s ({})",
        first.summary_line(),
        second.summary_line()
    );
}

fn kontor_sync(dir: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_kontor"))
        .args(["sync", CONNECTOR])
        .current_dir(dir)
        .env("KONTOR_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn finish(child: std::process::Child) -> (Option<i32>, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// (entity, external id, hash, data) of every record, and the number of rows.
async fn snapshot(url: &str) -> (Vec<(String, String, String, String)>, u64) {
    let store = kontor::store::open(url).await.unwrap();
    let mut recs: Vec<_> = store
        .records(Some(CONNECTOR), None, i64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.entity, r.external_id, r.hash, r.data.to_string()))
        .collect();
    recs.sort();
    (recs, store.count_records(Some(CONNECTOR)).await.unwrap())
}

/// Pids of the processes whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

async fn count(conn: &mut sqlx::SqliteConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(conn)
        .await
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_then_resume_equals_a_clean_run() {
    use sqlx::Connection;
    let Some(tap) = tap_program() else { return };
    let n = CUSTOMERS as u64;

    // The reference: one clean run.
    let clean_db = tempfile::tempdir().unwrap();
    let clean_url = format!("sqlite://{}", clean_db.path().join("clean.db").display());
    let clean = workspace(&tap, &clean_url);
    let started = Instant::now();
    let (code, out) = finish(kontor_sync(clean.path()));
    let clean_secs = started.elapsed().as_secs_f64();
    assert_eq!(code, Some(0), "{out}");
    let want = snapshot(&clean_url).await;
    assert_eq!(want.1, n);

    // Killed as soon as the first batch (the tap's STATE after 10 000 records) is committed.
    let killed_db = tempfile::tempdir().unwrap();
    let db = killed_db.path().join("killed.db");
    let url = format!("sqlite://{}", db.display());
    let ws = workspace(&tap, &url);
    let started = Instant::now();
    let mut child = kontor_sync(ws.path());
    let mut conn = loop {
        if let Ok(c) = sqlx::SqliteConnection::connect(&format!("{url}?mode=ro")).await {
            break c;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "kontor ended before it opened the store"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let mut taps = Vec::new();
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before the kill"
        );
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no batch committed"
        );
        taps = children(child.id()).into_iter().chain(taps).collect();
        let cps = count(
            &mut conn,
            &format!("SELECT count(*) FROM checkpoints WHERE connector = '{CONNECTOR}'"),
        )
        .await;
        if cps > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    let kill_ms = started.elapsed().as_millis();
    let committed = count(
        &mut conn,
        &format!("SELECT count(*) FROM records WHERE connector = '{CONNECTOR}'"),
    )
    .await;
    drop(conn);
    assert!(
        committed > 0 && (committed as u64) < n,
        "killed mid-stream: {committed} records committed"
    );
    // The tap died with kontor (PR_SET_PDEATHSIG).
    taps.sort();
    taps.dedup();
    assert!(!taps.is_empty(), "the tap process was not seen");
    let deadline = Instant::now() + Duration::from_secs(5);
    while taps.iter().any(|p| alive(*p)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !taps.iter().any(|p| alive(*p)),
        "tap processes {taps:?} outlived kontor"
    );

    // Run again: the tap resumes from the committed STATE; the store equals the clean run.
    let started = Instant::now();
    let (code, out) = finish(kontor_sync(ws.path()));
    let resume_secs = started.elapsed().as_secs_f64();
    assert_eq!(code, Some(0), "{out}");
    let got = snapshot(&url).await;
    assert_eq!(got.1, n, "lost or duplicated records");
    assert!(got == want, "the store differs from a clean run");
    // And once more: nothing to write.
    let (code, out) = finish(kontor_sync(ws.path()));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(" inserted=0 updated=0 "), "{out}");
    eprintln!(
        "clean run {clean_secs:.1}s; killed after {kill_ms} ms with {committed} records committed; resumed run {resume_secs:.1}s"
    );
}
