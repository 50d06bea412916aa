//! The connector's errors. Messages never carry the database URL or its password: everything
//! that leaves the connector passes [`crate::secret::Redactor::redact`].

use crate::secret::Redactor;
use kontor_connector::ConnectorError;

#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The database URL could not be read or is not usable.
    #[error("database URL: {0}")]
    Url(String),
    /// The database refused or failed (connection, syntax, timeout).
    #[error("stream `{stream}`: {message}")]
    Db { stream: String, message: String },
    /// The data cannot be paged safely (a key that is not unique, a column type kontor does not
    /// read, an increment that changed its type).
    #[error("stream `{stream}`: {message}")]
    Data { stream: String, message: String },
    /// The stored position is not one this stream wrote.
    #[error(
        "stream `{stream}`: the stored position {position} is not valid ({message}); not \
         starting over silently — a changed [source] stream in the mapping reads it from the start"
    )]
    Position {
        stream: String,
        position: String,
        message: String,
    },
}

impl SqlError {
    pub fn db(stream: &str, err: impl std::fmt::Display) -> Self {
        SqlError::Db {
            stream: stream.to_owned(),
            message: err.to_string(),
        }
    }

    pub fn data(stream: &str, message: impl Into<String>) -> Self {
        SqlError::Data {
            stream: stream.to_owned(),
            message: message.into(),
        }
    }

    pub fn into_connector(self, redactor: &Redactor) -> ConnectorError {
        let text = redactor.redact(&self.to_string());
        match self {
            SqlError::Url(_) | SqlError::Position { .. } => ConnectorError::Config(text),
            SqlError::Db { .. } | SqlError::Data { .. } => ConnectorError::Remote(text),
        }
    }
}
