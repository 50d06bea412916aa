//! `kontor serve` as ops run it: two nodes on one PostgreSQL share the schedule (every slot
//! once, never two runs of a connector at once), a killed node's slot is taken over, SIGTERM
//! during a large sync leaves a store the next run completes; `/metrics` and `/healthz`; a
//! source behind its schedule shows as stale.

use crate::common::nodes::poll;
use kontor::testing::TempPg;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn kontor(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kontor"));
    c.args(args)
        .current_dir(dir)
        .env("KONTOR_LOG", "warn,kontor=info")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// A workspace with one CSV connector of `rows` generated invoices.
fn workspace(store_url: &str, rows: u64, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("inbox")).unwrap();
    std::fs::create_dir_all(dir.path().join("mappings")).unwrap();
    std::fs::write(
        dir.path().join("mappings/rechnungen.toml"),
        kontor::bench::INVOICE_MAPPING,
    )
    .unwrap();
    kontor::bench::write_invoice_export(&dir.path().join("inbox/rechnungen.csv"), rows, None)
        .unwrap();
    std::fs::write(
        dir.path().join("kontor.toml"),
        format!(
            "[store]\nurl = \"{store_url}\"\n[sync]\njitter = \"300ms\"\n\n[[connector]]\nname = \"rechnungen\"\nkind = \"csv\"\n\
             path = \"inbox\"\nmapping = \"mappings/rechnungen.toml\"\nmin_age_seconds = 0\nbatch_size = 2000\n{extra}"
        ),
    )
    .unwrap();
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Node(Child);

impl Node {
    fn start(dir: &Path) -> Node {
        let port = free_port().to_string();
        Node(
            kontor(dir, &["serve", "--listen", &format!("127.0.0.1:{port}")])
                .spawn()
                .unwrap(),
        )
    }
    fn signal(&self, sig: i32) {
        // SAFETY: a child process of this test.
        unsafe { libc::kill(self.0.id() as i32, sig) };
    }
    fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if let Ok(Some(s)) = self.0.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_run_every_scheduled_slot_exactly_once() {
    let pg = TempPg::create().await.unwrap();
    let dir = workspace(&pg.url, 2_000, "schedule = \"*/2 * * * * *\"\n");
    let store = kontor::store::open(&pg.url).await.unwrap();
    let (mut a, mut b) = (Node::start(dir.path()), Node::start(dir.path()));
    tokio::time::sleep(Duration::from_secs(14)).await;
    a.signal(libc::SIGTERM);
    b.signal(libc::SIGTERM);
    assert!(a.wait(Duration::from_secs(30)).is_some_and(|s| s.success()));
    assert!(b.wait(Duration::from_secs(30)).is_some_and(|s| s.success()));

    let slots = store.slots(Some("rechnungen"), 0).await.unwrap();
    assert!(slots.len() >= 4, "{slots:?}");
    let runs = store.runs(Some("rechnungen"), 1000).await.unwrap();
    // Every slot ran once: one run each, and every run belongs to one slot.
    let mut slot_runs: Vec<i64> = slots.iter().filter_map(|s| s.run_id).collect();
    for s in &slots {
        assert!(["done", "skipped"].contains(&s.status.as_str()), "{s:?}");
        if s.status == "done" {
            assert!(s.run_id.is_some(), "{s:?}");
        }
    }
    slot_runs.sort();
    let before = slot_runs.len();
    slot_runs.dedup();
    assert_eq!(before, slot_runs.len(), "a run counted for two slots");
    let mut run_ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
    run_ids.sort();
    assert_eq!(
        run_ids, slot_runs,
        "runs without a slot, or slots without a run"
    );
    // Never two runs at once.
    let mut spans: Vec<_> = runs
        .iter()
        .map(|r| (r.started_at, r.finished_at.unwrap()))
        .collect();
    spans.sort();
    for w in spans.windows(2) {
        assert!(w[0].1 <= w[1].0, "overlapping runs: {w:?}");
    }
    // The first run loaded the file, the others found it unchanged.
    assert_eq!(
        store.count_records(Some("rechnungen")).await.unwrap(),
        2_000
    );
    let nodes: std::collections::BTreeSet<&str> = slots.iter().map(|s| s.node.as_str()).collect();
    eprintln!("{} slots on {} node(s)", slots.len(), nodes.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_run_is_taken_over_by_the_other() {
    let pg = TempPg::create().await.unwrap();
    let rows = 300_000;
    let dir = workspace(&pg.url, rows, "");
    // One slot a few seconds from now (then not again for a minute).
    let at = (chrono::Utc::now() + chrono::Duration::seconds(5)).timestamp() % 60;
    let config = dir.path().join("kontor.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}schedule = \"{at} * * * * *\"\n")).unwrap();
    let store = kontor::store::open(&pg.url).await.unwrap();
    let mut a = Node::start(dir.path());
    let running = poll(Duration::from_secs(30), async || {
        let s = store.slots(Some("rechnungen"), 1).await.ok()?.pop()?;
        let cp = store.checkpoints("rechnungen").await.ok()?;
        let staging = cp
            .iter()
            .any(|c| c.status == kontor::store::UnitStatus::Staging && c.read > 4_000);
        (s.status == "running" && staging).then_some(s)
    })
    .await
    .expect("node A did not start the slot");
    a.signal(libc::SIGKILL);
    a.wait(Duration::from_secs(10));
    let b = Node::start(dir.path());
    let done = poll(Duration::from_secs(90), async || {
        let s = store.slots(Some("rechnungen"), 1).await.ok()?.pop()?;
        (s.status == "done").then_some(s)
    })
    .await
    .expect("node B did not finish the slot");
    drop(b);
    assert_eq!(done.slot_at, running.slot_at);
    assert_ne!(done.node, running.node, "{done:?}");
    assert!(
        done.note.as_deref().unwrap_or("").contains("taken over"),
        "{done:?}"
    );
    // Consistent: every invoice once, the killed run marked aborted.
    let total = store.count_records(Some("rechnungen")).await.unwrap();
    assert_eq!(total, rows, "records after the takeover");
    let runs = store.runs(Some("rechnungen"), 10).await.unwrap();
    let statuses: Vec<&str> = runs.iter().map(|r| r.status.as_str()).collect();
    assert!(
        statuses.contains(&"aborted") && statuses.contains(&"ok"),
        "{statuses:?}"
    );
    // The death was told once (an alert in the outbox, for the webhook).
    let died: Vec<_> = store
        .alert_outbox(0)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.condition == "node_died" && e.status == "firing")
        .collect();
    assert_eq!(died.len(), 1, "{died:?}");
    assert!(
        died[0].payload.contains(&format!(
            "ended with its node (killed or crashed) during the run; run {} on",
            done.run_id.unwrap()
        )),
        "{died:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_large_sync_commits_the_batch_and_the_next_run_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("k.db").display());
    let rows = 300_000;
    let dir = workspace(&url, rows, "");
    let store = kontor::store::open(&url).await.unwrap();
    let mut child = kontor(dir.path(), &["sync", "rechnungen"]).spawn().unwrap();
    poll(Duration::from_secs(60), async || {
        let cp = store.checkpoints("rechnungen").await.ok()?;
        cp.iter()
            .any(|c| c.status == kontor::store::UnitStatus::Staging && c.read > 6_000)
            .then_some(())
    })
    .await
    .expect("the sync did not get going");
    // SAFETY: our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert_eq!(status.code(), Some(1));
    let run = store.runs(Some("rechnungen"), 1).await.unwrap().remove(0);
    assert_eq!(run.status, kontor::store::RunStatus::Aborted, "{run:?}");
    assert!(
        run.error.as_deref().unwrap_or("").contains("shutdown"),
        "{run:?}"
    );
    let cp = store.checkpoints("rechnungen").await.unwrap();
    assert!(
        cp.iter()
            .any(|c| c.status == kontor::store::UnitStatus::Staging && c.read > 0),
        "{cp:?}"
    );
    let again = kontor(dir.path(), &["sync", "rechnungen"])
        .status()
        .unwrap();
    assert_eq!(again.code(), Some(0));
    assert_eq!(store.count_records(Some("rechnungen")).await.unwrap(), rows);
    let last = store.runs(Some("rechnungen"), 1).await.unwrap().remove(0);
    assert_eq!(
        (last.status, last.counts.inserted),
        (kontor::store::RunStatus::Ok, rows),
        "{last:?}"
    );
}

/// A source whose schedule had two slots since its last successful run is stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_behind_its_schedule_is_stale() {
    use sqlx::Connection;
    let w = crate::common::world("sqlite", "").await;
    let id = w.id_of("00042").await;
    let url = w._guard.url().to_owned();
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let old = chrono::Utc::now() - chrono::Duration::hours(5);
    sqlx::query("UPDATE sync_runs SET finished_at = $1 WHERE connector = 'wawi-kunden'")
        .bind(old)
        .execute(&mut conn)
        .await
        .unwrap();
    let mut ctx = kontor::view::ViewContext::default();
    ctx.schedules.insert(
        "wawi-kunden".into(),
        kontor::schedule::parse("0 * * * *").unwrap(),
    );
    ctx.schedules.insert(
        "erpnext".into(),
        kontor::schedule::parse("0 * * * *").unwrap(),
    );
    let today = chrono::Local::now().date_naive();
    let v = kontor::view::customer_view(&w.store, &ctx, id, today)
        .await
        .unwrap()
        .unwrap();
    let stale: std::collections::BTreeMap<&str, bool> = v
        .sources
        .iter()
        .map(|s| (s.connector.as_str(), s.stale))
        .collect();
    assert!(stale["wawi-kunden"], "{stale:?}");
    assert!(!stale["erpnext"], "{stale:?}");
    assert!(!stale["einvoices"], "no schedule: {stale:?}");
}
