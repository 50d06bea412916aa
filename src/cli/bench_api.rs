//! `kontor bench api`: generated customers and documents synced into each backend, then
//! `kontor serve` in a child process under load from `wrk` (a second process) on loopback:
//! merged view, caller-ID lookup, search, and as the baseline a plain one-query axum handler
//! over the same database (`kontor bench baseline-server`, also a child process).

use super::Cli;
use super::args::BackendKind;
use super::wrk::{self, Load, Target};
use kontor::api::auth::{Role, hash_token, new_token};
use kontor::bench::customers;
use kontor::bench::pg::TempPg;
use kontor::config::Config;
use kontor::store::DynStore;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `kontor bench api`.
#[derive(clap::Args, Debug)]
pub struct ApiBenchArgs {
    #[arg(long, default_value_t = 100_000)]
    pub customers: u64,
    #[arg(long, default_value_t = 5_000_000)]
    pub documents: u64,
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sqlite,postgres"
    )]
    pub backends: Vec<BackendKind>,
    /// Seconds per measured phase.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Concurrent connections of the load generator; each phase runs at each.
    #[arg(long, value_delimiter = ',', default_value = "4,8,32")]
    pub connections: Vec<u32>,
    /// Requests per second of the paced merged-view run (latency at a set load, not at
    /// saturation; at the highest concurrency). Default: 5× the cold phase's rate.
    #[arg(long)]
    pub rate_views: Option<f64>,
    /// Requests per second of the paced caller-ID run (issue 17: p99 < 2 ms at 20 000).
    #[arg(long, default_value_t = 20_000.0)]
    pub rate_lookups: f64,
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

const MAPPING_KUNDEN: &str = include_str!("../../mappings/wawi-kunden.toml");

fn workspace(ws: &Path, url: &str, data: &Path) -> anyhow::Result<Config> {
    std::fs::create_dir_all(ws.join("mappings"))?;
    std::fs::write(ws.join("mappings/kunden.toml"), MAPPING_KUNDEN)?;
    std::fs::write(
        ws.join("mappings/rechnungen.toml"),
        kontor::bench::INVOICE_MAPPING,
    )?;
    let d = data.display();
    let text = format!(
        "[store]\nurl = \"{url}\"\n[server]\nrate_limit = \"1000000/s\"\n[sync]\nallowed_roots = [\"{d}\"]\n\n\
         [[connector]]\nname = \"wawi-kunden\"\nkind = \"csv\"\nsystem = \"wawi\"\npath = \"{d}/kunden.csv\"\nmapping = \"mappings/kunden.toml\"\nmin_age_seconds = 0\n\n\
         [[connector]]\nname = \"crm-kunden\"\nkind = \"csv\"\nsystem = \"crm\"\npath = \"{d}/crm.csv\"\nmapping = \"mappings/kunden.toml\"\nmin_age_seconds = 0\n\n\
         [[connector]]\nname = \"wawi-rechnungen\"\nkind = \"csv\"\nsystem = \"wawi\"\npath = \"{d}/rechnungen.csv\"\nmapping = \"mappings/rechnungen.toml\"\nmin_age_seconds = 0\nmode = \"incremental\"\n"
    );
    std::fs::write(ws.join("kontor.toml"), &text)?;
    Config::parse("kontor.toml", &text, ws.to_path_buf(), Vec::new())
        .map_err(|d| anyhow::anyhow!(super::diags_text(&d)))
}

pub(super) fn kontor_cmd() -> Command {
    Command::new(std::env::current_exe().unwrap_or_else(|_| PathBuf::from("kontor")))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    /// Peak resident memory of the child so far.
    fn peak_rss_mib(&self) -> f64 {
        self.status_mib("VmHWM:")
    }

    /// Resident memory of the child now.
    fn rss_mib(&self) -> f64 {
        self.status_mib("VmRSS:")
    }

    fn status_mib(&self, field: &str) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.0.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            })
            .map_or(0.0, |kib| kib / 1024.0)
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Waits until `GET /healthz` on `addr` answers 200 (the server loads its directory first).
async fn wait_ready(addr: &str) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for _ in 0..1200 {
        if let Ok(mut s) = tokio::net::TcpStream::connect(addr).await {
            // With a Host header: the server answers only to its own names (421 otherwise).
            let req = format!("GET /healthz HTTP/1.0\r\nHost: {addr}\r\n\r\n");
            let _ = s.write_all(req.as_bytes()).await;
            let mut buf = [0u8; 12];
            if s.read_exact(&mut buf).await.is_ok() && buf.ends_with(b"200") {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{addr} did not answer within 120 s")
}

pub async fn bench_api(_cli: &Cli, a: &ApiBenchArgs) -> anyhow::Result<i32> {
    if Command::new("wrk").arg("--version").output().is_err() {
        anyhow::bail!(
            "the load comes from `wrk` in a second process: install it (apt-get install wrk)"
        );
    }
    let tmp = tempfile::tempdir()?;
    let root = a.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let data = root.join("data");
    std::fs::create_dir_all(&data)?;
    let t = Instant::now();
    customers::write_customer_master(&data.join("kunden.csv"), a.customers)?;
    customers::write_second_master(&data.join("crm.csv"), a.customers)?;
    kontor::bench::write_invoice_export_for(
        &data.join("rechnungen.csv"),
        a.documents,
        a.customers,
        None,
    )?;
    eprintln!(
        "generated {} customers (+{} in a second system) and {} documents in {:.0}s",
        a.customers,
        a.customers.div_ceil(3),
        a.documents,
        t.elapsed().as_secs_f64()
    );
    println!(
        "| backend | phase | connections | p50 ms | p90 ms | p99 ms | req/s | requests | non-2xx |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut reloads = Vec::new();
    for kind in &a.backends {
        let backend = kind.as_str();
        let (url, _pg) = match kind {
            BackendKind::Sqlite => (
                format!("sqlite://{}", root.join("bench-api.db").display()),
                None,
            ),
            BackendKind::Postgres => {
                let pg = TempPg::create().await?;
                (pg.url.clone(), Some(pg))
            }
        };
        let ws = root.join(format!("ws-{backend}"));
        let cfg = workspace(&ws, &url, &data)?;
        let store = kontor::store::open(&cfg.store.url).await?;
        let t = Instant::now();
        let mut load = kontor_cmd();
        load.args(["--config"])
            .arg(ws.join("kontor.toml"))
            .args(["sync", "--all"]);
        let status = load
            .env("KONTOR_LOG", "warn")
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            anyhow::bail!("{backend}: kontor sync --all failed");
        }
        eprintln!(
            "{backend}: synced and resolved in {:.0}s",
            t.elapsed().as_secs_f64()
        );
        settle(backend, &ws, &url).await?;
        run_phases(backend, &store, &ws, &url, a).await?;
        reloads.push(
            super::bench_reload::directory_reload(backend, &store, &ws, &data, a.customers).await?,
        );
    }
    println!();
    println!(
        "| backend | customers changed (city) | kontor sync | directory: load everything | directory: read the changed only | read |"
    );
    println!("|---|---:|---:|---:|---:|---|");
    for row in reloads {
        println!("{row}");
    }
    Ok(0)
}

/// Brings the store to its steady state before measuring: the daily reminder scan has run
/// (else the server starts it and competes with the load) and the planner statistics are
/// fresh (else autovacuum works through the bulk load during the measurement).
async fn settle(backend: &str, ws: &Path, url: &str) -> anyhow::Result<()> {
    let t = Instant::now();
    let status = kontor_cmd()
        .args(["--config"])
        .arg(ws.join("kontor.toml"))
        .args(["reminders", "suggest"])
        .env("KONTOR_LOG", "warn")
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        anyhow::bail!("{backend}: kontor reminders suggest failed");
    }
    eprintln!(
        "{backend}: daily reminder scan (all invoices) in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    maintain(
        backend,
        url,
        &["VACUUM (ANALYZE)"],
        &["ANALYZE"],
        "VACUUM/ANALYZE",
    )
    .await
}

/// Runs maintenance statements on the store outside kontor (PostgreSQL's or SQLite's, by
/// `backend`) and says how long they took.
async fn maintain(
    backend: &str,
    url: &str,
    postgres: &[&'static str],
    sqlite: &[&'static str],
    what: &str,
) -> anyhow::Result<()> {
    use sqlx::Connection;
    let t = Instant::now();
    if backend == "postgres" {
        let mut c = sqlx::PgConnection::connect(url).await?;
        for sql in postgres {
            sqlx::query(*sql).execute(&mut c).await?;
        }
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await?;
        for sql in sqlite {
            sqlx::query(*sql).execute(&mut c).await?;
        }
    }
    eprintln!("{backend}: {what} in {:.1}s", t.elapsed().as_secs_f64());
    Ok(())
}

/// After the cold phase wrote its cards (≈ 20 KB each): the writer has drained, the store's
/// write-ahead log is checkpointed and PostgreSQL's statistics know the table (analysed while
/// it was empty), so the next phases measure reading cards, not the cold phase's writes.
async fn settle_cards(backend: &str, url: &str) -> anyhow::Result<()> {
    tokio::time::sleep(Duration::from_secs(2)).await;
    maintain(
        backend,
        url,
        &["VACUUM (ANALYZE) customer_cards", "CHECKPOINT"],
        &["PRAGMA wal_checkpoint(TRUNCATE)"],
        "stored cards settled (checkpoint, statistics)",
    )
    .await
}

async fn run_phases(
    backend: &str,
    store: &DynStore,
    ws: &Path,
    url: &str,
    a: &ApiBenchArgs,
) -> anyhow::Result<()> {
    let token = new_token();
    let name = format!("bench-{}", std::process::id());
    store
        .create_token(&name, Role::Sales.as_str(), None, &hash_token(&token))
        .await?;
    let keys = store.customer_keys().await?;
    let mut ids: Vec<i64> = keys.iter().map(|k| k.customer_id).collect();
    ids.dedup();
    let sample = |n: usize, step: usize| (0..n).map(move |i| (i * step) as u64);
    let step = (a.customers as usize / 5000).max(1);

    let port = free_port()?;
    let server = Server(
        kontor_cmd()
            .args(["--config"])
            .arg(ws.join("kontor.toml"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("KONTOR_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()?,
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&format!("127.0.0.1:{port}")).await?;
    eprintln!(
        "{backend}: kontor serve ready, RSS {:.0} MiB",
        server.rss_mib()
    );
    let bport = free_port()?;
    let baseline = Server(
        kontor_cmd()
            .args([
                "bench",
                "baseline-server",
                "--store",
                url,
                "--listen",
                &format!("127.0.0.1:{bport}"),
            ])
            .env("KONTOR_LOG", "warn")
            .spawn()?,
    );
    let bbase = format!("http://127.0.0.1:{bport}");
    wait_ready(&format!("127.0.0.1:{bport}")).await?;

    let views: Vec<String> = ids
        .iter()
        .step_by((ids.len() / 5000).max(1))
        .map(|id| format!("/api/v1/customers/{id}"))
        .collect();
    let all_views: Vec<String> = ids
        .iter()
        .map(|id| format!("/api/v1/customers/{id}"))
        .collect();
    let baseline_paths: Vec<String> = sample(5000, step)
        .map(|i| format!("/customer/{i:06}"))
        .collect();
    let lookups: Vec<String> = sample(5000, step)
        .map(|i| {
            let c = customers::customer(i);
            // Half as written in the master, half as a caller's extension of the main number.
            let n = if i % 2 == 0 {
                c.phone.clone()
            } else {
                format!("{}-{}", c.phone.trim_end_matches("-0"), 10 + i % 80)
            };
            format!("/api/v1/lookup/phone/{}", kontor::sys::url_encode(&n))
        })
        .collect();
    let searches: Vec<String> = sample(5000, step)
        .map(|i| {
            let c = customers::customer(i);
            let q = match i % 4 {
                0 => c.number.clone(),
                1 => c.name.split(' ').take(2).collect::<Vec<_>>().join(" "),
                2 => c
                    .name
                    .replace('ü', "ue")
                    .replace('ö', "oe")
                    .replace('ä', "ae"),
                _ => format!("{} {}", c.name.split(' ').next().unwrap_or(""), c.city),
            };
            format!(
                "/api/v1/customers?q={}&limit=20",
                kontor::sys::url_encode(&q)
            )
        })
        .collect();
    let dir = ws.join("wrk");
    std::fs::create_dir_all(&dir)?;
    // Cold cards first: none stored, every customer's first view builds its card (as each
    // view was built before cards were stored); one run at the highest concurrency over all
    // customers, so few are shown twice.
    store.forget_cards().await?;
    let conns = a.connections.iter().copied().max().unwrap_or(32);
    let row = |phase: &str, conns: u32, l: &Load| {
        println!(
            "| {backend} | {phase} | {conns} | {:.2} | {:.2} | {:.2} | {:.0} | {} | {} |",
            l.p50, l.p90, l.p99, l.rps, l.requests, l.errors
        )
    };
    let ours = |paths| Target {
        base: &base,
        paths,
        token: Some(&token),
    };
    let cold = wrk::run(&dir, &ours(&all_views), a.seconds, conns, None)?;
    row(
        "merged view GET /customers/{id}, cold (no stored card: built)",
        conns,
        &cold,
    );
    settle_cards(backend, url).await?;
    // (phase, what wrk loads, paced rate)
    let phases: [(&str, Target, Option<f64>); 4] = [
        (
            "baseline: one-query axum handler",
            Target {
                base: &bbase,
                paths: &baseline_paths,
                token: None,
            },
            None,
        ),
        (
            "merged view GET /customers/{id}",
            ours(&views),
            Some(a.rate_views.unwrap_or((5.0 * cold.rps).round())),
        ),
        (
            "caller-ID GET /lookup/phone/{n}",
            ours(&lookups),
            Some(a.rate_lookups),
        ),
        ("search GET /customers?q=", ours(&searches), None),
    ];
    for (phase, target, rate) in phases {
        // Warm up (caches, connection pools), then measure at each concurrency, as fast as
        // the server answers; then at the highest one paced to a set load (the latency a
        // desk sees at that load, not at saturation).
        wrk::run(&dir, &target, 3, a.connections[0], None)?;
        for &conns in &a.connections {
            row(
                phase,
                conns,
                &wrk::run(&dir, &target, a.seconds, conns, None)?,
            );
        }
        if let Some(rate) = rate.filter(|r| *r > 0.0) {
            let l = wrk::run(&dir, &target, a.seconds, conns, Some(rate))?;
            row(&format!("{phase}, paced at {rate:.0} req/s"), conns, &l);
        }
    }
    eprintln!(
        "{backend}: peak RSS of kontor serve {:.0} MiB, of the baseline server {:.0} MiB",
        server.peak_rss_mib(),
        baseline.peak_rss_mib()
    );
    let cards = store.card_stats().await?;
    eprintln!(
        "{backend}: {} stored cards, {:.1} KB each on average",
        cards.count,
        cards.bytes as f64 / cards.count.max(1) as f64 / 1000.0
    );
    Ok(())
}

/// The baseline: one route, one SQL query per request, no auth, no merging.
pub async fn baseline_server(store_url: &str, listen: &str) -> anyhow::Result<i32> {
    use axum::extract::{Path as P, State};
    use axum::routing::get;
    #[derive(Clone)]
    enum Pool {
        Sqlite(sqlx::SqlitePool),
        Pg(sqlx::PgPool),
    }
    const SQL: &str = "SELECT data FROM records WHERE customer_no = $1 LIMIT 200";
    async fn one(
        State(pool): State<Pool>,
        P(no): P<String>,
    ) -> Result<String, axum::http::StatusCode> {
        let rows: Vec<String> = match &pool {
            Pool::Sqlite(p) => sqlx::query_scalar(SQL).bind(&no).fetch_all(p).await,
            Pool::Pg(p) => sqlx::query_scalar(SQL).bind(&no).fetch_all(p).await,
        }
        .map_err(|_| axum::http::StatusCode::SERVICE_UNAVAILABLE)?;
        Ok(format!("[{}]", rows.join(",")))
    }
    // The same pools as kontor's store (SQLite: WAL, 4 connections; PostgreSQL: 8, with
    // TCP_NODELAY), so only the handler differs.
    let pool = if store_url.starts_with("sqlite:") {
        Pool::Sqlite(
            kontor::store::SqliteStore::open(store_url)
                .await?
                .pool()
                .clone(),
        )
    } else {
        Pool::Pg(
            kontor::store::PgStore::open(store_url)
                .await?
                .pool()
                .clone(),
        )
    };
    let app = axum::Router::new()
        .route("/customer/{no}", get(one))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(pool);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app).await?;
    Ok(0)
}
