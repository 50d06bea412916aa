use super::*;

fn de(s: &str) -> String {
    parse_decimal(s, DecimalStyle::German)
        .map(|d| d.to_string())
        .unwrap_or_else(|e| e)
}
fn auto(s: &str) -> String {
    parse_decimal(s, DecimalStyle::Auto)
        .map(|d| d.to_string())
        .unwrap_or_else(|e| e)
}

#[test]
fn german_decimals() {
    assert_eq!(de("1.234,56"), "1234.56");
    assert_eq!(de("-1.234,56"), "-1234.56");
    assert_eq!(de("1.234,56-"), "-1234.56");
    assert_eq!(de("24,95"), "24.95");
    assert_eq!(de("5950,00"), "5950.00");
    assert_eq!(de("1.000.000"), "1000000");
    assert_eq!(de("(12,00)"), "-12.00");
    assert_eq!(de("€ 12,50"), "12.50");
    assert_eq!(de(" 7 "), "7");
    assert_eq!(de(",5"), "0.5");
    for bad in [
        "",
        "-",
        "abc",
        "1.23,4",
        "12,",
        "1,2,3",
        "1.2345,00",
        "--1",
        "1-2",
    ] {
        assert!(
            parse_decimal(bad, DecimalStyle::German).is_err(),
            "{bad} should fail"
        );
    }
}

/// Every lexical form of xs:decimal (XML Schema Part 2, 3.2.3.1) parses with its exact
/// value in the English style the e-invoice mappings use.
#[test]
fn xs_decimal_lexical_forms() {
    for (text, value) in [
        ("64.", "64"),
        (".5", "0.5"),
        ("+1.0", "1.0"),
        ("007", "7"),
        ("-0", "0"),
        ("+.5", "0.5"),
        ("-.25", "-0.25"),
        ("0.000", "0.000"),
        ("-007.10", "-7.10"),
        ("+0", "0"),
        (
            "123456789012345678.0123456789",
            "123456789012345678.0123456789",
        ),
        (" 1.5 ", "1.5"),
    ] {
        let d =
            parse_decimal(text, DecimalStyle::English).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(d.to_string(), value, "{text}");
    }
    for bad in [".", "+", "-.", "1..2", "1.2.", "++1", "1.2.3", "abc"] {
        assert!(
            parse_decimal(bad, DecimalStyle::English).is_err(),
            "{bad} should fail"
        );
    }
    // In the German style a trailing point stays an error ("12." is no amount there).
    assert!(parse_decimal("12.", DecimalStyle::German).is_err());
}

#[test]
fn english_and_auto_decimals() {
    assert_eq!(
        parse_decimal("1,234.56", DecimalStyle::English)
            .unwrap()
            .to_string(),
        "1234.56"
    );
    assert_eq!(auto("1,234.56"), "1234.56");
    assert_eq!(auto("1.234,56"), "1234.56");
    assert_eq!(auto("24,95"), "24.95");
    assert_eq!(auto("24.95"), "24.95");
    assert_eq!(auto("1.234.567"), "1234567");
    assert_eq!(auto("1e3"), "1000");
    assert_eq!(auto("-0.10"), "-0.10");
    assert_eq!(
        auto("99999999999999999999999.99"),
        "99999999999999999999999.99"
    );
}

#[test]
fn fast_path_agrees_with_the_general_parser() {
    let mut cases = Vec::new();
    for int in [
        "0",
        "7",
        "12",
        "123",
        "1234",
        "1.234",
        "12.345.678",
        "1,234",
        "1,234,567",
        ".5",
        "01",
    ] {
        for frac in ["", ",5", ",50", ".5", ".05", ",123456"] {
            for sign in ["", "-", "+", "suffix"] {
                let body = format!("{int}{frac}");
                cases.push(match sign {
                    "suffix" => format!("{body}-"),
                    s => format!("{s}{body}"),
                });
            }
        }
    }
    for c in &cases {
        for style in [
            DecimalStyle::German,
            DecimalStyle::English,
            DecimalStyle::Auto,
        ] {
            if let Some(fast) = fast_decimal(c.as_bytes(), style) {
                assert_eq!(Ok(fast), parse_decimal_slow(c, style), "{c} {style:?}");
            }
        }
    }
}

#[test]
fn dates() {
    let d = |s: &str| parse_date(s, &DateFormat::Auto, None).map(|d| d.to_string());
    assert_eq!(d("31.12.2026").unwrap(), "2026-12-31");
    assert_eq!(d("2026-12-31").unwrap(), "2026-12-31");
    assert_eq!(d("2026-12-31T23:30:00-05:00").unwrap(), "2026-12-31");
    assert_eq!(d("20261231").unwrap(), "2026-12-31");
    assert_eq!(d("31.12.26").unwrap(), "2026-12-31");
    assert!(d("31.02.2026").is_err());
    assert!(d("morgen").is_err());
    let p = DateFormat::Patterns(vec!["%d/%m/%Y".into()]);
    assert_eq!(
        parse_date("01/02/2026", &p, None).unwrap().to_string(),
        "2026-02-01"
    );
}

/// Found by a new ops person: `date = "TT.MM.JJJJ"` (read as `%d.%m.%Y`) on `31.12.26`
/// stored the year 26 and showed the invoice 730,479 days overdue.
#[test]
fn a_two_digit_year_read_with_four_digits_is_refused_with_the_pattern_to_use() {
    let p = DateFormat::Patterns(vec!["%d.%m.%Y".into()]);
    let e = parse_date("31.12.26", &p, None).unwrap_err();
    assert!(e.contains("year 26") && e.contains("%d.%m.%y"), "{e}");
    let p = DateFormat::Patterns(vec!["%d.%m.%Y".into(), "%d.%m.%y".into()]);
    assert_eq!(
        parse_date("31.12.26", &p, None).unwrap().to_string(),
        "2026-12-31"
    );
    let p = DateFormat::Patterns(vec!["%Y-%m-%d".into()]);
    assert!(parse_date("0999-01-01", &p, None).is_err());
}

#[test]
fn datev_ttmm_takes_year_from_fiscal_year() {
    let t = |s, fy| parse_date(s, &DateFormat::DayMonth, Some(fy)).map(|d| d.to_string());
    assert_eq!(t("2202", "20180101").unwrap(), "2018-02-22");
    assert_eq!(t("102", "20180101").unwrap(), "2018-02-01");
    // Fiscal year from July: January belongs to the next calendar year.
    assert_eq!(t("1501", "20180701").unwrap(), "2019-01-15");
    assert_eq!(t("1508", "20180701").unwrap(), "2018-08-15");
    assert!(t("3102", "20180101").is_err());
    assert!(parse_date("2202", &DateFormat::DayMonth, None).is_err());
}

#[test]
fn identifiers() {
    assert_eq!(normalise_vat("de 123.456.789").unwrap(), "DE123456789");
    assert!(normalise_vat("123").is_err());
    assert_eq!(normalise_gln("4000001000005").unwrap(), "4000001000005");
    assert!(normalise_gln("4000001000006").is_err());
    assert_eq!(
        normalise_email(" Info@Müller.de ").unwrap(),
        "info@müller.de"
    );
    assert!(normalise_email("kein mail").is_err());
    assert_eq!(normalise_country("Deutschland").unwrap(), "DE");
    assert_eq!(normalise_country("at").unwrap(), "AT");
    assert!(normalise_country("Germania").is_err());
    assert_eq!(normalise_currency("€").unwrap(), "EUR");
    assert!(parse_bool("vielleicht").is_err());
}
