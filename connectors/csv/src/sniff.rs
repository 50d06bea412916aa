//! A first look at an unfamiliar flat file (`kontor mapping new`): its encoding and delimiter,
//! and its first records as the connector reads them (every line a record, no header taken:
//! which line is the header is for the caller to decide).

use crate::options::{CsvOptions, Encoding};
use crate::reader::{DELIMITERS, FileReader, delimiter_counts};
use kontor_connector::{ConnectorError, Fields, Item};
use std::io::Read;
use std::path::Path;

/// Bytes looked at to decide the encoding.
const ENCODING_BYTES: u64 = 4 * 1024 * 1024;
/// Lines looked at to decide the delimiter.
const DELIMITER_LINES: usize = 50;

/// What a file looks like.
#[derive(Debug, Clone)]
pub struct Sniffed {
    /// The `encoding` a mapping should name: `utf-8`, `windows-1252`, `utf-16`, or `auto`
    /// (only ASCII seen: either reads it).
    pub encoding: &'static str,
    /// The file starts with a UTF-8 byte order mark.
    pub bom: bool,
    pub delimiter: u8,
    /// Records from the start of the file (the header line too), with their line numbers.
    pub records: Vec<(u64, Vec<String>)>,
    /// Records the reader refused (line, reason).
    pub broken: Vec<(u64, String)>,
    /// The stream of a DATEV file (`datev/<format>`); its first line is not in `records`.
    pub stream: Option<String>,
    /// Whether the file ended before `max_records`.
    pub complete: bool,
}

/// Reads the first `max_records` records of `path` with the connector's own reader.
pub fn sniff(path: &Path, max_records: usize) -> Result<Sniffed, ConnectorError> {
    let label = path.display().to_string();
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(ENCODING_BYTES).read_to_end(&mut head))
        .map_err(|e| ConnectorError::io(&label, e))?;
    let (encoding, bom, reader_encoding) = detect_encoding(&head);
    let text: Vec<u8> = if reader_encoding == Encoding::Utf16 {
        let (t, _) = encoding_rs::UTF_16LE.decode_with_bom_removal(&head);
        t.into_owned().into_bytes()
    } else {
        head
    };
    let delimiter = detect_delimiter(&text);
    let opts = CsvOptions {
        encoding: reader_encoding,
        delimiter: Some(delimiter),
        quote: b'"',
        header: false,
        skip_lines: 0,
        datev_auto: true,
        extensions: Vec::new(),
    };
    let mut reader = FileReader::open(path, &label, &opts, None)?;
    let (mut records, mut broken, mut stream) = (Vec::new(), Vec::new(), None);
    let mut complete = false;
    while records.len() + broken.len() < max_records {
        let want = (max_records - records.len() - broken.len()).min(500);
        let Some(batch) = reader.next_batch(want)? else {
            complete = true;
            break;
        };
        for item in batch.items {
            match item {
                Item::Record(r) => {
                    if stream.is_none() {
                        stream = r.stream.as_deref().map(str::to_owned);
                    }
                    let values = match &r.fields {
                        Fields::Row { values, .. } => values.iter().map(str::to_owned).collect(),
                        Fields::Tree(_) => Vec::new(),
                    };
                    records.push((r.position.line.unwrap_or(0), values));
                }
                Item::Reject(r) => broken.push((r.position.line.unwrap_or(0), r.reason)),
            }
        }
    }
    Ok(Sniffed {
        encoding,
        bom,
        delimiter,
        records,
        broken,
        stream,
        complete,
    })
}

/// (name for the mapping, BOM, what the reader is told).
fn detect_encoding(head: &[u8]) -> (&'static str, bool, Encoding) {
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return ("utf-16", false, Encoding::Utf16);
    }
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return ("utf-8", true, Encoding::Utf8);
    }
    match std::str::from_utf8(head) {
        Ok(s) if s.is_ascii() => ("auto", false, Encoding::Auto),
        Ok(_) => ("utf-8", false, Encoding::Utf8),
        // Cut off inside a character at the end of what was read: valid so far.
        Err(e) if e.error_len().is_none() && e.valid_up_to() + 4 >= head.len() => {
            if head[..e.valid_up_to()].is_ascii() {
                ("auto", false, Encoding::Auto)
            } else {
                ("utf-8", false, Encoding::Utf8)
            }
        }
        Err(_) => ("windows-1252", false, Encoding::Windows1252),
    }
}

/// The delimiter whose count is the same on most of the first lines (a title line or a
/// total line does not decide); ties go to the order of [`DELIMITERS`] (`;` first).
pub fn detect_delimiter(text: &[u8]) -> u8 {
    let text = text.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(text);
    let lines: Vec<[usize; 4]> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .take(DELIMITER_LINES)
        .map(|l| delimiter_counts(l, b'"'))
        .collect();
    let mut best = (0usize, 0usize, b';');
    for (i, d) in DELIMITERS.iter().enumerate() {
        // The most frequent non-zero count of this delimiter per line, and on how many lines.
        let mut freq: std::collections::BTreeMap<usize, usize> = Default::default();
        for c in lines.iter().map(|c| c[i]).filter(|c| *c > 0) {
            *freq.entry(c).or_default() += 1;
        }
        let Some((count, lines_with)) = freq.into_iter().max_by_key(|(count, n)| (*n, *count))
        else {
            continue;
        };
        if (lines_with, count) > (best.0, best.1) {
            best = (lines_with, count, *d);
        }
    }
    best.2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delimiter_is_the_one_that_repeats_across_lines() {
        assert_eq!(detect_delimiter(b"a;b;c\n1;2;3\n"), b';');
        assert_eq!(detect_delimiter(b"a\tb\tc\n1\t2,5\t3\n"), b'\t');
        assert_eq!(detect_delimiter(b"a|b|c\n1|2|3\n"), b'|');
        assert_eq!(detect_delimiter(b"a,b,c\n1,\"2;3\",3\n"), b',');
        // A title line with commas does not decide; the rows do.
        assert_eq!(
            detect_delimiter(b"Offene Posten, Stand 04.12.2026, Seite 1\nA;B\n1,5;2\n3;4\n"),
            b';'
        );
        assert_eq!(detect_delimiter(b"just one column\nvalue\n"), b';');
    }

    #[test]
    fn the_encoding_is_named_from_the_bytes() {
        assert_eq!(detect_encoding(b"\xEF\xBB\xBFa;b").0, "utf-8");
        assert!(detect_encoding(b"\xEF\xBB\xBFa;b").1);
        assert_eq!(detect_encoding("Straße;Ort".as_bytes()).0, "utf-8");
        assert_eq!(detect_encoding(b"Stra\xdfe;Ort").0, "windows-1252");
        assert_eq!(detect_encoding(b"a;b").0, "auto");
        assert_eq!(detect_encoding(b"\xFF\xFEa\0").0, "utf-16");
    }

    #[test]
    fn a_file_is_read_as_records_with_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, b"Nr;Name\r\n1;\"M\xfcller\nGmbH\"\r\n2;B\r\n").unwrap();
        let s = sniff(&p, 10).unwrap();
        assert_eq!(s.encoding, "windows-1252");
        assert_eq!(s.delimiter, b';');
        assert!(s.complete);
        assert_eq!(s.records.len(), 3);
        assert_eq!(s.records[1].1, vec!["1", "Müller\nGmbH"]);
        assert_eq!(s.records[2].0, 4);
        let s = sniff(&p, 2).unwrap();
        assert!(!s.complete && s.records.len() == 2);
    }
}
