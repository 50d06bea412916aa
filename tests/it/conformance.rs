//! The connector conformance kit for every built-in connector kind — CSV, XML, REST, SQL, plugin —
//! and through `kontor conformance` on the command line.

use kontor::config::Config;
use kontor::conformance::{Report, Verdict, run};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

async fn kit(dir: &Path, connector: &str, name: &str) -> Report {
    let text = format!("[store]\nurl = \"sqlite::memory:\"\n\n{connector}");
    let cfg = Config::parse("kontor.toml", &text, dir.to_path_buf(), Vec::new())
        .unwrap_or_else(|d| panic!("{d:?}"));
    let report = run(&cfg, cfg.connector(name).unwrap()).await;
    for c in &report.checks {
        eprintln!("{name}: {:?} {} — {}", c.verdict, c.name, c.detail);
    }
    report
}

/// Every check passed; those in `must` were not skipped either.
fn assert_conforms(report: &Report, must: &[&str]) {
    assert!(!report.failed(), "{report:#?}");
    for name in must {
        assert_eq!(
            report.verdict(name),
            Some(Verdict::Pass),
            "{name}: {report:#?}"
        );
    }
}

const CORE: &[&str] = &[
    "check accepts the configuration",
    "a bad configuration names its key",
    "an unreachable source fails clearly",
    "reads the whole source",
    "reading again gives the same records",
    "resumes from a position",
    "a second sync writes nothing",
    "an interrupted sync resumes without loss or duplicates",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_connector_conforms() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("inbox")).unwrap();
    // The sample is Windows-1252; the appended row is ASCII.
    let bytes = std::fs::read(repo().join("tests/fixtures/wawi/offene_posten.csv")).unwrap();
    let mut text = encoding_rs::WINDOWS_1252.decode(&bytes).0.into_owned();
    // One row the mapping rejects (an amount that is not a number).
    text.push_str(
        "RE-2026-9999;RE;00042;01.11.2026;01.12.2026;1.0x0,00;0,00;1.0x0,00;0,00;EUR;\r\n",
    );
    std::fs::write(dir.path().join("inbox/op.csv"), text).unwrap();
    let c = format!(
        "[[connector]]\nname = \"op\"\nkind = \"csv\"\npath = \"inbox\"\nmapping = \"{}\"\nmin_age_seconds = 0\nmax_reject_ratio = 0.5\n",
        repo().join("mappings/wawi-offene-posten.toml").display()
    );
    let r = kit(dir.path(), &c, "op").await;
    let mut must = CORE.to_vec();
    must.extend([
        "an empty source loads nothing",
        "a bad record goes to quarantine",
    ]);
    assert_conforms(&r, &must);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_connector_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    for f in [
        "01.01a-INVOICE_ubl.xml",
        "01.05a-INVOICE_ubl.xml",
        "03.03a-INVOICE_uncefact.xml",
    ] {
        std::fs::copy(
            repo().join("tests/fixtures/xrechnung").join(f),
            inbox.join(f),
        )
        .unwrap();
    }
    let c = "[[connector]]\nname = \"einvoices\"\nkind = \"xml\"\npath = \"inbox\"\nformat = \"auto\"\n";
    let r = kit(dir.path(), c, "einvoices").await;
    let mut must: Vec<&str> = CORE
        .iter()
        .copied()
        .filter(|n| *n != "resumes from a position")
        .collect();
    must.push("an empty source loads nothing");
    assert_conforms(&r, &must);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_connector_conforms_and_keeps_its_secret() {
    let erp = kontor_rest::mock::MockErp::start("erpnext").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), kontor_rest::mock::ERPNEXT_TOKEN).unwrap();
    let c = format!(
        "[[connector]]\nname = \"erpnext\"\nkind = \"rest\"\nbase_url = \"{}\"\nprofile = \"erpnext\"\n\
         auth = {{ kind = \"token\", token_file = \"token\" }}\npage_size = 2\n",
        erp.uri()
    );
    let r = kit(dir.path(), &c, "erpnext").await;
    let mut must = CORE.to_vec();
    must.push("secrets never show");
    assert_conforms(&r, &must);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_connector_conforms_and_keeps_its_secret() {
    use crate::sql_e2e::support::{Server, TempDb};
    for server in Server::ALL {
        let db = TempDb::create(server).await;
        crate::sql_e2e::shop(&db, 12).await;
        // The PostgreSQL of the tests trusts local connections: the password is carried, not
        // needed. MariaDB's root has none: the check then finds no secret (not a failure).
        let url = match server {
            Server::Pg => db.url_as("postgres", "pg-conformance-secret-4b1d"),
            Server::Maria => db.url.clone(),
        };
        let (dir, connectors) = crate::sql_e2e::workspace(&url, "page_size = 5\n");
        let r = kit(dir.path(), &connectors, "shop").await;
        let mut must = CORE.to_vec();
        if server == Server::Pg {
            must.push("secrets never show");
        }
        assert_conforms(&r, &must);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_connector_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let tap = dir.path().join("tap.sh");
    // A Singer tap in three STATEs that resumes after the state it is given, with its API key
    // from the environment in its config.
    std::fs::write(
        &tap,
        "#!/bin/sh\n\
         done=0\n\
         while [ $# -gt 0 ]; do if [ \"$1\" = --state ]; then done=$(sed 's/[^0-9]//g' \"$2\"); fi; shift; done\n\
         printf '%s\\n' '{\"type\":\"SCHEMA\",\"stream\":\"customers\",\"schema\":{\"type\":\"object\",\"properties\":{\"no\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"}}},\"key_properties\":[\"no\"]}'\n\
         for i in $(seq $((done + 1)) 6); do\n\
           printf '{\"type\":\"RECORD\",\"stream\":\"customers\",\"record\":{\"no\":\"P-%s\",\"name\":\"Firma %s GmbH\"}}\\n' $i $i\n\
           if [ $((i % 2)) -eq 0 ]; then printf '{\"type\":\"STATE\",\"value\":{\"done\":%s}}\\n' $i; fi\n\
         done\n",
    )
    .unwrap();
    std::fs::set_permissions(&tap, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        dir.path().join("plugin.toml"),
        "[[target]]\nentity = \"customer\"\nstream = \"customers\"\n[target.fields]\ncustomer_no = { path = \"no\", required = true }\nname = \"name\"\n",
    )
    .unwrap();
    // SAFETY: set before any thread of this test reads the environment.
    unsafe { std::env::set_var("KONTOR_CONFORMANCE_TAP_KEY", "tap-secret-9f8e7d") };
    let c = format!(
        "[[connector]]\nname = \"tap\"\nkind = \"plugin\"\ncommand = [\"{}\"]\nmapping = \"plugin.toml\"\n\
         config = {{ api_key = {{ env = \"KONTOR_CONFORMANCE_TAP_KEY\" }} }}\n",
        tap.display()
    );
    let r = kit(dir.path(), &c, "tap").await;
    let mut must = CORE.to_vec();
    must.push("secrets never show");
    assert_conforms(&r, &must);
}

#[test]
fn kontor_conformance_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("inbox")).unwrap();
    std::fs::copy(
        repo().join("tests/fixtures/wawi/kunden.csv"),
        dir.path().join("inbox/kunden.csv"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("kontor.toml"),
        format!(
            "[[connector]]\nname = \"kunden\"\nkind = \"csv\"\npath = \"inbox\"\nmapping = \"{}\"\nmin_age_seconds = 0\nbatch_size = 2\n",
            repo().join("mappings/wawi-kunden.toml").display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kontor"))
        .args(["conformance", "kunden"])
        .current_dir(dir.path())
        .env("KONTOR_LOG", "error")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("PASS  resumes from a position"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    assert!(
        !dir.path().join("kontor.db").exists(),
        "the kit writes only into scratch stores"
    );
}
