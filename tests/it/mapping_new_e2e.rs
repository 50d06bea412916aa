//! A new source connected in minutes (issue 20 item 3): three unfamiliar exports of an older
//! WaWi — open items in Windows-1252 with `;`, `1.234,56` and a total line, customers in
//! UTF-8 with BOM and a multi-line address, stock tab-separated — get their mappings from
//! `kontor mapping new`; `kontor check` passes, the fixtures pass, and a sync loads them.

use crate::common::nodes::{run, write_config};
use serde_json::Value;
use std::path::Path;

both_backends!(three_unfamiliar_exports_are_connected_with_mapping_new);

/// Windows-1252 bytes of `s` (the test's texts are Latin-1).
fn cp1252(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect()
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

const OPEN_ITEMS: &str = "Beleg-Nr.;Belegart;Kto-Nr.;Name;Belegdatum;Fälligkeit;Betrag;Offener Betrag;S/H\r\n\
RE-2026-0101;RE;10042;Müller & Söhne GmbH;01.10.2026;31.10.2026;1.190,00;1.190,00;S\r\n\
RE-2026-0102;RE;10043;Bäckerei Groß;15.10.2026;14.11.2026;2.975,00;975,00;S\r\n\
RE-2026-0103;RE;10042;Müller & Söhne GmbH;02.11.2026;02.12.2026;12.345,67;12.345,67;S\r\n\
;;;Summe;;;16.510,67;14.510,67;\r\n";

const CUSTOMERS: &str = "\u{feff}Kunden-Nr.,Firma,Straße,PLZ,Ort,Telefon,E-Mail,USt-IdNr.\n\
10042,Müller & Söhne GmbH,\"Hauptstraße 12\nHinterhaus\",50667,Köln,0221 4711-0,info@mueller-soehne.de,DE123456788\n\
10043,Bäckerei Groß,Marktplatz 3,80331,München,089 123456,kontakt@baeckerei-gross.de,\n";

const STOCK: &str = "Artikelnr\tBezeichnung\tLager\tBestand\tVerfügbar\tEinheit\n\
0815-A\tSpannzange ER32\tHAUPT\t1.250\t1.210\tStk\n\
4711\tHydrauliköl 5 l\tHAUPT\t12\t10\tKanister\n";

fn records(dir: &Path, entity: &str) -> Vec<Value> {
    let (code, out, err) = run(
        dir,
        &["records", "--entity", entity, "--json", "--limit", "0"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let mut v: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    v.sort_by_key(|r| r["external_id"].as_str().unwrap_or_default().to_owned());
    v
}

async fn three_unfamiliar_exports_are_connected_with_mapping_new(backend: &str) {
    let (_store, guard) = kontor::testing::temp_store(backend).await.unwrap();
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    write(dir, "inbox/op/offene_posten.csv", &cp1252(OPEN_ITEMS));
    write(dir, "inbox/kunden/kunden.csv", CUSTOMERS.as_bytes());
    write(dir, "inbox/lager/bestand.txt", STOCK.as_bytes());

    // To stdout: the proposal, the summary on stderr.
    let (code, out, err) = run(
        dir,
        &[
            "mapping",
            "new",
            "--from",
            "inbox/op/offene_posten.csv",
            "--entity",
            "invoice",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    for want in [
        "encoding = \"windows-1252\"",
        "delimiter = \";\"",
        "number = { column = \"Beleg-Nr.\", required = true }",
        "customer_no = { column = \"Kto-Nr.\", required = true }",
        "due_date = { column = \"Fälligkeit\", date = \"%d.%m.%Y\" }",
        "gross = { column = \"Betrag\", decimal = \"de\", negate = { column = \"S/H\", equals = \"H\" } }",
        "skip_if = [ { column = \"Beleg-Nr.\", empty = true } ]",
        "# net = \"…\"",
        "# Columns not read: \"Belegart\" (text), \"Name\" (text)",
        "skipped = true",
    ] {
        assert!(out.contains(want), "`{want}` missing:\n{out}");
    }
    assert!(
        err.contains("customer_no ← Kto-Nr.") && err.contains("no column for: "),
        "{err}"
    );

    for (from, entity, out) in [
        ("inbox/op/offene_posten.csv", "invoice", "mappings/op.toml"),
        (
            "inbox/kunden/kunden.csv",
            "customer",
            "mappings/kunden.toml",
        ),
        ("inbox/lager/bestand.txt", "item", "mappings/lager.toml"),
    ] {
        let (code, o, e) = run(
            dir,
            &[
                "mapping", "new", "--from", from, "--entity", entity, "--out", out,
            ],
        );
        assert_eq!(code, 0, "{o}{e}");
        assert!(e.contains(&format!("wrote {out}")), "{e}");
    }
    // An empty export is no proposal (it exited 0 with an empty mapping).
    write(dir, "inbox/leer.csv", b"");
    let (code, o, e) = run(
        dir,
        &[
            "mapping",
            "new",
            "--from",
            "inbox/leer.csv",
            "--entity",
            "invoice",
        ],
    );
    assert_ne!(code, 0, "{o}{e}");
    assert!(e.contains("has no rows"), "{e}");
    let kunden = std::fs::read_to_string(dir.join("mappings/kunden.toml")).unwrap();
    for want in [
        "encoding = \"utf-8\"",
        "delimiter = \",\"",
        "\"address.street\" = \"Straße\"",
        "phones = { column = \"Telefon\", on_error = \"null\" }",
        "vat_id = \"USt-IdNr.\"",
    ] {
        assert!(kunden.contains(want), "`{want}` missing:\n{kunden}");
    }
    let lager = std::fs::read_to_string(dir.join("mappings/lager.toml")).unwrap();
    for want in [
        "entity = \"stock\"",
        "delimiter = \"\\t\"",
        "on_hand = { column = \"Bestand\", decimal = \"de\" }",
    ] {
        assert!(lager.contains(want), "`{want}` missing:\n{lager}");
    }
    // The fixture: the first rows byte for byte (still Windows-1252) and their records.
    let fixture = std::fs::read(dir.join("mappings/op.fixtures/first-rows.csv")).unwrap();
    assert_eq!(fixture, cp1252(OPEN_ITEMS));
    let expected =
        std::fs::read_to_string(dir.join("mappings/op.fixtures/first-rows.expected.jsonl"))
            .unwrap();
    assert_eq!(expected.lines().count(), 3, "{expected}");
    assert!(expected.contains("\"customer_no\":\"10042\""), "{expected}");

    // Never overwritten without --force.
    let args = [
        "mapping",
        "new",
        "--from",
        "inbox/op/offene_posten.csv",
        "--entity",
        "invoice",
        "--out",
        "mappings/op.toml",
    ];
    let (code, _, err) = run(dir, &args);
    assert_eq!(code, 1);
    assert!(
        err.contains("mappings/op.toml exists; --force overwrites it"),
        "{err}"
    );
    let mut forced = args.to_vec();
    forced.push("--force");
    assert_eq!(run(dir, &forced).0, 0);

    let connectors: String = [("op", "op"), ("kunden", "kunden"), ("lager", "lager")]
        .iter()
        .map(|(name, m)| {
            format!(
                "[[connector]]\nname = \"{name}\"\nkind = \"csv\"\nsystem = \"wawi\"\npath = \"inbox/{name}\"\n\
                 mapping = \"mappings/{m}.toml\"\nmin_age_seconds = 0\n\n"
            )
        })
        .collect();
    write_config(dir, "kontor.toml", guard.url(), "", &connectors);

    let (code, out, err) = run(dir, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(dir, &["test-mappings"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("first-rows.csv") && out.contains(" 0 failed"),
        "{out}"
    );

    let (code, out, err) = run(dir, &["sync", "--all"]);
    assert_eq!(code, 0, "{out}{err}");
    let op_line = out
        .lines()
        .find(|l| l.contains("connector=op"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        op_line.contains("inserted=3") && op_line.contains("skipped=1"),
        "the total line is skipped: {op_line}"
    );
    assert!(!out.contains("quarantined=1"), "{out}");

    let inv = records(dir, "invoice");
    assert_eq!(inv.len(), 3, "{inv:?}");
    assert_eq!(inv[1]["data"]["customer_no"], "10043");
    assert_eq!(inv[1]["data"]["due_date"], "2026-11-14");
    assert_eq!(inv[1]["data"]["open_amount"]["amount"], "975.00");
    assert_eq!(inv[1]["data"]["status"], "partially_paid");
    assert_eq!(inv[2]["data"]["gross"]["amount"], "12345.67");

    let cust = records(dir, "customer");
    assert_eq!(cust.len(), 2, "{cust:?}");
    assert_eq!(cust[0]["data"]["name"], "Müller & Söhne GmbH");
    assert_eq!(
        cust[0]["data"]["address"]["street"],
        "Hauptstraße 12\nHinterhaus"
    );
    assert_eq!(cust[0]["data"]["vat_id"], "DE123456788");
    assert_eq!(cust[1]["data"]["address"]["city"], "München");

    let stock = records(dir, "stock");
    assert_eq!(stock.len(), 2, "{stock:?}");
    let spann = stock
        .iter()
        .find(|s| s["data"]["sku"] == "0815-A")
        .unwrap_or_else(|| panic!("{stock:?}"));
    assert_eq!(spann["data"]["on_hand"], "1250");
    assert_eq!(spann["data"]["warehouse"], "HAUPT");

    // The customer view has the open items of the invoice export.
    let (code, out, err) = run(dir, &["customer", "10043", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("RE-2026-0102"), "{out}");
}
