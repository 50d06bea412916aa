//! `kontor demo`: a workspace from bundled sample exports (DATEV and WaWi CSV, XRechnung and
//! openTRANS XML, a mocked ERPNext REST API), synced into a fresh SQLite store.

use super::{Cli, load_config, open_store, sync::sync_connectors};
use kontor::store::StoredRecord;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

macro_rules! bundled {
    ($($dst:literal => $src:literal),* $(,)?) => {
        &[$(($dst, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $src)) as &[u8])),*]
    };
}

/// (path in the demo workspace, content). Sample data and licences: tests/fixtures/*/README.md.
const FILES: &[(&str, &[u8])] = bundled! {
    "inbox/datev/EXTF_Buchungsstapel.csv" => "tests/fixtures/datev/EXTF_Buchungsstapel.csv",
    "inbox/datev/EXTF_Buchungsstapel_2026-11.csv" => "mappings/datev-buchungsstapel.fixtures/november-2026.csv",
    "inbox/datev/EXTF_Stammdaten.csv" => "tests/fixtures/datev/EXTF_Stammdaten.csv",
    "inbox/datev/LICENSE" => "tests/fixtures/datev/LICENSE",
    "inbox/wawi/kunden.csv" => "tests/fixtures/wawi/kunden.csv",
    "inbox/wawi/offene_posten.csv" => "tests/fixtures/wawi/offene_posten.csv",
    "inbox/wawi/offene_auftraege.csv" => "tests/fixtures/wawi/offene_auftraege.csv",
    "inbox/wawi/lagerbestand.csv" => "tests/fixtures/wawi/lagerbestand.csv",
    "inbox/xrechnung/01.01a-INVOICE_ubl.xml" => "tests/fixtures/xrechnung/01.01a-INVOICE_ubl.xml",
    "inbox/xrechnung/01.01a-INVOICE_uncefact.xml" => "tests/fixtures/xrechnung/01.01a-INVOICE_uncefact.xml",
    "inbox/xrechnung/01.05a-INVOICE_ubl.xml" => "tests/fixtures/xrechnung/01.05a-INVOICE_ubl.xml",
    "inbox/xrechnung/03.03a-INVOICE_uncefact.xml" => "tests/fixtures/xrechnung/03.03a-INVOICE_uncefact.xml",
    "inbox/xrechnung/ubl_creditnote_381.xml" => "connectors/xml/tests/data/ubl_creditnote_381.xml",
    "inbox/xrechnung/LICENSE" => "tests/fixtures/xrechnung/LICENSE",
    "inbox/opentrans/ORDER_Bestellung.xml" => "tests/fixtures/opentrans/Example_ORDER_Testdistributor_Bestellung.xml",
    "inbox/opentrans/ORDERRESPONSE_Auftragsbestaetigung.xml" => "tests/fixtures/opentrans/Example_ORDERRESPONSE_Testdistributor_Auftragsbestaetigung.xml",
    "inbox/opentrans/DISPATCHNOTIFICATION_Lieferavis.xml" => "tests/fixtures/opentrans/Example_DISPATCHNOTIFICATION_Testdistributor_Lieferavis.xml",
    "inbox/opentrans/INVOICE_Rechnung.xml" => "tests/fixtures/opentrans/Example_INVOICE_Testdistributor_Rechnung.xml",
    "inbox/opentrans/LICENSE" => "tests/fixtures/opentrans/LICENSE",
    "mappings/datev-buchungsstapel.toml" => "mappings/datev-buchungsstapel.toml",
    "mappings/datev-debitoren.toml" => "mappings/datev-debitoren.toml",
    "mappings/wawi-kunden.toml" => "mappings/wawi-kunden.toml",
    "mappings/wawi-offene-posten.toml" => "mappings/wawi-offene-posten.toml",
    "mappings/wawi-auftraege.toml" => "mappings/wawi-auftraege.toml",
    "mappings/wawi-lager.toml" => "mappings/wawi-lager.toml",
};

const CONFIG: &str = r#"# kontor demo workspace, written by `kontor demo` (run it again to start afresh).
[store]
url = "sqlite://kontor.db"

[[connector]]
name = "datev-buchungen"
kind = "csv"
path = "inbox/datev/EXTF_Buchungsstapel*.csv"
mapping = "mappings/datev-buchungsstapel.toml"

[[connector]]
name = "datev-debitoren"
kind = "csv"
path = "inbox/datev/EXTF_Stammdaten.csv"
mapping = "mappings/datev-debitoren.toml"

[[connector]]
name = "wawi-kunden"
kind = "csv"
path = "inbox/wawi/kunden*.csv"
mapping = "mappings/wawi-kunden.toml"

[[connector]]
name = "wawi-offene-posten"
kind = "csv"
path = "inbox/wawi/offene_posten*.csv"
mapping = "mappings/wawi-offene-posten.toml"

[[connector]]
name = "wawi-auftraege"
kind = "csv"
path = "inbox/wawi/offene_auftraege*.csv"
mapping = "mappings/wawi-auftraege.toml"

[[connector]]
name = "wawi-lager"
kind = "csv"
path = "inbox/wawi/lagerbestand*.csv"
mapping = "mappings/wawi-lager.toml"

[[connector]]
name = "einvoices"
kind = "xml"
path = "inbox/xrechnung/"
format = "auto"

[[connector]]
name = "opentrans"
kind = "xml"
path = "inbox/opentrans/"
format = "auto"
"#;

/// The customer whose records the demo prints (present in several sample sources).
const SHOWCASE_CUSTOMER: &str = "00042";

pub async fn demo(cli: &Cli, dir: Option<&Path>) -> anyhow::Result<i32> {
    let dir = dir.map_or_else(|| PathBuf::from("kontor-demo"), Path::to_path_buf);
    write_workspace(&dir)?;

    // A mocked ERPNext on loopback stands in for a REST ERP; it lives as long as the demo.
    let erp = kontor_rest::mock::MockErp::start("erpnext").await;
    std::fs::write(
        dir.join("secrets/erpnext"),
        kontor_rest::mock::ERPNEXT_TOKEN,
    )?;
    let config = format!(
        "{CONFIG}\n[[connector]]\nname = \"erpnext\"\nkind = \"rest\"\nbase_url = \"{}\"\n\
         profile = \"erpnext\"\nauth = {{ kind = \"token\", token_file = \"secrets/erpnext\" }}\n\
         rate_limit = \"50/s\"\n",
        erp.uri()
    );
    let config_path = dir.join("kontor.toml");
    std::fs::write(&config_path, config)?;
    eprintln!(
        "demo workspace {} (mock ERPNext at {})",
        dir.display(),
        erp.uri()
    );

    let cli = Cli {
        config: Some(config_path.clone()),
        log_format: cli.log_format.clone(),
        command: super::Command::Check,
    };
    let cfg = load_config(&cli)?;
    let store = open_store(&cfg).await?;
    let all: Vec<_> = cfg.connectors.iter().collect();
    let code = sync_connectors(&cfg, &store, &all, false).await?;

    // The mock ERP ends with this process: later runs in the workspace skip its connector.
    let config = std::fs::read_to_string(&config_path)?.replace(
        "name = \"erpnext\"\n",
        "name = \"erpnext\"\nenabled = false  # the mock ERPNext only runs during `kontor demo`\n",
    );
    std::fs::write(&config_path, config)?;

    let records = store.records(None, None, i64::MAX).await?;
    println!();
    println!(
        "loaded into {}/kontor.db ({} records):",
        dir.display(),
        records.len()
    );
    print_counts(&records);
    println!();
    print_customer(&records, SHOWCASE_CUSTOMER);
    println!();
    println!(
        "next: `kontor --config {0}/kontor.toml runs`, `… quarantine list`, `… preview wawi-kunden`",
        dir.display()
    );
    Ok(code)
}

const MARKER: &str = "# kontor demo workspace";

/// Writes the bundled files into a fresh workspace. An earlier demo workspace (its
/// kontor.toml starts with [`MARKER`]) is cleared first; any other existing kontor.toml is
/// left alone and the demo refuses the folder.
fn write_workspace(dir: &Path) -> anyhow::Result<()> {
    match std::fs::read_to_string(dir.join("kontor.toml")) {
        Ok(text) if !text.starts_with(MARKER) => anyhow::bail!(
            "{} has a kontor.toml that `kontor demo` did not write; choose another --dir",
            dir.display()
        ),
        Ok(_) => {
            for sub in ["inbox", "mappings", "secrets"] {
                match std::fs::remove_dir_all(dir.join(sub)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    for suffix in [
        "",
        "-wal",
        "-shm",
        "-staging",
        "-staging-wal",
        "-staging-shm",
    ] {
        match std::fs::remove_file(dir.join(format!("kontor.db{suffix}"))) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    for (rel, bytes) in FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, bytes)?;
    }
    std::fs::create_dir_all(dir.join("secrets"))?;
    Ok(())
}

fn print_counts(records: &[StoredRecord]) {
    let mut counts: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for r in records {
        *counts
            .entry(&r.connector)
            .or_default()
            .entry(&r.entity)
            .or_default() += 1;
    }
    for (connector, entities) in counts {
        let list: Vec<String> = entities.iter().map(|(e, n)| format!("{e}={n}")).collect();
        println!("  {connector:<20} {}", list.join(" "));
    }
}

fn print_customer(records: &[StoredRecord], customer_no: &str) {
    let of_customer: Vec<&StoredRecord> = records
        .iter()
        .filter(|r| {
            r.customer_no.as_deref() == Some(customer_no)
                || (r.entity == "customer" && r.external_id == customer_no)
        })
        .collect();
    println!(
        "customer {customer_no} in {} record(s) (the merged view comes with `kontor customer`):",
        of_customer.len()
    );
    for r in of_customer {
        let d = &r.data;
        let text = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or("");
        let money = |k: &str| {
            d.get(k)
                .and_then(|m| {
                    Some(format!(
                        "{} {}",
                        m.get("amount")?.as_str()?,
                        m.get("currency")?.as_str()?
                    ))
                })
                .unwrap_or_default()
        };
        let summary = match r.entity.as_str() {
            "customer" => format!("{} {}", text("name"), text("vat_id")),
            "invoice" => format!(
                "{} due {} gross {} open {}",
                text("number"),
                text("due_date"),
                money("gross"),
                money("open_amount")
            ),
            "credit_note" => format!("{} gross {}", text("number"), money("gross")),
            "order" => format!(
                "{} of {} ({})",
                text("number"),
                text("order_date"),
                text("status")
            ),
            _ => r.external_id.clone(),
        };
        println!(
            "  {:<12} {:<52} {} {}",
            r.entity,
            summary,
            r.connector,
            r.position.as_deref().unwrap_or("")
        );
    }
}
