//! Cross-reference files: which customer numbers of different systems are one customer.
//!
//! A CSV file (`;` or `,`, UTF-8 with or without BOM, or Windows-1252) whose header names the
//! systems; each further row is one customer with its number in each system (empty cell: not
//! in that system):
//!
//! ```text
//! wawi;erpnext;datev
//! 00042;CUST-10001;
//! 00045;;10000
//! ```

use super::KeyId;
use crate::diag::Diagnostic;
use std::path::Path;

/// Reads a cross-reference file; `label` names it in messages.
pub fn load(path: &Path, label: &str) -> Result<Vec<Vec<KeyId>>, Diagnostic> {
    let diag = |line: usize, message: String| Diagnostic {
        file: label.to_owned(),
        line,
        col: 1,
        message,
        warning: false,
    };
    let bytes = std::fs::read(path).map_err(|e| diag(1, format!("cannot read: {e}")))?;
    let text = decode(&bytes);
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.matches(';').count() >= first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .from_reader(text.as_bytes());
    let systems: Vec<String> = reader
        .headers()
        .map_err(|e| diag(1, format!("header: {e}")))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if systems.len() < 2 {
        return Err(diag(
            1,
            "the header must name at least two systems (e.g. `wawi;erpnext`)".into(),
        ));
    }
    for (i, s) in systems.iter().enumerate() {
        if s.is_empty() || systems[..i].contains(s) {
            return Err(diag(
                1,
                format!("column {}: empty or repeated system `{s}`", i + 1),
            ));
        }
    }
    let mut rows = Vec::new();
    for (n, rec) in reader.records().enumerate() {
        let line = n + 2;
        let rec = rec.map_err(|e| diag(line, e.to_string()))?;
        let keys: Vec<KeyId> = rec
            .iter()
            .zip(&systems)
            .filter(|(v, _)| !v.trim().is_empty())
            .map(|(v, s)| KeyId::new(s.clone(), v.trim()))
            .collect();
        if keys.len() >= 2 {
            rows.push(keys);
        }
    }
    Ok(rows)
}

fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(
            &p,
            b"\xEF\xBB\xBFwawi;erpnext;datev\n00042;CUST-10001;\n00045;;10000\n00099;;\n",
        )
        .unwrap();
        let rows = load(&p, "x.csv").unwrap();
        assert_eq!(
            rows,
            vec![
                vec![
                    KeyId::new("wawi", "00042"),
                    KeyId::new("erpnext", "CUST-10001")
                ],
                vec![KeyId::new("wawi", "00045"), KeyId::new("datev", "10000")],
            ]
        );
        std::fs::write(&p, "wawi;erpnext\n1;2\n3;4;5\n").unwrap();
        let e = load(&p, "x.csv").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        std::fs::write(&p, "wawi\n1\n").unwrap();
        assert!(
            load(&p, "x.csv")
                .unwrap_err()
                .message
                .contains("two systems")
        );
        std::fs::write(&p, b"wawi;K\xF6ln\n1;2\n").unwrap();
        assert_eq!(load(&p, "x.csv").unwrap()[0][1], KeyId::new("Köln", "2"));
    }
}
