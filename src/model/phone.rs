//! Phone numbers to E.164, with the notations German offices write:
//! `+49 (0)89 1234-56`, `0049 89 123456`, `089/123456-0`, `089 123456 Durchwahl 12`.

use phonenumber::{Mode, country};
use std::str::FromStr;

/// A parsed number: the full E.164 number and, when an extension was written separately
/// (`Durchwahl 12`, `-0`), the company's main number without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedPhone {
    pub e164: String,
    /// The number without the written extension (a prefix of `e164`).
    pub base: Option<String>,
}

/// Words that introduce an extension.
const EXTENSION_WORDS: &[&str] = &[
    "durchwahl",
    "durchw.",
    "dw.",
    "dw",
    "app.",
    "apparat",
    "ext.",
    "ext",
    "x",
];
/// Words in front of a number that are not part of it.
const LABEL_WORDS: &[&str] = &[
    "tel.", "tel:", "tel", "telefon:", "telefon", "fon:", "fon", "mobil:", "mobil", "phone:",
    "phone",
];

/// Whether the phone parser knows `region` (an ISO country code such as `DE`, any case).
/// Cheap: unlike a parse it does not build the number metadata (≈ 0.1 s of regular
/// expressions on first use), which a command that parses no number never needs.
pub fn known_region(region: &str) -> bool {
    region_id(region).is_some()
}

/// The parser's country of an ISO code in any case.
fn region_id(region: &str) -> Option<country::Id> {
    country::Id::from_str(&region.to_uppercase()).ok()
}

/// Parses a phone number; `region` (ISO code, e.g. `DE`) applies to numbers written without
/// a country code.
pub fn parse_phone(input: &str, region: &str) -> Result<ParsedPhone, String> {
    let region_id = region_id(region).ok_or_else(|| format!("unknown phone region `{region}`"))?;
    let lower = input.trim().to_lowercase();
    let mut words: Vec<&str> = lower.split_whitespace().collect();
    while words.first().is_some_and(|w| LABEL_WORDS.contains(w)) {
        words.remove(0);
    }
    // Split off a written extension: "089 123456 Durchwahl 12".
    let mut extension = String::new();
    if let Some(pos) = words.iter().position(|w| EXTENSION_WORDS.contains(w)) {
        extension = words[pos + 1..].concat();
        words.truncate(pos);
        if !extension.bytes().all(|b| b.is_ascii_digit()) || extension.is_empty() {
            return Err(format!("`{input}`: extension is not a number"));
        }
    }
    let mut main = words.join(" ").replace("(0)", " ");
    if main.is_empty() || !main.bytes().any(|b| b.is_ascii_digit()) {
        return Err(format!("`{input}` is not a phone number"));
    }
    if main.bytes().any(|b| b.is_ascii_alphabetic()) {
        return Err(format!("`{input}` is not a phone number"));
    }
    // "089/123456-0": the part after the last dash is the extension (0 = switchboard).
    let mut dash_extension = String::new();
    if let Some((head, tail)) = main.rsplit_once('-')
        && !tail.is_empty()
        && tail.len() <= 5
        && tail.trim().bytes().all(|b| b.is_ascii_digit())
        && head.bytes().filter(u8::is_ascii_digit).count() >= 6
    {
        dash_extension = tail.trim().to_owned();
        main = head.to_owned();
    }
    let base = to_e164(&main, region_id)
        .ok_or_else(|| format!("`{input}` is not a valid phone number"))?;
    let ext = if extension.is_empty() {
        dash_extension
    } else {
        extension
    };
    if ext.is_empty() {
        return Ok(ParsedPhone {
            e164: base,
            base: None,
        });
    }
    let full = format!("{base}{ext}");
    if full.len() > 16 {
        return Err(format!("`{input}` is too long for a phone number"));
    }
    Ok(ParsedPhone {
        e164: full,
        base: Some(base),
    })
}

fn to_e164(s: &str, region: country::Id) -> Option<String> {
    let n = phonenumber::parse(Some(region), s).ok()?;
    let e164 = n.format().mode(Mode::E164).to_string();
    // Accept numbers the metadata does not know as long as they have a plausible length:
    // company extensions make many valid German numbers "invalid" for libphonenumber.
    let digits = e164.len().saturating_sub(1);
    // The length first: the metadata's check runs its number patterns (9 → 5.5 µs per
    // parse, measured on the caller-ID lookup's numbers).
    ((8..=15).contains(&digits) || phonenumber::is_valid(&n)).then_some(e164)
}

/// Normalises a number for storage: E.164 of the full number.
pub fn normalise_phone(input: &str, region: &str) -> Result<String, String> {
    parse_phone(input, region).map(|p| p.e164)
}

/// How a stored E.164 number is shown to people: German numbers in national notation with
/// the area code apart (`0221 4711230`), others internationally (`+43 1 5123456`). A number
/// the metadata cannot split is shown as stored.
pub fn display_phone(e164: &str) -> String {
    let Ok(n) = phonenumber::parse(None, e164) else {
        return e164.to_owned();
    };
    let mode = if n.code().value() == 49 {
        Mode::National
    } else {
        Mode::International
    };
    n.format().mode(mode).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_regions_are_iso_codes_in_any_case() {
        for r in ["DE", "de", "AT", "ch"] {
            assert!(known_region(r), "{r}");
            assert!(parse_phone("030 1234567", r).is_ok(), "{r}");
        }
        for r in ["XX", "Deutschland", "", "D"] {
            assert!(!known_region(r), "{r}");
            assert!(parse_phone("030 1234567", r).is_err(), "{r}");
        }
    }

    #[test]
    fn numbers_are_shown_as_people_write_them() {
        assert_eq!(display_phone("+492214711230"), "0221 4711230");
        assert_eq!(display_phone("+4989123456"), "089 123456");
        assert_eq!(display_phone("+4915112345678"), "01511 2345678");
        assert_eq!(display_phone("+4315123456"), "+43 1 5123456");
        assert_eq!(display_phone("not a number"), "not a number");
    }

    fn p(s: &str) -> (String, Option<String>) {
        let r = parse_phone(s, "DE").unwrap_or_else(|e| panic!("{s}: {e}"));
        (r.e164, r.base)
    }

    #[test]
    fn german_notations() {
        assert_eq!(p("0221/1234567").0, "+492211234567");
        assert_eq!(
            p("+49 (0)89 1234-56"),
            ("+4989123456".into(), Some("+49891234".into()))
        );
        assert_eq!(p("0049 89 123456").0, "+4989123456");
        assert_eq!(
            p("089/123456-0"),
            ("+49891234560".into(), Some("+4989123456".into()))
        );
        assert_eq!(
            p("089 123456 Durchwahl 12"),
            ("+498912345612".into(), Some("+4989123456".into()))
        );
        assert_eq!(p("Tel. 089 123456").0, "+4989123456");
        assert_eq!(p("+41 44 668 18 00").0, "+41446681800");
        assert_eq!(p("0171 1234567").0, "+491711234567");
    }

    #[test]
    fn junk_is_rejected() {
        for bad in ["siehe Notiz", "", "-", "089 123456 Durchwahl zwölf", "12"] {
            assert!(parse_phone(bad, "DE").is_err(), "{bad}");
        }
        assert!(parse_phone("089 123456", "XX").is_err());
    }
}
