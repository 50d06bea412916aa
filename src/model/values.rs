//! Parsing and normalising source values: German and English decimals, business dates,
//! VAT ids, GLNs, e-mail addresses, countries.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use std::str::FromStr;

/// How decimals are written in a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecimalStyle {
    /// `1.234,56`
    German,
    /// `1,234.56`
    English,
    /// Decide per value: the last of `.`/`,` is the decimal separator; a lone `,` is decimal
    /// (German data is the normal case), a lone `.` too (machine formats).
    #[default]
    Auto,
}

/// Parses a decimal such as `1.234,56`, `-1.234,56`, `1.234,56-`, `(12,00)`, `1,234.56`,
/// `€ 12,50`, `1e3`.
pub fn parse_decimal(input: &str, style: DecimalStyle) -> Result<Decimal, String> {
    let mut d = match fast_decimal(input.as_bytes(), style) {
        Some(d) => d,
        None => parse_decimal_slow(input, style)?,
    };
    // `-0` and `-0.00` are zero: no sign that would show as "-0".
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    Ok(d)
}

/// The common shapes (`1.234,56`, `-12.50`, `1.234,56-`, `7`) without allocating; `None`
/// means "use the general parser" (which also produces the error messages).
fn fast_decimal(b: &[u8], style: DecimalStyle) -> Option<Decimal> {
    let (mut neg, mut body) = (false, b);
    if let [b'-', rest @ ..] = body {
        neg = true;
        body = rest;
    } else if let [rest @ .., b'-'] = body {
        neg = true;
        body = rest;
    }
    if body.is_empty() || body.len() > 26 {
        return None;
    }
    let (dots, commas) = body.iter().fold((0, 0), |(d, c), x| {
        (d + (*x == b'.') as usize, c + (*x == b',') as usize)
    });
    let decimal = match style {
        DecimalStyle::German => b',',
        DecimalStyle::English => b'.',
        DecimalStyle::Auto => match (dots, commas) {
            (0, 0) => b'.',
            (_, 0) if dots == 1 => b'.',
            (0, 1) => b',',
            _ => return None,
        },
    };
    let thousands = if decimal == b',' { b'.' } else { b',' };
    let mut mantissa: i128 = 0;
    let mut scale: u32 = 0;
    let mut seen_decimal = false;
    let mut digits_in_group = 0usize;
    let mut groups = 0usize;
    let mut int_digits = 0usize;
    for (i, &c) in body.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                mantissa = mantissa
                    .checked_mul(10)?
                    .checked_add(i128::from(c - b'0'))?;
                if seen_decimal {
                    scale += 1;
                } else {
                    digits_in_group += 1;
                    int_digits += 1;
                }
            }
            x if x == decimal && !seen_decimal && i + 1 < body.len() => {
                if groups > 0 && digits_in_group != 3 {
                    return None;
                }
                seen_decimal = true;
            }
            x if x == thousands && !seen_decimal => {
                let first_ok = groups > 0 || (1..=3).contains(&digits_in_group);
                if !first_ok || (groups > 0 && digits_in_group != 3) {
                    return None;
                }
                groups += 1;
                digits_in_group = 0;
            }
            _ => return None,
        }
    }
    if (groups > 0 && !seen_decimal && digits_in_group != 3)
        || (int_digits == 0 && !seen_decimal)
        || scale > 28
    {
        return None;
    }
    let mut d = Decimal::try_from_i128_with_scale(mantissa, scale).ok()?;
    if neg {
        d = -d;
    }
    Some(d)
}

fn parse_decimal_slow(input: &str, style: DecimalStyle) -> Result<Decimal, String> {
    let mut s: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}' && *c != '€')
        .collect();
    if let Some(rest) = s.strip_prefix("EUR").or_else(|| s.strip_suffix("EUR")) {
        s = rest.to_owned();
    }
    if s.is_empty() {
        return Err(format!("`{input}` is not a number"));
    }
    let mut negative = false;
    if s.starts_with('(') && s.ends_with(')') && s.len() > 2 {
        negative = true;
        s = s[1..s.len() - 1].to_owned();
    }
    if let Some(rest) = s.strip_suffix('-') {
        negative = !negative;
        s = rest.to_owned();
    } else if let Some(rest) = s.strip_prefix('-') {
        negative = !negative;
        s = rest.to_owned();
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest.to_owned();
    }
    if s.is_empty() || s.starts_with(['-', '+']) {
        return Err(format!("`{input}` is not a number"));
    }
    let value = if s.contains(['e', 'E']) {
        Decimal::from_scientific(&s).map_err(|_| format!("`{input}` is not a number"))?
    } else {
        let (thousands, decimal) = separators(&s, style);
        // `64.` is a valid xs:decimal (e-invoices): a trailing point only where `.` is the
        // decimal point for sure (in German or sniffed styles it may be a thousands separator).
        if style == DecimalStyle::English
            && let Some(int) = s.strip_suffix('.')
            && int.ends_with(|c: char| c.is_ascii_digit())
            && !int.contains('.')
        {
            s = int.to_owned();
        }
        let normalised = normalise(&s, thousands, decimal)
            .ok_or_else(|| format!("`{input}` is not a number"))?;
        Decimal::from_str(&normalised)
            .map_err(|_| format!("`{input}` is not a number (out of range)"))?
    };
    Ok(if negative { -value } else { value })
}

fn separators(s: &str, style: DecimalStyle) -> (char, char) {
    match style {
        DecimalStyle::German => ('.', ','),
        DecimalStyle::English => (',', '.'),
        DecimalStyle::Auto => match (s.rfind('.'), s.rfind(',')) {
            (Some(d), Some(c)) if d > c => (',', '.'),
            (Some(_), Some(_)) => ('.', ','),
            (None, Some(_)) => ('.', ','),
            (Some(_), None) if s.matches('.').count() > 1 => ('.', ','),
            _ => (',', '.'),
        },
    }
}

/// Removes thousands separators (checking groups of three) and makes `.` the decimal point.
fn normalise(s: &str, thousands: char, decimal: char) -> Option<String> {
    let (int_part, frac) = match s.split_once(decimal) {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    if let Some(f) = frac
        && (f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let groups: Vec<&str> = int_part.split(thousands).collect();
    if groups
        .iter()
        .any(|g| !g.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    if groups.len() > 1 {
        let first_ok = (1..=3).contains(&groups[0].len());
        if !first_ok || groups[1..].iter().any(|g| g.len() != 3) {
            return None;
        }
    }
    let digits: String = groups.concat();
    if digits.is_empty() && frac.is_none() {
        return None;
    }
    let mut out = if digits.is_empty() {
        "0".to_owned()
    } else {
        digits
    };
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    Some(out)
}

/// How dates are written in a source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DateFormat {
    /// ISO `2026-12-31` (also with a time part, which is cut off without any time zone
    /// shift), `31.12.2026`, `31.12.26`, `20261231`.
    #[default]
    Auto,
    /// chrono `strftime` patterns, tried in order.
    Patterns(Vec<String>),
    /// DATEV `TTMM` (day and month); the year comes from the fiscal year start `YYYYMMDD`.
    DayMonth,
}

const AUTO_PATTERNS: &[&str] = &["%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%Y%m%d", "%d/%m/%Y"];

/// Parses a business date. `fiscal_year_start` (`YYYYMMDD`) is needed for `TTMM`.
pub fn parse_date(
    input: &str,
    format: &DateFormat,
    fiscal_year_start: Option<&str>,
) -> Result<NaiveDate, String> {
    let s = input.trim();
    match format {
        DateFormat::Auto => {
            // A timestamp: keep its calendar date as written (no time zone shifting).
            let date_part = match s.find('T') {
                Some(i) if i >= 8 => &s[..i],
                _ => s,
            };
            AUTO_PATTERNS
                .iter()
                .find_map(|p| {
                    fast_date(date_part, p)
                        .or_else(|| NaiveDate::parse_from_str(date_part, p).ok())
                        .filter(|d| (1900..=2199).contains(&d.year()))
                })
                .ok_or_else(|| {
                    format!("`{input}` is not a date (expected e.g. 31.12.2026 or 2026-12-31)")
                })
        }
        DateFormat::Patterns(patterns) => {
            let mut odd_year = None;
            for p in patterns {
                if let Some(d) = fast_date(s, p).or_else(|| NaiveDate::parse_from_str(s, p).ok()) {
                    // `31.12.26` read with `%Y` is the year 26: silent wrong data, refused.
                    if (1900..=2199).contains(&d.year()) {
                        return Ok(d);
                    }
                    odd_year.get_or_insert((p, d.year()));
                }
            }
            Err(match odd_year {
                Some((p, y))
                    if p.contains("%Y")
                        && y < 100
                        && !s.split(|c: char| !c.is_ascii_digit()).any(|g| g.len() >= 4) =>
                {
                    format!(
                        "`{input}` read with {p} is the year {y}: for two-digit years use {}",
                        p.replace("%Y", "%y")
                    )
                }
                Some((p, y)) => {
                    format!("`{input}` read with {p} is the year {y}, not a business date")
                }
                None => format!(
                    "`{input}` is not a date in the format {}",
                    patterns.join(" or ")
                ),
            })
        }
        DateFormat::DayMonth => parse_ttmm(s, fiscal_year_start),
    }
}

/// `%d.%m.%Y` and `%Y-%m-%d` without chrono's format parser.
fn fast_date(s: &str, pattern: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r.clone())?.iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    match pattern {
        "%d.%m.%Y" if b.len() == 10 && b[2] == b'.' && b[5] == b'.' => {
            NaiveDate::from_ymd_opt(num(6..10)? as i32, num(3..5)?, num(0..2)?)
        }
        "%Y-%m-%d" if b.len() == 10 && b[4] == b'-' && b[7] == b'-' => {
            NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
        }
        _ => None,
    }
}

fn parse_ttmm(s: &str, fiscal_year_start: Option<&str>) -> Result<NaiveDate, String> {
    let start = fiscal_year_start.ok_or(
        "TTMM date needs the fiscal year start from the file header (`datev.fiscal_year_start`)",
    )?;
    let start = NaiveDate::parse_from_str(start.trim(), "%Y%m%d")
        .map_err(|_| format!("fiscal year start `{start}` is not a date YYYYMMDD"))?;
    let digits = if s.len() == 3 {
        format!("0{s}")
    } else {
        s.to_owned()
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{s}` is not a TTMM date"));
    }
    let day: u32 = digits[..2]
        .parse()
        .map_err(|_| format!("`{s}` is not a TTMM date"))?;
    let month: u32 = digits[2..]
        .parse()
        .map_err(|_| format!("`{s}` is not a TTMM date"))?;
    // The date lies in the fiscal year [start, start + 1 year).
    for year in [start.year(), start.year() + 1] {
        if let Some(d) = NaiveDate::from_ymd_opt(year, month, day)
            && d >= start
            && d < start.with_year(start.year() + 1).unwrap_or(NaiveDate::MAX)
        {
            return Ok(d);
        }
    }
    Err(format!(
        "`{s}` is not a valid day and month in the fiscal year starting {start}"
    ))
}

/// VAT id: upper case without spaces, dots or dashes; checked for the general shape.
pub fn normalise_vat(s: &str) -> Result<String, String> {
    let v: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '-' | '/'))
        .collect::<String>()
        .to_uppercase();
    let ok = v.len() >= 4
        && v.len() <= 16
        && v.chars().take(2).all(|c| c.is_ascii_uppercase())
        && v.chars()
            .skip(2)
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '*');
    if ok {
        Ok(v)
    } else {
        Err(format!("`{s}` is not a VAT id"))
    }
}

/// GLN: 13 digits with a valid GS1 check digit.
pub fn normalise_gln(s: &str) -> Result<String, String> {
    let v: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if v.len() != 13 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{s}` is not a GLN (13 digits)"));
    }
    let digits: Vec<u32> = v.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum: u32 = digits[..12]
        .iter()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { *d } else { d * 3 })
        .sum();
    if (10 - sum % 10) % 10 != digits[12] {
        return Err(format!("`{s}` is not a GLN (check digit)"));
    }
    Ok(v)
}

pub fn normalise_email(s: &str) -> Result<String, String> {
    let v = s.trim().trim_start_matches("mailto:").to_lowercase();
    let ok = v.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
    }) && !v.contains(char::is_whitespace)
        && v.matches('@').count() == 1;
    if ok {
        Ok(v)
    } else {
        Err(format!("`{s}` is not an e-mail address"))
    }
}

/// ISO 3166 alpha-2, also from common German names and licence-plate codes.
pub fn normalise_country(s: &str) -> Result<String, String> {
    let v = s.trim();
    let named = match v.to_lowercase().as_str() {
        "deutschland" | "germany" | "d" | "deu" | "brd" => Some("DE"),
        "österreich" | "oesterreich" | "austria" | "a" | "aut" => Some("AT"),
        "schweiz" | "switzerland" | "ch" | "che" => Some("CH"),
        "niederlande" | "netherlands" | "nl" | "nld" => Some("NL"),
        "frankreich" | "france" | "f" | "fra" => Some("FR"),
        "italien" | "italy" | "i" | "ita" => Some("IT"),
        "belgien" | "belgium" | "b" | "bel" => Some("BE"),
        "luxemburg" | "luxembourg" | "l" | "lux" => Some("LU"),
        "polen" | "poland" | "pl" | "pol" => Some("PL"),
        "dänemark" | "daenemark" | "denmark" | "dk" | "dnk" => Some("DK"),
        _ => None,
    };
    if let Some(c) = named {
        return Ok(c.to_owned());
    }
    if v.len() == 2 && v.chars().all(|c| c.is_ascii_alphabetic()) {
        return Ok(v.to_uppercase());
    }
    Err(format!("`{s}` is not a country (ISO 3166 code like DE)"))
}

pub fn normalise_currency(s: &str) -> Result<String, String> {
    let v = s.trim();
    if v == "€" {
        return Ok("EUR".into());
    }
    if v.len() == 3 && v.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(v.to_uppercase())
    } else {
        Err(format!("`{s}` is not a currency code (ISO 4217 like EUR)"))
    }
}

pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_lowercase().as_str() {
        "1" | "true" | "ja" | "j" | "yes" | "y" | "x" | "wahr" => Ok(true),
        "0" | "false" | "nein" | "n" | "no" | "falsch" | "" => Ok(false),
        _ => Err(format!("`{s}` is not a yes/no value")),
    }
}

#[cfg(test)]
mod tests;
