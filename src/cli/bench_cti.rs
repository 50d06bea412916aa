//! `kontor bench cti`: how fast a PBX's call reaches the desks. The demo workspace is served
//! in this process; `--streams` desks listen on `GET /api/v1/calls/events` (each its own
//! connection) while a PBX posts `--rate` calls per second to `POST /api/v1/calls` for
//! `--seconds`. Measured per call and desk: webhook sent → event read by the desk; next to it
//! the webhook's own round trip (what the PBX waits for: lookup, screen-pop, recording).

use super::Cli;
use super::demo::demo_workspace;
use kontor::api::auth::{hash_token, new_token};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `kontor bench cti`.
#[derive(clap::Args, Debug)]
pub struct CtiBenchArgs {
    #[arg(long, default_value_t = 50)]
    pub rate: u32,
    #[arg(long, default_value_t = 200)]
    pub streams: usize,
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
}

/// When each call was sent (call id → instant), and the latencies seen.
#[derive(Default)]
struct Clock {
    sent: HashMap<String, Instant>,
    delivered: Vec<Duration>,
    webhook: Vec<Duration>,
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// One desk: reads its stream and notes each call's arrival.
async fn desk(http: reqwest::Client, url: String, token: String, clock: Arc<Mutex<Clock>>) {
    let Ok(mut res) = http.get(&url).bearer_auth(&token).send().await else {
        return;
    };
    let mut buf = String::new();
    while let Ok(Some(chunk)) = res.chunk().await {
        let now = Instant::now();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let is_call = block.lines().any(|l| l.trim() == "event: call");
            let data = block.lines().find_map(|l| l.strip_prefix("data:"));
            if let (true, Some(data)) = (is_call, data)
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(data.trim())
                && let Some(id) = v["call_id"].as_str()
            {
                let mut c = clock.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(sent) = c.sent.get(id).copied() {
                    c.delivered.push(now - sent);
                }
            }
        }
    }
}

pub async fn bench_cti(cli: &Cli, args: &CtiBenchArgs) -> anyhow::Result<i32> {
    let tmp = tempfile::tempdir()?;
    // Many desks from one address, one token: the server's guards are opened for the run.
    let extra = format!(
        "\n[server]\nrate_limit = \"100000/s\"\nmax_connections_per_ip = {}\n",
        args.streams + 64
    );
    let ws = demo_workspace(cli, tmp.path(), &extra).await?;
    let (sales, cti) = (new_token(), new_token());
    ws.store
        .create_token("bench-desk", "sales", None, &hash_token(&sales))
        .await?;
    ws.store
        .create_token("bench-pbx", "cti", None, &hash_token(&cti))
        .await?;
    let state = kontor::api::AppState::new(ws.store.clone(), Arc::new(ws.cfg.clone())).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(kontor::api::serve(listener, state, async move {
        let _ = stop_rx.await;
    }));

    let http = kontor::bench::http_client();
    let clock = Arc::new(Mutex::new(Clock::default()));
    let mut desks = Vec::new();
    for _ in 0..args.streams {
        desks.push(tokio::spawn(desk(
            http.clone(),
            format!("{base}/api/v1/calls/events"),
            sales.clone(),
            Arc::clone(&clock),
        )));
    }
    // Let the desks connect.
    tokio::time::sleep(Duration::from_millis(500 + args.streams as u64 * 2)).await;

    let total = u64::from(args.rate) * args.seconds;
    let mut tick = tokio::time::interval(Duration::from_secs(1) / args.rate.max(1));
    let mut posts = Vec::new();
    let started = Instant::now();
    for i in 0..total {
        tick.tick().await;
        let (http, base, cti, clock) =
            (http.clone(), base.clone(), cti.clone(), Arc::clone(&clock));
        posts.push(tokio::spawn(async move {
            let id = format!("bench-{i}");
            let sent = Instant::now();
            clock
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .sent
                .insert(id.clone(), sent);
            let res = http
                .post(format!("{base}/api/v1/calls"))
                .bearer_auth(&cti)
                .json(&serde_json::json!({"from": "+49 221 4711-23", "call_id": id, "extension": "23"}))
                .send()
                .await;
            let ok = matches!(&res, Ok(r) if r.status().is_success());
            if let Ok(r) = res {
                let _ = r.bytes().await;
            }
            clock
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .webhook
                .push(sent.elapsed());
            ok
        }));
    }
    let mut failed = 0;
    for p in posts {
        if !p.await.unwrap_or(false) {
            failed += 1;
        }
    }
    let sending = started.elapsed();
    // The last events on their way.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(30), server).await;
    for d in desks {
        d.abort();
    }
    let mut c = clock.lock().unwrap_or_else(|e| e.into_inner());
    c.delivered.sort();
    c.webhook.sort();
    let expected = total * args.streams as u64;
    println!(
        "{total} calls at {}/s over {:.1} s to {} desks ({failed} webhooks failed)",
        args.rate,
        sending.as_secs_f64(),
        args.streams
    );
    println!("| measured | count | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|");
    println!(
        "| webhook round trip (PBX → kontor → answer) | {} | {:.1} | {:.1} | {:.1} |",
        c.webhook.len(),
        pct(&c.webhook, 0.5),
        pct(&c.webhook, 0.99),
        pct(&c.webhook, 1.0)
    );
    println!(
        "| webhook sent → event read by a desk | {} of {expected} | {:.1} | {:.1} | {:.1} |",
        c.delivered.len(),
        pct(&c.delivered, 0.5),
        pct(&c.delivered, 0.99),
        pct(&c.delivered, 1.0)
    );
    Ok(i32::from(
        c.delivered.len() as u64 != expected || failed > 0,
    ))
}
