//! A generated DATEV EXTF Buchungsstapel (format category 21) for `kontor bench --export
//! datev`: the real file's header and 120 columns (from the sample in
//! `tests/fixtures/datev`, MIT licence there), Windows-1252, postings on debtor accounts —
//! invoices, every 20th a credit note — and, as the increment, payments of the first invoices.

use std::io::{BufRead, Write};
use std::path::Path;

/// The mapping the benchmark syncs with (shipped as `mappings/datev-buchungsstapel.toml`).
pub const MAPPING: &str = include_str!("../../mappings/datev-buchungsstapel.toml");

/// The sample export: its second line names the 120 columns, its fourth is a posting whose
/// fields after the 14th (cost centres, additional information, …, all empty) every generated
/// posting repeats.
const SAMPLE: &[u8] = include_bytes!("../../tests/fixtures/datev/EXTF_Buchungsstapel.csv");

/// The first 14 columns are written; the rest of a posting comes from the sample.
const WRITTEN: usize = 14;

/// Lines before the column names (the EXTF header): what raw importers skip.
pub const PREAMBLE_LINES: usize = 1;

/// The sample's column names and the fields after the written ones of its posting (each with
/// its leading `;`), as Windows-1252 bytes.
fn sample() -> (Vec<u8>, Vec<u8>) {
    let mut lines = SAMPLE
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let columns = lines.nth(1).unwrap_or_default().to_vec();
    let posting = lines.nth(1).unwrap_or_default();
    let cut = posting
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b';')
        .nth(WRITTEN - 1)
        .map_or(posting.len(), |(i, _)| i);
    (columns, posting[cut..].to_vec())
}

/// The EXTF header: Berater 1001, Mandant 456, fiscal year 2026.
const HEADER: &str = "\"EXTF\";700;21;\"Buchungsstapel\";9;20261201080000000;;\"KO\";\"kontor bench\";\"\";1001;456;20260101;5;20260101;20261231;\"Benchmark\";\"\";1;;0;\"EUR\";\"\";\"\";\"\";\"\";\"\";;;\"\";\"\"";

/// Writes `rows` postings on `customers` debtor accounts (10000 …); returns the file's size.
pub fn write_buchungsstapel(path: &Path, rows: u64, customers: u64) -> std::io::Result<u64> {
    let (columns, tail) = sample();
    let file = std::fs::File::create(path)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    w.write_all(HEADER.as_bytes())?;
    w.write_all(b"\r\n")?;
    w.write_all(&columns)?;
    w.write_all(b"\r\n")?;
    let names = super::NAMES;
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut line = String::with_capacity(200);
    for i in 1..=rows {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let konto = 10_000 + seed % customers.clamp(1, 60_000);
        let cents = 100 + seed % 5_000_000;
        let (day, month) = (1 + i % 28, 1 + (i / 28) % 12);
        let credit = i % 20 == 0;
        let name = names[(seed % names.len() as u64) as usize];
        line.clear();
        use std::fmt::Write as _;
        let _ = write!(
            line,
            "{};\"{}\";\"EUR\";;;\"\";{konto};8400;\"\";{day:02}{month:02};\"{}{i:010}\";\"\";;\"{} {name}\"",
            super::de_amount(cents).replace('.', ""),
            if credit { "H" } else { "S" },
            if credit { "GU" } else { "RE" },
            if credit { "Gutschrift" } else { "Rechnung" },
        );
        w.write_all(&encoding_rs::WINDOWS_1252.encode(&line).0)?;
        w.write_all(&tail)?;
        w.write_all(b"\r\n")?;
    }
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// The increment at `path`: payments (credit on the debtor against the bank account 1200) of
/// the invoices among the first `n` postings of `data`, under the same header — what the
/// next day's Buchungsstapel brings.
pub fn write_payments(data: &Path, path: &Path, n: u64) -> std::io::Result<u64> {
    let (_, tail) = sample();
    let mut out = Vec::new();
    let mut paid = 0;
    let lines = std::io::BufReader::new(std::fs::File::open(data)?).split(b'\n');
    for (i, line) in lines.take(n as usize + 2).enumerate() {
        let line = line?;
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        if i < 2 {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
            continue;
        }
        let cols: Vec<&[u8]> = line.splitn(WRITTEN + 1, |b| *b == b';').collect();
        if cols.len() <= WRITTEN || cols[1] != b"\"S\"" {
            continue;
        }
        let mut posting = cols[..WRITTEN].to_vec();
        posting[1] = b"\"H\"";
        posting[7] = b"1200";
        posting[13] = b"\"Zahlung\"";
        out.extend_from_slice(&posting.join(&b';'));
        out.extend_from_slice(&tail);
        out.extend_from_slice(b"\r\n");
        paid += 1;
    }
    std::fs::write(path, out)?;
    Ok(paid)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generated file is what the shipped mapping reads: 120 columns a line, and the
    /// payments name invoices of the export.
    #[test]
    fn postings_have_the_samples_columns_and_payments_name_invoices() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("EXTF_Buchungsstapel.csv");
        write_buchungsstapel(&data, 50, 100).unwrap();
        let bytes = std::fs::read(&data).unwrap();
        let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 52);
        assert!(lines[0].starts_with("\"EXTF\";700;21;\"Buchungsstapel\""));
        assert!(lines[1].starts_with("Umsatz (ohne Soll/Haben-Kz);Soll/Haben-Kennzeichen"));
        for l in &lines[1..] {
            assert_eq!(l.split(';').count(), 120, "{l}");
        }
        assert!(lines[2].contains(";\"S\";\"EUR\";") && lines[2].contains("\"RE0000000001\""));
        assert!(lines[21].contains(";\"H\";") && lines[21].contains("\"GU0000000020\""));

        let paid = dir.path().join("EXTF_Buchungsstapel-zahlungen.csv");
        assert_eq!(write_payments(&data, &paid, 20).unwrap(), 19);
        let bytes = std::fs::read(&paid).unwrap();
        let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&bytes);
        let payments: Vec<&str> = text.lines().skip(2).collect();
        assert_eq!(payments.len(), 19);
        let first = payments[0].split(';').collect::<Vec<_>>();
        let invoice = lines[2].split(';').collect::<Vec<_>>();
        assert_eq!(first.len(), 120);
        assert_eq!(
            (first[0], first[6], first[10]),
            (invoice[0], invoice[6], invoice[10])
        );
        assert_eq!((first[1], first[7]), ("\"H\"", "1200"));
    }
}
