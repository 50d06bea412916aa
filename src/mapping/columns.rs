//! The columns a mapping reads from flat files, and checking a file's header against them: a
//! column the mapping reads that the header lacks means the export changed (a renamed key
//! column would otherwise make every row look empty and be skipped).

use super::Mapping;
use super::compiled::{Cond, Field, Operand, Source, TemplatePart};

/// Columns the mapping needs: each entry is one column, or alternatives of which one is
/// enough (`first_of`).
fn add_cond(c: &Cond, out: &mut Vec<Vec<String>>) {
    match c {
        Cond::Test {
            what: Operand::Ref(r),
            ..
        } => out.push(vec![r.text.clone()]),
        Cond::Test { .. } => {}
        Cond::Any(cs) | Cond::All(cs) => cs.iter().for_each(|c| add_cond(c, out)),
    }
}

fn add_field(f: &Field, out: &mut Vec<Vec<String>>) {
    if f.optional {
        return;
    }
    match &f.source {
        Source::Ref(r) => out.push(vec![r.text.clone()]),
        Source::FirstOf(rs) => out.push(rs.iter().map(|r| r.text.clone()).collect()),
        Source::Concat(rs, _) | Source::List(rs) => {
            out.extend(rs.iter().map(|r| vec![r.text.clone()]))
        }
        Source::Template(parts) => out.extend(parts.iter().filter_map(|p| match p {
            TemplatePart::Ref(r) => Some(vec![r.text.clone()]),
            TemplatePart::Text(_) => None,
        })),
        // Positions, constants, context; `each` reads trees only.
        Source::Index(_)
        | Source::Value(_)
        | Source::Context(_)
        | Source::Each(..)
        | Source::Nothing => {}
    }
    if let Some(c) = &f.tf.negate {
        add_cond(c, out);
    }
}

impl Mapping {
    /// The columns this mapping reads from records of `stream`.
    pub fn columns(&self, stream: Option<&str>) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for c in &self.skip_if {
            add_cond(c, &mut out);
        }
        for t in self
            .targets
            .iter()
            .filter(|t| t.stream.is_none() || t.stream.as_deref() == stream)
        {
            for c in &t.when {
                add_cond(c, &mut out);
            }
            for f in &t.fields {
                add_field(f, &mut out);
            }
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|g| seen.insert(g.clone()));
        out
    }

    /// The columns (or groups of alternatives, as `a | b`) this mapping reads from records of
    /// `stream` that `header` lacks. Names compare as when rows are read: trimmed, exact, or
    /// else ignoring case.
    pub fn missing_columns(&self, header: &[String], stream: Option<&str>) -> Vec<String> {
        self.missing_groups(header, stream)
            .into_iter()
            .map(|g| g.join(" | "))
            .collect()
    }

    fn missing_groups(&self, header: &[String], stream: Option<&str>) -> Vec<Vec<String>> {
        let exact: std::collections::HashSet<&str> = header.iter().map(|h| h.trim()).collect();
        let folded: std::collections::HashSet<String> =
            header.iter().map(|h| h.trim().to_lowercase()).collect();
        let has = |c: &str| exact.contains(c.trim()) || folded.contains(&c.trim().to_lowercase());
        self.columns(stream)
            .into_iter()
            .filter(|g| !g.iter().any(|c| has(c)))
            .collect()
    }

    /// [`Mapping::missing_columns`] with where each is written in the mapping file and the
    /// header column it most likely means.
    pub fn header_problems(&self, header: &[String], stream: Option<&str>) -> Vec<MissingColumn> {
        self.missing_groups(header, stream)
            .into_iter()
            .map(|g| {
                let site = self.column_sites.iter().find(|(c, _, _)| g.contains(c));
                MissingColumn {
                    column: g.join(" | "),
                    line: site.map_or(1, |s| s.1),
                    key: site.map(|s| s.2.clone()),
                    suggestion: g
                        .iter()
                        .find_map(|c| did_you_mean(c, header))
                        .map(str::to_owned),
                }
            })
            .collect()
    }
}

/// A column the mapping reads that a header lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingColumn {
    /// The column, or alternatives as `a | b`.
    pub column: String,
    /// Line of the mapping file where it is written (1 when unknown, e.g. a built-in base).
    pub line: usize,
    /// The key it is written under (`customer_no`, `when`, `skip_if`).
    pub key: Option<String>,
    /// The header column it most likely means.
    pub suggestion: Option<String>,
}

/// A name compared loosely: lower case, umlauts spelled out, without periods, spaces,
/// hyphens and underscores.
pub fn fold_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().to_lowercase().chars() {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            '.' | ' ' | '-' | '_' | '/' => {}
            c => out.push(c),
        }
    }
    out
}

/// The header column closest to `name` after folding, when it is close enough to be meant.
pub fn did_you_mean<'a>(name: &str, header: &'a [String]) -> Option<&'a str> {
    let want = fold_name(name);
    let allowed = match want.chars().count() {
        0..=3 => 0,
        4..=6 => 1,
        7..=10 => 2,
        _ => 3,
    };
    header
        .iter()
        .map(|h| (distance(&want, &fold_name(h)), h.trim()))
        .filter(|(d, h)| *d <= allowed && !h.is_empty())
        .min_by_key(|(d, _)| *d)
        .map(|(_, h)| h)
}

/// Levenshtein distance in characters.
pub(super) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use crate::mapping::Mapping;

    fn mapping(text: &str) -> Mapping {
        Mapping::from_text("t", "t.toml", text, |_| None).unwrap()
    }

    #[test]
    fn a_header_without_a_column_the_mapping_reads_is_named() {
        let m = mapping(
            r#"
skip_if = [{ column = "Belegnr", empty = true }]
[[target]]
entity = "invoice"
when = [{ column = "Art", equals = "RE" }]
[target.fields]
number = "Belegnr"
customer_no = { first_of = ["Kundennr", "Debitor"] }
gross = { column = "Brutto", decimal = "de", negate = { column = "S/H", equals = "H" } }
currency = { column = "Währung", optional = true, default = "EUR" }
"#,
        );
        let h = |cols: &[&str]| cols.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert!(
            m.missing_columns(&h(&["Belegnr", "art", " Debitor ", "Brutto", "S/H"]), None)
                .is_empty()
        );
        assert_eq!(
            m.missing_columns(&h(&["Beleg-Nr.", "Art", "Brutto", "S/H"]), None),
            vec!["Belegnr", "Kundennr | Debitor"]
        );
        assert_eq!(m.missing_columns(&h(&["foo", "bar", "baz"]), None).len(), 5);
    }

    #[test]
    fn a_missing_column_names_its_line_key_and_the_header_it_likely_means() {
        let m = mapping(
            "[[target]]\nentity = \"invoice\"\n[target.fields]\nnumber = \"Belegnr\"\n\
             customer_no = { column = \"Kto-Nr\" }\ngross = { column = \"Fälligbetrag\", decimal = \"de\" }\n",
        );
        let h: Vec<String> = ["Belegnr", "Kto-Nr.", "Faellig-Betrag", "Name"]
            .iter()
            .map(|c| c.to_string())
            .collect();
        let p = m.header_problems(&h, None);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].column, "Kto-Nr");
        assert_eq!(p[0].line, 5);
        assert_eq!(p[0].key.as_deref(), Some("customer_no"));
        assert_eq!(p[0].suggestion.as_deref(), Some("Kto-Nr."));
        assert_eq!(p[1].suggestion.as_deref(), Some("Faellig-Betrag"));
        assert_eq!(super::did_you_mean("PLZ", &h), None);
    }
}
