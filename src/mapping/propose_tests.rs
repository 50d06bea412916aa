use super::*;
use crate::mapping::{Mapping, fixtures, no_builtins};

fn records(lines: &[&str], delimiter: char) -> Vec<(u64, Vec<String>)> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            (
                i as u64 + 1,
                l.split(delimiter).map(str::to_owned).collect(),
            )
        })
        .collect()
}

fn sample(lines: &[&str], delimiter: char) -> Sample {
    Sample {
        file: "inbox/export.csv".into(),
        encoding: "windows-1252".into(),
        bom: false,
        delimiter: delimiter as u8,
        records: records(lines, delimiter),
        complete: true,
    }
}

/// The proposal compiles and its `[[test]]` cases pass.
fn compiled(p: &Proposal) -> Mapping {
    let m = Mapping::from_text("p", "p.toml", &p.text, no_builtins)
        .unwrap_or_else(|d| panic!("{d:?}\n{}", p.text));
    for r in fixtures::run_inline(&m) {
        assert!(
            r.failure.is_none(),
            "{}: {:?}\n{}",
            r.name,
            r.failure,
            p.text
        );
    }
    m
}

fn matched<'a>(p: &'a Proposal, field: &str) -> Option<&'a str> {
    p.matched
        .iter()
        .find(|(f, _)| f == field)
        .map(|(_, c)| c.as_str())
}

#[test]
fn decimal_style_is_decided_by_the_values_that_tell_it() {
    assert_eq!(decimal_style(["1.234,56", "12,00", "7"].into_iter()), "de");
    assert_eq!(decimal_style(["1,234.56", "12.00"].into_iter()), "en");
    // `1.250` alone could be either: German exports are the normal case.
    assert_eq!(decimal_style(["1.250", "00042"].into_iter()), "de");
    assert_eq!(decimal_style(["1,250,000", "3"].into_iter()), "en");
    // Dates are no evidence.
    assert_eq!(decimal_style(["31.12.2026", "1,5"].into_iter()), "de");
}

#[test]
fn date_formats_are_found_per_column() {
    let p = profile("Datum", &["31.12.2026", "01.02.2026", ""], "de");
    assert_eq!(p.dates, Some(vec!["%d.%m.%Y"]));
    assert!(!p.numeric);
    let p = profile("Datum", &["2026-12-31"], "de");
    assert_eq!(p.dates, Some(vec!["%Y-%m-%d"]));
    // Two-digit years first: `%Y` would read `26` as the year 26.
    let p = profile("Datum", &["31.12.26", "01.01.2027"], "de");
    assert_eq!(p.dates, Some(vec!["%d.%m.%y", "%d.%m.%Y"]));
    let p = profile("Betrag", &["1.234,56", "12,00-"], "de");
    assert!(p.numeric && p.dates.is_none());
    let p = profile("Firma", &["Müller GmbH", "Beck KG"], "de");
    assert!(p.texty && !p.numeric && p.dates.is_none());
    assert_eq!(profile("Nr", &["31.12.2026", "foo"], "de").dates, None);
}

#[test]
fn the_header_is_found_after_a_report_title() {
    let r = records(
        &[
            "Offene Posten per 04.12.2026",
            "",
            "Belegnr;Kto-Nr.;Betrag",
            "RE-1;00042;1.234,56",
        ],
        ';',
    );
    assert_eq!(layout(&r), (2, true, 3));
    let r = records(&["RE-1;00042;1.234,56", "RE-2;00043;12,00"], ';');
    assert_eq!(layout(&r), (0, false, 3));
}

const OPEN_ITEMS: &[&str] = &[
    "Beleg-Nr.;Belegart;Kto-Nr.;Name;Belegdatum;Fälligkeit;Betrag;Offener Betrag;S/H;Bemerkung",
    "RE-1001;RE;00042;Müller GmbH;01.10.2026;31.10.2026;1.190,00;1.190,00;S;",
    "RE-1002;RE;00043;Beck KG;15.10.2026;14.11.2026;2.975,00;975,00;S;Teilzahlung",
    "GU-0007;GU;00042;Müller GmbH;20.10.2026;;119,00;119,00;H;",
    ";;;Summe;;;4.284,00;2.284,00;;",
];

#[test]
fn open_items_are_matched_by_german_names_and_their_values() {
    let p = propose(&sample(OPEN_ITEMS, ';'), Entity::Invoice);
    assert_eq!(matched(&p, "number"), Some("Beleg-Nr."));
    assert_eq!(matched(&p, "customer_no"), Some("Kto-Nr."));
    assert_eq!(matched(&p, "issue_date"), Some("Belegdatum"));
    assert_eq!(matched(&p, "due_date"), Some("Fälligkeit"));
    assert_eq!(matched(&p, "gross"), Some("Betrag"));
    assert_eq!(matched(&p, "open_amount"), Some("Offener Betrag"));
    assert!(p.unused_columns.contains(&"Bemerkung".to_string()), "{p:?}");
    assert!(p.unmatched_fields.contains(&"net".to_string()));
    let t = &p.text;
    for want in [
        "encoding = \"windows-1252\"",
        "delimiter = \";\"",
        "number = { column = \"Beleg-Nr.\", required = true }",
        "customer_no = { column = \"Kto-Nr.\", required = true }",
        "due_date = { column = \"Fälligkeit\", date = \"%d.%m.%Y\" }",
        "open_amount = { column = \"Offener Betrag\", decimal = \"de\", negate = { column = \"S/H\", equals = \"H\" } }",
        "skip_if = [ { column = \"Beleg-Nr.\", empty = true } ]",
        "# net = \"…\"",
        "`Belegart` has GU (1), RE (2)",
        "# Columns not read: \"Belegart\" (text), \"Name\" (text), \"Bemerkung\" (text)",
    ] {
        assert!(t.contains(want), "`{want}` missing:\n{t}");
    }
    let m = compiled(&p);
    // Two rows and the total line became test cases; the total line is skipped.
    assert_eq!(m.tests.len(), 3, "{t}");
    assert!(m.tests[2].1.skipped, "{t}");
    assert_eq!(m.tests[0].1.expect[0]["number"].as_str(), Some("RE-1001"));
}

#[test]
fn customers_stock_and_contacts_are_matched_too() {
    let p = propose(
        &sample(
            &[
                "Kunden-Nr.\tFirma\tName 2\tStr.\tPLZ\tOrt\tTelefon\tMobil\tE-Mail\tUSt-IdNr.",
                "00042\tMüller GmbH\tWerkzeugbau\tHauptstr. 1\t50667\tKöln\t0221 4711\t\tinfo@mueller.de\tDE123456788",
            ],
            '\t',
        ),
        Entity::Customer,
    );
    for (f, c) in [
        ("customer_no", "Kunden-Nr."),
        ("name", "Firma"),
        ("name2", "Name 2"),
        ("address.street", "Str."),
        ("address.postcode", "PLZ"),
        ("address.city", "Ort"),
        ("email", "E-Mail"),
        ("vat_id", "USt-IdNr."),
    ] {
        assert_eq!(matched(&p, f), Some(c), "{f}: {p:?}");
    }
    assert!(
        p.text
            .contains("phones = { list = [\"Telefon\", \"Mobil\"] }"),
        "{}",
        p.text
    );
    assert!(p.text.contains("delimiter = \"\\t\""), "{}", p.text);
    compiled(&p);

    let p = propose(
        &sample(
            &[
                "ArtNr|Bezeichnung|Lagerort|Bestand|Verfügbar|ME",
                "0815-A|Spannzange|HAUPT|1.250|1.210|Stk",
            ],
            '|',
        ),
        Entity::Stock,
    );
    assert_eq!(matched(&p, "sku"), Some("ArtNr"));
    assert_eq!(matched(&p, "warehouse"), Some("Lagerort"));
    assert_eq!(matched(&p, "on_hand"), Some("Bestand"));
    assert_eq!(matched(&p, "unit"), Some("ME"));
    compiled(&p);

    let p = propose(
        &sample(
            &[
                "Kontakt-ID;Kundennr;Art;Datum;Betreff",
                "K-1;00042;Anruf;24.11.2026;Termin",
            ],
            ';',
        ),
        Entity::Activity,
    );
    assert!(p.text.contains("map = { Anruf = \"call\" }"), "{}", p.text);
    compiled(&p);
}

#[test]
fn a_field_without_a_column_is_named_and_the_mapping_says_what_is_missing() {
    let p = propose(&sample(&["Foo;Bar", "a;b"], ';'), Entity::Invoice);
    assert!(
        p.text.contains("# number = \"…\"    # id, needed"),
        "{}",
        p.text
    );
    let d = Mapping::from_text("p", "p.toml", &p.text, no_builtins).unwrap_err();
    assert!(
        d.iter()
            .any(|d| d.message.contains("key field `number` is not mapped")),
        "{d:?}"
    );
}

#[test]
fn personal_data_on_the_deny_list_is_neither_matched_nor_copied() {
    let p = propose(
        &sample(
            &[
                "Kundennr;Geburtstag Ansprechpartner;Ansprechpartner;Funktion",
                "00042;17.05.1970;Anna Schulz;Einkauf",
            ],
            ';',
        ),
        Entity::ContactPerson,
    );
    assert_eq!(matched(&p, "name"), Some("Ansprechpartner"), "{p:?}");
    assert_eq!(p.denied_columns, vec!["Geburtstag Ansprechpartner"]);
    assert!(!p.text.contains("17.05.1970"), "{}", p.text);
    assert!(
        p.text.contains(
            "\"Geburtstag Ansprechpartner\" (personal data on the deny-list: never stored)"
        ),
        "{}",
        p.text
    );
    compiled(&p);
}

#[test]
fn a_report_title_above_the_column_names_is_skipped() {
    let p = propose(
        &sample(
            &[
                "Offene Posten per 04.12.2026",
                "Belegnr;Kundennr;Betrag",
                "RE-1;00042;1.234,56",
            ],
            ';',
        ),
        Entity::Invoice,
    );
    assert!(p.text.contains("skip_lines = 1 "), "{}", p.text);
    assert_eq!(p.data_start, 2);
    assert_eq!(matched(&p, "gross"), Some("Betrag"));
    compiled(&p);
}

/// Found trying an old WaWi's open-items list: one broken row (`32.13.2026`, `abc`) made
/// `Belegdatum` and `Betrag` text columns, so neither `issue_date` nor `gross` was proposed.
#[test]
fn a_few_broken_rows_do_not_hide_a_date_or_amount_column() {
    let mut dates: Vec<String> = (1..=20).map(|d| format!("{d:02}.10.2026")).collect();
    dates.push("32.13.2026".into());
    let dates: Vec<&str> = dates.iter().map(String::as_str).collect();
    assert_eq!(
        profile("Belegdatum", &dates, "de").dates,
        Some(vec!["%d.%m.%Y"])
    );
    let mut amounts: Vec<String> = (1..=20).map(|i| format!("{i}.234,56")).collect();
    amounts.push("abc".into());
    let amounts: Vec<&str> = amounts.iter().map(String::as_str).collect();
    assert!(profile("Betrag", &amounts, "de").numeric);
    // Many broken values: no date column, no amounts.
    let half: Vec<&str> = (0..20)
        .map(|i| if i % 2 == 0 { "01.10.2026" } else { "x" })
        .collect();
    assert_eq!(profile("Datum", &half, "de").dates, None);
    assert!(!profile("Betrag", &half, "de").numeric);
}

#[test]
fn mahnstufe_is_the_dunning_level() {
    let mut lines = vec!["Kto-Nr.;Beleg-Nr.;Fällig am;Offen;Mahnstufe".to_owned()];
    lines.extend((0..12).map(|i| format!("{:05};RE-{i};01.11.2026;12,00;{}", 10000 + i, i % 3)));
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let p = propose(&sample(&lines, ';'), Entity::Invoice);
    assert_eq!(matched(&p, "dunning_level"), Some("Mahnstufe"));
    compiled(&p);
}

/// Found by a new ops person: the S/H sign applied to a column that already had `119,00-`
/// turned a credit of 119,00 into 119,00 owed; a mistyped phone cost the whole customer row.
#[test]
fn a_signed_column_is_not_signed_again_and_a_bad_phone_does_not_reject_the_row() {
    let p = propose(
        &sample(
            &[
                "Debitor;Re-Nr;Fälligkeit;Restbetrag;Soll/Haben",
                "10004;G-1;01.12.2026;119,00-;H",
                "10005;R-2;01.12.2026;250,00;S",
            ],
            ';',
        ),
        Entity::Invoice,
    );
    assert_eq!(matched(&p, "open_amount"), Some("Restbetrag"));
    assert!(!p.text.contains("negate"), "{}", p.text);
    compiled(&p);

    let p = propose(
        &sample(
            &[
                "Kundennr;Firma;Telefon",
                "10004;Beck KG;0711 99",
                "10005;Adler GmbH;0711 123456",
            ],
            ';',
        ),
        Entity::Customer,
    );
    assert!(
        p.text
            .contains("phones = { column = \"Telefon\", on_error = \"null\" }"),
        "{}",
        p.text
    );
    assert!(!p.text.contains("reject"), "{}", p.text);
    compiled(&p);
}
