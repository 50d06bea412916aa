//! The built-in profiles on the real sample documents.

mod common;

use common::{at, data, fixture, read_doc, tree};
use serde_json::Value;

#[test]
fn every_shared_sample_parses() {
    let mut count = 0;
    for folder in ["xrechnung", "opentrans"] {
        let mut files: Vec<_> = std::fs::read_dir(fixture(folder))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
            .collect();
        files.sort();
        for path in files {
            let rec = read_doc(&path);
            let t = tree(&rec);
            let stream = rec.stream.as_deref().unwrap();
            assert!(
                kontor_xml::BUILTIN_MAPPINGS
                    .iter()
                    .any(|(s, _)| *s == stream),
                "{stream} has a built-in mapping"
            );
            let number = at(t, "number").or(at(t, "order_number"));
            assert!(number.is_some(), "{}: document number", path.display());
            assert!(
                at(t, "customer_no").is_some(),
                "{}: buyer's customer number",
                path.display()
            );
            assert!(
                !t["lines"].as_array().unwrap().is_empty(),
                "{}: line items",
                path.display()
            );
            // The position is the line of the root element.
            let text = std::fs::read_to_string(&path).unwrap();
            let line = rec.position.line.unwrap() as usize;
            let root = at(t, "root").unwrap();
            assert!(
                text.lines()
                    .nth(line - 1)
                    .unwrap()
                    .contains(&format!("<{root}")),
                "{}: line {line} has <{root}",
                path.display()
            );
            count += 1;
        }
    }
    assert_eq!(count, 42 + 24);
}

/// file, stream, doc_kind, number, customer_no, buyer name, currency, gross (orders: total),
/// amount due, due date — all read by hand from the XML files.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

const TABLE: &[Row] = &[
    // UBL invoice: cbc:ID, PartyIdentification/ID B123456789, RegistrationName, DueDate line 9.
    (
        "xrechnung/01.07a-INVOICE_ubl.xml",
        "ubl",
        "invoice",
        "R1234567",
        "B123456789",
        "[Buyer name]",
        Some("EUR"),
        "45.22",
        Some("45.22"),
        Some("2016-08-14"),
    ),
    // UBL invoice with a name containing &amp;.
    (
        "xrechnung/01.21a-INVOICE_ubl.xml",
        "ubl",
        "invoice",
        "18383",
        "10099",
        "DB Station&Service AG RB Mitte",
        Some("EUR"),
        "233.00",
        Some("233.00"),
        Some("2020-12-27"),
    ),
    // UBL 384 corrected invoice (no due date in the document).
    (
        "xrechnung/01.18a-INVOICE_ubl.xml",
        "ubl",
        "invoice",
        "PRG1502112",
        "BI123456",
        "[Buyer name]",
        Some("EUR"),
        "10555.3",
        Some("10555.3"),
        None,
    ),
    // CII invoice: ram:BuyerTradeParty/ram:ID 138, DueDateDateTime 20180413.
    (
        "xrechnung/01.14a-INVOICE_uncefact.xml",
        "cii",
        "invoice",
        "1234567",
        "138",
        "[Buyer name]",
        Some("EUR"),
        "12829.69",
        Some("12829.69"),
        Some("2018-04-13"),
    ),
    // CII 389 self-billed: buyer without ram:ID, so the VAT ID DE987654321 is the number.
    (
        "xrechnung/01.20a-INVOICE_uncefact.xml",
        "cii",
        "invoice",
        "1234567890",
        "DE987654321",
        "Kunde 1",
        Some("EUR"),
        "357.00",
        Some("357.00"),
        Some("2021-02-04"),
    ),
    // CII invoice whose buyer has only an e-mail endpoint.
    (
        "xrechnung/03.06a-INVOICE_uncefact.xml",
        "cii",
        "invoice",
        "112233",
        "buyer@info.de",
        "Testkäufer",
        Some("EUR"),
        "1804.00",
        Some("1804.00"),
        Some("2021-04-28"),
    ),
    // openTRANS ORDER: buyer PARTY_ID supplier_specific 123456, TOTAL_AMOUNT 2298.0.
    (
        "opentrans/Example_ORDER_Testdistributor_Bestellung.xml",
        "opentrans-order",
        "order",
        "ORDER_180801-004",
        "123456",
        "ITscope GmbH",
        Some("EUR"),
        "2298.0",
        None,
        None,
    ),
    // openTRANS ORDERRESPONSE: no currency in the document, TOTAL_AMOUNT 2555654.0.
    (
        "opentrans/Example_ORDERRESPONSE_Testdistributor_Auftragsbestaetigung.xml",
        "opentrans-orderresponse",
        "order_confirmation",
        "GWAHJV-160131-1470",
        "123456",
        "ITscope GmbH",
        None,
        "2555654.0",
        None,
        None,
    ),
    // openTRANS INVOICE: TOTAL_AMOUNT 1678.09 is gross and due; no payment date.
    (
        "opentrans/Example_INVOICE_Testdistributor_Rechnung.xml",
        "opentrans-invoice",
        "invoice",
        "2468013",
        "123456",
        "ITscope GmbH",
        Some("EUR"),
        "1678.09",
        Some("1678.09"),
        None,
    ),
    // Hand-written UBL CreditNote: PartyIdentification without scheme wins over the GLN one.
    (
        "data:ubl_creditnote_381.xml",
        "ubl",
        "credit_note",
        "GS-2016-0042",
        "K-004711",
        "Muster Buchhandlung GmbH",
        Some("EUR"),
        "27.89",
        Some("27.89"),
        Some("2016-05-16"),
    ),
    // Hand-written openTRANS QUOTATION: buyer 00042 by role, TOTAL_AMOUNT 4280.00.
    (
        "data:opentrans_quotation.xml",
        "opentrans-quotation",
        "quote",
        "AN-2026-0312",
        "00042",
        "Müller & Söhne GmbH",
        Some("EUR"),
        "4280.00",
        None,
        None,
    ),
    // Hand-written CII 381.
    (
        "data:cii_creditnote_381.xml",
        "cii",
        "credit_note",
        "GS-2016-0043",
        "K-004711",
        "Muster Buchhandlung GmbH",
        Some("EUR"),
        "27.89",
        Some("27.89"),
        Some("2016-05-17"),
    ),
];

#[test]
fn table_of_documents_read_by_hand() {
    for (file, stream, kind, number, customer_no, name, currency, gross, due, due_date) in TABLE {
        let path = match file.strip_prefix("data:") {
            Some(f) => data(f),
            None => fixture(file),
        };
        let rec = read_doc(&path);
        let t = tree(&rec);
        assert_eq!(rec.stream.as_deref(), Some(*stream), "{file}");
        assert_eq!(at(t, "doc_kind"), Some(*kind), "{file}");
        let doc_number = if *kind == "order_confirmation" {
            at(t, "order_number")
        } else {
            at(t, "number")
        };
        assert_eq!(doc_number, Some(*number), "{file}: number");
        assert_eq!(
            at(t, "buyer/customer_no"),
            Some(*customer_no),
            "{file}: customer number"
        );
        assert_eq!(
            at(t, "customer_no"),
            Some(*customer_no),
            "{file}: customer number at the top"
        );
        assert_eq!(at(t, "buyer/name"), Some(*name), "{file}: buyer name");
        assert_eq!(at(t, "currency"), *currency, "{file}: currency");
        let total = at(t, "totals/gross").or(at(t, "totals/total"));
        assert_eq!(total, Some(*gross), "{file}: gross");
        assert_eq!(at(t, "totals/due"), *due, "{file}: amount due");
        assert_eq!(at(t, "due_date"), *due_date, "{file}: due date");
    }
    assert!(TABLE.len() >= 8);
}

#[test]
fn opentrans_quotation_and_rfq() {
    let q = read_doc(&data("opentrans_quotation.xml"));
    let t = tree(&q);
    assert_eq!(at(t, "valid_until"), Some("2026-12-10"));
    assert_eq!(at(t, "issue_date"), Some("2026-11-20"));
    assert_eq!(at(t, "request_ref"), Some("ANF-2026-77"));
    let lines = t["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["sku"], "4711-B");
    assert_eq!(lines[1]["net"], "2140.00");

    let r = read_doc(&data("opentrans_rfq.xml"));
    let t = tree(&r);
    assert_eq!(r.stream.as_deref(), Some("opentrans-rfq"));
    assert_eq!(at(t, "doc_kind"), Some("quote_request"));
    assert_eq!(at(t, "number"), Some("ANF-2026-81"));
    assert_eq!(at(t, "issue_date"), Some("2026-12-01"));
    assert_eq!(at(t, "customer_no"), Some("00042"));
    assert_eq!(at(t, "request_ref"), None, "an RFQ's own id is its number");
    assert_eq!(t["lines"][0]["quantity"], "500");
}

#[test]
fn type_codes_384_389_and_credit_notes() {
    let corrected = read_doc(&fixture("xrechnung/01.18a-INVOICE_uncefact.xml"));
    let t = tree(&corrected);
    assert_eq!(at(t, "type_code"), Some("384"));
    assert_eq!(at(t, "doc_kind"), Some("invoice"));
    assert_eq!(at(t, "supersedes"), Some("PRG1502168"));

    let self_billed = read_doc(&fixture("xrechnung/01.20a-INVOICE_ubl.xml"));
    let t = tree(&self_billed);
    assert_eq!(at(t, "doc_kind"), Some("invoice"));
    assert_eq!(t["self_billed"], Value::Bool(true));
    assert!(t.get("supersedes").is_none());

    let plain = read_doc(&fixture("xrechnung/01.01a-INVOICE_ubl.xml"));
    assert_eq!(tree(&plain)["self_billed"], Value::Bool(false));

    for file in ["ubl_creditnote_381.xml", "cii_creditnote_381.xml"] {
        let rec = read_doc(&data(file));
        let t = tree(&rec);
        assert_eq!(at(t, "doc_kind"), Some("credit_note"), "{file}");
        assert_eq!(at(t, "invoice_ref"), Some("123456XX"), "{file}");
        assert!(t.get("supersedes").is_none(), "{file}");
        assert_eq!(at(t, "buyer/gln"), Some("4012345000009"), "{file}");
        assert_eq!(at(t, "buyer/vat_id"), Some("DE111222333"), "{file}");
        assert_eq!(at(t, "buyer/address/city"), Some("Köln"), "{file}");
        assert_eq!(at(t, "lines/0/sku"), Some("P-001"), "{file}");
        assert_eq!(at(t, "lines/0/net"), Some("26.07"), "{file}");
        assert_eq!(at(t, "totals/tax"), Some("1.82"), "{file}");
    }
    let t = tree(&read_doc(&data("ubl_creditnote_381.xml"))).clone();
    assert_eq!(at(&t, "buyer/email"), Some("einkauf@muster-buch.de"));
    assert_eq!(at(&t, "buyer/phone"), Some("0221 123456"));
    assert_eq!(at(&t, "lines/0/quantity"), Some("1"));
    assert_eq!(at(&t, "lines/0/unit"), Some("XPP"));
}

#[test]
fn buyer_contact_data_and_lines_of_an_xrechnung() {
    let rec = read_doc(&fixture("xrechnung/01.14a-INVOICE_uncefact.xml"));
    let t = tree(&rec);
    assert_eq!(at(t, "buyer/vat_id"), Some("DE12345ABC"));
    assert_eq!(at(t, "buyer/email"), Some("tester@test.de"));
    assert_eq!(at(t, "buyer/customer_no_source"), Some("party_id"));
    assert_eq!(at(t, "issue_date"), Some("2018-04-13"));
    assert_eq!(at(t, "lines/0/description"), Some("Beratung"));
    assert_eq!(at(t, "seller/vat_id"), Some("ATU123456789"));
    assert!(
        t["seller"].get("customer_no").is_none(),
        "a seller gets no customer number"
    );
    assert_eq!(rec.position.line, Some(2));
    assert_eq!(
        rec.context.get("file").map(String::as_str),
        rec.position.source.as_ref().into()
    );
}

#[test]
fn order_response_moves_promised_dates() {
    let t = tree(&read_doc(&fixture(
        "opentrans/Example_ORDERRESPONSE_Testdistributor_Auftragsbestaetigung.xml",
    )))
    .clone();
    assert_eq!(at(&t, "confirmation_date"), Some("2018-06-25"));
    assert_eq!(at(&t, "order_date"), Some("2016-01-31"));
    assert_eq!(at(&t, "promised_date"), Some("2018-06-27"));
    assert_eq!(at(&t, "lines/1/line_no"), Some("00002"));
    assert_eq!(at(&t, "lines/1/quantity"), Some("2.0"));
    assert_eq!(at(&t, "lines/1/sku"), Some("123001"));

    // Line-level delivery date.
    let t = tree(&read_doc(&fixture(
        "opentrans/minimal_valid_order_with_delivery_date_in_order_item.xml",
    )))
    .clone();
    assert!(t.get("promised_date").is_none());
    let line_date = at(&t, "lines/0/promised_date").expect("line promised date");
    assert_eq!(line_date.len(), 10);
}

#[test]
fn dispatch_notification_carries_order_references_and_quantities() {
    let t = tree(&read_doc(&fixture(
        "opentrans/Example_DISPATCHNOTIFICATION_Testdistributor_Lieferavis.xml",
    )))
    .clone();
    assert_eq!(at(&t, "doc_kind"), Some("delivery"));
    assert_eq!(at(&t, "number"), Some("39076516"));
    assert_eq!(at(&t, "dispatch_date"), Some("2016-01-31"));
    assert_eq!(at(&t, "order_number"), Some("GWAHJV-160131-1470"));
    assert_eq!(t["order_numbers"].as_array().map(Vec::len), Some(1));
    assert_eq!(at(&t, "shipment_id"), Some("1Z7318301287125572"));
    let lines: Vec<(Option<&str>, Option<&str>, Option<&str>)> = t["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (at(l, "order_line_no"), at(l, "sku"), at(l, "quantity")))
        .collect();
    assert_eq!(
        lines,
        [
            (Some("00001"), Some("123002"), Some("1.0")),
            (Some("00002"), Some("123001"), Some("2.0")),
            (Some("00003"), Some("123003"), Some("3.0")),
        ]
    );
}

#[test]
fn opentrans_invoice_totals() {
    let t = tree(&read_doc(&fixture(
        "opentrans/Example_INVOICE_Testdistributor_Rechnung.xml",
    )))
    .clone();
    assert_eq!(at(&t, "totals/net"), Some("1401.0"));
    assert_eq!(at(&t, "totals/tax"), Some("266.19"));
    assert_eq!(at(&t, "order_ref"), Some("GWAHJV-160131-1470"));
    assert_eq!(at(&t, "issue_date"), Some("2016-01-31"));
    assert_eq!(at(&t, "buyer/address/country"), Some("DE"));
    assert_eq!(at(&t, "buyer/email"), Some("support@itscope.com"));
    // The minimal invoice names its buyer only through PARTY_ID type="buyer".
    let t = tree(&read_doc(&fixture("opentrans/minimal_valid_invoice.xml"))).clone();
    assert_eq!(at(&t, "customer_no"), Some("org.de.rcpt"));
}

#[test]
fn builtin_mappings_are_valid_toml_for_every_stream() {
    for stream in kontor_xml::Profile::ALL_STREAMS {
        let (_, text) = kontor_xml::BUILTIN_MAPPINGS
            .iter()
            .find(|(s, _)| *s == stream)
            .unwrap_or_else(|| panic!("no mapping for {stream}"));
        let table: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("{stream}: {e}"));
        let targets = table["target"].as_array().unwrap();
        assert!(
            targets
                .iter()
                .any(|t| t["entity"].as_str() == Some("customer")),
            "{stream}"
        );
        for t in targets {
            // Every path the mapping reads exists in at least the shape we document.
            assert!(t.get("fields").is_some(), "{stream}: fields");
        }
    }
}
