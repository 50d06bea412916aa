//! The safe reader's limits and events, and how it decodes the encodings XML allows.

use super::*;

fn events(xml: &str) -> Result<Vec<String>, XmlError> {
    let mut r = SafeReader::new(
        Box::new(std::io::Cursor::new(xml.as_bytes().to_vec())),
        Limits::default(),
    )?;
    let mut out = Vec::new();
    loop {
        match r.next_event()? {
            Ev::Start(e) => out.push(format!("<{}@{}:{}", e.name, e.line, e.column)),
            Ev::Text(t) => out.push(format!("'{t}'")),
            Ev::End => out.push(format!("/{}", r.path().join("/"))),
            Ev::Eof => return Ok(out),
        }
    }
}

#[test]
fn text_pieces_are_merged_and_positions_are_exact() {
    let got = events("<?xml version=\"1.0\"?>\n<a x=\"1 &amp; 2\">\n  <b>x &amp; <![CDATA[<y>]]>&#228;</b><c/></a>").unwrap();
    assert_eq!(
        got,
        [
            "<a@2:1",
            "<b@3:3",
            "'x & <y>ä'",
            "/a/b",
            "<c@3:39",
            "/a/c",
            "/a"
        ]
    );
}

#[test]
fn hostile_constructs_are_rejected() {
    let e =
        events("<!DOCTYPE a [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><a>&e;</a>").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Doctype);
    let e = events("<a>&e;</a>").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Entity);
    assert!(e.reason.contains("&e;"), "{}", e.reason);
    let e = events("<a x=\"&e;\"/>").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Entity, "{e}");
    let e = events("<a><b></a>").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Syntax);
    let e = events("<a><b>text").unwrap_err();
    assert!(e.reason.contains("not closed"), "{}", e.reason);
    let e = events("<a/><b/>").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Syntax);
    let e = events("").unwrap_err();
    assert!(e.reason.contains("no root"), "{}", e.reason);
    let many: String = (0..300).map(|i| format!(" a{i}=\"\"")).collect();
    let e = events(&format!("<a{many}/>")).unwrap_err();
    assert!(
        e.reason.contains("more than 256 attributes"),
        "{}",
        e.reason
    );
    let deep = "<a>".repeat(300);
    let e = events(&deep).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit);
}

mod encoding_tests {
    use super::*;

    fn first_text(bytes: Vec<u8>) -> Result<String, XmlError> {
        let mut r = SafeReader::new(Box::new(std::io::Cursor::new(bytes)), Limits::default())?;
        loop {
            match r.next_event()? {
                Ev::Text(t) if !t.trim().is_empty() => return Ok(t),
                Ev::Eof => return Ok(String::new()),
                _ => {}
            }
        }
    }

    #[test]
    fn utf16_with_and_without_bom_and_latin1_are_transcoded() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<a>Größe €</a>";
        let le: Vec<u8> = doc.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = doc.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for (name, mut bytes, bom) in [
            ("le", le.clone(), [0xFF, 0xFE]),
            ("be", be.clone(), [0xFE, 0xFF]),
        ] {
            assert_eq!(
                first_text(bytes.clone()).unwrap(),
                "Größe €",
                "{name} without BOM"
            );
            bytes.splice(0..0, bom);
            assert_eq!(first_text(bytes).unwrap(), "Größe €", "{name} with BOM");
        }
        let latin = "<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?><a>Größe €</a>";
        let (bytes, _, _) = encoding_rs::ISO_8859_15.encode(latin);
        assert_eq!(first_text(bytes.into_owned()).unwrap(), "Größe €");
        let mut bom8 = vec![0xEF, 0xBB, 0xBF];
        bom8.extend_from_slice(b"<a>x</a>");
        assert_eq!(first_text(bom8).unwrap(), "x");
    }
}
