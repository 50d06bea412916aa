//! Crash safety of the SQL path: `kontor sync` pages through a shop's customers table (real
//! MariaDB / PostgreSQL) and is killed with SIGKILL between (and during) pages several times,
//! then finishes. The store must then hold exactly the shop's rows — none lost, none twice —
//! and the same records as one clean run. The database URL's password never shows in the
//! output, the logs or `kontor runs`.

use super::sql_e2e::support::{Server, TempDb};
use kontor::testing::TempPg;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CUSTOMERS: usize = 12000;
const KILLS: usize = 8;
const PASSWORD: &str = "Kennwort-91c2e";

fn workspace(store_url: &str, db_url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("connectors/sql/mappings/shop.toml"),
        dir.path().join("shop.toml"),
    )
    .unwrap();
    std::fs::write(dir.path().join("shop-db.url"), db_url).unwrap();
    std::fs::write(
        dir.path().join("kontor.toml"),
        format!(
            "[store]\nurl = \"{store_url}\"\n\n[[connector]]\nname = \"shop\"\nkind = \"sql\"\n\
             url_file = \"shop-db.url\"\nmapping = \"shop.toml\"\nstreams = [\"customers\"]\n\
             page_size = 20\n"
        ),
    )
    .unwrap();
    dir
}

fn kontor(dir: &Path, args: &[&str], log: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kontor"));
    c.args(args).current_dir(dir).env("KONTOR_LOG", log);
    c
}

fn sync(dir: &Path) -> Child {
    kontor(dir, &["sync", "shop"], "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn snapshot(url: &str) -> (Vec<(String, String)>, u64) {
    let store = kontor::store::open(url).await.unwrap();
    let recs = store.records(Some("shop"), None, i64::MAX).await.unwrap();
    let n = store.count_records(Some("shop")).await.unwrap();
    (
        recs.into_iter().map(|r| (r.external_id, r.hash)).collect(),
        n,
    )
}

async fn customers(db: &TempDb) {
    db.exec(&format!(
        "CREATE TABLE customers (id INT PRIMARY KEY, customer_no VARCHAR(20) NOT NULL, \
         company VARCHAR(200) NOT NULL, email VARCHAR(200), phone VARCHAR(40), street VARCHAR(200), \
         postcode VARCHAR(10), city VARCHAR(100), country CHAR(2), vat_id VARCHAR(20), \
         payment_days INT, updated_at {} NOT NULL)",
        db.ts()
    ))
    .await;
    let rows: Vec<String> = (1..=CUSTOMERS)
        .map(|c| {
            format!(
                "({c}, 'K-{c:05}', 'Kunde {c} GmbH', 'k{c}@example.de', NULL, 'Weg {c}', '10115', \
                 'Berlin', 'DE', NULL, 30, {})",
                // Several customers per second, as in a busy shop.
                db.at(c as i64 / 3)
            )
        })
        .collect();
    for chunk in rows.chunks(500) {
        db.exec(&format!("INSERT INTO customers VALUES {}", chunk.join(",")))
            .await;
    }
}

async fn kill_and_resume(backend: &str, server: Server) {
    let db = TempDb::create(server).await;
    customers(&db).await;
    // PostgreSQL here trusts local connections, so a password in its URL is carried but not
    // needed; for MariaDB a user with that password reads the shop.
    let db_url = match server {
        Server::Pg => db.url_as("postgres", PASSWORD),
        Server::Maria => {
            let user = format!("kontor{}", super::sql_e2e::support::random() % 1_000_000);
            db.exec(&format!(
                "CREATE USER '{user}'@'%' IDENTIFIED BY '{PASSWORD}';\
                 GRANT SELECT ON {}.* TO '{user}'@'%'",
                db.name
            ))
            .await;
            db.url_as(&user, PASSWORD)
        }
    };
    let tmp = tempfile::tempdir().unwrap();
    let (_pg, url) = match backend {
        "sqlite" => (
            None,
            format!("sqlite://{}", tmp.path().join("k.db").display()),
        ),
        _ => {
            let pg = TempPg::create().await.unwrap();
            let url = pg.url.clone();
            (Some(pg), url)
        }
    };
    let ws = workspace(&url, &db_url);
    let mut seed = super::sql_e2e::support::random() | 1;
    let mut killed = 0;
    for _ in 0..KILLS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut child = sync(ws.path());
        tokio::time::sleep(Duration::from_millis(100 + seed % 400)).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
    }
    assert!(
        killed >= KILLS / 2,
        "only {killed} runs were killed mid-way"
    );
    // The last run with debug logs: the password appears nowhere.
    let out = kontor(ws.path(), &["sync", "shop"], "debug")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs = kontor(ws.path(), &["runs"], "error").output().unwrap();
    let status = kontor(ws.path(), &["check"], "error").output().unwrap();
    for o in [&out, &runs, &status] {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!text.contains(PASSWORD), "the password leaked: {text}");
    }
    assert!(String::from_utf8_lossy(&runs.stdout).contains("shop"));

    let (records, rows) = snapshot(&url).await;
    assert_eq!(rows as usize, CUSTOMERS, "no record lost or stored twice");
    let ids: Vec<String> = records.iter().map(|(id, _)| id.clone()).collect();
    let want: Vec<String> = (1..=CUSTOMERS).map(|i| format!("K-{i:05}")).collect();
    assert_eq!(ids, want);
    let store = kontor::store::open(&url).await.unwrap();
    for cp in store.checkpoints("shop").await.unwrap() {
        let p = cp.position.unwrap();
        assert!(!p.to_string().contains(PASSWORD));
        assert!(
            !cp.label.contains(PASSWORD) && !cp.label.contains('@'),
            "{}",
            cp.label
        );
    }

    // A clean single run into a fresh store gives the same records.
    let clean_tmp = tempfile::tempdir().unwrap();
    let clean_url = format!("sqlite://{}", clean_tmp.path().join("c.db").display());
    let clean = workspace(&clean_url, &db_url);
    assert_eq!(sync(clean.path()).wait().unwrap().code(), Some(0));
    let (clean_records, _) = snapshot(&clean_url).await;
    assert_eq!(records, clean_records);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sql_sync_from_mariadb_survives_kills_between_pages() {
    kill_and_resume("sqlite", Server::Maria).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sql_sync_from_postgres_survives_kills_between_pages() {
    kill_and_resume("postgres", Server::Pg).await;
}
