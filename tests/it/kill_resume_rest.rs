//! Crash safety of the REST path: `kontor sync` reads a mocked ERP (ERPNext: offset paging,
//! zone-less stamps; Xentral: page-number paging, stamps with an offset; Business Central:
//! nextLink paging with Entra ID tokens; JTL-Wawi: page paging by HasNextPage, creation-date
//! increments) page by page and is
//! killed with SIGKILL between (and during) pages several times, then finishes. The store must
//! then hold exactly the ERP's records — none lost, none twice — on SQLite and PostgreSQL.

use kontor::testing::TempPg;
use kontor_rest::mock::{Flavor, MockErp};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CUSTOMERS: usize = 5000;
const KILLS: usize = 8;

/// One mocked ERP: its profile, customer stream, credential and customer records.
struct Case {
    flavor: Flavor,
    profile: &'static str,
    stream: &'static str,
    token: &'static str,
    /// `{token_url}` is the mock's token endpoint; a line after `auth` is a connector key.
    auth: &'static str,
}

const ERPNEXT: Case = Case {
    flavor: Flavor::ErpNext,
    profile: "erpnext",
    stream: "Customer",
    token: kontor_rest::mock::ERPNEXT_TOKEN,
    auth: "{ kind = \"token\", token_file = \"token\" }",
};

const XENTRAL: Case = Case {
    flavor: Flavor::Xentral,
    profile: "xentral",
    stream: "customers",
    token: kontor_rest::mock::XENTRAL_TOKEN,
    auth: "{ kind = \"bearer\", token_file = \"token\" }",
};

const BUSINESS_CENTRAL: Case = Case {
    flavor: Flavor::BusinessCentral,
    profile: "business-central",
    stream: "customers",
    token: kontor_rest::mock::BC_CLIENT_SECRET,
    auth: "{ kind = \"oauth2_client_credentials\", token_url = \"{token_url}\", client_id = \"3f6a1c2e-8b4d-4e5f-9a7b-2c1d0e9f8a71\", client_secret_file = \"token\" }\ncompany = \"CRONUS AG\"",
};

const JTL_WAWI: Case = Case {
    flavor: Flavor::JtlWawi,
    profile: "jtl-wawi",
    stream: "customers",
    token: kontor_rest::mock::JTL_API_KEY,
    auth: "{ kind = \"api_key\", header = \"Authorization\", prefix = \"Wawi \", key_file = \"token\" }",
};

/// The external id of customer `i` (Xentral: its id is the customer_no).
fn external_id(case: &Case, i: usize) -> String {
    match case.flavor {
        Flavor::Xentral => format!("{}", 100_000 + i),
        Flavor::JtlWawi => format!("{}", 300_000 + i),
        _ => format!("CUST-{i:05}"),
    }
}

fn customers(case: &Case) -> BTreeMap<String, Vec<serde_json::Value>> {
    if case.flavor == Flavor::JtlWawi {
        // Page paging by HasNextPage, the increment is the creation time (server-local).
        let list = (0..CUSTOMERS)
            .map(|i| {
                json!({
                    "Id": 300_000 + i, "Number": format!("K{}", 10_000 + i),
                    "BillingAddress": {"Company": format!("Kunde {i} Müller GmbH"),
                        "EmailAddress": format!("einkauf{i}@example.de")},
                    "CreationDate": format!("2026-11-{:02}T{:02}:{:02}:{:02}.000",
                        1 + i / 2000, (i / 120) % 24, (i / 2) % 60, i % 2 * 30),
                })
            })
            .collect();
        return BTreeMap::from([("customers".to_owned(), list)]);
    }
    if case.flavor == Flavor::BusinessCentral {
        let list = (0..CUSTOMERS)
            .map(|i| {
                json!({
                    "id": format!("{i:08x}-0000-ef11-9f8a-6045bdc8c192"),
                    "number": external_id(case, i),
                    "displayName": format!("Kunde {i} Müller GmbH"),
                    "email": format!("einkauf{i}@example.de"),
                    "lastModifiedDateTime": format!("2026-11-{:02}T{:02}:{:02}:{:02}.000Z",
                        1 + i / 2000, (i / 120) % 24, (i / 2) % 60, i % 2 * 30),
                })
            })
            .collect();
        return BTreeMap::from([("customers".to_owned(), list)]);
    }
    if case.flavor == Flavor::Xentral {
        let list = (0..CUSTOMERS)
            .map(|i| {
                json!({
                    "id": external_id(case, i), "number": format!("{}", 10_000 + i),
                    "name": format!("Kunde {i} Müller GmbH"), "email": format!("einkauf{i}@example.de"),
                    // Several records per second, in the instance's offset.
                    "updatedAt": format!("2026-11-{:02}T{:02}:{:02}:{:02}+01:00",
                        1 + i / 2000, (i / 120) % 24, (i / 2) % 60, i % 2 * 30),
                })
            })
            .collect();
        return BTreeMap::from([("customers".to_owned(), list)]);
    }
    let list = (0..CUSTOMERS)
        .map(|i| {
            json!({
                "name": format!("CUST-{i:05}"),
                "customer_name": format!("Kunde {i} Müller GmbH"),
                "customer_type": "Company",
                "email_id": format!("einkauf{i}@example.de"),
                "docstatus": 0,
                // Distinct modification times, several records per second as in a busy ERP.
                "modified": format!("2026-11-{:02} {:02}:{:02}:{:02}.000000",
                    1 + i / 2000, (i / 120) % 24, (i / 2) % 60, i % 2 * 30),
            })
        })
        .collect();
    BTreeMap::from([("Customer".to_owned(), list)])
}

fn workspace(case: &Case, store_url: &str, erp: &MockErp) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), case.token).unwrap();
    std::fs::write(
        dir.path().join("kontor.toml"),
        format!(
            "[store]\nurl = \"{store_url}\"\n\n[[connector]]\nname = \"erp\"\nkind = \"rest\"\n\
             base_url = \"{}\"\nprofile = \"{}\"\nstreams = [\"{}\"]\npage_size = 25\n\
             rate_limit = \"60/s\"\nauth = {}\n",
            erp.uri(),
            case.profile,
            case.stream,
            case.auth.replace("{token_url}", &erp.bc_token_url())
        ),
    )
    .unwrap();
    dir
}

fn sync(dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kontor"))
        .args(["sync", "erp"])
        .current_dir(dir)
        .env("KONTOR_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// (external id, content hash) of every record, and the number of rows (duplicates would show).
async fn snapshot(url: &str) -> (Vec<(String, String)>, u64) {
    let store = kontor::store::open(url).await.unwrap();
    let recs = store.records(Some("erp"), None, i64::MAX).await.unwrap();
    let n = store.count_records(Some("erp")).await.unwrap();
    (
        recs.into_iter().map(|r| (r.external_id, r.hash)).collect(),
        n,
    )
}

async fn kill_and_resume(case: &Case, backend: &str) {
    let erp = MockErp::start_with(case.flavor, customers(case)).await;
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
    let ws = workspace(case, &url, &erp);
    // 5000 records in pages of 25 at 60 requests/s: a full run takes over 3 s, a killed one
    // gets through a tenth of it.
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
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
    let status = sync(ws.path()).wait().unwrap();
    assert_eq!(status.code(), Some(0));

    let (records, rows) = snapshot(&url).await;
    assert_eq!(rows as usize, CUSTOMERS, "no record lost or stored twice");
    let ids: Vec<String> = records.iter().map(|(id, _)| id.clone()).collect();
    let want: Vec<String> = (0..CUSTOMERS).map(|i| external_id(case, i)).collect();
    assert_eq!(ids, want);

    // A clean single run into a fresh store gives the same records.
    let clean_tmp = tempfile::tempdir().unwrap();
    let clean_url = format!("sqlite://{}", clean_tmp.path().join("c.db").display());
    let clean = workspace(case, &clean_url, &erp);
    assert_eq!(sync(clean.path()).wait().unwrap().code(), Some(0));
    let (clean_records, _) = snapshot(&clean_url).await;
    assert_eq!(records, clean_records);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rest_sync_survives_kills_between_pages() {
    kill_and_resume(&ERPNEXT, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rest_sync_survives_kills_between_pages() {
    kill_and_resume(&ERPNEXT, "postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_xentral_sync_survives_kills_between_pages() {
    kill_and_resume(&XENTRAL, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_xentral_sync_survives_kills_between_pages() {
    kill_and_resume(&XENTRAL, "postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_business_central_sync_survives_kills_between_pages() {
    kill_and_resume(&BUSINESS_CENTRAL, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_business_central_sync_survives_kills_between_pages() {
    kill_and_resume(&BUSINESS_CENTRAL, "postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_jtl_wawi_sync_survives_kills_between_pages() {
    kill_and_resume(&JTL_WAWI, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_jtl_wawi_sync_survives_kills_between_pages() {
    kill_and_resume(&JTL_WAWI, "postgres").await;
}
