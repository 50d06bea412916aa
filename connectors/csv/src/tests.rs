use super::*;
use kontor_connector::{Fields, Item};
use std::io::Write;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/datev")
        .join(name)
}

fn connector(dir: &Path, path: &str, settings: &str) -> CsvConnector {
    let mut table: toml::Table = toml::from_str(settings).unwrap();
    table.insert("path".into(), toml::Value::String(path.into()));
    table.insert("min_age_seconds".into(), toml::Value::Integer(0));
    CsvConnector::new(ConnectorSpec {
        name: "t".into(),
        settings: table,
        base_dir: dir.to_path_buf(),
        batch_size: 2,
        ..ConnectorSpec::default()
    })
    .unwrap()
}

use kontor_connector::toml;

async fn read_all(
    c: &CsvConnector,
    state: Option<serde_json::Value>,
) -> (Vec<Item>, Vec<serde_json::Value>) {
    let units = c.discover().await.unwrap();
    let mut items = Vec::new();
    let mut positions = Vec::new();
    for u in &units {
        let mut r = c.open(u, state.clone()).await.unwrap();
        while let Some(b) = r.next_batch().await.unwrap() {
            positions.push(b.position.clone());
            items.extend(b.items);
        }
    }
    (items, positions)
}

fn value(item: &Item, col: &str) -> String {
    match item {
        Item::Record(r) => match &r.fields {
            Fields::Row { header, values } => {
                let i = header
                    .iter()
                    .position(|h| h == col)
                    .unwrap_or_else(|| panic!("no column {col}"));
                values.get(i).unwrap().to_owned()
            }
            Fields::Tree(_) => panic!("tree"),
        },
        Item::Reject(r) => panic!("reject: {}", r.reason),
    }
}

fn line(item: &Item) -> u64 {
    match item {
        Item::Record(r) => r.position.line.unwrap(),
        Item::Reject(r) => r.position.line.unwrap(),
    }
}

#[tokio::test]
async fn datev_buchungsstapel_header_context_and_umlauts() {
    let dir = fixture("");
    let c = connector(&dir, "EXTF_Buchungsstapel.csv", "");
    let (items, _) = read_all(&c, None).await;
    assert_eq!(items.len(), 2);
    let Item::Record(first) = &items[0] else {
        panic!()
    };
    assert_eq!(first.stream.as_deref(), Some("datev/Buchungsstapel"));
    assert_eq!(
        first
            .context
            .get("datev.fiscal_year_start")
            .map(String::as_str),
        Some("20180101")
    );
    assert_eq!(first.position.line, Some(3));
    assert_eq!(
        value(&items[0], "Buchungstext"),
        "Fachbuch: Controlling für Dummies"
    );
    assert_eq!(value(&items[1], "Umsatz (ohne Soll/Haben-Kz)"), "5950,00");
    assert_eq!(value(&items[1], "Belegfeld 1"), "RE201802-135");
    assert_eq!(line(&items[1]), 4);
}

#[tokio::test]
async fn datev_stammdaten_keep_leading_zeros_and_umlauts() {
    let c = connector(&fixture(""), "EXTF_Stammdaten.csv", "");
    let (items, _) = read_all(&c, None).await;
    assert_eq!(items.len(), 4);
    assert_eq!(value(&items[0], "Ort"), "Köln");
    assert_eq!(value(&items[0], "Konto"), "10000");
    let Item::Record(r) = &items[0] else { panic!() };
    assert_eq!(r.stream.as_deref(), Some("datev/Debitoren/Kreditoren"));
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::File::create(dir.join(name))
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

#[tokio::test]
async fn encodings_bom_delimiters_quotes_and_blank_lines() {
    let dir = tempfile::tempdir().unwrap();
    // UTF-8 with BOM, comma separated, quoted delimiter and newline, CRLF, blank trailing lines.
    write(dir.path(), "a.csv", "\u{feff}Kdnr,Name,Ort\r\n0012,\"Müller, Söhne\",Köln\r\n0013,\"Zeile1\r\nZeile2\",Düsseldorf\r\n\r\n\r\n".as_bytes());
    let c = connector(dir.path(), "a.csv", "");
    let (items, _) = read_all(&c, None).await;
    assert_eq!(items.len(), 2);
    assert_eq!(value(&items[0], "Kdnr"), "0012");
    assert_eq!(value(&items[0], "Name"), "Müller, Söhne");
    assert_eq!(value(&items[1], "Name"), "Zeile1\r\nZeile2");
    assert_eq!((line(&items[0]), line(&items[1])), (2, 3));

    // Windows-1252, tab separated, detected automatically.
    let (cp, _, _) = encoding_rs::WINDOWS_1252.encode("Kdnr\tOrt\n7\tGroß-Umstadt\n8\tMünchen\n");
    let dir2 = tempfile::tempdir().unwrap();
    write(dir2.path(), "b.txt", &cp);
    let (items, _) = read_all(&connector(dir2.path(), ".", ""), None).await;
    assert_eq!(value(&items[0], "Ort"), "Groß-Umstadt");
    assert_eq!(value(&items[1], "Ort"), "München");

    // UTF-16LE with BOM (Excel "Unicode text").
    let mut utf16 = vec![0xFF, 0xFE];
    for u in "Kdnr\tOrt\r\n9\tLüneburg\r\n".encode_utf16() {
        utf16.extend(u.to_le_bytes());
    }
    let dir3 = tempfile::tempdir().unwrap();
    write(dir3.path(), "c.txt", &utf16);
    let (items, _) = read_all(&connector(dir3.path(), "c.txt", ""), None).await;
    assert_eq!(value(&items[0], "Ort"), "Lüneburg");
}

#[tokio::test]
async fn wrong_column_count_and_wrong_encoding_become_rejects_with_lines() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.csv",
        b"Kdnr;Name\n1;A\n2;B;extra\n\n3\n4;D\n",
    );
    let (items, _) = read_all(&connector(dir.path(), "a.csv", ""), None).await;
    let rejects: Vec<(u64, String)> = items
        .iter()
        .filter_map(|i| match i {
            Item::Reject(r) => Some((r.position.line.unwrap(), r.reason.clone())),
            Item::Record(_) => None,
        })
        .collect();
    assert_eq!(
        rejects,
        [
            (3, "expected 2 columns, found 3".to_string()),
            (5, "expected 2 columns, found 1".to_string())
        ]
    );
    assert_eq!(line(&items[3]), 6);

    // Declared UTF-8 but the bytes are Windows-1252.
    let (cp, _, _) = encoding_rs::WINDOWS_1252.encode("Kdnr;Ort\n1;Köln\n2;Bonn\n");
    write(dir.path(), "b.csv", &cp);
    let (items, _) = read_all(&connector(dir.path(), "b.csv", "encoding = 'utf-8'"), None).await;
    match &items[0] {
        Item::Reject(r) => {
            assert_eq!(r.field.as_deref(), Some("Ort"));
            assert!(r.reason.contains("invalid UTF-8"), "{}", r.reason);
            assert!(r.raw.contains("K"), "{}", r.raw);
        }
        Item::Record(_) => panic!("expected a reject"),
    }
    assert_eq!(value(&items[1], "Ort"), "Bonn");
    // Declared Windows-1252 but the bytes are UTF-8.
    write(dir.path(), "c.csv", "Kdnr;Ort\n1;Köln\n".as_bytes());
    let (items, _) = read_all(
        &connector(dir.path(), "c.csv", "encoding = 'windows-1252'"),
        None,
    )
    .await;
    assert!(matches!(&items[0], Item::Reject(r) if r.reason.contains("looks like UTF-8")));
}

#[tokio::test]
async fn resume_skips_exactly_the_committed_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("Nr;Wert\n");
    for i in 1..=7 {
        text.push_str(&format!("{i};x\n"));
        if i == 3 {
            text.push('\n');
        }
    }
    write(dir.path(), "a.csv", text.as_bytes());
    let c = connector(dir.path(), "a.csv", "");
    let (all, positions) = read_all(&c, None).await;
    assert_eq!(all.len(), 7);
    assert_eq!(positions.last().unwrap()["records"], 7);
    let (rest, _) = read_all(&c, Some(serde_json::json!({"records": 4}))).await;
    let nrs: Vec<String> = rest.iter().map(|i| value(i, "Nr")).collect();
    assert_eq!(nrs, ["5", "6", "7"]);
    assert_eq!(line(&rest[0]), 7);
}

#[tokio::test]
async fn a_file_changed_while_reading_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.csv", b"Nr\n1\n");
    let c = connector(dir.path(), "a.csv", "");
    let units = c.discover().await.unwrap();
    write(dir.path(), "a.csv", b"Nr\n1\n2\n");
    let mut r = c.open(&units[0], None).await.unwrap();
    let mut err = None;
    loop {
        match r.next_batch().await {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    assert!(
        err.unwrap()
            .to_string()
            .contains("changed while it was read")
    );
}

#[tokio::test]
async fn config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let bad = |settings: &str| {
        let mut table: toml::Table = toml::from_str(settings).unwrap();
        table.insert("path".into(), toml::Value::String(".".into()));
        CsvConnector::new(ConnectorSpec {
            settings: table,
            base_dir: dir.path().to_path_buf(),
            ..ConnectorSpec::default()
        })
        .err()
        .unwrap()
    };
    assert_eq!(bad("encoding = 'ebcdic'").key, ["encoding"]);
    assert_eq!(bad("delimter = ';'").key, ["delimter"]);
    assert_eq!(bad("delimiter = ';;'").key, ["delimiter"]);
}

#[tokio::test]
async fn archive_moves_processed_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("in")).unwrap();
    write(&dir.path().join("in"), "a.csv", b"Nr\n1\n");
    let c = connector(dir.path(), "in", "archive = 'done'");
    let units = c.discover().await.unwrap();
    c.unit_done(&units[0]).await.unwrap();
    assert!(dir.path().join("done/a.csv").exists());
    assert!(c.discover().await.unwrap().is_empty());
}

#[tokio::test]
async fn wide_rows_make_shorter_batches() {
    // 120 columns of 20 characters: ~2.5 KB per row, so 5 000 rows would be ~12 MB a batch.
    let dir = tempfile::tempdir().unwrap();
    let cols = 120;
    let mut text = (1..=cols)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(";");
    text.push('\n');
    let rows = 3_000;
    for r in 0..rows {
        let row: Vec<String> = (0..cols).map(|c| format!("{r:010}-{c:09}")).collect();
        text.push_str(&row.join(";"));
        text.push('\n');
    }
    write(dir.path(), "wide.csv", text.as_bytes());
    let mut c = connector(dir.path(), "wide.csv", "");
    c.batch_size = 5_000;
    let units = c.discover().await.unwrap();
    let mut r = c.open(&units[0], None).await.unwrap();
    let (mut sizes, mut total) = (Vec::new(), 0);
    while let Some(b) = r.next_batch().await.unwrap() {
        let bytes: usize = b.items.iter().map(Item::approx_bytes).sum();
        assert!(
            bytes < kontor_connector::MAX_BATCH_BYTES + 10_000,
            "a batch of {bytes} bytes"
        );
        total += b.items.len();
        sizes.push(b.items.len());
    }
    assert_eq!(total, rows, "every row is read once");
    assert!(sizes.len() > 1, "one batch of {} rows", sizes[0]);
    // Narrow rows still fill the configured batch.
    let narrow: String = std::iter::once("Nr\n".to_string())
        .chain((0..6_000).map(|i| format!("{i}\n")))
        .collect();
    write(dir.path(), "narrow.csv", narrow.as_bytes());
    let mut c = connector(dir.path(), "narrow.csv", "");
    c.batch_size = 5_000;
    let units = c.discover().await.unwrap();
    let mut r = c.open(&units[0], None).await.unwrap();
    assert_eq!(r.next_batch().await.unwrap().unwrap().items.len(), 5_000);
}
