//! The connector end to end over a folder: discover, open, read; hostile and malformed files
//! are quarantined with line, column and reason while the good files still load.

mod common;

use common::{at, fixture};
use kontor_connector::{ConfigPart, Connector, ConnectorError, ConnectorSpec, Fields, Item, Unit};
use std::path::Path;
use std::time::{Duration, SystemTime};

fn write_old(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    // Old enough that discovery does not wait for the file to settle.
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(60))
        .unwrap();
}

/// A UBL invoice root on line 2 around `body`, so that the profile reader reads the body.
fn ubl(body: &[u8]) -> Vec<u8> {
    let mut out = b"<?xml version=\"1.0\"?>\n<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\">".to_vec();
    out.extend_from_slice(body);
    out.extend_from_slice(b"</Invoice>");
    out
}

fn spec(dir: &Path, settings: &str, source: &str) -> ConnectorSpec {
    ConnectorSpec {
        name: "einvoices".into(),
        settings: toml::from_str(settings).unwrap(),
        source: toml::from_str(source).unwrap(),
        base_dir: dir.to_path_buf(),
        batch_size: 0,
        own: Default::default(),
    }
}

/// Reads every unit: `Ok(records)` or the unit error.
async fn read_all(conn: &dyn Connector) -> Vec<(Unit, Result<Vec<Item>, ConnectorError>)> {
    let mut out = Vec::new();
    for unit in conn.discover().await.unwrap() {
        let mut reader = conn.open(&unit, None).await.unwrap();
        let mut items = Vec::new();
        let result = loop {
            match reader.next_batch().await {
                Ok(Some(batch)) => items.extend(batch.items),
                Ok(None) => break Ok(items),
                Err(e) => break Err(e),
            }
        };
        out.push((unit, result));
    }
    out
}

fn unit_error<'a>(
    results: &'a [(Unit, Result<Vec<Item>, ConnectorError>)],
    name: &str,
) -> (&'a kontor_connector::Position, &'a str) {
    let (_, res) = results
        .iter()
        .find(|(u, _)| u.label == name)
        .unwrap_or_else(|| panic!("{name} not discovered"));
    match res {
        Err(ConnectorError::Unit { position, reason }) => (position, reason.as_str()),
        other => panic!("{name}: expected a unit error, got {other:?}"),
    }
}

#[tokio::test]
async fn hostile_files_are_quarantined_and_good_files_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = std::fs::read(fixture("xrechnung/01.07a-INVOICE_ubl.xml")).unwrap();
    write_old(d, "good.xml", &good);
    write_old(
        d,
        "xxe.xml",
        b"<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>\n<x>&e;</x>",
    );
    let mut laughs =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        laughs.push_str(&format!(
            " <!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    laughs.push_str("]>\n<lolz>&lol9;</lolz>");
    write_old(d, "laughs.xml", laughs.as_bytes());
    let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    write_old(d, "deep.xml", &ubl(deep.as_bytes()));
    write_old(d, "truncated.xml", &good[..good.len() / 2]);
    write_old(
        d,
        "wrong_ns.xml",
        b"<?xml version=\"1.0\"?>\n<Invoice xmlns=\"urn:example:not-ubl\"><ID>1</ID></Invoice>",
    );
    write_old(
        d,
        "wrong_encoding.xml",
        b"<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<Invoice/>",
    );
    // Declared UTF-8, but line 3 has an ISO-8859-1 byte.
    write_old(
        d,
        "bad_utf8.xml",
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\">\n<ID>M\xFCller</ID></Invoice>",
    );
    let mut huge_text = b"<Note>".to_vec();
    huge_text.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
    huge_text.extend(b"</Note>");
    write_old(d, "huge_text.xml", &ubl(&huge_text));
    let huge_attr = format!("<ID schemeID=\"{}\"/>", "y".repeat(100 * 1024));
    write_old(d, "huge_attr.xml", &ubl(huge_attr.as_bytes()));
    write_old(d, "entity.xml", &ubl(b"<ID>&nbsp;</ID>"));
    write_old(
        d,
        "garbage.xml",
        &[0x89, b'P', b'N', b'G', 0, 1, 2, 3, 0xff, 0xfe],
    );
    write_old(d, "empty.xml", b"");
    // ISO-8859-1 encoded document: must load with the umlaut intact.
    let latin1 =
        String::from_utf8(std::fs::read(fixture("xrechnung/03.06a-INVOICE_ubl.xml")).unwrap())
            .unwrap()
            .replacen("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"", 1);
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&latin1);
    assert!(!unmappable);
    write_old(d, "latin1.xml", &bytes);

    let conn = kontor_xml::build(spec(d, "path = \".\"", "")).unwrap();
    let results = read_all(conn.as_ref()).await;
    assert_eq!(results.len(), 14);

    let expect = [
        ("xxe.xml", 2, "DOCTYPE"),
        ("laughs.xml", 2, "DOCTYPE"),
        ("deep.xml", 2, "nested deeper than 256"),
        ("truncated.xml", 0, "not closed"),
        ("wrong_ns.xml", 2, "unknown document"),
        ("wrong_encoding.xml", 1, "UTF-16"),
        ("bad_utf8.xml", 3, "UTF-8"),
        ("huge_text.xml", 2, "longer than"),
        ("huge_attr.xml", 2, "max_attr_bytes"),
        ("entity.xml", 2, "&nbsp;"),
        ("garbage.xml", 0, ""),
        ("empty.xml", 0, "no root element"),
    ];
    for (name, line, needle) in expect {
        let (pos, reason) = unit_error(&results, name);
        assert!(
            reason.contains(needle),
            "{name}: reason {reason:?} lacks {needle:?}"
        );
        assert!(
            pos.line.is_some() && pos.column.is_some(),
            "{name}: {pos:?}"
        );
        if line > 0 {
            assert_eq!(pos.line, Some(line), "{name}: {pos} {reason}");
        }
        assert_eq!(&*pos.source, name);
    }
    // The truncated file ends in the middle: its error is at its last line.
    let (pos, _) = unit_error(&results, "truncated.xml");
    let half = &good[..good.len() / 2];
    let last_line = half.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    assert_eq!(pos.line, Some(last_line), "{pos}");

    for name in ["good.xml", "latin1.xml"] {
        let (_, res) = results.iter().find(|(u, _)| u.label == name).unwrap();
        let items = res.as_ref().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(items.len(), 1);
        let Item::Record(rec) = &items[0] else {
            panic!("record")
        };
        let Fields::Tree(t) = &rec.fields else {
            panic!("tree")
        };
        assert_eq!(rec.stream.as_deref(), Some("ubl"));
        if name == "latin1.xml" {
            assert_eq!(at(t, "buyer/name"), Some("Testkäufer"));
        } else {
            assert_eq!(at(t, "number"), Some("R1234567"));
        }
    }
}

#[tokio::test]
async fn explicit_format_rejects_other_documents() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_old(
        d,
        "cii.xml",
        &std::fs::read(fixture("xrechnung/01.01a-INVOICE_uncefact.xml")).unwrap(),
    );
    write_old(
        d,
        "ubl.xml",
        &std::fs::read(fixture("xrechnung/01.01a-INVOICE_ubl.xml")).unwrap(),
    );
    write_old(
        d,
        "ubl_wrong_ns.xml",
        b"<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-3\"/>",
    );
    let conn = kontor_xml::build(spec(d, "path = \".\"\nformat = \"ubl\"", "")).unwrap();
    let results = read_all(conn.as_ref()).await;
    let (pos, reason) = unit_error(&results, "cii.xml");
    assert!(reason.contains("format = \"ubl\""), "{reason}");
    assert_eq!(pos.line, Some(2));
    let (_, reason) = unit_error(&results, "ubl_wrong_ns.xml");
    assert!(reason.contains("Invoice-3"), "{reason}");
    let (unit, res) = results.iter().find(|(u, _)| u.label == "ubl.xml").unwrap();
    assert_eq!(res.as_ref().unwrap().len(), 1);
    assert_eq!(unit.stream.as_deref(), Some("ubl"));
}

#[tokio::test]
async fn units_are_content_addressed_and_archived_when_done() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("inbox")).unwrap();
    let bytes = std::fs::read(fixture(
        "opentrans/Example_ORDER_Testdistributor_Bestellung.xml",
    ))
    .unwrap();
    write_old(&d.join("inbox"), "order.xml", &bytes);
    write_old(&d.join("inbox"), "notes.txt", b"not xml");
    let conn = kontor_xml::build(spec(d, "path = \"inbox\"\narchive = \"done\"", "")).unwrap();
    let units = conn.discover().await.unwrap();
    assert_eq!(units.len(), 1, "only .xml files");
    let unit = &units[0];
    assert_eq!(unit.key, blake3::hash(&bytes).to_hex().to_string());
    assert_eq!(unit.fingerprint.as_deref(), Some(unit.key.as_str()));
    assert_eq!(unit.size, Some(bytes.len() as u64));
    assert_eq!(unit.commit, kontor_connector::CommitMode::Atomic);

    let mut reader = conn.open(unit, None).await.unwrap();
    let batch = reader.next_batch().await.unwrap().unwrap();
    assert_eq!(batch.position, serde_json::json!({ "records": 1 }));
    assert!(reader.next_batch().await.unwrap().is_none());
    // Re-opened after a crash with the committed position: nothing left.
    let mut again = conn.open(unit, Some(batch.position.clone())).await.unwrap();
    assert!(again.next_batch().await.unwrap().is_none());

    conn.unit_done(unit).await.unwrap();
    assert!(!d.join("inbox/order.xml").exists());
    assert!(d.join("done/order.xml").exists());
    assert!(conn.discover().await.unwrap().is_empty());
}

#[test]
fn settings_are_checked() {
    let d = Path::new("/tmp");
    let err = kontor_xml::build(spec(d, "path = \".\"\nformt = \"ubl\"", ""))
        .err()
        .unwrap();
    assert_eq!(err.part, ConfigPart::Settings);
    assert_eq!(err.key, ["formt"]);
    let err = kontor_xml::build(spec(d, "path = \".\"\nformat = \"json\"", ""))
        .err()
        .unwrap();
    assert_eq!(err.key, ["format"]);
    let err = kontor_xml::build(spec(d, "path = \".\"\nformat = \"generic\"", ""))
        .err()
        .unwrap();
    assert_eq!(
        (err.part, err.key.as_slice()),
        (ConfigPart::Source, ["record".to_string()].as_slice())
    );
    let err = kontor_xml::build(spec(d, "path = \".\"", "record = \"Kunden/Kunde\""))
        .err()
        .unwrap();
    assert_eq!(err.key, ["record"]);
    let err = kontor_xml::build(spec(d, "path = \".\"\nmax_depth = 0", ""))
        .err()
        .unwrap();
    assert_eq!(err.key, ["max_depth"]);
    let err = kontor_xml::build(spec(d, "path = \".\"", "recrod = \"/a\""))
        .err()
        .unwrap();
    assert_eq!(
        (err.part, err.key.as_slice()),
        (ConfigPart::Source, ["recrod".to_string()].as_slice())
    );
    // `skip_if` belongs to the mapping engine and is accepted.
    assert!(
        kontor_xml::build(spec(
            d,
            "path = \".\"",
            "record = \"/a/b\"\nskip_if = [ { path = \"x\", empty = true } ]"
        ))
        .is_ok()
    );
}

#[tokio::test]
async fn document_size_and_line_limits_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_old(
        d,
        "big.xml",
        &std::fs::read(fixture("xrechnung/01.13a-INVOICE_ubl.xml")).unwrap(),
    );
    let conn = kontor_xml::build(spec(d, "path = \".\"\nmax_file_bytes = 4096", "")).unwrap();
    let results = read_all(conn.as_ref()).await;
    let (pos, reason) = unit_error(&results, "big.xml");
    assert!(reason.contains("max_file_bytes"), "{reason}");
    // Refused where the parsed part of the document passed the limit (attachments do not count).
    assert!(pos.line.is_some_and(|l| l > 2), "{pos:?}");

    let conn = kontor_xml::build(spec(d, "path = \".\"\nmax_lines = 3", "")).unwrap();
    let results = read_all(conn.as_ref()).await;
    let (_, reason) = unit_error(&results, "big.xml");
    assert!(reason.contains("more than 3 line items"), "{reason}");

    // A message with thousands of parties is refused, not kept in memory.
    let parties = "<PARTY/>".repeat(1001);
    let doc = format!(
        "<ORDER xmlns=\"http://www.opentrans.org/XMLSchema/2.1\"><ORDER_HEADER><ORDER_INFO><PARTIES>{parties}</PARTIES></ORDER_INFO></ORDER_HEADER></ORDER>"
    );
    write_old(d, "parties.xml", doc.as_bytes());
    let results = read_all(conn.as_ref()).await;
    let (_, reason) = unit_error(&results, "parties.xml");
    assert!(reason.contains("more than 1000 parties"), "{reason}");

    assert!(conn.check().await.unwrap().is_empty());
    let desc = conn.describe();
    assert_eq!(desc.kind, "xml");
    assert!(
        desc.streams
            .iter()
            .any(|s| s == "opentrans-dispatchnotification")
    );
    let missing = kontor_xml::build(spec(d, "path = \"nope/\"", "")).unwrap();
    assert!(matches!(
        missing.check().await,
        Err(ConnectorError::Io { .. })
    ));
}
