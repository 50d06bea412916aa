//! The crate's one error type.

use crate::secret::Redactor;
use kontor_connector::ConnectorError;

/// Everything that can go wrong in the plugin connector. Messages never contain secret values:
/// they name the environment variable or file a secret comes from, and every message passes
/// through the [`Redactor`] of the run before it leaves the crate (stderr lines and stdout
/// excerpts of the plugin could echo its configuration).
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// Invalid configuration found at run time (the build-time checks return `ConfigError`).
    #[error("configuration: {0}")]
    Config(String),
    /// A secret reference could not be resolved (names the variable or file, never the value).
    #[error("secret {name}: {reason}")]
    Secret { name: String, reason: String },
    /// The program could not be found or is not executable.
    #[error("program `{program}`: {reason}")]
    Program { program: String, reason: String },
    /// A local file operation failed (temporary config or state file, spawning).
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    /// The plugin broke the protocol: a line that is not a Singer message, a RECORD before its
    /// SCHEMA, a record that violates its schema.
    #[error("plugin `{plugin}`: stdout line {line}: {reason}: `{excerpt}`")]
    Protocol {
        plugin: String,
        line: u64,
        reason: String,
        excerpt: String,
    },
    /// The plugin exited with a non-zero status (or was killed by a signal).
    #[error("plugin `{plugin}` {status} after stdout line {line}{}", stderr_tail(.stderr))]
    Exit {
        plugin: String,
        status: String,
        line: u64,
        stderr: Vec<String>,
    },
    /// The plugin printed nothing on stdout for `timeout`; its process group was killed.
    #[error("plugin `{plugin}` hung: no line on stdout for {timeout:?} after stdout line {line}; killed it{}", stderr_tail(.stderr))]
    Hung {
        plugin: String,
        timeout: std::time::Duration,
        line: u64,
        stderr: Vec<String>,
    },
}

fn stderr_tail(lines: &[String]) -> String {
    if lines.is_empty() {
        " (no output on stderr)".to_owned()
    } else {
        format!("; last stderr lines:\n  {}", lines.join("\n  "))
    }
}

impl PluginError {
    /// The connector error the engine sees, with secrets scrubbed.
    pub(crate) fn into_connector(self, redactor: &Redactor) -> ConnectorError {
        let text = redactor.redact(&self.to_string());
        match self {
            PluginError::Config(_) | PluginError::Secret { .. } | PluginError::Program { .. } => {
                ConnectorError::Config(text)
            }
            PluginError::Io { path, .. } => ConnectorError::Io {
                path: redactor.redact(&path),
                message: text,
            },
            PluginError::Protocol { .. } | PluginError::Exit { .. } | PluginError::Hung { .. } => {
                ConnectorError::Remote(text)
            }
        }
    }
}

/// At most `max` characters of `text`, with `…` when cut (on a character boundary).
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("Müller", 2), "Mü…");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("", 3), "");
    }

    #[test]
    fn exit_error_lists_stderr() {
        let e = PluginError::Exit {
            plugin: "tap-x".into(),
            status: "exited with code 2".into(),
            line: 7,
            stderr: vec!["Traceback".into(), "ValueError: boom".into()],
        };
        let s = e.to_string();
        assert!(
            s.starts_with(
                "plugin `tap-x` exited with code 2 after stdout line 7; last stderr lines:"
            ),
            "{s}"
        );
        assert!(s.ends_with("ValueError: boom"), "{s}");
    }
}
