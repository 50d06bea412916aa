use super::*;
use crate::model::Entity;
use kontor_connector::{Fields, Position, RawRecord};
use serde_json::json;
use std::sync::Arc;

fn compile(text: &str) -> Mapping {
    Mapping::from_text("t", "t.toml", text, no_builtins).unwrap_or_else(|d| {
        panic!(
            "{}",
            d.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

fn errors(text: &str) -> Vec<String> {
    Mapping::from_text("t", "t.toml", text, no_builtins)
        .expect_err("expected errors")
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn row(pairs: &[(&str, &str)]) -> RawRecord {
    RawRecord {
        fields: Fields::Row {
            header: Arc::new(pairs.iter().map(|p| p.0.to_owned()).collect()),
            values: pairs.iter().map(|p| p.1).collect(),
        },
        position: Position::line("x.csv".into(), 2),
        context: Arc::new([("datev.fiscal_year_start".to_owned(), "20180101".to_owned())].into()),
        stream: None,
    }
}

fn apply(m: &Mapping, rec: &RawRecord) -> Outcome {
    m.apply(rec, &mut ColumnCache::default())
}

fn records(o: Outcome) -> Vec<crate::model::CanonicalRecord> {
    match o {
        Outcome::Records(r) => r,
        other => panic!("expected records, got {other:?}"),
    }
}

const DATEV_LIKE: &str = r#"
skip_if = [ { column = "Konto", between = [1, 9999] } ]

[[target]]
entity = "invoice"
when = [ { column = "Soll/Haben-Kennzeichen", equals = "S" } ]
[target.fields]
number = { column = "Belegfeld 1", required = true }
customer_no = "Konto"
issue_date = { column = "Belegdatum", date = "TTMM" }
gross = { column = "Umsatz (ohne Soll/Haben-Kz)", decimal = "de" }
currency = { column = "WKZ Umsatz", default = "EUR" }

[[target]]
entity = "credit_note"
when = [ { column = "Soll/Haben-Kennzeichen", equals = "H" } ]
[target.fields]
number = { column = "Belegfeld 1", required = true }
customer_no = "Konto"
issue_date = { column = "Belegdatum", date = "TTMM" }
gross = { column = "Umsatz (ohne Soll/Haben-Kz)", decimal = "de" }
"#;

#[test]
fn datev_rows_route_by_sign_and_take_the_year_from_the_header() {
    let m = compile(DATEV_LIKE);
    let r = records(apply(
        &m,
        &row(&[
            ("Umsatz (ohne Soll/Haben-Kz)", "5950,00"),
            ("Soll/Haben-Kennzeichen", "S"),
            ("WKZ Umsatz", ""),
            ("Konto", "10000"),
            ("Belegdatum", "2202"),
            ("Belegfeld 1", "RE201802-135"),
        ]),
    ));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].entity, Entity::Invoice);
    assert_eq!(r[0].external_id, "RE201802-135");
    assert_eq!(
        r[0].data,
        json!({"number": "RE201802-135", "customer_no": "10000", "issue_date": "2018-02-22", "currency": "EUR",
               "gross": {"amount": "5950.00", "currency": "EUR"}, "open_amount": {"amount": "5950.00", "currency": "EUR"}, "status": "open"})
    );
    let cn = records(apply(
        &m,
        &row(&[
            ("Umsatz (ohne Soll/Haben-Kz)", "1.190,00"),
            ("Soll/Haben-Kennzeichen", "H"),
            ("Konto", "10001"),
            ("Belegdatum", "0503"),
            ("Belegfeld 1", "GS-1"),
        ]),
    ));
    assert_eq!(cn[0].entity, Entity::CreditNote);
    assert_eq!(cn[0].data["gross"]["amount"], "1190.00");
    // A bank posting (account 1200) is skipped.
    assert_eq!(
        apply(
            &m,
            &row(&[
                ("Konto", "1200"),
                ("Soll/Haben-Kennzeichen", "H"),
                ("Belegfeld 1", "")
            ])
        ),
        Outcome::Skipped
    );
}

#[test]
fn bad_values_reject_with_field_and_reason() {
    let m = compile(DATEV_LIKE);
    let base = [
        ("Umsatz (ohne Soll/Haben-Kz)", "12,3,4"),
        ("Soll/Haben-Kennzeichen", "S"),
        ("Konto", "10000"),
        ("Belegdatum", "2202"),
        ("Belegfeld 1", "R1"),
    ];
    match apply(&m, &row(&base)) {
        Outcome::Rejected(r) => {
            assert_eq!(r.field.as_deref(), Some("Umsatz (ohne Soll/Haben-Kz)"));
            assert!(
                r.reason.contains("gross") && r.reason.contains("not a number"),
                "{}",
                r.reason
            );
        }
        o => panic!("{o:?}"),
    }
    let mut missing = base;
    missing[0].1 = "1,00";
    missing[4].1 = " ";
    match apply(&m, &row(&missing)) {
        Outcome::Rejected(r) => assert!(r.reason.contains("required"), "{}", r.reason),
        o => panic!("{o:?}"),
    }
    let mut bad_date = base;
    bad_date[0].1 = "1,00";
    bad_date[3].1 = "3102";
    assert!(matches!(apply(&m, &row(&bad_date)), Outcome::Rejected(_)));
}

#[test]
fn transforms_maps_concat_template_defaults_phones_and_ids() {
    let m = compile(
        r#"
[[target]]
entity = "customer"
[target.fields]
customer_no = { column = "Kdnr", pad_left = { width = 6 } }
name = { concat = ["Firma", "Zusatz"] }
name2 = { template = "z.Hd. {Vorname} {Nachname}" }
phones = { list = ["Telefon", "Mobil"] }
email = "Mail"
vat_id = "USt-IdNr."
"address.street" = "Straße"
"address.postcode" = "PLZ"
"address.city" = "Ort"
"address.country" = { column = "Land", default = "DE" }
payment_terms_days = { column = "Ziel", map = { sofort = "0" } }
"extra.branche" = { column = "Branche", case = "upper" }
"#,
    );
    let r = records(apply(
        &m,
        &row(&[
            ("Kdnr", "0042"),
            ("Firma", " Müller & Söhne GmbH "),
            ("Zusatz", ""),
            ("Vorname", "Jürgen"),
            ("Nachname", "Weiß"),
            ("Telefon", "0221/1234567"),
            ("Mobil", "+49 171 1234567"),
            ("Mail", "Info@Mueller.DE"),
            ("USt-IdNr.", "de 123 456 789"),
            ("Straße", "Hauptstr. 1"),
            ("PLZ", "01067"),
            ("Ort", "Köln"),
            ("Land", ""),
            ("Ziel", "sofort"),
            ("Branche", "maschinenbau"),
        ]),
    ));
    assert_eq!(r[0].external_id, "000042");
    assert_eq!(
        r[0].data,
        json!({
            "customer_no": "000042", "name": "Müller & Söhne GmbH", "name2": "z.Hd. Jürgen Weiß",
            "vat_id": "DE123456789", "email": "info@mueller.de",
            "phones": ["+492211234567", "+491711234567"],
            "address": {"street": "Hauptstr. 1", "postcode": "01067", "city": "Köln", "country": "DE"},
            "payment_terms_days": 0, "extra": {"branche": "MASCHINENBAU"}
        })
    );
}

#[test]
fn negative_amounts_and_sign_from_another_column() {
    let m = compile(
        r#"
[[target]]
entity = "invoice"
[target.fields]
number = "Nr"
customer_no = "Kd"
gross = { column = "Betrag", decimal = "de", negate = { column = "SH", equals = "H" } }
open_amount = { column = "Offen", decimal = "de" }
"#,
    );
    let get = |betrag: &str, sh: &str, offen: &str| {
        let r = records(apply(
            &m,
            &row(&[
                ("Nr", "1"),
                ("Kd", "7"),
                ("Betrag", betrag),
                ("SH", sh),
                ("Offen", offen),
            ]),
        ));
        (
            r[0].data["gross"]["amount"].as_str().unwrap().to_owned(),
            r[0].data["status"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(
        get("1.234,56", "S", "1.234,56"),
        ("1234.56".into(), "open".into())
    );
    assert_eq!(
        get("1.234,56", "H", "0"),
        ("-1234.56".into(), "paid".into())
    );
    assert_eq!(
        get("-1.234,56", "S", "100,00"),
        ("-1234.56".into(), "partially_paid".into())
    );
    assert_eq!(
        get("1.234,56-", "S", "0,00"),
        ("-1234.56".into(), "paid".into())
    );
}

#[test]
fn tree_records_with_each_lines_and_absolute_paths() {
    let m = compile(
        r#"
[[target]]
entity = "order"
stream = "order"
[target.fields]
number = "head/id"
customer_no = "buyer/PARTY_ID[@type='supplier_specific']"
order_date = "head/date"
lines = { each = "items", fields = { line_no = "pos", sku = "sku", quantity = "qty", promised_date = "date" } }

[[target]]
entity = "order_line"
stream = "order"
each = "items"
[target.fields]
order_number = "/head/id"
line_no = "pos"
sku = "sku"
"#,
    );
    let tree = json!({
        "head": {"id": "B-7", "date": "2026-11-02"},
        "buyer": {"PARTY_ID": [{"@type": "buyer_specific", "#text": "X"}, {"@type": "supplier_specific", "#text": "00815"}]},
        "items": [{"pos": "1", "sku": "A-1", "qty": 2.5, "date": "2026-12-01"}, {"pos": "2", "sku": "B-2", "qty": "1"}]
    });
    let rec = RawRecord {
        fields: Fields::Tree(tree),
        position: Position::line("o.xml".into(), 1),
        context: Arc::default(),
        stream: Some("order".into()),
    };
    let r = records(apply(&m, &rec));
    assert_eq!(r.len(), 3);
    assert_eq!(r[0].data["customer_no"], "00815");
    assert_eq!(
        r[0].data["lines"][0],
        json!({"line_no": "1", "sku": "A-1", "quantity": "2.5", "promised_date": "2026-12-01"})
    );
    assert_eq!(r[0].data["status"], "open");
    assert_eq!(r[2].external_id, "B-7/2");
    // Another stream: no target applies.
    let other = RawRecord {
        stream: Some("invoice".into()),
        ..rec
    };
    assert_eq!(apply(&m, &other), Outcome::Skipped);
}

#[test]
fn check_reports_every_error_with_line_and_column() {
    let errs = errors(
        r#"
[[target]]
entity = "invoice"
[target.fields]
number = "Nr"
custmer_no = "Kd"
gross = { column = "B", decimal = "fr" }
issue_date = { column = "D", date = "%d.%Q" }

[[target]]
entity = "kunde"
"#,
    );
    let joined = errors_joined(&errs);
    assert!(
        joined.contains("t.toml:6:1: `custmer_no` is not a field of invoice"),
        "{joined}"
    );
    assert!(joined.contains("t.toml:7:9: decimal `fr`"), "{joined}");
    assert!(
        joined.contains("t.toml:8:14: date format `%d.%Q`"),
        "{joined}"
    );
    assert!(
        joined.contains("t.toml:11:10: unknown entity `kunde`"),
        "{joined}"
    );
    assert!(
        joined.contains("t.toml:2:1: invoice: field `customer_no` is required but not mapped"),
        "{joined}"
    );
}

fn errors_joined(e: &[String]) -> String {
    e.join("\n")
}

#[test]
fn unknown_keys_and_syntax_errors_point_at_the_key() {
    let errs = errors("[[target]]\nentity = \"invoice\"\nfeilds = {}\n");
    assert!(
        errs[0].starts_with("t.toml:3:1: unknown field `feilds`"),
        "{errs:?}"
    );
    let errs =
        errors("[[target]]\nentity = \"invoice\"\n[target.fields]\nnumber = { colum = \"X\" }\n");
    assert!(
        errs[0].starts_with("t.toml:4:12: unknown field `colum`"),
        "{errs:?}"
    );
    let errs = errors("[[target]\n");
    assert!(errs[0].starts_with("t.toml:1:"), "{errs:?}");
}

#[test]
fn denied_personal_fields_fail_the_check() {
    let errs = errors(
        "[[target]]\nentity = \"contact_person\"\n[target.fields]\ncustomer_no = \"K\"\nname = \"N\"\n\"extra.geburtstag\" = \"Geb\"\n",
    );
    assert!(errs[0].contains("deny-list"), "{errs:?}");
}

#[test]
fn missing_column_names_the_column() {
    let m = compile(
        "[[target]]\nentity = \"customer\"\n[target.fields]\ncustomer_no = { column = \"Kdnr\", required = true }\n",
    );
    match apply(&m, &row(&[("Kundennummer", "1")])) {
        Outcome::Rejected(r) => {
            assert!(r.reason.contains("column `Kdnr` not found"), "{}", r.reason)
        }
        o => panic!("{o:?}"),
    }
}

#[test]
fn inline_fixtures_pass_and_fail_with_a_diff() {
    let m = compile(
        r#"
[[target]]
entity = "stock"
[target.fields]
sku = "Artikel"
on_hand = { column = "Bestand", decimal = "de" }

[[test]]
name = "ok"
input = { Artikel = "0815", Bestand = "1.000,5" }
[[test.expect]]
entity = "stock"
sku = "0815"
on_hand = "1000.5"

[[test]]
name = "wrong"
input = { Artikel = "0815", Bestand = "2" }
[[test.expect]]
entity = "stock"
sku = "0815"
on_hand = "3"
"#,
    );
    let res = fixtures::run_inline(&m);
    assert!(res[0].failure.is_none(), "{:?}", res[0].failure);
    let diff = res[1].failure.as_deref().unwrap();
    assert!(
        diff.contains("-  \"on_hand\": \"3\"") && diff.contains("+  \"on_hand\": \"2\""),
        "{diff}"
    );
}

#[test]
fn contact_dates_outside_1970_to_tomorrow_and_personal_keys() {
    let m = compile(
        "[[target]]\nentity = \"activity\"\n[target.fields]\nid = \"Id\"\ncustomer_no = \"K\"\ndate = { column = \"D\", date = \"%d.%m.%Y\" }\n\
         [[target]]\nentity = \"contact_person\"\n[target.fields]\ncustomer_no = \"K\"\nname = \"N\"\n",
    );
    for (d, ok) in [
        ("01.01.9999", false),
        ("01.01.0001", false),
        ("24.11.2026", true),
    ] {
        let o = apply(
            &m,
            &row(&[
                ("Id", "1"),
                ("K", "7"),
                ("D", d),
                ("N", "Hildegard Quastenflosser"),
            ]),
        );
        match o {
            Outcome::Records(r) => {
                assert!(ok, "{d} accepted");
                let cp = r
                    .iter()
                    .find(|r| r.entity == Entity::ContactPerson)
                    .unwrap();
                assert!(cp.external_id.starts_with("7/p-") && !cp.external_id.contains("Quasten"));
            }
            Outcome::Rejected(rej) => {
                assert!(!ok, "{d}: {rej:?}");
                assert!(
                    // The year 9999 or 1 is no business date at all; a contact's date
                    // must also lie between 1970 and tomorrow.
                    rej.reason.contains("not between 1970-01-01 and tomorrow")
                        || rej.reason.contains("not a business date"),
                    "{rej:?}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn field_names_include_what_the_engine_derives() {
    // The shipped DATEV mapping maps `gross` only: status and open amount are derived, so
    // `kontor check` must not warn that it "no longer fills" them (it did, on the demo).
    let m = Mapping::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("mappings/datev-buchungsstapel.toml"),
        "datev-buchungsstapel.toml",
        no_builtins,
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    let invoice = m.field_names(Entity::Invoice);
    assert!(
        invoice.contains("gross") && invoice.contains("open_amount") && invoice.contains("status"),
        "{invoice:?}"
    );
    let orders = compile(
        "[[target]]\nentity = \"order\"\n[target.fields]\nnumber = \"Nr\"\ncustomer_no = \"Kd\"\n",
    );
    assert!(orders.field_names(Entity::Order).contains("status"));
    assert!(orders.field_names(Entity::Invoice).is_empty());
}

const OPEN_ITEMS: &str = r#"
[[target]]
entity = "invoice"
when = [ { column = "Art", equals = "RE" } ]
[target.fields]
number = "Beleg"
customer_no = "Kd"
gross = { column = "Brutto", decimal = "de" }
open_amount = { column = "Offen", decimal = "de" }
dunning_level = { column = "Mahnstufe", optional = true }
"extra.zahlungsbedingung" = { column = "ZB", label = "Zahlungsbedingung" }

[[target]]
entity = "credit_note"
when = [ { column = "Art", equals = "GU" } ]
[target.fields]
number = "Beleg"
customer_no = "Kd"
gross = { column = "Brutto", decimal = "de" }
open_amount = { column = "Offen", decimal = "de", abs = true }
"#;

fn open_item(art: &str, offen: &str, mahnstufe: &str) -> RawRecord {
    row(&[
        ("Beleg", "B-1"),
        ("Art", art),
        ("Kd", "0042"),
        ("Brutto", "119,00"),
        ("Offen", offen),
        ("Mahnstufe", mahnstufe),
        ("ZB", "14 Tage netto"),
    ])
}

#[test]
fn credit_notes_carry_their_open_amount_and_invoices_their_dunning_level() {
    let m = compile(OPEN_ITEMS);
    let inv = records(apply(&m, &open_item("RE", "119,00", "2")));
    assert_eq!(inv[0].data["dunning_level"], json!(2));
    assert_eq!(inv[0].data["status"], "open");
    assert_eq!(
        inv[0].data["extra"],
        json!({"zahlungsbedingung": "14 Tage netto"}),
        "the label is not stored with the record"
    );
    // An export writes the open remainder of a credit note negative: kept as what is open.
    let gu = records(apply(&m, &open_item("GU", "119,00-", "")));
    assert_eq!(gu[0].entity, Entity::CreditNote);
    assert_eq!(
        gu[0].data["open_amount"],
        json!({"amount": "119.00", "currency": "EUR"})
    );
    assert!(gu[0].data.get("status").is_none(), "{:?}", gu[0].data);
    // No Mahnstufe given: no field; a fraction is rejected with its column.
    let none = records(apply(&m, &open_item("RE", "0,00", "")));
    assert!(none[0].data.get("dunning_level").is_none());
    match apply(&m, &open_item("RE", "1,00", "1,5")) {
        Outcome::Rejected(r) => assert!(r.reason.contains("not a whole number"), "{r:?}"),
        other => panic!("{other:?}"),
    }
    // A credit note whose mapping has no open amount gets none derived (it would count as
    // open in the customer's netting otherwise).
    let plain = compile(
        "[[target]]\nentity = \"credit_note\"\n[target.fields]\nnumber = \"Beleg\"\ncustomer_no = \"Kd\"\ngross = \"Brutto\"\n",
    );
    let gu = records(apply(&plain, &open_item("GU", "119,00-", "")));
    assert!(gu[0].data.get("open_amount").is_none(), "{:?}", gu[0].data);
    assert!(
        plain
            .field_names(Entity::CreditNote)
            .iter()
            .all(|f| f != "open_amount")
    );
}

#[test]
fn extra_fields_take_a_label_and_only_they_do() {
    let m = compile(OPEN_ITEMS);
    assert_eq!(
        m.extra_labels(),
        vec![(
            Entity::Invoice,
            "zahlungsbedingung".to_owned(),
            "Zahlungsbedingung".to_owned()
        )]
    );
    let e = errors(&OPEN_ITEMS.replace(
        "gross = { column = \"Brutto\", decimal = \"de\" }\nopen_amount = { column = \"Offen\", decimal = \"de\" }",
        "gross = { column = \"Brutto\", decimal = \"de\", label = \"Brutto\" }\nopen_amount = { column = \"Offen\", decimal = \"de\" }",
    ));
    assert!(
        e.iter()
            .any(|e| e.contains("`gross`: `label` only applies to extra.<name> fields")),
        "{e:?}"
    );
    let e = errors(&OPEN_ITEMS.replace("label = \"Zahlungsbedingung\"", "label = \" \""));
    assert!(e.iter().any(|e| e.contains("`label` is empty")), "{e:?}");
}
