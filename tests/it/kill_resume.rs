//! Crash safety: `kontor sync` of a large generated file is killed with SIGKILL at random
//! moments, then finishes. The store must equal a clean single sync (no lost, no duplicated
//! records or quarantine entries), and after every kill the checkpoint must match the staged
//! data exactly (never ahead of it). On SQLite and on PostgreSQL.

use kontor::testing::TempPg;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROWS: u64 = 200_000;
const BROKEN_EVERY: u64 = 7_919;
const KILLS: usize = 10;

fn workspace(store_url: &str, data: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("inbox")).unwrap();
    std::fs::create_dir_all(dir.path().join("mappings")).unwrap();
    std::fs::write(
        dir.path().join("mappings/rechnungen.toml"),
        kontor::bench::INVOICE_MAPPING,
    )
    .unwrap();
    std::fs::copy(data, dir.path().join("inbox/rechnungen.csv")).unwrap();
    std::fs::write(
        dir.path().join("kontor.toml"),
        format!(
            "[store]\nurl = \"{store_url}\"\n\n[[connector]]\nname = \"rechnungen\"\nkind = \"csv\"\npath = \"inbox\"\n\
             mapping = \"mappings/rechnungen.toml\"\nmin_age_seconds = 0\nbatch_size = 2000\n"
        ),
    )
    .unwrap();
    dir
}

fn sync(dir: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_kontor"))
        .args(["sync", "rechnungen"])
        .current_dir(dir)
        .env("KONTOR_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Everything a sync leaves behind, in a comparable form.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    records: Vec<(String, String, String, Option<String>)>,
    quarantine: Vec<(String, Option<i64>, String)>,
}

async fn snapshot(url: &str) -> Snapshot {
    let store = kontor::store::open(url).await.unwrap();
    let mut records: Vec<_> = store
        .records(None, None, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.entity, r.external_id, r.hash, r.position))
        .collect();
    records.sort();
    let mut quarantine: Vec<_> = store
        .quarantine(&kontor::store::QuarantineFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|q| (q.position, q.line, q.reason))
        .collect();
    quarantine.sort();
    Snapshot {
        records,
        quarantine,
    }
}

/// After a kill: a staging checkpoint says how many source records were consumed; exactly
/// that many are staged or quarantined (every generated row is one record or one reject).
async fn check_checkpoint(url: &str) -> Option<u64> {
    let store = kontor::store::open(url).await.unwrap();
    let cps = store.checkpoints("rechnungen").await.unwrap();
    let cp = cps.first()?;
    let consumed = cp
        .position
        .as_ref()
        .and_then(|p| p["records"].as_u64())
        .unwrap_or(0);
    if cp.status == kontor::store::UnitStatus::Staging {
        assert!(store.staging_intact("rechnungen", cp).await.unwrap());
        let rejects = store.quarantine(&Default::default()).await.unwrap().len() as u64;
        assert_eq!(
            cp.rejected, rejects,
            "quarantine rows and checkpoint disagree"
        );
        assert_eq!(
            cp.read, consumed,
            "checkpoint read count and position disagree"
        );
        let staged = staged_rows(url).await;
        assert_eq!(
            staged + rejects,
            consumed,
            "checkpoint ahead of or behind the staged data"
        );
    }
    Some(consumed)
}

/// Rows in all per-unit staging tables (SQLite: the `<store>-staging` file; PostgreSQL:
/// the `staging_u_*` tables).
async fn staged_rows(url: &str) -> u64 {
    use sqlx::Connection;
    let mut total = 0i64;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let staging = format!("sqlite://{path}-staging");
        let mut c = sqlx::SqliteConnection::connect(&staging).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'u\\_%' ESCAPE '\\'",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        for t in tables {
            let n: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM \"{t}\"")))
                    .fetch_one(&mut c)
                    .await
                    .unwrap();
            total += n;
        }
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'staging\\_u\\_%'",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        for t in tables {
            let n: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {t}")))
                    .fetch_one(&mut c)
                    .await
                    .unwrap();
            total += n;
        }
    }
    total as u64
}

fn next_random(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

async fn kill_and_resume(store_urls: (&str, &str)) {
    let data_dir = tempfile::tempdir().unwrap();
    let data = data_dir.path().join("rechnungen.csv");
    kontor::bench::write_invoice_export(&data, ROWS, Some(BROKEN_EVERY)).unwrap();

    // The reference: one clean run.
    let clean = workspace(store_urls.0, &data);
    let started = Instant::now();
    let status = sync(clean.path()).wait().unwrap();
    assert_eq!(
        status.code(),
        Some(3),
        "clean run: quarantined rows expected"
    );
    let clean_secs = started.elapsed().as_secs_f64();
    let want = snapshot(store_urls.0).await;
    assert_eq!(want.records.len() as u64, ROWS - ROWS / BROKEN_EVERY);
    assert_eq!(want.quarantine.len() as u64, ROWS / BROKEN_EVERY);

    let ws = workspace(store_urls.1, &data);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill test seed {seed}, clean run {clean_secs:.1}s");
    let mut progress = Vec::new();
    for _ in 0..KILLS {
        let mut child = sync(ws.path());
        let wait_ms = 150 + next_random(&mut seed) % (clean_secs * 1000.0 / 3.0).max(300.0) as u64;
        std::thread::sleep(Duration::from_millis(wait_ms));
        child.kill().unwrap();
        let _ = child.wait();
        progress.push((wait_ms, check_checkpoint(store_urls.1).await));
    }
    eprintln!("kills (ms after start, records consumed): {progress:?}");
    let status = sync(ws.path()).wait().unwrap();
    assert!(
        matches!(status.code(), Some(0 | 3)),
        "final run: {status:?}"
    );
    let got = snapshot(store_urls.1).await;
    assert_eq!(
        got.records.len(),
        want.records.len(),
        "lost or duplicated records"
    );
    assert_eq!(
        got.quarantine.len(),
        want.quarantine.len(),
        "lost or duplicated quarantine entries"
    );
    assert!(got == want, "the store differs from a clean single sync");
    assert_eq!(staged_rows(store_urls.1).await, 0);
    // And a further run is a no-op.
    let status = sync(ws.path()).wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(snapshot(store_urls.1).await == want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_then_finish_sqlite() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let ua = format!("sqlite://{}", a.path().join("clean.db").display());
    let ub = format!("sqlite://{}", b.path().join("killed.db").display());
    kill_and_resume((&ua, &ub)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_then_finish_postgres() {
    let a = TempPg::create().await.unwrap();
    let b = TempPg::create().await.unwrap();
    kill_and_resume((&a.url, &b.url)).await;
}
