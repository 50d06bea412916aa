//! Generated inputs for benchmarks and crash tests (never committed: made at run time).

pub mod customers;
pub mod datev;
pub mod pg;

use std::io::Write;
use std::path::Path;

/// The mapping for [`write_invoice_export`] (shipped as `mappings/wawi-rechnungen.toml`).
pub const INVOICE_MAPPING: &str = include_str!("../../mappings/wawi-rechnungen.toml");

const NAMES: &[&str] = &[
    "Müller & Söhne GmbH",
    "Bäckerei Weiß e.K.",
    "Schröder Elektrotechnik GmbH & Co. KG",
    "Großhandel Nord AG",
    "Öko-Hof Lüneburg GbR",
    "Maschinenbau Kühn GmbH",
    "Jäger Logistik KG",
    "Fleischerei Groß",
];

/// Writes a Windows-1252, `;`-separated invoice journal with `rows` rows: 12 columns, decimal
/// comma, `DD.MM.YYYY`, customer numbers with leading zeros, umlauts, every 20th row a credit
/// note. With `broken_every = Some(n)`, every n-th row has an unparsable amount.
pub fn write_invoice_export(
    path: &Path,
    rows: u64,
    broken_every: Option<u64>,
) -> std::io::Result<u64> {
    write_invoice_export_for(path, rows, 100_000, broken_every)
}

/// [`write_invoice_export`] for customers `000000` … `customers - 1`.
pub fn write_invoice_export_for(
    path: &Path,
    rows: u64,
    customers: u64,
    broken_every: Option<u64>,
) -> std::io::Result<u64> {
    let file = std::fs::File::create(path)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let header = "Belegnr;Art;Kundennr;Kundenname;Belegdatum;Fällig;Netto;USt-Satz;USt;Brutto;Offen;Währung\r\n";
    w.write_all(&encoding_rs::WINDOWS_1252.encode(header).0)?;
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut line = String::with_capacity(160);
    for i in 1..=rows {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let customer = seed % customers.max(1);
        let cents = 100 + seed % 5_000_000;
        let day = 1 + (i % 28);
        let month = 1 + (i / 28) % 12;
        let credit = i % 20 == 0;
        let rate = if seed.is_multiple_of(7) { 7 } else { 19 };
        let tax = cents * rate / 100;
        let gross = cents + tax;
        let open = if seed.is_multiple_of(3) { 0 } else { gross };
        let sign = if credit { "-" } else { "" };
        line.clear();
        use std::fmt::Write as _;
        let _ = write!(
            line,
            "{}{:010};{};{:06};{};{:02}.{:02}.2026;{:02}.{:02}.2026;{sign}{};{rate};{sign}{};{sign}{};{};EUR\r\n",
            if credit { "G" } else { "R" },
            i,
            if credit { "Gutschrift" } else { "Rechnung" },
            customer,
            NAMES[(seed % NAMES.len() as u64) as usize],
            day,
            month,
            day,
            1 + month % 12,
            de_amount(cents),
            de_amount(tax),
            if broken_every.is_some_and(|n| i % n == 0) {
                "12,3,4".to_owned()
            } else {
                de_amount(gross)
            },
            de_amount(if credit { 0 } else { open }),
        );
        w.write_all(&encoding_rs::WINDOWS_1252.encode(&line).0)?;
    }
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// `123456789` cents → `1.234.567,89`.
pub fn de_amount(cents: u64) -> String {
    let euros = (cents / 100).to_string();
    let mut grouped = String::with_capacity(euros.len() + euros.len() / 3);
    for (i, c) in euros.chars().enumerate() {
        if i > 0 && (euros.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{grouped},{:02}", cents % 100)
}

/// An HTTP client for benchmarks and tests (reqwest is built without a bundled TLS provider:
/// install ring).
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

#[cfg(test)]
mod tests {
    #[test]
    fn german_amounts() {
        assert_eq!(super::de_amount(5), "0,05");
        assert_eq!(super::de_amount(123_456_789), "1.234.567,89");
        assert_eq!(super::de_amount(100_000), "1.000,00");
    }
}
