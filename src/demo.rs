//! The demo workspace: bundled sample exports (DATEV and WaWi CSV, XRechnung and openTRANS
//! XML) with their mappings and a `kontor.toml`; a mocked ERPNext completes it. Used by
//! `kontor demo` and by the end-to-end tests.

use std::path::Path;

macro_rules! bundled {
    ($($dst:literal => $src:literal),* $(,)?) => {
        &[$(($dst, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $src)) as &[u8])),*]
    };
}

/// (path in the demo workspace, content). Sample data and licences: tests/fixtures/*/README.md.
pub const FILES: &[(&str, &[u8])] = bundled! {
    "inbox/datev/EXTF_Buchungsstapel.csv" => "tests/fixtures/datev/EXTF_Buchungsstapel.csv",
    "inbox/datev/EXTF_Buchungsstapel_2026-11.csv" => "mappings/datev-buchungsstapel.fixtures/november-2026.csv",
    "inbox/datev/EXTF_Stammdaten.csv" => "tests/fixtures/datev/EXTF_Stammdaten.csv",
    "inbox/datev/LICENSE" => "tests/fixtures/datev/LICENSE",
    "inbox/wawi/kunden.csv" => "tests/fixtures/wawi/kunden.csv",
    "inbox/wawi/offene_posten.csv" => "tests/fixtures/wawi/offene_posten.csv",
    "inbox/wawi/offene_auftraege.csv" => "tests/fixtures/wawi/offene_auftraege.csv",
    "inbox/wawi/lagerbestand.csv" => "tests/fixtures/wawi/lagerbestand.csv",
    "inbox/wawi/kontakte.csv" => "tests/fixtures/wawi/kontakte.csv",
    "inbox/xrechnung/01.01a-INVOICE_ubl.xml" => "tests/fixtures/xrechnung/01.01a-INVOICE_ubl.xml",
    "inbox/xrechnung/01.01a-INVOICE_uncefact.xml" => "tests/fixtures/xrechnung/01.01a-INVOICE_uncefact.xml",
    "inbox/xrechnung/01.05a-INVOICE_ubl.xml" => "tests/fixtures/xrechnung/01.05a-INVOICE_ubl.xml",
    "inbox/xrechnung/03.03a-INVOICE_uncefact.xml" => "tests/fixtures/xrechnung/03.03a-INVOICE_uncefact.xml",
    "inbox/xrechnung/ubl_creditnote_381.xml" => "connectors/xml/tests/data/ubl_creditnote_381.xml",
    "inbox/xrechnung/LICENSE" => "tests/fixtures/xrechnung/LICENSE",
    "inbox/xrechnung/XRechnung_RE-2026-1008.xml" => "tests/fixtures/demo/XRechnung_RE-2026-1008.xml",
    "inbox/opentrans/ORDER_Bestellung.xml" => "tests/fixtures/opentrans/Example_ORDER_Testdistributor_Bestellung.xml",
    "inbox/opentrans/ORDERRESPONSE_Auftragsbestaetigung.xml" => "tests/fixtures/opentrans/Example_ORDERRESPONSE_Testdistributor_Auftragsbestaetigung.xml",
    "inbox/opentrans/DISPATCHNOTIFICATION_Lieferavis.xml" => "tests/fixtures/opentrans/Example_DISPATCHNOTIFICATION_Testdistributor_Lieferavis.xml",
    "inbox/opentrans/INVOICE_Rechnung.xml" => "tests/fixtures/opentrans/Example_INVOICE_Testdistributor_Rechnung.xml",
    "inbox/opentrans/LICENSE" => "tests/fixtures/opentrans/LICENSE",
    "inbox/opentrans/ORDERRESPONSE_AB-50001.xml" => "tests/fixtures/demo/ORDERRESPONSE_AB-50001.xml",
    "inbox/opentrans/RFQ_Anfrage.xml" => "connectors/xml/tests/data/opentrans_rfq.xml",
    "mappings/datev-buchungsstapel.toml" => "mappings/datev-buchungsstapel.toml",
    "mappings/datev-debitoren.toml" => "mappings/datev-debitoren.toml",
    "mappings/wawi-kunden.toml" => "mappings/wawi-kunden.toml",
    "mappings/wawi-offene-posten.toml" => "mappings/wawi-offene-posten.toml",
    "mappings/wawi-auftraege.toml" => "mappings/wawi-auftraege.toml",
    "mappings/wawi-angebote.toml" => "mappings/wawi-angebote.toml",
    "mappings/wawi-rechnungen.toml" => "mappings/wawi-rechnungen.toml",
    "mappings/wawi-lager.toml" => "mappings/wawi-lager.toml",
    "mappings/wawi-kontakte.toml" => "mappings/wawi-kontakte.toml",
};

pub const CONFIG: &str = r#"# kontor demo workspace, written by `kontor demo` (run it again to start afresh).
[store]
url = "sqlite://kontor.db"

# Who is who across sources: when they disagree on a field, the newest value wins
# (or conflict = "priority" with priority = ["wawi-kunden", …]).
[identity]
conflict = "newest"

# Telephony: the company's own area code (a number typed without one is offered with it);
# `extensions` would send calls to a team's desks only.
[cti]
default_area_code = "0221"

# Complaints: a category may have a service process. A new complaint gets its steps, each
# due `days` after the one before (the first after the day it was filed), with the expected
# cost shown up front; an overdue step suggests a reminder for the complaint's team.
[complaints.processes]
lieferung = [
  { step = "Schaden mit Fotos dokumentieren", days = 0 },
  { step = "Ersatzlieferung versenden", days = 1, cost = "35.00" },
  { step = "Schaden bei der Spedition reklamieren", days = 5 },
]

# Connectors of one ERP share its customer numbers: `system` names that ERP; `label` is
# what the sales card calls the source ("Herkunft").

[[connector]]
name = "datev-buchungen"
label = "DATEV – Buchungen"
kind = "csv"
system = "datev"
path = "inbox/datev/EXTF_Buchungsstapel*.csv"
mapping = "mappings/datev-buchungsstapel.toml"

[[connector]]
name = "datev-debitoren"
label = "DATEV – Debitoren"
kind = "csv"
system = "datev"
path = "inbox/datev/EXTF_Stammdaten.csv"
mapping = "mappings/datev-debitoren.toml"

[[connector]]
name = "wawi-kunden"
label = "Warenwirtschaft – Kunden"
kind = "csv"
system = "wawi"
path = "inbox/wawi/kunden*.csv"
mapping = "mappings/wawi-kunden.toml"

[[connector]]
name = "wawi-offene-posten"
label = "Warenwirtschaft – Offene Posten"
kind = "csv"
system = "wawi"
path = "inbox/wawi/offene_posten*.csv"
mapping = "mappings/wawi-offene-posten.toml"

[[connector]]
name = "wawi-auftraege"
label = "Warenwirtschaft – Aufträge"
kind = "csv"
system = "wawi"
path = "inbox/wawi/offene_auftraege*.csv"
mapping = "mappings/wawi-auftraege.toml"

[[connector]]
name = "wawi-rechnungen"
label = "Warenwirtschaft – Rechnungsausgangsbuch"
kind = "csv"
system = "wawi"
path = "inbox/wawi/rechnungsausgangsbuch*.csv"
mapping = "mappings/wawi-rechnungen.toml"

[[connector]]
name = "wawi-angebote"
label = "Warenwirtschaft – Angebote"
kind = "csv"
system = "wawi"
path = "inbox/wawi/angebote*.csv"
mapping = "mappings/wawi-angebote.toml"

[[connector]]
name = "wawi-lager"
label = "Warenwirtschaft – Lager"
kind = "csv"
system = "wawi"
path = "inbox/wawi/lagerbestand*.csv"
mapping = "mappings/wawi-lager.toml"

[[connector]]
name = "wawi-kontakte"
label = "Warenwirtschaft – Kontakte"
kind = "csv"
system = "wawi"
path = "inbox/wawi/kontakte*.csv"
mapping = "mappings/wawi-kontakte.toml"

[[connector]]
name = "einvoices"
label = "E-Rechnungen"
kind = "xml"
path = "inbox/xrechnung/"
format = "auto"

[[connector]]
name = "opentrans"
label = "Bestellungen (openTRANS)"
kind = "xml"
path = "inbox/opentrans/"
format = "auto"
"#;

/// The workspace's `kontor.toml` with the REST connector for the mocked ERPNext at `erp_uri`
/// (its token in `secrets/erpnext`).
pub fn config(erp_uri: &str) -> String {
    format!(
        "{CONFIG}\n[[connector]]\nname = \"erpnext\"\nlabel = \"ERP (ERPNext)\"\nkind = \"rest\"\nbase_url = \"{erp_uri}\"\n\
         profile = \"erpnext\"\nauth = {{ kind = \"token\", token_file = \"secrets/erpnext\" }}\n\
         rate_limit = \"50/s\"\n"
    )
}

/// The teams of `kontor demo` (people per team, for the works-council rule; complaints are
/// forwarded between them). The tests bring their own `[privacy]`.
pub const TEAMS: &str = "\n# Teams and their size (reports show a team only with at least 5 people);\n\
# complaints are forwarded between them.\n[privacy]\nteams = { demo = 5, service = 6, produktmanagement = 5 }\n";

const MARKER: &str = "# kontor demo workspace";

/// The WaWi's invoice journal (Rechnungsausgangsbuch) with the paid invoices of customer
/// 00044, dated around `today`: in the year before last it paid on the due date, in the last
/// 12 months 18 to 30 days late — the demo's customer whose payment behaviour got worse.
pub fn invoice_journal_csv(today: chrono::NaiveDate) -> Vec<u8> {
    let d = |days: i64| {
        (today + chrono::Duration::days(days))
            .format("%d.%m.%Y")
            .to_string()
    };
    // (number, issued days ago, days late, net in cents)
    let rows: [(&str, i64, i64, i64); 8] = [
        ("AR-7001", 690, 0, 84_000),
        ("AR-7002", 600, 0, 126_050),
        ("AR-7003", 520, 2, 47_900),
        ("AR-7004", 430, 0, 210_000),
        ("AR-7005", 300, 18, 96_500),
        ("AR-7006", 210, 24, 153_000),
        ("AR-7007", 140, 30, 62_400),
        ("AR-7008", 75, 26, 188_800),
    ];
    let money = |cents: i64| crate::view::german_amount(rust_decimal::Decimal::new(cents, 2));
    let mut text = String::from(
        "Belegnr;Art;Kundennr;Kundenname;Belegdatum;Fällig;Netto;USt-Satz;USt;Brutto;Offen;Währung;Bezahlt am\r\n",
    );
    for (no, ago, late, net) in rows {
        let tax = net * 19 / 100;
        text.push_str(&format!(
            "{no};Rechnung;00044;Schröder Elektrotechnik GmbH & Co. KG;{};{};{};19;{};{};0,00;EUR;{}\r\n",
            d(-ago),
            d(30 - ago),
            money(net),
            money(tax),
            money(net + tax),
            d(30 - ago + late),
        ));
    }
    encoding_rs::WINDOWS_1252.encode(&text).0.into_owned()
}

/// The WaWi's quotes, dated around `today` so that the demo always has one about to expire
/// (in 3 days: a reminder), one open for weeks, one accepted as order AB-50001, one rejected
/// and one expired; Windows-1252 like the other WaWi exports.
pub fn quotes_csv(today: chrono::NaiveDate) -> Vec<u8> {
    let d = |days: i64| {
        (today + chrono::Duration::days(days))
            .format("%d.%m.%Y")
            .to_string()
    };
    let rows = [
        (
            "AN-0290",
            "00042",
            d(-34),
            d(-6),
            "Beauftragt",
            "1.190,00",
            "AB-50001",
            "",
        ),
        (
            "AN-0318",
            "00042",
            d(-11),
            d(3),
            "Offen",
            "4.280,00",
            "",
            "ANF-77",
        ),
        (
            "AN-0325",
            "00042",
            d(-2),
            d(28),
            "Offen",
            "12.400,00",
            "",
            "",
        ),
        (
            "AN-0299",
            "00042",
            d(-60),
            d(-30),
            "Abgelehnt",
            "980,00",
            "",
            "",
        ),
        (
            "AN-0301",
            "00047",
            d(-40),
            d(-10),
            "Offen",
            "860,00",
            "",
            "",
        ),
    ];
    let mut text = String::from(
        "Angebotsnr;Kundennr;Angebotsdatum;Gültig bis;Status;Angebotssumme;Währung;Auftragsnr;Anfrage Kunde\r\n",
    );
    for (no, customer, date, until, status, total, order, request) in rows {
        text.push_str(&format!(
            "{no};{customer};{date};{until};{status};{total};EUR;{order};{request}\r\n"
        ));
    }
    encoding_rs::WINDOWS_1252.encode(&text).0.into_owned()
}

/// Writes the bundled files into a fresh workspace. An earlier demo workspace (its
/// kontor.toml starts with [`MARKER`]) is cleared first; any other existing kontor.toml is
/// left alone and the demo refuses the folder.
pub fn write_workspace(dir: &Path) -> std::io::Result<()> {
    match std::fs::read_to_string(dir.join("kontor.toml")) {
        Ok(text) if !text.starts_with(MARKER) => {
            return Err(std::io::Error::other(format!(
                "{} has a kontor.toml that `kontor demo` did not write; choose another --dir",
                dir.display()
            )));
        }
        Ok(_) => {
            for sub in ["inbox", "mappings", "secrets"] {
                match std::fs::remove_dir_all(dir.join(sub)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
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
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
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
    let today = chrono::Local::now().date_naive();
    std::fs::write(dir.join("inbox/wawi/angebote.csv"), quotes_csv(today))?;
    std::fs::write(
        dir.join("inbox/wawi/rechnungsausgangsbuch.csv"),
        invoice_journal_csv(today),
    )?;
    std::fs::create_dir_all(dir.join("secrets"))?;
    crate::sys::owner_only(&dir.join("secrets"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_demo_config_has_a_process_and_teams_to_forward_to() {
        let text = format!("{}{}", super::config("http://127.0.0.1:9"), super::TEAMS);
        let cfg = crate::config::Config::parse("kontor.toml", &text, ".".into(), Vec::new())
            .unwrap_or_else(|d| panic!("{d:?}"));
        let steps: Vec<&str> = cfg
            .complaints
            .process("lieferung")
            .iter()
            .map(|s| s.step.as_str())
            .collect();
        assert_eq!(steps.len(), 3, "{steps:?}");
        assert!(cfg.privacy.teams.contains_key("produktmanagement"));
    }
}
