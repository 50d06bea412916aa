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
}

impl XmlError {
    pub fn new(kind: ErrorKind, (line, column): (u64, u64), reason: impl Into<String>) -> Self {
        Self {
            kind,
            line,
            column,
            reason: reason.into(),
        }
    }

    /// The position of this error inside `source` (a file label).
    pub fn position(&self, source: Arc<str>) -> Position {
        Position {
            source,
            line: Some(self.line),
            column: Some(self.column),
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
