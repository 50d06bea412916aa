//! E-invoices as they arrive: hybrid PDFs (every shared ZUGFeRD/Factur-X sample, and PDFs made
//! here from real invoice XML for the edge cases), ZUGFeRD 1.0, the EN 16931 range (buyer
//! without identifier, attachments, negative invoices, business rules, Leitweg-ID) and the
//! direction of an invoice.

mod common;

use common::{at, fixture, tree};
use kontor_connector::{ConnectorError, Item, RawRecord};
use kontor_xml::{Format, Limits, OwnParty, reader_for, reader_for_bytes};
use lopdf::{Document, Object, Stream, dictionary};
use std::path::Path;

/// Reads a file (or bytes under a label) to the end: the records, or the unit error.
fn read(
    label: &str,
    bytes: Option<Vec<u8>>,
    limits: Limits,
    own: OwnParty,
) -> Result<Vec<RawRecord>, (String, String)> {
    let reader = match bytes {
        Some(b) => reader_for_bytes(b, label, Format::Auto, limits, None, 10),
        None => reader_for(label.into(), Format::Auto, limits, None, 10, 0),
    };
    let mut reader = reader.with_own(own);
    let mut out = Vec::new();
    loop {
        match reader.next_batch_blocking() {
            Ok(Some(b)) => out.extend(b.items.into_iter().filter_map(|i| match i {
                Item::Record(r) => Some(r),
                Item::Reject(_) => None,
            })),
            Ok(None) => return Ok(out),
            Err(ConnectorError::Unit { position, reason }) => {
                return Err((position.to_string(), reason));
            }
            Err(e) => panic!("{label}: not a unit error: {e}"),
        }
    }
}

fn one(label: &str, bytes: Option<Vec<u8>>) -> RawRecord {
    let mut rs = read(label, bytes, Limits::default(), OwnParty::default())
        .unwrap_or_else(|e| panic!("{label}: {e:?}"));
    assert_eq!(rs.len(), 1, "{label}");
    rs.remove(0)
}

fn refused(label: &str, bytes: Vec<u8>) -> (String, String) {
    read(label, Some(bytes), Limits::default(), OwnParty::default())
        .err()
        .unwrap_or_else(|| panic!("{label}: expected a refusal"))
}

/// A PDF with the given embedded files (name, content, deflated?), listed in the
/// `EmbeddedFiles` name tree and as associated files, like ZUGFeRD/Factur-X writers do.
fn pdf_with(files: &[(&str, &[u8], bool)]) -> Document {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(
            dictionary! { "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1 },
        ),
    );
    let (mut names, mut af) = (Vec::new(), Vec::new());
    for (name, content, deflate) in files {
        let mime: &[u8] = if name.to_lowercase().ends_with(".xml") {
            b"text/xml"
        } else {
            b"application/octet-stream"
        };
        let mut stream = Stream::new(
            dictionary! { "Type" => "EmbeddedFile", "Subtype" => Object::Name(mime.to_vec()) },
            content.to_vec(),
        );
        if *deflate {
            stream.compress().unwrap();
        }
        let sid = doc.add_object(stream);
        let spec = doc.add_object(dictionary! {
            "Type" => "Filespec", "F" => Object::string_literal(*name), "UF" => Object::string_literal(*name),
            "EF" => dictionary! { "F" => sid, "UF" => sid }, "AFRelationship" => "Alternative",
        });
        names.push(Object::string_literal(*name));
        names.push(spec.into());
        af.push(spec.into());
    }
    let catalog = doc.add_object(dictionary! {
        "Type" => "Catalog", "Pages" => pages_id,
        "Names" => dictionary! { "EmbeddedFiles" => dictionary! { "Names" => names } },
        "AF" => af,
    });
    doc.trailer.set("Root", catalog);
    doc
}

fn save(mut doc: Document) -> Vec<u8> {
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn xml(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap()
}

/// What a sample PDF gives: (embedded name, number, buyer's customer number), or the reason.
type Expected = Result<(&'static str, &'static str, &'static str), &'static str>;

/// Every shared ZUGFeRD/Factur-X PDF: loads with the invoice inside, or is refused with the
/// documented reason.
#[test]
fn every_shared_hybrid_pdf_loads_or_is_refused_with_its_reason() {
    // (file, Ok(embedded name, number, buyer's customer number) | Err(reason))
    let table: &[(&str, Expected)] = &[
        (
            "EN16931_1_Teilrechnung.pdf",
            Ok(("factur-x.xml", "471102", "GE2020211")),
        ),
        (
            "MustangBeispiel20221026.pdf",
            Ok(("factur-x.xml", "RE1001", "10000")),
        ),
        (
            "invalidPDF.pdf",
            Ok(("factur-x.xml", "RE-20190610/507", "DE999999999")),
        ),
        (
            "validV2PDF.pdf",
            Ok(("ZUGFeRD-invoice.xml", "RE-20171118/506", "DE999999999")),
        ),
        (
            "MustangGnuaccountingBeispielRE-20201121_508blankoA3.pdf",
            Err("PDF enthält keine E-Rechnung"),
        ),
    ];
    let dir = fixture("zugferd");
    let mut pdfs: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".pdf"))
        .collect();
    pdfs.sort();
    let mut listed: Vec<String> = table.iter().map(|(f, _)| (*f).to_owned()).collect();
    listed.sort();
    assert_eq!(pdfs, listed, "every sample PDF is in the table");
    for (file, want) in table {
        let path = dir.join(file);
        let label = path.display().to_string();
        match (
            read(&label, None, Limits::default(), OwnParty::default()),
            want,
        ) {
            (Ok(rs), Ok((name, number, customer))) => {
                assert_eq!(rs.len(), 1, "{file}");
                let r = &rs[0];
                let pos = r.position.to_string();
                assert!(
                    pos.starts_with(&format!("{label}#{name}:")),
                    "{file}: {pos}"
                );
                assert_eq!(r.stream.as_deref(), Some("cii"));
                let t = tree(r);
                assert_eq!(at(t, "number"), Some(*number), "{file}");
                assert_eq!(at(t, "customer_no"), Some(*customer), "{file}");
                assert_eq!(at(t, "doc_kind"), Some("invoice"), "{file}");
                assert!(
                    t.get("warnings").is_none(),
                    "{file}: {:?}",
                    t.get("warnings")
                );
            }
            (Err((pos, reason)), Err(want)) => {
                assert!(reason.starts_with(want), "{file}: {reason}");
                assert_eq!(pos, label, "a PDF-level refusal names the file, no line");
            }
            (got, want) => panic!("{file}: got {got:?}, want {want:?}"),
        }
    }
}

/// Each way a PDF can fail, made from real invoice XML: the reason and the position.
#[test]
fn pdf_refusals_name_the_reason_and_position() {
    let invoice = xml("xrechnung/01.01a-INVOICE_uncefact.xml");
    // (case, pdf bytes, position prefix, reason start)
    let mut broken = invoice.clone();
    broken.truncate(broken.len() / 2);
    let png = b"\x89PNG\r\n\x1a\n....".as_slice();
    let cases: Vec<(&str, Vec<u8>, String, &str)> = vec![
        (
            "no attachment",
            save(pdf_with(&[])),
            "x.pdf".into(),
            "PDF enthält keine E-Rechnung: keine eingebettete Datei",
        ),
        (
            "only a picture",
            save(pdf_with(&[("logo.png", png, false)])),
            "x.pdf".into(),
            "PDF enthält keine E-Rechnung: eingebettet sind nur logo.png",
        ),
        (
            "XML that is no invoice",
            save(pdf_with(&[(
                "daten.xml",
                b"<Liste><Eintrag/></Liste>",
                true,
            )])),
            "x.pdf".into(),
            "PDF enthält keine E-Rechnung: eingebettet sind nur daten.xml (<Liste>)",
        ),
        (
            "truncated invoice XML",
            save(pdf_with(&[("factur-x.xml", &broken, true)])),
            "x.pdf#factur-x.xml:".into(),
            "unexpected end of file",
        ),
        (
            "not a PDF",
            b"GIF89a garbage".to_vec(),
            "x.pdf".into(),
            "keine PDF-Datei",
        ),
        (
            "PDF header only",
            b"%PDF-1.7\n%%EOF\n".to_vec(),
            "x.pdf".into(),
            "PDF beschädigt",
        ),
        (
            "cut in half",
            {
                let p = save(pdf_with(&[("factur-x.xml", &invoice, true)]));
                p[..p.len() / 3].to_vec()
            },
            "x.pdf".into(),
            "",
        ),
    ];
    for (case, bytes, pos, reason) in cases {
        let (got_pos, got_reason) = refused("x.pdf", bytes);
        assert!(got_pos.starts_with(&pos), "{case}: {got_pos}");
        assert!(got_reason.contains(reason), "{case}: {got_reason}");
    }
    // Too large: refused before it is read.
    let limits = Limits {
        max_pdf_bytes: 1000,
        ..Limits::default()
    };
    let big = save(pdf_with(&[("factur-x.xml", &invoice, false)]));
    let (_, reason) = read("x.pdf", Some(big), limits, OwnParty::default()).unwrap_err();
    assert!(reason.starts_with("PDF zu groß"), "{reason}");
}

#[test]
fn encrypted_pdfs_open_without_a_user_password_and_are_refused_with_one() {
    use lopdf::encryption::{EncryptionState, EncryptionVersion, Permissions};
    let invoice = xml("xrechnung/01.01a-INVOICE_uncefact.xml");
    for (user, readable) in [("", true), ("geheim", false)] {
        let mut doc = pdf_with(&[("factur-x.xml", &invoice, true)]);
        doc.trailer.set(
            "ID",
            vec![
                Object::string_literal(b"0123456789abcdef".to_vec()),
                Object::string_literal(b"0123456789abcdef".to_vec()),
            ],
        );
        let state = EncryptionState::try_from(EncryptionVersion::V2 {
            document: &doc,
            owner_password: "owner",
            user_password: user,
            key_length: 128,
            permissions: Permissions::all(),
        })
        .unwrap();
        doc.encrypt(&state).unwrap();
        let bytes = save(doc);
        match read(
            "enc.pdf",
            Some(bytes),
            Limits::default(),
            OwnParty::default(),
        ) {
            Ok(rs) => {
                assert!(readable, "user password {user:?}");
                assert_eq!(at(tree(&rs[0]), "number"), Some("123456XX"));
            }
            Err((_, reason)) => {
                assert!(!readable, "user password {user:?}: {reason}");
                assert!(reason.starts_with("PDF verschlüsselt"), "{reason}");
            }
        }
    }
}

#[test]
fn the_invoice_among_several_attachments_and_any_name_case() {
    let invoice = xml("xrechnung/01.01a-INVOICE_ubl.xml");
    let zf1 = xml("zugferd/ZUGFeRD1_COMFORT_Einfach.xml");
    // A data XML first, then the invoice under an upper-case name: the invoice is read.
    let pdf = save(pdf_with(&[
        ("zusatzdaten.xml", b"<Zusatz><Wert>1</Wert></Zusatz>", true),
        ("XRECHNUNG.XML", &invoice, false),
    ]));
    let r = one("mehrere.pdf", Some(pdf));
    assert!(
        r.position
            .to_string()
            .starts_with("mehrere.pdf#XRECHNUNG.XML:"),
        "{}",
        r.position
    );
    assert_eq!(r.stream.as_deref(), Some("ubl"));
    // ZUGFeRD 1.0 as its writers embed it.
    let r = one(
        "zf1.pdf",
        Some(save(pdf_with(&[("ZUGFeRD-invoice.xml", &zf1, true)]))),
    );
    let t = tree(&r);
    assert_eq!(r.stream.as_deref(), Some("cii"));
    for (path, want) in [
        ("root", "rsm:CrossIndustryDocument"),
        ("number", "471102"),
        ("issue_date", "2013-03-05"),
        ("due_date", "2013-04-04"),
        ("customer_no", "GE2020211"),
        ("buyer/gln", "4000001987658"),
        ("seller/vat_id", "DE123456789"),
        ("totals/net", "473.00"),
        ("totals/tax", "56.87"),
        ("totals/due", "529.87"),
        ("lines/1/net", "275.00"),
        ("lines/1/quantity", "50.0000"),
        ("taxes/0/rate", "7.00"),
    ] {
        assert_eq!(at(t, path), Some(want), "{path}");
    }
    assert!(t.get("warnings").is_none(), "{:?}", t.get("warnings"));
}

/// Replaces the first occurrence of `from` in a real document.
fn edit(doc: &[u8], from: &str, to: &str) -> Vec<u8> {
    let s = String::from_utf8(doc.to_vec()).unwrap();
    assert!(s.contains(from), "{from}");
    s.replacen(from, to, 1).into_bytes()
}

fn tree_of(label: &str, bytes: Vec<u8>) -> serde_json::Value {
    tree(&one(label, Some(bytes))).clone()
}

#[test]
fn a_buyer_with_only_a_name_gets_a_stable_synthetic_key() {
    // XRechnung 01.01a without the buyer's identifiers (a French minimum-profile buyer carries
    // only name and country).
    let base = xml("xrechnung/01.01a-INVOICE_ubl.xml");
    let s = String::from_utf8(base).unwrap();
    let start = s.find("<cac:AccountingCustomerParty>").unwrap();
    let end = s.find("</cac:AccountingCustomerParty>").unwrap();
    let party = &s[start..end];
    let stripped: String = party
        .lines()
        .filter(|l| {
            !(l.contains("EndpointID")
                || l.contains("PartyIdentification")
                || l.contains("CompanyID"))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let doc = format!("{}{}{}", &s[..start], stripped, &s[end..]);
    let t = tree_of("a.xml", doc.clone().into_bytes());
    let key = at(&t, "customer_no").unwrap().to_owned();
    assert!(key.starts_with("name:") && key.len() == 21, "{key}");
    assert_eq!(at(&t, "buyer/customer_no_source"), Some("synthetic"));
    // The same buyer in another document (different invoice) gets the same key.
    let again = tree_of(
        "b.xml",
        doc.replace("<cbc:ID>123456XX</cbc:ID>", "<cbc:ID>R-2</cbc:ID>")
            .into_bytes(),
    );
    assert_eq!(at(&again, "customer_no"), Some(key.as_str()));
}

#[test]
fn attachments_of_many_megabytes_are_passed_over() {
    // 8 MB of base64 in BT-125: larger than max_text_bytes (1 MiB) and, with a small
    // max_file_bytes, than the document limit; it is passed over, listed with its size.
    let base = xml("xrechnung/01.01a-INVOICE_ubl.xml");
    let payload = "QUJD".repeat(2 * 1024 * 1024);
    let att = format!(
        "<cac:AdditionalDocumentReference><cbc:ID>Anlage-1</cbc:ID><cac:Attachment><cbc:EmbeddedDocumentBinaryObject mimeCode=\"application/pdf\" filename=\"Lieferschein.pdf\">{payload}\n</cbc:EmbeddedDocumentBinaryObject></cac:Attachment></cac:AdditionalDocumentReference>\n    <cac:AccountingSupplierParty>"
    );
    let doc = edit(&base, "<cac:AccountingSupplierParty>", &att);
    let limits = Limits {
        max_file_bytes: 64 * 1024,
        ..Limits::default()
    };
    let rs = read("att.xml", Some(doc.clone()), limits, OwnParty::default()).unwrap();
    let t = tree(&rs[0]);
    assert_eq!(at(t, "attachments/0/filename"), Some("Lieferschein.pdf"));
    assert_eq!(t["attachments"][0]["bytes"], 6 * 1024 * 1024);
    assert_eq!(at(t, "totals/due"), Some("336.9"));
    // The same in a PDF (inflated while read).
    let r = one(
        "att.pdf",
        Some(save(pdf_with(&[("xrechnung.xml", &doc, true)]))),
    );
    assert_eq!(tree(&r)["attachments"][0]["bytes"], 6 * 1024 * 1024);
    // What is kept still counts: an oversized document without attachments is refused.
    let limits = Limits {
        max_file_bytes: 4096,
        ..Limits::default()
    };
    let (_, reason) = read("big.xml", Some(base), limits, OwnParty::default()).unwrap_err();
    assert!(reason.contains("max_file_bytes"), "{reason}");
}

#[test]
fn a_negative_380_is_a_credit_note_and_broken_sums_are_warnings() {
    let base = xml("xrechnung/01.01a-INVOICE_uncefact.xml");
    let t = tree_of("ok.xml", base.clone());
    assert_eq!(
        at(&t, "buyer_reference"),
        Some("04011000-12345-03"),
        "Leitweg-ID (BT-10)"
    );
    assert!(t.get("warnings").is_none());
    // An "avoir": every amount negative, type 380.
    let s = String::from_utf8(base.clone()).unwrap();
    let mut neg = s.clone();
    for tag in [
        "LineTotalAmount",
        "TaxBasisTotalAmount",
        "TaxTotalAmount",
        "GrandTotalAmount",
        "DuePayableAmount",
        "CalculatedAmount",
        "BasisAmount",
    ] {
        neg = neg
            .replace(&format!("{tag}>"), &format!("{tag}>-"))
            .replace(
                &format!("{tag} currencyID=\"EUR\">"),
                &format!("{tag} currencyID=\"EUR\">-"),
            );
        neg = neg.replace(&format!("</ram:{tag}>-"), &format!("</ram:{tag}>"));
    }
    let t = tree_of("avoir.xml", neg.into_bytes());
    assert_eq!(at(&t, "doc_kind"), Some("credit_note"));
    assert_eq!(at(&t, "type_code"), Some("380"));
    assert_eq!(at(&t, "totals/gross"), Some("336.9"));
    assert_eq!(at(&t, "lines/0/net"), Some("288.79"), "{t:#}");
    let w = t["warnings"].as_array().unwrap();
    assert!(
        w.iter()
            .any(|w| w.as_str().unwrap().contains("als Gutschrift gelesen")),
        "{w:?}"
    );
    // Sums that do not add up: warnings, the document still loads.
    let bad = edit(
        &base,
        "<ram:GrandTotalAmount>336.9</ram:GrandTotalAmount>",
        "<ram:GrandTotalAmount>337.9</ram:GrandTotalAmount>",
    );
    let t = tree_of("bad.xml", bad);
    let w: Vec<&str> = t["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].starts_with("BR-CO-15") && w[1].starts_with("BR-CO-16"),
        "{w:?}"
    );
}

#[test]
fn an_invoice_to_us_is_received_from_a_supplier() {
    // The buyer of 01.01a named by its VAT ID as Peppol endpoint (scheme 9930).
    let doc = edit(
        &xml("xrechnung/01.01a-INVOICE_ubl.xml"),
        "<cbc:EndpointID schemeID=\"EM\">buyer@info.de</cbc:EndpointID>",
        "<cbc:EndpointID schemeID=\"9930\">DE111111125</cbc:EndpointID>",
    );
    let dir = |own: OwnParty| {
        let rs = read("d.xml", Some(doc.clone()), Limits::default(), own).unwrap();
        tree(&rs[0]).clone()
    };
    let t = dir(OwnParty::default());
    assert_eq!(
        at(&t, "direction"),
        Some("sent"),
        "nobody known as us: as today"
    );
    let supplier = at(&t, "supplier_no").unwrap().to_owned();
    assert_eq!(
        supplier, "DE 123456789",
        "the seller's VAT ID (it has no party id)"
    );
    let t = dir(OwnParty::new(&["de111111125".into()], &[]));
    assert_eq!(at(&t, "direction"), Some("received"));
    assert_eq!(at(&t, "supplier_no"), Some(supplier.as_str()));
    // We are the seller (VAT ID written with a space in the document): sent.
    let t = dir(OwnParty::new(&["DE123456789".into()], &[]));
    assert_eq!(at(&t, "direction"), Some("sent"));
    // By GLN, in a CII document (ZUGFeRD 1.0 sample: buyer GLN 4000001987658).
    let zf1 = xml("zugferd/ZUGFeRD1_COMFORT_Einfach.xml");
    let rs = read(
        "z.xml",
        Some(zf1),
        Limits::default(),
        OwnParty::new(&[], &["4000001987658".into()]),
    )
    .unwrap();
    let t = tree(&rs[0]);
    assert_eq!(at(t, "direction"), Some("received"));
    assert_eq!(at(t, "supplier_no"), Some("4000001123452"));
}

#[test]
fn every_shared_einvoice_reads_without_warnings() {
    // The KoSIT suite and the CEN example are valid: no business-rule warning may come from
    // our own misreading (the Norwegian example has allowances, charges, prepayment, negative
    // lines and an exempt category).
    for dir in ["xrechnung", "en16931"] {
        let mut files: Vec<_> = std::fs::read_dir(fixture(dir))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "xml"))
            .collect();
        files.sort();
        for f in files {
            let label = f.display().to_string();
            let rs = read(&label, None, Limits::default(), OwnParty::default())
                .unwrap_or_else(|e| panic!("{label}: {e:?}"));
            let t = tree(&rs[0]);
            assert!(
                t.get("warnings").is_none(),
                "{}: {:?}",
                Path::new(&label).display(),
                t["warnings"]
            );
        }
    }
}
