//! The crate's one error type.

use kontor_connector::ConnectorError;

/// Everything that can go wrong in the REST connector. Messages never contain secret values:
/// URLs are redacted before they are put into an error, and the connector passes every message
/// through its [`crate::secret::Redactor`] once more before it leaves the crate.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// Invalid configuration found at run time (the build-time checks return `ConfigError`).
    #[error("configuration: {0}")]
    Config(String),
    /// A secret reference could not be resolved (names the variable or file, never the value).
    #[error("secret {name}: {reason}")]
    Secret { name: String, reason: String },
    /// A request failed for good: a non-retryable status, or retries exhausted.
    #[error("{url}: {message}")]
    Http { url: String, message: String },
    /// 404 (a lookup treats it as "no value"; everywhere else it fails like any other 4xx).
    #[error("{url}: {message}")]
    NotFound { url: String, message: String },
    /// More records share one filter value than the API returns for one query
    /// (`max_results`): paging on would hit the server's limit (lexoffice answers 500).
    #[error(
        "{stream}: more than {max} records share the filter value {at}, and the API returns at most {max} per query (max_results); nothing was skipped, the cursor stays at the last committed page"
    )]
    ResultWindow {
        stream: String,
        max: u64,
        at: String,
    },
    /// The retry budget of the run is used up.
    #[error("retry budget of {budget} retries used up; last error: {last}")]
    RetryBudget { budget: u32, last: String },
    /// Authentication failed (login refused, or 401 after a fresh login).
    #[error("{url}: authentication failed: {message}")]
    Auth { url: String, message: String },
    /// A `[[source.lookup]]` found no (or no single) record for the connector's setting.
    #[error("{setting}: {message} ({url})")]
    Lookup {
        setting: String,
        url: String,
        message: String,
    },
    /// The result set kept shifting while paging.
    #[error("{stream}: paging drift persisted after {restarts} restarts of the query")]
    Drift { stream: String, restarts: u32 },
    /// The endpoint does not return records in `modified_field` order, so incremental paging
    /// cannot be made safe.
    #[error("{url}: records are not sorted by `{field}` ({detail}); configure the sort in `query`")]
    Unsorted {
        url: String,
        field: String,
        detail: String,
    },
}

impl RestError {
    pub(crate) fn into_connector(self, redactor: &crate::secret::Redactor) -> ConnectorError {
        let text = redactor.redact(&self.to_string());
        match self {
            RestError::Config(_) | RestError::Secret { .. } | RestError::Lookup { .. } => {
                ConnectorError::Config(text)
            }
            _ => ConnectorError::Remote(text),
        }
    }
}
