//! Diagnostics that point into a file: `file:line:col: message`.

use std::fmt;
use std::ops::Range;

/// One problem in a configuration or mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub warning: bool,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.warning { "warning: " } else { "" };
        write!(
            f,
            "{}:{}:{}: {kind}{}",
            self.file, self.line, self.col, self.message
        )
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Turns spans into diagnostics for one file.
pub struct SpanMap<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl SpanMap<'_> {
    pub fn at(&self, span: Option<Range<usize>>, message: impl Into<String>) -> Diagnostic {
        let (line, col) = span.map_or((1, 1), |s| line_col(self.text, s.start));
        Diagnostic {
            file: self.file.to_owned(),
            line,
            col,
            message: message.into(),
            warning: false,
        }
    }

    /// A TOML parse/deserialize error, with the message's first line only (the toml crate
    /// adds a source excerpt we don't need).
    pub fn toml_error(&self, err: &toml::de::Error) -> Diagnostic {
        self.at(err.span(), err.message().trim().to_owned())
    }

    /// The span of a key path (`["connector", "2", "auth", "token"]`) in the document.
    pub fn key_span(&self, path: &[String]) -> Option<Range<usize>> {
        let doc = toml::de::DeTable::parse(self.text).ok()?;
        let mut table = doc.get_ref();
        let mut span = None;
        let mut iter = path.iter().peekable();
        while let Some(key) = iter.next() {
            let (k, v) = table
                .iter()
                .find(|(k, _)| k.get_ref().as_ref() == key.as_str())?;
            span = Some(k.span());
            let mut value = v.get_ref();
            // Array of tables / array: the next segment is an index.
            if let toml::de::DeValue::Array(items) = value
                && let Some(idx) = iter.peek().and_then(|s| s.parse::<usize>().ok())
            {
                iter.next();
                let item = items.get(idx)?;
                span = Some(item.span());
                value = item.get_ref();
            }
            match value {
                toml::de::DeValue::Table(t) => table = t,
                _ => {
                    if iter.peek().is_some() {
                        return span;
                    }
                }
            }
        }
        span
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let t = "a = 1\nbü = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, t.find('=').unwrap()), (1, 3));
        let second_eq = t.rfind('=').unwrap();
        assert_eq!(line_col(t, second_eq), (2, 4));
    }

    #[test]
    fn key_span_finds_nested_keys_in_arrays_of_tables() {
        let t = "[[connector]]\nname = 'a'\n\n[[connector]]\nname = 'b'\nauth = { kind = 'x', token = 'y' }\n";
        let m = SpanMap {
            file: "k.toml",
            text: t,
        };
        let span = m
            .key_span(&[
                "connector".into(),
                "1".into(),
                "auth".into(),
                "token".into(),
            ])
            .unwrap();
        assert_eq!(line_col(t, span.start), (6, 22));
        let span = m
            .key_span(&["connector".into(), "1".into(), "name".into()])
            .unwrap();
        assert_eq!(line_col(t, span.start), (5, 1));
    }
}
