//! The one error type of the crate.

use kontor_connector::{ConnectorError, Position};
use std::sync::Arc;

/// What went wrong, for callers that react differently (tests, metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not well-formed XML (including a truncated file).
    Syntax,
    /// A `<!DOCTYPE …>`: DTDs are never processed.
    Doctype,
    /// An entity reference other than the five predefined ones and character references.
    Entity,
    /// A limit was exceeded (depth, text, attribute, record, file size, lines).
    Limit,
    /// The bytes do not fit the declared (or detected) encoding, or the encoding is unknown.
    Encoding,
    /// Well-formed XML, but not a document this connector reads (unknown root, wrong namespace).
    Document,
    /// The file could not be read.
    Io,
    /// A hybrid PDF invoice is refused (no invoice inside, damaged, encrypted, too large); the
    /// reason is German, for the quarantine.
    Pdf,
}

/// A problem with one XML file, with the line and column (1-based, column in characters) where
/// it was found.
#[derive(Debug, Clone, thiserror::Error)]
#[error("line {line}, column {column}: {reason}")]
pub struct XmlError {
    pub kind: ErrorKind,
    pub line: u64,
    pub column: u64,
    pub reason: String,
    /// Where the error is when not in the file itself: the XML embedded in a PDF
    /// (`rechnung.pdf#factur-x.xml`).
    pub origin: Option<Arc<str>>,
}

impl XmlError {
    pub fn new(kind: ErrorKind, (line, column): (u64, u64), reason: impl Into<String>) -> Self {
        Self {
            kind,
            line,
            column,
            reason: reason.into(),
            origin: None,
        }
    }

    /// The error inside the embedded file `label`; an I/O error there (a damaged stream) is
    /// the PDF's fault.
    pub fn inside(mut self, label: &Arc<str>, name: &str) -> Self {
        if self.kind == ErrorKind::Io {
            self.kind = ErrorKind::Pdf;
            self.reason = format!("PDF beschädigt: eingebettete Datei {name}: {}", self.reason);
        }
        self.origin = Some(label.clone());
        self
    }

    /// The position of this error inside `source` (a file label), or inside the embedded
    /// file it names. A PDF-level error has no line.
    pub fn position(&self, source: Arc<str>) -> Position {
        let known = self.line > 0;
        Position {
            source: self.origin.clone().unwrap_or(source),
            line: known.then_some(self.line),
            column: known.then_some(self.column),
            ..Position::default()
        }
    }

    /// Converts into the connector error that makes the engine quarantine the whole file.
    pub fn into_connector_error(self, source: Arc<str>) -> ConnectorError {
        match self.kind {
            ErrorKind::Io => ConnectorError::io(source.to_string(), self.reason),
            _ => ConnectorError::Unit {
                position: self.position(source),
                reason: self.reason,
            },
        }
    }
}
