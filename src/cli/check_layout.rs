//! What a CSV file looks like compared with what its mapping says (`kontor check`): the
//! delimiter that repeats across its lines and the line its column names are on, as the
//! sniffer of `kontor mapping new` sees them.

use kontor::mapping::Mapping;
use kontor_csv::CsvOptions;
use kontor_csv::sniff::sniff;
use std::path::Path;

/// Records looked at for the header line.
const LINES: usize = 30;

/// How to read `path` so that its header holds the mapping's columns (`set delimiter = …`,
/// `skip_lines = …`), when the sniffer finds a line holding more of them than `header`, the
/// header as read with the configured options (`None`: no row could be read).
pub fn hint(
    path: &Path,
    mapping: &Mapping,
    stream: Option<&str>,
    opts: Option<&CsvOptions>,
    header: Option<&[String]>,
) -> Option<String> {
    let s = sniff(path, LINES).ok()?;
    if s.stream.is_some() {
        return None;
    }
    let expected = mapping.columns(stream).len();
    let score = |values: &[String]| expected - mapping.missing_columns(values, stream).len();
    let now = header.map_or(0, score);
    let (line, best) = s
        .records
        .iter()
        .map(|(line, values)| (*line, score(values)))
        .max_by_key(|(line, n)| (*n, std::cmp::Reverse(*line)))?;
    if best <= now || best < expected.min(2) {
        return None;
    }
    let mut hints = Vec::new();
    let configured = opts.and_then(|o| o.delimiter);
    let one_column = header.is_none_or(|h| h.len() == 1);
    if configured.is_some_and(|d| d != s.delimiter) && one_column {
        let (name, toml) = match s.delimiter {
            b'\t' => ("tab", "\\t".to_owned()),
            d => ("", (d as char).to_string()),
        };
        let name = if name.is_empty() {
            format!("`{toml}`")
        } else {
            name.to_owned()
        };
        hints.push(format!(
            "the file looks {name}-separated: set delimiter = \"{toml}\""
        ));
    }
    let skip = opts.map_or(0, |o| o.skip_lines);
    if opts.is_none_or(|o| o.header) && line.saturating_sub(1) != skip {
        hints.push(format!(
            "the column names seem to be on line {line} (skip_lines = {})",
            line.saturating_sub(1)
        ));
    }
    (!hints.is_empty()).then(|| hints.join("; "))
}

/// A header cell cut to a readable length.
pub fn shorten(s: &str) -> String {
    let s = s.trim().replace('\t', "\\t");
    match s.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s,
    }
}
