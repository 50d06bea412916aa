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
        let exact: std::collections::HashSet<&str> = header.iter().map(|h| h.trim()).collect();
        let folded: std::collections::HashSet<String> =
            header.iter().map(|h| h.trim().to_lowercase()).collect();
        let has = |c: &str| exact.contains(c.trim()) || folded.contains(&c.trim().to_lowercase());
        self.columns(stream)
            .into_iter()
            .filter(|g| !g.iter().any(|c| has(c)))
            .map(|g| g.join(" | "))
            .collect()
    }
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
}
