//! Throughput of the REST connector against a local mock server.
//!
//! `cargo run --release -p kontor-rest --features mock --example rest_bench [-- RECORDS PAGE]`
//!
//! Serves RECORDS (default 100 000) records in pages of PAGE (default 100) from loopback,
//! reads them through the connector exactly like a sync run (incremental mode: filter,
//! sort, re-anchoring, cursor per page), then replays the same requests with a bare HTTP
//! client and parses the same bodies alone, to split the time into HTTP, JSON parsing and the
//! connector's own work. Mapping and store come after integration with the core.

use kontor_connector::{ConnectorSpec, Item};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Serves pre-serialised records sorted by (modified, id): `modified_since` by binary search,
/// then `offset`/`limit`. Remembers the URLs it served.
struct Pages {
    modified: Vec<String>,
    json: Vec<String>,
    urls: Arc<Mutex<Vec<String>>>,
}

impl Respond for Pages {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let q = |k: &str| {
            req.url
                .query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
        };
        let start = match q("modified_since") {
            Some(s) => self.modified.partition_point(|m| *m < s),
            None => 0,
        };
        let offset: usize = q("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
        let limit: usize = q("limit").and_then(|v| v.parse().ok()).unwrap_or(100);
        let from = (start + offset).min(self.json.len());
        let to = (from + limit).min(self.json.len());
        let mut body = String::with_capacity(64 + (to - from) * 400);
        body.push_str("{\"items\":[");
        body.push_str(&self.json[from..to].join(","));
        body.push_str("]}");
        self.urls.lock().unwrap().push(req.url.to_string());
        ResponseTemplate::new(200)
            .insert_header("Content-Type", "application/json")
            .set_body_raw(body, "application/json")
    }
}

fn record(i: usize) -> (String, String) {
    let modified = format!(
        "2026-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        1 + i / 2_592_000 % 12,
        1 + i / 86_400 % 28,
        i / 3600 % 24,
        i / 60 % 60,
        i % 60,
        i % 1000
    );
    let json = format!(
        r#"{{"id":"SINV-{i:07}","modified":"{modified}","customer":"CUST-{:05}","customer_name":"Müller & Söhne GmbH {i}","posting_date":"2026-01-{:02}","due_date":"2026-02-{:02}","currency":"EUR","net_total":{}.{:02},"total_taxes_and_charges":{}.{:02},"grand_total":{}.{:02},"outstanding_amount":{}.00,"status":"Unpaid","remarks":"Lieferung frei Haus, Zahlung 30 Tage netto"}}"#,
        i % 5000,
        1 + i % 28,
        1 + i % 28,
        i % 9000,
        i % 100,
        i % 1700,
        i % 100,
        i % 10700,
        i % 100,
        i % 500
    );
    (modified, json)
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(100_000);
    let page = args.get(1).copied().unwrap_or(100);
    let (modified, json): (Vec<String>, Vec<String>) = (0..n).map(record).unzip();
    let urls = Arc::new(Mutex::new(Vec::new()));
    let server = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    Mock::given(any())
        .respond_with(Pages {
            modified,
            json,
            urls: urls.clone(),
        })
        .mount(&server)
        .await;

    let settings: toml::Table = toml::from_str(&format!(
        "base_url = \"{}\"\nserver_timezone = \"UTC\"\npage_size = {page}",
        server.uri()
    ))
    .unwrap();
    let source: toml::Table = toml::from_str(
        r#"[[endpoint]]
stream = "invoices"
path = "/invoices"
records = "items"
id_field = "id"
modified_field = "modified"
modified_format = "%Y-%m-%dT%H:%M:%S%.3fZ"
since = { modified_since = "{since}" }
paging = { style = "offset" }
"#,
    )
    .unwrap();
    let conn = kontor_rest::build(ConnectorSpec {
        name: "bench".into(),
        settings,
        source,
        base_dir: ".".into(),
        batch_size: page,
        own: Default::default(),
    })
    .unwrap();

    // 1. Through the connector.
    let started = Instant::now();
    let units = conn.discover().await.unwrap();
    let mut reader = conn.open(&units[0], None).await.unwrap();
    let (mut records, mut batches) = (0usize, 0usize);
    let mut bytes_of_numbers = 0usize;
    while let Some(b) = reader.next_batch().await.unwrap() {
        batches += 1;
        for item in &b.items {
            if let Item::Record(r) = item
                && let kontor_connector::Fields::Tree(v) = &r.fields
            {
                records += 1;
                bytes_of_numbers += v["grand_total"].to_string().len();
            }
        }
    }
    let total = started.elapsed();
    assert_eq!(records, n, "every record once");
    let requests: Vec<String> = urls.lock().unwrap().clone();

    // 2. The same requests with a bare client (HTTP only, body as bytes).
    let client = reqwest::Client::new();
    let mut bodies = Vec::with_capacity(requests.len());
    let started = Instant::now();
    for u in &requests {
        let u = u.replace("http://localhost", &server.uri());
        bodies.push(client.get(&u).send().await.unwrap().bytes().await.unwrap());
    }
    let http = started.elapsed();

    // 3. Parsing the same bodies alone.
    let started = Instant::now();
    let mut parsed = 0usize;
    for b in &bodies {
        let v: Value = serde_json::from_slice(b).unwrap();
        parsed += v["items"].as_array().map_or(0, Vec::len);
    }
    let parse = started.elapsed();
    let body_mb = bodies.iter().map(|b| b.len()).sum::<usize>() as f64 / 1e6;

    let secs = |d: Duration| d.as_secs_f64();
    let other = total.saturating_sub(http + parse);
    println!(
        "records            {records} in {batches} batches ({} requests, {body_mb:.1} MB JSON)",
        requests.len()
    );
    println!(
        "connector total    {:.3} s  → {:.0} records/s",
        secs(total),
        records as f64 / secs(total)
    );
    println!(
        "  HTTP (replayed)  {:.3} s  ({:.0} %)",
        secs(http),
        100.0 * secs(http) / secs(total)
    );
    println!(
        "  JSON parse       {:.3} s  ({:.0} %)  [{parsed} records]",
        secs(parse),
        100.0 * secs(parse) / secs(total)
    );
    println!(
        "  connector logic  {:.3} s  ({:.0} %)  (paging, cursor, records; rest of total)",
        secs(other),
        100.0 * secs(other) / secs(total)
    );
    println!("(checksum {bytes_of_numbers})");
}
