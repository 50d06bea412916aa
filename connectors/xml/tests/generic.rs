//! Generic XML exports: records by element path, attributes, nesting, repetition, batches,
//! resume positions, encodings and per-record limits.

mod common;

use common::{at, fixture};
use kontor_connector::{Batch, Connector, ConnectorError, ConnectorSpec, Fields, Item};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, SystemTime};

fn write_old(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(60))
        .unwrap();
}

fn connector(
    dir: &Path,
    settings: &str,
    record: &str,
    batch_size: usize,
) -> kontor_connector::DynConnector {
    kontor_xml::build(ConnectorSpec {
        name: "wawi".into(),
        settings: toml::from_str(settings).unwrap(),
        source: toml::from_str(&format!("record = \"{record}\"")).unwrap(),
        base_dir: dir.to_path_buf(),
        batch_size,
        own: Default::default(),
    })
    .unwrap()
}

fn export(n: usize) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<w:Export xmlns:w=\"urn:wawi\" version=\"3\">\n  <w:Kunden>\n",
    );
    for i in 1..=n {
        s.push_str(&format!(
            "    <w:Kunde nr=\"{i:05}\" aktiv=\"ja\">\n      <Name>Kunde {i}</Name>\n      <Telefon typ=\"fest\">0221 {i}</Telefon>\n      <Telefon typ=\"mobil\">0170 {i}</Telefon>\n      <Adresse><Strasse>Weg {i}</Strasse><Ort>Köln</Ort></Adresse>\n    </w:Kunde>\n"
        ));
    }
    s.push_str("  </w:Kunden>\n</w:Export>\n");
    s
}

async fn batches(conn: &dyn Connector, state: Option<Value>) -> Result<Vec<Batch>, ConnectorError> {
    let unit = conn.discover().await.unwrap().remove(0);
    let mut reader = conn.open(&unit, state).await?;
    let mut out = Vec::new();
    while let Some(b) = reader.next_batch().await? {
        out.push(b);
    }
    Ok(out)
}

fn records(batches: &[Batch]) -> Vec<(Value, u64)> {
    batches
        .iter()
        .flat_map(|b| &b.items)
        .filter_map(|i| match i {
            Item::Record(r) => match &r.fields {
                Fields::Tree(t) => Some((t.clone(), r.position.line.unwrap())),
                Fields::Row { .. } => None,
            },
            Item::Reject(_) => None,
        })
        .collect()
}

#[tokio::test]
async fn records_with_attributes_nested_and_repeated_children() {
    let dir = tempfile::tempdir().unwrap();
    write_old(dir.path(), "kunden.xml", export(3).as_bytes());
    let conn = connector(
        dir.path(),
        "path = \"kunden.xml\"\nformat = \"generic\"",
        "/Export/Kunden/w:Kunde",
        0,
    );
    let got = records(&batches(conn.as_ref(), None).await.unwrap());
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[0].0,
        json!({
            "@nr": "00001", "@aktiv": "ja", "Name": "Kunde 1",
            "Telefon": [{"@typ": "fest", "#text": "0221 1"}, {"@typ": "mobil", "#text": "0170 1"}],
            "Adresse": {"Strasse": "Weg 1", "Ort": "Köln"}
        })
    );
    // Each record's position is the line of its element.
    assert_eq!(got.iter().map(|(_, l)| *l).collect::<Vec<_>>(), [4, 10, 16]);
    assert_eq!(at(&got[2].0, "@nr"), Some("00003"));
}

#[tokio::test]
async fn batches_carry_resume_positions_and_resume_skips_exactly_the_consumed_records() {
    let dir = tempfile::tempdir().unwrap();
    write_old(dir.path(), "kunden.xml", export(10).as_bytes());
    let conn = connector(dir.path(), "path = \".\"", "//Kunde", 3);
    let all = batches(conn.as_ref(), None).await.unwrap();
    let sizes: Vec<usize> = all.iter().map(|b| b.items.len()).collect();
    assert_eq!(sizes, [3, 3, 3, 1]);
    let positions: Vec<Value> = all.iter().map(|b| b.position.clone()).collect();
    assert_eq!(
        positions,
        [
            json!({"records": 3}),
            json!({"records": 6}),
            json!({"records": 9}),
            json!({"records": 10})
        ]
    );
    let bytes: Vec<u64> = all.iter().map(|b| b.bytes_read.unwrap()).collect();
    assert!(bytes.windows(2).all(|w| w[0] < w[1]), "{bytes:?}");

    // A crash after the second batch: resume from its committed position.
    let resumed = records(
        &batches(conn.as_ref(), Some(all[1].position.clone()))
            .await
            .unwrap(),
    );
    let numbers: Vec<&str> = resumed.iter().map(|(t, _)| at(t, "@nr").unwrap()).collect();
    assert_eq!(numbers, ["00007", "00008", "00009", "00010"]);
    assert_eq!(
        resumed[0].1,
        4 + 6 * 6,
        "positions stay true after skipping"
    );
    // Everything consumed: nothing left.
    assert!(
        batches(conn.as_ref(), Some(json!({"records": 10})))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn windows_1252_export_and_oversized_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n<Export>\n");
    xml.push_str("<Artikel nr=\"1\"><Text>Größe €</Text></Artikel>\n");
    xml.push_str(&format!(
        "<Artikel nr=\"2\"><Text>{}</Text></Artikel>\n",
        "z".repeat(5000)
    ));
    xml.push_str("<Artikel nr=\"3\"><Text>Maß</Text></Artikel>\n</Export>\n");
    let (bytes, _, bad) = encoding_rs::WINDOWS_1252.encode(&xml);
    assert!(!bad);
    write_old(dir.path(), "artikel.xml", &bytes);
    let conn = connector(
        dir.path(),
        "path = \".\"\nmax_record_bytes = 1000",
        "/Export/Artikel",
        0,
    );
    let all = batches(conn.as_ref(), None).await.unwrap();
    let items: Vec<&Item> = all.iter().flat_map(|b| &b.items).collect();
    assert_eq!(items.len(), 3);
    match items[1] {
        Item::Reject(r) => {
            assert!(r.reason.contains("max_record_bytes"), "{}", r.reason);
            assert_eq!(r.position.line, Some(4));
        }
        Item::Record(_) => panic!("oversized record must be rejected"),
    }
    let recs = records(&all);
    assert_eq!(at(&recs[0].0, "Text"), Some("Größe €"));
    assert_eq!(at(&recs[1].0, "Text"), Some("Maß"));
    assert_eq!(all.last().unwrap().position, json!({"records": 3}));
}

#[tokio::test]
async fn auto_format_uses_profiles_first_and_generic_for_other_roots() {
    let dir = tempfile::tempdir().unwrap();
    write_old(dir.path(), "a_kunden.xml", export(2).as_bytes());
    write_old(
        dir.path(),
        "b_invoice.xml",
        &std::fs::read(fixture("xrechnung/01.01a-INVOICE_ubl.xml")).unwrap(),
    );
    let conn = connector(dir.path(), "path = \"*.xml\"", "/Export/Kunden/Kunde", 0);
    let units = conn.discover().await.unwrap();
    assert_eq!(units.len(), 2);
    let mut streams = Vec::new();
    for unit in &units {
        let mut reader = conn.open(unit, None).await.unwrap();
        while let Some(b) = reader.next_batch().await.unwrap() {
            for item in b.items {
                if let Item::Record(r) = item {
                    streams.push(r.stream.as_deref().map(str::to_owned));
                }
            }
        }
    }
    assert_eq!(streams, [None, None, Some("ubl".to_owned())]);
}

#[tokio::test]
async fn a_file_broken_in_the_middle_fails_the_unit_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let mut xml = export(5);
    xml = xml.replacen("<Name>Kunde 4</Name>", "<Name>Kunde 4</Nme>", 1);
    write_old(dir.path(), "kunden.xml", xml.as_bytes());
    let conn = connector(dir.path(), "path = \".\"", "//Kunde", 2);
    let unit = conn.discover().await.unwrap().remove(0);
    let mut reader = conn.open(&unit, None).await.unwrap();
    assert_eq!(reader.next_batch().await.unwrap().unwrap().items.len(), 2);
    match reader.next_batch().await {
        Err(ConnectorError::Unit { position, reason }) => {
            assert_eq!(position.line, Some(4 + 3 * 6 + 1), "{position}: {reason}");
            assert!(reason.contains("Nme"), "{reason}");
        }
        other => panic!("expected a unit error, got {other:?}"),
    }
    // After the error the reader is finished.
    assert!(reader.next_batch().await.unwrap().is_none());
}
