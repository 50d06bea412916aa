//! Records/s of every built-in REST profile against its mock, next to the vendor's rate limit.
//!
//! `cargo run --release -p kontor-rest --features mock --example profile_bench [-- COPIES]`
//!
//! Each profile's mock serves its fixture data `COPIES` times (default 2000: unique ids,
//! modification times spread over half a year) with the vendor's paging, filters and auth; the
//! connector reads every stream of the profile once, as a first sync does, with the profile's
//! own page sizes and no rate limit. The table gives records/s and records per request; the
//! last column is what the vendor's documented rate limit allows at that many records per
//! request — the figure that decides a real first sync.

use kontor_connector::{ConnectorSpec, Item};
use kontor_rest::mock::{MockErp, scaled_fixtures};
use std::time::{Duration, Instant};

/// Requests per second of a rate like `2/s`, `1200/min`, `1000/h`.
fn per_second(rate: &str) -> Option<f64> {
    let (n, unit) = rate.split_once('/')?;
    let n: f64 = n.trim().parse().ok()?;
    let secs = match unit.trim() {
        "s" => 1.0,
        "min" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    Some(n / secs)
}

#[tokio::main]
async fn main() {
    let copies: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    println!(
        "| profile | records | requests | records/request | seconds | records/s (mock) | vendor rate limit | records/s at that limit |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &profile in kontor_rest::PROFILES {
        let flavor = kontor_rest::mock::Flavor::profile(profile).expect("a mock per profile");
        let erp = MockErp::start_with(flavor, scaled_fixtures(flavor, copies)).await;
        // The mock enforces Business Central's documented window; the bench measures the
        // connector, the last column applies the vendor's limit.
        erp.bc_rate_limit(usize::MAX / 2, Duration::from_secs(1));
        let dir = tempfile::tempdir().unwrap();
        let (keys, secret) = erp.connector_keys(profile, "secret");
        std::fs::write(dir.path().join("secret"), secret).unwrap();
        let settings: toml::Table = toml::from_str(&format!(
            "base_url = \"{}\"\nprofile = \"{profile}\"\nrate_limit = \"100000/s\"\n{keys}",
            erp.uri()
        ))
        .unwrap();
        let conn = kontor_rest::build(ConnectorSpec {
            name: "bench".into(),
            settings,
            source: toml::Table::new(),
            base_dir: dir.path().to_owned(),
            batch_size: 1000,
            own: Default::default(),
        })
        .unwrap();
        erp.clear_log();
        let started = Instant::now();
        let mut records = 0usize;
        for unit in conn.discover().await.unwrap() {
            let mut reader = conn.open(&unit, None).await.unwrap();
            while let Some(b) = reader.next_batch().await.unwrap() {
                records += b
                    .items
                    .iter()
                    .filter(|i| matches!(i, Item::Record(_)))
                    .count();
            }
        }
        let secs = started.elapsed().as_secs_f64();
        let requests = erp.requests().len();
        let per_request = records as f64 / requests.max(1) as f64;
        let limit = kontor_rest::profile_info(profile).and_then(|i| i.rate_limit);
        let at_limit = match limit.as_deref().and_then(per_second) {
            Some(r) => format!("{:.0}", r * per_request),
            None => "— (none documented)".into(),
        };
        println!(
            "| {profile} | {records} | {requests} | {per_request:.1} | {secs:.2} | {:.0} | {} | {at_limit} |",
            records as f64 / secs,
            limit.as_deref().unwrap_or("none documented"),
        );
    }
}
