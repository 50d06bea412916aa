//! `kontor demo` end to end: every sample source loads, a second sync writes nothing.

use crate::cli_e2e::{kontor, text};

#[test]
fn demo_loads_every_sample_source_and_a_second_sync_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = kontor(dir.path(), &["demo"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    for line in [
        "datev-buchungen      credit_note=1 invoice=4 payment=1",
        "datev-debitoren      customer=1",
        "einvoices            credit_note=1 customer=5 invoice=4",
        "erpnext              credit_note=1 customer=4 invoice=5 order=3 payment=3 quote=4 stock=5",
        "opentrans            customer=2 delivery=1 invoice=1 order=1 order_confirmation=2",
        "wawi-kunden          customer=7",
        "wawi-kontakte        activity=3",
        "wawi-offene-posten   credit_note=2 invoice=7",
        "wawi-angebote        quote=5",
        "wawi-rechnungen      invoice=8",
        // The merged view of one customer from CSV, XML and REST.
        "Müller & Söhne GmbH (customer ",
        "open items: 5.449,60 EUR in 5 invoice(s)",
        "promised 08.12.2026 (was 27.11.2026, confirmed by opentrans)",
        "GS-2026-0001",
        "GU-2026-0007",
        // Its quotes: one expires in three days (the demo's quotes are dated around today),
        // the customer's request from an openTRANS RFQ.
        "open quotes:",
        "expires in 3 days  4.280,00 EUR  ← wawi-angebote",
        "ANF-2026-81    of 01.12.2026 (requested, no quote yet)",
        // A complaint with the demo's service process: a step done, one overdue.
        "Spannzangen mit Transportschaden (lieferung, new), expected cost 35.00 EUR",
        "1. Schaden mit Fotos dokumentieren ",
        "2. Ersatzlieferung versenden ",
        // What the desk finds suggested.
        "suggested reminders:",
        "Schritt „Ersatzlieferung versenden“ der Reklamation „Spannzangen mit Transportschaden“ ist überfällig",
        "Angebot AN-0318 läuft am ",
        "Zahlungsverhalten verschlechtert: Schröder Elektrotechnik GmbH & Co. KG — zahlt im Schnitt 24,5 Tage nach Fälligkeit (Vorjahr 0,5 Tage); 4 von 4 Rechnungen verspätet",
    ] {
        assert!(stdout.contains(line), "missing `{line}` in:\n{stdout}");
    }
    for (connector, no) in [
        ("erpnext", "CUST-10001"),
        ("einvoices", "00042"),
        ("opentrans", "00042"),
        ("wawi-kunden", "00042"),
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim_start().starts_with(connector) && l.contains(no)),
            "source {connector} {no} missing in:\n{stdout}"
        );
    }
    assert!(stderr.contains("identity: "), "{stderr}");
    // A person for the web page, with a printed random password.
    let signin = stdout
        .lines()
        .find(|l| l.contains("sign in as `demo` with the password `"))
        .unwrap_or_else(|| panic!("no sign-in line in:\n{stdout}"));
    let password = signin.split('`').nth(7).unwrap();
    assert!(password.len() >= 10, "{signin}");
    let ws = dir.path().join("kontor-demo");
    let users = kontor(&ws, &["user", "list"]);
    assert!(text(&users).0.contains("demo"), "{}", text(&users).0);
    let again = kontor(&ws, &["sync", "--all"]);
    let (stdout, stderr) = text(&again);
    assert_eq!(again.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(
        stdout.lines().count(),
        11,
        "every connector but the mock ERP's (disabled): {stdout}"
    );
    assert!(
        stdout
            .lines()
            .all(|l| l.starts_with("read=0 inserted=0 updated=0")),
        "{stdout}"
    );
    // Search and caller-ID on the command line.
    let found = kontor(&ws, &["customer", "Mueller", "--json"]);
    let (stdout, stderr) = text(&found);
    assert_eq!(found.status.code(), Some(0), "{stderr}");
    let view: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(view["name"], "Müller & Söhne GmbH");
    let id = view["id"].as_i64().unwrap();
    let call = kontor(&ws, &["lookup", "+49 221 4711-23", "--json"]);
    let (stdout, stderr) = text(&call);
    assert_eq!(call.status.code(), Some(0), "{stderr}");
    let r: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(r["candidates"][0]["customer_id"].as_i64(), Some(id), "{r}");
    let none = kontor(&ws, &["customer", "xyzzy-nothing"]);
    assert_eq!(none.status.code(), Some(1));
}
